"""Scoring a CIFAR-10 split, with or without test-time views: used by training and by ``cs324.cnn.tta``.

A *view* is a whole-pixel translation of the image, possibly mirrored; a *scheme* is a weighted mean
of the logits of several views. Translations shift the uint8 image with zero fill, as the training
crops pad with zeros; as in the airbench trainers, the untranslated pair keeps half the weight and
the translated views share the other half.

    logits = view_logits(model, loader, "val", views_of("flip"))
    score = score_scheme(logits, "flip", loader.labels("val"))   # Score(acc, loss, confusion, n)
"""

from __future__ import annotations

from typing import NamedTuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from cs324.data.cifar10 import CifarLoader

View = tuple[int, int, bool]  # (rows down, columns right, mirrored)


def _shifted(shift: int) -> dict[View, float]:
    views = {(0, 0, False): 0.25, (0, 0, True): 0.25}
    for d in (shift, -shift):
        for mirrored in (False, True):
            views[(d, d, mirrored)] = 0.125
    return views


SCHEMES: dict[str, dict[View, float]] = {
    "none": {(0, 0, False): 1.0},
    "flip": {(0, 0, False): 0.5, (0, 0, True): 0.5},
    "flip_shift1": _shifted(1),
    "flip_shift2": _shifted(2),
}


class Score(NamedTuple):
    acc: float
    loss: float  # mean cross-entropy of the scheme's logits
    confusion: torch.Tensor  # (classes, classes), rows = true class
    n: int  # images scored


def views_of(*schemes: str) -> list[View]:
    """Every view the given schemes need, each once, in a fixed order."""
    return sorted({v for name in schemes for v in SCHEMES[name]})


def translate(x: torch.Tensor, dy: int, dx: int) -> torch.Tensor:
    """Shift a (B, C, H, W) batch so that pixel (i, j) moves to (i + dy, j + dx); zeros fill the gap."""
    if dy == 0 and dx == 0:
        return x
    p = max(abs(dy), abs(dx))
    h, w = x.shape[-2:]
    padded = F.pad(x, (p, p, p, p))
    return padded[..., p - dy : p - dy + h, p - dx : p - dx + w]


@torch.inference_mode()
def view_logits(model: nn.Module, loader: CifarLoader, split: str, views: list[View]) -> dict[View, torch.Tensor]:
    """The model's float logits (N, classes) of every scored image of ``split`` under each view."""
    out: dict[View, list[torch.Tensor]] = {v: [] for v in views}
    for x in loader.eval_images(split):
        for dy, dx, mirrored in views:
            shifted = translate(x, dy, dx)
            out[(dy, dx, mirrored)].append(model(loader.normalise(shifted.flip(3) if mirrored else shifted)).float())
    return {v: torch.cat(chunks) for v, chunks in out.items()}


def score_scheme(logits: dict[View, torch.Tensor], scheme: str, targets: torch.Tensor) -> Score:
    """Accuracy, cross-entropy and confusion matrix of the scheme's weighted mean of logits."""
    mean = sum(w * logits[v] for v, w in SCHEMES[scheme].items())
    n, classes = mean.shape
    if n == 0:
        return Score(float("nan"), float("nan"), torch.zeros(classes, classes, dtype=torch.long), 0)
    pred = mean.argmax(1)
    confusion = torch.bincount((targets * classes + pred).cpu(), minlength=classes * classes).view(classes, classes)
    acc = (pred == targets).sum().item() / n
    return Score(acc, F.cross_entropy(mean, targets).item(), confusion, n)


def select(val_scores: dict[str, Score]) -> str:
    """The scheme with the best validation accuracy; among equals, the one with fewer views."""
    return max(val_scores, key=lambda name: (val_scores[name].acc, -len(SCHEMES[name])))


def evaluate_splits(model: nn.Module, loader: CifarLoader, splits: tuple[str, ...], scheme: str) -> dict[str, float]:
    """``{split}_loss`` and ``{split}_acc`` of each split under ``scheme``. From the same forward passes, for
    free, the accuracy of every smaller scheme whose views it holds: ``{split}_acc_no_tta`` (the image alone)
    and, under a shifted scheme, ``{split}_acc_flip`` (the image and its mirror): the ablation of each view."""
    if scheme not in SCHEMES:
        raise ValueError(f"no test-time scheme {scheme!r}; the schemes are {', '.join(SCHEMES)}")
    smaller = {"no_tta": "none", "flip": "flip"}
    smaller = {key: s for key, s in smaller.items() if s != scheme and set(SCHEMES[s]) <= set(SCHEMES[scheme])}
    metrics = {}
    for split in splits:
        logits = view_logits(model, loader, split, views_of(scheme, *smaller.values()))
        score = score_scheme(logits, scheme, loader.labels(split))
        metrics[f"{split}_loss"], metrics[f"{split}_acc"] = score.loss, score.acc
        for key, s in smaller.items():
            metrics[f"{split}_acc_{key}"] = score_scheme(logits, s, loader.labels(split)).acc
    return metrics
