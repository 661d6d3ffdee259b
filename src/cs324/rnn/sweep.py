"""Part III Task 2: validation accuracy against palindrome length T, for four training variants.

    python -m cs324.rnn.sweep --out results/part3_rnn              # the full sweep
    python -m cs324.rnn.sweep --dry_run --out runs/sweep_dry       # seconds

Variants (each keeps the assignment's equations; only inputs, initialisation and
training change):

- ``rnn_default``: the vanilla RNN with the course defaults (digit-value input, nn.RNN's
  uniform init, RMSprop 1e-3 constant, clip 10);
- ``rnn_best``: the vanilla RNN with one-hot digits, orthogonal W_hh, cosine decay of
  the learning rate over the budget and clip 1;
- ``lstm``: the hand-written LSTM, one-hot digits, same training as ``rnn_best``;
- ``rnn_curriculum``: ``rnn_best`` trained first on T=10, 15, ... (the first half of the
  budget), then on the target length (``train.py --curriculum``);
- ``rnn_curriculum_mixed``: the same, with half of every stage's batches drawn from earlier
  lengths (``--curriculum_sampling mixed``; not in the default set);
- ``lstm_curriculum_mixed``: ``lstm`` with that curriculum and mixed sampling (not in the
  default set).

Every point gets the same budget and stopping rule: at most ``--max_steps`` steps of
batch 128, evaluated every 250 steps, stopped early once validation accuracy holds at
100% for 3 evaluations or has not improved for ``--patience`` evaluations (for
``rnn_curriculum`` counted on the target length only);
``--data_size`` palindromes (all of them when fewer exist) split 80/20. Reported: the
best validation accuracy (the ``best.pt`` a user would keep) and the final one. The
course defaults are not run beyond ``--default_max_T``; with ``--until_zero`` a variant's
longer lengths are not run once every seed of one length has failed (the success rate is 0
there: ``cs324.rnn.success``). Jobs run in parallel worker
processes, one thread each (with ``--workers 1`` or ``--dry_run``, one after another in this
process); results are appended to ``sweep.csv`` as they finish.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import multiprocessing as mp
import os
import sys
import time
from pathlib import Path

from cs324.cli import (
    ArgumentParser,
    TrainingError,
    add_dry_run,
    cli,
    int_in,
    nonnegative_int,
    positive_int,
    seed,
    writable_dir,
)
from cs324.runfolder import atomic_write_text
from cs324.runtime import DRY_RUN_STEPS

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
# rnn_curriculum with mixed sampling: half of each stage's batches revisit earlier lengths
VARIANTS["rnn_curriculum_mixed"] = VARIANTS["rnn_curriculum"] + ["--curriculum_sampling", "mixed"]
# the LSTM with the same curriculum and mixed sampling
VARIANTS["lstm_curriculum_mixed"] = VARIANTS["lstm"] + ["--curriculum", "10", "--curriculum_sampling", "mixed"]
DEFAULT_VARIANTS = ["rnn_default", "rnn_best", "lstm", "rnn_curriculum"]
FIELDS = ["variant", "T", "seed", "best_val_acc", "final_val_acc", "best_step", "steps_run", "seconds", "device"]


def variant_args(variant: str, T: int) -> list[str]:
    """The variant's flags at length T; a curriculum that would start above T starts at T (none)."""
    args = list(VARIANTS[variant])
    if "--curriculum" in args:
        i = args.index("--curriculum") + 1
        args[i] = str(min(int(args[i]), T))
    return args


def job_argv(job: dict) -> list[str]:
    """The ``cs324.rnn.train`` flags of one job."""
    T = job["T"]
    return [
        "--input_length",
        str(T - 1),
        "--seed",
        str(job["seed"]),
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
        *variant_args(job["variant"], T),
    ]


class JobFailed(RuntimeError):
    """A worker's run failed: the sweep stops (a pool would otherwise wait for it forever)."""


def run_job(job: dict) -> dict:
    try:
        return _run_job(job)
    except BaseException as e:  # SystemExit and KeyboardInterrupt too: a dead worker would hang the pool
        raise JobFailed(f"{job['variant']} T={job['T']} seed={job['seed']}: {type(e).__name__}: {e}") from None


