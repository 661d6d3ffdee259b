"""The report, generated from the live model definitions and the committed ``results/``.

    python -m cs324.report                 # report/report.html and report/report.pdf

It never states a number by hand: model tables and dimension traces come from tracing the
real models, results from the files under ``results/`` (each with the command that made it),
and the analysis sentences format those numbers. The blocks are rendered by ``cs324.document``
(HTML always; the PDF where ReportLab is installed).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch

from cs324.cli import ArgumentParser, add_dry_run, cli, existing_dir, output_dir
from cs324.document import ROOT, Figure, Heading, Para, md_table, portable, to_html, to_pdf
from cs324.report_models import model_sections
from cs324.runfolder import atomic_write_text

# --------------------------------------------------------------------------- content


def results_sections(results: Path) -> list:
    intro = [
        Heading("2. Results"),
        Para(
            "Toy data sets: 1,000 scikit-learn points, stratified 80/20 split (200 test points). CIFAR-10: "
            "validation = 5,000 training images (stratified); each table states how many test images its "
            "figures were measured on. Every table states the command that produced it."
        ),
    ]
    return intro + compare_blocks(results) + speed_blocks(results) + cifar_blocks(results) + part3_blocks(results)


def compare_blocks(results: Path) -> list:
    """Part I Task 2: the NumPy and PyTorch MLPs on the same data."""
    import csv

    compare = results / "part1_compare"
    if not (compare / "table.csv").exists():
        return []
    rows = list(csv.DictReader(open(compare / "table.csv")))
    diffs = max(float(r["max_param_diff"]) for r in rows)
    moons = [r for r in rows if r["dataset"] == "moons"]
    low = min(min(float(r["numpy_test_acc"]), float(r["torch_test_acc"])) for r in moons)
    return [
        Heading("2.1 Part I Task 2: NumPy vs PyTorch MLP", 2),
        Para(
            f"Command: {_commands(compare)}. Same initial weights, same "
            f"mini-batches, float64: across {len(rows)} runs the largest parameter difference between "
            f"the two implementations after training is {diffs:.1e}, so their accuracies coincide. On "
            f"moons (noise {moons[0]['noise']}) the lowest test accuracy over the three strategies is "
            f"{low:.3f}."
        ),
        md_table(compare / "table.md", "Train / test accuracy per data set and strategy"),
        Figure(
            compare / "regions_moons.png",
            "Moons: train (circles) and test (triangles) points and each implementation's decision regions",
        ),
        Figure(compare / "curves.png", "Test loss and accuracy of both implementations, every strategy"),
    ]


def speed_blocks(results: Path) -> list:
    """The benchmark tables, each with its command."""
    bench = results / "benchmarks"
    blocks = []
    for name, caption in (
        ("mlp", "Seconds per training step, and the NumPy MLP's GFLOP/s against NumPy's matmul"),
        ("cifar_mlp", "CIFAR-10 MLP training step on this CPU, against torch.matmul in the same run"),
        ("cnn", "Reduced VGG training throughput on this CPU, against torch.matmul in the same run"),
        ("rnn", "Training step of the hand-written loops against torch.nn.RNN / nn.LSTM"),
    ):
        if (bench / f"{name}.md").exists():
            blocks += [
                Para(f"Speed (command: {_commands(bench, f'COMMAND_{name}.txt')}):"),
                md_table(bench / f"{name}.md", caption),
            ]
    return blocks


def cifar_blocks(results: Path) -> list:
    """Part I Task 3 and Part II: the runs' table, the key curves, confusion matrix, ablations."""
    from cs324.results import summarise_run

    blocks = []
    for title, folder in (
        ("2.2 Part I Task 3: the CIFAR-10 MLP", results / "part1_cifar_mlp"),
        ("2.3 Part II: the reduced VGG", results / "part2_cnn"),
    ):
        if not (folder / "table.md").exists():
            continue
        runs = [summarise_run(p) for p in sorted(folder.iterdir()) if (p / "metrics.jsonl").exists()]
        sizes = ", ".join(f"{n:,}" for n in sorted({r["n_test"] for r in runs if r["n_test"]}))
        blocks += [
            Heading(title, 2),
            Para("Commands: " + _commands(folder)),
            md_table(folder / "table.md", f"Runs (test accuracy on {sizes} official test images)"),
        ]
        for r in runs:
            gap = (r["final_train_acc"] or 0) - (r["final_val_acc"] or 0)
            blocks.append(
                Para(
                    f"{r['run']}: best validation accuracy {r['best_val_acc']:.3f} at step "
                    f"{r['best_step']}, final test accuracy {r['final_test_acc']:.3f} on {r['n_test']} test "
                    f"images; final training accuracy exceeds validation by {gap:+.3f}."
                )
            )
            if r["run"] in ("0_plain", "spec_adam_lr1e-4", "spec_adam_lr1e-3", "best"):
                if (folder / f"curves_{r['run']}.png").exists():
                    blocks.append(Figure(folder / f"curves_{r['run']}.png", f"{r['run']}: loss and accuracy"))
            if r["run"] == "best" and (folder / "confusion_best.png").exists():
                blocks.append(Figure(folder / "confusion_best.png", "best: test confusion matrix", 0.6))
        if (folder / "compare_test_acc.png").exists():
            blocks.append(Figure(folder / "compare_test_acc.png", "Test accuracy of every run against epochs", 0.7))
        if folder.name == "part2_cnn":
            blocks += ablation_blocks(results)
    return blocks


