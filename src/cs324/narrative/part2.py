"""Part II: the reduced VGG's spec runs, the optimiser runs, the best recipe and the ablation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from cs324.narrative.common import against, overfitting, pct, points, seeds_of
from cs324.results import device_label, mean_std, run_folders, seed_summary, summarise_run


def part2(results: Path) -> list[str]:
    return (
        spec_runs(results)
        + optimizers(results)
        + best_runs(results)
        + length_and_mixup(results)
        + bf16(results)
        + ablation(results)
    )


def spec_runs(results: Path) -> list[str]:
    """The headline spec runs: accuracy over seeds, over-fitting, the seed's spread, confusions, the MLP gap."""
    spec = seeds_of(results / "part2_cnn_spec")
    out = []
    if spec:
        m = seed_summary(spec)
        runs = run_folders(results / "part2_cnn_spec")
        o = [overfitting(r) for r in runs]
        per_seed = ", ".join(f"{pct(r['test_acc_at_best_val'], 2)}" for r in spec)
        last_best = sum(r["best_step"] == r["steps"] for r in spec)
        still = [x for x in o if x["lowest_epoch"] == x["last_epoch"]]
        loss = (
            f"validation loss is still falling at the last evaluation in {len(still)} of {len(o)} runs"
            if still
            else f"validation loss bottoms out at epoch {np.mean([x['lowest_epoch'] for x in o]):.1f} on average"
        )
        out.append(
            f"The spec run (Adam, learning rate 1e-4, {spec[0]['steps']:,} steps of 32, about "
            f"{spec[0]['epochs']:.1f} epochs) reaches {mean_std(m['test_mean'], m['test_std'], m['n'])} on "
            f"{m['n_test'][0]:,} test images (seeds: {per_seed}). The best validation accuracy falls on the "
            f"last evaluation in {last_best} of {len(spec)} runs: at this budget the network is still learning "
            f"when training stops. The gap that over-fitting opens is already there: training accuracy ends "
            f"{points(float(np.mean([x['gap'] for x in o])))} above validation on average, while {loss}."
        )
        if m["n"] > 1:
            se = np.sqrt(m["test_mean"] * (1 - m["test_mean"]) / m["n_test"][0])  # of one accuracy on this test set
            out.append(
                f"The seed moves test accuracy by {100 * m['test_std']:.2f} points (sample standard deviation over "
                f"{m['n']} seeds); on {m['n_test'][0]:,} images the standard error of one accuracy near "
                f"{pct(m['test_mean'])} is {100 * se:.2f} points, "
                f"so the seed, not the test sample, is the larger source of spread."
            )
        confusion = runs[0] / "confusion_test.json"
        if confusion.exists():
            c = json.loads(confusion.read_text())
            matrix, names = np.array(c["matrix"]), c["classes"]
            recall = matrix.diagonal() / matrix.sum(1)
            off = matrix + matrix.T
            np.fill_diagonal(off, 0)
            i, j = np.unravel_index(off.argmax(), off.shape)
            out.append(
                f"The confusion matrix (seed {spec[0]['run'].removeprefix('seed')}) shows where it fails: "
                f"{names[recall.argmin()]} is recognised least ({pct(recall.min())} recall) and "
                f"{names[recall.argmax()]} best ({pct(recall.max())}); the pair confused most is "
                f"{names[i]} and {names[j]} ({off[i, j]} of {matrix.sum():,} test images in either direction)."
            )
        plain = seeds_of(results / "part1_cifar_mlp_plain")
        if plain:
            gain = m["test_mean"] - seed_summary(plain)["test_mean"]
            out.append(
                f"Against the plain MLP the reduced VGG gains {points(gain)} on the same test images with a "
                f"similarly plain training recipe: weight sharing across positions is the ingredient the MLP lacks."
            )
    return out


OPTIMIZERS = (  # run folder of results/part2_cnn_optimizers -> its name in the text
    ("adam_lr1e-3", "Adam at PyTorch's default rate 1e-3"),
    ("sgd_momentum", "SGD with momentum 0.9 at 0.01"),
    ("rmsprop", "RMSprop at 1e-4"),
)


