"""Part I: the NumPy-PyTorch comparison (Task 2) and the CIFAR-10 MLP (Task 3)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from cs324.narrative.common import against, overfitting, pct, points, seeds_of
from cs324.results import device_label, mean_std, run_folders, seed_summary, summarise_run
from cs324.runtime import read_metrics


def part1_compare(results: Path) -> list[str]:
    path = results / "part1_compare/table.csv"
    if not path.exists():
        return []
    rows = list(csv.DictReader(open(path)))
    diff = max(float(r["max_param_diff"]) for r in rows)
    gaps = [abs(float(r["torch_test_acc"]) - float(r["sklearn_test_acc"])) for r in rows]
    by = {s: [r for r in rows if r["strategy"] == s] for s in ("sgd", "batch", "minibatch")}
    speed = {s: np.mean([float(r["torch_s"]) / float(r["numpy_s"]) for r in rs]) for s, rs in by.items() if rs}
    worst = min(rows, key=lambda r: float(r["numpy_test_acc"]))
    out = [
        f"The two implementations are one algorithm: started from the same weights and fed the same float64 "
        f"mini-batches, their parameters differ by at most {diff:.1e} after training in all {len(rows)} runs, "
        f"so every accuracy in the table is the same to the last digit. scikit-learn's MLPClassifier, with "
        f"the same architecture, batch size and epochs but its own initialisation, lands within "
        f"{pct(max(gaps))} of them on test (mean {pct(float(np.mean(gaps)))}): the small differences between "
        f"trainers come from the initial weights, not from the method.",
        f"The hardest set is {worst['dataset']} (noise {worst['noise']}): its lowest test accuracy, "
        f"{float(worst['numpy_test_acc']):.3f}, comes with the {worst['strategy']} strategy. "
        + " ".join(
            f"With {s} ({by[s][0]['epochs']} epochs, {int(by[s][0]['steps']):,} steps) PyTorch takes "
            f"{speed[s]:.1f}x NumPy's time."
            for s in speed
        )
        + " On 2-20-2 networks the work per step is tiny, so PyTorch's per-call overhead dominates where the "
        "steps are many and small (stochastic gradient descent), and disappears where they are few and large.",
    ]
    return out


def part1_cifar(results: Path) -> list[str]:
    plain = seeds_of(results / "part1_cifar_mlp_plain")
    out = []
    if plain:
        m = seed_summary(plain)
        o = overfitting(run_folders(results / "part1_cifar_mlp_plain")[0])
        out.append(
            f"The skeleton-style MLP (recipe plain) reaches {mean_std(m['test_mean'], m['test_std'], m['n'])} "
            f"test accuracy on {m['n_test'][0]:,} test images. Its validation loss is lowest at epoch "
            f"{o['lowest_epoch']:.0f} of {o['last_epoch']:.0f} and rises by {o['rise']:.3f} after it, while "
            f"training accuracy ends {points(o['gap'])} above validation ({pct(o['train'])} against "
            f"{pct(o['val'])}): without augmentation or regularisation a fully-connected network starts to "
            f"memorise the training images within a few passes."
        )
    best_seeds = seeds_of(results / "part1_cifar_mlp_best")
    if best_seeds:
        m = seed_summary(best_seeds)
        o = [overfitting(r) for r in run_folders(results / "part1_cifar_mlp_best")]
        text = (
            f"The best recipe (three 2048-wide batch-normalised GELU layers, dropout, AdamW with a one-cycle "
            f"schedule, label smoothing, mirror-and-crop augmentation, {best_seeds[0]['epochs']:.0f} epochs) "
            f"reaches {mean_std(m['test_mean'], m['test_std'], m['n'])} on {m['n_test'][0]:,} test images"
        )
        if plain:
            text += f", {points(m['test_mean'] - seed_summary(plain)['test_mean'])} over the plain MLP"
        gap = float(np.mean([x["gap"] for x in o]))
        falling = sum(x["lowest_epoch"] == x["last_epoch"] for x in o)
        side = "above" if gap >= 0 else "below"
        train, val = (pct(float(np.mean([x[k] for x in o]))) for k in ("train", "val"))
        text += (
            f". Training accuracy, measured on augmented batches with dropout on (harder inputs than "
            f"validation's), ends {points(gap, signed=False)} {side} validation ({train} against {val})"
        )
        if plain:
            plain_gap = overfitting(run_folders(results / "part1_cifar_mlp_plain")[0])["gap"]
            text += f", against {points(plain_gap, signed=False)} above for the plain MLP on clean ones"
        text += (
            f"; the best validation accuracy falls at the last evaluation in "
            f"{sum(r['best_step'] == r['steps'] for r in best_seeds)} of {len(best_seeds)} runs, and validation "
            f"loss is still falling there in {falling} of {len(o)}: the regularised MLP is still learning when "
            f"its budget ends, not memorising."
        )
        out.append(text)
        out += double_schedule(results, best_seeds)
        out += rerun(results, best_seeds)
        out += ablation(results)
    table = results / "archive/part1_cifar_mlp/table.json"
    if table.exists():
        rows = {r["run"]: r for r in json.loads(table.read_text())}
        steps = [k for k in rows if k[0].isdigit() and k != "0_plain"]
        deltas = ", ".join(
            f"{b.split('_', 1)[1].replace('_', ' ')} {points(rows[b]['best_val_acc'] - rows[a]['best_val_acc'])}"
            for a, b in zip(steps, steps[1:])
        )
        base, flip, crop = rows[steps[0]], rows.get("5_flip"), rows.get("6_flipcrop")
        best = best_seeds[0] if best_seeds else None
        text = (
            f"What each ingredient buys (exploratory runs, one seed, {rows[steps[0]]['epochs']:.0f} epochs each, "
            f"validation accuracy, appendix A): starting from a wide batch-normalised GELU MLP with AdamW and a "
            f"one-cycle schedule ({pct(base['best_val_acc'])}), adding one ingredient at a time gives {deltas}. "
            f"At this short budget weight decay, dropout and label smoothing are within noise; only the "
            f"training accuracy shows them working ({pct(base['final_train_acc'])} without, "
            f"{pct(rows['3_dropout']['final_train_acc'])} with dropout)."
        )
        if flip and crop and best:
            text += (
                f" The random crop costs {points(crop['best_val_acc'] - flip['best_val_acc'], signed=False)} at "
                f"{crop['epochs']:.0f} epochs, yet the full recipe with it reaches {pct(best['best_val_acc'])} "
                f"on validation after {best['epochs']:.0f} epochs ({best['run']}) with training accuracy still at "
                f"{pct(best['final_train_acc'])}: an MLP must learn every shifted copy of a pattern separately, "
                f"so augmentation by shifts turns over-fitting into under-fitting that only a long schedule "
                f"repays. We read this as the reason a pure MLP plateaus: without weight sharing across "
                f"positions its accuracy is bounded by how many shifted views it can absorb in the budget."
            )
        out.append(text)
    return out


def double_schedule(results: Path, best_seeds: list[dict]) -> list[str]:
    """The best recipe at twice its length, seed 0: what a longer schedule buys a regularised MLP."""
    double = seeds_of(results / "part1_cifar_mlp_best_double")
    first = next((r for r in best_seeds if r["run"] == "seed0"), None)
    if not double or first is None:
        return []
    d = double[0]
    _, band, _ = against(d, first, results / "part1_cifar_mlp_best_double/seed0")
    n_val = json.loads((results / "part1_cifar_mlp_best_double/seed0/config.json").read_text())["n_val"]
    band = points(band, signed=False)
    return [
        f"Twice the schedule ({d['epochs']:.0f} epochs, seed 0) reaches {pct(d['best_val_acc'], 2)} on validation "
        f"against {pct(first['best_val_acc'], 2)} ({points(d['best_val_acc'] - first['best_val_acc'])}; two "
        f"standard errors of a difference on {n_val:,} images are ±{band}) "
        f"and {pct(d['test_acc_at_best_val'], 2)} on test there, for twice the steps. Its training accuracy climbs "
        f"to {pct(d['final_train_acc'])} ({pct(first['final_train_acc'])} at {first['epochs']:.0f} epochs) while "
        f"validation peaks at epoch {d['best_step'] / d['steps'] * d['epochs']:.0f} and ends at "
        f"{pct(d['final_val_acc'], 2)}: the second half of the longer schedule goes into fitting the training "
        f"images, so a longer budget needs stronger regularisation beside it to pay. The recipe keeps "
        f"{first['epochs']:.0f} epochs."
    ]


def rerun(results: Path, best_seeds: list[dict]) -> list[str]:
    """Seed 0 of the best recipe again, from a clean clone on another machine: how far a result moves."""
    folder = results / "part1_cifar_mlp_best_rerun/seed0"
    first = next((r for r in best_seeds if r["run"] == "seed0"), None)
    if first is None or not (folder / "metrics.jsonl").exists():
        return []
    again = summarise_run(folder)
    moved = [again[k] - first[k] for k in ("test_acc_at_best_val", "best_val_acc")]
    causes = "the machine nor bf16" if again["amp"] != first["amp"] else "the machine"
    verdict = (
        f"both within a point, so neither {causes} moves the figure"
        if max(map(abs, moved)) <= 0.01
        else "more than a point apart: the machine moves the figure as much as the recipe"
    )
    return [
        f"The same command and seed, rerun from a clean clone at HEAD on another CPU "
        f"({device_label(again, with_cpu=True)}, against {device_label(first, with_cpu=True)}), reads "
        f"{pct(again['test_acc_at_best_val'], 2)} on test against {pct(first['test_acc_at_best_val'], 2)} "
        f"({points(moved[0])}) and {pct(again['best_val_acc'], 2)} on validation against "
        f"{pct(first['best_val_acc'], 2)} ({points(moved[1])}), in {again['wall_s'] / 60:.0f} minutes against "
        f"{first['wall_s'] / 60:.0f}; {verdict}."
    ]


# The MLP ablation's rows: the flag each changes from the best recipe (results/part1_cifar_mlp_ablation/<row>)
ABLATION = {
    "no_augment": "no mirror-and-crop augmentation",
    "no_dropout": "no dropout",
    "no_label_smoothing": "no label smoothing",
    "no_weight_decay": "no weight decay",
    "constant_lr": "a constant learning rate instead of one-cycle",
    "relu": "ReLU instead of GELU",
    "no_norm": "no batch normalisation",
}


def ablation(results: Path) -> list[str]:
    """The best recipe with one ingredient taken out at a time, full length, seed 0, against the full recipe's seed 0
    on the same kind of CPU and precision (the clean-clone rerun where it exists)."""
    folder = results / "part1_cifar_mlp_ablation"
    rerun = results / "part1_cifar_mlp_best_rerun/seed0"
    full_run = rerun if (rerun / "metrics.jsonl").exists() else results / "part1_cifar_mlp_best/seed0"
    rows = {r["run"]: r for r in seeds_of(folder)}
    if not rows or not (full_run / "metrics.jsonl").exists():
        return []
    full, which = summarise_run(full_run), "its clean-clone rerun" if full_run == rerun else "its seed 0"
    band = against(full, full, full_run)[1]
    parts, verdicts = [], {}
    for name, change in ABLATION.items():
        if name in rows:
            r = rows[name]
            delta, _, verdict = against(r, full, full_run)
            verdicts.setdefault(verdict, []).append(change.split(" instead of")[0])
            parts.append(
                f"{change} {points(delta)} ({verdict}; test {pct(r['test_acc_at_best_val'], 2)}, final training "
                f"accuracy {pct(r['final_train_acc'])})"
            )
    views = [r["val_acc_no_tta"] for r in read_metrics(full_run) if "val_acc_no_tta" in r]
    if views:  # with --tta every evaluation also scores the un-flipped image alone: no run of its own
        parts.append(
            f"scoring the un-flipped image alone (no TTA, the same run) {points(max(views) - full['best_val_acc'])}"
        )
    text = (
        f"Taking one ingredient out at a time at full length ({full['epochs']:.0f} epochs, seed 0, "
        f"{device_label(full, with_cpu=True)}; validation accuracy against the full recipe's "
        f"{pct(full['best_val_acc'], 2)} ({which}), test {pct(full['test_acc_at_best_val'], 2)} "
        f"and training accuracy {pct(full['final_train_acc'])}; two standard errors of a difference are "
        f"±{points(band, signed=False)}): " + "; ".join(parts) + "."
    )
    if len(rows) > 1:  # which changes one seed can tell apart from the full recipe, and which it cannot
        beyond = [f"{_listed(verdicts[v])} ({v})" for v in ("worse", "better") if verdicts.get(v)]
        if beyond:
            text += f" Beyond the noise band: {'; '.join(beyond)}."
        if verdicts.get("within noise"):
            text += f" Within it: {_listed(verdicts['within noise'])}."
    return [text]


def _listed(items: list[str]) -> str:
    """'a', 'a and b', 'a, b and c'."""
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]
