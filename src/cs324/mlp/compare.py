"""Part I Task 2: NumPy MLP vs PyTorch MLP (vs scikit-learn) on the same data, same strategy.

    python -m cs324.mlp.compare                 # writes results/part1_compare/
    python -m cs324.mlp.compare --quick         # tiny budgets, seconds (also CS324_QUICK=1)

For every data set and every strategy (SGD, full batch, mini-batch) the NumPy and the
PyTorch MLP start from the *same* weights (copied from NumPy into PyTorch), see the
same mini-batches in the same order and run in float64, so any difference between
them is floating-point noise; the table reports the largest parameter difference.
scikit-learn's ``MLPClassifier`` (same architecture, plain SGD, same batch size and
epochs, its own initialisation) is the outside peer.
"""

from __future__ import annotations

import csv
import json
import math
import os
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from cs324.cli import ArgumentParser, cli
from cs324.data.toy import TOY_DATASETS, ToyData, make_toy
from cs324.metrics import accuracy
from cs324.mlp import pytorch_train_mlp, train_mlp_numpy
from cs324.mlp.mlp_numpy import MLP as NumpyMLP
from cs324.mlp.pytorch_mlp import MLP as TorchMLP


@dataclass(frozen=True)
class Strategy:
    name: str
    batch_size: int  # 1 SGD, 0 full batch, else mini-batch
    learning_rate: float
    epochs: int

    def steps(self, n_train: int) -> int:
        per_epoch = (
            n_train if self.batch_size == 1 else (1 if self.batch_size == 0 else math.ceil(n_train / self.batch_size))
        )
        return self.epochs * per_epoch


# Budgets chosen so that every strategy sees comparable progress; stated in the table.
STRATEGIES = [
    Strategy("sgd", batch_size=1, learning_rate=0.01, epochs=40),
    Strategy("batch", batch_size=0, learning_rate=0.5, epochs=2000),
    Strategy("minibatch", batch_size=32, learning_rate=0.1, epochs=200),
]
HIDDEN = [20]