def _run_job(job: dict) -> dict:
    import torch

    from cs324.rnn import train as rnn_train

    torch.set_num_threads(1)
    T, variant, seed = job["T"], job["variant"], job["seed"]
    # kept: a run folder per job (best.pt for the analysis of gradients after training), else no files (--out "")
    out = str(Path(job["out"]) / "runs" / f"{variant}_T{T}_seed{seed}") if job["keep_runs"] else ""
    config = rnn_train.build_parser().parse_args([*job_argv(job), "--out", out, "--overwrite"])
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
    atomic_write_text(curve_dir / f"{variant}_T{T}_seed{seed}.json", json.dumps(result.records))
    return row


def read_rows(csv_path: Path) -> list[dict]:
    """The complete rows of ``sweep.csv``; a row torn by a kill is dropped (and the file rewritten without it)."""
    if not csv_path.exists():
        return []
    with open(csv_path, newline="") as f:
        rows = list(csv.DictReader(f))
    complete = [r for r in rows if all(r.get(k) not in (None, "") for k in FIELDS)]
    if len(complete) < len(rows):
        print(f"notice: dropped {len(rows) - len(complete)} incomplete row(s) of {csv_path}", file=sys.stderr)
        write_rows(csv_path, complete)
    return complete


def write_rows(csv_path: Path, rows: list[dict]) -> None:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, FIELDS)
    writer.writeheader()
    writer.writerows(rows)
    atomic_write_text(csv_path, buffer.getvalue())


def build_parser() -> ArgumentParser:
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="results/part3_rnn")
    parser.add_argument(
        "--lengths", type=int_in(2), nargs="+", default=[5, 10, 15, 20, 25, 30, 40, 50, 60], help="palindrome lengths T"
    )
    parser.add_argument("--variants", nargs="+", choices=list(VARIANTS), default=DEFAULT_VARIANTS)
    parser.add_argument("--seeds", type=seed, nargs="+", default=[0, 1, 2])
    parser.add_argument("--max_steps", type=positive_int, default=6000)
    parser.add_argument("--eval_freq", type=positive_int, default=250)
    parser.add_argument("--data_size", type=positive_int, default=50000)
    parser.add_argument("--workers", type=positive_int, default=max(1, (os.cpu_count() or 2) - 1))
    parser.add_argument("--device", choices=["cpu", "cuda", "auto"], default="auto")
    parser.add_argument(
        "--patience",
        type=nonnegative_int,
        default=8,
        help="stop a run after N evaluations without a better validation accuracy; 0: never "
        "(default: 8, i.e. 2,000 steps at --eval_freq 250)",
    )
    parser.add_argument(
        "--default_max_T",
        type=positive_int,
        default=50,
        help="longest T run for rnn_default, which is at chance well before (default: 50)",
    )
    parser.add_argument(
        "--keep_runs", action="store_true", help="keep each job's run folder (config, metrics, best.pt) under OUT/runs/"
    )
    parser.add_argument(
        "--until_zero",
        action="store_true",
        help="one length at a time; skip a variant's longer lengths once every seed of a length has failed "
        "(best validation accuracy under cs324.rnn.success's threshold)",
    )
    add_dry_run(parser, "T in {5, 10}, seed 0, a few steps each")
    return parser


def jobs_of(args: argparse.Namespace) -> list[dict]:
    """The jobs a sweep's parsed flags ask for, shortest T first (stopped early, the sweep still holds a
    contiguous range of lengths); under ``--dry_run``: T in {5, 10}, seed 0, a few steps."""
    lengths, seeds, max_steps, eval_freq, data_size = (
        args.lengths,
        args.seeds,
        args.max_steps,
        args.eval_freq,
        args.data_size,
    )
    if args.dry_run:
        lengths, seeds, max_steps, eval_freq, data_size = [5, 10], [0], DRY_RUN_STEPS, 2, 2000
    return [
        dict(
            T=T,
            variant=v,
            seed=s,
            max_steps=max_steps,
            eval_freq=eval_freq,
            data_size=data_size,
            patience=args.patience,
            device=args.device,
            out=args.out,
            keep_runs=args.keep_runs,
        )
        for T in sorted(set(lengths))
        for v in args.variants
        for s in sorted(set(seeds))
        if not (v == "rnn_default" and T > args.default_max_T)
    ]


