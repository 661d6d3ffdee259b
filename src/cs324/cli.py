"""argparse value types shared by every command: bad values exit with code 2 and one line."""

from __future__ import annotations

import argparse


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {value}")
    return value


def nonnegative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected an integer >= 0, got {value}")
    return value


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive number, got {text!r}") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"expected a positive finite number, got {text}")
    return value


def decay(text: str) -> float:
    """A moving-average decay: a number in [0, 1) (0 turns the average off)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text!r}") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text}")
    return value


def hidden_units(text: str) -> list[int]:
    """'20' -> [20]; '512,512' -> [512, 512]; '' -> [] (no hidden layer)."""
    if text.strip() == "":
        return []
    units = []
    for part in text.split(","):
        try:
            width = int(part)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"hidden units must be comma-separated positive integers, got {text!r}"
            ) from None
        if width <= 0:
            raise argparse.ArgumentTypeError(f"hidden layer widths must be positive, got {width}")
        units.append(width)
    return units


class ArgumentParser(argparse.ArgumentParser):
    """argparse, but a bad flag costs one line on stderr (and exit code 2), not a usage dump."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")
