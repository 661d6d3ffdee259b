"""CIFAR-10 for Parts I and II: loading, a stratified validation split, and batches
augmented on whole tensors (no per-image Python work), seeded by the step.

    arrays = load_cifar10()                        # $CIFAR10_DIR, else ./data
    loader = CifarLoader(arrays, val_size=5000, batch_size=128, augment="flipcrop", device="cpu")
    x, y = loader.train_batch(step)                # (128, 3, 32, 32) float32 normalised, (128,)
    for x in loader.eval_images("val"): ...        # uint8 batches; loader.labels("val"), loader.normalise(x)

Two on-disk formats are read from ``data_dir``: the offline archive ``cifar10.npz``
(arrays x_train, y_train, x_test, y_test, classes; HWC uint8) and the official
Python release through ``torchvision.datasets.CIFAR10`` (``download=True`` fetches it).
"""

from __future__ import annotations

import os
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

CLASSES = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")


class CifarDataError(ValueError):
    """The data is missing or malformed; the message says what and where."""


@dataclass
class CifarArrays:
    x_train: np.ndarray  # (N, 32, 32, 3) uint8
    y_train: np.ndarray  # (N,) int64
    x_test: np.ndarray  # (M, 32, 32, 3) uint8
    y_test: np.ndarray  # (M,) int64
    classes: tuple[str, ...]
    source: str  # where the arrays came from, for the record


def resolve_data_dir(data_dir: str | os.PathLike | None) -> Path:
    if data_dir:
        return Path(data_dir)
    return Path(os.environ.get("CIFAR10_DIR") or "./data")


def load_cifar10(data_dir: str | os.PathLike | None = None, download: bool = False) -> CifarArrays:
    """Read CIFAR-10 from ``data_dir`` (default ``$CIFAR10_DIR``, else ``./data``)."""
    root = resolve_data_dir(data_dir)
    npz = root / "cifar10.npz"
    if npz.is_file():
        return _load_npz(npz)
    if (root / "cifar-10-batches-py").is_dir() or download:
        return _load_torchvision(root, download)
    raise CifarDataError(
        f"no CIFAR-10 found in {root.resolve()}: expected {npz.name} (the offline archive) or "
        f"cifar-10-batches-py/ (the official release; pass --download to fetch it); "
        "set --data_dir or CIFAR10_DIR"
    )


def _load_npz(path: Path) -> CifarArrays:
    try:
        with np.load(path, allow_pickle=False) as f:
            missing = {"x_train", "y_train", "x_test", "y_test"} - set(f.files)
            if missing:
                raise CifarDataError(f"{path} lacks the arrays {sorted(missing)}")
            arrays = {k: f[k] for k in ("x_train", "y_train", "x_test", "y_test")}
            classes = tuple(str(c) for c in f["classes"]) if "classes" in f.files else CLASSES
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as e:
        if isinstance(e, CifarDataError):
            raise
        raise CifarDataError(f"{path} is truncated or corrupt ({type(e).__name__}: {e})") from None
    return _checked(arrays["x_train"], arrays["y_train"], arrays["x_test"], arrays["y_test"], classes, str(path))


def _load_torchvision(root: Path, download: bool) -> CifarArrays:
    from torchvision.datasets import CIFAR10

    try:
        train = CIFAR10(str(root), train=True, download=download)
        test = CIFAR10(str(root), train=False, download=download)
    except RuntimeError as e:  # torchvision: "Dataset not found or corrupted"
        raise CifarDataError(f"{root / 'cifar-10-batches-py'}: {e}") from None
    except OSError as e:  # no network
        raise CifarDataError(f"could not download CIFAR-10 into {root}: {e}") from None
    return _checked(
        train.data,
        np.asarray(train.targets),
        test.data,
        np.asarray(test.targets),
        tuple(train.classes),
        f"torchvision:{root}",
    )


