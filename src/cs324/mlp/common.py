"""What the NumPy and PyTorch MLP trainers share: their flags and defaults, the eval schedule, a size check."""

from __future__ import annotations

from dataclasses import dataclass

from cs324.cli import check_memory, hidden_units, nonnegative_float, nonnegative_int, positive_float, positive_int, seed
from cs324.config import option
from cs324.data.toy import TOY_DATASETS


@dataclass(frozen=True)
class ToyMLPConfig:
    """the course skeleton's MLP flags and defaults, and the toy data set"""

    dnn_hidden_units: list[int] = option(
        [20], "comma-separated hidden widths (default: 20)", type=hidden_units, metavar="W1,W2,.."
    )
    learning_rate: float = option(1e-2, "learning rate (default: 1e-2)", type=positive_float)
    max_steps: int = option(1500, "number of parameter updates (default: 1500)", type=positive_int)
    eval_freq: int = option(10, "evaluate the whole test set every N steps (default: 10)", type=positive_int)
    batch_size: int = option(
        32, "1: SGD, 0 or >= training size: full batch, else mini-batch (default: 32)", type=nonnegative_int
    )
    dataset: str = option(
        "moons", "scikit-learn data set, 1,000 points, 80/20 split (default: moons)", choices=sorted(TOY_DATASETS)
    )
    noise: float | None = option(None, "generator noise (default: per data set; moons 0.2)", type=nonnegative_float)
    data_seed: int = option(42, "seed of the data set and split (default: 42)", type=seed)
    dtype: str = option("float64", "floating-point precision (default: float64)", choices=["float64", "float32"])


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
