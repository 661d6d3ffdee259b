"""The generated report, the reproduce pipeline and the submission archive."""

import json
import os
import subprocess
import sys
import zipfile

import pytest
from conftest import ROOT

from cs324 import report, report_appendix, submission


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
    table = (ROOT / "results/part2_cnn_spec/table.md").read_text().splitlines()[2]
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


def overlaps(pdf) -> list[str]:
    """Every pair of text lines that overlap by a third of a line, or text line and figure that overlap by
    more than half a point, on a page of ``pdf``, as 'page N: ...' lines. Each page is rendered too, so a
    page that cannot be drawn fails here."""
    import pymupdf

    found = []
    for number, page in enumerate(pymupdf.open(pdf), 1):
        pix = page.get_pixmap(dpi=30)
        assert len(set(pix.samples)) > 2, f"page {number} renders blank"
        text = [  # every line of text (lines of one block may overlap too)
            (pymupdf.Rect(line["bbox"]), "".join(span["text"] for span in line["spans"])[:40])
            for block in page.get_text("dict")["blocks"]
            if block["type"] == 0
            for line in block["lines"]
        ]
        figures = [(pymupdf.Rect(i["bbox"]), "a figure") for i in page.get_image_info()]
        for i, (a, what) in enumerate(text):
            for b, other in text[i + 1 :]:  # a line's box reaches a little into the next: a third of a line is not
                r = a & b
                if not r.is_empty and r.width > 0.5 and r.height > min(a.height, b.height) / 3:
                    found.append(f"page {number}: {what!r} overlaps {other!r}")
            for b, other in figures:
                r = a & b
                if not r.is_empty and r.width > 0.5 and r.height > 0.5:
                    found.append(f"page {number}: {what!r} overlaps {other}")
    return found


def test_overlap_check_finds_text_written_over_a_figure_and_over_text(tmp_path):
    from reportlab.lib.pagesizes import A4
    from reportlab.pdfgen import canvas

    from cs324.document import ROOT as repo

    pdf = canvas.Canvas(str(tmp_path / "bad.pdf"), pagesize=A4)
    pdf.drawImage(str(repo / "results/part1_compare/curves.png"), 50, 400, width=400, height=200)
    pdf.drawString(100, 500, "a caption drawn over the figure")
    pdf.drawString(100, 300, "two lines of text")
    pdf.drawString(110, 302, "drawn on top of each other")
    pdf.save()
    found = overlaps(tmp_path / "bad.pdf")
    assert any("a figure" in f for f in found) and any("drawn on top" in f or "two lines" in f for f in found)


def test_report_pdf_has_no_overlapping_text_or_figures(built_report):
    assert overlaps(built_report / "report.pdf") == []


def test_report_has_the_three_assignment_points_for_every_part_and_headline_runs_before_the_appendix(built_report):
    blocks = json.loads((built_report / "blocks.json").read_text())
    headings = [b["text"] for b in blocks if b["kind"] == "Heading"]
    for part in (1, 2, 3):
        for number, point in ((1, report.STRUCTURE), (2, report.TRACE), (4, report.ANALYSIS)):
            assert f"{part}.{number} {point}" in headings
    for i, b in enumerate(blocks):  # every analysis section holds written prose with numbers in it
        if b["kind"] == "Heading" and b["text"].endswith(report.ANALYSIS):
            prose = [x["text"] for x in blocks[i + 1 : i + 4] if x["kind"] == "Para"]
            assert prose and any(c.isdigit() for c in prose[0]) and len(prose[0].split()) > 30, b["text"]
    appendix = next(i for i, b in enumerate(blocks) if b["kind"] == "Heading" and b["text"].startswith("Appendix A"))
    stale = {name for name, why in report_appendix.exploratory(ROOT / "results")}
    tables = [(i, b["caption"]) for i, b in enumerate(blocks) if b["kind"] == "Table"]
    assert all(i > appendix for i, caption in tables if caption in stale), "an exploratory table before the appendix"
    assert any(caption in stale for _, caption in tables), "the appendix lists the exploratory runs"


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
