"""The headline table: one row per headline result of the manifest, read from its committed folder.

    python experiments/headline.py      # writes results/headline.md and copies it into README.md

Each manifest entry marked ``headline`` has one function here that turns its folder into rows of
(task, command, result, time, hardware). Nothing is typed: every figure is read from the metrics.
"""

from __future__ import annotations

import argparse
import csv
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "experiments"))

from manifest import BY_NAME, ENTRIES  # noqa: E402

from cs324.results import mean_std, seed_summary, summarise_run  # noqa: E402
from cs324.runtime import read_metrics  # noqa: E402

HEAD = ("task", "command", "result", "time", "hardware")


def minutes(seconds: float) -> str:
    return f"{seconds / 60:.0f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"


def compare_rows(folder: Path) -> list[tuple]:
    rows = list(csv.DictReader(open(folder / "table.csv")))
    acc = [float(r[f"{k}_test_acc"]) for r in rows for k in ("numpy", "torch")]
    diff = max(float(r["max_param_diff"]) for r in rows)
    seconds = sum(float(r["numpy_s"]) + float(r["torch_s"]) + float(r["sklearn_s"]) for r in rows)
    from cs324.data.toy import make_toy

    sets = len({r["dataset"] for r in rows})
    n_test = len(make_toy(rows[0]["dataset"]).y_test)  # the split compare uses
    result = (
        f"parameters agree to {diff:.0e} after training; test accuracy {min(acc):.3f}-{max(acc):.3f} "
        f"({sets} toy sets x {len({r['strategy'] for r in rows})} strategies, {n_test} test points each)"
    )
    return [
        (
            "Part I Task 2: NumPy MLP against PyTorch MLP",
            "`python -m cs324.mlp.compare`",
            result,
            minutes(seconds),
            "CPU",
        )
    ]


def finished_seeds(folder: Path) -> list[Path]:
    """The manifest's seeds of a CIFAR headline folder, each run to its budget (else a one-line error, exit 2):
    a run still training, or one more seed than the manifest lists, never enters the table."""
    runs = [folder / f"seed{n}" for n in BY_NAME[folder.name].seeds]
    for run in runs:
        if not (run / "metrics.jsonl").exists():
            fail(f"{run} is missing: run its command in experiments/manifest.py")
        config, last = json.loads((run / "config.json").read_text()), read_metrics(run)[-1]
        if config.get("epochs") is None and last["step"] != config["max_steps"]:
            fail(f"{run} is unfinished (step {last['step']} of {config['max_steps']})")
    return runs


def fail(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)
    raise SystemExit(2)


def cifar_rows(task: str, command: str):
    def rows(folder: Path) -> list[tuple]:
        m = seed_summary([summarise_run(r) for r in finished_seeds(folder)])
        images = "/".join(f"{n:,}" for n in m["n_test"])
        result = f"test accuracy {mean_std(m['test_mean'], m['test_std'], m['n'])}, {images} test images"
        return [(task, f"`{command}`", result, minutes(m["wall_s"]) + " a seed", "; ".join(m["hardware"]))]

    return rows


def success_rows(folder: Path) -> list[tuple]:
    from cs324.rnn.analysis import load_sweep
    from cs324.rnn.success import success_table

    sweep = load_sweep(folder)
    table = success_table(sweep)
    names = {"rnn_default": "course defaults", "rnn_best": "one-hot, orthogonal W_hh, cosine lr, clip 1"}
    out = []
    for variant, by_T in table.items():
        seeds = max(p["n"] for p in by_T.values())
        every = max((T for T, p in by_T.items() if p["k"] == p["n"] == seeds), default=None)
        half = [T for T, p in by_T.items() if p["n"] == seeds and p["rate"] <= 0.5]
        first = by_T[min(half)] if half else None
        result = f"every one of {seeds} seeds learns T <= {every}"
        if first:
            result += (
                f"; at T={min(half)} {first['k']}/{first['n']} succeed (95% interval "
                f"{first['lo']:.2f}-{first['hi']:.2f})"
            )
        else:
            result += f" (the grid ends at T={max(T for T, p in by_T.items() if p['n'] == seeds)})"
        zero = [T for T, p in by_T.items() if p["n"] == seeds and p["k"] == 0]
        if zero:
            result += f"; none learns T={min(zero)} (0/{seeds}, 95% interval 0.00-{by_T[min(zero)]['hi']:.2f})"
        seconds = sum(r["seconds"] for r in sweep if r["variant"] == variant)
        out.append(
            (
                f"Part III: vanilla RNN, {names.get(variant, variant)}",
                "`make reproduce ONLY=part3_rnn_success`",
                result,
                minutes(seconds) + " in all",
                "CPU, 1 thread per run",
            )
        )
    return out


def t100_rows(folder: Path) -> list[tuple]:
    import numpy as np

    from cs324.rnn.analysis import load_sweep

    sweep = load_sweep(folder)
    names = {"rnn_curriculum_mixed": "vanilla RNN, mixed curriculum", "lstm_curriculum_mixed": "LSTM, mixed curriculum"}
    out = []
    for variant, name in names.items():
        runs = [r for r in sweep if r["variant"] == variant]
        acc = np.array([r["best_val_acc"] for r in runs])
        std = float(acc.std(ddof=1)) if len(acc) > 1 else 0.0
        out.append(
            (
                f"Part III: {name}, T=100",
                "`make reproduce ONLY=part3_rnn_t100`",
                f"validation accuracy {mean_std(float(acc.mean()), std, len(acc))}",
                minutes(float(np.mean([r["seconds"] for r in runs]))) + " a seed",
                "CPU, 1 thread per run",
            )
        )
    return out


ROWS = {
    "part1_compare": compare_rows,
    "part1_cifar_mlp_plain": cifar_rows(
        "Part I Task 3: MLP `plain` on CIFAR-10", "python -m cs324.mlp.cifar_mlp --recipe plain"
    ),
    "part1_cifar_mlp_best": cifar_rows(
        "Part I Task 3: MLP `best` on CIFAR-10", "python -m cs324.mlp.cifar_mlp --seed N"
    ),
    "part2_cnn_spec": cifar_rows("Part II: reduced VGG, `spec` (Adam 1e-4)", "python -m cs324.cnn.cnn_train --seed N"),
    "part2_cnn_best": cifar_rows(
        "Part II: reduced VGG, `best` (same layers)", "python -m cs324.cnn.cnn_train --recipe best --seed N"
    ),
    "part3_rnn_success": success_rows,
    "part3_rnn_t100": t100_rows,
}


def render(results: Path = ROOT / "results") -> str:
    lines = ["| " + " | ".join(HEAD) + " |", "|" + "---|" * len(HEAD)]
    for entry in ENTRIES:
        if entry.headline:
            lines += ["| " + " | ".join(row) + " |" for row in ROWS[entry.name](results / entry.name)]
    return "\n".join(lines) + "\n"


# README.md shows the table between these markers; nothing else in the README states a result.
BLOCK = re.compile(r"(<!-- table:headline -->\n)(.*?)(<!-- /table:headline -->)", re.S)


def main(argv: list[str] | None = None) -> None:
    argparse.ArgumentParser(description=__doc__.splitlines()[0]).parse_args(argv)
    table = render()
    (ROOT / "results/headline.md").write_text(table)
    readme = ROOT / "README.md"
    readme.write_text(BLOCK.sub(lambda m: m.group(1) + table + m.group(3), readme.read_text()))
    print(table)


if __name__ == "__main__":
    main()
