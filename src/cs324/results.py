"""Figures and tables from run folders (``config.json`` + ``metrics.jsonl`` + ``confusion_test.json``).

    python -m cs324.results results/part2_cnn_spec   # every run folder inside it

Writes, next to the runs: ``curves_<run>.png`` (train/validation/test loss and accuracy
against epochs), ``confusion_<run>.png``, ``compare_test_acc.png`` (all runs) and
``table.md`` (one row per run: best validation accuracy and the test accuracy at that
evaluation, final test accuracy, steps, epochs, wall time, device; a folder of ``seedN`` runs
ends with their mean +- sample standard deviation).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import numpy as np

from cs324.cli import ArgumentParser, add_dry_run, cli, output_dir
from cs324.runfolder import atomic_write_text
from cs324.runtime import read_metrics


def run_folders(root: Path) -> list[Path]:
    return sorted(p for p in root.iterdir() if (p / "metrics.jsonl").exists())


def summarise_run(run: Path) -> dict:
    records = read_metrics(run)
    config = json.loads((run / "config.json").read_text())
    last = records[-1]
    with_val = [r for r in records if "val_acc" in r]
    best = max(with_val, key=lambda r: r["val_acc"]) if with_val else last
    return {
        "run": run.name,
        "best_val_acc": best.get("val_acc"),
        "test_acc_at_best_val": best.get("test_acc"),
        "best_step": best["step"],
        "final_test_acc": last.get("test_acc"),
        "final_val_acc": last.get("val_acc"),
        "final_train_acc": last.get("train_acc"),
        "steps": last["step"],
        "epochs": last.get("epoch"),
        "wall_s": last.get("wall_time"),
        "data_share": last["data_seconds"] / last["wall_time"]
        if last.get("data_seconds") and last.get("wall_time")
        else None,
        "device": config.get("device_resolved"),
        # amp_active: what the run used (--amp is ignored on a CPU without bf16); older runs lack it
        "amp": config.get("amp_active", config.get("amp") and str(config.get("device_resolved")).startswith("cuda")),
        "threads": _threads(records, config),
        "cpu": config.get("cpu"),  # the CPU model (recorded since the runtime writes it)
        "n_test": _n_test(run),
    }


def seed_summary(rows: list[dict]) -> dict:
    """Test accuracy at the best-validation step over seeds: mean, sample std (0 for one seed), n, and the
    number of test images, wall seconds per seed and hardware, each the same for every seed or listed."""
    test = np.array([r["test_acc_at_best_val"] for r in rows], dtype=float)
    val = np.array([r["best_val_acc"] for r in rows], dtype=float)
    return {
        "n": len(rows),
        "test_mean": float(test.mean()),
        "test_std": float(test.std(ddof=1)) if len(rows) > 1 else 0.0,
        "val_mean": float(val.mean()),
        "val_std": float(val.std(ddof=1)) if len(rows) > 1 else 0.0,
        "n_test": sorted({r["n_test"] for r in rows if r["n_test"]}),
        "wall_s": float(np.mean([r["wall_s"] for r in rows])),
        "hardware": sorted({device_label(r, with_cpu=True) for r in rows}),
    }


def mean_std(mean: float, std: float, n: int, scale: float = 100, digits: int = 2, unit: str = "%") -> str:
    """'78.73 +- 0.21% (3 seeds)' -- the one way every seed-aggregated figure is written."""
    spread = f" +- {std * scale:.{digits}f}" if n > 1 else ""
    return f"{mean * scale:.{digits}f}{spread}{unit} ({n} seed{'s' if n > 1 else ''})"


def device_label(r: dict, with_cpu: bool = False) -> str:
    device = f"{r['device']}{' bf16' if r['amp'] else ''}"
    if with_cpu and r.get("cpu") and str(r["device"]).startswith("cpu"):
        # the model name without trademarks or a trailing "Processor": "Intel Xeon CPU bf16, 2 threads"
        name = re.sub(r"\((R|TM)\)|\bProcessor\b|\bCPU\b", "", str(r["cpu"]), flags=re.I)
        device = f"{' '.join(name.split())} CPU{' bf16' if r['amp'] else ''}"
    if r.get("threads") and str(r["device"]).startswith("cpu"):
        device += f", {r['threads']} thread{'' if r['threads'] == 1 else 's'}"
    return device


def _threads(records: list[dict], config: dict) -> int | str | None:
    """The CPU threads a run trained on: one count, or "1-2" where a resume changed it (runs that predate the
    per-record count say only what they started with)."""
    counts = sorted({r["threads"] for r in records if "threads" in r})
    if not counts:
        return config.get("threads")
    return counts[0] if len(counts) == 1 else f"{counts[0]}-{counts[-1]}"


def _n_test(run: Path) -> int | None:
    f = run / "confusion_test.json"
    return json.loads(f.read_text())["n_test"] if f.exists() else None


def table_markdown(rows: list[dict]) -> str:
    head = [
        "run",
        "best val acc (step)",
        "test acc there",
        "final test acc",
        "final train acc",
        "epochs",
        "wall s",
        "s/epoch",
        "data time",
        "device",
    ]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    fmt = lambda v: "-" if v is None else f"{v:.4f}"
    for r in rows:
        device = device_label(r)
        epochs = "-" if r["epochs"] is None else f"{r['epochs']:.1f}"
        per_epoch = f"{r['wall_s'] / r['epochs']:.1f}" if r["epochs"] and r["wall_s"] else "-"
        share = "-" if r.get("data_share") is None else f"{r['data_share']:.1%}"
        lines.append(
            f"| {r['run']} | {fmt(r['best_val_acc'])} ({r['best_step']}) | {fmt(r['test_acc_at_best_val'])} | "
            f"{fmt(r['final_test_acc'])} | {fmt(r['final_train_acc'])} | {epochs} | {r['wall_s']:.0f} | {per_epoch} | "
            f"{share} | {device} |"
        )
    if len(rows) > 1 and all(re.fullmatch(r"seed\d+", r["run"]) for r in rows):
        m = seed_summary(rows)
        lines.append(
            f"| mean +- std | {mean_std(m['val_mean'], m['val_std'], m['n'], 1, 4, '')} | "
            f"{mean_std(m['test_mean'], m['test_std'], m['n'], 1, 4, '')} | | | | {m['wall_s']:.0f} | | | |"
        )
    return "\n".join(lines) + "\n"


def plot_curves(run: Path, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    records = read_metrics(run)
    x = [r.get("epoch", r["step"]) for r in records]
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(11, 3.8), constrained_layout=True)
    for split, style in (("train", "-"), ("val", "--"), ("test", ":")):
        pts = [(xi, r) for xi, r in zip(x, records) if f"{split}_acc" in r]
        if pts:
            ax_loss.plot([p[0] for p in pts], [p[1][f"{split}_loss"] for p in pts], style, marker=".", label=split)
            ax_acc.plot([p[0] for p in pts], [p[1][f"{split}_acc"] for p in pts], style, marker=".", label=split)
    ax_loss.set_ylabel("cross-entropy")
    ax_acc.set_ylabel("accuracy")
    for ax in (ax_loss, ax_acc):
        ax.set_xlabel("epoch")
        ax.legend()
        ax.grid(alpha=0.3)
    fig.suptitle(f"{run.name}: train (running mean since the last evaluation), validation and test")
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_confusion(run: Path, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    data = json.loads((run / "confusion_test.json").read_text())
    m = np.array(data["matrix"])
    fig, ax = plt.subplots(figsize=(6.4, 5.6), constrained_layout=True)
    ax.imshow(m, cmap="Blues")
    for i in range(10):
        for j in range(10):
            ax.text(
                j, i, m[i, j], ha="center", va="center", fontsize=7, color="white" if m[i, j] > m.max() / 2 else "k"
            )
    ax.set_xticks(range(10), data["classes"], rotation=45, ha="right")
    ax.set_yticks(range(10), data["classes"])
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(f"{run.name}: test accuracy {data['test_acc']:.3f} on {data['n_test']} test images")
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_comparison(runs: list[Path], path: Path, key: str = "test_acc") -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4.2), constrained_layout=True)
    for run in runs:
        recs = [r for r in read_metrics(run) if key in r]
        ax.plot([r.get("epoch", r["step"]) for r in recs], [r[key] for r in recs], marker=".", label=run.name)
    ax.set_xlabel("epoch")
    ax.set_ylabel(key.replace("_", " "))
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.savefig(path, dpi=110)
    plt.close(fig)


@cli
def main(argv: list[str] | None = None) -> None:
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", help="a folder of run folders")
    add_dry_run(parser, "build the tables and figures, write nothing")
    args = parser.parse_args(argv)
    root = Path(args.folder)
    runs = run_folders(root)
    if not runs:
        parser.error(f"no run folders (with metrics.jsonl) in {root}")
    rows = [summarise_run(r) for r in runs]
    with output_dir(root, args.dry_run, "folder") as out:
        for run in runs:
            plot_curves(run, out / f"curves_{run.name}.png")
            if (run / "confusion_test.json").exists():
                plot_confusion(run, out / f"confusion_{run.name}.png")
        plot_comparison(runs, out / "compare_test_acc.png")
        atomic_write_text(out / "table.md", table_markdown(rows))
        atomic_write_text(out / "table.json", json.dumps(rows, indent=2) + "\n")
    print(table_markdown(rows))


if __name__ == "__main__":
    main()
