"""Part II: train the reduced VGG on CIFAR-10 through the shared runtime.

    python -m cs324.cnn.cnn_train                      # the spec run: Adam 1e-4, 5,000 steps of 32
    python -m cs324.cnn.cnn_train --learning_rate 1e-3 # Adam at PyTorch's default learning rate
    python -m cs324.cnn.cnn_train --recipe best        # the best recipe found (same architecture)
    python -m cs324.cnn.cnn_train --recipe best_cpu    # the same, sized for 90 minutes of a 2-core CPU
    python -m cs324.cnn.cnn_train --recipe best_cpu_light_aug  # the best one found for 90 CPU minutes

Every ``--eval_freq`` steps the whole validation and test splits are scored; the
validation split (5,000 training images, stratified) selects ``best.pt``.
"""

from __future__ import annotations

import argparse

from cs324.cifar import add_cifar_args, parse_phase, parse_with_recipe, report, train_cifar
from cs324.cli import ArgumentParser
from cs324.cnn.cnn_model import CNN
from cs324.runtime import add_runtime_args, cli

# The skeleton's defaults are the cifar defaults (lr 1e-4, 5,000 steps, batch 32, eval 500, Adam).
RECIPES = {
    "spec": {},
    "best": dict(
        optimizer="sgd",
        nesterov=True,
        learning_rate=0.08,
        momentum=0.9,
        weight_decay=5e-4,
        batch_size=128,
        max_steps=8800,
        eval_freq=880,
        schedule="onecycle",
        warmup=0.15,
        label_smoothing=0.1,
        augment="flipcrop",
        tta=True,
        amp=True,
    ),
}
# On a 2-core CPU with native bf16 (--amp takes effect) the best recipe itself fits 90 minutes: 10,000 steps
# took 63 minutes and met the 92% floor (results/part2_cnn/best_cpu_bf16). The recipes below were fitted to a
# 2-core CPU without it (fp32, ~3.7x slower an epoch).
# The best recipe fitted to 90 minutes of that CPU: a whitened, frozen first layer (the airbench
# trainers' trick, here with the layer's own 3x3 patches) and progressive resizing (16 px for the first
# 35% of the steps, 24 px to 65%, then 32 px; a 16 px step costs ~0.3 of a 32 px one). In a 300-step
# probe (validation split) whitening took the best recipe from 0.41 to 0.54 and resizing on top to 0.68,
# but over the whole budget it did not pay: 85 minutes gave validation 0.884 against the plain recipe's
# 0.895 in 98 minutes (results/part2_cnn/best_cpu vs best_cpu_90min): what wins the first epoch is not
# what wins the last. Whitening alone (best + --whiten, 3,400 steps, 78 minutes; results/part2_cnn/best_whiten)
# landed in between (validation 0.889): neither ingredient beats plain 32 px epochs at this budget.
RECIPES["best_cpu"] = dict(
    RECIPES["best"], whiten=True, progressive=[(16, 0.35), (24, 0.65)], max_steps=4800, eval_freq=1200
)
# What did pay on this CPU: augmenting less. At ~10 epochs the recipe under-fits (training accuracy ends within
# 2.5 points of validation), and the airbench trainers, built for ~10 epochs, shift by up to 2 px (not 4) and
# mirror each image in alternate epochs. 3,600 steps of 128 gave validation 0.897 in 85 minutes, the best of the
# CPU runs, against the plain recipe's 0.895 in 98 (results/part2_cnn/best_pad2_altflip; still below the 92% floor).
RECIPES["best_cpu_light_aug"] = dict(RECIPES["best"], crop_pad=2, alternate_flip=True, max_steps=3600, eval_freq=1800)
# The run on the CPU with native bf16 (above): the best recipe, 10,000 steps.
RECIPES["best_cpu_bf16"] = dict(RECIPES["best"], max_steps=10000, eval_freq=1000)


def build_parser(recipe: str = "spec") -> argparse.ArgumentParser:
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--recipe",
        choices=list(RECIPES),
        default="spec",
        help="defaults to start from; explicit flags override them (default: spec)",
    )
    parser.add_argument("--no_channels_last", action="store_true", help="keep NCHW memory layout")
    parser.add_argument(
        "--progressive",
        type=parse_phase,
        nargs="*",
        default=[],
        metavar="SIZE:FRACTION",
        help="progressive resizing: train on images downsampled to SIZE px until FRACTION of the steps, "
        "then at full size (e.g. 16:0.3 24:0.6); evaluation is always at full size",
    )
    parser.add_argument(
        "--whiten",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="initialise the first convolution with the training patches' whitening filters, frozen",
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
    result = train_cifar(config, lambda: CNN(3, 10), channels_last=not config.no_channels_last)
    report(result)


if __name__ == "__main__":
    main()
