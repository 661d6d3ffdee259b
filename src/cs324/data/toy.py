"""Two-dimensional scikit-learn data sets for Part I.

Every data set has 1,000 points, split 80/20 with a fixed seed (stratified), and
standardised with the training split's mean and standard deviation.

    data = make_toy("moons")          # noise 0.2; data.x_train (800, 2), data.y_train (800,)
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# name -> default noise (for blobs: the clusters' standard deviation; gaussian_quantiles
# has none). The value used is stated with every result.
TOY_DATASETS = {"moons": 0.2, "circles": 0.1, "blobs": 2.0, "gaussian_quantiles": 0.0}


def _generate(name: str, n: int, noise: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from sklearn import datasets as skd  # imported here: it costs seconds at start-up

    if name == "moons":
        return skd.make_moons(n, noise=noise, random_state=seed)
    if name == "circles":
        return skd.make_circles(n, noise=noise, factor=0.5, random_state=seed)
    if name == "blobs":
        return skd.make_blobs(n, centers=4, n_features=2, cluster_std=noise, random_state=seed)
    return skd.make_gaussian_quantiles(n_samples=n, n_features=2, n_classes=3, random_state=seed)


@dataclass
class ToyData:
    name: str
    noise: float
    x_train: np.ndarray  # (800, 2) float64
    y_train: np.ndarray  # (800,) int64 class indices
    x_test: np.ndarray  # (200, 2)
    y_test: np.ndarray  # (200,)
    n_classes: int

    @property
    def n_train(self) -> int:
        return len(self.x_train)


def make_toy(
    name: str = "moons",
    *,
    n_samples: int = 1000,
    noise: float | None = None,
    test_size: float = 0.2,
    seed: int = 42,
) -> ToyData:
    """Generate, split (stratified, seeded) and standardise one data set."""
    if name not in TOY_DATASETS:
        raise ValueError(f"unknown dataset {name!r}; choose from {', '.join(TOY_DATASETS)}")
    if n_samples < 10:
        raise ValueError(f"n_samples must be at least 10, got {n_samples}")
    if not 0.0 < test_size < 1.0:
        raise ValueError(f"test_size must lie in (0, 1), got {test_size}")
    from sklearn.model_selection import train_test_split

    noise = TOY_DATASETS[name] if noise is None else noise
    x, y = _generate(name, n_samples, noise, seed)
    x_tr, x_te, y_tr, y_te = train_test_split(x, y, test_size=test_size, random_state=seed, stratify=y)
    mean, std = x_tr.mean(axis=0), x_tr.std(axis=0)
    return ToyData(
        name=name,
        noise=noise,
        x_train=(x_tr - mean) / std,
        y_train=y_tr.astype(np.int64),
        x_test=(x_te - mean) / std,
        y_test=y_te.astype(np.int64),
        n_classes=int(y.max()) + 1,
    )


def one_hot(labels: np.ndarray, n_classes: int, dtype: type = np.float64) -> np.ndarray:
    """(N,) int -> (N, n_classes)."""
    out = np.zeros((len(labels), n_classes), dtype=dtype)
    out[np.arange(len(labels)), labels] = 1
    return out
