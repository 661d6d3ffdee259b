"""Part II: train the reduced VGG on CIFAR-10 through the shared runtime.

    python -m cs324.cnn.cnn_train                      # the spec run: Adam 1e-4, 5,000 steps of 32
    python -m cs324.cnn.cnn_train --learning_rate 1e-3 # Adam at PyTorch's default learning rate
    python -m cs324.cnn.cnn_train --recipe best        # the best recipe found (same architecture)
    python -m cs324.cnn.cnn_train --recipe best --epochs 10   # the same, shortened

Every ``--eval_freq`` steps the whole validation and test splits are scored; the
validation split (5,000 training images, stratified) selects ``best.pt``.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from typing import ClassVar

from cs324.cifar import CifarConfig, parse_with_recipe, recipe_config, recipe_parser, report, train_cifar
from cs324.cnn.cnn_model import CNN
from cs324.config import option
from cs324.loop import FitResult
from cs324.runtime import cli

# The recipes: every flag a recipe sets, with why. Flags given on the command line override them.
RECIPES = {
    # The assignment's run: the skeleton's defaults (Adam 1e-4, 5,000 steps of 32, evaluation every 500).
    "spec": {},
    "best": dict(
        optimizer="sgd",  # SGD with Nesterov momentum: the standard CIFAR VGG optimiser
        nesterov=True,
        momentum=0.9,
        learning_rate=0.08,  # the peak of the one-cycle schedule, for batch 128
        lr_schedule="onecycle",  # 15% linear warm-up, then linear decay to 0
        warmup=0.15,
        weight_decay=5e-4,  # the standard CIFAR VGG value
        batch_size=128,
        max_steps=17600,  # 50 epochs of the 45,000 training images (--epochs changes it)
        eval_freq=880,
        label_smoothing=0.1,  # softer targets against over-confidence late in training
        augment="flipcrop",  # random mirror and 4 px crop: it pays at full length, not in short runs (ablation)
        mixup=0.2,  # blend image pairs (Beta(0.2) weights): at 50 epochs the net would otherwise fit the training set
        tta=True,  # score the image and its mirror: free at evaluation
        amp=True,  # bf16 autocast where the device runs it natively (ignored elsewhere)
    ),
}


@dataclass(frozen=True)
class CNNConfig(CifarConfig):
    """Part II: the reduced VGG"""

    RUNS: ClassVar[str] = "runs/cnn"  # a recipe's run folder: runs/cnn_<recipe>
    recipe: str = option(
        "spec", "defaults to start from; explicit flags override them (default: spec)", choices=list(RECIPES)
    )
    channels_last: bool = option(
        True,
        "channels-last memory layout, the convolutions' fast path on CPU (default: on)",
        action=argparse.BooleanOptionalAction,
    )
    out: str = option("runs/cnn_spec", "run folder (default: runs/cnn_<recipe>)", metavar="DIR")


def config(recipe: str = "spec", **overrides) -> CNNConfig:
    """The library's way in: ``train(config("best", epochs=10))``."""
    return recipe_config(CNNConfig, RECIPES, recipe, **overrides)


def build_parser(recipe: str = "spec") -> argparse.ArgumentParser:
    return recipe_parser(CNNConfig, RECIPES, recipe, __doc__.splitlines()[0])


def parse(argv: list[str] | None = None) -> CNNConfig:
    return parse_with_recipe(CNNConfig, RECIPES, argv, __doc__.splitlines()[0])


def train(config: CNNConfig) -> FitResult:
    """Train the reduced VGG per ``config``; the run folder is ``config.out``."""
    return train_cifar(config, lambda: CNN(3, 10), channels_last=config.channels_last)


@cli
def main(argv: list[str] | None = None) -> None:
    report(train(parse(argv)))


if __name__ == "__main__":
    main()