@cli
def main(argv: list[str] | None = None) -> None:
    args = build_parser().parse_args(argv)
    grid = jobs_of(args)
    from cs324.rnn import train as rnn_train

    for job in grid:  # every job's configuration is checked before anything is written or any worker starts
        rnn_train.resolve(rnn_train.build_parser().parse_args(job_argv(job)))
    out = writable_dir(args.out)
    csv_path = out / "sweep.csv"
    rows = read_rows(csv_path)
    done = {(r["variant"], int(r["T"]), int(r["seed"])) for r in rows}
    if not csv_path.exists():
        write_rows(csv_path, [])
    jobs = [job for job in grid if (job["variant"], job["T"], job["seed"]) not in done]
    record_command(out, argv)
    # one wave per length under --until_zero (the next is chosen from the rows so far), else one wave of every job
    waves = [[j for j in jobs if j["T"] == T] for T in sorted({j["T"] for j in jobs})] if args.until_zero else [jobs]
    seeds = sorted({j["seed"] for j in grid})
    if args.workers == 1 or args.dry_run:  # one job at a time: in this process (no worker to start, seconds saved)
        run_waves(waves, lambda wave: map(run_job, wave), csv_path, rows, done, seeds)
        return
    # A fresh worker per job (maxtasksperchild=1): whatever a job leaves behind (long-lived workers once grew to
    # 6-17 GB, see runtime.return_freed_memory) goes with its process. A worker start costs seconds, a job minutes.
    # Leaving the pool terminates the workers.
    with mp.get_context("spawn").Pool(args.workers, maxtasksperchild=1) as pool:
        run_waves(waves, lambda wave: pool.imap_unordered(run_job, wave), csv_path, rows, done, seeds)


def run_waves(waves: list[list[dict]], run, csv_path: Path, rows: list[dict], done: set, seeds: list[int]) -> None:
    """Each wave's jobs, less those of variants already at a success rate of 0 at a shorter length."""
    for wave in waves:
        zero = zero_lengths(rows, seeds)
        rows += append_rows(run([j for j in wave if j["T"] <= zero.get(j["variant"], j["T"])]), csv_path, done)


def zero_lengths(rows: list[dict], seeds: list[int]) -> dict[str, int]:
    """Per variant, the shortest T at which every one of ``seeds`` has a row and failed."""
    from cs324.rnn.success import THRESHOLD

    results: dict[tuple[str, int], dict[int, float]] = {}
    for r in rows:
        results.setdefault((r["variant"], int(r["T"])), {})[int(r["seed"])] = float(r["best_val_acc"])
    zero: dict[str, int] = {}
    for (variant, T), acc in sorted(results.items()):
        if all(s in acc and acc[s] < THRESHOLD for s in seeds) and variant not in zero:
            zero[variant] = T
    return zero


def append_rows(rows, csv_path: Path, done: set) -> list[dict]:
    """Append each finished job's row to ``sweep.csv`` as it arrives, once per job; the rows appended."""
    added = []
    try:
        for row in rows:
            key = (row["variant"], row["T"], row["seed"])
            if key in done:
                continue
            done.add(key)
            with open(csv_path, "a", newline="") as f:
                csv.DictWriter(f, FIELDS).writerow(row)
            print(json.dumps(row), flush=True)
            added.append(row)
    except JobFailed as e:
        raise TrainingError(f"sweep stopped: {e}") from None
    return added


def record_command(out: Path, argv: list[str]) -> None:
    """Append the command to ``COMMAND.txt`` (a sweep may be extended by later invocations), once."""
    command = "python -m cs324.rnn.sweep " + " ".join(argv) + "\n"
    recorded = out / "COMMAND.txt"
    if command not in (recorded.read_text().splitlines(keepends=True) if recorded.exists() else []):
        with open(recorded, "a") as f:
            f.write(command)


if __name__ == "__main__":
    main()
