"""Every committed result folder: the commands that make it, its seeds, and what is derived from it.

    python experiments/manifest.py list                  # the entries
    python experiments/manifest.py run                   # make every folder (hours to days on 2 CPU cores)
    python experiments/manifest.py run --only part3_rnn  # one entry
    python experiments/manifest.py run --quick           # each entry with --dry_run, into runs/reproduce_quick
                                                         # (in this interpreter: seconds, not minutes)

``make reproduce [ONLY=entry] [QUICK=1]`` calls this; ``tests/test_manifest.py`` checks every entry
against the committed folder. Commands run from the repository root; ``results/`` in them is the
results root (another folder under ``--quick``). ``derive`` commands rebuild a folder's tables and
figures from its metrics alone (seconds); ``derived`` lists the files they write. A folder that the code at HEAD
cannot remake moves to ``results/archive/`` (its README names the commit), out of the manifest.
"""

from __future__ import annotations

import argparse
import os
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PY = "python"  # replaced by the running interpreter


@dataclass(frozen=True)
class Entry:
    name: str
    commands: tuple[str, ...]
    seeds: tuple[int, ...] = (0,)
    derive: tuple[str, ...] = ()
    derived: tuple[str, ...] = ()
    headline: bool = False
    needs_cifar: bool = False
    quick: bool = True  # whether --quick runs it (benchmarks measure a machine: no dry run)
    # derive re-measures models in float32 (not only reads metrics): the last digits follow the CPU's SIMD kernels,
    # so its numbers are rebuilt to within 1% (the third significant digit), not byte for byte
    remeasured: bool = False

    @property
    def folder(self) -> Path:
        return ROOT / "results" / self.name


def cifar_mlp(
    name: str, flags: str = "", seeds: tuple[int, ...] = (0, 1, 2), headline: bool = False, recipe: str = ""
) -> Entry:
    """A CIFAR-10 MLP entry: one run of the trainer's ``recipe`` (default: best) with ``flags`` per seed, into
    results/<name>/seed<n>."""
    recipe, flags = f"--recipe {recipe} " if recipe else "", f" {flags}" if flags else ""
    return Entry(
        name,
        tuple(f"python -m cs324.mlp.cifar_mlp {recipe}--seed {n}{flags} --out results/{name}/seed{n}" for n in seeds),
        seeds=seeds,
        derive=(f"python -m cs324.results results/{name}",),
        derived=("table.md", "table.json"),
        headline=headline,
        needs_cifar=True,
    )


