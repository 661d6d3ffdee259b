"""Part III: train the vanilla RNN (or the LSTM) to predict the last digit of palindromes.

    python -m cs324.rnn.train --input_length 4             # T = 5, course defaults, ~1 minute
    python -m cs324.rnn.train --input_length 29 --one_hot --recurrent_init orthogonal
    python -m cs324.rnn.train --model lstm --input_length 59 --one_hot

The data set (``--data_size`` distinct palindromes, all of them when fewer exist) is
split into ``--portion_train`` for training and the rest for validation. RMSprop,
gradient-norm clipping at ``--max_norm``, cross-entropy on the last step. Training
stops after ``--max_epoch`` epochs or ``--max_steps`` steps, or early once the
validation accuracy has held at 100% for ``--hold`` evaluations (or has not improved
for ``--patience``). ``best.pt`` keeps the best validation checkpoint.
"""

from __future__ import annotations

import argparse
import dataclasses
import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn

from cs324.cli import check_memory, nonnegative_int, positive_float, positive_int
from cs324.config import option, parser_for, typed
from cs324.data.batches import batch_indices, steps_per_epoch
from cs324.loop import fit, optimizer_step
from cs324.metrics import accuracy
from cs324.optim import SCHEDULES, build_optimizer, build_scheduler
from cs324.rnn.curriculum import batch_stage, curriculum_lengths, target_stage_start
from cs324.rnn.dataset import PalindromeDataset, split_indices
from cs324.rnn.lstm import LSTM
from cs324.rnn.vanilla_rnn import RECURRENT_INITS, VanillaRNN
from cs324.runtime import (
    RuntimeConfig,
    UsageError,
    budget,
    cleanup,
    cli,
    out_option,
    return_freed_memory,
    start_session,
)

DRY_RUN_VAL = 1024  # validation palindromes scored by a --dry_run


@dataclass(frozen=True)
class RNNConfig(RuntimeConfig):
    """Part III: the palindrome task, the model and its training"""

    # the course skeleton's flags and defaults
    input_length: int = option(19, "T-1, digits seen (default: 19)", type=positive_int)
    input_dim: int = option(1, "1: digit values; 10 with --one_hot", type=positive_int)
    num_classes: int = option(10, "(default: 10)", type=positive_int)
    num_hidden: int = option(128, "(default: 128)", type=positive_int)
    batch_size: int = option(128, "(default: 128)", type=positive_int)
    learning_rate: float = option(0.001, "RMSprop (default: 0.001)", type=positive_float)
    max_epoch: int = option(1000, "(default: 1000)", type=positive_int)
    max_norm: float = option(10.0, "gradient-norm clip (default: 10.0)", type=positive_float)
    data_size: int = option(1000000, "palindromes drawn (default: 1000000)", type=positive_int)
    portion_train: float = option(0.8, "share for training (default: 0.8)", type=float)
    # additions
    model: str = option("rnn", "(default: rnn)", choices=["rnn", "lstm"])
    one_hot: bool = option(False, "one-hot digits (sets --input_dim 10)", action="store_true")
    recurrent_init: str = option(
        "default",
        "W_hh of the vanilla RNN: nn.RNN's uniform, orthogonal or identity (default: default)",
        choices=RECURRENT_INITS,
    )
    lr_schedule: str = option(
        "constant",
        "cosine decays to 0 over the step budget; onecycle warms up over the first 20%% (default: constant)",
        choices=SCHEDULES,
    )
    max_steps: int | None = option(None, "step budget (default: from --max_epoch)", type=positive_int)
    eval_freq: int | None = option(
        None, "evaluate every N steps (default: once an epoch, at most every 500 steps)", type=positive_int
    )
    hold: int = option(
        3, "stop once validation accuracy is 100%% for N evaluations in a row (default: 3)", type=positive_int
    )
    patience: int = option(
        0,
        "stop after N evaluations without a better validation accuracy (with --curriculum, counted on the "
        "target length only); 0: never (default: 0)",
        type=nonnegative_int,
    )
    curriculum: int = option(
        0,
        "train first on palindromes of length T0, then T0+5, ... up to the target, the shorter lengths "
        "sharing the first half of the step budget equally (validation always at the target length; 0: off)",
        type=nonnegative_int,
        metavar="T0",
    )
    curriculum_sampling: str = option(
        "stage",
        "stage: every batch at the current stage's length; mixed: half the batches at it, the others at an "
        "earlier stage's length drawn at random, so that what shorter stages taught keeps being trained "
        "(default: stage)",
        choices=["stage", "mixed"],
    )
    out: str = out_option("runs/rnn")


