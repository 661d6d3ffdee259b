"""Train Assignment 1's NumPy MLP on a scikit-learn data set.

    python -m cs324.mlp.train_mlp_numpy --dnn_hidden_units 20 --learning_rate 1e-2 \
        --max_steps 1500 --eval_freq 10 --batch_size 32

The whole test split is evaluated before training, every ``eval_freq`` steps and after
the last one. Mini-batches follow ``cs324.data.toy.batch_indices``, the same order the
PyTorch trainer uses, so the two can be compared step by step. The run folder (``--out``,
default runs/numpy_mlp) holds ``config.json`` and ``metrics.jsonl`` as the PyTorch trainers'
do (no checkpoints: a run takes seconds).
"""

from __future__ import annotations

import argparse
import json
import platform
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

import cs324
from cs324 import runfolder
from cs324.cli import UsageError, cli, seed
from cs324.config import as_dict, option, parser_for, typed
from cs324.data.batches import batch_indices
from cs324.data.toy import ToyData, make_toy, one_hot
from cs324.metrics import accuracy
from cs324.mlp.common import ToyMLPConfig, check_mlp_size, is_eval_step
from cs324.mlp.mlp_numpy import MLP
from cs324.mlp.modules import CrossEntropy
from cs324.runtime import budget


@dataclass
class History:
    records: list[dict] = field(default_factory=list)  # one per evaluation
    step_losses: list[float] = field(default_factory=list)  # every step's batch loss


def evaluate(model: MLP, x: np.ndarray, y: np.ndarray, n_classes: int) -> tuple[float, float]:
    """(mean cross-entropy, accuracy) of ``model`` on (x, y); y holds class indices."""
    probs = model.forward(x)
    return CrossEntropy().forward(probs, one_hot(y, n_classes, probs.dtype)), accuracy(probs, y)


def train(
    model: MLP,
    data: ToyData,
    *,
    learning_rate: float,
    max_steps: int,
    eval_freq: int,
    batch_size: int,
    seed: int = 0,
) -> History:
    """Plain gradient descent on ``data.x_train``; returns the evaluation records."""
    dtype = model.linears[0].params["weight"].dtype
    x_train, x_test = data.x_train.astype(dtype), data.x_test.astype(dtype)
    y_train_1h = one_hot(data.y_train, data.n_classes, dtype)
    loss_fn = CrossEntropy()
    history = History()
    running_loss = running_correct = running_seen = 0.0

    for step in range(max_steps + 1):
        if is_eval_step(step, eval_freq, max_steps):
            record = {"step": step}
            if running_seen:
                record["train_loss"] = running_loss / running_seen
                record["train_acc"] = running_correct / running_seen
            record["test_loss"], record["test_acc"] = evaluate(model, x_test, data.y_test, data.n_classes)
            history.records.append(record)
            running_loss = running_correct = running_seen = 0.0
        if step == max_steps:
            break
        idx = batch_indices(step, data.n_train, batch_size, seed)
        x, y = x_train[idx], y_train_1h[idx]
        probs = model.forward(x)  # (B, C)
        loss = loss_fn.forward(probs, y)
        model.backward(loss_fn.backward(probs, y))
        model.sgd_step(learning_rate)
        history.step_losses.append(loss)
        running_loss += loss * len(idx)
        running_correct += (probs.argmax(1) == data.y_train[idx]).sum()
        running_seen += len(idx)
    return history


@dataclass(frozen=True)
class NumpyMLPConfig(ToyMLPConfig):
    """Part I Task 2: the NumPy MLP (no PyTorch runtime: a run takes seconds, so no checkpoints)"""

    seed: int = option(0, "seed of weights and batch order (default: 0)", type=seed)
    quiet: bool = option(False, "print only the final line", action="store_true")
    out: str = option("runs/numpy_mlp", "run folder; '' writes none", metavar="DIR")
    overwrite: bool = option(False, "replace a run already in DIR", action="store_true")
    dry_run: bool = option(False, "dry run, seconds: 4 steps", aliases=("--dry-run",), action="store_true")


def build_parser() -> argparse.ArgumentParser:
    return parser_for(NumpyMLPConfig, __doc__.splitlines()[0])


def write_run(out: Path, config: NumpyMLPConfig, history: History) -> None:
    """``config.json`` (every flag, where it ran) and ``metrics.jsonl``, as the PyTorch trainers write them."""
    runfolder.prepare(out, resume=False, overwrite=True)
    if (out / "metrics.jsonl").exists() and not config.overwrite:
        runfolder.release(out)
        raise UsageError(f"{out} already holds a run; pass --overwrite to replace it")
    env = {"cs324_version": cs324.__version__, "numpy_version": np.__version__, "python": platform.python_version()}
    runfolder.start_fresh(out, as_dict(config) | env)
    runfolder.atomic_write_text(out / "metrics.jsonl", "".join(runfolder.json_line(r) for r in history.records))
    runfolder.release(out)


def train_from_config(config: NumpyMLPConfig) -> History:
    """The library's way in: data, model and ``train`` per ``config``; the run folder is ``config.out``."""
    try:
        data = make_toy(config.dataset, noise=config.noise, seed=config.data_seed)
    except ValueError as e:
        raise UsageError(str(e)) from None
    dtype = np.float64 if config.dtype == "float64" else np.float32
    widths = [2, *config.dnn_hidden_units, data.n_classes]
    check_mlp_size(widths, batch=config.batch_size or data.n_train, bytes_per_value=np.dtype(dtype).itemsize)
    model = MLP(2, config.dnn_hidden_units, data.n_classes, seed=config.seed, dtype=dtype)
    max_steps, eval_freq = budget(config.max_steps, config.eval_freq, config.dry_run)
    history = train(
        model,
        data,
        learning_rate=config.learning_rate,
        max_steps=max_steps,
        eval_freq=eval_freq,
        batch_size=config.batch_size,
        seed=config.seed,
    )
    if config.out:
        write_run(Path(config.out), config, history)
    return history


@cli
def main(argv: list[str] | None = None) -> History:
    config = typed(NumpyMLPConfig, build_parser().parse_args(argv))
    history = train_from_config(config)
    for record in history.records if not config.quiet else history.records[-1:]:
        print(json.dumps(record))
    return history


if __name__ == "__main__":
    main()
