"""Part III: how often a training run learns palindromes of length T, with 95% intervals.

    python -m cs324.rnn.success results/part3_rnn_success    # success.md, success.json, success_vs_length.png

A run *succeeds* when its best validation accuracy reaches 99% within the sweep's budget.
With many seeds per length (``cs324.rnn.sweep --seeds 0 1 ... 9``) the answer to "how long
can it remember" is a probability against T: the share of seeds that succeed, with a Wilson
95% interval (it stays inside [0, 1] and is honest at 0/10 and 10/10, where the normal
approximation collapses to a point). T is the palindrome length; the network reads T-1 digits.

Odd against even lengths: a logistic regression of success on T, with and without an
indicator of odd T, per variant; the likelihood-ratio test says whether parity explains
anything beyond length.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from pathlib import Path

import numpy as np

from cs324.cli import ArgumentParser, UsageError, add_dry_run, cli, existing_dir, output_dir
from cs324.rnn.analysis import CHANCE, load_sweep
from cs324.runfolder import atomic_write_text

THRESHOLD = 0.99  # best validation accuracy that counts as learned


def wilson_interval(k: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """The Wilson score interval of a binomial proportion k/n (95% for the default z)."""
    if n == 0:
        return 0.0, 1.0
    p = k / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def success_table(rows: list[dict], threshold: float = THRESHOLD) -> dict:
    """variant -> T -> {k, n, rate, lo, hi, mean, std, accs}: successes out of seeds and the accuracy spread."""
    accs = defaultdict(lambda: defaultdict(list))
    for r in rows:
        accs[r["variant"]][r["T"]].append(r["best_val_acc"])
    table = {}
    for variant, by_T in accs.items():
        table[variant] = {}
        for T, a in sorted(by_T.items()):
            k, n = sum(x >= threshold for x in a), len(a)
            lo, hi = wilson_interval(k, n)
            table[variant][T] = dict(
                k=k, n=n, rate=k / n, lo=lo, hi=hi, mean=float(np.mean(a)), std=float(np.std(a)), accs=a
            )
    return table


def _log_likelihood(x: np.ndarray, y: np.ndarray) -> float:
    """Maximised log-likelihood of a logistic regression of y on x (unpenalised; scikit-learn's solver)."""
    from sklearn.linear_model import LogisticRegression

    if y.min() == y.max():
        return 0.0  # every run the same: the intercept alone fits perfectly
    model = LogisticRegression(C=1e6, max_iter=10_000).fit(x, y)
    p = np.clip(model.predict_proba(x)[:, 1], 1e-12, 1 - 1e-12)
    return float(np.sum(y * np.log(p) + (1 - y) * np.log(1 - p)))


def parity_test(points: dict) -> dict:
    """Does odd T succeed more often than its length predicts? Pooled rates over the lengths where the
    rate is neither 0 nor 1 (the transition), and a likelihood-ratio test of an odd-T term in a
    logistic regression of success on T over every run."""
    T = np.array([t for t, p in points.items() for _ in range(p["n"])], float)
    y = np.array([s for p in points.values() for s in [1] * p["k"] + [0] * (p["n"] - p["k"])], float)
    odd = T % 2
    z = (T - T.mean()) / (T.std() or 1.0)
    ll_length = _log_likelihood(z[:, None], y)
    ll_parity = _log_likelihood(np.column_stack([z, odd]), y)
    statistic = max(0.0, 2 * (ll_parity - ll_length))
    p_value = math.erfc(math.sqrt(statistic / 2))  # chi-square with one degree of freedom
    band = [t for t, p in points.items() if 0 < p["rate"] < 1]
    pooled = {}
    if band:
        for name, parity in (("odd", 1), ("even", 0)):
            ts = [t for t in points if band[0] <= t <= band[-1] and t % 2 == parity]
            k, n = sum(points[t]["k"] for t in ts), sum(points[t]["n"] for t in ts)
            pooled[name] = dict(lengths=ts, k=k, n=n, interval=wilson_interval(k, n) if n else None)
    # 6 significant digits: the solver stops at a tolerance, and the digits past it change with the CPU's BLAS
    return dict(lr_statistic=float(f"{statistic:.6g}"), p_value=float(f"{p_value:.6g}"), transition=band, pooled=pooled)


def markdown(table: dict, parity: dict, n_val: str) -> str:
    lines = [
        f"Success: best validation accuracy >= {THRESHOLD:.0%} within the budget. T = palindrome length "
        f"(T-1 digits are fed). Interval: Wilson 95%. Validation: {n_val}.",
        "",
        "| variant | T | succeeded | rate | 95% interval | best val acc, mean +- std |",
        "|---|---|---|---|---|---|",
    ]
    for variant, points in table.items():
        for T, p in points.items():
            lines.append(
                f"| {variant} | {T} | {p['k']}/{p['n']} | {p['rate']:.2f} | [{p['lo']:.2f}, {p['hi']:.2f}] | "
                f"{p['mean']:.3f} +- {p['std']:.3f} |"
            )
    lines.append("")
    for variant, test in parity.items():
        pooled = "; ".join(
            f"{name} T {g['lengths']}: {g['k']}/{g['n']}" for name, g in test["pooled"].items() if g["n"]
        )
        lines.append(
            f"- {variant}, odd against even T: likelihood-ratio statistic {test['lr_statistic']:.2f}, "
            f"p = {test['p_value']:.3f}" + (f"; pooled over the transition, {pooled}" if pooled else "")
        )
    return "\n".join(lines) + "\n"


def plot(table: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4.2), constrained_layout=True)
    for variant, points in table.items():
        T = list(points)
        rate = [points[t]["rate"] for t in T]
        line = left.plot(T, rate, "o-", label=variant)[0]
        left.fill_between(
            T, [points[t]["lo"] for t in T], [points[t]["hi"] for t in T], alpha=0.2, color=line.get_color()
        )
        mean, std = np.array([points[t]["mean"] for t in T]), np.array([points[t]["std"] for t in T])
        right.plot(T, mean, "o-", color=line.get_color(), label=variant)
        right.fill_between(T, mean - std, np.minimum(mean + std, 1), alpha=0.2, color=line.get_color())
        for t in T:
            right.scatter([t] * points[t]["n"], points[t]["accs"], s=6, color=line.get_color(), alpha=0.4)
    n = max(p["n"] for points in table.values() for p in points.values())
    left.set_title(f"Share of seeds reaching {THRESHOLD:.0%} (up to {n} seeds), Wilson 95% band")
    left.set_ylabel("success rate")
    right.axhline(CHANCE, color="grey", ls="--", label="chance")
    right.set_title("Best validation accuracy: mean +- std, dots = seeds")
    right.set_ylabel("best validation accuracy")
    for ax in (left, right):
        ax.set_xlabel("palindrome length T (T-1 digits fed)")
        ax.set_ylim(-0.03, 1.03)
        ax.legend(fontsize=8)
    fig.savefig(path, dpi=120)
    plt.close(fig)


@cli
def main(argv: list[str] | None = None) -> None:
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sweep", help="a cs324.rnn.sweep folder (sweep.csv)")
    add_dry_run(parser, "build the table and figure, write nothing")
    args = parser.parse_args(argv)
    folder = existing_dir(args.sweep, "sweep folder")
    if not (folder / "sweep.csv").exists():
        raise UsageError(f"{folder / 'sweep.csv'}: no such file (run cs324.rnn.sweep first)")
    rows = load_sweep(folder)
    if not rows:
        raise UsageError(f"{folder / 'sweep.csv'} holds no runs yet")
    table = success_table(rows)
    parity = {variant: parity_test(points) for variant, points in table.items()}
    n_val = "20% of the distinct palindromes drawn (--data_size), never seen in training"
    with output_dir(folder, args.dry_run, "sweep folder") as out:
        atomic_write_text(out / "success.md", markdown(table, parity, n_val))
        atomic_write_text(out / "success.json", json.dumps({"table": table, "parity": parity}, indent=1) + "\n")
        plot(table, out / "success_vs_length.png")
    print(markdown(table, parity, n_val), end="")


if __name__ == "__main__":
    main()
