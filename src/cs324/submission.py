"""Build the submission archive ``<student number>_assignment2.zip``.

    python -m cs324.submission --student_number 12345678     # or: make submission STUDENT_NUMBER=12345678

The archive holds, under ``<student number>_assignment2/``: the code of every part
(``src/cs324/``: Part I ``mlp/pytorch_mlp.py``, ``mlp/pytorch_train_mlp.py`` beside the
NumPy MLP; Part II ``cnn/cnn_model.py``, ``cnn/cnn_train.py``; Part III ``rnn/dataset.py``,
``rnn/vanilla_rnn.py``, ``rnn/train.py``), ``pyproject.toml``, the executed notebooks, the
committed results they read, the report (``report/report.pdf`` and ``.html``) and a README
on how to run it. ``python -m cs324.selfcheck`` inside the unpacked archive checks it.
"""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from cs324.cli import ArgumentParser, UsageError, add_dry_run, cli, output_dir

ROOT = Path(__file__).resolve().parents[2]
INCLUDE = [
    "pyproject.toml",
    "src/cs324",
    "notebooks",
    "results",
]
SKIP = re.compile(r"(__pycache__|\.pyc$|\.ipynb_checkpoints|\.egg-info)")

README = """# CS324 Assignment 2, student {number}

Everything runs on a CPU; Python 3.10 or newer.

    python -m venv .venv && . .venv/bin/activate
    pip install -e .                   # torch, torchvision, scikit-learn, matplotlib, ...
    python -m cs324.selfcheck          # a minute: every part's quick check

Part I   python -m cs324.mlp.pytorch_train_mlp          (Task 1)
         python -m cs324.mlp.compare                    (Task 2, NumPy vs PyTorch)
         python -m cs324.mlp.cifar_mlp                  (Task 3, CIFAR-10 MLP)
Part II  python -m cs324.cnn.cnn_train                  (reduced VGG; --data_dir holds CIFAR-10)
Part III python -m cs324.rnn.train --input_length 4     (palindromes, T=5)
         python -m cs324.rnn.sweep                      (accuracy against length)

Code: src/cs324/ (mlp/, cnn/, rnn/ hold the assignment's files). Notebooks: notebooks/.
Results the notebooks and the report read: results/. Report: report/report.pdf.
"""


def check_student_number(number: str | None) -> str:
    if not number:
        raise ValueError("a student number is required (e.g. STUDENT_NUMBER=12345678)")
    if not re.fullmatch(r"[0-9]{6,12}", number):
        raise ValueError(f"student number must be 6 to 12 ASCII digits (0-9), got {number!r}")
    return number


def build(number: str, out_dir: Path, root: Path = ROOT, report_dir: Path | None = None) -> Path:
    """Write ``out_dir/<number>_assignment2.zip``; the report is taken from ``report_dir`` (default root/report)."""
    number = check_student_number(number)
    report_dir = report_dir or root / "report"
    if not (report_dir / "report.pdf").exists():
        raise FileNotFoundError(f"{report_dir / 'report.pdf'} is missing: run `make report` first")
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{number}_assignment2.zip"
    top = f"{number}_assignment2"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(f"{top}/README.md", README.format(number=number))
        for item in INCLUDE:
            src = root / item
            files = [src] if src.is_file() else sorted(p for p in src.rglob("*") if p.is_file()) if src.exists() else []
            for f in files:
                rel = f.relative_to(root).as_posix()
                if not SKIP.search(rel):
                    z.write(f, f"{top}/{rel}")
        for name in ("report.pdf", "report.html"):
            if (report_dir / name).exists():
                z.write(report_dir / name, f"{top}/report/{name}")
    return path


@cli
def main(argv: list[str] | None = None) -> None:
    parser = ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--student_number", default=None, help="digits only, e.g. 12345678")
    parser.add_argument("--out", default=".", help="folder for the zip (default: .)")
    add_dry_run(parser, "build the zip, keep nothing")
    args = parser.parse_args(argv)
    try:
        check_student_number(args.student_number)
        with output_dir(args.out, args.dry_run) as out:
            path = build(args.student_number, out)
            print(f"{'built' if args.dry_run else 'wrote'} {path.name} ({path.stat().st_size / 1e6:.1f} MB)")
    except (ValueError, FileNotFoundError) as e:
        raise UsageError(str(e)) from None


if __name__ == "__main__":
    main()
