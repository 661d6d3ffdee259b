"""The report, generated from the live model definitions and the committed ``results/``.

    python -m cs324.report                 # report/report.html and report/report.pdf

It never states a number by hand: model tables and dimension traces come from tracing the
real models, results from the files under ``results/`` (each with the command that made it),
and the analysis sentences format those numbers. The report is a list of blocks (headings,
paragraphs, tables, figures) rendered twice: to self-contained HTML, and to PDF with
ReportLab (pure Python; when it is missing, the HTML is still written).
"""

from __future__ import annotations

import base64
import html
import json
import sys
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from cs324.cli import ArgumentParser, cli, existing_dir, writable_dir

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Heading:
    text: str
    level: int = 1


@dataclass
class Para:
    text: str


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]
    caption: str = ""


@dataclass
class Figure:
    path: Path
    caption: str
    width: float = 1.0  # share of the text width


def md_table(path: Path, caption: str = "") -> Table:
    """A Markdown table file (as the result commands write them) as a Table block."""
    lines = [line for line in path.read_text().splitlines() if line.startswith("|")]
    cells = lambda line: [c.strip().replace("**", "") for c in line.strip().strip("|").split("|")]
    return Table(cells(lines[0]), [cells(line) for line in lines[2:]], caption)


def with_total(rows: list[dict]) -> list[dict]:
    """Append a total row (parameters and MACs)."""
    return [*rows, {"layer": "total", "params": sum(r["params"] for r in rows), "macs": sum(r["macs"] for r in rows)}]


def dict_table(rows: list[dict], columns: list[str], caption: str = "") -> Table:
    return Table(
        columns,
        [[f"{r.get(c, ''):,}" if isinstance(r.get(c), int) else str(r.get(c, "")) for c in columns] for r in rows],
        caption,
    )


# --------------------------------------------------------------------------- content


