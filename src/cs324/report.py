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

from cs324 import narrative
from cs324.cli import ArgumentParser, add_dry_run, cli, existing_dir, output_dir
from cs324.config import as_dict
from cs324.document import ROOT, Figure, Heading, Para, Table, md_table, portable, to_html, to_pdf
from cs324.report_appendix import appendix_exploratory, appendix_speed, commands, published
from cs324.report_models import TRACE_NOTE, cifar_mlp_blocks, cnn_blocks, recurrent_blocks, toy_mlp_blocks
from cs324.runfolder import atomic_write_text

# --------------------------------------------------------------------------- content
# The assignment's three report points, each a heading in every part (tests/test_report_and_submission.py).
STRUCTURE = "Model structure: every layer's parameters, input and output"
TRACE = "Training procedure: matrix dimensions through one training step"
ANALYSIS = "Analysis of the results"


def part_blocks(number: int, title: str, task: str, models: list, recipe: list, experiments: list, analysis: list):
    """One part of the assignment: the task, then the three report points, with the experiments before the analysis."""
    structure = [b for pair in models for b in pair[0]]
    trace = [b for pair in models for b in pair[1]]
    return [
        Heading(f"{number}. {title}"),
        Para(task),
        Heading(f"{number}.1 {STRUCTURE}", 2),
        *structure,
        Heading(f"{number}.2 {TRACE}", 2),
        Para(TRACE_NOTE),
        *trace,
        *recipe,
        Heading(f"{number}.3 Experiments", 2),
        *experiments,
        Heading(f"{number}.4 {ANALYSIS}", 2),
        *[Para(p) for p in analysis],
    ]


def recipe_table(module, caption: str) -> Table:
    """The recipes of a trainer side by side: every flag any recipe sets, with its value in each (from the code)."""
    configs = {name: as_dict(module.config(name)) for name in module.RECIPES}
    keys = sorted({k for r in module.RECIPES.values() for k in r} - {"hidden"}) + ["hidden"] * any(
        "hidden" in r for r in module.RECIPES.values()
    )
    show = lambda v: ",".join(map(str, v)) if isinstance(v, list) else str(v)  # noqa: E731
    return Table(["flag", *configs], [[f"--{k}", *(show(c[k]) for c in configs.values())] for k in keys], caption)


def headline_runs(folder: Path, what: str, unit: str = "seed") -> list:
    """A results folder of several runs (a headline's seeds, or one seed of each variant): its table (a mean
    +- std row where the runs are seeds), the first run's curves and confusion, every run's test accuracy."""
    if not (folder / "table.md").exists():
        return []
    seeds = sorted(p.name for p in folder.iterdir() if (p / "metrics.jsonl").exists())
    blocks = [
        Para(f"{what} Command: {commands(folder)}."),
        md_table(
            folder / "table.md",
            f"One row per {unit}; test accuracy on every test image, at the best-validation step",
        ),
    ]
    if seeds and (folder / f"curves_{seeds[0]}.png").exists():
        blocks.append(Figure(folder / f"curves_{seeds[0]}.png", f"{seeds[0]}: loss and accuracy against epochs", 0.85))
    if len(seeds) > 1 and (folder / "compare_test_acc.png").exists():
        blocks.append(Figure(folder / "compare_test_acc.png", f"Test accuracy of every {unit} against epochs", 0.6))
    if seeds and (folder / f"confusion_{seeds[0]}.png").exists():
        blocks.append(Figure(folder / f"confusion_{seeds[0]}.png", f"{seeds[0]}: test confusion matrix", 0.5))
    return blocks


def part1(results: Path) -> list:
    from cs324.data.toy import make_toy
    from cs324.mlp import cifar_mlp

    compare = results / "part1_compare"
    experiments = []
    if (compare / "table.md").exists():
        toy = make_toy("moons")  # every set is split the same way
        experiments += [
            Para(
                f"Task 2, command: {commands(compare)}. {toy.n_train + len(toy.y_test):,} scikit-learn points per "
                f"set, {len(toy.y_test)} of them for test (stratified)."
            ),
            md_table(compare / "table.md", "Train / test accuracy per data set and strategy"),
            Figure(
                compare / "regions_moons.png", "Moons: train and test points, each implementation's decision regions"
            ),
            Figure(compare / "curves.png", "Test loss and accuracy of both implementations, every strategy"),
        ]
    experiments += headline_runs(results / "part1_cifar_mlp_plain", "Task 3, the plain MLP at HEAD.")
    experiments += headline_runs(results / "part1_cifar_mlp_best", "Task 3, the best MLP at HEAD, one folder per seed.")
    experiments += headline_runs(
        results / "part1_cifar_mlp_best_rerun", "Task 3, the best MLP's seed 0 again, from a clean clone.", "run"
    )
    experiments += headline_runs(
        results / "part1_cifar_mlp_140ep", "Task 3, the best MLP recipe at 140 epochs, its former length."
    )
    experiments += headline_runs(
        results / "part1_cifar_mlp_70ep",
        "Task 3, the former best MLP recipe (70 epochs, dropout 0.2, the image and its mirror at test time).",
    )
    experiments += headline_runs(
        results / "part1_cifar_mlp_dropout02",
        "Task 3, the 140-epoch recipe with the former dropout 0.2 and the image and its mirror at test time, seed 0.",
        "run",
    )
    experiments += headline_runs(
        results / "part1_cifar_mlp_dropout04", "Task 3, the 140-epoch recipe with dropout 0.4, seed 0.", "run"
    )
    experiments += headline_runs(
        results / "part1_cifar_mlp_ablation",
        "Task 3, the former recipe (70 epochs) with one ingredient taken out, seed 0 each (full: none out).",
        "variant",
    )
    return part_blocks(
        1,
        "Part I: the MLP in NumPy and in PyTorch, and a pure MLP on CIFAR-10",
        "Task 1 writes the MLP of Assignment 1 in PyTorch; Task 2 trains it and the NumPy MLP on the same data "
        "and compares them; Task 3 trains the most accurate pure MLP we can on CIFAR-10.",
        [toy_mlp_blocks(), cifar_mlp_blocks()],
        [recipe_table(cifar_mlp, "CIFAR-10 MLP recipes (python -m cs324.mlp.cifar_mlp --recipe NAME)")],
        experiments,
        narrative.part1_compare(results) + narrative.part1_cifar(results),
    )


