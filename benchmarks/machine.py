"""What every benchmark measures about the machine in the same run: the matmul ceiling and the facts."""

from __future__ import annotations

import platform
import re
import statistics
import time
from collections.abc import Callable

import torch

from cs324.runtime import cpu_has_amx, cpu_model, cpu_supports_bf16


def _round(fn: Callable[[], object], calls: int) -> float:
    """Seconds a call of ``fn`` over ``calls`` calls in a row, waiting for the GPU where one is in use."""
    sync = torch.cuda.synchronize if torch.cuda.is_available() else (lambda: None)
    sync()
    t0 = time.perf_counter()
    for _ in range(calls):
        fn()
    sync()
    return (time.perf_counter() - t0) / calls


def seconds_per_call(fn: Callable[[], object], calls: int, rounds: int = 5, warmup: int = 2) -> float:
    """Seconds one ``fn()`` takes: the median over ``rounds`` timings of ``calls`` calls each, after ``warmup``
    calls. On a shared 2-core machine a single timing moves by tens of percent from one run to the next; the
    median of several is what a rerun reproduces."""
    for _ in range(warmup):
        fn()
    return statistics.median(_round(fn, calls) for _ in range(rounds))


def paired_seconds(
    fn: Callable[[], object], reference: Callable[[], object], calls: int, rounds: int = 7, warmup: int = 2
) -> tuple[float, float, float]:
    """(seconds a call of ``fn``, of ``reference``, their ratio): rounds that time ``calls`` calls of one, then
    of the other, each figure the median over the rounds, the ratio the median of the rounds' ratios. The two
    share each moment's machine, so a ratio holds where separate timings on a shared 2-core machine drift by
    tens of percent between them."""
    for _ in range(warmup):
        fn()
        reference()
    times = [(_round(fn, calls), _round(reference, calls)) for _ in range(rounds)]
    a, b = zip(*times)
    return statistics.median(a), statistics.median(b), statistics.median(x / y for x, y in times)


def matmul_gflops(dtype: torch.dtype, m: int = 2048, k: int = 2048, n: int = 2048, calls: int = 2) -> float:
    """GFLOP/s of ``torch.matmul`` for (m x k) @ (k x n) in ``dtype``: the machine's own limit."""
    a, b = torch.randn(m, k, dtype=dtype), torch.randn(k, n, dtype=dtype)
    return 2 * m * k * n / seconds_per_call(lambda: a @ b, calls=calls, warmup=1) / 1e9


def cpu_folder() -> str:
    """A folder name for this kind of CPU: its model, the instruction set torch dispatches and whether it
    runs bf16 natively, e.g. ``amd-epyc-avx2``, ``amd-epyc-avx512-bf16``,
    ``intel-xeon-processor-avx512-amx``. Results of different machines never
    share a folder, nor are named by date."""
    # AVX-512 alone does not say: bf16 speed differs several-fold, and AMX tiles differ again from AVX-512 BF16
    bf16 = "-amx" if cpu_has_amx() else "-bf16" if cpu_supports_bf16() else ""
    model = re.sub(r"\((r|tm)\)", "", cpu_model().lower())
    name = f"{model}-{torch.backends.cpu.get_cpu_capability()}{bf16}".lower()
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
