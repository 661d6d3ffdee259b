"""What the NumPy and PyTorch MLP trainers share: flags, defaults and the eval schedule."""

from __future__ import annotations

import argparse

from cs324.cli import check_memory, hidden_units, nonnegative_float, nonnegative_int, positive_float, positive_int, seed
from cs324.data.toy import TOY_DATASETS

# Defaults of the course skeletons, in one visible block.
DNN_HIDDEN_UNITS_DEFAULT = "20"
LEARNING_RATE_DEFAULT = 1e-2
MAX_STEPS_DEFAULT = 1500
EVAL_FREQ_DEFAULT = 10
BATCH_SIZE_DEFAULT = 32


def add_mlp_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dnn_hidden_units",
        type=hidden_units,
        default=DNN_HIDDEN_UNITS_DEFAULT,
        metavar="W1,W2,..",
        help="comma-separated hidden widths (default: 20)",
    )
    parser.add_argument(
        "--learning_rate", type=positive_float, default=LEARNING_RATE_DEFAULT, help="learning rate (default: 1e-2)"
    )
    parser.add_argument(
        "--max_steps", type=positive_int, default=MAX_STEPS_DEFAULT, help="number of parameter updates (default: 1500)"
    )
    parser.add_argument(
        "--eval_freq",
        type=positive_int,
        default=EVAL_FREQ_DEFAULT,
        help="evaluate the whole test set every N steps (default: 10)",
    )
    parser.add_argument(
        "--batch_size",
        type=nonnegative_int,
        default=BATCH_SIZE_DEFAULT,
        help="1: SGD, 0 or >= training size: full batch, else mini-batch (default: 32)",
    )
    parser.add_argument(
        "--dataset",
        choices=sorted(TOY_DATASETS),
        default="moons",
        help="scikit-learn data set, 1,000 points, 80/20 split (default: moons)",
    )
    parser.add_argument(
        "--noise", type=nonnegative_float, default=None, help="generator noise (default: per data set; moons 0.2)"
    )
    parser.add_argument("--data_seed", type=seed, default=42, help="seed of the data set and split (default: 42)")
    parser.add_argument(
        "--dtype", choices=["float64", "float32"], default="float64", help="floating-point precision (default: float64)"
    )


def is_eval_step(step: int, eval_freq: int, max_steps: int) -> bool:
    """Evaluate before training (step 0), every ``eval_freq`` updates and after the last."""
    return step == 0 or step % eval_freq == 0 or step == max_steps


def check_mlp_size(widths: list[int], *, batch: int, bytes_per_value: int) -> None:
    """Refuse an MLP that cannot fit in memory: weights, gradients and two optimizer states per parameter,
    plus a batch's activations kept for the backward pass."""
    params = sum((a + 1) * b for a, b in zip(widths[:-1], widths[1:]))
    activations = max(batch, 1) * sum(widths) * 3
    shape = "-".join(str(w) for w in widths)
    check_memory((4 * params + activations) * bytes_per_value, f"an MLP of widths {shape}")
