"""Part II: ablation of the best recipe: take one ingredient out at a time, same budget, same seed.

    python -m cs324.cnn.ablation --out results/part2_cnn_ablation              # 8,800 steps each (GPU: ~1 min a run)
    python -m cs324.cnn.ablation --out runs/abl --max_steps 1000 --device cpu  # a shorter budget
    python -m cs324.cnn.ablation --recipe best_cpu --out runs/abl_cpu          # + no_whiten, no_progressive

Every variant is ``cnn_train --recipe RECIPE`` with the flags below changed; ``none`` takes
every ingredient out at once (the skeleton's Adam 1e-4, constant rate, no augmentation, batch
128); ``plus_ema`` adds the one listed ingredient the recipe lacks (an EMA of the weights,
scored and kept instead of the weights); ``short_budget_aug`` swaps in the augmentation the
airbench trainers use for ~10 epochs (smaller shifts, alternating flip). The ``best_cpu`` recipe
adds two variants: without the whitened first layer and without progressive resizing.
Flip-at-test-time needs no run of its own: with ``--tta`` every evaluation also scores the
un-flipped image alone (``val_acc_no_tta``). Variants already finished in ``--out`` are kept; an
interrupted one resumes. Writes ``ablation.md`` and ``ablation.json``: best validation accuracy
(which selects the checkpoint) and the test accuracy there, each against the full recipe.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from cs324.cli import ArgumentParser, positive_int
from cs324.cnn import cnn_train
from cs324.runtime import read_metrics

VARIANTS: dict[str, tuple[str, list[str]]] = {
    "full": ("the recipe as it is", []),
    "no_label_smoothing": ("label smoothing 0.1 -> 0", ["--label_smoothing", "0"]),
    "no_weight_decay": ("weight decay 5e-4 -> 0", ["--weight_decay", "0"]),
    "no_crop": ("flip + crop -> flip only", ["--augment", "flip"]),
    "no_augment": ("no flip, no crop", ["--augment", "none"]),
    "no_schedule": ("one-cycle -> constant rate 0.01", ["--schedule", "constant", "--learning_rate", "0.01"]),
    "adam": ("SGD Nesterov 0.08 -> Adam 1e-3", ["--optimizer", "adam", "--learning_rate", "1e-3"]),
    "none": (
        "all of the above out: Adam 1e-4, constant, no augmentation, no TTA",
        ["--optimizer", "adam", "--learning_rate", "1e-4", "--schedule", "constant", "--weight_decay", "0"]
        + ["--label_smoothing", "0", "--augment", "none", "--no-tta", "--no-whiten", "--progressive"],
    ),
    "plus_ema": ("+ EMA of the weights (decay 0.998) scored instead", ["--ema", "0.998"]),
    "short_budget_aug": (
        "crop shifts up to 4 -> 2 px, random -> alternating flip (airbench's ~10-epoch augmentation)",
        ["--crop_pad", "2", "--alternate_flip"],
    ),
    "no_whiten": ("first layer: whitened and frozen -> default init, trained", ["--no-whiten"]),
    "no_progressive": ("16 -> 24 -> 32 px -> 32 px throughout", ["--progressive"]),
}
ONLY_FOR = {"no_whiten": "best_cpu", "no_progressive": "best_cpu"}  # no-ops for the other recipes


def build_parser() -> argparse.ArgumentParser:
    p = ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--out", type=Path, default=Path("results/part2_cnn_ablation"))
    p.add_argument("--recipe", choices=["best", "best_cpu"], default="best", help="the recipe taken apart")
    p.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=None, help="default: all that apply")
    p.add_argument("--max_steps", type=positive_int, default=None, help="steps per run (default: the recipe's)")
    p.add_argument("--eval_freq", type=positive_int, default=None, help="default: max_steps / 10")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument(
        "--extra", nargs=argparse.REMAINDER, default=[], help="flags passed to every cnn_train run (e.g. --val_size)"
    )
    return p


def run_variant(out: Path, name: str, args: argparse.Namespace) -> None:
    """Train one variant unless ``out/name`` already holds it finished; resume it if interrupted."""
    run = out / name
    if (run / "metrics.jsonl").exists() and read_metrics(run)[-1]["step"] >= args.max_steps:
        print(f"{name}: already done", flush=True)
        return
    eval_freq = args.eval_freq or max(1, args.max_steps // 10)
    argv = ["--recipe", args.recipe, "--max_steps", str(args.max_steps), "--eval_freq", str(eval_freq)]
    argv += ["--device", args.device, "--seed", str(args.seed), "--quiet", "--out", str(run)]
    argv += VARIANTS[name][1] + list(args.extra)
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
        rows.append(dict(variant=name, change=VARIANTS[name][0], val_acc=best["val_acc"], test_acc=best["test_acc"]))
        if name == "full" and "val_acc_no_tta" in best:
            plain = max(records, key=lambda r: r["val_acc_no_tta"])
            rows.append(
                dict(
                    variant="no_tta",
                    change="no flip at test time (same run, un-flipped image only)",
                    val_acc=plain["val_acc_no_tta"],
                    test_acc=plain["test_acc_no_tta"],
                )
            )
    full = next((r for r in rows if r["variant"] == "full"), None)
    for r in rows:
        r["delta_val"] = r["val_acc"] - full["val_acc"] if full else None
        r["delta_test"] = r["test_acc"] - full["test_acc"] if full else None
    return rows


def table_markdown(rows: list[dict], n_test: int | None = None) -> str:
    test = f"test acc ({n_test} images)" if n_test else "test acc"
    lines = [f"| variant | change | best val acc | {test} there | Δ val | Δ test |", "|---|---|---|---|---|---|"]
    fmt = lambda d: "" if d is None else f"{d:+.4f}"
    for r in rows:
        lines.append(
            f"| {r['variant']} | {r['change']} | {r['val_acc']:.4f} | {r['test_acc']:.4f} | "
            f"{fmt(r['delta_val'])} | {fmt(r['delta_test'])} |"
        )
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    applicable = [v for v in VARIANTS if ONLY_FOR.get(v, args.recipe) == args.recipe]
    if args.variants is None:
        args.variants = applicable
    elif not_applicable := [v for v in args.variants if v not in applicable]:
        parser.error(f"variant(s) {', '.join(not_applicable)} apply only to --recipe best_cpu")
    args.max_steps = args.max_steps or cnn_train.RECIPES[args.recipe]["max_steps"]
    args.out.mkdir(parents=True, exist_ok=True)
    with open(args.out / "COMMAND.txt", "a") as f:
        f.write("python -m cs324.cnn.ablation " + " ".join(argv if argv is not None else sys.argv[1:]) + "\n")
    for name in args.variants:
        run_variant(args.out, name, args)
    rows = summarise(args.out, applicable)
    confusion = args.out / "full" / "confusion_test.json"
    n_test = json.loads(confusion.read_text())["n_test"] if confusion.exists() else None
    (args.out / "ablation.json").write_text(json.dumps(rows, indent=1) + "\n")
    (args.out / "ablation.md").write_text(table_markdown(rows, n_test))
    print(table_markdown(rows, n_test), end="")


if __name__ == "__main__":
    main()
