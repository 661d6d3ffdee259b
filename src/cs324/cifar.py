"""The CIFAR-10 training recipe shared by the MLP (Part I Task 3) and the CNN (Part II).

A trainer calls ``train_cifar(config, build_model)``; this module adds the
flags for data, optimizer, schedule and regularisation, and hands the loop to the
runtime. Every evaluation scores the validation split (for model selection, ``best.pt``)
and the test split (reported, never selected on). At the end it writes the test
confusion matrix of the final model to the run folder.
"""

from __future__ import annotations

import argparse
import json
import math
from collections.abc import Callable
from typing import NamedTuple

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from cs324.cli import ArgumentParser, fraction, int_in, nonnegative_float, nonnegative_int, positive_float, positive_int
from cs324.data.cifar10 import AUGMENTS, CifarDataError, CifarLoader, load_cifar10
from cs324.runtime import FitResult, UsageError, cleanup, fit, prepare_model, start_session


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
    g.add_argument("--batch_size", type=positive_int, default=32)
    g.add_argument("--eval_freq", type=positive_int, default=500, help="evaluate val and test every N steps")
    g.add_argument("--optimizer", choices=["adam", "adamw", "sgd", "rmsprop"], default="adam")
    g.add_argument("--momentum", type=fraction, default=0.9, help="SGD and RMSprop momentum (default: 0.9)")
    g.add_argument("--nesterov", action="store_true", help="Nesterov momentum for SGD")
    g.add_argument("--weight_decay", type=nonnegative_float, default=0.0)
    g.add_argument(
        "--schedule",
        choices=["constant", "onecycle", "cosine"],
        default="constant",
        help="learning rate over the steps; onecycle: linear warm-up then linear decay to 0",
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
        "--alternate_flip",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="mirror each training image in alternate epochs (one seeded coin per image) instead of at random",
    )
    g.add_argument(
        "--eval_limit",
        type=nonnegative_int,
        default=0,
        help="score only the first N validation and test images: for smoke tests (default: 0 = all)",
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
    print(f"final: step {last['step']} test_acc {last['test_acc']:.4f}{best}")


def build_optimizer(config: argparse.Namespace, model: nn.Module) -> torch.optim.Optimizer:
    """The optimizer named by ``config.optimizer``; SGD and Adam(W) use PyTorch's fused kernels, which on
    this CPU make the 3x2048 MLP's whole step 1.7x faster than the default per-tensor loop (the update
    of 15M parameters otherwise takes a third of the step)."""
    lr, wd = config.learning_rate, config.weight_decay
    params = list(model.parameters())
    if config.optimizer == "rmsprop":  # no fused kernel
        return torch.optim.RMSprop(params, lr=lr, momentum=config.momentum, weight_decay=wd)
    if config.optimizer == "sgd":
        make = lambda **fused: torch.optim.SGD(
            params, lr=lr, momentum=config.momentum, nesterov=config.nesterov, weight_decay=wd, **fused
        )
    else:
        cls = torch.optim.Adam if config.optimizer == "adam" else torch.optim.AdamW
        make = lambda **fused: cls(params, lr=lr, weight_decay=wd, **fused)
    try:
        return make(fused=True)
    except (RuntimeError, ValueError, TypeError):  # a device or dtype without the fused kernel
        return make()


def lr_factor(step: int, max_steps: int, schedule: str, warmup: float = 0.2) -> float:
    """Multiplier of the peak learning rate at ``step``: a pure function of the step."""
    if schedule == "constant":
        return 1.0
    progress = min(step, max_steps) / max_steps
    if schedule == "cosine":
        return 0.5 * (1 + math.cos(math.pi * progress))
    if progress < warmup:  # onecycle
        return progress / warmup
    return max(0.0, (1 - progress) / (1 - warmup))


def parse_phase(text: str) -> tuple[int, float]:
    """``SIZE:FRACTION`` for ``--progressive``: train at SIZE px until FRACTION of the steps."""
    try:
        size, fraction = text.split(":")
        phase = int(size), float(fraction)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected SIZE:FRACTION such as 16:0.3, got {text!r}") from None
    if not 1 <= phase[0] <= 32 or not 0 < phase[1] <= 1:
        raise argparse.ArgumentTypeError(f"SIZE must be in 1..32 and FRACTION in (0, 1], got {text!r}")
    return phase


def check_phases(phases: list[tuple[int, float]]) -> None:
    """Phases must end in increasing order of steps; raises ``UsageError`` otherwise."""
    ends = [fraction for _, fraction in phases]
    if ends != sorted(ends) or len(set(ends)) != len(ends):
        raise UsageError(f"--progressive phases must end at increasing fractions, got {ends}")


def train_size(step: int, max_steps: int, phases: list[tuple[int, float]], full: int = 32) -> int:
    """Image side at ``step`` under progressive resizing: the first phase not yet over, else ``full``."""
    for size, until in phases:
        if step < until * max_steps:
            return size
    return full


def resize_batch(x: torch.Tensor, size: int) -> torch.Tensor:
    """Downsample a (B, C, H, W) batch to ``size`` x ``size`` (bilinear with antialiasing = area-like)."""
    if x.shape[-1] == size and x.shape[-2] == size:
        return x
    return F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)


