"""Test-time augmentation of a trained CNN: mirror and small translations, the scheme chosen on validation.

    python -m cs324.cnn.tta runs/cnn_best                         # scores RUN/best.pt, writes RUN/tta.json
    python -m cs324.cnn.tta --table results/archive/part2_cnn     # only rebuilds that folder's tta.md

and, beside it, the table of every ``tta.json`` in the run's parent folder (``RUN/../tta.md``),
or in ``--table FOLDER``: a run scored under ``runs/`` (where its checkpoints are) and copied to
``results/`` without them gets its row there by the second command.

Training evaluates with the image and its mirror (``--tta``). This scores a finished run's
checkpoint under every scheme of ``cs324.evaluation.SCHEMES`` (none, mirror, mirror plus shifts
of 1 or 2 px) on the validation and the test split, picks the scheme with the best *validation*
accuracy (ties: fewer views) and reports the test accuracy there, so the choice never looks at
the test split.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

from cs324.cifar import DRY_RUN_IMAGES
from cs324.cli import ArgumentParser, add_dry_run
from cs324.cnn.cnn_model import CNN
from cs324.data.cifar10 import CifarDataError, CifarLoader, load_cifar10
from cs324.evaluation import SCHEMES, score_scheme, select, view_logits, views_of
from cs324.runfolder import atomic_write_text
from cs324.runtime import UsageError, bf16_native, cli, load_checkpoint, use_cuda


def evaluate_run(
    run: Path, checkpoint: str = "best.pt", data_dir: str | None = None, device: str = "cpu", dry_run: bool = False
) -> dict:
    """Score ``run/checkpoint`` under every scheme; returns (and writes to ``run/tta.json``) the table."""
    path = run / checkpoint
    if not path.is_file():
        raise UsageError(f"no checkpoint {path}: give the folder of a finished cnn_train run")
    ckpt = load_checkpoint(path)
    config = ckpt.get("config") or {}
    if not config.get("val_size"):
        raise UsageError(f"{path} was trained without a validation split: nothing to choose a scheme on")
    channels_last = bool(config.get("channels_last", False))
    try:
        arrays = load_cifar10(data_dir or config.get("data_dir"))
        loader = CifarLoader(
            arrays,
            val_size=config["val_size"],
            augment="none",
            seed=config.get("seed", 0),
            device=device,
            channels_last=channels_last,
            eval_limit=DRY_RUN_IMAGES if dry_run else 0,
        )
    except CifarDataError as e:
        raise UsageError(str(e)) from None
    model = CNN(3, 10)
    try:
        model.load_state_dict(ckpt["model"])
    except (KeyError, RuntimeError) as e:
        raise UsageError(f"{path} does not hold the course's CNN: {type(e).__name__}: {e}") from None
    model = model.to(device, memory_format=torch.channels_last if channels_last else torch.preserve_format).eval()
    # Score as training evaluated: under bf16 autocast where the run used it (and this machine runs it natively).
    amp = bool(config.get("amp_active")) and bf16_native(torch.device(device))
    table = {}
    with torch.autocast(torch.device(device).type, dtype=torch.bfloat16, enabled=amp):
        for split in ("val", "test"):
            logits = view_logits(model, loader, split, views_of(*SCHEMES))
            table[split] = {name: score_scheme(logits, name, loader.labels(split)) for name in SCHEMES}
    chosen = select(table["val"])
    result = {
        "run": str(run),
        "checkpoint": checkpoint,
        "step": ckpt.get("step"),
        "n_val": loader.size("val"),
        "n_test": loader.size("test"),
        "bf16_autocast": amp,
        "schemes": {
            name: {
                "val_acc": table["val"][name].acc,
                "test_acc": table["test"][name].acc,
                "val_loss": table["val"][name].loss,
                "test_loss": table["test"][name].loss,
                "views": len(SCHEMES[name]),
            }
            for name in SCHEMES
        },
        "selected_on_val": chosen,
        "val_acc": table["val"][chosen].acc,
        "test_acc": table["test"][chosen].acc,
        "recorded_val_acc": (ckpt.get("record") or {}).get("val_acc"),
    }
    atomic_write_text(run / "tta.json", json.dumps(result, indent=1) + "\n")
    return result


def write_table(folder: Path) -> Path:
    """``folder/tta.md``: one row per scheme of every ``folder/*/tta.json``, the validation-chosen one marked."""
    rows = ["| run | scheme | views | val acc | test acc |", "|---|---|---|---|---|"]
    sizes = set()
    for path in sorted(folder.glob("*/tta.json")):
        try:
            table = json.loads(path.read_text())
            table["schemes"], table["n_val"], table["n_test"], table["selected_on_val"]  # noqa: B018
        except (json.JSONDecodeError, UnicodeDecodeError, KeyError, TypeError) as e:
            raise UsageError(f"{path} is not a tta.json written by cs324.cnn.tta ({type(e).__name__})") from None
        sizes.add((table["n_val"], table["n_test"]))
        for name, s in table["schemes"].items():
            chosen = " **(chosen on val)**" if name == table["selected_on_val"] else ""
            rows.append(
                f"| {path.parent.name} | {name}{chosen} | {s['views']} | {s['val_acc']:.4f} | {s['test_acc']:.4f} |"
            )
    shown = "; ".join(
        f"{v:,} validation images (carved from training), {'all' if t >= 10_000 else 'the first'} {t:,} official "
        "test images"
        for v, t in sorted(sizes)
    )
    note = f"\nScored on {shown}.\n"
    atomic_write_text(folder / "tta.md", "\n".join(rows) + "\n" + note)
    return folder / "tta.md"


def build_parser() -> argparse.ArgumentParser:
    p = ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("run", type=Path, nargs="?", help="a cnn_train run folder (omit with --table to only rebuild it)")
    p.add_argument("--checkpoint", default="best.pt", help="file in the run folder (default: best.pt)")
    p.add_argument("--data_dir", default=None, help="default: the run's, else $CIFAR10_DIR, else ./data")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto", help="auto: CUDA when present")
    p.add_argument(
        "--table", type=Path, default=None, metavar="FOLDER", help="tabulate FOLDER/*/tta.json (default: RUN's parent)"
    )
    add_dry_run(p, f"score {DRY_RUN_IMAGES} images of each split")
    return p


@cli
def main(argv: list[str] | None = None) -> None:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.table is not None and not args.table.is_dir():
        parser.error(f"--table {args.table}: no such folder")
    if args.run is None:
        if args.table is None:
            parser.error("give a run folder to score, or --table FOLDER to rebuild its table")
        if not any(args.table.glob("*/tta.json")):
            parser.error(f"--table {args.table}: no */tta.json in it (score a run first)")
        print(f"table of every run scored: {write_table(args.table)}")
        return
    device = "cuda" if use_cuda(args.device) else "cpu"
    result = evaluate_run(args.run, args.checkpoint, args.data_dir, device, args.dry_run)
    print(f"{'scheme':<12} {'views':>5} {'val acc':>8} {'test acc':>8}")
    for name, s in result["schemes"].items():
        print(f"{name:<12} {s['views']:>5} {s['val_acc']:>8.4f} {s['test_acc']:>8.4f}")
    print(
        f"selected on validation: {result['selected_on_val']} -> val {result['val_acc']:.4f}, "
        f"test {result['test_acc']:.4f} ({result['n_test']} test images, step {result['step']})"
    )
    print(f"table of every run scored: {write_table(args.table or args.run.parent)}")


if __name__ == "__main__":
    main()
