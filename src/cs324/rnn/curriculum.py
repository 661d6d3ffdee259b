"""The curriculum of ``--curriculum T0``: which palindrome length each training step draws its batch from.

The shorter lengths T0, T0+5, ... share the first half of the step budget equally, the target length
has the second half. Every function is a pure function of the step, so a resumed run draws the same
batches as an uninterrupted one.
"""

from __future__ import annotations

import numpy as np


def curriculum_lengths(target_T: int, first_T: int, step: int = 5) -> list[int]:
    """The palindrome lengths trained on, shortest first, ending with ``target_T``."""
    if first_T <= 1 or first_T >= target_T:
        return [target_T]
    return list(range(first_T, target_T, step)) + [target_T]


def stage_at(step: int, max_steps: int, n_stages: int) -> int:
    """Index of the curriculum stage at ``step``: the n-1 shorter stages share the first half of the
    budget equally, the target length has the second half. A pure function of the step (exact resume)."""
    if n_stages == 1:
        return 0
    return min(int(step / target_stage_start(max_steps, n_stages) * (n_stages - 1)), n_stages - 1)


def batch_stage(step: int, max_steps: int, n_stages: int, mixed: bool, seed: int) -> int:
    """The stage whose palindromes make the batch of ``step``: the current one, or under ``mixed`` sampling
    (half the time) an earlier one drawn uniformly, from a generator seeded by (seed, step): a pure function."""
    current = stage_at(step, max_steps, n_stages)
    if not mixed or current == 0:
        return current
    rng = np.random.default_rng([seed, step, 7])
    return current if rng.random() < 0.5 else int(rng.integers(0, current))


def target_stage_start(max_steps: int, n_stages: int) -> float:
    """The step from which a curriculum trains on the target length (0 without a curriculum)."""
    return max_steps / 2 if n_stages > 1 else 0