def build_parser() -> argparse.ArgumentParser:
    return parser_for(RNNConfig, __doc__.splitlines()[0])


class EarlyStop:
    """Stop once validation accuracy is 100% for ``hold`` evaluations in a row, or has not improved for
    ``patience`` evaluations (0: never) counted from step ``patience_from``: while a curriculum trains on
    shorter palindromes, accuracy at the target length may not move (it can sit at 0) with nothing wrong."""

    def __init__(self, hold: int, patience: int, patience_from: float = 0) -> None:
        self.hold, self.patience, self.patience_from = hold, patience, patience_from
        self.full, self.best, self.since_best = 0, -1.0, 0

    def __call__(self, record: dict) -> bool:
        self.full = self.full + 1 if record["val_acc"] >= 1.0 else 0
        if record["val_acc"] > self.best:
            self.best, self.since_best = record["val_acc"], 0
        elif record["step"] >= self.patience_from:
            self.since_best += 1
        return self.full >= self.hold or (self.patience > 0 and self.since_best >= self.patience)


def make_model(config: RNNConfig) -> nn.Module:
    args = (config.input_length, config.input_dim, config.num_hidden, config.num_classes)
    if config.model == "lstm":
        return LSTM(*args)
    return VanillaRNN(*args, recurrent_init=config.recurrent_init)


def train(model, data_loader, optimizer, criterion, device, config) -> tuple[float, float]:
    """One pass over ``data_loader`` (the course skeleton's API); returns (mean loss, mean accuracy)."""
    model.train()
    total_loss = total_acc = 0.0
    n = 0
    for inputs, targets in data_loader:
        inputs, targets = inputs.to(device), targets.to(device)
        logits = model(inputs)
        loss = criterion(logits, targets)
        optimizer_step(loss, model, optimizer, config.max_norm)
        total_loss += loss.item() * len(targets)
        total_acc += accuracy(logits.detach(), targets) * len(targets)
        n += len(targets)
    return total_loss / n, total_acc / n


@torch.inference_mode()
def evaluate(model, data_loader, criterion, device, config) -> tuple[float, float]:
    """Mean loss and accuracy over ``data_loader``, without updating the model."""
    model.eval()
    total_loss = total_acc = 0.0
    n = 0
    for inputs, targets in data_loader:
        inputs, targets = inputs.to(device), targets.to(device)
        logits = model(inputs)
        total_loss += criterion(logits, targets).item() * len(targets)
        total_acc += accuracy(logits, targets) * len(targets)
        n += len(targets)
    return total_loss / n, total_acc / n


class _Batches:
    """A tiny iterable of (inputs, targets) over index chunks: what ``evaluate`` expects of a loader."""

    def __init__(self, data: PalindromeDataset, idx: np.ndarray, batch_size: int = 2048) -> None:
        self.data, self.idx, self.batch_size = data, idx, batch_size

    def __iter__(self):
        for start in range(0, len(self.idx), self.batch_size):
            yield self.data.batch(self.idx[start : start + self.batch_size])


def resolve(config: RNNConfig | argparse.Namespace) -> RNNConfig:
    """Check combinations argparse cannot; returns the typed config with derived values filled in."""
    config = typed(RNNConfig, config)
    if not 0.0 < config.portion_train < 1.0:
        raise UsageError(f"--portion_train must lie strictly between 0 and 1, got {config.portion_train}")
    if config.one_hot:
        config = dataclasses.replace(config, input_dim=10)
    elif config.input_dim != 1:
        raise UsageError("--input_dim must be 1 for digit values, or pass --one_hot for 10")
    if config.num_classes != 10:
        raise UsageError("--num_classes must be 10: the targets are digits")
    if config.curriculum == 1 or config.curriculum > config.input_length + 1:
        raise UsageError(f"--curriculum must be 0 (off) or a length from 2 to T={config.input_length + 1}")
    check_sizes(config)
    return config


def n_palindromes(T: int, data_size: int) -> int:
    """How many distinct palindromes of length T a data set of ``data_size`` holds (all, when fewer exist)."""
    half = math.ceil(T / 2)
    return data_size if half > 15 else min(data_size, 10**half)


