"""The CIFAR-10 training run shared by the MLP (Part I Task 3) and the CNN (Part II).

A trainer declares its recipes, then calls ``train_cifar(config, build_model)``: data ->
model -> optimizer -> ``runtime.fit``. Every evaluation scores the validation split (model
selection, ``best.pt``) and the test split (reported, never selected on); the number of
images of each is recorded in ``config.json`` as ``n_val`` and ``n_test``. At the end the
test confusion matrix of the final model goes to the run folder.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Callable

import torch.nn as nn

from cs324.cli import ArgumentParser, fraction, int_in, nonnegative_float, nonnegative_int, positive_float, positive_int
from cs324.data.cifar10 import AUGMENTS, CifarDataError, CifarLoader, load_cifar10
from cs324.evaluation import evaluate_splits, score_scheme, view_logits, views_of
from cs324.loop import FitResult, fit
from cs324.optim import OPTIMIZERS, SCHEDULES, build_optimizer, build_scheduler
from cs324.runfolder import atomic_write_text
from cs324.runtime import Session, UsageError, budget, cleanup, prepare_model, start_session

DRY_RUN_IMAGES = 100  # validation and test images scored by a --dry_run
DRY_RUN_BATCH = 16  # at most this many images a step under --dry_run: the pipeline is checked, not the speed


def add_cifar_args(parser: argparse.ArgumentParser) -> None:
    g = parser.add_argument_group("CIFAR-10 data and training recipe")
    g.add_argument(
        "--data_dir",
        default=None,
        help="folder with cifar10.npz or cifar-10-batches-py/ (default: $CIFAR10_DIR, else ./data)",
    )
    g.add_argument("--download", action="store_true", help="fetch the official release via torchvision")
    g.add_argument("--val_size", type=nonnegative_int, default=5000, help="validation images carved from training")
    g.add_argument("--learning_rate", type=positive_float, default=1e-4, help="peak learning rate")
    g.add_argument("--max_steps", type=positive_int, default=5000, help="mini-batch steps")
    g.add_argument(
        "--epochs", type=positive_float, default=None, help="train this many epochs instead (overrides --max_steps)"
    )
    g.add_argument("--batch_size", type=positive_int, default=32)
    g.add_argument("--eval_freq", type=positive_int, default=500, help="evaluate val and test every N steps")
    g.add_argument("--optimizer", choices=OPTIMIZERS, default="adam")
    g.add_argument("--momentum", type=fraction, default=0.9, help="SGD and RMSprop momentum (default: 0.9)")
    g.add_argument("--nesterov", action="store_true", help="Nesterov momentum for SGD")
    g.add_argument("--weight_decay", type=nonnegative_float, default=0.0)
    g.add_argument(
        "--lr_schedule",
        choices=SCHEDULES,
        default="constant",
        help="learning rate over the steps; onecycle: linear warm-up then linear decay to 0 (default: constant)",
    )
    g.add_argument("--warmup", type=fraction, default=0.2, help="onecycle warm-up fraction (default: 0.2)")
    g.add_argument("--label_smoothing", type=fraction, default=0.0)
    g.add_argument("--augment", choices=AUGMENTS, default="none")
    g.add_argument(
        "--crop_pad",
        type=int_in(0, 31),
        default=4,
        help="random crop: pixels of zero padding on each side, i.e. shifts of up to N px (default: 4)",
    )
    g.add_argument(
        "--tta",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="average logits over the image and its mirror at eval",
    )


def parse_with_recipe(
    build_parser: Callable[[str], argparse.ArgumentParser], recipes: dict, default: str, argv: list[str] | None
) -> argparse.Namespace:
    """Parse ``--recipe`` first, then every flag with that recipe's values as defaults."""
    first = ArgumentParser(add_help=False)
    first.add_argument("--recipe", choices=list(recipes), default=default)
    known, _ = first.parse_known_args(argv)
    return build_parser(known.recipe).parse_args(argv)


def report(result: FitResult) -> None:
    """The one line a CIFAR trainer ends with (exit 130 when interrupted)."""
    if result.interrupted:
        raise SystemExit(130)
    last = result.records[-1]
    best = f"; best val_acc {result.best['val_acc']:.4f} at step {result.best['step']}" if result.best else ""
    print(f"final: step {last['step']} test_acc {last['test_acc']:.4f} ({last['n_test']:,} images){best}")


def train_cifar(
    config: argparse.Namespace, build_model: Callable[[], nn.Module], *, channels_last: bool = False
) -> FitResult:
    """Load the data, build the model, train it per ``config`` through the runtime, write the confusion matrix.

    The model is built only after the session has seeded every generator, so ``--seed`` fixes the
    initial weights too (a model built before would start from whatever the global RNG held)."""
    try:
        arrays = load_cifar10(config.data_dir, download=config.download)
        session = start_session(config)
        loader = CifarLoader(
            arrays,
            val_size=config.val_size,
            batch_size=min(config.batch_size, DRY_RUN_BATCH) if config.dry_run else config.batch_size,
            augment=config.augment,
            pad=config.crop_pad,
            eval_limit=DRY_RUN_IMAGES if config.dry_run else 0,
            seed=config.seed,
            device=session.device,
            channels_last=channels_last,
        )
    except CifarDataError as e:
        raise UsageError(str(e)) from None
    steps = math.ceil(config.epochs * loader.steps_per_epoch) if config.epochs else config.max_steps
    max_steps, eval_freq = budget(steps, config.eval_freq, config.dry_run)
    splits = ("val", "test") if config.val_size else ("test",)
    session.config.update(n_val=loader.size("val") if config.val_size else 0, n_test=loader.size("test"))
    model = prepare_model(session, build_model(), channels_last=channels_last)
    optimizer = build_optimizer(
        config.optimizer,
        model.parameters(),
        lr=config.learning_rate,
        momentum=config.momentum,
        nesterov=config.nesterov,
        weight_decay=config.weight_decay,
    )
    scheduler = build_scheduler(optimizer, config.lr_schedule, max_steps=max_steps, warmup=config.warmup)
    loss_fn = nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)

    def evaluate(m: nn.Module) -> dict:
        sizes = {f"n_{split}": loader.size(split) for split in splits}
        return evaluate_splits(m, loader, splits, config.tta) | sizes | {"data_seconds": loader.data_seconds}

    result = fit(
        session,
        model,
        optimizer,
        loader.train_batch,
        loss_fn,
        evaluate,
        max_steps=max_steps,
        eval_freq=eval_freq,
        scheduler=scheduler,
        steps_per_epoch=loader.steps_per_epoch,
    )
    if session.out is not None and session.is_main and not result.interrupted:
        write_confusion(session, result.scored_model or model, loader, config.tta)
    cleanup(session)
    return result


def write_confusion(session: Session, model: nn.Module, loader: CifarLoader, tta: bool) -> None:
    """``confusion_test.json``: the final model's test confusion matrix (rows = true class)."""
    scheme = "flip" if tta else "none"
    model.eval()
    with session.autocast():
        logits = view_logits(model, loader, "test", views_of(scheme))
    score = score_scheme(logits, scheme, loader.labels("test"))
    summary = {
        "classes": list(loader.classes),
        "matrix": score.confusion.tolist(),
        "test_acc": score.acc,
        "n_test": score.n,
        "model": "final",
    }
    atomic_write_text(session.out / "confusion_test.json", json.dumps(summary) + "\n")
