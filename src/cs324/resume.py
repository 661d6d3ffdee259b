"""What ``last.pt`` holds and how a run continues from it, exactly: weights, optimizer, scheduler, every
random generator, and the training state (step, best record, running sums, time and images so far)."""

from __future__ import annotations

import random
import time
from dataclasses import dataclass, field

import numpy as np
import torch
import torch.nn as nn

from cs324 import runfolder
from cs324.cli import UsageError
from cs324.runtime import ENV_KEYS, RUN_CONTROL_KEYS, Session


@dataclass
class TrainState:
    """Where training stands: what ``last.pt`` keeps beside the weights, optimizer and generators."""

    step: int = 0
    best: dict | None = None
    records: list[dict] = field(default_factory=list)
    running: dict = field(default_factory=lambda: {"loss": 0.0, "correct": 0.0, "seen": 0})  # since the last eval
    seconds_before: float = 0.0  # training time and images of the segments before a resume
    samples_before: int = 0
    samples: int = 0  # images trained on in this process
    started: float = field(default_factory=time.perf_counter)
    losses: list[torch.Tensor] = field(default_factory=list)  # every step's loss in this process, on the device
    checked: int = 0  # losses[:checked] are known to be finite

    def seconds(self) -> float:
        return self.seconds_before + time.perf_counter() - self.started


def save_last(session: Session, raw: nn.Module, averaged: nn.Module | None, optimizer, scheduler, state) -> None:
    """Write ``last.pt`` atomically: everything ``restore`` needs to continue exactly."""
    if session.out is None or not session.is_main:
        return
    running = {k: float(v) if k != "seen" else v for k, v in state.running.items()}
    ckpt = {
        "model": raw.state_dict(),
        **({"ema": averaged.state_dict()} if averaged is not None else {}),
        "optimizer": optimizer.state_dict(),
        "scheduler": scheduler.state_dict() if scheduler is not None else None,
        "rng": rng_state(),
        "step": state.step,
        "best": state.best,
        "running": running,
        "config": session.config,
        "wall_time": state.seconds(),
        "samples": state.samples_before + state.samples,
    }
    runfolder.save_checkpoint(session.out / "last.pt", ckpt)


def restore(session: Session, raw: nn.Module, averaged: nn.Module | None, optimizer, scheduler) -> TrainState:
    """A fresh state (and the run folder written), or the state of ``last.pt`` under ``--resume``."""
    out = session.out
    if not (session.resume and out is not None):
        if out is not None and session.is_main:  # everything that could fail has been checked: write the run
            runfolder.start_fresh(out, session.config)
        return TrainState()
    ckpt = runfolder.load_checkpoint(out / "last.pt")
    check_same_run(ckpt.get("config", {}), session.config)
    try:
        raw.load_state_dict(ckpt["model"])
        if averaged is not None:
            averaged.load_state_dict(ckpt["ema"])
        optimizer.load_state_dict(ckpt["optimizer"])
        if scheduler is not None and ckpt.get("scheduler") is not None:
            scheduler.load_state_dict(ckpt["scheduler"])
    except (RuntimeError, KeyError, ValueError) as e:
        first = str(e).strip().splitlines()[0]
        raise UsageError(f"checkpoint {out / 'last.pt'} does not fit this model: {first}") from None
    set_rng_state(ckpt["rng"])
    records = [r for r in runfolder.read_metrics(out) if r["step"] <= ckpt["step"]]
    if session.is_main:  # drops the evaluations after the checkpoint, and a line torn by a kill
        runfolder.atomic_write_text(out / "metrics.jsonl", "".join(runfolder.json_line(r) for r in records))
    session.log(f"resumed from {out / 'last.pt'} at step {ckpt['step']}")
    return TrainState(
        step=ckpt["step"],
        best=ckpt.get("best"),
        records=records,
        running=ckpt["running"],
        seconds_before=ckpt["wall_time"],
        samples_before=ckpt["samples"],
    )


def check_same_run(saved: dict, current: dict) -> None:
    """Refuse to resume a checkpoint written under a different config (steering flags excepted)."""
    keys = (set(saved) | set(current)) - RUN_CONTROL_KEYS - set(ENV_KEYS)
    # A flag added after the checkpoint was written, left off (e.g. --ema 0), is the same run.
    added_off = {k for k in set(current) - set(saved) if current[k] in (None, False, 0, [], "")}
    differ = sorted(k for k in keys - added_off if saved.get(k) != current.get(k))
    if differ:
        shown = ", ".join(f"{k}: {saved.get(k)!r} -> {current.get(k)!r}" for k in differ[:4])
        raise UsageError(f"checkpoint comes from a different config ({shown})")


def rng_state() -> dict:
    state = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
