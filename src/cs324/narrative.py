"""The analysis, written once: paragraphs whose every number is read from the committed results.

The report (``cs324.report``) prints these paragraphs under each part's "Analysis" heading and the
notebooks display the same ones (``display(Markdown(...))``), so no paragraph exists twice. Each
function takes the results root and returns a list of paragraphs; a result that is missing (a
fresh ``make reproduce QUICK=1`` folder, say) drops its paragraph instead of failing.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np

from cs324.results import mean_std, run_folders, seed_summary, summarise_run
from cs324.runtime import read_metrics


def pct(x: float, digits: int = 1) -> str:
    return f"{100 * x:.{digits}f}%"


def points(x: float, signed: bool = True) -> str:
    if abs(x) < 0.0005:
        return "0.0 points"
    return f"{100 * x:+.1f} points" if signed else f"{100 * abs(x):.1f} points"


def seeds_of(folder: Path) -> list[dict]:
    return [summarise_run(r) for r in run_folders(folder)] if folder.is_dir() else []


def overfitting(run: Path) -> dict:
    """When validation loss bottoms out, and how far training accuracy ends above validation accuracy."""
    records = [r for r in read_metrics(run) if "val_loss" in r]
    lowest = min(records, key=lambda r: r["val_loss"])
    last = records[-1]
    return dict(
        lowest_epoch=lowest.get("epoch", 0.0),
        lowest_step=lowest["step"],
        last_epoch=last.get("epoch", 0.0),
        rise=last["val_loss"] - lowest["val_loss"],
        gap=(last.get("train_acc") or 0.0) - last["val_acc"],
        train=last.get("train_acc") or 0.0,
        val=last["val_acc"],
    )


# --------------------------------------------------------------------------- Part I


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
    table = results / "part1_cifar_mlp/table.json"
    if table.exists():
        rows = {r["run"]: r for r in json.loads(table.read_text())}
        steps = [k for k in rows if k[0].isdigit() and k != "0_plain"]
        deltas = ", ".join(
            f"{b.split('_', 1)[1].replace('_', ' ')} {points(rows[b]['best_val_acc'] - rows[a]['best_val_acc'])}"
            for a, b in zip(steps, steps[1:])
        )
        base, flip, crop = rows[steps[0]], rows.get("5_flip"), rows.get("6_flipcrop")
        best = rows.get("best")
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
                f"on validation after {best['epochs']:.0f} epochs with training accuracy still at "
                f"{pct(best['final_train_acc'])}: an MLP must learn every shifted copy of a pattern separately, "
                f"so augmentation by shifts turns over-fitting into under-fitting that only a long schedule "
                f"repays. We read this as the reason a pure MLP plateaus: without weight sharing across "
                f"positions its accuracy is bounded by how many shifted views it can absorb in the budget."
            )
        out.append(text)
    return out


# --------------------------------------------------------------------------- Part II


def part2(results: Path) -> list[str]:
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
    explored = results / "part2_cnn/table.json"
    if explored.exists():
        r = {row["run"]: row for row in json.loads(explored.read_text())}
        opts = [
            ("Adam 1e-3", "spec_adam_lr1e-3"),
            ("SGD with momentum", "opt_sgd_momentum"),
            ("RMSprop", "opt_rmsprop"),
        ]
        if all(k in r for _, k in opts) and "best" in r:
            listed = "; ".join(
                f"{name} {pct(r[k]['best_val_acc'])} validation at its best evaluation, "
                f"{pct(r[k]['final_test_acc'])} test at the end"
                for name, k in opts
            )
            best = r["best"]
            drop = r["opt_rmsprop"]["test_acc_at_best_val"] - r["opt_rmsprop"]["final_test_acc"]
            out.append(
                f"The exploratory runs (one seed, first {best['n_test']:,} test images, appendix A) add two "
                f"observations. At the spec budget the optimiser matters little on validation ({listed}); "
                f"RMSprop's final test accuracy lies {points(drop, signed=False)} below its test accuracy at the "
                f"best-validation step, "
                f"so selecting on validation, not taking the last step, is what makes it "
                f"comparable. The best recipe, with the same layers, reaches {pct(best['test_acc_at_best_val'])} "
                f"after {best['epochs']:.0f} epochs, with training accuracy {pct(best['final_train_acc'])}: the "
                f"spec run's accuracy is a property of its short, constant-rate schedule, not of the architecture."
            )
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


# --------------------------------------------------------------------------- Part III


def part3(results: Path) -> list[str]:
    from cs324.rnn.analysis import load_sweep
    from cs324.rnn.success import THRESHOLD, success_table

    out = []
    folder = results / "part3_rnn_success"
    if (folder / "sweep.csv").exists() and (folder / "success.json").exists():
        table = success_table(load_sweep(folder))
        parity = json.loads((folder / "success.json").read_text())["parity"]
        lines = []
        for variant, by_T in table.items():
            seeds = max(p["n"] for p in by_T.values())
            full = [T for T, p in by_T.items() if p["n"] == seeds]
            every = max((T for T in full if by_T[T]["k"] == seeds), default=None)
            low = [T for T in full if by_T[T]["rate"] <= 0.5]
            line = f"{variant} succeeds on all {seeds} seeds up to T={every}"
            if low:
                p = by_T[min(low)]
                line += (
                    f", and by T={min(low)} only {p['k']} of {p['n']} do (95% interval "
                    f"{p['lo']:.2f}-{p['hi']:.2f}; mean best accuracy {p['mean']:.2f} +- {p['std']:.2f})"
                )
            lines.append(line)
        out.append(
            "Memory fails as a lottery, not as a slope: at each length a seed either learns the palindrome "
            "(validation accuracy near 100%) or plateaus far below it. "
            + "; ".join(lines)
            + ". One-hot inputs, an orthogonal W_hh, a cosine learning "
            "rate and clipping at 1 move the transition to longer palindromes but keep it sharp."
        )
        p = parity.get("rnn_default")
        if p and p["pooled"]["odd"]["n"] and p["pooled"]["even"]["n"]:
            odd, even = p["pooled"]["odd"], p["pooled"]["even"]
            out.append(
                f"Odd and even lengths: over the transition of the course defaults (T = {min(p['transition'])} to "
                f"{max(p['transition'])}), odd lengths succeed {odd['k']}/{odd['n']} times and even lengths "
                f"{even['k']}/{even['n']}; a likelihood-ratio test of a parity term in a logistic fit of success "
                f"against T over every run gives p = {p['p_value']:.2f}: no evidence that odd and even lengths differ."
            )
    t100 = results / "part3_rnn_t100/sweep.csv"
    if t100.exists():
        rows = load_sweep(t100.parent)
        acc = lambda v: [r["best_val_acc"] for r in rows if r["variant"] == v]  # noqa: E731
        T = max(r["T"] for r in rows)
        share = lambda v: f"{sum(a >= THRESHOLD for a in acc(v))} of {len(acc(v))}"  # noqa: E731
        if all(acc(v) for v in ("rnn_curriculum", "rnn_curriculum_mixed", "lstm", "lstm_curriculum_mixed")):
            out.append(
                f"At T={T} ({T - 1} digits fed) a curriculum over lengths teaches the vanilla RNN, with the "
                f"assignment's equations unchanged, but only if it keeps revisiting earlier lengths: the plain "
                f"curriculum reaches {pct(THRESHOLD, 0)} on {share('rnn_curriculum')} seeds (it forgets earlier "
                f"stages as later ones grow long), the "
                f"mixed one, with half of each stage's batches at an earlier length, on "
                f"{share('rnn_curriculum_mixed')}. The LSTM without a curriculum learns T={T} on "
                f"{share('lstm')} seeds within the budget, with the mixed curriculum on "
                f"{share('lstm_curriculum_mixed')}."
            )
    grads = results / "part3_rnn_gradients/gradients.json"
    if grads.exists():
        g = {r["run"]: r for r in json.loads(grads.read_text())}
        ratio = lambda r, key: r[key][0] / r[key][-1]  # noqa: E731  dL/dh(1) over dL/dh(T-1)
        pick = {k: g.get(f"{k}_T100_seed0") for k in ("rnn_default", "rnn_curriculum_mixed", "lstm_curriculum_mixed")}
        if all(pick.values()):
            d, c, lstm = pick["rnn_default"], pick["rnn_curriculum_mixed"], pick["lstm_curriculum_mixed"]
            out.append(
                f"The gradients say why. With the course defaults at T={d['T']} the gradient that reaches the first "
                f"input, ||dL/dh(1)||, is {ratio(d, 'grad_norm_trained'):.1e} of the one at the last input after "
                f"training: nothing learned about the first digit can reach the loss, although the spectral radius "
                f"of W_hh grew from {d['spectral_radius_initial']:.2f} to {d['spectral_radius_trained']:.2f}; "
                f"a radius above 1 does not help when tanh saturates. The RNN trained with the mixed curriculum "
                f"keeps that ratio at {ratio(c, 'grad_norm_trained'):.1e} (radius "
                f"{c['spectral_radius_trained']:.2f}), and the LSTM's additive cell path at "
                f"{ratio(lstm, 'grad_norm_trained'):.1e}: where the ratio stays near 1 the model can learn the "
                f"first digit, and where it collapses, so does accuracy."
            )
    return out


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
    t100 = results / "part3_rnn_t100/sweep.csv"
    if t100.exists():
        from cs324.rnn.analysis import load_sweep

        rows = [r for r in load_sweep(t100.parent) if r["variant"] == "rnn_curriculum_mixed"]
        mixed = [r["best_val_acc"] for r in rows]
        if mixed:
            parts.append(
                f"The vanilla RNN's memory is a probability that falls sharply with length, but it is not a wall: "
                f"a curriculum that keeps revisiting short palindromes takes all {len(mixed)} seeds to at least "
                f"{pct(min(mixed))} validation accuracy at T={max(r['T'] for r in rows)}, with the assignment's "
                "equations unchanged."
            )
    return parts
