"""What every part's paragraphs use: number formats, a folder's seeds, where over-fitting starts."""

from __future__ import annotations

import json
from pathlib import Path

from cs324.results import run_folders, summarise_run
from cs324.runtime import read_metrics


def pct(x: float, digits: int = 1) -> str:
    return f"{100 * x:.{digits}f}%"


def points(x: float, signed: bool = True) -> str:
    if abs(x) < 0.0005:
        return "0.0 points"
    return f"{100 * x:+.1f} points" if signed else f"{100 * abs(x):.1f} points"


def seeds_of(folder: Path) -> list[dict]:
    return [summarise_run(r) for r in run_folders(folder)] if folder.is_dir() else []


def overfitting(run: Path) -> dict:
    """When validation loss bottoms out, and how far training accuracy ends above validation accuracy."""
    records = [r for r in read_metrics(run) if "val_loss" in r]
    lowest = min(records, key=lambda r: r["val_loss"])
    last = records[-1]
    return dict(
        lowest_epoch=lowest.get("epoch", 0.0),
        lowest_step=lowest["step"],
        last_epoch=last.get("epoch", 0.0),
        rise=last["val_loss"] - lowest["val_loss"],
        gap=(last.get("train_acc") or 0.0) - last["val_acc"],
        train=last.get("train_acc") or 0.0,
        val=last["val_acc"],
    )


def against(run: dict, ref: dict, ref_folder: Path) -> tuple[float, float, str]:
    """Validation accuracy of ``run`` minus ``ref``'s, the two-standard-error band of a difference on the number of
    validation images ``ref_folder`` was scored on, and the verdict: within noise, better or worse."""
    from cs324.cnn.ablation import noise_band

    n_val = json.loads((ref_folder / "config.json").read_text())["n_val"]
    delta, band = run["best_val_acc"] - ref["best_val_acc"], noise_band(ref["best_val_acc"], n_val)
    return delta, band, "within noise" if abs(delta) <= band else ("better" if delta > 0 else "worse")