def part3_blocks(results: Path) -> list:
    """Part III: the sweep over lengths, the goal runs, success rates, T=100 and gradients."""
    from cs324.rnn.analysis import load_sweep, longest_solved, summarise

    blocks = []
    sweep = results / "part3_rnn"
    if (sweep / "sweep.csv").exists() and (sweep / "summary.md").exists():
        summary = summarise(load_sweep(sweep))
        solved = "; ".join(f"{v}: T = {longest_solved(summary, v) or 'none'}" for v in summary)
        blocks += [
            Heading("2.4 Part III: accuracy against palindrome length", 2),
            Para(
                "Commands: "
                + _commands(sweep)
                + f". Longest length at which every seed reached 99% validation accuracy: {solved}."
            ),
            md_table(sweep / "summary.md", "Mean best validation accuracy over seeds (number of seeds)"),
            Figure(sweep / "accuracy_vs_length.png", "Accuracy against length; chance is 0.1", 0.75),
            Figure(sweep / "curves.png", "Validation accuracy during training, seed 0"),
        ]
    goals = results / "part3_rnn_goals"
    if (goals / "summary.md").exists():
        blocks += [
            Para("The goals at the lengths they name, with a longer budget (commands: " + _commands(goals) + "):"),
            md_table(goals / "summary.md", "Goal runs: mean best validation accuracy over seeds (number of seeds)"),
        ]
    for folder, heading, table, caption, figure in PART3_SECTIONS:
        if (results / folder / table).exists():
            blocks += [Heading(heading, 2), Para("Commands: " + _commands(results / folder) + ".")]
            if figure:
                blocks.append(Figure(results / folder / figure[0], figure[1], 0.95))
            blocks.append(md_table(results / folder / table, caption))
    return blocks


# The Part III results after the 3-seed sweep: (folder, heading, table, its caption, (figure, caption) or None).
PART3_SECTIONS = (
    (
        "part3_rnn_success",
        "2.5 Part III: how often a seed learns length T",
        "success.md",
        "Successes (best validation accuracy >= 99%) out of seeds per length, Wilson 95% interval",
        ("success_vs_length.png", "Success rate and best validation accuracy against T"),
    ),
    ("part3_rnn_t100", "2.6 Part III: every seed at T=100", "summary.md", "Mean best validation accuracy", None),
    (
        "part3_rnn_gradients",
        "2.7 Part III: gradients through time, before and after training",
        "gradients.md",
        "Gradient at the first step and spectral radius of W_hh",
        ("gradients_through_time.png", "||dL/dh(t)|| per input step, log axis"),
    ),
)


# Ablations of the best recipe: where each ran and at what budget (one folder per budget and machine).
ABLATIONS = (
    ("part2_cnn_ablation", "the best recipe at its full 8,800 steps"),
    ("part2_cnn_gpu/ablation", "the best recipe at its full 8,800 steps, on a GPU"),
    (
        "archive/part2_cnn_ablation_cpu_bf16",
        "the best recipe shortened to 1,500 steps (~4 epochs), on a 2-core bf16 CPU (archived: commit c190a5c)",
    ),
)


def ablation_blocks(results: Path) -> list:
    """The committed ablation tables of the best recipe, each with its command."""
    blocks = []
    for folder, what in ABLATIONS:
        table = results / folder / "ablation.md"
        if table.exists():
            blocks += [
                Para(
                    f"Ablation of {what}: one ingredient out at a time, same seed (command: "
                    + _commands(results / folder)
                    + ")."
                ),
                md_table(
                    table,
                    "Best validation accuracy (it selects the step) and test accuracy there, against the full recipe",
                ),
            ]
            if (results / folder / "ablation.png").exists():
                caption = "Each variant against the full recipe; grey: two standard errors of a difference"
                blocks.append(Figure(results / folder / "ablation.png", caption))
    return blocks


def _commands(folder: Path, name: str = "COMMAND.txt") -> str:
    """The command lines recorded beside a result (comments dropped)."""
    f = folder / name
    if not f.exists():
        return "experiments/reproduce.sh"
    return " | ".join(line.strip() for line in f.read_text().splitlines() if line.strip() and not line.startswith("#"))


def build_blocks(results: Path) -> list:
    return [
        Heading("CS324 Assignment 2: report generated from the code and its results", 0),
        Para("Generated by python -m cs324.report from the models in src/cs324 and the files in results/."),
        *model_sections(),
        *results_sections(results),
    ]


@cli
def main(argv: list[str] | None = None) -> None:
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", default=str(ROOT / "results"))
    parser.add_argument("--out", default=str(ROOT / "report"))
    add_dry_run(parser, "build the HTML and PDF, write nothing")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    np.random.seed(0)
    results = existing_dir(args.results, "--results")
    blocks = build_blocks(results)
    with output_dir(args.out, args.dry_run) as out:
        write(blocks, out)


def write(blocks: list, out: Path) -> None:
    """``report.html``, ``blocks.json`` (the blocks, paths relative to the repository) and ``report.pdf``."""
    atomic_write_text(out / "report.html", to_html(blocks))
    listed = [
        {"kind": type(b).__name__, **{k: portable(v) if isinstance(v, Path) else v for k, v in vars(b).items()}}
        for b in blocks
    ]
    atomic_write_text(out / "blocks.json", json.dumps(listed, indent=1) + "\n")
    try:
        to_pdf(blocks, out / "report.pdf")
        print(f"wrote {out / 'report.html'} and {out / 'report.pdf'}")
    except ImportError:
        print(f"wrote {out / 'report.html'}; reportlab is not installed, so no PDF", file=sys.stderr)


if __name__ == "__main__":
    main()
