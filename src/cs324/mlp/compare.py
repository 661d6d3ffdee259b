"""Part I Task 2: NumPy MLP vs PyTorch MLP (vs scikit-learn) on the same data, same strategy.

    python -m cs324.mlp.compare                 # writes results/part1_compare/
    python -m cs324.mlp.compare --dry_run       # one epoch per strategy: seconds

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
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from cs324.cli import ArgumentParser, add_dry_run, cli
from cs324.data.toy import TOY_DATASETS, ToyData, make_toy
from cs324.metrics import accuracy
from cs324.mlp import pytorch_train_mlp, train_mlp_numpy
from cs324.mlp.compare_plots import plot_curves, plot_regions
from cs324.mlp.mlp_numpy import MLP as NumpyMLP
from cs324.mlp.pytorch_mlp import MLP as TorchMLP
from cs324.runfolder import atomic_write_text


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


@dataclass
class Pair:
    """One strategy on one data set: the table row, both implementations' evaluation records, the models."""

    row: dict
    curves: dict[str, list[dict]]  # "numpy" / "torch" -> one record per evaluation
    models: tuple  # (NumPy MLP, PyTorch MLP, scikit-learn MLPClassifier)


def run_pair(data: ToyData, strategy: Strategy, *, seed: int = 0, epochs: int | None = None) -> Pair:
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

    flags = {"learning_rate": strategy.learning_rate, "max_steps": steps, "eval_freq": eval_freq}
    flags |= {"batch_size": strategy.batch_size, "seed": seed, "out": "", "device": "cpu"}  # --out "": no files
    argv = [item for k, v in flags.items() for item in (f"--{k}", str(v))]
    config = pytorch_train_mlp.build_parser().parse_args([*argv, "--quiet"])
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
    row = {
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
    }
    return Pair(row, {"numpy": np_hist.records, "torch": torch_result.records}, (np_model, torch_model, sk_model))


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


def run(out: Path, *, dry_run: bool = False, datasets: list[str] | None = None, seed: int = 0) -> list[dict]:
    """Every strategy on every data set: writes the table, curves and decision regions; returns the rows."""
    out.mkdir(parents=True, exist_ok=True)
    pairs = []
    for name in datasets or list(TOY_DATASETS):
        data = make_toy(name)
        for strategy in STRATEGIES:
            pair = run_pair(data, strategy, seed=seed, epochs=1 if dry_run else None)
            pairs.append(pair)
            row = pair.row
            print(
                f"{name:>18} {strategy.name:>9}: numpy {row['numpy_test_acc']:.3f} "
                f"torch {row['torch_test_acc']:.3f} sklearn {row['sklearn_test_acc']:.3f} "
                f"max|dW| {row['max_param_diff']:.1e}",
                flush=True,
            )
        minibatch = next(p for p in pairs if p.row["dataset"] == name and p.row["strategy"] == "minibatch")
        plot_regions(data, minibatch, out / f"regions_{name}.png")
    plot_curves(pairs, out / "curves.png", [s.name for s in STRATEGIES])
    rows = [p.row for p in pairs]
    with open(out / "table.csv", "w", newline="") as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows({k: r[k] for k in COLUMNS} for r in rows)
    atomic_write_text(out / "table.md", markdown_table(rows))
    curves = [{"dataset": p.row["dataset"], "strategy": p.row["strategy"], **p.curves} for p in pairs]
    atomic_write_text(out / "curves.json", json.dumps(curves))
    return rows


@cli
def main(argv: list[str] | None = None) -> None:
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="results/part1_compare", help="folder (default: results/part1_compare)")
    add_dry_run(parser, "one epoch per strategy")
    parser.add_argument("--datasets", nargs="+", choices=list(TOY_DATASETS), help="default: all")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)  # tiny matrices: threads only add overhead
    run(Path(args.out), dry_run=args.dry_run, datasets=args.datasets, seed=args.seed)
    command = " ".join(["python -m cs324.mlp.compare", *(argv if argv is not None else sys.argv[1:])])
    atomic_write_text(Path(args.out) / "COMMAND.txt", command + "\n")
    print(f"wrote {args.out}/table.md")


if __name__ == "__main__":
    main()