def model_sections() -> list:
    from cs324.cnn.cnn_model import CNN
    from cs324.mlp.cifar_mlp import RECIPES, CifarMLP
    from cs324.mlp.mlp_numpy import MLP as NumpyMLP
    from cs324.mlp.pytorch_mlp import MLP as TorchMLP
    from cs324.rnn.lstm import LSTM
    from cs324.rnn.vanilla_rnn import VanillaRNN
    from cs324.summary import layer_table, totals
    from cs324.trace import numpy_mlp_table, recurrent_table, trace_numpy_mlp, trace_recurrent, trace_torch

    torch.manual_seed(0)
    cols = ["layer", "input", "output", "params", "macs"]
    fmt_rows = lambda rows: [
        {**r, "input": "x".join(map(str, r["input"])), "output": "x".join(map(str, r["output"]))} for r in rows
    ]
    trace_cols = ["layer", "input", "output", "grad_output", "grad_input", "param_grads"]
    blocks: list = [
        Heading("1. The models: structure, and dimensions through one training step"),
        Para(
            "Every table below is produced by running the model on an input: layer shapes and counts by "
            "torchinfo (one sample), the training-step traces by forward and backward hooks on a real "
            "cross-entropy step. grad_output is dL/d(layer output) flowing back into a layer, grad_input "
            "is dL/d(layer input) it passes on; param_grads are the shapes of its parameter gradients "
            "(always equal to the parameters')."
        ),
    ]

    np_mlp = NumpyMLP(2, [20], 2, seed=0)
    np_rows = with_total(numpy_mlp_table(np_mlp))
    blocks += [
        Heading("1.1 NumPy MLP (Assignment 1) and PyTorch MLP (Part I Tasks 1-2)", 2),
        Para(
            f"Architecture 2-20-2 with ReLU; {np_mlp.num_params()} parameters in both implementations. "
            "NumPy stores W as (in x out) and computes x @ W + b; PyTorch stores (out x in)."
        ),
        dict_table(np_rows, ["layer", "input", "output", "param_shapes", "params", "macs"], "NumPy MLP (one sample)"),
        dict_table(
            trace_numpy_mlp(np_mlp, batch=32),
            trace_cols,
            "NumPy MLP, one step on a batch of 32: forward and backward shapes",
        ),
        dict_table(with_total(fmt_rows(layer_table(TorchMLP(2, [20], 2), (1, 2)))), cols, "PyTorch MLP (one sample)"),
        dict_table(
            trace_torch(TorchMLP(2, [20], 2), torch.zeros(32, 2), torch.zeros(32, dtype=torch.long)),
            trace_cols,
            "PyTorch MLP, one step on a batch of 32",
        ),
    ]

    best = RECIPES["best"]
    cifar_mlp = CifarMLP(
        [int(w) for w in best["hidden"].split(",")],
        norm=best["norm"],
        activation=best["activation"],
        dropout=best["dropout"],
    )
    rows = layer_table(cifar_mlp, (1, 3, 32, 32))
    blocks += [
        Heading("1.2 CIFAR-10 MLP (Part I Task 3, best recipe)", 2),
        Para(f"{totals(rows)['params']:,} parameters, {totals(rows)['macs']:,} multiply-accumulates per image."),
        dict_table(with_total(fmt_rows(rows)), cols, "CIFAR-10 MLP (one image)"),
        dict_table(
            trace_torch(cifar_mlp, torch.zeros(8, 3, 32, 32), torch.zeros(8, dtype=torch.long)),
            trace_cols,
            "CIFAR-10 MLP, one step on a batch of 8",
        ),
    ]

    cnn = CNN(3, 10)
    rows = layer_table(cnn, (1, 3, 32, 32))
    blocks += [
        Heading("1.3 The reduced VGG (Part II)", 2),
        Para(
            f"{totals(rows)['params']:,} parameters, {totals(rows)['macs']:,} multiply-accumulates per "
            "3x32x32 image. Every conv is 3x3, stride 1, padding 1, followed by batch norm and ReLU; every "
            "max-pool is 3x3, stride 2, padding 1."
        ),
        dict_table(with_total(fmt_rows(rows)), cols, "Reduced VGG (one image)"),
        dict_table(
            trace_torch(cnn, torch.zeros(4, 3, 32, 32), torch.zeros(4, dtype=torch.long)),
            trace_cols,
            "Reduced VGG, one step on a batch of 4",
        ),
    ]

    for name, model, note in (
        (
            "1.4 Vanilla RNN (Part III)",
            VanillaRNN(4, 1, 128, 10),
            "h(t) = tanh(x(t) W_hx + h(t-1) W_hh + b_h), o = h(T) W_ph + b_o; T-1 = 4 input digits (T=5), hidden 128.",
        ),
        (
            "1.5 LSTM (Part III)",
            LSTM(4, 10, 128, 10),
            "The four gates' weights side by side: W_x (input_dim x 4H), W_h (H x 4H), order i, f, g, o; one-hot "
            "digits (input_dim 10), hidden 128.",
        ),
    ):
        rows = with_total(recurrent_table(model))
        blocks += [
            Heading(name, 2),
            Para(f"{note} {rows[-1]['params']:,} parameters, {rows[-1]['macs']:,} MACs per sequence."),
            dict_table(rows, ["layer", "input", "output", "param_shapes", "params", "macs"], "One sequence"),
            dict_table(
                trace_recurrent(model, batch=128),
                trace_cols,
                "One step on a batch of 128, unrolled in time: h(t) forward, dL/dh(t) backward",
            ),
        ]
    return blocks


