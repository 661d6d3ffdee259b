"""The one training loop every PyTorch trainer runs: ``fit``.

    result = fit(session, model, optimizer, get_batch, loss_fn, evaluate, max_steps=5000, eval_freq=500)

``get_batch(step)`` is a pure function of the step, so resuming needs no loader state;
``evaluate(model)`` returns metrics such as ``{"val_acc": .., "test_acc": ..}`` and ``best.pt``
follows ``val_acc``. The loop evaluates at step 0, every ``eval_freq`` steps and at the last;
writes ``last.pt`` at every evaluation (or every ``--ckpt_every`` steps) and on Ctrl-C; and
reads scalars back from the device only when it evaluates or checkpoints (a NaN loss is caught
there, before any checkpoint holds it).
"""

from __future__ import annotations

import math
import signal
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass

import torch
import torch.nn as nn

from cs324 import runfolder
from cs324.cli import TrainingError, UsageError
from cs324.resume import TrainState, restore, save_last
from cs324.runtime import Session


@dataclass
class FitResult:
    records: list[dict]  # one per evaluation, as written to metrics.jsonl
    step_losses: list[float]  # training loss of every step run in this process
    best: dict | None  # the record of the best validation accuracy, if any
    interrupted: bool = False
    scored_model: nn.Module | None = None  # the model the evaluations scored: the EMA copy under ``ema``


@dataclass
class Models:
    """The one model in its roles: ``raw`` holds the weights, ``train`` runs the steps (under DDP and
    ``torch.compile`` when asked), ``averaged`` is the EMA of the weights, ``scored`` what evaluations score."""

    raw: nn.Module
    train: nn.Module
    averaged: nn.Module | None
    scored: nn.Module


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
    """Train ``max_steps`` optimizer steps of ``get_batch(step)`` (the global batch: each rank keeps its
    slice); ``stop_when(record)`` may end the run early (e.g. validation accuracy at 100%)."""
    models = wrap_model(session, model)
    writer = event_writer(session)  # before restore writes anything: a missing package is a clean error
    state = restore(session, models.raw, models.averaged, optimizer, scheduler)
    log = lambda step: log_evaluation(session, models, optimizer, evaluate, state, steps_per_epoch, writer)
    save = lambda: (
        check_finite(session, state) or save_last(session, models.raw, models.averaged, optimizer, scheduler, state)
    )
    if state.step == 0:
        log(0)
    bar = progress_bar(session, max_steps, state.step)
    interrupted = False
    models.raw.train()
    with StopFlag() as stop:
        while state.step < max_steps:
            inputs, targets = session.shard(*get_batch(state.step))
            with session.autocast():
                logits = models.train(inputs)
                loss = loss_fn(logits, targets)
            optimizer_step(loss, models.raw, optimizer, max_norm)
            if models.averaged is not None:
                models.averaged.update_parameters(models.raw)
            if scheduler is not None:
                scheduler.step()
            state.step += 1
            count_step(state, session, loss, logits, targets)
            if bar is not None:
                bar.update(1)
            record = log(state.step) if state.step % eval_freq == 0 or state.step == max_steps else None
            if record is not None:
                show(session, bar, record)
            every = session.ckpt_every
            if (record is not None and not every) or (every and state.step % every == 0) or state.step == max_steps:
                save()
            if stop.raised:
                save()
                where = session.out / "last.pt" if session.out else "(no --out)"
                session.log(f"interrupted: saved {where} at step {state.step}; --resume continues")
                interrupted = True
                break
            if record is not None and stop_when is not None and stop_when(record):
                save()
                session.log(f"stopping early at step {state.step}")
                break
    if bar is not None:
        bar.close()
    if writer is not None:
        writer.close()
    losses = [float(v) for v in torch.stack(state.losses).tolist()] if state.losses else []
    return FitResult(state.records, losses, state.best, interrupted, models.scored)


def wrap_model(session: Session, model: nn.Module) -> Models:
    """DistributedDataParallel under ``torchrun``, ``torch.compile`` if asked, the EMA copy if ``--ema``."""
    train: nn.Module = model
    if session.distributed:
        from torch.nn.parallel import DistributedDataParallel

        train = DistributedDataParallel(
            model, device_ids=[session.device.index] if session.device.type == "cuda" else None
        )
    if session.compile:
        train = CompiledOrEager(train, session.log)
    averaged = None
    if session.ema:
        from torch.optim.swa_utils import AveragedModel, get_ema_multi_avg_fn

        averaged = AveragedModel(model, multi_avg_fn=get_ema_multi_avg_fn(session.ema), use_buffers=True)
    return Models(model, train, averaged, averaged.module if averaged is not None else model)


def checkpoint(session: Session, models: Models, optimizer, scheduler, state: TrainState) -> None:
    """``last.pt``, once every loss since the last check is known to be finite."""
    check_finite(session, state)
    save_last(session, models.raw, models.averaged, optimizer, scheduler, state)


