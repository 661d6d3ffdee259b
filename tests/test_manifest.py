"""The manifest of committed results: every folder listed, made by its commands at HEAD, its tables rebuilt."""

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys

import pytest
from conftest import ROOT

from cs324.config import as_dict

spec = importlib.util.spec_from_file_location("manifest", ROOT / "experiments/manifest.py")
manifest = importlib.util.module_from_spec(spec)
sys.modules["manifest"] = manifest  # dataclasses look their module up there
spec.loader.exec_module(manifest)
ENTRIES = manifest.ENTRIES


def module_args(command: str) -> tuple[str, list[str]]:
    """(module, its argv) of a ``python -m module ...`` command."""
    words = manifest.argv_of(command)
    while "=" in words[0]:
        words.pop(0)
    i = words.index("-m")
    return words[i + 1], words[i + 2 :]


def same_run(saved: dict, parsed: dict, defaults: dict) -> list[str]:
    """Keys where a run's config.json differs from what its command parses to at HEAD: the recorded
    environment, run steering (out, resume, ...) and flags added since the run, at their defaults (the
    config class's, which keep the old behaviour: a recipe may set a new flag otherwise), are not differences."""
    from cs324.runtime import ENV_KEYS, RUN_CONTROL_KEYS

    ignored = set(ENV_KEYS) | RUN_CONTROL_KEYS | {"n_val", "n_test"}
    added_off = {k for k in set(parsed) - set(saved) if parsed[k] == defaults.get(k)}
    keys = (set(saved) | set(parsed)) - ignored - added_off
    return sorted(k for k in keys if json.loads(json.dumps(parsed.get(k))) != saved.get(k))


def test_manifest_lists_every_results_folder():
    folders = {p.name for p in (ROOT / "results").iterdir() if p.is_dir() and p.name != "archive"}
    assert folders == {e.name for e in ENTRIES}
    assert all(e.seeds for e in ENTRIES)


@pytest.mark.parametrize("entry", ENTRIES, ids=lambda e: e.name)
def test_folder_exists_with_its_command_record(entry):
    assert entry.folder.is_dir(), f"{entry.folder} is listed in the manifest but missing"
    assert any(entry.folder.rglob("COMMAND*.txt")), f"{entry.folder} has no COMMAND.txt"


@pytest.mark.parametrize(
    "entry", [e for e in ENTRIES if "cs324.rnn.sweep" in " ".join(e.commands)], ids=lambda e: e.name
)
def test_sweep_rows_and_kept_runs_are_what_the_commands_make_at_head(entry):
    from cs324.rnn import sweep
    from cs324.rnn import train as rnn_train

    jobs = {}
    for command in entry.commands:
        _, argv = module_args(command)
        for job in sweep.jobs_of(sweep.build_parser().parse_args(argv)):
            jobs[(job["variant"], job["T"], job["seed"])] = job
    rows = sweep.read_rows(entry.folder / "sweep.csv")
    made = {(r["variant"], int(r["T"]), int(r["seed"])) for r in rows}
    assert len(made) == len(rows), "one row per job"
    assert made <= set(jobs), sorted(made - set(jobs))[:5]
    assert {int(r["seed"]) for r in rows} <= set(entry.seeds)
    for run in sorted((entry.folder / "runs").glob("*")) if (entry.folder / "runs").is_dir() else []:
        variant, T, seed = run.name.rsplit("_T", 1)[0], *map(int, run.name.rsplit("_T", 1)[1].split("_seed"))
        job = jobs[(variant, T, seed)]
        argv = [*sweep.job_argv(job), "--out", str(run), "--overwrite"]
        parser = rnn_train.build_parser()
        parsed = as_dict(rnn_train.resolve(parser.parse_args(argv)))
        saved = json.loads((run / "config.json").read_text())
        assert same_run(saved, parsed, vars(parser.parse_args([]))) == [], run.name