def results_sections(results: Path) -> list:
    from cs324.results import summarise_run
    from cs324.rnn.analysis import load_sweep, longest_solved, summarise

    blocks: list = [
        Heading("2. Results"),
        Para(
            "Toy data sets: 1,000 scikit-learn points, stratified 80/20 split (200 test points). CIFAR-10: "
            "validation = 5,000 training images (stratified), test = the first 1,000 official test "
            "images (the offline copy holds no more; a test accuracy near 85-90% carries about 1 "
            "percentage point of standard error). Every table states the command that produced it."
        ),
    ]
    compare = results / "part1_compare"
    if (compare / "table.csv").exists():
        import csv

        rows = list(csv.DictReader(open(compare / "table.csv")))
        diffs = max(float(r["max_param_diff"]) for r in rows)
        moons = [r for r in rows if r["dataset"] == "moons"]
        low = min(min(float(r["numpy_test_acc"]), float(r["torch_test_acc"])) for r in moons)
        blocks += [
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
    bench = results / "benchmarks" / "mlp.md"
    if bench.exists():
        blocks += [
            Para("Speed (command: " + _commands(results / "benchmarks", "COMMAND_mlp.txt") + "):"),
            md_table(bench, "Seconds per training step, and the NumPy MLP's GFLOP/s against NumPy's matmul"),
        ]
    for name, caption in (
        ("cifar_mlp", "CIFAR-10 MLP training step on this CPU, against torch.matmul in the same run"),
        ("cnn", "Reduced VGG training throughput on this CPU, against torch.matmul in the same run"),
        ("rnn", "Training step of the hand-written loops against torch.nn.RNN / nn.LSTM"),
    ):
        if (results / "benchmarks" / f"{name}.md").exists():
            blocks += [
                Para(f"Speed (command: {_commands(results / 'benchmarks', f'COMMAND_{name}.txt')}):"),
                md_table(results / "benchmarks" / f"{name}.md", caption),
            ]

    for title, folder in (
        ("2.2 Part I Task 3: the CIFAR-10 MLP", results / "part1_cifar_mlp"),
        ("2.3 Part II: the reduced VGG", results / "part2_cnn"),
    ):
        if not (folder / "table.md").exists():
            continue
        runs = [summarise_run(p) for p in sorted(folder.iterdir()) if (p / "metrics.jsonl").exists()]
        blocks += [
            Heading(title, 2),
            Para("Commands: " + _commands(folder)),
            md_table(folder / "table.md", "Runs (test accuracy on the first 1,000 official test images)"),
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
            if (folder / f"curves_{r['run']}.png").exists() and r["run"] in (
                "0_plain",
                "spec_adam_lr1e-4",
                "spec_adam_lr1e-3",
                "best",
            ):
                blocks.append(Figure(folder / f"curves_{r['run']}.png", f"{r['run']}: loss and accuracy"))
            if r["run"] == "best" and (folder / "confusion_best.png").exists():
                blocks.append(Figure(folder / "confusion_best.png", "best: test confusion matrix", 0.6))
        if (folder / "compare_test_acc.png").exists():
            blocks.append(Figure(folder / "compare_test_acc.png", "Test accuracy of every run against epochs", 0.7))
        if folder.name == "part2_cnn":
            blocks += ablation_blocks(results)

    sweep = results / "part3_rnn"
    if (sweep / "sweep.csv").exists() and (sweep / "summary.md").exists():
        rows = load_sweep(sweep)
        summary = summarise(rows)
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
    ("part2_cnn_ablation_cpu_bf16", "the best recipe shortened to 1,500 steps (~4 epochs), on the 2-core bf16 CPU"),
    ("part2_cnn_gpu/ablation", "the fp32 CPU recipe (best_cpu, 4,800 steps), on a GPU"),
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


# --------------------------------------------------------------------------- rendering


def to_html(blocks: list) -> str:
    out = [
        "<!doctype html><html><head><meta charset='utf-8'><title>CS324 Assignment 2 report</title><style>",
        "body{font-family:sans-serif;max-width:1100px;margin:auto;padding:1em;line-height:1.4}"
        "table{border-collapse:collapse;font-size:12px;margin:0.5em 0}td,th{border:1px solid #bbb;"
        "padding:2px 6px}th{background:#eee}caption{font-style:italic;text-align:left}img{max-width:100%}",
        "</style></head><body>",
    ]
    for b in blocks:
        if isinstance(b, Heading):
            level = min(b.level + 1, 4)
            out.append(f"<h{level}>{html.escape(b.text)}</h{level}>")
        elif isinstance(b, Para):
            out.append(f"<p>{html.escape(b.text)}</p>")
        elif isinstance(b, Table):
            out.append(
                f"<table><caption>{html.escape(b.caption)}</caption><tr>"
                + "".join(f"<th>{html.escape(h)}</th>" for h in b.header)
                + "</tr>"
            )
            out += ["<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in b.rows]
            out.append("</table>")
        elif isinstance(b, Figure):
            data = base64.b64encode(b.path.read_bytes()).decode()
            out.append(
                f"<figure><img style='width:{b.width * 100:.0f}%' src='data:image/png;base64,{data}'>"
                f"<figcaption>{html.escape(b.caption)}</figcaption></figure>"
            )
    out.append("</body></html>")
    return "\n".join(out)


def portable(path: Path) -> str:
    """A path as the generated files record it: relative to the repository (never this machine's absolute path)."""
    path = path.resolve()
    try:
        return path.relative_to(ROOT).as_posix()
    except ValueError:  # results outside the repository: the file name alone
        return path.name


def to_pdf(blocks: list, path: Path) -> None:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import cm
    from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, TableStyle
    from reportlab.platypus import Table as RLTable

    page = landscape(A4)
    doc = SimpleDocTemplate(
        str(path),
        pagesize=page,
        leftMargin=1.2 * cm,
        rightMargin=1.2 * cm,
        topMargin=1.2 * cm,
        bottomMargin=1.2 * cm,
        title="CS324 Assignment 2 report",
        invariant=True,  # no creation date or random document id: the same results give the same bytes
    )
    styles = getSampleStyleSheet()
    cell = styles["BodyText"].clone("cell", fontSize=6.5, leading=7.5)
    head = styles["BodyText"].clone("head", fontSize=6.5, leading=7.5, fontName="Helvetica-Bold")
    esc = lambda s: html.escape(str(s))
    story = []
    for b in blocks:
        if isinstance(b, Heading):
            story.append(Paragraph(esc(b.text), styles[["Title", "Heading1", "Heading2", "Heading3"][b.level]]))
        elif isinstance(b, Para):
            story.append(Paragraph(esc(b.text), styles["BodyText"]))
        elif isinstance(b, Table):
            data = [[Paragraph(esc(h), head) for h in b.header]]
            data += [[Paragraph(esc(c), cell) for c in row] for row in b.rows]
            t = RLTable(data, repeatRows=1, hAlign="LEFT")
            t.setStyle(
                TableStyle(
                    [
                        ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
                        ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
                        ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ]
                )
            )
            if b.caption:
                story.append(Paragraph(f"<i>{esc(b.caption)}</i>", styles["BodyText"]))
            story += [t, Spacer(1, 6)]
        elif isinstance(b, Figure):
            from PIL import Image as PILImage

            w, h = PILImage.open(b.path).size
            width = min(doc.width * b.width, doc.width)
            height = width * h / w
            if height > doc.height * 0.85:
                height = doc.height * 0.85
                width = height * w / h
            story += [
                Image(str(b.path), width=width, height=height),
                Paragraph(f"<i>{esc(b.caption)}</i>", styles["BodyText"]),
                Spacer(1, 6),
            ]
    doc.build(story)


@cli
def main(argv: list[str] | None = None) -> None:
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--results", default=str(ROOT / "results"))
    parser.add_argument("--out", default=str(ROOT / "report"))
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    np.random.seed(0)
    results = existing_dir(args.results, "--results")
    out = writable_dir(args.out)
    blocks = build_blocks(results)
    (out / "report.html").write_text(to_html(blocks))
    (out / "blocks.json").write_text(
        json.dumps(
            [
                {"kind": type(b).__name__, **{k: portable(v) if isinstance(v, Path) else v for k, v in vars(b).items()}}
                for b in blocks
            ],
            indent=1,
        )
        + "\n"
    )
    try:
        to_pdf(blocks, out / "report.pdf")
        print(f"wrote {out / 'report.html'} and {out / 'report.pdf'}")
    except ImportError:
        print(f"wrote {out / 'report.html'}; reportlab is not installed, so no PDF", file=sys.stderr)


if __name__ == "__main__":
    main()
