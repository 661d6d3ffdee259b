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

from cs324.cifar import add_cifar_args, parse_with_recipe, report, train_cifar
from cs324.cli import ArgumentParser
from cs324.cnn.cnn_model import CNN
from cs324.runtime import add_runtime_args, cli

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
        max_steps=8800,  # 25 epochs of the 45,000 training images (--epochs changes it)
        eval_freq=880,
        label_smoothing=0.1,  # softer targets against over-confidence late in training
        augment="flipcrop",  # random mirror and 4 px crop: it pays at full length, not in short runs (ablation)
        tta=True,  # score the image and its mirror: free at evaluation
        amp=True,  # bf16 autocast where the device runs it natively (ignored elsewhere)
    ),
}


def build_parser(recipe: str = "spec") -> argparse.ArgumentParser:
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--recipe",
        choices=list(RECIPES),
        default="spec",
        help="defaults to start from; explicit flags override them (default: spec)",
    )
    parser.add_argument(
        "--channels_last",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="channels-last memory layout, the convolutions' fast path on CPU (default: on)",
    )
    add_cifar_args(parser)
    add_runtime_args(parser, out=f"runs/cnn_{recipe}")
    parser.set_defaults(**RECIPES[recipe])
    return parser


def parse(argv: list[str] | None = None) -> argparse.Namespace:
    return parse_with_recipe(build_parser, RECIPES, "spec", argv)


@cli
def main(argv: list[str] | None = None) -> None:
    config = parse(argv)
    result = train_cifar(config, lambda: CNN(3, 10), channels_last=config.channels_last)
    report(result)


if __name__ == "__main__":
    main()