SWEEP = "python -m cs324.rnn.sweep"
# former best MLP recipes, as flags over the current one: 140 epochs; 70 epochs, dropout 0.2, the image and its
# mirror at test
MLP_140EP = "--max_steps 24640"
MLP_70EP = "--max_steps 12320 --dropout 0.2 --tta_shift 0"
ENTRIES = [
    Entry(
        "part1_compare",
        ("python -m cs324.mlp.compare --out results/part1_compare",),
        headline=True,
    ),
    cifar_mlp("part1_cifar_mlp_plain", recipe="plain", seeds=(0,), headline=True),
    cifar_mlp("part1_cifar_mlp_best", headline=True),
    cifar_mlp("part1_cifar_mlp_best_rerun", seeds=(0,)),  # seed 0 of part1_cifar_mlp_best again, from a clean clone
    cifar_mlp("part1_cifar_mlp_140ep", MLP_140EP),  # the best recipe at 140 epochs, its former length
    # the 140-epoch recipe with the former dropout and mirror-only views; with more dropout (seed 0 each)
    cifar_mlp("part1_cifar_mlp_dropout02", f"{MLP_140EP} --dropout 0.2 --tta_shift 0", seeds=(0,)),
    cifar_mlp("part1_cifar_mlp_dropout04", f"{MLP_140EP} --dropout 0.4", seeds=(0,)),
    cifar_mlp("part1_cifar_mlp_mixup02", "--mixup 0.2", seeds=(0,)),  # the best recipe with mixup
    cifar_mlp("part1_cifar_mlp_70ep", MLP_70EP),  # the former best recipe: half the schedule, dropout 0.2, mirror only
    Entry(
        "part1_cifar_mlp_ablation",  # the 70-epoch recipe with one ingredient out, seed 0 (full: none out)
        tuple(
            f"python -m cs324.mlp.cifar_mlp --seed 0 {flags} --out results/part1_cifar_mlp_ablation/{name}"
            for name, flags in (
                ("full", MLP_70EP),
                ("no_augment", f"{MLP_70EP} --augment none"),
                ("no_dropout", "--max_steps 12320 --tta_shift 0 --dropout 0"),
                ("no_label_smoothing", f"{MLP_70EP} --label_smoothing 0"),
                ("no_weight_decay", f"{MLP_70EP} --weight_decay 0"),
                ("constant_lr", f"{MLP_70EP} --lr_schedule constant"),
                ("relu", f"{MLP_70EP} --activation relu"),
                ("no_norm", f"{MLP_70EP} --norm none"),
            )
        ),
        derive=("python -m cs324.results results/part1_cifar_mlp_ablation",),
        derived=("table.md", "table.json"),
        needs_cifar=True,
    ),
    Entry(
        "part2_cnn_spec",
        tuple(f"python -m cs324.cnn.cnn_train --seed {n} --out results/part2_cnn_spec/seed{n}" for n in (0, 1, 2)),
        seeds=(0, 1, 2),
        derive=("python -m cs324.results results/part2_cnn_spec",),
        derived=("table.md", "table.json"),
        headline=True,
        needs_cifar=True,
    ),
    Entry(
        "part2_cnn_best",
        tuple(
            f"python -m cs324.cnn.cnn_train --recipe best --seed {n} --out results/part2_cnn_best/seed{n}"
            for n in (0, 1, 2)
        ),
        seeds=(0, 1, 2),
        derive=("python -m cs324.results results/part2_cnn_best",),
        derived=("table.md", "table.json"),
        headline=True,
        needs_cifar=True,
    ),
    Entry(
        "part2_cnn_best_25ep",  # the best recipe at half its length, without mixup: what 25 more epochs and mixup buy
        tuple(
            f"python -m cs324.cnn.cnn_train --recipe best --max_steps 8800 --mixup 0 --seed {n} "
            f"--out results/part2_cnn_best_25ep/seed{n}"
            for n in (0, 1, 2)
        ),
        seeds=(0, 1, 2),
        derive=("python -m cs324.results results/part2_cnn_best_25ep",),
        derived=("table.md", "table.json"),
        needs_cifar=True,
    ),
    Entry(
        "part2_cnn_amp",  # the best recipe shortened, bf16 autocast against fp32: what bf16 costs (a native-bf16 CPU)
        (
            "python -m cs324.cnn.cnn_train --recipe best --max_steps 1000 --eval_freq 500 --mixup 0 "
            "--out results/part2_cnn_amp/bf16",
            "python -m cs324.cnn.cnn_train --recipe best --max_steps 1000 --eval_freq 500 --mixup 0 --no-amp "
            "--out results/part2_cnn_amp/fp32",
        ),
        derive=("python -m cs324.results results/part2_cnn_amp",),
        derived=("table.md", "table.json"),
        needs_cifar=True,
    ),
    Entry(
        "part2_cnn_optimizers",  # the spec run with another optimiser (the reference, Adam 1e-4, is part2_cnn_spec)
        (
            "python -m cs324.cnn.cnn_train --learning_rate 1e-3 --out results/part2_cnn_optimizers/adam_lr1e-3",
            "python -m cs324.cnn.cnn_train --optimizer sgd --learning_rate 0.01 --momentum 0.9 "
            "--out results/part2_cnn_optimizers/sgd_momentum",
            "python -m cs324.cnn.cnn_train --optimizer rmsprop --learning_rate 1e-4 --momentum 0 "
            "--out results/part2_cnn_optimizers/rmsprop",
        ),
        derive=("python -m cs324.results results/part2_cnn_optimizers",),
        derived=("table.md", "table.json"),
        needs_cifar=True,
    ),
    Entry(
        "part3_rnn",
        (
            f"{SWEEP} --out results/part3_rnn --lengths 5 10 15 20 25 30 40 --max_steps 6000 --patience 8 "
            "--workers 2 --device cpu",
            f"{SWEEP} --out results/part3_rnn --variants lstm --lengths 50 60 --max_steps 6000 --patience 8 "
            "--workers 1 --device cpu",
            f"{SWEEP} --out results/part3_rnn --variants rnn_curriculum rnn_default rnn_best --workers 1 --device cpu",
            f"{SWEEP} --out results/part3_rnn --variants rnn_curriculum lstm --lengths 80 --workers 1 --device cpu",
        ),
        seeds=(0, 1, 2),
        derive=("python -m cs324.rnn.analysis --sweep results/part3_rnn",),
        derived=("summary.md",),
    ),
    Entry(
        "part3_rnn_goals",
        tuple(
            f"{SWEEP} --out results/part3_rnn_goals --variants {v} --lengths {t} --patience {p} --max_steps 10000 "
            "--eval_freq 250 --workers 1 --device cpu"
            for v, t, p in (("rnn_default", "20", 0), ("rnn_best", "30", 0), ("lstm", "60", 16))
        )
        + (
            f"{SWEEP} --out results/part3_rnn_goals --variants rnn_curriculum --lengths 30 40 50 --patience 0 "
            "--max_steps 10000 --eval_freq 250 --workers 1 --device cpu",
        ),
        seeds=(0, 1, 2),
        derive=("python -m cs324.rnn.analysis --sweep results/part3_rnn_goals",),
        derived=("summary.md",),
    ),
    Entry(
        "part3_rnn_success",
        (
            f"{SWEEP} --out results/part3_rnn_success --variants rnn_default rnn_best --lengths 5 8 10 12 15 16 17 "
            "18 19 20 21 22 23 25 30 35 40 50 60 70 80 90 100 --seeds 0 1 2 3 4 5 6 7 8 9 --max_steps 6000 "
            "--patience 8 --workers 2 --device cpu --until_zero",
        ),
        seeds=tuple(range(10)),
        derive=("python -m cs324.rnn.success results/part3_rnn_success",),
        derived=("success.md", "success.json"),
        headline=True,
    ),
    Entry(
        "part3_rnn_t20",
        (
            f"{SWEEP} --out results/part3_rnn_t20 --variants rnn_default rnn_best lstm --lengths 20 --seeds 0 "
            "--max_steps 6000 --patience 8 --workers 1 --device cpu --keep_runs",
        ),
        derive=("python -m cs324.rnn.analysis --sweep results/part3_rnn_t20",),
        derived=("summary.md",),
    ),
    Entry(
        "part3_rnn_t100",
        (
            f"{SWEEP} --out results/part3_rnn_t100 --variants rnn_curriculum rnn_curriculum_mixed --lengths 100 "
            "--seeds 0 1 2 --max_steps 10000 --patience 16 --workers 2 --device cpu --keep_runs",
            f"{SWEEP} --out results/part3_rnn_t100 --variants rnn_default --default_max_T 100 --lengths 100 "
            "--seeds 0 --max_steps 10000 --patience 16 --workers 1 --device cpu --keep_runs",
            f"{SWEEP} --out results/part3_rnn_t100 --variants lstm_curriculum_mixed lstm --lengths 100 "
            "--seeds 0 1 2 --max_steps 10000 --patience 16 --workers 2 --device cpu --keep_runs",
        ),
        seeds=(0, 1, 2),
        derive=("python -m cs324.rnn.analysis --sweep results/part3_rnn_t100",),
        derived=("summary.md",),
        headline=True,
    ),
    Entry(
        "part3_rnn_gradients",
        (),  # measured from the kept runs of part3_rnn_t100 and part3_rnn_t20: its command is its derive step
        derive=(
            "python -m cs324.rnn.gradients --runs results/part3_rnn_t100/runs results/part3_rnn_t20/runs "
            "--out results/part3_rnn_gradients",
        ),
        derived=("gradients.md", "gradients.json"),
        remeasured=True,
    ),
    Entry(
        "benchmarks",
        (
            "OMP_NUM_THREADS=1 python benchmarks/bench_mlp.py --out results/benchmarks",
            "python benchmarks/bench_cifar_mlp.py --out results/benchmarks",
            "python benchmarks/bench_cnn.py --out results/benchmarks",
            "python benchmarks/bench_rnn.py --out results/benchmarks --name rnn",
        ),
        quick=False,  # timings of one machine: measured, never dry-run; each writes results/benchmarks/<cpu>/
    ),
]
BY_NAME = {e.name: e for e in ENTRIES}