@pytest.mark.parametrize("entry", [e for e in ENTRIES if e.needs_cifar], ids=lambda e: e.name)
def test_cifar_runs_are_what_the_commands_make_at_head(entry):
    import importlib

    from cs324.runtime import read_metrics

    for command in entry.commands:
        module, argv = module_args(command)
        trainer = importlib.import_module(module)
        if not hasattr(trainer, "RECIPES"):
            continue
        out = manifest.argv_of(command)[manifest.argv_of(command).index("--out") + 1]
        for run in sorted((ROOT / out).parent.glob((ROOT / out).name + "*")):  # one folder per seed
            saved = json.loads((run / "config.json").read_text())
            config = trainer.parse([*argv, "--seed", str(saved["seed"])])
            parsed = as_dict(config)
            assert same_run(saved, parsed, as_dict(type(config)())) == [], run.name
            assert saved["n_test"] == 10_000 and saved["n_val"] == 5_000
            if saved.get("epochs") is None:  # ran to its budget: an unfinished run is no result
                assert read_metrics(run)[-1]["step"] == saved["max_steps"], f"{run.name} is unfinished"
                # max_steps is run control (a resume may extend it), yet it is the schedule's length too:
                # a 70-epoch folder must not pass for a 140-epoch command
                assert saved["max_steps"] == parsed["max_steps"], f"{run.name}: its length is not the command's"


@pytest.mark.slow  # seconds per entry (figures are redrawn): the quick loop leaves them to make test
@pytest.mark.parametrize("entry", [e for e in ENTRIES if e.derived], ids=lambda e: e.name)
def test_tables_are_rebuilt_from_the_metrics_byte_for_byte(entry, tmp_path):
    results = tmp_path / "results"
    for e in ENTRIES:  # the entry and every folder its derive step reads
        if e.name == entry.name or any(f"results/{e.name}/" in c for c in entry.derive):
            shutil.copytree(e.folder, results / e.name)
    for command in entry.derive:
        argv = manifest.argv_of(command, str(results), sys.executable)
        env = {**os.environ, "OMP_NUM_THREADS": "1"}
        r = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, env=env)
        assert r.returncode == 0, r.stderr[-2000:]
    for name in entry.derived:
        rebuilt, committed = (results / entry.name / name).read_bytes(), (entry.folder / name).read_bytes()
        if entry.remeasured:
            assert same_within(rebuilt.decode(), committed.decode(), rtol=1e-2), name
        else:
            assert rebuilt == committed, name


NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?")


def same_within(a: str, b: str, rtol: float) -> bool:
    """The same text but for its numbers, and every number within rtol of its counterpart."""
    if NUMBER.sub("#", a) != NUMBER.sub("#", b):
        return False
    x, y = [float(n) for n in NUMBER.findall(a)], [float(n) for n in NUMBER.findall(b)]
    return all(abs(p - q) <= rtol * max(abs(p), abs(q)) for p, q in zip(x, y))


def test_same_within_tells_a_last_digit_from_a_change():
    assert same_within("| 7.24e-11 | 0.632 |", "| 7.25e-11 | 0.632 |", rtol=1e-2)
    assert not same_within("| 7.24e-11 | 0.632 |", "| 7.24e-11 | 0.682 |", rtol=1e-2)
    assert not same_within("| 7.24e-11 | lstm |", "| 7.24e-11 | rnn |", rtol=1e-2)


@pytest.mark.slow
def test_make_reproduce_quick_runs_every_entry_at_dry_run_size(tmp_path):
    from test_dry_run import committed

    before = committed()
    r = subprocess.run(
        ["make", "-s", "reproduce", "QUICK=1", f"RESULTS={tmp_path / 'r'}", f"PY={sys.executable}"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=900,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
    )
    assert r.returncode == 0, r.stderr[-3000:]
    assert committed() == before, "a dry run wrote into the committed results"
    for entry in ENTRIES:
        if entry.quick and not (entry.needs_cifar and not manifest.cifar_available()):
            assert (tmp_path / "r" / entry.name).is_dir(), entry.name