def optimizers(results: Path) -> list[str]:
    """The spec run with another optimiser (one seed each) against the spec run's own seed 0, Adam 1e-4."""
    reference = results / "part2_cnn_spec/seed0"
    folder = results / "part2_cnn_optimizers"
    runs = {r.name: summarise_run(r) for r in run_folders(folder)} if folder.is_dir() else {}
    if not runs or not (reference / "metrics.jsonl").exists():
        return []
    ref = summarise_run(reference)
    listed = "; ".join(
        f"{name}: {pct(runs[k]['best_val_acc'])} validation, {pct(runs[k]['test_acc_at_best_val'], 2)} test "
        f"({points(runs[k]['test_acc_at_best_val'] - ref['test_acc_at_best_val'])})"
        for k, name in OPTIMIZERS
        if k in runs
    )
    # one run against one run: the difference's standard deviation is sqrt(2) times one run's (the seed spread)
    band = 2 * np.sqrt(2) * seed_summary(seeds_of(results / "part2_cnn_spec"))["test_std"]
    beyond = [k for k in runs if abs(runs[k]["test_acc_at_best_val"] - ref["test_acc_at_best_val"]) > band]
    verdict = (
        f"every change lies within {100 * band:.1f} points, two standard deviations of a difference between two "
        "single runs given the spec run's spread over seeds, so one run each shows none of them better or worse "
        "than Adam 1e-4"
        if not beyond
        else f"the changes beyond {100 * band:.1f} points (two standard deviations of a difference between two "
        "single runs, given the spec run's spread over seeds) are those of "
        + " and ".join(dict(OPTIMIZERS)[k] for k in beyond)
    )
    gap = {k: overfitting(folder / k)["gap"] for k in runs}
    ref_gap = overfitting(reference)["gap"]
    gaps = ", ".join(f"{points(gap[k])} with {name}" for k, name in OPTIMIZERS if k in gap)
    closer = [name for k, name in OPTIMIZERS if k in gap and gap[k] < ref_gap]  # fit training less closely
    return [
        f"The same spec run with another optimiser (seed 0, {ref['steps']:,} steps of 32, {ref['n_test']:,} test "
        f"images; in brackets the change in test accuracy against Adam 1e-4's "
        f"{pct(ref['test_acc_at_best_val'], 2)}): {listed}. At this budget {verdict}. Training accuracy ends "
        f"above validation by {gaps}, against {points(ref_gap)} with Adam 1e-4"
        + (
            f": at about the same held-out accuracy, {' and '.join(closer)} "
            f"{'fits' if len(closer) == 1 else 'fit'} the training images less closely than Adam 1e-4."
            if closer
            else "."
        )
    ]


def best_runs(results: Path) -> list[str]:
    """The best recipe's seeds against the spec run's: what the training recipe alone is worth."""
    best, spec = seeds_of(results / "part2_cnn_best"), seeds_of(results / "part2_cnn_spec")
    if not best:
        return []
    m = seed_summary(best)
    gaps = [overfitting(r)["gap"] for r in run_folders(results / "part2_cnn_best")]
    last_best = sum(r["best_step"] == r["steps"] for r in best)
    text = (
        f"The best recipe keeps every layer and changes only the training (recipe table above): "
        f"{best[0]['steps']:,} steps of 128, {best[0]['epochs']:.0f} epochs. It reaches "
        f"{mean_std(m['test_mean'], m['test_std'], m['n'])} on {m['n_test'][0]:,} test images"
    )
    if spec:
        text += f", a change of {points(m['test_mean'] - seed_summary(spec)['test_mean'])} from the spec run"
    text += (
        f": the spec run's accuracy is a property of its short, constant-rate schedule, not of the architecture. "
        f"Training accuracy ends {points(float(np.mean(gaps)))} above validation, and the best validation accuracy "
        f"falls on the last evaluation in {last_best} of {len(best)} runs: the one-cycle schedule anneals the rate to "
        f"zero there, so the last weights are the ones to keep. Section 4 sets it beside published VGG results, "
        f"trained for many more epochs."
    )
    return [text]


