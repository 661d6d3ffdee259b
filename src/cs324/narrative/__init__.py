"""The analysis, written once: paragraphs whose every number is read from the committed results.

The report (``cs324.report``) prints these paragraphs under each part's "Analysis" heading and the
notebooks display the same ones (``display(Markdown(...))``), so no paragraph exists twice. Each
function takes the results root and returns a list of paragraphs; a result that is missing (a
fresh ``make reproduce QUICK=1`` folder, say) drops its paragraph instead of failing.
"""

from __future__ import annotations

import csv
from pathlib import Path

from cs324.narrative.common import pct, points, seeds_of
from cs324.narrative.part1 import part1_cifar, part1_compare
from cs324.narrative.part2 import part2
from cs324.narrative.part3 import part3
from cs324.results import mean_std, seed_summary

__all__ = ["conclusion", "part1_cifar", "part1_compare", "part2", "part3", "pct", "points"]


def conclusion(results: Path) -> list[str]:
    parts = []
    compare = results / "part1_compare/table.csv"
    if compare.exists():
        rows = list(csv.DictReader(open(compare)))
        parts.append(
            f"The NumPy and PyTorch MLPs are the same algorithm to {max(float(r['max_param_diff']) for r in rows):.0e} "
            f"in every parameter, on {len({r['dataset'] for r in rows})} data sets and every training strategy."
        )
    plain = seeds_of(results / "part1_cifar_mlp_plain")
    spec = seeds_of(results / "part2_cnn_spec")
    if plain and spec:
        p, s = seed_summary(plain), seed_summary(spec)
        parts.append(
            f"On CIFAR-10 the reduced VGG's spec run ({mean_std(s['test_mean'], s['test_std'], s['n'])}) beats "
            f"the plain MLP ({mean_std(p['test_mean'], p['test_std'], p['n'])}) with the same kind of plain "
            f"training; the gap is the value of convolution's weight sharing."
        )
    best = seeds_of(results / "part1_cifar_mlp_best")
    if plain and best:
        p, b = seed_summary(plain), seed_summary(best)
        parts.append(
            f"A pure MLP trained well goes a long way: the best recipe reaches "
            f"{mean_std(b['test_mean'], b['test_std'], b['n'])}, {points(b['test_mean'] - p['test_mean'])} over the "
            f"plain MLP, with nothing but wider layers, normalisation, regularisation, augmentation, a schedule and "
            f"test-time views"
            + (
                f", {points(b['test_mean'] - s['test_mean'], signed=False)} "
                f"{'short of' if b['test_mean'] < s['test_mean'] else 'above'} the reduced VGG's spec run."
                if spec
                else "."
            )
        )
    t100 = results / "part3_rnn_t100/sweep.csv"
    if t100.exists():
        from cs324.rnn.analysis import load_sweep

        rows = [r for r in load_sweep(t100.parent) if r["variant"] == "rnn_curriculum_mixed"]
        mixed = [r["best_val_acc"] for r in rows]
        if mixed:
            parts.append(
                f"The vanilla RNN's memory is a probability that falls sharply with length, but it is not a wall: "
                f"a curriculum that keeps revisiting short palindromes takes all {len(mixed)} seeds to "
                + ("" if min(mixed) == 1 else "at least ")
                + f"{pct(min(mixed))} validation accuracy at T={max(r['T'] for r in rows)}, with the assignment's "
                "equations unchanged."
            )
    return parts
