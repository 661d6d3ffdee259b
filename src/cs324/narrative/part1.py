"""Part I: the NumPy-PyTorch comparison (Task 2) and the CIFAR-10 MLP (Task 3)."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from cs324.evaluation import SCHEMES
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
        runs = run_folders(results / "part1_cifar_mlp_best")
        o = [overfitting(r) for r in runs]
        config = json.loads((runs[0] / "config.json").read_text())
        text = (
            f"The best recipe (three 2048-wide batch-normalised GELU layers, dropout {config['dropout']}, AdamW with "
            f"a one-cycle schedule, label smoothing, mirror-and-crop augmentation, {best_seeds[0]['epochs']:.0f} "
            f"epochs, scored on {len(SCHEMES[scheme_of(config)])} views of each image) reaches "
            f"{mean_std(m['test_mean'], m['test_std'], m['n'])} on {m['n_test'][0]:,} test images"
        )
        if plain:
            text += f", {points(m['test_mean'] - seed_summary(plain)['test_mean'])} over the plain MLP"
        gap = float(np.mean([x["gap"] for x in o]))
        falling = sum(x["lowest_epoch"] == x["last_epoch"] for x in o)
        side = "above" if gap >= 0 else "below"
        train, val = (pct(float(np.mean([x[k] for x in o]))) for k in ("train", "val"))
        late = sum(r["best_step"] >= 0.9 * r["steps"] for r in best_seeds)
        text += (
            f". Training accuracy, measured on augmented batches with dropout on (harder inputs than "
            f"validation's), ends {points(gap, signed=False)} {side} validation ({train} against {val})"
        )
        if plain:
            plain_gap = overfitting(run_folders(results / "part1_cifar_mlp_plain")[0])["gap"]
            text += f", against {points(plain_gap, signed=False)} above for the plain MLP on clean ones"
        text += (
            f"; the best validation accuracy falls in the last tenth of the schedule in "
            f"{late} of {len(best_seeds)} runs, and "
            f"validation loss is still falling at the end in {falling} of {len(o)}"
        )
        text += (
            ": the regularised MLP is still learning when its budget ends, not memorising."
            if 2 * falling > len(o) and 2 * late > len(best_seeds)
            else ": by the end of its budget the regularised MLP has levelled off on validation."
        )
        text += views_gain(runs, best_seeds)
        out.append(text)
        out += schedule(results, best_seeds)
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


def scheme_of(config: dict) -> str:
    """The test-time scheme a run's config.json asked for (runs made before --tta_shift scored the mirror)."""
    if not config.get("tta"):
        return "none"
    return f"flip_shift{config['tta_shift']}" if config.get("tta_shift") else "flip"


def views_gain(runs: list[Path], summaries: list[dict]) -> str:
    """What the shifted test-time views add over the image and its mirror alone, at each run's chosen step
    (every evaluation scores both from the same forward passes)."""
    at_best = []
    for run, s in zip(runs, summaries):
        record = next((r for r in read_metrics(run) if r.get("step") == s["best_step"] and "val_acc_flip" in r), None)
        if record is None:
            return ""
        at_best.append(record)
    gain = {k: float(np.mean([r[f"{k}_acc"] - r[f"{k}_acc_flip"] for r in at_best])) for k in ("val", "test")}
    return (
        f" The shifted views add {points(gain['val'])} on validation and {points(gain['test'])} on test over the "
        f"image and its mirror alone (mean of {len(at_best)} runs, the same forward passes, the same checkpoint)."
    )


def mirror_val(run: Path) -> float:
    """A run's best validation accuracy on the image and its mirror alone (runs scored on more views record it
    beside their own score)."""
    return max(r.get("val_acc_flip", r["val_acc"]) for r in read_metrics(run) if "val_acc" in r)


def mirror_test(runs: list[Path], summaries: list[dict]) -> float:
    """Mean over runs of test accuracy on the image and its mirror alone, at each run's chosen step."""
    by_name = {p.name: p for p in runs}
    return float(
        np.mean(
            [
                next(
                    r.get("test_acc_flip", r["test_acc"])
                    for r in read_metrics(by_name[s["run"]])
                    if r["step"] == s["best_step"] and "test_acc" in r
                )
                for s in summaries
            ]
        )
    )


def std_error(m: dict) -> str:
    """The standard error of a seed summary's mean test accuracy."""
    return pct(m["test_std"] / m["n"] ** 0.5, 2)


