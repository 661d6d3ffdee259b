"""Part II: ablation of the best recipe: take one ingredient out at a time, same budget, same seed.

    python -m cs324.cnn.ablation --out results/part2_cnn_ablation              # 17,600 steps each (GPU: ~2 min a run)
    python -m cs324.cnn.ablation --out runs/abl --max_steps 1000 --device cpu  # a shorter budget
    python -m cs324.cnn.ablation --out runs/abl --dry_run                       # seconds: the pipeline only

Every variant is ``cnn_train --recipe RECIPE`` with the flags below changed; ``none`` takes
every ingredient out at once (the skeleton's Adam 1e-4, constant rate, no augmentation, batch
128); ``plus_ema`` adds the one listed ingredient the recipe lacks (an EMA of the weights,
scored and kept instead of the weights); ``short_budget_aug`` swaps in the smaller shifts the
airbench trainers use for ~10 epochs.
Flip-at-test-time needs no run of its own: with ``--tta`` every evaluation also scores the
un-flipped image alone (``val_acc_no_tta``). Variants already finished in ``--out`` are kept; an
interrupted one resumes, and a rerun of the same command only rebuilds the table. Writes ``ablation.md``,
``ablation.json`` and ``ablation.png``: best validation accuracy (which selects the checkpoint) and the test
accuracy there, each against the full recipe, with the band a difference must leave to count, and the final
training accuracy (on the batches as trained: how far each variant fits).
"""

from __future__ import annotations

import argparse
import json
import math
from pathlib import Path

from cs324.cli import ArgumentParser, add_dry_run, cli, positive_int, seed, writable_dir
from cs324.cnn import cnn_train
from cs324.runfolder import atomic_write_text
from cs324.runtime import budget, read_metrics

VARIANTS: dict[str, tuple[str, list[str]]] = {
    "full": ("the recipe as it is", []),
    "no_mixup": ("mixup 0.2 -> 0", ["--mixup", "0"]),
    "no_label_smoothing": ("label smoothing 0.1 -> 0", ["--label_smoothing", "0"]),
    "no_weight_decay": ("weight decay 5e-4 -> 0", ["--weight_decay", "0"]),
    "no_crop": ("flip + crop -> flip only", ["--augment", "flip"]),
    "no_augment": ("no flip, no crop", ["--augment", "none"]),
    "no_schedule": ("one-cycle -> constant rate 0.01", ["--lr_schedule", "constant", "--learning_rate", "0.01"]),
    "adam": ("SGD Nesterov 0.08 -> Adam 1e-3", ["--optimizer", "adam", "--learning_rate", "1e-3"]),
    "none": (
        "all of the above out: Adam 1e-4, constant, no augmentation, no TTA",
        ["--optimizer", "adam", "--learning_rate", "1e-4", "--lr_schedule", "constant", "--weight_decay", "0"]
        + ["--label_smoothing", "0", "--mixup", "0", "--augment", "none", "--no-tta"],
    ),
    "plus_ema": ("+ EMA of the weights (decay 0.998) scored instead", ["--ema", "0.998"]),
    "short_budget_aug": ("crop shifts up to 4 -> 2 px (airbench's ~10-epoch augmentation)", ["--crop_pad", "2"]),
}


def build_parser() -> argparse.ArgumentParser:
    p = ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path("results/part2_cnn_ablation"))
    p.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=None, help="default: all that apply")
    p.add_argument("--max_steps", type=positive_int, default=None, help="steps per run (default: the recipe's)")
    p.add_argument("--eval_freq", type=positive_int, default=None, help="default: max_steps / 10")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    p.add_argument("--seed", type=seed, default=0)
    add_dry_run(p, "every variant a few steps")
    p.add_argument(
        "--extra", nargs=argparse.REMAINDER, default=[], help="flags passed to every cnn_train run (e.g. --val_size)"
    )
    return p