def part2(results: Path) -> list:
    from cs324.cnn import cnn_train

    return part_blocks(
        2,
        "Part II: the reduced VGG on CIFAR-10",
        "Task 1 builds the course's reduced VGG; Task 2 trains it with Adam and plots its accuracy and loss curves.",
        [cnn_blocks()],
        [recipe_table(cnn_train, "Reduced VGG recipes (python -m cs324.cnn.cnn_train --recipe NAME)")],
        headline_runs(results / "part2_cnn_spec", "The spec run, one folder per seed.")
        + headline_runs(results / "part2_cnn_best", "The best recipe (same layers), one folder per seed.")
        + headline_runs(
            results / "part2_cnn_best_25ep", "The best recipe at half its length, without mixup, one folder per seed."
        )
        + headline_runs(
            results / "part2_cnn_amp", "The best recipe shortened, seed 0, in bf16 autocast and in fp32.", "run"
        )
        + headline_runs(
            results / "part2_cnn_optimizers", "The spec run with another optimiser, seed 0, one folder each.", "run"
        ),
        narrative.part2(results),
    )


def part3(results: Path) -> list:
    experiments = []
    for folder, caption, figure in PART3_RESULTS:
        f = results / folder
        table = next((f / n for n in ("success.md", "summary.md", "gradients.md") if (f / n).exists()), None)
        if table is None:
            continue
        experiments.append(Para(f"Command: {commands(f)}."))
        if figure and (f / figure[0]).exists():
            experiments.append(Figure(f / figure[0], figure[1], 0.95))
        experiments.append(md_table(table, caption))
    return part_blocks(
        3,
        "Part III: a vanilla RNN and an LSTM on palindromes",
        "Task 1 writes the vanilla RNN's loop over time by hand; Task 2 measures how its accuracy on the last digit "
        "of a palindrome falls as the palindrome grows. T is the palindrome length: T-1 digits are fed. "
        "Validation palindromes are never seen in training.",
        [recurrent_blocks()],
        [],
        experiments,
        narrative.part3(results),
    )


# (folder, table caption, (figure, caption) or None): the headline Part III results.
PART3_RESULTS = (
    (
        "part3_rnn_success",
        "Successes (best validation accuracy >= 99%) out of seeds per length, Wilson 95% interval",
        ("success_vs_length.png", "Success rate and best validation accuracy against T"),
    ),
    ("part3_rnn_t100", "Every seed at T=100: mean best validation accuracy (seeds)", ("curves.png", "T=100 curves")),
    (
        "part3_rnn_gradients",
        "Gradient at the first step and spectral radius of W_hh, at initialisation and after training",
        ("gradients_through_time.png", "||dL/dh(t)|| per input step, log axis"),
    ),
)


def conclusion(results: Path) -> list:
    text = narrative.conclusion(results)
    return [Heading("5. Conclusion"), *[Para(p) for p in text]] if text else []


def introduction(results: Path) -> list:
    blocks = [
        Heading("Introduction"),
        Para(
            "This report covers the three parts of the assignment. For each it gives the task, the model's structure "
            "layer by layer, the matrix dimensions through one training step, the experiments and their analysis. "
            "Everything is generated by python -m cs324.report: tables and traces from the models in src/cs324, "
            "results and every number in the prose from the committed folders under results/. Headline results are "
            "the runs the manifest (experiments/manifest.py) marks so, made by the code at this commit; CIFAR-10 "
            "models are selected on a validation split carved from the training set and scored once on the test "
            "split, whose size every table states. Exploratory runs are in appendix A."
        ),
    ]
    if (results / "headline.md").exists():
        blocks.append(md_table(results / "headline.md", "Headline results"))
    return blocks


def build_blocks(results: Path) -> list:
    return [
        Heading("CS324 Assignment 2: report generated from the code and its results", 0),
        *introduction(results),
        *part1(results),
        *part2(results),
        *part3(results),
        *published(results),
        *conclusion(results),
        *appendix_exploratory(results, {"part2_cnn_optimizers", *(folder for folder, _, _ in PART3_RESULTS)}),
        *appendix_speed(results),
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
