"""What every benchmark measures about the machine in the same run: the matmul ceiling and the facts."""

from __future__ import annotations

import platform
import re
import time

import torch

from cs324.runtime import cpu_model, cpu_supports_bf16


def matmul_gflops(dtype: torch.dtype, m: int = 2048, k: int = 2048, n: int = 2048, repeats: int = 5) -> float:
    """GFLOP/s of ``torch.matmul`` for (m x k) @ (k x n) in ``dtype``, after one warm-up product."""
    a, b = torch.randn(m, k, dtype=dtype), torch.randn(k, n, dtype=dtype)
    a @ b
    t0 = time.perf_counter()
    for _ in range(repeats):
        a @ b
    return 2 * m * k * n * repeats / (time.perf_counter() - t0) / 1e9


def cpu_folder() -> str:
    """A folder name for this kind of CPU: its model, the instruction set torch dispatches and whether it
    runs bf16 natively, e.g. ``amd-epyc-avx2``, ``amd-epyc-avx512-bf16``. Results of different machines never
    share a folder, nor are named by date."""
    bf16 = "-bf16" if cpu_supports_bf16() else ""  # AVX-512 alone does not say: bf16 speed differs several-fold
    name = f"{cpu_model()}-{torch.backends.cpu.get_cpu_capability()}{bf16}".lower()
    return re.sub(r"[^a-z0-9]+", "-", name).strip("-")


def machine_facts() -> dict:
    return {
        "platform": platform.platform(),
        "cpu": cpu_model(),
        "isa": torch.backends.cpu.get_cpu_capability(),
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
        "cpu_native_bf16": cpu_supports_bf16(),
    }
