"""A document as a list of blocks (headings, paragraphs, tables, figures), rendered twice: to
self-contained HTML, and to PDF with ReportLab (pure Python). ``cs324.report`` fills it."""

from __future__ import annotations

import base64
import html
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Heading:
    text: str
    level: int = 1


@dataclass
class Para:
    text: str


@dataclass
class Table:
    header: list[str]
    rows: list[list[str]]
    caption: str = ""


@dataclass
class Figure:
    path: Path
    caption: str
    width: float = 1.0  # share of the text width


def md_table(path: Path, caption: str = "") -> Table:
    """A Markdown table file (as the result commands write them) as a Table block."""
    lines = [line for line in path.read_text().splitlines() if line.startswith("|")]
    cells = lambda line: [c.strip().replace("**", "").replace("`", "") for c in line.strip().strip("|").split("|")]
    return Table(cells(lines[0]), [cells(line) for line in lines[2:]], caption)


def dict_table(rows: list[dict], columns: list[str], caption: str = "") -> Table:
    return Table(
        columns,
        [[f"{r.get(c, ''):,}" if isinstance(r.get(c), int) else str(r.get(c, "")) for c in columns] for r in rows],
        caption,
    )


def to_html(blocks: list) -> str:
    out = [
        "<!doctype html><html><head><meta charset='utf-8'><title>CS324 Assignment 2 report</title><style>",
        "body{font-family:sans-serif;max-width:1100px;margin:auto;padding:1em;line-height:1.4}"
        "table{border-collapse:collapse;font-size:12px;margin:0.5em 0}td,th{border:1px solid #bbb;"
        "padding:2px 6px}th{background:#eee}caption{font-style:italic;text-align:left}img{max-width:100%}",
        "</style></head><body>",
    ]
    for b in blocks:
        if isinstance(b, Heading):
            level = min(b.level + 1, 4)
            out.append(f"<h{level}>{html.escape(b.text)}</h{level}>")
        elif isinstance(b, Para):
            out.append(f"<p>{html.escape(b.text)}</p>")
        elif isinstance(b, Table):
            out.append(
                f"<table><caption>{html.escape(b.caption)}</caption><tr>"
                + "".join(f"<th>{html.escape(h)}</th>" for h in b.header)
                + "</tr>"
            )
            out += ["<tr>" + "".join(f"<td>{html.escape(c)}</td>" for c in row) + "</tr>" for row in b.rows]
            out.append("</table>")
        elif isinstance(b, Figure):
            data = base64.b64encode(b.path.read_bytes()).decode()
            out.append(
                f"<figure><img style='width:{b.width * 100:.0f}%' src='data:image/png;base64,{data}'>"
                f"<figcaption>{html.escape(b.caption)}</figcaption></figure>"
            )
    out.append("</body></html>")
    return "\n".join(out)


def portable(path: Path) -> str:
    """A path as the generated files record it: relative to the repository (never this machine's absolute path)."""
    path = path.resolve()
    try:
        return path.relative_to(ROOT).as_posix()
    except ValueError:  # results outside the repository: the file name alone
        return path.name


def to_pdf(blocks: list, path: Path) -> None:
    from reportlab.lib import colors
    from reportlab.lib.pagesizes import A4, landscape
    from reportlab.lib.styles import getSampleStyleSheet
    from reportlab.lib.units import cm
    from reportlab.platypus import Image, Paragraph, SimpleDocTemplate, Spacer, TableStyle
    from reportlab.platypus import Table as RLTable

    page = landscape(A4)
    doc = SimpleDocTemplate(
        str(path),
        pagesize=page,
        leftMargin=1.2 * cm,
        rightMargin=1.2 * cm,
        topMargin=1.2 * cm,
        bottomMargin=1.2 * cm,
        title="CS324 Assignment 2 report",
        invariant=True,  # no creation date or random document id: the same results give the same bytes
    )
    styles = getSampleStyleSheet()
    cell = styles["BodyText"].clone("cell", fontSize=6.5, leading=7.5)
    head = styles["BodyText"].clone("head", fontSize=6.5, leading=7.5, fontName="Helvetica-Bold")
    caption_style = styles["BodyText"].clone("caption", keepWithNext=True)
    headings = [styles[n].clone(f"{n}_kept", keepWithNext=True) for n in ("Title", "Heading1", "Heading2", "Heading3")]
    esc = lambda s: html.escape(str(s))
    story = []
    for b in blocks:
        if isinstance(b, Heading):
            story.append(Paragraph(esc(b.text), headings[b.level]))
        elif isinstance(b, Para):
            story.append(Paragraph(esc(b.text), styles["BodyText"]))
        elif isinstance(b, Table):
            data = [[Paragraph(esc(h), head) for h in b.header]]
            data += [[Paragraph(esc(c), cell) for c in row] for row in b.rows]
            t = RLTable(data, repeatRows=1, hAlign="LEFT")
            t.setStyle(
                TableStyle(
                    [
                        ("GRID", (0, 0), (-1, -1), 0.3, colors.grey),
                        ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
                        ("VALIGN", (0, 0), (-1, -1), "TOP"),
                    ]
                )
            )
            if b.caption:  # keepWithNext: a caption never ends a page without its table
                story.append(Paragraph(f"<i>{esc(b.caption)}</i>", caption_style))
            story += [t, Spacer(1, 6)]
        elif isinstance(b, Figure):
            from PIL import Image as PILImage

            w, h = PILImage.open(b.path).size
            width = min(doc.width * b.width, doc.width)
            height = width * h / w
            if height > doc.height * 0.85:
                height = doc.height * 0.85
                width = height * w / h
            story += [
                Spacer(1, 4),  # a paragraph's descenders reach below its frame: keep them off the image
                Image(str(b.path), width=width, height=height),
                Paragraph(f"<i>{esc(b.caption)}</i>", styles["BodyText"]),
                Spacer(1, 6),
            ]
    doc.build(story)
