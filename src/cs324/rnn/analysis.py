"""Part III analysis: figures of the sweep, and gradient norms through time.

python -m cs324.rnn.analysis --sweep results/part3_rnn     # figures + summary.md
"""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from cs324.cli import ArgumentParser, add_dry_run, cli, output_dir
from cs324.runfolder import atomic_write_text

CHANCE = 0.1  # ten equally likely digits


def grad_norms_through_time(model: nn.Module, inputs: torch.Tensor, targets: torch.Tensor) -> np.ndarray:
    """||dL/dh(t)|| averaged over the batch, for t = 1..T-1: how much the loss at the
    last step still feels each earlier hidden state (vanishing gradients made visible)."""
    logits, hidden = model(inputs, return_hidden=True)
    for h in hidden:
        h.retain_grad()
    nn.functional.cross_entropy(logits, targets).backward()
    return np.array([h.grad.norm(dim=1).mean().item() for h in hidden])


def load_sweep(folder: Path) -> list[dict]:
    rows = list(csv.DictReader(open(folder / "sweep.csv")))
    for r in rows:
        r["T"], r["seed"] = int(r["T"]), int(r["seed"])
        for k in ("best_val_acc", "final_val_acc", "seconds"):
            r[k] = float(r[k])
        r["best_step"], r["steps_run"] = int(r["best_step"]), int(r["steps_run"])
    return rows


def summarise(rows: list[dict]) -> dict:
    """variant -> T -> (mean, min, max, n) of the best validation accuracy over seeds."""
    acc = defaultdict(lambda: defaultdict(list))
    for r in rows:
        acc[r["variant"]][r["T"]].append(r["best_val_acc"])
    return {
        v: {T: (float(np.mean(a)), float(np.min(a)), float(np.max(a)), len(a)) for T, a in sorted(d.items())}
        for v, d in acc.items()
    }


def longest_solved(
    summary: dict, variant: str, threshold: float = 0.99, every_seed: bool = True, min_seeds: int = 3
) -> int | None:
    """The longest T at which every seed, of at least ``min_seeds`` (or, with ``every_seed=False``, at least one
    seed) reached ``threshold``. A point run with fewer seeds never counts as solved by every seed."""
    solved = [
        T
        for T, (_, lo, hi, n) in summary.get(variant, {}).items()
        if (lo >= threshold and n >= min_seeds if every_seed else hi >= threshold)
    ]
    return max(solved) if solved else None


def plot_accuracy_vs_length(summary: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2), constrained_layout=True)
    for variant, points in summary.items():
        T = list(points)
        mean = [points[t][0] for t in T]
        ax.plot(T, mean, "o-", label=variant)
        ax.fill_between(T, [points[t][1] for t in T], [points[t][2] for t in T], alpha=0.2)
    ax.axhline(CHANCE, color="grey", ls="--", label="chance (0.1)")
    ax.set_xlabel("palindrome length T")
    ax.set_ylabel("best validation accuracy")
    ax.set_ylim(0, 1.03)
    ax.set_title("Accuracy against length: mean over seeds, band = min..max")
    ax.legend()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_curves(folder: Path, path: Path, lengths: list[int], seed: int = 0) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    variants = sorted({p.name.split("_T")[0] for p in (folder / "curves").glob("*.json")})
    fig, axes = plt.subplots(1, len(variants), figsize=(5 * len(variants), 3.8), squeeze=False, constrained_layout=True)
    for ax, variant in zip(axes[0], variants):
        files = (folder / "curves").glob(f"{variant}_T*_seed{seed}.json")
        runs = {int(p.name.split("_T")[1].split("_")[0]) for p in files}
        for T in sorted(runs & set(lengths)) or sorted(runs):  # the lengths asked for, else all there are
            recs = json.loads((folder / "curves" / f"{variant}_T{T}_seed{seed}.json").read_text())
            ax.plot([r["step"] for r in recs], [r["val_acc"] for r in recs], label=f"T={T}")
        ax.axhline(CHANCE, color="grey", ls="--")
        ax.set_title(f"{variant} (seed {seed})")
        ax.set_xlabel("step")
        ax.set_ylabel("validation accuracy")
        ax.legend(fontsize=8)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def summary_markdown(summary: dict, rows: list[dict]) -> str:
    lengths = sorted({r["T"] for r in rows})
    head = (
        "| variant | "
        + " | ".join(f"T={T}" for T in lengths)
        + " | longest T, every seed (3 or more) >= 99% | longest T, best seed >= 99% |"
    )
    lines = [head, "|" + "---|" * (len(lengths) + 3)]
    for variant, points in summary.items():
        cells = [f"{points[T][0]:.3f} ({points[T][3]})" if T in points else "-" for T in lengths]
        every, best = longest_solved(summary, variant), longest_solved(summary, variant, every_seed=False)
        lines.append(f"| {variant} | " + " | ".join(cells) + f" | {every or 'none'} | {best or 'none'} |")
    return "\n".join(lines) + "\n"


@cli
def main(argv: list[str] | None = None) -> None:
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sweep", default="results/part3_rnn")
    add_dry_run(parser, "build the table and figures, write nothing")
    args = parser.parse_args(argv)
    folder = Path(args.sweep)
    rows = load_sweep(folder)
    summary = summarise(rows)
    with output_dir(folder, args.dry_run, "--sweep") as out:
        plot_accuracy_vs_length(summary, out / "accuracy_vs_length.png")
        plot_curves(folder, out / "curves.png", lengths=[10, 20, 30, 50])
        atomic_write_text(out / "summary.md", summary_markdown(summary, rows))
    print(summary_markdown(summary, rows))


if __name__ == "__main__":
    main()
