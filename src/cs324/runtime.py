"""The one training runtime every PyTorch trainer runs through.

It owns what is not the model's business: device, seed, run folder, metrics,
progress bar, checkpoints and resume, Ctrl-C, NaN guard, bf16 autocast,
``torch.compile`` and ``torchrun`` data parallelism. A trainer supplies the model,
the optimizer, ``get_batch(step)`` (a pure function of the step, so that resuming
needs no loader state), a loss and an ``evaluate``::

    parser = argparse.ArgumentParser(); add_runtime_args(parser, out="runs/mlp")
    args = parser.parse_args()
    session = start_session(args, config=vars(args))
    result = fit(session, model, optimizer, get_batch, F.cross_entropy, evaluate,
                 max_steps=args.max_steps, eval_freq=args.eval_freq)

Run folder: ``config.json`` (every resolved flag, package and torch versions),
``metrics.jsonl`` (one record per evaluation), ``last.pt`` (written atomically every
``--ckpt_every`` steps and at the end), ``best.pt`` (best validation accuracy).
Under ``torchrun`` each rank trains on its slice of every global batch, gradients
are averaged by ``DistributedDataParallel``, and only rank 0 writes files.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import platform
import random
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
import torch.distributed as dist
import torch.nn as nn

import cs324
from cs324 import runfolder
from cs324.cli import TrainingError, UsageError, cli, decay, nonnegative_int, seed
from cs324.runfolder import atomic_write_text, load_checkpoint, read_metrics, save_checkpoint

__all__ = ["TrainingError", "UsageError", "cli", "load_checkpoint", "read_metrics", "save_checkpoint"]

# Flags that steer a run without changing what it computes: they may differ on resume.
RUN_CONTROL_KEYS = {
    "resume",
    "quiet",
    "max_steps",
    "eval_freq",
    "ckpt_every",
    "device",
    "out",
    "overwrite",
    "dry_run",
    "compile",
}


def add_runtime_args(parser: argparse.ArgumentParser, *, out: str) -> None:
    """The flags every trainer shares, documented once in the README."""
    g = parser.add_argument_group("runtime")
    g.add_argument(
        "--device", choices=["auto", "cpu", "cuda"], default="auto", help="auto picks CUDA when present (default: auto)"
    )
    g.add_argument("--seed", type=seed, default=0, help="seed of weights, data order, dropout (default: 0)")
    g.add_argument("--out", default=out, metavar="DIR", help=f"run folder (default: {out})")
    g.add_argument("--resume", action="store_true", help="continue from DIR/last.pt")
    g.add_argument("--overwrite", action="store_true", help="start afresh even if DIR already holds a checkpoint")
    g.add_argument(
        "--ckpt_every",
        type=nonnegative_int,
        default=0,
        metavar="N",
        help="write last.pt every N steps; 0: at every evaluation (default: 0)",
    )
    g.add_argument("--quiet", action="store_true", help="no progress bar or per-eval lines")
    g.add_argument(
        "--amp",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="bf16 autocast (CUDA, or CPUs with native bf16)",
    )
    g.add_argument("--compile", action="store_true", help="try torch.compile; falls back with a notice")
    g.add_argument(
        "--ema",
        type=decay,
        default=0.0,
        metavar="DECAY",
        help="score (and keep as best.pt) an exponential moving average of the weights, this decay per step; "
        "0.999 averages over roughly the last 1,000 steps (default: 0 = off). Under a schedule that anneals the "
        "rate to 0 the average can end below the weights (results/part2_cnn/best_whiten_ema)",
    )


# --------------------------------------------------------------------------- session


@dataclass
class Session:
    """What ``start_session`` resolved: where and how this process trains."""

    device: torch.device
    seed: int
    out: Path | None
    resume: bool = False
    quiet: bool = False
    amp: bool = False
    compile: bool = False
    ckpt_every: int = 0
    ema: float = 0.0  # decay of the moving average of the weights that evaluations score; 0 = off
    rank: int = 0
    world_size: int = 1
    config: dict = field(default_factory=dict)

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1

    def log(self, message: str) -> None:
        if self.is_main:
            print(message, file=sys.stderr, flush=True)

    def autocast(self) -> contextlib.AbstractContextManager:
        if not self.amp:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=torch.bfloat16)


def seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)


def cpu_supports_bf16() -> bool:
    try:
        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    except AttributeError:  # older torch: assume bf16 is emulated and slow
        return False


def bf16_native(device: torch.device) -> bool:
    """Whether bf16 autocast runs natively on ``device`` (``--amp`` is ignored where it would be emulated)."""
    return device.type == "cuda" or cpu_supports_bf16()


def cpu_model() -> str:
    """The CPU's model name (``/proc/cpuinfo`` on Linux, else ``platform.processor()``): timings depend on it."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def use_cuda(device: str) -> bool:
    """``--device auto|cpu|cuda`` -> whether to run on CUDA; ``cuda`` without CUDA is a ``UsageError``."""
    if device == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda was asked for, but CUDA is not available here")
    return device == "cuda" or (device == "auto" and torch.cuda.is_available())