def schedule(results: Path, best_seeds: list[dict]) -> list[str]:
    """How the recipe got its length and its dropout, one step at a time on validation with mirror-only views (for a
    fair comparison): the former 70-epoch recipe (three seeds), the same at twice the length, then more dropout (and
    more still, which lost), then 200 epochs (seed 0 each); and the three seeds of each recipe on test."""
    short, mid = seeds_of(results / "part1_cifar_mlp_70ep"), seeds_of(results / "part1_cifar_mlp_140ep")
    long_run, mid0 = results / "part1_cifar_mlp_dropout02/seed0", results / "part1_cifar_mlp_140ep/seed0"
    best0 = results / "part1_cifar_mlp_best/seed0"
    first = next((r for r in best_seeds if r["run"] == "seed0"), None)
    if not short or not mid or first is None or not (long_run / "metrics.jsonl").exists():
        return []
    d, m140 = summarise_run(long_run), summarise_run(mid0)
    val = [float(np.mean([r["best_val_acc"] for r in short])), d["best_val_acc"], mirror_val(mid0), mirror_val(best0)]
    old, new = (json.loads((f / "config.json").read_text())["dropout"] for f in (long_run, best0))
    _, band, _ = against(d, d, long_run)
    steps = np.diff(val)
    inside = int(sum(abs(x) <= band for x in steps))
    within = (
        "Each step is within one run's noise band"
        if inside == len(steps)
        else f"{('No', 'One', 'Two')[inside]} of the {len(steps)} steps {'is' if inside == 1 else 'are'} within one "
        f"run's noise band"
    )
    more, heavier = "", results / "part1_cifar_mlp_dropout04/seed0"
    if (heavier / "metrics.jsonl").exists():  # one step further, which lost
        h, rate = summarise_run(heavier), json.loads((heavier / "config.json").read_text())["dropout"]
        more = (
            f" (dropout {rate}: {pct(mirror_val(heavier), 2)}, {points(mirror_val(heavier) - val[2])}, training "
            f"accuracy {pct(h['final_train_acc'])}: more dropout under-fits)"
        )
    m, ms, mm = seed_summary(best_seeds), seed_summary(short), seed_summary(mid)
    test_flip = mirror_test(run_folders(results / "part1_cifar_mlp_best"), best_seeds)
    return [
        f"How the recipe got its length and dropout (validation, the image and its mirror at test time "
        f"throughout; two standard errors of a difference of one run are ±{points(band, signed=False)}): the former "
        f"recipe, {short[0]['epochs']:.0f} epochs at dropout {old}, reached {pct(val[0], 2)} on validation. Twice "
        f"the schedule at the same dropout (seed 0) reached {pct(val[1], 2)} ({points(steps[0])}), with training "
        f"accuracy climbing to {pct(d['final_train_acc'])} and validation peaking at epoch "
        f"{d['best_step'] / d['steps'] * d['epochs']:.0f} of {d['epochs']:.0f}: the longer schedule went into "
        f"fitting the training images. Dropout {new} at that length reached {pct(val[2], 2)} ({points(steps[1])}) "
        f"with training accuracy at {pct(m140['final_train_acc'])}{more}, which left room for a longer schedule: "
        f"{first['epochs']:.0f} epochs (the recipe's seed 0) reached {pct(val[3], 2)} ({points(steps[2])}; on the "
        f"six views {pct(first['best_val_acc'], 2)} against {pct(m140['best_val_acc'], 2)}) with training accuracy at "
        f"{pct(first['final_train_acc'])}. {within}; together they moved validation by "
        f"{points(val[3] - val[0])}. On test, three seeds each: the recipe reads {pct(m['test_mean'], 2)} with its "
        f"shifted views ({pct(test_flip, 2)} with the mirror alone), the same at {mid[0]['epochs']:.0f} epochs "
        f"{pct(mm['test_mean'], 2)} ({points(m['test_mean'] - mm['test_mean'])}), the former recipe "
        f"{pct(ms['test_mean'], 2)} ({points(m['test_mean'] - ms['test_mean'])}); standard errors of the three "
        f"means {std_error(m)}, {std_error(mm)} and {std_error(ms)}."
    ]


def rerun(results: Path, best_seeds: list[dict]) -> list[str]:
    """Seed 0 of the best recipe again, from a clean clone on another machine: how far a result moves."""
    folder = results / "part1_cifar_mlp_best_rerun/seed0"
    first = next((r for r in best_seeds if r["run"] == "seed0"), None)
    if first is None or not (folder / "metrics.jsonl").exists():
        return []
    again = summarise_run(folder)
    moved = [again[k] - first[k] for k in ("test_acc_at_best_val", "best_val_acc")]
    verdict = (
        "both within a point: the figure is the command's, not the run's"
        if max(map(abs, moved)) <= 0.01
        else "more than a point apart: one run moves the figure as much as the recipe"
    )
    return [
        f"The same command and seed, rerun from a clean clone at HEAD "
        f"({device_label(again, with_cpu=True)}, against {device_label(first, with_cpu=True)}), reads "
        f"{pct(again['test_acc_at_best_val'], 2)} on test against {pct(first['test_acc_at_best_val'], 2)} "
        f"({points(moved[0])}) and {pct(again['best_val_acc'], 2)} on validation against "
        f"{pct(first['best_val_acc'], 2)} ({points(moved[1])}), in {again['wall_s'] / 60:.0f} minutes against "
        f"{first['wall_s'] / 60:.0f}; {verdict}."
    ]


# The MLP ablation's rows: the flag each changes from the 70-epoch recipe (results/part1_cifar_mlp_ablation/<row>)
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
    """The former 70-epoch recipe with one ingredient taken out at a time, full length, seed 0, against that recipe's
    seed 0 on the same kind of CPU and precision (the row 'full')."""
    folder = results / "part1_cifar_mlp_ablation"
    full_run = folder / "full"
    rows = {r["run"]: r for r in seeds_of(folder) if r["run"] != "full"}
    if not rows or not (full_run / "metrics.jsonl").exists():
        return []
    full = summarise_run(full_run)
    dropout = json.loads((full_run / "config.json").read_text())["dropout"]
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
        f"Taking one ingredient out at a time from the former recipe at its full length ({full['epochs']:.0f} "
        f"epochs, dropout {dropout}, the image and its mirror at test time; seed 0, "
        f"{device_label(full, with_cpu=True)}; validation accuracy against the full recipe's "
        f"{pct(full['best_val_acc'], 2)}, test {pct(full['test_acc_at_best_val'], 2)} "
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
