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


def test_paired_ratio_is_taken_within_each_round(monkeypatch):
    """When the machine slows down for a round both timings of that round slow down alike: the ratio is the
    median of the rounds' ratios, not the ratio of two medians taken at different moments."""
    clock = [0.0]
    speed = iter([1, 1] + [1, 1] + [3, 3] + [1, 3])  # slowdown factor of each call: warm-up pair, then 3 rounds

    def cost(seconds):
        def fn():
            clock[0] += seconds * next(speed)

        return fn

    monkeypatch.setattr(machine.time, "perf_counter", lambda: clock[0])
    # rounds (one call each): (2, 1), (6, 3), (2, 3): ratios 2, 2, 0.67; medians 2 and 3, whose ratio is 0.67
    a, b, ratio = machine.paired_seconds(cost(2.0), cost(1.0), calls=1, rounds=3, warmup=1)
    assert ratio == 2.0 and (a, b) == (2.0, 3.0)