def argv_of(command: str, results: str = "results", python: str = sys.executable) -> list[str]:
    """A command as argv, with ``results/`` pointing at ``results`` and ``python`` at this interpreter.
    Leading ``VAR=value`` words stay (run_command turns them into the environment)."""
    words = [python if w == PY else w for w in shlex.split(command)]
    return [results + w[len("results") :] if w == "results" or w.startswith("results/") else w for w in words]


def run_command(command: str, results: str, dry_run: bool) -> None:
    argv = argv_of(command, results)
    env = dict(os.environ)
    while argv and "=" in argv[0] and not argv[0].startswith("-"):
        key, value = argv.pop(0).split("=", 1)
        env[key] = value
    if dry_run:
        argv.append("--dry_run")
    print("+ " + shlex.join(argv), flush=True)
    if dry_run and argv[1] == "-m" and env == os.environ:
        run_in_process(argv[2], argv[3:])  # seconds of work each: an interpreter start-up would double it
    else:
        subprocess.run(argv, cwd=ROOT, env=env, check=True)


def run_in_process(module: str, args: list[str]) -> None:
    """``python -m module args`` in this interpreter, from the repository root."""
    import runpy

    saved_argv, saved_cwd = sys.argv, os.getcwd()
    sys.argv = [module, *args]
    os.chdir(ROOT)
    try:
        runpy.run_module(module, run_name="__main__", alter_sys=True)
    except SystemExit as e:
        if e.code not in (0, None):
            raise subprocess.CalledProcessError(e.code if isinstance(e.code, int) else 1, [module, *args]) from None
    finally:
        sys.argv = saved_argv
        os.chdir(saved_cwd)