def start_session(args: argparse.Namespace, config: dict | None = None) -> Session:
    """Resolve device, distributed rank, seed and run folder; write ``config.json``."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank = int(os.environ.get("RANK", "0"))
    cuda = use_cuda(args.device)
    if cuda:
        local_rank = int(os.environ.get("LOCAL_RANK", "0"))
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    else:
        device = torch.device("cpu")
    if world_size > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if cuda else "gloo")

    amp = bool(getattr(args, "amp", False))
    if amp and not bf16_native(device):
        if rank == 0:
            print("notice: this CPU lacks native bf16; --amp is ignored", file=sys.stderr)
        amp = False

    out = Path(args.out) if args.out else None
    resume = bool(getattr(args, "resume", False))
    config = dict(config if config is not None else vars(args))
    config.update(
        cs324_version=cs324.__version__,
        torch_version=torch.__version__,
        python=platform.python_version(),
        device_resolved=str(device),
        world_size=world_size,
        amp_active=amp,
        threads=torch.get_num_threads(),
        cpu=cpu_model(),
        cpu_native_bf16=cpu_supports_bf16(),
    )
    if out is not None and rank == 0:
        runfolder.prepare(out, resume=resume, overwrite=bool(getattr(args, "overwrite", False)))
    seed_everything(args.seed)
    return Session(
        device=device,
        seed=args.seed,
        out=out,
        resume=resume,
        quiet=bool(getattr(args, "quiet", False)),
        amp=amp,
        compile=bool(getattr(args, "compile", False)),
        ckpt_every=int(getattr(args, "ckpt_every", 0)),
        ema=float(getattr(args, "ema", 0.0)),
        rank=rank,
        world_size=world_size,
        config=config,
    )


# --------------------------------------------------------------------------- checkpoints


def _rng_state() -> dict:
    state = {"torch": torch.get_rng_state(), "numpy": np.random.get_state(), "python": random.getstate()}
    if torch.cuda.is_available():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def _set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def _check_same_run(saved: dict, current: dict) -> None:
    ignore = RUN_CONTROL_KEYS | {
        "cs324_version",
        "torch_version",
        "python",
        "device_resolved",
        "world_size",
        "amp_active",
        "threads",
        "cpu",
        "cpu_native_bf16",
    }
    keys = (set(saved) | set(current)) - ignore
    # A flag added after the checkpoint was written, left off (e.g. --ema 0), is the same run.
    added_off = {k for k in set(current) - set(saved) if current[k] in (None, False, 0, [], "")}
    differ = sorted(k for k in keys - added_off if saved.get(k) != current.get(k))
    if differ:
        shown = ", ".join(f"{k}: {saved.get(k)!r} -> {current.get(k)!r}" for k in differ[:4])
        raise UsageError(f"checkpoint comes from a different config ({shown})")


# --------------------------------------------------------------------------- the loop


@dataclass
class FitResult:
    records: list[dict]  # one per evaluation, as written to metrics.jsonl
    step_losses: list[float]  # training loss of every step run in this process
    best: dict | None  # the record of the best validation accuracy, if any
    interrupted: bool = False
    scored_model: nn.Module | None = None  # the model the evaluations scored: the EMA copy under ``ema``


class _StopFlag:
    """Turns Ctrl-C into a flag the loop checks between steps, so a step never half-happens."""

    def __init__(self) -> None:
        self.raised = False
        self._previous = None

    def __enter__(self) -> _StopFlag:
        if threading.current_thread() is threading.main_thread():  # signals only there
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def _handle(self, signum, frame) -> None:
        if self.raised:  # a second Ctrl-C: stop right away
            raise KeyboardInterrupt
        self.raised = True

    def __exit__(self, *exc) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


def prepare_model(session: Session, model: nn.Module, *, channels_last: bool = False) -> nn.Module:
    """Move to the device; channels-last memory layout for convolutions (``fit`` compiles, if asked)."""
    model = model.to(session.device)
    if channels_last:
        model = model.to(memory_format=torch.channels_last)
    return model


def _maybe_compile(session: Session, model: nn.Module) -> nn.Module:
    if not session.compile:
        return model
    return _CompiledOrEager(model, session.log)


class _CompiledOrEager(nn.Module):
    """``torch.compile`` compiles lazily, at the first call; if that (or any later call) fails
    for want of a compiler or support, say so once and run the eager model from then on."""

    def __init__(self, model: nn.Module, log: Callable[[str], None]) -> None:
        super().__init__()
        self.eager = model
        self.log = log
        try:
            self.compiled = torch.compile(model)
        except Exception as e:  # e.g. unsupported Python version
            self.compiled = None
            log(f"notice: torch.compile unavailable ({type(e).__name__}); running eagerly")

    def forward(self, *args, **kwargs):
        if self.compiled is not None:
            try:
                return self.compiled(*args, **kwargs)
            except Exception as e:
                self.compiled = None
                self.log(f"notice: torch.compile failed ({type(e).__name__}); running eagerly")
        return self.eager(*args, **kwargs)


def optimizer_step(
    loss: torch.Tensor, model: nn.Module, optimizer: torch.optim.Optimizer, max_norm: float | None = None
) -> None:
    """zero_grad, backward, clip the gradient norm, step. Clipping sits between ``backward()``
    (before it there is no gradient to clip) and ``step()`` (after it, clipping changes nothing)."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if max_norm is not None:
        torch.nn.utils.clip_grad_norm_(model.parameters(), max_norm)
    optimizer.step()