def _checked(x_train, y_train, x_test, y_test, classes, source: str) -> CifarArrays:
    for name, x, y in (("train", x_train, y_train), ("test", x_test, y_test)):
        if len(x) == 0:
            raise CifarDataError(f"{source}: x_{name} holds no images")
        if x.ndim != 4 or x.shape[1:] != (32, 32, 3):
            raise CifarDataError(f"{source}: x_{name} has shape {x.shape}, expected (N, 32, 32, 3)")
        if x.dtype != np.uint8:
            raise CifarDataError(f"{source}: x_{name} has dtype {x.dtype}, expected uint8")
        if y.shape != (len(x),):
            raise CifarDataError(f"{source}: y_{name} has shape {y.shape}, expected ({len(x)},)")
        if len(y) and (y.min() < 0 or y.max() > 9):
            raise CifarDataError(f"{source}: y_{name} holds labels outside 0..9 ({y.min()}..{y.max()})")
    if len(classes) != 10:
        raise CifarDataError(f"{source}: expected 10 class names, got {len(classes)}")
    return CifarArrays(x_train, y_train.astype(np.int64), x_test, y_test.astype(np.int64), tuple(classes), source)


def stratified_split(labels: np.ndarray, val_size: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Indices (train, val): ``val_size`` images with the class proportions of ``labels``."""
    if val_size == 0:
        return np.arange(len(labels)), np.arange(0)
    if not 0 < val_size < len(labels):
        raise CifarDataError(
            f"--val_size must lie in [0, {len(labels)}) for its {len(labels):,} training images, got {val_size}"
        )
    from sklearn.model_selection import train_test_split

    train, val = train_test_split(np.arange(len(labels)), test_size=val_size, random_state=seed, stratify=labels)
    return np.sort(train), np.sort(val)


AUGMENTS = ("none", "flip", "flipcrop")


class CifarLoader:
    """Holds the splits as uint8 tensors (on ``device``) and serves normalised float batches.

    Training batches are a pure function of the step (epoch permutation seeded by
    (seed, epoch); augmentation by a generator seeded by (seed, step)), so a resumed
    run sees exactly the batches an uninterrupted one would. With ``channels_last`` every
    batch comes out in that memory layout (the convolutions' fast path on CPU).
    ``data_seconds`` counts the time spent making batches, to state the data share of a step.
    """

    def __init__(
        self,
        arrays: CifarArrays,
        *,
        val_size: int = 5000,
        batch_size: int = 128,
        augment: str = "flipcrop",
        pad: int = 4,
        mixup: float = 0.0,
        seed: int = 0,
        device: str | torch.device = "cpu",
        channels_last: bool = False,
        eval_batch_size: int = 1000,
        eval_limit: int = 0,
    ) -> None:
        if augment not in AUGMENTS:
            raise ValueError(f"unknown augment {augment!r}; choose from {AUGMENTS}")
        if pad < 0:
            raise ValueError(f"crop padding must be >= 0, got {pad}")
        if mixup < 0:
            raise ValueError(f"mixup's Beta parameter must be >= 0, got {mixup}")
        try:
            train_idx, val_idx = stratified_split(arrays.y_train, val_size, seed)
        except CifarDataError as e:
            raise CifarDataError(f"{arrays.source}: {e}") from None
        to_t = lambda x: torch.from_numpy(np.ascontiguousarray(x)).permute(0, 3, 1, 2).contiguous().to(device)
        self.x = {
            "train": to_t(arrays.x_train[train_idx]),
            "val": to_t(arrays.x_train[val_idx]),
            "test": to_t(arrays.x_test),
        }  # (N, 3, 32, 32) uint8
        self.y = {
            "train": torch.from_numpy(arrays.y_train[train_idx]).to(device),
            "val": torch.from_numpy(arrays.y_train[val_idx]).to(device),
            "test": torch.from_numpy(arrays.y_test).to(device),
        }
        train_float = self.x["train"].float() / 255
        self.mean = train_float.mean(dim=(0, 2, 3)).view(1, 3, 1, 1)  # training-split statistics
        self.std = train_float.std(dim=(0, 2, 3)).view(1, 3, 1, 1)
        del train_float
        self.batch_size, self.augment, self.pad, self.mixup, self.seed = batch_size, augment, pad, mixup, seed
        self.memory_format = torch.channels_last if channels_last else torch.contiguous_format
        self.eval_batch_size, self.device = eval_batch_size, torch.device(device)
        self.eval_limit = eval_limit  # > 0: score only the first eval_limit images (dry runs)
        self.classes = arrays.classes
        self.data_seconds = 0.0

    def size(self, split: str) -> int:
        """Images scored on ``split`` ('val' or 'test'): what a figure on that split was measured on."""
        n = len(self.y[split])
        return min(n, self.eval_limit) if self.eval_limit else n

    @property
    def n_train(self) -> int:
        return len(self.y["train"])

    @property
    def steps_per_epoch(self) -> int:
        return -(-self.n_train // self.batch_size)

    def normalise(self, x_uint8: torch.Tensor) -> torch.Tensor:
        x = (x_uint8.float() / 255 - self.mean) / self.std
        return x.contiguous(memory_format=self.memory_format)

    def train_batch(self, step: int) -> tuple[torch.Tensor, torch.Tensor]:
        from cs324.data.batches import batch_indices

        t0 = time.perf_counter()
        idx = torch.from_numpy(batch_indices(step, self.n_train, self.batch_size, self.seed)).to(self.device)
        x, y = self.x["train"][idx], self.y["train"][idx]  # (B, 3, 32, 32) uint8
        gen = torch.Generator(device="cpu").manual_seed(self.seed * 1_000_003 + step)
        x = self.normalise(augment_batch(x, self.augment, gen, pad=self.pad))
        if self.mixup:
            x, y = mixup_batch(x, y, self.mixup, gen, len(self.classes))
            x = x.contiguous(memory_format=self.memory_format)
        self.data_seconds += time.perf_counter() - t0
        return x, y

    def eval_images(self, split: str):
        """The scored uint8 images of ``split`` ('val' or 'test') in batches; ``normalise`` makes them inputs."""
        x = self.x[split][: self.size(split)]
        for start in range(0, len(x), self.eval_batch_size):
            yield x[start : start + self.eval_batch_size]

    def labels(self, split: str) -> torch.Tensor:
        """The class labels of the scored images of ``split``, in the order of ``eval_images``."""
        return self.y[split][: self.size(split)]


def mixup_batch(
    x: torch.Tensor, y: torch.Tensor, alpha: float, gen: torch.Generator, classes: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """Mixup (Zhang et al. 2018): the batch blended with a shuffled copy of itself, lam x + (1 - lam) x[perm],
    one lam ~ Beta(alpha, alpha) a batch, and the labels likewise, as class probabilities (B, classes) that
    the cross-entropy takes as they are. The draws come from ``gen``, so a batch is a function of its step."""
    lam = float(np.random.default_rng(int(torch.randint(2**62, (1,), generator=gen))).beta(alpha, alpha))
    perm = torch.randperm(len(y), generator=gen).to(x.device)
    targets = torch.nn.functional.one_hot(y, classes).float()
    return x.lerp(x[perm], 1 - lam), targets.lerp(targets[perm], 1 - lam)


def augment_batch(x: torch.Tensor, augment: str, gen: torch.Generator, *, pad: int = 4) -> torch.Tensor:
    """Random horizontal flip, then random crop after zero padding: one tensor op each.

    x: (B, C, H, W) any dtype; the random draws come from ``gen`` (CPU) so that the same
    generator gives the same batch on any device.
    """
    if augment == "none":
        return x
    B, _, H, W = x.shape
    flip = torch.rand(B, generator=gen) < 0.5
    x = torch.where(flip.to(x.device).view(B, 1, 1, 1), x.flip(3), x)
    if augment == "flipcrop" and pad > 0:
        padded = torch.nn.functional.pad(x, (pad, pad, pad, pad))  # (B, C, H+2p, W+2p), zeros
        dy = torch.randint(0, 2 * pad + 1, (B,), generator=gen).to(x.device)
        dx = torch.randint(0, 2 * pad + 1, (B,), generator=gen).to(x.device)
        rows = (dy.view(B, 1) + torch.arange(H, device=x.device)).view(B, 1, H, 1)  # (B, 1, H, 1)
        cols = (dx.view(B, 1) + torch.arange(W, device=x.device)).view(B, 1, 1, W)  # (B, 1, 1, W)
        batch = torch.arange(B, device=x.device).view(B, 1, 1, 1)
        chan = torch.arange(x.shape[1], device=x.device).view(1, -1, 1, 1)
        x = padded[batch, chan, rows, cols]  # (B, C, H, W)
    return x
