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
import math

import numpy as np
import torch
import torch.nn as nn

from cs324.cli import ArgumentParser, check_memory, nonnegative_int, positive_float, positive_int
from cs324.data.batches import batch_indices, steps_per_epoch
from cs324.loop import fit, optimizer_step
from cs324.metrics import accuracy
from cs324.optim import SCHEDULES, build_optimizer, build_scheduler
from cs324.rnn.dataset import PalindromeDataset, split_indices
from cs324.rnn.lstm import LSTM
from cs324.rnn.vanilla_rnn import RECURRENT_INITS, VanillaRNN
from cs324.runtime import UsageError, add_runtime_args, budget, cleanup, cli, start_session

DRY_RUN_VAL = 1024  # validation palindromes scored by a --dry_run


def build_parser() -> argparse.ArgumentParser:
    p = ArgumentParser(description=__doc__.splitlines()[0])
    # the course skeleton's flags and defaults
    p.add_argument("--input_length", type=positive_int, default=19, help="T-1, digits seen (default: 19)")
    p.add_argument("--input_dim", type=positive_int, default=1, help="1: digit values; 10 with --one_hot")
    p.add_argument("--num_classes", type=positive_int, default=10, help="(default: 10)")
    p.add_argument("--num_hidden", type=positive_int, default=128, help="(default: 128)")
    p.add_argument("--batch_size", type=positive_int, default=128, help="(default: 128)")
    p.add_argument("--learning_rate", type=positive_float, default=0.001, help="RMSprop (default: 0.001)")
    p.add_argument("--max_epoch", type=positive_int, default=1000, help="(default: 1000)")
    p.add_argument("--max_norm", type=positive_float, default=10.0, help="gradient-norm clip (default: 10.0)")
    p.add_argument("--data_size", type=positive_int, default=1000000, help="palindromes drawn (default: 1000000)")
    p.add_argument("--portion_train", type=float, default=0.8, help="share for training (default: 0.8)")
    # additions
    p.add_argument("--model", choices=["rnn", "lstm"], default="rnn", help="(default: rnn)")
    p.add_argument("--one_hot", action="store_true", help="one-hot digits (sets --input_dim 10)")
    p.add_argument(
        "--recurrent_init",
        choices=RECURRENT_INITS,
        default="default",
        help="W_hh of the vanilla RNN: nn.RNN's uniform, orthogonal or identity (default: default)",
    )
    p.add_argument(
        "--lr_schedule",
        choices=SCHEDULES,
        default="constant",
        help="cosine decays to 0 over the step budget; onecycle warms up over the first 20%% (default: constant)",
    )
    p.add_argument("--max_steps", type=positive_int, default=None, help="step budget (default: from --max_epoch)")
    p.add_argument(
        "--eval_freq",
        type=positive_int,
        default=None,
        help="evaluate every N steps (default: once an epoch, at most every 500 steps)",
    )
    p.add_argument(
        "--hold",
        type=positive_int,
        default=3,
        help="stop once validation accuracy is 100%% for N evaluations in a row (default: 3)",
    )
    p.add_argument(
        "--patience",
        type=nonnegative_int,
        default=0,
        help="stop after N evaluations without a better validation accuracy (with --curriculum, counted on the "
        "target length only); 0: never (default: 0)",
    )
    p.add_argument(
        "--curriculum",
        type=nonnegative_int,
        default=0,
        metavar="T0",
        help="train first on palindromes of length T0, then T0+5, ... up to the target, the shorter lengths "
        "sharing the first half of the step budget equally (validation always at the target length; 0: off)",
    )
    p.add_argument(
        "--curriculum_sampling",
        choices=["stage", "mixed"],
        default="stage",
        help="stage: every batch at the current stage's length; mixed: half the batches at it, the others at an "
        "earlier stage's length drawn at random, so that what shorter stages taught keeps being trained "
        "(default: stage)",
    )
    add_runtime_args(p, out="runs/rnn")
    return p


def curriculum_lengths(target_T: int, first_T: int, step: int = 5) -> list[int]:
    """The palindrome lengths trained on, shortest first, ending with ``target_T``."""
    if first_T <= 1 or first_T >= target_T:
        return [target_T]
    return list(range(first_T, target_T, step)) + [target_T]


def stage_at(step: int, max_steps: int, n_stages: int) -> int:
    """Index of the curriculum stage at ``step``: the n-1 shorter stages share the first half of the
    budget equally, the target length has the second half. A pure function of the step (exact resume)."""
    if n_stages == 1:
        return 0
    return min(int(step / target_stage_start(max_steps, n_stages) * (n_stages - 1)), n_stages - 1)


def batch_stage(step: int, max_steps: int, n_stages: int, mixed: bool, seed: int) -> int:
    """The stage whose palindromes make the batch of ``step``: the current one, or under ``mixed`` sampling
    (half the time) an earlier one drawn uniformly, from a generator seeded by (seed, step): a pure function."""
    current = stage_at(step, max_steps, n_stages)
    if not mixed or current == 0:
        return current
    rng = np.random.default_rng([seed, step, 7])
    return current if rng.random() < 0.5 else int(rng.integers(0, current))


def target_stage_start(max_steps: int, n_stages: int) -> float:
    """The step from which a curriculum trains on the target length (0 without a curriculum)."""
    return max_steps / 2 if n_stages > 1 else 0


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


def make_model(config: argparse.Namespace) -> nn.Module:
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


def resolve(config: argparse.Namespace) -> argparse.Namespace:
    """Check combinations argparse cannot; returns the config with derived values filled in."""
    if not 0.0 < config.portion_train < 1.0:
        raise UsageError(f"--portion_train must lie strictly between 0 and 1, got {config.portion_train}")
    if config.one_hot:
        config = argparse.Namespace(**(vars(config) | {"input_dim": 10}))  # a resolved copy: the caller's is kept
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


def check_sizes(config: argparse.Namespace) -> None:
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


def main(config: argparse.Namespace):
    """Train per ``config``; returns (model, FitResult)."""
    config = resolve(config)
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
    """Command line: parse, train, print the best validation accuracy."""
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
