"""Part I Task 1: train the PyTorch MLP on a scikit-learn data set, through the runtime.

    python -m cs324.mlp.pytorch_train_mlp --dnn_hidden_units 20 --learning_rate 1e-2 \
        --max_steps 1500 --eval_freq 10 --batch_size 32 --optimizer sgd

The whole test split is evaluated every ``eval_freq`` steps; metrics and checkpoints
land in ``--out`` (default runs/pytorch_mlp). The mini-batch order is the NumPy
trainer's (``cs324.data.toy.batch_indices``).
"""

from __future__ import annotations

import argparse
import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from cs324.config import option, parser_for, typed
from cs324.data.batches import batch_indices
from cs324.data.toy import ToyData, make_toy
from cs324.loop import FitResult, fit
from cs324.metrics import accuracy
from cs324.mlp.common import ToyMLPConfig, check_mlp_size
from cs324.mlp.pytorch_mlp import MLP
from cs324.optim import build_optimizer
from cs324.runtime import RuntimeConfig, UsageError, budget, cleanup, cli, out_option, start_session

__all__ = ["TorchMLPConfig", "accuracy", "build_parser", "main", "train"]


@dataclass(frozen=True)
class TorchMLPConfig(ToyMLPConfig, RuntimeConfig):
    """Part I Task 1: the PyTorch MLP"""

    optimizer: str = option("sgd", "plain SGD (as the NumPy MLP) or Adam (default: sgd)", choices=["sgd", "adam"])
    out: str = out_option("runs/pytorch_mlp")


def build_parser() -> argparse.ArgumentParser:
    return parser_for(TorchMLPConfig, __doc__.splitlines()[0])


def train(
    config: TorchMLPConfig | argparse.Namespace | None = None,
    *,
    model: MLP | None = None,
    data: ToyData | None = None,
) -> tuple[MLP, FitResult]:
    """Train per ``config`` (a ``TorchMLPConfig``, or parsed flags; the defaults when None); returns the model
    and metrics.

    ``model`` (e.g. ``MLP.from_numpy(...)``) and ``data`` override the ones the config
    would build; ``--out ""`` writes no files.
    """
    config = typed(TorchMLPConfig, config)
    if data is None:
        try:
            data = make_toy(config.dataset, noise=config.noise, seed=config.data_seed)
        except ValueError as e:
            raise UsageError(str(e)) from None
    dtype = getattr(torch, config.dtype)
    if model is None:
        widths = [data.x_train.shape[1], *config.dnn_hidden_units, data.n_classes]
        check_mlp_size(widths, batch=config.batch_size or data.n_train, bytes_per_value=dtype.itemsize)
    session = start_session(config)
    if model is None:
        model = MLP(data.x_train.shape[1], config.dnn_hidden_units, data.n_classes).to(dtype)
    model = model.to(session.device)

    x_train = torch.as_tensor(data.x_train, dtype=dtype, device=session.device)
    y_train = torch.as_tensor(data.y_train, device=session.device)
    x_test = torch.as_tensor(data.x_test, dtype=dtype, device=session.device)
    y_test = torch.as_tensor(data.y_test, device=session.device)

    def get_batch(step: int) -> tuple[torch.Tensor, torch.Tensor]:
        idx = torch.as_tensor(batch_indices(step, data.n_train, config.batch_size, config.seed))
        return x_train[idx], y_train[idx]

    def evaluate(m: MLP) -> dict:
        logits = m(x_test)
        return {"test_loss": F.cross_entropy(logits, y_test).item(), "test_acc": accuracy(logits, y_test)}

    optimizer = build_optimizer(config.optimizer, model.parameters(), lr=config.learning_rate)
    max_steps, eval_freq = budget(config.max_steps, config.eval_freq, config.dry_run)
    bs = config.batch_size if 0 < config.batch_size < data.n_train else data.n_train
    result = fit(
        session,
        model,
        optimizer,
        get_batch,
        F.cross_entropy,
        evaluate,
        max_steps=max_steps,
        eval_freq=eval_freq,
        steps_per_epoch=math.ceil(data.n_train / bs),
    )
    cleanup(session)
    return result.scored_model or model, result


@cli
def main(argv: list[str] | None = None) -> None:
    """Parse flags, train, print the final record."""
    config = build_parser().parse_args(argv)
    _, result = train(config)
    if result.interrupted:
        raise SystemExit(130)
    if config.quiet:
        return
    last = result.records[-1]
    print(f"final: step {last['step']} test_acc {last['test_acc']:.4f} test_loss {last['test_loss']:.4f}")


if __name__ == "__main__":
    main()
