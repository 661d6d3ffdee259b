"""Palindromes of digits: predict the last digit from the T-1 before it.

A palindrome of length T is fixed by its first ceil(T/2) digits, so there are
10**ceil(T/2) of them (leading zeros allowed): 1,000 for T=5. Digits are stored as
uint8 rows, never as one big integer, so any T works (the course's version overflows
64-bit integers near T=38).

    data = PalindromeDataset(input_length=4, total_len=1000)    # T = 5: all 1,000
    x, y = data[0]          # x: (4, 1) float digit values, y: the 5th digit (an int)
    xb, yb = data.batch(np.arange(128))                         # vectorised, (128, 4, 1)
"""

from __future__ import annotations

import math

import numpy as np
import torch
from torch.utils.data import Dataset


class PalindromeDataset(Dataset):
    """``total_len`` distinct palindromes of length T = input_length + 1 (all if fewer exist)."""

    def __init__(self, input_length: int, total_len: int, one_hot: bool = False, seed: int = 0) -> None:
        if int(input_length) != input_length or input_length < 1:
            raise ValueError(f"input_length must be an integer >= 1, got {input_length}")
        if int(total_len) != total_len or total_len < 1:
            raise ValueError(f"total_len must be an integer >= 1, got {total_len}")
        self.input_length = int(input_length)
        self.seq_length = self.input_length + 1  # T
        self.one_hot = one_hot
        self.half = math.ceil(self.seq_length / 2)
        self.rng = np.random.default_rng(seed)
        halves = self._distinct_halves(int(total_len))
        self.digits = self._mirror(halves)  # (N, T) uint8

    def _distinct_halves(self, total_len: int) -> np.ndarray:
        """(N, half) uint8 rows, all distinct; every possible row when there are few."""
        if self.half <= 7 and 10**self.half <= total_len:  # enumerate all of them
            numbers = np.arange(10**self.half)
            self.rng.shuffle(numbers)
            return _to_digits(numbers, self.half)
        rows = np.empty((0, self.half), np.uint8)
        while len(rows) < total_len:  # draw, drop duplicates, top up (collisions are rare)
            need = total_len - len(rows)
            fresh = self.rng.integers(0, 10, (need + need // 10 + 16, self.half), dtype=np.uint8)
            merged = np.concatenate([rows, fresh])
            _, first = np.unique(merged, axis=0, return_index=True)
            rows = merged[np.sort(first)]
        return rows[:total_len]

    def _mirror(self, halves: np.ndarray) -> np.ndarray:
        tail = halves[:, : self.seq_length - self.half][:, ::-1]
        return np.ascontiguousarray(np.concatenate([halves, tail], axis=1))

    def generate_palindrome(self) -> np.ndarray:
        """One random palindrome of length T, as a (T,) array of digits."""
        half = self.rng.integers(0, 10, (1, self.half), dtype=np.uint8)
        return self._mirror(half)[0]

    @property
    def input_dim(self) -> int:
        return 10 if self.one_hot else 1

    def __len__(self) -> int:
        return len(self.digits)

    def __getitem__(self, idx: int) -> tuple[torch.Tensor, int]:
        x, y = self.batch(np.array([idx]))
        return x[0], int(y[0])

    def batch(self, idx: np.ndarray | torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Inputs (B, T-1, input_dim) float32 and targets (B,) int64 for rows ``idx``."""
        rows = torch.from_numpy(self.digits[np.asarray(idx)])  # (B, T) uint8
        inputs, targets = rows[:, :-1].long(), rows[:, -1].long()
        if self.one_hot:
            x = torch.nn.functional.one_hot(inputs, 10).float()  # (B, T-1, 10)
        else:
            x = inputs.float().unsqueeze(-1)  # (B, T-1, 1)
        return x, targets


def split_indices(n: int, portion_train: float, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Seeded random split of range(n) into train and validation indices."""
    if not 0.0 < portion_train < 1.0:
        raise ValueError(f"portion_train must lie strictly between 0 and 1, got {portion_train}")
    perm = np.random.default_rng([seed, 1]).permutation(n)
    n_train = int(round(n * portion_train))
    if n_train == 0 or n_train == n:
        raise ValueError(f"portion_train {portion_train} leaves an empty split of {n} palindromes")
    return perm[:n_train], perm[n_train:]


def _to_digits(numbers: np.ndarray, width: int) -> np.ndarray:
    """(N,) non-negative ints -> (N, width) uint8 digits, most significant first."""
    powers = 10 ** np.arange(width - 1, -1, -1, dtype=np.int64)
    return ((numbers[:, None] // powers) % 10).astype(np.uint8)
