"""Part III: gradients through time, at initialisation and after training, read off kept run folders.

    python -m cs324.rnn.gradients --runs results/part3_rnn_t100/runs results/part3_rnn_t20/runs \
        --out results/part3_rnn_gradients

For every run folder (a ``cs324.rnn.sweep --keep_runs`` job, or a ``cs324.rnn.train`` run), the
model is rebuilt twice from its ``config.json``: with the initial weights of that seed and with
``best.pt``. On 256 validation palindromes the loss at the last step is back-propagated and
||dL/dh(t)|| (batch mean) is recorded for every input step t = 1..T-1: how much the loss still
feels the hidden state at each step, i.e. whether the first digit can be learned at all. For the
vanilla RNN the spectral radius of W_hh (the largest |eigenvalue|) is recorded before and after:
below 1 the linear part of each step shrinks what it carries.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import torch

from cs324.cli import ArgumentParser, UsageError, add_dry_run, cli, output_dir, seed
from cs324.config import from_record
from cs324.rnn.analysis import grad_norms_through_time
from cs324.rnn.dataset import PalindromeDataset, split_indices
from cs324.rnn.train import RNNConfig, make_model
from cs324.runfolder import atomic_write_text, load_checkpoint, read_metrics
from cs324.runtime import seed_everything


def rebuild(run: Path) -> tuple[RNNConfig, torch.nn.Module, torch.nn.Module]:
    """The run's config, its model at initialisation (same seed, same order as the trainer) and after training."""
    if not (run / "config.json").exists() or not (run / "best.pt").exists():
        raise UsageError(f"{run} holds no finished run (config.json and best.pt)")
    config = from_record(RNNConfig, json.loads((run / "config.json").read_text()))
    seed_everything(config.seed)  # the trainer seeds, then builds the model
    initial = make_model(config)
    trained = make_model(config)
    trained.load_state_dict(load_checkpoint(run / "best.pt")["model"])
    return config, initial, trained


def spectral_radius(model: torch.nn.Module) -> float | None:
    W = getattr(model, "W_hh", None)
    return None if W is None else float(torch.linalg.eigvals(W.detach().double()).abs().max())


def measure(run: Path, n: int = 256) -> dict:
    config, initial, trained = rebuild(run)
    data = PalindromeDataset(config.input_length, config.data_size, one_hot=config.one_hot, seed=config.seed)
    val = split_indices(len(data), config.portion_train, seed=config.seed)[1][:n]
    x, y = data.batch(val)
    records = read_metrics(run)  # the first is step 0: the untrained score
    return {
        "run": run.name,
        "model": config.model,
        "recurrent_init": config.recurrent_init if config.model == "rnn" else None,
        "T": config.input_length + 1,
        "seed": config.seed,
        "val_acc_initial": records[0]["val_acc"],
        "val_acc_trained": max(r["val_acc"] for r in records),
        "grad_norm_initial": grad_norms_through_time(initial, x, y).tolist(),
        "grad_norm_trained": grad_norms_through_time(trained, x, y).tolist(),
        "spectral_radius_initial": spectral_radius(initial),
        "spectral_radius_trained": spectral_radius(trained),
    }


def label(m: dict) -> str:
    name = "LSTM" if m["model"] == "lstm" else f"vanilla RNN, {m['recurrent_init']} W_hh"
    return f"{m['run'].rsplit('_T', 1)[0]}: {name}, val acc {m['val_acc_trained']:.2f}"


def plot(measured: list[dict], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lengths = sorted({m["T"] for m in measured})
    fig, axes = plt.subplots(1, len(lengths), figsize=(6 * len(lengths), 4.4), squeeze=False, constrained_layout=True)
    for ax, T in zip(axes[0], lengths):
        for k, m in enumerate(m for m in measured if m["T"] == T):
            t = np.arange(1, T)
            color = f"C{k}"
            ax.semilogy(t, m["grad_norm_initial"], "--", color=color, alpha=0.7)
            ax.semilogy(t, m["grad_norm_trained"], "-", color=color, label=label(m))
        ax.set_title(
            f"T = {T} (palindrome length; {T - 1} digits fed)\ndashed: at initialisation, solid: trained", fontsize=10
        )
        ax.set_xlabel("input step t")
        ax.set_ylabel("||dL/dh(t)||, batch mean (log)")
        ax.legend(fontsize=8)
    fig.savefig(path, dpi=120)
    plt.close(fig)


def markdown(measured: list[dict]) -> str:
    lines = [
        "| run | T | val acc (trained) | dL/dh(1) norm, init | trained | dL/dh(1) over dL/dh(T-1), trained | "
        "spectral radius W_hh, init | trained |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for m in measured:
        first, last = m["grad_norm_trained"][0], m["grad_norm_trained"][-1]
        radius = [
            f"{m[k]:.3f}" if m[k] is not None else "-" for k in ("spectral_radius_initial", "spectral_radius_trained")
        ]
        lines.append(
            f"| {m['run']} | {m['T']} | {m['val_acc_trained']:.4f} | {m['grad_norm_initial'][0]:.2e} | "
            f"{first:.2e} | {first / last:.2e} | {radius[0]} | {radius[1]} |"
        )
    return "\n".join(lines) + "\n"


@cli
def main(argv: list[str] | None = None) -> None:
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", nargs="+", required=True, help="folders of run folders (OUT/runs of a sweep)")
    parser.add_argument("--seed", type=seed, default=0, help="the seed whose runs are measured (default: 0)")
    parser.add_argument("--out", default="results/part3_rnn_gradients")
    add_dry_run(parser, "measure the first run only, write nothing")
    args = parser.parse_args(argv)
    runs = sorted(
        run for folder in args.runs for run in Path(folder).glob(f"*_seed{args.seed}") if (run / "best.pt").exists()
    )
    if not runs:
        raise UsageError(f"no finished run of seed {args.seed} under {' '.join(args.runs)}")
    torch.set_num_threads(1)
    with output_dir(args.out, args.dry_run) as out:
        measured = [measure(run) for run in (runs[:1] if args.dry_run else runs)]
        atomic_write_text(out / "gradients.json", json.dumps(measured, indent=1) + "\n")
        atomic_write_text(out / "gradients.md", markdown(measured))
        plot(measured, out / "gradients_through_time.png")
        command = " ".join(["python -m cs324.rnn.gradients", *(sys.argv[1:] if argv is None else argv)])
        atomic_write_text(out / "COMMAND.txt", command + "\n")
    print(markdown(measured), end="")


if __name__ == "__main__":
    main()