def check_sizes(config: RNNConfig) -> None:
    """Refuse, before anything is built, a split left empty or a run that cannot fit in memory."""
    T = config.input_length + 1
    n = n_palindromes(T, config.data_size)
    n_train = int(round(n * config.portion_train))
    if n_train == 0 or n_train == n:
        raise UsageError(
            f"--data_size {config.data_size} gives {n} palindromes of length T={T}: --portion_train "
            f"{config.portion_train} leaves an empty training or validation split"
        )
    gates = 4 if config.model == "lstm" else 1
    params = gates * config.num_hidden * (config.num_hidden + config.input_dim + 1) + config.num_hidden * 11
    # per hidden unit and time step: the states and pre-activations autograd keeps, and their gradients
    activations = max(config.batch_size, 2048) * T * (config.num_hidden * 4 * gates + config.input_dim)
    check_memory(16 * params, f"--num_hidden {config.num_hidden}")
    check_memory(
        2 * n * T + 4 * activations,
        f"T={T} with --data_size {config.data_size}, --num_hidden "
        f"{config.num_hidden}, --batch_size {config.batch_size}",
    )


def main(config: RNNConfig | argparse.Namespace | None = None):
    """Train per ``config`` (an ``RNNConfig``, or the flags parsed by ``build_parser``; None: the defaults);
    returns (model, FitResult)."""
    config = resolve(config)
    return_freed_memory()  # else freed evaluation batches pile up as fragmented heap (see the function)
    data = PalindromeDataset(config.input_length, config.data_size, one_hot=config.one_hot, seed=config.seed)
    train_idx, val_idx = split_indices(len(data), config.portion_train, seed=config.seed)
    session = start_session(config)
    model = make_model(config).to(session.device)
    criterion = nn.CrossEntropyLoss()
    optimizer = build_optimizer("rmsprop", model.parameters(), lr=config.learning_rate)

    per_epoch = steps_per_epoch(len(train_idx), config.batch_size)
    max_steps = config.max_steps or per_epoch * config.max_epoch
    max_steps = min(max_steps, per_epoch * config.max_epoch)
    max_steps, eval_freq = budget(max_steps, config.eval_freq or min(per_epoch, 500), config.dry_run)
    scheduler = build_scheduler(optimizer, config.lr_schedule, max_steps=max_steps)

    lengths = curriculum_lengths(config.input_length + 1, config.curriculum)
    stages = []  # (data set, training indices) per length; the target length's are the ones above
    for T in lengths[:-1]:
        stage_data = PalindromeDataset(T - 1, config.data_size, one_hot=config.one_hot, seed=config.seed + T)
        stages.append((stage_data, split_indices(len(stage_data), config.portion_train, seed=config.seed)[0]))
    stages.append((data, train_idx))

    def get_batch(step: int):
        mixed = config.curriculum_sampling == "mixed"
        stage_data, stage_idx = stages[batch_stage(step, max_steps, len(stages), mixed, config.seed)]
        return stage_data.batch(stage_idx[batch_indices(step, len(stage_idx), config.batch_size, config.seed)])

    if config.dry_run:  # a small evaluation
        val_idx = val_idx[:DRY_RUN_VAL]

    def evaluate_val(m: nn.Module) -> dict:
        loss, acc = evaluate(m, _Batches(data, val_idx), criterion, session.device, config)
        return {"val_loss": loss, "val_acc": acc}

    stop_when = EarlyStop(config.hold, config.patience, patience_from=target_stage_start(max_steps, len(stages)))

    result = fit(
        session,
        model,
        optimizer,
        get_batch,
        criterion,
        evaluate_val,
        max_steps=max_steps,
        eval_freq=eval_freq,
        scheduler=scheduler,
        max_norm=config.max_norm,
        steps_per_epoch=per_epoch,
        stop_when=stop_when,
    )
    cleanup(session)
    return result.scored_model or model, result


@cli
def run(argv: list[str] | None = None) -> None:
    """Command line: parse, train, print the best validation accuracy (``main(config)`` is the course's name for
    the library call, so the command line's entry point is this one)."""
    config = build_parser().parse_args(argv)
    _, result = main(config)
    if result.interrupted:
        raise SystemExit(130)
    best = max(result.records, key=lambda r: r["val_acc"])
    print(
        f"T={config.input_length + 1} {config.model}: best val_acc {best['val_acc']:.4f} at step {best['step']}; "
        f"final val_acc {result.records[-1]['val_acc']:.4f} at step {result.records[-1]['step']}"
    )


if __name__ == "__main__":
    run()