def run_pair(data: ToyData, strategy: Strategy, *, seed: int = 0, epochs: int | None = None) -> dict:
    """Train NumPy, PyTorch (copied weights) and scikit-learn with one strategy."""
    epochs = epochs or strategy.epochs
    steps = Strategy(strategy.name, strategy.batch_size, strategy.learning_rate, epochs).steps(data.n_train)
    eval_freq = max(1, steps // 50)
    np_model = NumpyMLP(data.x_train.shape[1], HIDDEN, data.n_classes, seed=seed)
    torch_model = TorchMLP.from_numpy(np_model)

    t0 = time.perf_counter()
    np_hist = train_mlp_numpy.train(
        np_model,
        data,
        learning_rate=strategy.learning_rate,
        max_steps=steps,
        eval_freq=eval_freq,
        batch_size=strategy.batch_size,
        seed=seed,
    )
    t_numpy = time.perf_counter() - t0

    config = pytorch_train_mlp.build_parser().parse_args([])
    config.learning_rate, config.max_steps, config.eval_freq = strategy.learning_rate, steps, eval_freq
    config.batch_size, config.seed, config.out, config.quiet = strategy.batch_size, seed, None, True
    config.device = "cpu"
    t0 = time.perf_counter()
    torch_model, torch_result = pytorch_train_mlp.train(config, model=torch_model, data=data)
    t_torch = time.perf_counter() - t0

    sk_model, t_sk = fit_sklearn(data, strategy, epochs, seed)

    with torch.no_grad():
        torch_train = torch_model(torch.from_numpy(data.x_train)).numpy()
        torch_test = torch_model(torch.from_numpy(data.x_test)).numpy()
    torch_params = [p.detach().numpy() for p in torch_model.parameters()]
    numpy_params = [a for lin in np_model.linears for a in (lin.params["weight"].T, lin.params["bias"])]
    max_diff = max(float(np.abs(a - b).max()) for a, b in zip(numpy_params, torch_params))
    return {
        "dataset": data.name,
        "noise": data.noise,
        "strategy": strategy.name,
        "batch_size": strategy.batch_size if strategy.batch_size else data.n_train,
        "learning_rate": strategy.learning_rate,
        "epochs": epochs,
        "steps": steps,
        "numpy_train_acc": accuracy(np_model.forward(data.x_train), data.y_train),
        "numpy_test_acc": accuracy(np_model.forward(data.x_test), data.y_test),
        "torch_train_acc": accuracy(torch_train, data.y_train),
        "torch_test_acc": accuracy(torch_test, data.y_test),
        "sklearn_train_acc": float(sk_model.score(data.x_train, data.y_train)),
        "sklearn_test_acc": float(sk_model.score(data.x_test, data.y_test)),
        "max_param_diff": max_diff,
        "numpy_s": t_numpy,
        "torch_s": t_torch,
        "sklearn_s": t_sk,
        "_curves": {"numpy": np_hist.records, "torch": torch_result.records},
        "_models": (np_model, torch_model, sk_model),
    }


def fit_sklearn(data: ToyData, strategy: Strategy, epochs: int, seed: int):
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    model = MLPClassifier(
        hidden_layer_sizes=tuple(HIDDEN),
        activation="relu",
        solver="sgd",
        alpha=0.0,
        batch_size=strategy.batch_size if strategy.batch_size else data.n_train,
        learning_rate="constant",
        learning_rate_init=strategy.learning_rate,
        momentum=0.0,
        nesterovs_momentum=False,
        max_iter=epochs,
        shuffle=True,
        random_state=seed,
        tol=0.0,
        n_iter_no_change=epochs + 1,
    )
    t0 = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model.fit(data.x_train, data.y_train)
    return model, time.perf_counter() - t0


# --------------------------------------------------------------------------- figures


def plot_regions(data: ToyData, row: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    np_model, torch_model, sk_model = row["_models"]
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


def plot_curves(rows: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    datasets = sorted({r["dataset"] for r in rows}, key=list(TOY_DATASETS).index)
    strategies = [s.name for s in STRATEGIES]
    fig, axes = plt.subplots(2, len(datasets), figsize=(4.2 * len(datasets), 7), squeeze=False, constrained_layout=True)
    for j, ds in enumerate(datasets):
        for row in (r for r in rows if r["dataset"] == ds):
            k = strategies.index(row["strategy"])
            for impl, style in (("numpy", "-"), ("torch", ":")):
                recs = row["_curves"][impl]
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
        axes[1, j].set_xlabel("epoch")
        axes[1, j].set_xscale("symlog", linthresh=1)
    axes[0, 0].legend(fontsize=7)
    fig.suptitle("Test loss and accuracy: NumPy (solid) and PyTorch (dotted) overlap exactly")
    fig.savefig(path, dpi=110)
    plt.close(fig)


# --------------------------------------------------------------------------- table

COLUMNS = [
    "dataset",
    "noise",
    "strategy",
    "batch_size",
    "learning_rate",
    "epochs",
    "steps",
    "numpy_train_acc",
    "numpy_test_acc",
    "torch_train_acc",
    "torch_test_acc",
    "sklearn_train_acc",
    "sklearn_test_acc",
    "max_param_diff",
    "numpy_s",
    "torch_s",
    "sklearn_s",
]


def markdown_table(rows: list[dict]) -> str:
    head = [
        "data set (noise)",
        "strategy",
        "batch",
        "lr",
        "epochs",
        "NumPy train/test",
        "PyTorch train/test",
        "sklearn train/test",
        "max abs ΔW NumPy-PyTorch",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for r in rows:
        lines.append(
            f"| {r['dataset']} ({r['noise']}) | {r['strategy']} | {r['batch_size']} | {r['learning_rate']} | "
            f"{r['epochs']} | {r['numpy_train_acc']:.3f} / {r['numpy_test_acc']:.3f} | "
            f"{r['torch_train_acc']:.3f} / {r['torch_test_acc']:.3f} | "
            f"{r['sklearn_train_acc']:.3f} / {r['sklearn_test_acc']:.3f} | {r['max_param_diff']:.1e} |"
        )
    return "\n".join(lines) + "\n"


def run(out: Path, *, quick: bool = False, datasets: list[str] | None = None, seed: int = 0) -> list[dict]:
    out.mkdir(parents=True, exist_ok=True)
    datasets = datasets or list(TOY_DATASETS)
    rows = []
    for name in datasets:
        data = make_toy(name)
        for strategy in STRATEGIES:
            epochs = max(1, strategy.epochs // 20) if quick else None
            row = run_pair(data, strategy, seed=seed, epochs=epochs)
            rows.append(row)
            print(
                f"{name:>18} {strategy.name:>9}: numpy {row['numpy_test_acc']:.3f} "
                f"torch {row['torch_test_acc']:.3f} sklearn {row['sklearn_test_acc']:.3f} "
                f"max|dW| {row['max_param_diff']:.1e}",
                flush=True,
            )
        plot_regions(
            data,
            next(r for r in rows if r["dataset"] == name and r["strategy"] == "minibatch"),
            out / f"regions_{name}.png",
        )
    plot_curves(rows, out / "curves.png")
    with open(out / "table.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows({k: r[k] for k in COLUMNS} for r in rows)
    (out / "table.md").write_text(markdown_table(rows))
    (out / "curves.json").write_text(
        json.dumps([{"dataset": r["dataset"], "strategy": r["strategy"], **r["_curves"]} for r in rows])
    )
    return rows


@cli
def main(argv: list[str] | None = None) -> None:
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="results/part1_compare", help="folder (default: results/part1_compare)")
    parser.add_argument("--quick", action="store_true", help="1/20 of the epochs (also CS324_QUICK=1)")
    parser.add_argument("--datasets", nargs="+", choices=list(TOY_DATASETS), help="default: all")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # tiny matrices: threads only add overhead
    quick = args.quick or os.environ.get("CS324_QUICK") == "1"
    run(Path(args.out), quick=quick, datasets=args.datasets, seed=args.seed)
    (Path(args.out) / "COMMAND.txt").write_text("python -m cs324.mlp.compare" + (" --quick" if quick else "") + "\n")
    print(f"wrote {args.out}/table.md")


if __name__ == "__main__":
    main()