def cifar_available() -> bool:
    from cs324.data.cifar10 import CifarDataError, load_cifar10

    try:
        load_cifar10()
    except CifarDataError:
        return False
    return True


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("action", choices=["list", "run"])
    parser.add_argument("--only", choices=list(BY_NAME), help="one entry")
    parser.add_argument("--quick", action="store_true", help="every command with --dry_run, into --results")
    parser.add_argument("--results", default=None, help="results root (default: results, or runs/reproduce_quick)")
    args = parser.parse_args(argv)
    entries = [BY_NAME[args.only]] if args.only else ENTRIES
    if args.action == "list":
        for e in entries:
            flags = "headline" if e.headline else ""
            print(f"{e.name:<22} seeds {','.join(map(str, e.seeds)):<20} {flags}")
        return
    results = args.results or ("runs/reproduce_quick" if args.quick else "results")
    has_cifar = cifar_available()
    for e in entries:
        if args.quick and not e.quick:
            print(f"{e.name}: not dry-run ({'a GPU run' if 'cuda' in e.commands[0] else 'timings'})", flush=True)
            continue
        if e.needs_cifar and not has_cifar:
            print(f"{e.name}: skipped, no CIFAR-10 (set CIFAR10_DIR)", flush=True)
            continue
        for command in quick_commands(e) if args.quick else e.commands:
            run_command(command, results, args.quick)
        for command in e.derive if not (args.quick and e.commands) else ():  # derive steps: tested on the real folders
            run_command(command, results, False)


def quick_commands(entry: Entry) -> list[str]:
    """Under --quick, the first command of each module in an entry: a dry run of the same module with other
    flags exercises the same code (a sweep's second line, a second spec run)."""
    seen, chosen = set(), []
    for command in entry.commands:
        module = command.split(" -m ")[1].split()[0] if " -m " in command else command
        if module not in seen:
            seen.add(module)
            chosen.append(command)
    return chosen


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT / "src"))
    main()
