"""The run folder: owned by one process at a time, every file written atomically or tolerant of a torn tail.

out/.lock          the owner's pid; a second run on the folder is refused while the owner lives,
                   and a stale lock (its process gone, e.g. after SIGKILL) is taken over
out/config.json    written atomically (temp file, then rename)
out/metrics.jsonl  appended one line per evaluation; a line torn by a kill is dropped on reading
out/last.pt        written atomically, fsync'd; best.pt likewise
"""

from __future__ import annotations

import atexit
import json
import os
import socket
import sys
from pathlib import Path

import torch

from cs324.cli import UsageError

LOCK_NAME = ".lock"
_held: dict[Path, bool] = {}  # lock path -> whether acquiring it created the folder


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, another user's
        return True
    return True


def _lock_owner(lock: Path) -> int | None:
    try:
        first = lock.read_text().split()
        return int(first[0]) if first else None
    except (OSError, ValueError):
        return None


def _link_or_create(tmp: Path, lock: Path, stamp: str) -> None:
    """Create ``lock`` holding ``stamp``, failing with FileExistsError if it exists: a hard link of the written
    ``tmp`` where the file system has them, else an exclusive create (its brief empty moment is then possible)."""
    try:
        os.link(tmp, lock)
    except FileExistsError:
        raise
    except OSError:  # no hard links here (some network or FAT file systems)
        fd = os.open(lock, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        with os.fdopen(fd, "w") as f:
            f.write(stamp)


def acquire(out: Path) -> None:
    """Make this process the owner of ``out`` (created if missing), or raise ``UsageError`` naming the owner."""
    lock = out / LOCK_NAME
    if lock in _held:
        return
    created = not out.exists()
    try:
        out.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise UsageError(f"--out {out} is a file, not a folder") from None
    except OSError as e:
        raise UsageError(f"--out {out} is not writable: {e.strerror}") from None
    stamp = f"{os.getpid()} {socket.gethostname()}\n"
    tmp = out / f"{LOCK_NAME}.{os.getpid()}.tmp"
    try:
        tmp.write_text(stamp)
        try:  # link: the lock appears with its owner already written (never empty, never half-made)
            _link_or_create(tmp, lock, stamp)
        except FileExistsError:
            owner = _lock_owner(lock)
            if owner is not None and owner != os.getpid() and _pid_alive(owner):
                raise UsageError(
                    f"{out} is in use by process {owner} (its {LOCK_NAME}); wait for it, or pick another --out"
                ) from None
            atomic_write_text(lock, stamp)  # stale (its process is gone) or our own: take it over
        finally:
            tmp.unlink(missing_ok=True)
    except OSError as e:
        raise UsageError(f"--out {out} is not writable: {e.strerror}") from None
    _held[lock] = created
    atexit.register(release, out)


def release(out: Path) -> None:
    """Give ``out`` up (if this process owns it); a folder this process created and left empty is removed."""
    lock = out / LOCK_NAME
    if lock not in _held:
        return
    created = _held.pop(lock)
    try:
        if _lock_owner(lock) == os.getpid():
            lock.unlink(missing_ok=True)
        if created:
            out.rmdir()  # only if empty: a failed start leaves no trace
    except OSError:  # a folder made unwritable (or no longer empty): a stale lock is taken over next time
        pass


def release_all() -> None:
    """Give up every run folder this process holds (a command that failed part-way)."""
    for lock in list(_held):
        release(lock.parent)


def atomic_write_text(path: Path, text: str) -> None:
    """Write to a temp file beside ``path``, then rename: a kill leaves the old file or the new one."""
    tmp = path.with_name(path.name + f".{os.getpid()}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def save_checkpoint(path: Path, state: dict) -> None:
    """torch.save to a temp file, fsync, then rename: a kill never leaves half a file."""
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        torch.save(state, f)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def load_checkpoint(path: Path) -> dict:
    try:
        return torch.load(path, map_location="cpu", weights_only=False)
    except Exception as e:  # truncated, corrupt, not a checkpoint at all
        raise UsageError(f"cannot load checkpoint {path}: {type(e).__name__}: {e}") from None


def json_line(record: dict) -> str:
    """One line of ``metrics.jsonl``."""
    return json.dumps(record) + "\n"


def append_record(out: Path, record: dict) -> None:
    with open(out / "metrics.jsonl", "a") as f:
        f.write(json_line(record))


def read_metrics(run_dir: str | Path) -> list[dict]:
    """The records of ``run_dir/metrics.jsonl`` (none if it does not exist). A torn last line (a kill during
    the append) is dropped with a notice; a bad line before the last is a ``UsageError`` naming it."""
    path = Path(run_dir) / "metrics.jsonl"
    if not path.exists():
        return []
    lines = [(i, line) for i, line in enumerate(path.read_text().splitlines(), 1) if line.strip()]
    records = []
    for k, (number, line) in enumerate(lines):
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            if k == len(lines) - 1:
                print(f"notice: dropped the torn last line ({number}) of {path}", file=sys.stderr)
                break
            raise UsageError(f"{path}:{number} is not a JSON record") from None
    return records


def prepare(out: Path, *, resume: bool, overwrite: bool) -> None:
    """Take ownership of ``out`` and check that it can take this run, before any file of the run is written."""
    acquire(out)
    last = out / "last.pt"
    try:
        if resume:
            if not last.is_file():
                raise UsageError(f"--resume: no checkpoint at {last}")
            try:
                with open(last, "rb") as f:
                    f.read(1)
            except OSError as e:
                raise UsageError(f"--resume: cannot read {last}: {e.strerror}") from None
        elif last.exists() and not overwrite:
            raise UsageError(
                f"{out} already holds a run (last.pt); pass --resume to continue it or --overwrite to start again"
            )
        try:
            probe = out / f".write-test-{os.getpid()}"
            probe.write_text("")
            probe.unlink()
        except OSError as e:
            raise UsageError(f"output folder {out} is not writable: {e.strerror}") from None
    except UsageError:
        release(out)
        raise


def start_fresh(out: Path, config: dict) -> None:
    """The first files of a new run: ``config.json``, an empty ``metrics.jsonl``, no stale ``best.pt``."""
    atomic_write_text(out / "config.json", json.dumps(config, indent=2, default=str) + "\n")
    atomic_write_text(out / "metrics.jsonl", "")
    (out / "best.pt").unlink(missing_ok=True)