def count_step(state: TrainState, session: Session, loss: torch.Tensor, logits, targets) -> None:
    """Add the step to the running training loss and accuracy, on the device (no host sync)."""
    n = len(targets)
    loss = loss.detach()
    state.losses.append(loss)
    state.samples += n * session.world_size
    state.running["loss"] = state.running["loss"] + loss.double() * n
    labels = targets.argmax(-1) if targets.dim() > 1 else targets  # mixup's class probabilities: the larger share
    state.running["correct"] = state.running["correct"] + (logits.detach().argmax(-1) == labels).sum()
    state.running["seen"] += n


def check_finite(session: Session, state: TrainState) -> None:
    """Raise ``TrainingError`` if a loss since the last check is not finite (no checkpoint holds it yet)."""
    if state.checked == len(state.losses):
        return
    new = torch.stack(state.losses[state.checked :])
    bad = (~torch.isfinite(new)).nonzero()
    if len(bad):
        first = state.step - len(new) + 1 + int(bad[0])
        last = session.out / "last.pt" if session.out else None
        where = f"; last good checkpoint: {last}" if last is not None and last.exists() else ""
        raise TrainingError(f"loss became {float(new[int(bad[0])])} at step {first}{where}")
    state.checked = len(state.losses)


def log_evaluation(session, models: Models, optimizer, evaluate, state: TrainState, steps_per_epoch, writer) -> dict:
    """Evaluate the scored model, append the record to ``metrics.jsonl`` (and TensorBoard), keep ``best.pt``."""
    check_finite(session, state)
    models.scored.eval()
    with torch.inference_mode(), session.autocast():
        metrics = evaluate(models.scored)
    models.scored.train()
    record = {"step": state.step}
    if steps_per_epoch:
        record["epoch"] = round(state.step / steps_per_epoch, 4)
    seen = state.running["seen"]
    if seen:
        record["train_loss"] = float(state.running["loss"]) / seen
        record["train_acc"] = float(state.running["correct"]) / seen
    record.update({k: v if isinstance(v, int) else float(v) for k, v in metrics.items()})
    record["lr"] = optimizer.param_groups[0]["lr"]
    elapsed = state.seconds()
    record["wall_time"] = round(elapsed, 3)
    record["samples_per_s"] = round((state.samples_before + state.samples) / elapsed, 1) if elapsed > 0 else None
    record["threads"] = torch.get_num_threads()  # per record: a resumed run may continue on another count
    state.running = {"loss": 0.0, "correct": 0.0, "seen": 0}
    state.records.append(record)
    if session.out is not None and session.is_main:
        runfolder.append_record(session.out, record)
        if writer is not None:
            for key, value in record.items():
                if key not in ("step", "epoch", "wall_time") and isinstance(value, (int, float)):
                    writer.add_scalar(key, value, state.step)
            writer.flush()
        if "val_acc" in record and (state.best is None or record["val_acc"] > state.best["val_acc"]):
            state.best = record
            best = {"model": models.scored.state_dict(), "step": state.step, "record": record}
            runfolder.save_checkpoint(session.out / "best.pt", best | {"config": session.config})
    return record


# --------------------------------------------------------------------------- step helpers


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


class StopFlag:
    """Turns Ctrl-C into a flag the loop checks between steps, so a step never half-happens."""

    def __init__(self) -> None:
        self.raised = False
        self._previous = None

    def __enter__(self) -> StopFlag:
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


class CompiledOrEager(nn.Module):
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


def event_writer(session: Session):
    """A TensorBoard ``SummaryWriter`` on the run folder under ``--tensorboard`` (main process); else None."""
    if not (session.tensorboard and session.out is not None and session.is_main):
        return None
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        raise UsageError("--tensorboard needs the tensorboard package: pip install tensorboard") from None
    return SummaryWriter(log_dir=str(session.out))


def progress_bar(session: Session, max_steps: int, start: int):
    """A tqdm bar on a terminal (main process, not ``--quiet``); None elsewhere."""
    if not (session.is_main and not session.quiet and sys.stderr.isatty()):
        return None
    from tqdm.auto import tqdm

    return tqdm(total=max_steps, initial=start, dynamic_ncols=True, leave=False)


def show(session: Session, bar, record: dict) -> None:
    """One fixed-column line per evaluation, above the bar (or on stderr without one; none if ``--quiet``)."""
    cols = [f"step {record['step']:>7d}"]
    for key in ("train_loss", "train_acc", "val_loss", "val_acc", "test_loss", "test_acc"):
        if key in record:
            cols.append(f"{key} {record[key]:.4f}")
    line = " | ".join(cols)
    if bar is not None:
        bar.set_postfix(loss=f"{record.get('train_loss', math.nan):.4f}")
        bar.write(line)
    elif not session.quiet:
        session.log(line)
