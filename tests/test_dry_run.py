"""Every command accepts --dry_run, finishes it in seconds, and leaves the committed results as they were."""

import hashlib
import importlib.util
import sys
import time

import numpy as np
import pytest
import tomllib
from conftest import ROOT, run_main

SCRIPTS = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
# Commands that make reproduce QUICK=1 already runs with --dry_run (tests/test_manifest.py)
_spec = importlib.util.spec_from_file_location("manifest", ROOT / "experiments/manifest.py")
manifest = importlib.util.module_from_spec(_spec)
sys.modules["manifest"] = manifest
_spec.loader.exec_module(manifest)
_QUICK = " ".join(c + " " for e in manifest.ENTRIES if e.quick for c in manifest.quick_commands(e))
IN_MANIFEST = {name for name, target in SCRIPTS.items() if f"-m {target.split(':')[0]} " in _QUICK}


def committed() -> dict:
    """Path -> sha256 of every committed file under results/ and report/ (all files there without git)."""
    import subprocess

    listed = subprocess.run(["git", "-C", str(ROOT), "ls-files", "results", "report"], capture_output=True, text=True)
    if listed.returncode == 0:
        paths = [ROOT / line for line in listed.stdout.splitlines()]
    else:
        paths = [p for folder in ("results", "report") for p in sorted((ROOT / folder).rglob("*")) if p.is_file()]
    return {p: hashlib.sha256(p.read_bytes()).hexdigest() for p in paths if p.exists()}


@pytest.fixture(scope="module")
def fake_cifar(tmp_path_factory):
    folder = tmp_path_factory.mktemp("cifar")
    rng = np.random.default_rng(0)
    np.savez_compressed(
        folder / "cifar10.npz",
        x_train=rng.integers(0, 256, (400, 32, 32, 3), dtype=np.uint8),
        y_train=np.arange(400) % 10,
        x_test=rng.integers(0, 256, (100, 32, 32, 3), dtype=np.uint8),
        y_test=np.arange(100) % 10,
        classes=np.array([f"c{i}" for i in range(10)]),
    )
    return folder


def argv_for(script: str, tmp, cifar) -> list[str]:
    """The arguments a dry run of ``script`` needs besides --dry_run (outputs under ``tmp``)."""
    data = ["--data_dir", str(cifar), "--val_size", "100", "--device", "cpu"]
    return {
        "cs324-train-mlp-numpy": ["--out", str(tmp / "np")],
        "cs324-train-mlp": ["--out", str(tmp / "pt")],
        "cs324-compare-mlp": ["--out", str(tmp / "cmp"), "--datasets", "moons"],
        "cs324-cifar-mlp": [*data, "--out", str(tmp / "mlp")],
        "cs324-cnn-train": [*data, "--recipe", "best", "--out", str(tmp / "cnn")],
        "cs324-cnn-ablation": [
            "--out",
            str(tmp / "abl"),
            "--variants",
            "full",
            "--device",
            "cpu",
            "--extra",
            *data[:4],
            "--batch_size",
            "16",  # the recipe's 128 images a step cost seconds a step on one core
        ],
        "cs324-cnn-tta": [str(tmp / "cnn"), "--data_dir", str(cifar), "--device", "cpu"],
        "cs324-rnn-train": ["--out", str(tmp / "rnn"), "--data_size", "20000"],
        "cs324-rnn-sweep": ["--out", str(tmp / "sweep"), "--workers", "1", "--variants", "rnn_best"],
        "cs324-rnn-analysis": ["--sweep", str(ROOT / "results/part3_rnn")],
        "cs324-rnn-success": [str(ROOT / "results/part3_rnn_success")],
        "cs324-rnn-gradients": ["--runs", str(ROOT / "results/part3_rnn_t20/runs")],
        "cs324-results": [str(ROOT / "results/part2_cnn_spec")],
        "cs324-report": [],
        "cs324-submission": ["--student_number", "12345678"],
        "cs324-selfcheck": [],
    }[script]


def test_every_console_script_is_covered():
    import inspect

    source = inspect.getsource(argv_for)
    assert all(f'"{s}"' in source for s in SCRIPTS), [s for s in SCRIPTS if f'"{s}"' not in source]


@pytest.mark.slow
@pytest.mark.parametrize("script", [s for s in SCRIPTS if s not in IN_MANIFEST])
def test_dry_run_finishes_in_seconds_and_writes_nothing_committed(script, tmp_path_factory, fake_cifar, monkeypatch):
    """The console script's function, called in this process from a scratch folder (an interpreter start-up
    per script would cost seconds each; test_every_command_has_a_console_script checks what each points at)."""
    tmp = tmp_path_factory.getbasetemp() / "dry"
    tmp.mkdir(exist_ok=True)
    monkeypatch.chdir(tmp)
    module, function = SCRIPTS[script].split(":")
    if script == "cs324-cnn-tta" and not (tmp / "cnn/best.pt").exists():  # it scores a finished run: make one
        made = run_main("cs324.cnn.cnn_train", *argv_for("cs324-cnn-train", tmp, fake_cifar), "--dry_run")
        assert made.returncode == 0, made.stderr[-2000:]
    before = committed()
    t0 = time.perf_counter()
    r = run_main(module, *argv_for(script, tmp, fake_cifar), "--dry_run", function=function)
    seconds = time.perf_counter() - t0
    assert r.returncode == 0, r.stderr[-2000:]
    assert seconds < 90, f"{script} --dry_run took {seconds:.0f} s"
    assert committed() == before