def run_variant(out: Path, name: str, max_steps: int, args: argparse.Namespace) -> None:
    """Train one variant unless ``out/name`` already holds it finished; resume it if interrupted."""
    run = out / name
    steps = budget(max_steps, 1, args.dry_run)[0]
    if (run / "metrics.jsonl").exists() and (read_metrics(run) or [{"step": -1}])[-1]["step"] >= steps:
        print(f"{name}: already done", flush=True)
        return
    eval_freq = args.eval_freq or max(1, max_steps // 10)
    argv = ["--recipe", "best", "--max_steps", str(max_steps), "--eval_freq", str(eval_freq)]
    argv += ["--device", args.device, "--seed", str(args.seed), "--quiet", "--out", str(run)]
    argv += VARIANTS[name][1] + list(args.extra) + (["--dry_run"] if args.dry_run else [])
    argv += ["--resume"] if (run / "last.pt").exists() else ["--overwrite"]
    print(f"{name}: cnn_train {' '.join(argv)}", flush=True)
    cnn_train.main(argv)


def summarise(out: Path, names: list[str]) -> list[dict]:
    """One row per finished variant (plus 'no_tta' read off the full run), deltas against ``full``."""
    rows = []
    for name in names:
        run = out / name
        if not (run / "metrics.jsonl").exists():
            continue
        records = [r for r in read_metrics(run) if "val_acc" in r]
        best = max(records, key=lambda r: r["val_acc"])
        train_acc = records[-1].get("train_acc")  # on augmented batches, the last interval: how far it fits
        rows.append(
            dict(
                variant=name,
                change=VARIANTS[name][0],
                val_acc=best["val_acc"],
                test_acc=best["test_acc"],
                final_train_acc=train_acc,
            )
        )
        if name == "full" and "val_acc_no_tta" in best:
            plain = max(records, key=lambda r: r["val_acc_no_tta"])
            rows.append(
                dict(
                    variant="no_tta",
                    change="no flip at test time (same run, un-flipped image only)",
                    val_acc=plain["val_acc_no_tta"],
                    test_acc=plain["test_acc_no_tta"],
                    final_train_acc=train_acc,
                )
            )
    full = next((r for r in rows if r["variant"] == "full"), None)
    for r in rows:
        r["delta_val"] = r["val_acc"] - full["val_acc"] if full else None
        r["delta_test"] = r["test_acc"] - full["test_acc"] if full else None
    return rows


def noise_band(acc: float, n: int) -> float:
    """Two standard errors of the difference of two independent accuracies near ``acc`` on ``n`` images.

    A variant's delta smaller than this cannot be told from the noise of the split (and of the seed, which
    moves a run by about as much); the same images score both runs, so the band is if anything wide."""
    return 2 * math.sqrt(2 * acc * (1 - acc) / n)


def table_markdown(rows: list[dict], n_test: int | None = None, n_val: int | None = None) -> str:
    test = f"test acc ({n_test} images)" if n_test else "test acc"
    lines = [f"| variant | change | best val acc | {test} there | Δ val | Δ test | final train acc |"]
    lines.append("|---|---|---|---|---|---|---|")
    fmt = lambda d: "" if d is None else f"{d:+.4f}"
    for r in rows:
        train = "" if r.get("final_train_acc") is None else f"{r['final_train_acc']:.4f}"
        lines.append(
            f"| {r['variant']} | {r['change']} | {r['val_acc']:.4f} | {r['test_acc']:.4f} | "
            f"{fmt(r['delta_val'])} | {fmt(r['delta_test'])} | {train} |"
        )
    full = next((r for r in rows if r["variant"] == "full"), None)
    if full and n_val and n_test:
        lines += [
            "",
            f"Noise: a Δ within ±{noise_band(full['val_acc'], n_val):.4f} on validation ({n_val} images) or "
            f"±{noise_band(full['test_acc'], n_test):.4f} on test ({n_test} images), two standard errors of the "
            "difference of two accuracies near the full recipe's, cannot be told from noise (one seed per variant).",
        ]
    return "\n".join(lines) + "\n"


def plot(rows: list[dict], path: Path, n_val: int, n_test: int) -> None:
    """Horizontal bars of each variant's Δ against the full recipe, the noise band shaded."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    full = next(r for r in rows if r["variant"] == "full")
    others = [r for r in rows if r["variant"] != "full"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 0.4 * len(others) + 1.5), sharey=True)
    for ax, split, n in ((axes[0], "val", n_val), (axes[1], "test", n_test)):
        band = 100 * noise_band(full[f"{split}_acc"], n)
        ax.axvspan(-band, band, color="0.85", label="±2 s.e. of a difference")
        deltas = [100 * r[f"delta_{split}"] for r in others]
        ax.barh(range(len(others)), deltas, color=["C3" if d < -band else "C0" if d > band else "0.5" for d in deltas])
        ax.axvline(0, color="k", lw=0.8)
        ax.set_xlabel(f"Δ {split} accuracy vs the full recipe (points, {n} images)")
        ax.set_yticks(range(len(others)), [r["variant"] for r in others])
        ax.invert_yaxis()
    axes[0].legend(loc="lower left", fontsize=8)
    fig.suptitle(f"Ablation: full recipe val {full['val_acc']:.4f}, test {full['test_acc']:.4f}")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


@cli
def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    variants = args.variants or list(VARIANTS)
    max_steps = args.max_steps or cnn_train.RECIPES["best"]["max_steps"]
    writable_dir(args.out)
    command = "python -m cs324.cnn.ablation " + " ".join(argv or []) + "\n"
    recorded = args.out / "COMMAND.txt"
    if command not in (recorded.read_text().splitlines(keepends=True) if recorded.exists() else []):
        with open(recorded, "a") as f:  # a rerun (to resume, or to rebuild the table) adds no line
            f.write(command)
    for name in variants:
        run_variant(args.out, name, max_steps, args)
    rows = summarise(args.out, list(VARIANTS))
    config_path = args.out / "full" / "config.json"
    config = json.loads(config_path.read_text()) if config_path.exists() else {}
    n_test, n_val = config.get("n_test"), config.get("n_val")
    atomic_write_text(args.out / "ablation.json", json.dumps(rows, indent=1) + "\n")
    atomic_write_text(args.out / "ablation.md", table_markdown(rows, n_test, n_val))
    if n_test and n_val and any(r["variant"] == "full" for r in rows):
        plot(rows, args.out / "ablation.png", n_val, n_test)
    print(table_markdown(rows, n_test, n_val), end="")


if __name__ == "__main__":
    main()