def init_whitening(conv: nn.Conv2d, images: torch.Tensor, eps: float = 5e-4) -> int:
    """Set the first filters of ``conv`` to the whitening basis of its input patches, and freeze them.

    The covariance of the k x k patches of ``images`` (N, C, H, W) has eigenvectors v_i and eigenvalues
    l_i; filter pairs +-v_i / sqrt(l_i + eps) (largest first, as many pairs as half the output channels
    allow) make the first layer decorrelate its input from step 0, as the airbench trainers do with
    2x2 patches. The remaining filters keep their initialisation. The whole weight is frozen.
    Returns the number of whitening filters set.
    """
    k = conv.kernel_size
    patches = F.unfold(images.float(), k).transpose(1, 2).reshape(-1, conv.in_channels * k[0] * k[1])
    patches = patches - patches.mean(0)
    cov = (patches.T @ patches / len(patches)).double()  # (d, d)
    eigenvalues, eigenvectors = torch.linalg.eigh(cov)  # ascending
    basis = (eigenvectors.T / torch.sqrt(eigenvalues.clamp(min=0) + eps)[:, None]).flip(0)  # largest first
    n = min(conv.out_channels // 2, len(basis))
    filters = torch.cat([basis[:n], -basis[:n]]).view(2 * n, conv.in_channels, *k)
    with torch.no_grad():
        conv.weight[: 2 * n] = filters.to(conv.weight)
    conv.weight.requires_grad_(False)
    return 2 * n


class SplitScore(NamedTuple):
    loss: float  # mean cross-entropy of the scored logits
    acc: float
    confusion: np.ndarray  # 10x10, rows = true class
    acc_plain: float  # accuracy of the un-flipped image alone: equals ``acc`` without TTA


def evaluate_split(
    model: nn.Module, loader: CifarLoader, split: str, tta: bool, channels_last: bool = False
) -> SplitScore:
    """Score a split. With ``tta`` the logits of the image and its mirror are averaged; the
    accuracy of the image alone comes from the same forward pass, so the TTA gain costs nothing."""
    total_loss, correct, correct_plain, n = 0.0, 0, 0, 0
    confusion = torch.zeros(10, 10, dtype=torch.long)
    for x, y in loader.eval_batches(split):
        if channels_last:
            x = x.contiguous(memory_format=torch.channels_last)
        plain = model(x).float()
        logits = (plain + model(x.flip(3)).float()) / 2 if tta else plain
        total_loss += F.cross_entropy(logits, y, reduction="sum").item()
        pred = logits.argmax(1)
        correct += (pred == y).sum().item()
        correct_plain += (plain.argmax(1) == y).sum().item()
        n += len(y)
        confusion += torch.bincount((y * 10 + pred).cpu(), minlength=100).view(10, 10)
    if n == 0:
        return SplitScore(float("nan"), float("nan"), confusion.numpy(), float("nan"))
    return SplitScore(total_loss / n, correct / n, confusion.numpy(), correct_plain / n)


def train_cifar(
    config: argparse.Namespace, build_model: Callable[[], nn.Module], *, channels_last: bool = False
) -> FitResult:
    """Load the data, build the model, train it per ``config`` through the runtime, write the confusion matrix.

    The model is built only after the session has seeded every generator, so ``--seed`` fixes the
    initial weights too (a model built before would start from whatever the global RNG held)."""
    phases = getattr(config, "progressive", None) or []
    check_phases(phases)
    try:
        arrays = load_cifar10(config.data_dir, download=config.download)
    except CifarDataError as e:
        raise UsageError(str(e)) from None
    session = start_session(config)
    try:
        loader = CifarLoader(
            arrays,
            val_size=config.val_size,
            batch_size=config.batch_size,
            augment=config.augment,
            pad=config.crop_pad,
            alternate_flip=config.alternate_flip,
            eval_limit=config.eval_limit,
            seed=config.seed,
            device=session.device,
        )
    except CifarDataError as e:
        raise UsageError(str(e)) from None
    model = build_model()
    if getattr(config, "whiten", False):
        first_conv = next((m for m in model.modules() if isinstance(m, nn.Conv2d)), None)
        if first_conv is None:
            raise UsageError("--whiten needs a model with a convolution")
        init_whitening(first_conv, loader.normalise(loader.x["train"][:2000]).cpu())
    model = prepare_model(session, model, channels_last=channels_last)
    optimizer = build_optimizer(config, model)
    scheduler = torch.optim.lr_scheduler.LambdaLR(
        optimizer, lambda step: lr_factor(step, config.max_steps, config.schedule, config.warmup)
    )
    loss_fn = nn.CrossEntropyLoss(label_smoothing=config.label_smoothing)

    def get_batch(step: int):
        x, y = loader.train_batch(step)
        if phases:
            x = resize_batch(x, train_size(step, config.max_steps, phases))
        return (x.contiguous(memory_format=torch.channels_last) if channels_last else x), y

    def evaluate(m: nn.Module) -> dict:
        metrics = {}
        for split in ("val", "test") if config.val_size else ("test",):
            score = evaluate_split(m, loader, split, config.tta, channels_last)
            metrics[f"{split}_loss"], metrics[f"{split}_acc"] = score.loss, score.acc
            if config.tta:  # the ablation of TTA, for free
                metrics[f"{split}_acc_no_tta"] = score.acc_plain
        metrics["data_seconds"] = loader.data_seconds
        return metrics

    result = fit(
        session,
        model,
        optimizer,
        get_batch,
        loss_fn,
        evaluate,
        max_steps=config.max_steps,
        eval_freq=config.eval_freq,
        scheduler=scheduler,
        steps_per_epoch=loader.steps_per_epoch,
    )
    if session.out is not None and session.is_main:
        model = result.scored_model or model
        model.eval()
        with torch.inference_mode(), session.autocast():
            _, acc, confusion, _ = evaluate_split(model, loader, "test", config.tta, channels_last)
        (session.out / "confusion_test.json").write_text(
            json.dumps(
                {
                    "classes": list(loader.classes),
                    "matrix": confusion.tolist(),
                    "test_acc": acc,
                    "n_test": int(confusion.sum()),
                    "model": "final",
                }
            )
            + "\n"
        )
    cleanup(session)
    return result
