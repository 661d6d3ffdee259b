"""The benchmark helpers that every table's timings pass through."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "benchmarks"))

import machine  # noqa: E402


def test_seconds_per_call_is_the_median_round_after_warmup(monkeypatch):
    """One slow round (another process took the core) does not move the figure; warm-up calls are not timed."""
    clock, calls = [0.0], []
    costs = iter([100.0] * 2 + [1.0] * 4 + [50.0, 50.0, 1.0, 1.0] + [1.0] * 4 + [2.0] * 4 + [1.0] * 4)  # 2 warm-up, 5x4

    def fn():
        calls.append(1)
        clock[0] += next(costs)

    monkeypatch.setattr(machine.time, "perf_counter", lambda: clock[0])
    # rounds of 4 calls cost 4, 102, 4, 8 and 4 seconds: the median round is 4 s, 1 s a call
    assert machine.seconds_per_call(fn, calls=4, rounds=5, warmup=2) == 1.0
    assert len(calls) == 2 + 5 * 4
