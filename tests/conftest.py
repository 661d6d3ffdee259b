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


@pytest.fixture
def cifar10_dir() -> Path:
    path = os.environ.get("CIFAR10_DIR")
    if not path:
        pytest.skip("CIFAR10_DIR is not set")
    return Path(path)


def pytest_configure(config):
    import torch

    torch.set_num_threads(1)  # the suite's models are tiny: extra threads only add overhead
