import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run_module(module: str, *args: str, env: dict | None = None, **kwargs):
    """Run ``python -m module args`` in a subprocess; returns CompletedProcess."""
    import subprocess

    full_env = {**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}
    return subprocess.run([sys.executable, "-m", module, *args], capture_output=True, text=True, env=full_env, **kwargs)


def run_main(module: str, *args: str, function: str = "main"):
    """Call ``module.main(args)`` in this process, as ``python -m module args`` would run it, without an
    interpreter start-up (seconds each); returns a CompletedProcess with its exit status and output.
    For what needs a process of its own (signals, kills, torchrun), use ``run_module``."""
    import contextlib
    import importlib
    import io
    import subprocess

    out, err, code = io.StringIO(), io.StringIO(), 0
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            getattr(importlib.import_module(module), function)(list(args))
        except SystemExit as e:
            code = e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    return subprocess.CompletedProcess([module, *args], code, out.getvalue(), err.getvalue())


@pytest.fixture
def cifar10_dir() -> Path:
    path = os.environ.get("CIFAR10_DIR")
    if not path:
        pytest.skip("CIFAR10_DIR is not set")
    return Path(path)


def pytest_configure(config):
    import torch

    torch.set_num_threads(1)  # the suite's models are tiny: extra threads only add overhead