def fit(
    session: Session,
    model: nn.Module,
    optimizer: torch.optim.Optimizer,
    get_batch: Callable[[int], tuple[torch.Tensor, torch.Tensor]],
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    evaluate: Callable[[nn.Module], dict],
    *,
    max_steps: int,
    eval_freq: int,
    scheduler: torch.optim.lr_scheduler.LRScheduler | None = None,
    max_norm: float | None = None,
    steps_per_epoch: int | None = None,
    stop_when: Callable[[dict], bool] | None = None,
) -> FitResult:
    """Train ``max_steps`` optimizer steps; evaluate at step 0, every ``eval_freq`` and last.

    ``get_batch(step)`` returns the *global* batch (inputs, class targets) on any device;
    each rank keeps its slice. ``evaluate(model)`` returns metrics such as
    ``{"test_loss": .., "test_acc": .., "val_acc": ..}``; ``best.pt`` follows ``val_acc``.
    ``stop_when(record)`` may end the run early (e.g. validation accuracy at 100%).
    With ``session.ema`` (``--ema``) > 0, an exponential moving average of the
    weights and buffers (decay ``session.ema`` per step, ``torch.optim.swa_utils.AveragedModel``) is what every
    evaluation scores and ``best.pt`` holds; ``last.pt`` keeps both, so a resumed run continues the average.
    """
    raw_model = model
    train_model: nn.Module = model
    if session.distributed:
        from torch.nn.parallel import DistributedDataParallel

        train_model = DistributedDataParallel(
            model, device_ids=[session.device.index] if session.device.type == "cuda" else None
        )
    train_model = _maybe_compile(session, train_model)
    averaged = None
    if session.ema:
        if not 0 < session.ema < 1:
            raise UsageError(f"--ema must be in [0, 1), got {session.ema}")
        from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

        averaged = AveragedModel(raw_model, multi_avg_fn=get_ema_multi_avg_fn(session.ema), use_buffers=True)
    scored = averaged.module if averaged is not None else raw_model

    out = session.out
    start_step, best, records = 0, None, []
    running = {"loss": 0.0, "correct": 0.0, "seen": 0}
    # Time and images of the segments before a resume, so wall_time and samples_per_s cover the whole run
    # (training time: the pause between interruption and resume is not counted).
    wall_before, samples_before = 0.0, 0
    if session.resume and out is not None:
        ckpt = load_checkpoint(out / "last.pt")
        _check_same_run(ckpt.get("config", {}), session.config)
        try:
            raw_model.load_state_dict(ckpt["model"])
            if averaged is not None:
                averaged.load_state_dict(ckpt["ema"])
            optimizer.load_state_dict(ckpt["optimizer"])
            if scheduler is not None and ckpt.get("scheduler") is not None:
                scheduler.load_state_dict(ckpt["scheduler"])
        except (RuntimeError, KeyError, ValueError) as e:
            first = str(e).strip().splitlines()[0]
            raise UsageError(f"checkpoint {out / 'last.pt'} does not fit this model: {first}") from None
        _set_rng_state(ckpt["rng"])
        start_step, best, running = ckpt["step"], ckpt.get("best"), ckpt["running"]
        records = [r for r in read_metrics(out) if r["step"] <= start_step]
        wall_before, samples_before = ckpt["wall_time"], ckpt["samples"]
        if session.is_main:  # drops the evaluations after the checkpoint, and a line torn by a kill
            atomic_write_text(out / "metrics.jsonl", "".join(json.dumps(r) + "\n" for r in records))
        session.log(f"resumed from {out / 'last.pt'} at step {start_step}")
    elif out is not None and session.is_main:  # everything that could fail has been checked: write the run
        runfolder.start_fresh(out, session.config)

    def checkpoint(step: int) -> None:
        if out is None or not session.is_main:
            return
        save_checkpoint(
            out / "last.pt",
            {
                "model": raw_model.state_dict(),
                **({"ema": averaged.state_dict()} if averaged is not None else {}),
                "optimizer": optimizer.state_dict(),
                "scheduler": scheduler.state_dict() if scheduler is not None else None,
                "rng": _rng_state(),
                "step": step,
                "best": best,
                "running": running,
                "config": session.config,
                "wall_time": wall_before + time.perf_counter() - t_start,
                "samples": samples_before + samples,
            },
        )

    def evaluate_and_log(step: int, t_start: float, samples: int) -> dict:
        nonlocal best, running
        scored.eval()
        with torch.inference_mode(), session.autocast():
            metrics = evaluate(scored)
        scored.train()
        record = {"step": step}
        if steps_per_epoch:
            record["epoch"] = round(step / steps_per_epoch, 4)
        if running["seen"]:
            record["train_loss"] = running["loss"] / running["seen"]
            record["train_acc"] = running["correct"] / running["seen"]
        record.update({k: float(v) for k, v in metrics.items()})
        record["lr"] = optimizer.param_groups[0]["lr"]
        elapsed = wall_before + time.perf_counter() - t_start
        record["wall_time"] = round(elapsed, 3)
        record["samples_per_s"] = round((samples_before + samples) / elapsed, 1) if elapsed > 0 else None
        running = {"loss": 0.0, "correct": 0.0, "seen": 0}
        records.append(record)
        if out is not None and session.is_main:
            runfolder.append_record(out, record)
            if "val_acc" in record and (best is None or record["val_acc"] > best["val_acc"]):
                best = record
                save_checkpoint(
                    out / "best.pt",
                    {"model": scored.state_dict(), "step": step, "record": record, "config": session.config},
                )
        return record

    step_losses: list[float] = []
    show_bar = session.is_main and not session.quiet and sys.stderr.isatty()
    bar = None
    if show_bar:
        from tqdm.auto import tqdm

        bar = tqdm(total=max_steps, initial=start_step, dynamic_ncols=True, leave=False)

    t_start, samples, interrupted = time.perf_counter(), 0, False
    if start_step == 0:
        evaluate_and_log(0, t_start, 0)
    raw_model.train()
    with _StopFlag() as stop:
        step = start_step
        while step < max_steps:
            inputs, targets = get_batch(step)
            if session.distributed:  # this rank's share of the global batch
                inputs = inputs[session.rank :: session.world_size]
                targets = targets[session.rank :: session.world_size]
            inputs = inputs.to(session.device, non_blocking=True)
            targets = targets.to(session.device, non_blocking=True)
            with session.autocast():
                logits = train_model(inputs)
                loss = loss_fn(logits, targets)
            loss_value = loss.item()
            if not math.isfinite(loss_value):
                where = f"; last good checkpoint: {out / 'last.pt'}" if out and (out / "last.pt").exists() else ""
                raise TrainingError(f"loss became {loss_value} at step {step + 1}{where}")
            optimizer_step(loss, raw_model, optimizer, max_norm)
            if averaged is not None:
                averaged.update_parameters(raw_model)
            if scheduler is not None:
                scheduler.step()
            step += 1
            step_losses.append(loss_value)
            n = len(targets)
            samples += n * session.world_size
            running["loss"] += loss_value * n
            running["correct"] += (logits.detach().argmax(-1) == targets).sum().item()
            running["seen"] += n
            if bar is not None:
                bar.update(1)
                bar.set_postfix(loss=f"{loss_value:.4f}")
            is_eval = step % eval_freq == 0 or step == max_steps
            record = evaluate_and_log(step, t_start, samples) if is_eval else None
            if record is not None and not session.quiet and not show_bar:
                session.log(format_record(record))
            elif record is not None and bar is not None:
                bar.write(format_record(record))
            if (
                (is_eval and session.ckpt_every == 0)
                or (session.ckpt_every and step % session.ckpt_every == 0)
                or step == max_steps
            ):
                checkpoint(step)
            if stop.raised:
                checkpoint(step)
                session.log(
                    f"interrupted: saved {out / 'last.pt' if out else '(no --out)'} at step {step}; --resume continues"
                )
                interrupted = True
                break
            if record is not None and stop_when is not None and stop_when(record):
                checkpoint(step)
                session.log(f"stopping early at step {step}")
                break
    if bar is not None:
        bar.close()
    return FitResult(records=records, step_losses=step_losses, best=best, interrupted=interrupted, scored_model=scored)


def format_record(record: dict) -> str:
    """One fixed-column line per evaluation."""
    cols = [f"step {record['step']:>7d}"]
    for key in ("train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc"):
        if key in record:
            cols.append(f"{key} {record[key]:.4f}")
    return " | ".join(cols)


def cleanup(session: Session) -> None:
    """End the session: leave the process group, give up the run folder."""
    if session.out is not None and session.is_main:
        runfolder.release(session.out)
    if session.distributed and dist.is_initialized():
        dist.destroy_process_group()
