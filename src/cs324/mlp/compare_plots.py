"""The figures of ``cs324.mlp.compare``: each implementation's decision regions, and test curves."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import torch

from cs324.data.toy import TOY_DATASETS, ToyData

if TYPE_CHECKING:
    from cs324.mlp.compare import Pair


def plot_regions(data: ToyData, pair: Pair, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    row, (np_model, torch_model, sk_model) = pair.row, pair.models
    pts = np.vstack([data.x_train, data.x_test])
    lo, hi = pts.min(0) - 0.5, pts.max(0) + 0.5
    gx, gy = np.meshgrid(np.linspace(lo[0], hi[0], 250), np.linspace(lo[1], hi[1], 250))
    grid = np.c_[gx.ravel(), gy.ravel()]
    with torch.no_grad():
        predictions = {
            "NumPy MLP": np_model.forward(grid).argmax(1),
            "PyTorch MLP": torch_model(torch.from_numpy(grid)).argmax(1).numpy(),
            "scikit-learn MLPClassifier": sk_model.predict(grid),
        }
    accs = {
        "NumPy MLP": row["numpy_test_acc"],
        "PyTorch MLP": row["torch_test_acc"],
        "scikit-learn MLPClassifier": row["sklearn_test_acc"],
    }
    fig, axes = plt.subplots(1, 3, figsize=(15, 4.6), constrained_layout=True)
    cmap = plt.get_cmap("tab10")
    for ax, (name, pred) in zip(axes, predictions.items()):
        ax.contourf(
            gx,
            gy,
            pred.reshape(gx.shape),
            levels=np.arange(data.n_classes + 1) - 0.5,
            colors=[cmap(k) for k in range(data.n_classes)],
            alpha=0.25,
        )
        for split, x, y, marker in (
            ("train", data.x_train, data.y_train, "o"),
            ("test", data.x_test, data.y_test, "^"),
        ):
            ax.scatter(
                x[:, 0],
                x[:, 1],
                c=[cmap(k) for k in y],
                marker=marker,
                s=14 if split == "train" else 30,
                edgecolors="k" if split == "test" else "none",
                linewidths=0.5,
                label=split,
            )
        ax.set_title(f"{name}\ntest accuracy {accs[name]:.3f}")
        ax.legend(loc="lower right", fontsize=8)
    fig.suptitle(
        f"{data.name} (noise {data.noise}), {row['strategy']} (batch {row['batch_size']}, "
        f"lr {row['learning_rate']}, {row['epochs']} epochs); colour = class, marker = split"
    )
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_curves(pairs: list[Pair], path: Path, strategies: list[str]) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    datasets = sorted({p.row["dataset"] for p in pairs}, key=list(TOY_DATASETS).index)
    fig, axes = plt.subplots(
        2, len(datasets), figsize=(4.2 * len(datasets), 7), squeeze=False, sharex="col", constrained_layout=True
    )
    for j, ds in enumerate(datasets):
        for row, curves in ((p.row, p.curves) for p in pairs if p.row["dataset"] == ds):
            k = strategies.index(row["strategy"])
            for impl, style in (("numpy", "-"), ("torch", ":")):
                recs = curves[impl]
                epochs = [r["step"] / row["steps"] * row["epochs"] for r in recs]
                color = f"C{k}"
                axes[0, j].plot(
                    epochs, [r["test_loss"] for r in recs], style, color=color, label=f"{row['strategy']} {impl}"
                )
                axes[1, j].plot(epochs, [r["test_acc"] for r in recs], style, color=color)
        axes[0, j].set_title(ds)
        axes[0, j].set_yscale("log")
        axes[0, j].set_ylabel("test loss")
        axes[1, j].set_ylabel("test accuracy")
        axes[1, j].set_xlabel("epoch (log axis above 1)")
        axes[1, j].set_xscale("symlog", linthresh=1)  # shared with the loss row: one axis for both
        axes[1, j].set_xlim(left=0)
    axes[0, 0].legend(fontsize=7)
    fig.suptitle("Test loss and accuracy: NumPy (solid) and PyTorch (dotted) overlap exactly")
    fig.savefig(path, dpi=110)
    plt.close(fig)


# --------------------------------------------------------------------------- table