def length_and_mixup(results: Path) -> list[str]:
    """The best recipe against itself at half the length without mixup, both over seeds: what the two buy."""
    best, short = seeds_of(results / "part2_cnn_best"), seeds_of(results / "part2_cnn_best_25ep")
    if not best or not short:
        return []
    b, s = seed_summary(best), seed_summary(short)
    fit_b, fit_s = (
        [overfitting(r) for r in run_folders(results / f)] for f in ("part2_cnn_best", "part2_cnn_best_25ep")
    )
    gap_b, gap_s = (float(np.mean([o["gap"] for o in fit])) for fit in (fit_b, fit_s))
    train_b, train_s = (float(np.mean([o["train"] for o in fit])) for fit in (fit_b, fit_s))
    # the standard error of a difference of two means over seeds, each from its own sample spread
    se = float(np.sqrt(b["test_std"] ** 2 / b["n"] + s["test_std"] ** 2 / s["n"]))
    return [
        f"Half the length and no mixup ({short[0]['steps']:,} steps, {short[0]['epochs']:.0f} epochs, the same "
        f"recipe otherwise) reaches {mean_std(s['test_mean'], s['test_std'], s['n'])} on test and "
        f"{mean_std(s['val_mean'], s['val_std'], s['n'])} on validation, against "
        f"{mean_std(b['test_mean'], b['test_std'], b['n'])} and {mean_std(b['val_mean'], b['val_std'], b['n'])} "
        f"for the best recipe: the doubled length with mixup is worth {points(b['test_mean'] - s['test_mean'])} "
        f"on test (standard error of the difference {points(se, signed=False)}). Training accuracy (on the "
        f"batches as trained, mixed in the best recipe) ends at {pct(train_b)} against {pct(train_s)}, "
        f"{points(gap_b)} against {points(gap_s)} above validation: twice the epochs with mixup fit the training "
        f"images {'less closely, not more' if gap_b < gap_s else 'more closely'}."
    ]


def bf16(results: Path) -> list[str]:
    """The same short run of the best recipe in bf16 autocast and in fp32: what bf16 costs in accuracy."""
    folder = results / "part2_cnn_amp"
    if not all((folder / name / "metrics.jsonl").exists() for name in ("bf16", "fp32")):
        return []
    b, f = summarise_run(folder / "bf16"), summarise_run(folder / "fp32")
    delta, band, verdict = against(b, f, folder / "fp32")
    n_val = json.loads((folder / "fp32/config.json").read_text())["n_val"]
    lead = {"worse": "bf16 autocast costs accuracy"}.get(verdict, "bf16 autocast costs no accuracy beyond noise")
    return [
        f"{lead}: the best recipe shortened to {b['steps']:,} steps, seed 0, on a CPU with "
        f"native bf16 ({device_label(b, with_cpu=True)}), reaches {pct(b['best_val_acc'], 2)} on validation in bf16 "
        f"against {pct(f['best_val_acc'], 2)} in fp32 ({points(delta)}, {verdict}: two standard errors of a "
        f"difference on {n_val:,} images are ±{points(band, signed=False)}), {pct(b['test_acc_at_best_val'], 2)} "
        f"against {pct(f['test_acc_at_best_val'], 2)} on test, in {b['wall_s'] / f['wall_s']:.2f} of the fp32 run's "
        f"time (evaluations included)."
    ]


def ablation(results: Path) -> list[str]:
    """The archived, shortened ablation of the best recipe: what each ingredient is worth."""
    out = []
    ablation = results / "archive/part2_cnn_ablation_cpu_bf16/ablation.md"
    if ablation.exists():
        rows = {
            cells[0]: cells
            for cells in (
                [c.strip() for c in line.strip("|").split("|")]
                for line in ablation.read_text().splitlines()
                if line.startswith("| ") and not line.startswith("| variant")
            )
        }
        d = lambda k: float(rows[k][4])  # noqa: E731  (Δ val)
        epochs = summarise_run(ablation.parent / "full")["epochs"]
        out.append(
            f"The ablation of the best recipe (archived, shortened to {epochs:.1f} epochs, one seed, appendix "
            f"A) ranks the ingredients by validation accuracy lost when each is taken out: the one-cycle schedule "
            f"{points(d('no_schedule'))}, label smoothing {points(d('no_label_smoothing'))}, test-time flipping "
            f"{points(d('no_tta'))}, weight decay {points(d('no_weight_decay'))}. Augmentation goes the other "
            f"way at this length (no augmentation {points(d('no_augment'))}): like the MLP, the network needs more "
            f"epochs before harder training data pays, which is why the full recipe keeps it."
        )
    return out
