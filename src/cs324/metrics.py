"""Accuracy, shared by every part (NumPy arrays and torch tensors alike)."""

from __future__ import annotations

import numpy as np
import torch


def accuracy(predictions, targets) -> float:
    """Fraction of rows whose arg-max score is the target class.

    predictions: (N, n_classes) scores (logits or probabilities).
    targets: (N, n_classes) one-hot, or (N,) class indices.
    """
    if predictions.ndim != 2:
        raise ValueError(f"predictions must be (N, n_classes), got shape {tuple(predictions.shape)}")
    if targets.ndim == 2:
        if targets.shape != predictions.shape:
            raise ValueError(
                f"one-hot targets {tuple(targets.shape)} do not match predictions {tuple(predictions.shape)}"
            )
        targets = targets.argmax(1)
    elif targets.ndim != 1 or len(targets) != len(predictions):
        raise ValueError(
            f"targets must be (N,) or (N, n_classes) with N={len(predictions)}, got shape {tuple(targets.shape)}"
        )
    if len(predictions) == 0:
        raise ValueError("accuracy of an empty batch is undefined")
    if isinstance(predictions, torch.Tensor):
        return (predictions.argmax(1) == targets).float().mean().item()
    return float(np.mean(np.asarray(predictions).argmax(1) == np.asarray(targets)))
