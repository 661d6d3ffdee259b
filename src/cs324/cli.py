"""What every command shares: argument types, the checks made before a run writes anything, and one error path.

Bad input costs one line on stderr and exit code 2 (exit 1 for a run that cannot go on, such as a
diverged loss), never a traceback. ``--debug`` on any command (or ``CS324_DEBUG=1``) shows the traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import math
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

SEED_MAX = 2**32 - 1  # numpy's and torch's limit


class UsageError(Exception):
    """A problem with the user's input (argument, file, folder, size): one line, exit code 2."""


class TrainingError(Exception):
    """The run cannot go on (e.g. the loss diverged): one line, exit code 1."""


# --------------------------------------------------------------------------- argument types


def _number(text: str, kind: type, expected: str):
    try:
        value = kind(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
    if kind is float and not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"expected {expected}, got {text}")
    return value


def int_in(lo: int, hi: int | None = None) -> Callable[[str], int]:
    """An argument type: an integer in [lo, hi] (no upper bound when ``hi`` is None)."""
    expected = f"an integer in [{lo}, {hi}]" if hi is not None else f"an integer >= {lo}"
    expected = "a positive integer" if (lo, hi) == (1, None) else expected

    def parse(text: str) -> int:
        value = _number(text, int, expected)
        if value < lo or (hi is not None and value > hi):
            raise argparse.ArgumentTypeError(f"expected {expected}, got {value}")
        return value

    parse.__name__ = "integer"
    return parse


def float_in(lo: float, hi: float | None = None, *, lo_open: bool = False, hi_open: bool = True):
    """An argument type: a finite number in the interval from ``lo`` to ``hi`` (open where said)."""
    interval = f"{'(' if lo_open else '['}{lo:g}, {hi:g}{')' if hi_open else ']'}" if hi is not None else None
    expected = f"a number in {interval}" if interval else f"a finite number {'>' if lo_open else '>='} {lo:g}"
    expected = "a positive finite number" if (lo, hi, lo_open) == (0.0, None, True) else expected

    def parse(text: str) -> float:
        value = _number(text, float, expected)
        below = value <= lo if lo_open else value < lo
        above = hi is not None and (value >= hi if hi_open else value > hi)
        if below or above:
            raise argparse.ArgumentTypeError(f"expected {expected}, got {text}")
        return value

    parse.__name__ = "number"
    return parse


positive_int = int_in(1)
nonnegative_int = int_in(0)
seed = int_in(0, SEED_MAX)
positive_float = float_in(0.0, lo_open=True)
nonnegative_float = float_in(0.0)
fraction = float_in(0.0, 1.0)  # [0, 1): dropout, label smoothing, momentum, warm-up share
decay = fraction  # a moving-average decay; 0 turns the average off


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


# --------------------------------------------------------------------------- checks before anything is written


def memory_bytes() -> int:
    """This machine's physical memory."""
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # not POSIX: no limit known
        return 2**62


def check_memory(n_bytes: float, what: str) -> None:
    """Refuse, in one line, a size that cannot fit in this machine's memory (instead of an allocator traceback)."""
    limit = memory_bytes()
    if n_bytes > limit:
        raise UsageError(
            f"{what} needs about {n_bytes / 2**30:,.1f} GiB, more than this machine's {limit / 2**30:.1f} GiB"
        )


def add_dry_run(parser: argparse.ArgumentParser, what: str) -> None:
    """``--dry_run`` (also ``--dry-run``), the one flag every command accepts: ``what`` it then does, in seconds."""
    parser.add_argument("--dry_run", "--dry-run", action="store_true", help=f"dry run, seconds: {what}")


@contextlib.contextmanager
def output_dir(path: str | os.PathLike, dry_run: bool, flag: str = "--out") -> Iterator[Path]:
    """The folder a command writes into: ``path`` (checked writable), or under ``--dry_run`` a temporary
    folder removed afterwards, so that a dry run does all the work and leaves ``path`` as it was."""
    if not dry_run:
        yield writable_dir(path, flag)
        return
    with tempfile.TemporaryDirectory(prefix="cs324-dry-run-") as tmp:
        yield Path(tmp)
    print(f"dry run: nothing written to {path}", file=sys.stderr)


def writable_dir(path: str | os.PathLike, flag: str = "--out") -> Path:
    """Create ``path`` if needed and check that files can be written in it; ``UsageError`` otherwise."""
    path = Path(path)
    if path.exists() and not path.is_dir():
        raise UsageError(f"{flag} {path} is a file, not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
        probe = path / f".write-test-{os.getpid()}"
        probe.write_text("")
        probe.unlink()
    except OSError as e:
        raise UsageError(f"{flag} {path} is not writable: {e.strerror}") from None
    return path


def existing_dir(path: str | os.PathLike, flag: str) -> Path:
    path = Path(path)
    if not path.is_dir():
        raise UsageError(f"{flag} {path}: no such folder")
    return path


# --------------------------------------------------------------------------- the one error path


def _describe(e: OSError) -> str:
    return f"{e.filename}: {e.strerror or e}" if e.filename else str(e.strerror or e)


def cli(main: Callable[[list[str] | None], object]) -> Callable[[list[str] | None], object]:
    """Wrap a command's ``main(argv)`` so that expected failures print one line, not a traceback.

    Usage, data and file-system faults exit 2, a run that cannot go on exits 1, Ctrl-C outside the
    training loop exits 130. ``--debug`` (anywhere in argv) or ``CS324_DEBUG=1`` re-raises instead."""

    def wrapped(argv: list[str] | None = None):
        argv = list(sys.argv[1:] if argv is None else argv)
        debug = "--debug" in argv or os.environ.get("CS324_DEBUG") == "1"
        argv = [a for a in argv if a != "--debug"]
        try:
            return main(argv)
        except (UsageError, TrainingError, OSError, MemoryError) as e:
            from cs324 import runfolder  # here, not at the top: runfolder itself uses this module

            runfolder.release_all()
            if debug:
                raise
            message = _describe(e) if isinstance(e, OSError) else str(e) or "out of memory"
            print(f"error: {message}", file=sys.stderr)
            raise SystemExit(1 if isinstance(e, TrainingError) else 2) from None
        except KeyboardInterrupt:  # outside the loop (set-up, or a second Ctrl-C): nothing to save
            if debug:
                raise
            print("interrupted before training started; nothing was saved", file=sys.stderr)
            raise SystemExit(130) from None

    wrapped.__doc__ = main.__doc__
    wrapped.__wrapped__ = main
    return wrapped
