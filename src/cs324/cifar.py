"""The CIFAR-10 training run shared by the MLP (Part I Task 3) and the CNN (Part II).

A trainer declares its config (a ``CifarConfig`` with its own fields) and its recipes, then
calls ``train_cifar(config, build_model)``: data -> model -> optimizer -> ``runtime.fit``.
Every evaluation scores the validation split (model selection, ``best.pt``) and the test
split (reported, never selected on); the number of images of each is recorded in
``config.json`` as ``n_val`` and ``n_test``. At the end the test confusion matrix of the
final model goes to the run folder.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import torch.nn as nn

from cs324.cli import ArgumentParser, fraction, int_in, nonnegative_float, nonnegative_int, positive_float, positive_int
from cs324.config import as_dict, option, parser_for, typed
from cs324.data.cifar10 import AUGMENTS, CifarDataError, CifarLoader, load_cifar10
from cs324.evaluation import evaluate_splits, score_scheme, view_logits, views_of
from cs324.loop import FitResult, fit
from cs324.optim import OPTIMIZERS, SCHEDULES, build_optimizer, build_scheduler
from cs324.runfolder import atomic_write_text
from cs324.runtime import RuntimeConfig, Session, UsageError, budget, cleanup, prepare_model, start_session

DRY_RUN_IMAGES = 100  # validation and test images scored by a --dry_run
DRY_RUN_BATCH = 16  # at most this many images a step under --dry_run: the pipeline is checked, not the speed


@dataclass(frozen=True)
class CifarConfig(RuntimeConfig):
    """CIFAR-10 data and training recipe (the defaults are the course skeleton's)"""

    data_dir: str | None = option(
        None, "folder with cifar10.npz or cifar-10-batches-py/ (default: $CIFAR10_DIR, else ./data)"
    )
    download: bool = option(False, "fetch the official release via torchvision", action="store_true")
    val_size: int = option(5000, "validation images carved from training", type=nonnegative_int)
    learning_rate: float = option(1e-4, "peak learning rate", type=positive_float)
    max_steps: int = option(5000, "mini-batch steps", type=positive_int)
    epochs: float | None = option(None, "train this many epochs instead (overrides --max_steps)", type=positive_float)
    batch_size: int = option(32, None, type=positive_int)
    eval_freq: int = option(500, "evaluate val and test every N steps", type=positive_int)
    optimizer: str = option("adam", None, choices=OPTIMIZERS)
    momentum: float = option(0.9, "SGD and RMSprop momentum (default: 0.9)", type=fraction)
    nesterov: bool = option(False, "Nesterov momentum for SGD", action="store_true")
    weight_decay: float = option(0.0, None, type=nonnegative_float)
    lr_schedule: str = option(
        "constant",
        "learning rate over the steps; onecycle: linear warm-up then linear decay to 0 (default: constant)",
        choices=SCHEDULES,
    )
    warmup: float = option(0.2, "onecycle warm-up fraction (default: 0.2)", type=fraction)
    label_smoothing: float = option(0.0, None, type=fraction)
    augment: str = option("none", None, choices=AUGMENTS)
    mixup: float = option(
        0.0,
        "mixup: train on each batch blended with a shuffled copy of itself, weight ~ Beta(a, a), labels alike "
        "(default: 0, off)",
        type=nonnegative_float,
    )
    crop_pad: int = option(
        4,
        "random crop: pixels of zero padding on each side, i.e. shifts of up to N px (default: 4)",
        type=int_in(0, 31),
    )
    tta: bool = option(
        False, "average logits over the image and its mirror at eval", action=argparse.BooleanOptionalAction
    )
    tta_shift: int = option(
        0,
        "with --tta, also average the image and its mirror shifted N px along the diagonal both ways "
        "(cs324.evaluation.SCHEMES flip_shift1/2; default: 0, the mirror alone)",
        type=int_in(0, 2),
    )

    @property
    def tta_scheme(self) -> str:
        """The evaluation's scheme of views (a key of ``cs324.evaluation.SCHEMES``)."""
        if not self.tta:
            return "none"
        return f"flip_shift{self.tta_shift}" if self.tta_shift else "flip"


C = TypeVar("C", bound=CifarConfig)


def recipe_config(cls: type[C], recipes: dict[str, dict], name: str, **overrides) -> C:
    """Recipe ``name`` as a typed config: the class's defaults, then the recipe's values, then ``overrides``.

    Its run folder is ``runs/<trainer>_<recipe>``; the trainer names its prefix in ``cls.RUNS``."""
    if name not in recipes:
        raise UsageError(f"no recipe {name!r}; the recipes are {', '.join(recipes)}")
    return typed(cls, None, **({"recipe": name, "out": f"{cls.RUNS}_{name}"} | recipes[name] | overrides))


def recipe_parser(cls: type[CifarConfig], recipes: dict[str, dict], name: str, description: str):
    """The trainer's flags, with recipe ``name``'s values as their defaults."""
    parser = parser_for(cls, description)
    parser.set_defaults(**as_dict(recipe_config(cls, recipes, name)))
    return parser


def parse_with_recipe(cls: type[C], recipes: dict[str, dict], argv: list[str] | None, description: str) -> C:
    """Parse ``--recipe`` first, then every flag with that recipe's values as defaults."""
    first = ArgumentParser(add_help=False)
    first.add_argument("--recipe", choices=list(recipes), default=cls.recipe)
    known, _ = first.parse_known_args(argv)
    return typed(cls, recipe_parser(cls, recipes, known.recipe, description).parse_args(argv))


def report(result: FitResult) -> None:
    """The one line a CIFAR trainer ends with (exit 130 when interrupted)."""
    if result.interrupted:
        raise SystemExit(130)
    last = result.records[-1]
    best = f"; best val_acc {result.best['val_acc']:.4f} at step {result.best['step']}" if result.best else ""
    print(f"final: step {last['step']} test_acc {last['test_acc']:.4f} ({last['n_test']:,} images){best}")


def train_cifar(config: CifarConfig, build_model: Callable[[], nn.Module], *, channels_last: bool = False) -> FitResult:
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
            mixup=config.mixup,
            eval_limit=DRY_RUN_IMAGES if config.dry_run else 0,
            seed=config.seed,
            device=session.device,
            channels_last=channels_last,
        )
    except CifarDataError as e:
        raise UsageError(str(e)) from None
    if config.tta_shift and not config.tta:
        raise UsageError(f"--tta_shift {config.tta_shift} shifts the test-time views: it needs --tta")
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
        return evaluate_splits(m, loader, splits, config.tta_scheme) | sizes | {"data_seconds": loader.data_seconds}

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
        write_confusion(session, result.scored_model or model, loader, config.tta_scheme)
    cleanup(session)
    return result


def write_confusion(session: Session, model: nn.Module, loader: CifarLoader, scheme: str) -> None:
    """``confusion_test.json``: the final model's test confusion matrix (rows = true class), under ``scheme``."""
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
