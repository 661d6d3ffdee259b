"""Part III Task 2: validation accuracy against palindrome length T, for four training variants.

    python -m cs324.rnn.sweep --out results/part3_rnn              # the full sweep
    python -m cs324.rnn.sweep --quick --out runs/sweep_quick       # seconds (also CS324_QUICK=1)

Variants (each keeps the assignment's equations; only inputs, initialisation and
training change):

- ``rnn_default``: the vanilla RNN with the course defaults (digit-value input, nn.RNN's
  uniform init, RMSprop 1e-3 constant, clip 10);
- ``rnn_best``: the vanilla RNN with one-hot digits, orthogonal W_hh, cosine decay of
  the learning rate over the budget and clip 1;
- ``lstm``: the hand-written LSTM, one-hot digits, same training as ``rnn_best``;
- ``rnn_curriculum``: ``rnn_best`` trained first on T=10, 15, ... (the first half of the
  budget), then on the target length (``train.py --curriculum``).

Every point gets the same budget and stopping rule: at most ``--max_steps`` steps of
batch 128, evaluated every 250 steps, stopped early once validation accuracy holds at
100% for 3 evaluations or has not improved for ``--patience`` evaluations (for
``rnn_curriculum`` counted on the target length only);
``--data_size`` palindromes (all of them when fewer exist) split 80/20. Reported: the
best validation accuracy (the ``best.pt`` a user would keep) and the final one. The
course defaults are not run beyond ``--default_max_T``. Jobs run in parallel worker
processes, one thread each; results are appended to ``sweep.csv`` as they finish.
"""

from __future__ import annotations

import csv
import json
import multiprocessing as mp
import os
import sys
import time
from pathlib import Path

from cs324.cli import ArgumentParser

VARIANTS = {
    "rnn_default": [],
    "rnn_best": ["--one_hot", "--recurrent_init", "orthogonal", "--lr_schedule", "cosine", "--max_norm", "1"],
    "lstm": ["--model", "lstm", "--one_hot", "--lr_schedule", "cosine", "--max_norm", "1"],
    # rnn_best plus a curriculum over lengths: T=10, 15, ... before the target (see train.py --curriculum)
    "rnn_curriculum": [
        "--one_hot",
        "--recurrent_init",
        "orthogonal",
        "--lr_schedule",
        "cosine",
        "--max_norm",
        "1",
        "--curriculum",
        "10",
    ],
}
FIELDS = ["variant", "T", "seed", "best_val_acc", "final_val_acc", "best_step", "steps_run", "seconds", "device"]


def variant_args(variant: str, T: int) -> list[str]:
    """The variant's flags at length T; a curriculum that would start above T starts at T (none)."""
    args = list(VARIANTS[variant])
    if "--curriculum" in args:
        i = args.index("--curriculum") + 1
        args[i] = str(min(int(args[i]), T))
    return args


def run_job(job: dict) -> dict:
    import torch

    from cs324.rnn import train as rnn_train

    torch.set_num_threads(1)
    T, variant, seed = job["T"], job["variant"], job["seed"]
    argv = [
        "--input_length",
        str(T - 1),
        "--seed",
        str(seed),
        "--max_steps",
        str(job["max_steps"]),
        "--eval_freq",
        str(job["eval_freq"]),
        "--data_size",
        str(job["data_size"]),
        "--device",
        job["device"],
        "--quiet",
        "--patience",
        str(job["patience"]),
        *variant_args(variant, T),
    ]
    config = rnn_train.build_parser().parse_args(argv)
    config.out = None
    t0 = time.perf_counter()
    _, result = rnn_train.main(config)
    best = max(result.records, key=lambda r: r["val_acc"])
    row = {
        "variant": variant,
        "T": T,
        "seed": seed,
        "best_val_acc": best["val_acc"],
        "final_val_acc": result.records[-1]["val_acc"],
        "best_step": best["step"],
        "steps_run": result.records[-1]["step"],
        "seconds": round(time.perf_counter() - t0, 1),
        "device": "cuda" if job["device"] != "cpu" and torch.cuda.is_available() else "cpu",
    }
    curve_dir = Path(job["out"]) / "curves"
    curve_dir.mkdir(parents=True, exist_ok=True)
    (curve_dir / f"{variant}_T{T}_seed{seed}.json").write_text(json.dumps(result.records))
    return row


def main(argv: list[str] | None = None) -> None:
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="results/part3_rnn")
    parser.add_argument("--lengths", type=int, nargs="+", default=[5, 10, 15, 20, 25, 30, 40, 50, 60])
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=list(VARIANTS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--max_steps", type=int, default=6000)
    parser.add_argument("--eval_freq", type=int, default=250)
    parser.add_argument("--data_size", type=int, default=50000)
    parser.add_argument("--workers", type=int, default=max(1, (os.cpu_count() or 2) - 1))
    parser.add_argument("--device", choices=["cpu", "cuda", "auto"], default="auto")
    parser.add_argument(
        "--patience",
        type=int,
        default=8,
        help="stop a run after N evaluations without a better validation accuracy; 0: never "
        "(default: 8, i.e. 2,000 steps at --eval_freq 250)",
    )
    parser.add_argument(
        "--default_max_T",
        type=int,
        default=50,
        help="longest T run for rnn_default, which is at chance well before (default: 50)",
    )
    parser.add_argument("--quick", action="store_true", help="T in {5, 10}, 1 seed, 150 steps")
    args = parser.parse_args(argv)
    if args.quick or os.environ.get("CS324_QUICK") == "1":
        args.lengths, args.seeds, args.max_steps, args.eval_freq, args.data_size = [5, 10], [0], 150, 50, 2000
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    done = set()
    csv_path = out / "sweep.csv"
    if csv_path.exists():  # resume: skip the jobs already recorded
        done = {(r["variant"], int(r["T"]), int(r["seed"])) for r in csv.DictReader(open(csv_path))}
    else:
        with open(csv_path, "w", newline="") as f:
            csv.DictWriter(f, FIELDS).writeheader()
    # shortest first: stopped early, the sweep still holds a contiguous range of lengths
    jobs = [
        dict(
            T=T,
            variant=v,
            seed=s,
            max_steps=args.max_steps,
            eval_freq=args.eval_freq,
            data_size=args.data_size,
            patience=args.patience,
            device=args.device,
            out=str(out),
        )
        for T in sorted(args.lengths)
        for v in args.variants
        for s in args.seeds
        if (v, T, s) not in done and not (v == "rnn_default" and T > args.default_max_T)
    ]
    command = " ".join(argv if argv is not None else sys.argv[1:])
    with open(out / "COMMAND.txt", "a") as f:  # a sweep may be extended by later invocations
        f.write(f"python -m cs324.rnn.sweep {command}\n")
    with mp.get_context("spawn").Pool(args.workers) as pool:
        for row in pool.imap_unordered(run_job, jobs):
            with open(csv_path, "a", newline="") as f:
                csv.DictWriter(f, FIELDS).writerow(row)
            print(json.dumps(row), flush=True)


if __name__ == "__main__":
    main()
