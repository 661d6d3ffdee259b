"""Issue 7: the generated report, the reproduce pipeline and the submission archive."""

import json
import os
import subprocess
import sys
import zipfile

import pytest
from conftest import ROOT

from cs324 import report, submission


@pytest.fixture(scope="module")
def built_report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report")
    report.main(["--out", str(out)])
    return out


def test_report_holds_traced_models_and_committed_numbers(built_report):
    text = (built_report / "report.html").read_text()
    assert "9,231,114" in text  # the reduced VGG, traced
    import re

    from cs324.mlp.mlp_numpy import MLP
    from cs324.rnn.lstm import LSTM
    from cs324.rnn.vanilla_rnn import VanillaRNN

    totals = re.findall(r"<td>total</td>.*?</tr>", text)
    assert len(totals) == 6  # one layer table per model, each with its total
    for count in (
        MLP(2, [20], 2).num_params(),
        sum(p.numel() for p in VanillaRNN(4, 1, 128, 10).parameters()),
        sum(p.numel() for p in LSTM(4, 10, 128, 10).parameters()),
        9_231_114,
    ):
        assert any(f"<td>{count:,}</td>" in row for row in totals), count
    assert "Conv2d" in text and "t=4" in text  # layer table and the unrolled RNN trace
    table = (ROOT / "results/part2_cnn/table.md").read_text().splitlines()[2]
    first_row_cells = [c.strip() for c in table.strip("|").split("|")]
    for cell in first_row_cells[:3]:
        assert cell in text  # the results table made it into the report unchanged


def test_report_pdf_renders_text(built_report):
    import pymupdf

    doc = pymupdf.open(built_report / "report.pdf")
    assert doc.page_count >= 8
    text = "".join(page.get_text() for page in doc)
    assert "9,231,114" in text and "Reduced VGG" in text
    pix = doc[0].get_pixmap(dpi=40)
    assert pix.width > 100 and len(set(pix.samples)) > 2  # not a blank page


@pytest.mark.slow
def test_submission_archive_runs_on_its_own(built_report, tmp_path):
    path = submission.build("12345678", tmp_path, report_dir=built_report)
    assert path.name == "12345678_assignment2.zip"
    unpacked = tmp_path / "unpacked"
    with zipfile.ZipFile(path) as z:
        names = z.namelist()
        assert len(names) == len(set(names)), "duplicate entries in the archive"
        z.extractall(unpacked)
    top = unpacked / "12345678_assignment2"
    for name in (
        "src/cs324/mlp/pytorch_mlp.py",
        "src/cs324/mlp/pytorch_train_mlp.py",
        "src/cs324/cnn/cnn_model.py",
        "src/cs324/cnn/cnn_train.py",
        "src/cs324/rnn/dataset.py",
        "src/cs324/rnn/vanilla_rnn.py",
        "src/cs324/rnn/train.py",
        "report/report.pdf",
        "README.md",
        "pyproject.toml",
        "notebooks/part1_task2_numpy_vs_pytorch.ipynb",
    ):
        assert f"12345678_assignment2/{name}" in names, name
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(PYTHONPATH=str(top / "src"), OMP_NUM_THREADS="1")
    r = subprocess.run(
        [sys.executable, "-m", "cs324.selfcheck"], cwd=top, env=env, capture_output=True, text=True, timeout=600
    )
    assert r.returncode == 0, r.stderr[-2000:]
    assert "all checks passed" in r.stdout and str(top / "src") in r.stdout  # ran the archive's code


@pytest.mark.parametrize("number", [None, "", "12ab5678", "123"])
def test_bad_student_number(number, capsys):
    with pytest.raises(SystemExit) as e:
        submission.main(["--student_number", number] if number is not None else [])
    assert e.value.code == 2 and "student number" in capsys.readouterr().err


def test_report_holds_no_absolute_path_and_rebuilds_byte_for_byte(built_report, tmp_path):
    blocks = (built_report / "blocks.json").read_text()
    assert str(ROOT) not in blocks and str(built_report) not in blocks
    assert all(not str(b.get("path", "x")).startswith("/") for b in json.loads(blocks))
    report.main(["--out", str(tmp_path)])
    for name in ("report.pdf", "report.html", "blocks.json"):
        assert (tmp_path / name).read_bytes() == (built_report / name).read_bytes(), name
