"""考核情况报告.docx (GB/T 9704 official-document layout) and 考核情况报告.md from a scored campaign.

Wording comes from the jinja2 templates (blocks.py), page and styles from gbt9704.py; this
module lays the blocks out as styled paragraphs and tables and saves both files.
"""
from __future__ import annotations

import io
import re
import shutil
import zipfile
from datetime import datetime
from pathlib import Path

from docx import Document
from docx.enum.style import WD_STYLE_TYPE
from docx.enum.table import WD_TABLE_ALIGNMENT
from docx.enum.text import WD_ALIGN_PARAGRAPH
from docx.oxml import OxmlElement, parse_xml
from docx.oxml.ns import nsdecls, qn
from docx.shared import Mm, Pt

from ..results import CampaignResult
from .blocks import TEMPLATE_FILES, SHIPPED_TEMPLATES, Block, Table, render_blocks, render_markdown
from .findings import report_context
from .gbt9704 import BODY_PT, CONDENSE, LINE, TABLE_STYLE, TABLE_TEXT, TITLE_PT, setup

DOCX_NAME, MD_NAME = "考核情况报告.docx", "考核情况报告.md"

ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def write_report(result: CampaignResult, out_dir: Path, templates_dir: Path | None = None) -> list[Path]:
    """Write 考核情况报告.docx and .md into `out_dir`; returns [docx, md].

    Templates come from `templates_dir`, else from the campaign's own copy (DIR/templates/report/)
    when it exists; a file missing there is taken from the shipped templates.
    """
    if templates_dir is None:
        own = result.campaign.layout.report_templates_dir
        templates_dir = own if own.is_dir() else None
    ctx = report_context(result)
    blocks = render_blocks(ctx, templates_dir)
    markdown = render_markdown(blocks, ctx, templates_dir)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    docx_path, md_path = out_dir / DOCX_NAME, out_dir / MD_NAME
    doc = build_document(blocks)
    _set_properties(doc, ctx, result.scored_at)
    _save(doc, docx_path)
    md_path.write_text(markdown, encoding="utf-8")
    return [docx_path, md_path]


def copy_templates(campaign_dir) -> Path:
    """Copy the shipped report templates into DIR/templates/report/ for the office to edit.
    Files already there are kept (they may hold the office's edits)."""
    from ..layout import layout
    target = layout(campaign_dir).report_templates_dir
    target.mkdir(parents=True, exist_ok=True)
    for name in TEMPLATE_FILES:
        if not (target / name).exists():
            shutil.copyfile(SHIPPED_TEMPLATES / name, target / name)
    return target


def build_document(blocks: list[Block]) -> Document:
    """A GB/T 9704 document with the blocks as styled paragraphs and tables."""
    doc = Document()
    setup(doc)
    body = doc.element.body
    for p in list(body.iterchildren(qn("w:p"))):  # the template's empty first paragraph
        body.remove(p)
    for k, b in enumerate(blocks):
        if b.kind == "table":
            _table(doc, b.table)
        elif b.kind == "right":
            _right(doc, b, blocks[k + 1:], first=k == 0 or blocks[k - 1].kind != "right")
        else:
            style = {"title": "Title", "para": "Normal"}.get(b.kind, f"Heading {b.level}")
            p = doc.add_paragraph(style=style)
            lines = title_lines(b.text) if b.kind == "title" else [b.number + b.text]
            for k, line in enumerate(lines):
                run = p.add_run(line)
                if k < len(lines) - 1:
                    run.add_break()
    return doc


def title_lines(title: str) -> list[str]:
    """Break a title too long for one line where the words allow, into two lines of about
    equal length (GB/T 9704 7.2.3: 回行时词意完整，排列对称); else leave it to Word."""
    per_line = 442 / (TITLE_PT + CONDENSE / 20)  # text width in pt / condensed 2号 character
    total = _width(title)
    if total <= per_line:
        return [title]
    cuts = [m.end() for m in _TITLE_BREAK.finditer(title) if 0 < m.end() < len(title)]
    fits = [k for k in cuts if _width(title[:k]) <= per_line and _width(title[k:]) <= per_line]
    if not fits:
        return [title]
    k = min(fits, key=lambda k: (abs(2 * _width(title[:k]) - total), k))
    return [title[:k], title[k:]]


_TITLE_BREAK = re.compile(r"(的|工作|年度|考核|市|县|区)(?![场级委政长区县])")


def _table(doc: Document, table: Table, fast: bool = True) -> None:
    """The table, header row repeated on every page, no row split across pages.

    The header row is laid out through python-docx; the body rows (a 3,000-unit ranking has
    3,000) are made as one piece of XML in the very form python-docx gives them, which took
    some 2 ms a row through its API (issue 13). A cell whose text python-docx would write
    otherwise (empty, blank at an end, a tab, a line break, a control character) makes its
    row go through the API; tests/test_report.py compares both ways byte for byte."""
    t = doc.add_table(rows=1, cols=len(table.columns))
    t.style = doc.styles[TABLE_STYLE]
    t.alignment = WD_TABLE_ALIGNMENT.CENTER
    t.autofit = False
    for c, width in enumerate(table.widths):  # tblGrid: LibreOffice lays out by these
        t.columns[c].width = Mm(width)
    # the style id once: `p.style = ...` searches every style for the default on each call
    text_style = doc.part.get_style_id(doc.styles[TABLE_TEXT], WD_STYLE_TYPE.PARAGRAPH)
    _api_row(t.rows[0], table.columns, table.widths, text_style, True)
    t.rows[0]._tr.get_or_add_trPr().append(OxmlElement("w:tblHeader"))  # on every page
    twips = [tc.tcPr.tcW.get(qn("w:w")) for tc in t.rows[0]._tr.tc_lst]
    batch: list[str] = []
    for values in table.rows:
        if fast and all(_plain(v) for v in values):
            batch.append(_row_xml(values, twips, text_style))
            continue
        _append_rows(t, batch)
        _api_row(t.add_row(), values, table.widths, text_style, False)
    _append_rows(t, batch)
    doc.add_paragraph("", style="Normal").paragraph_format.first_line_indent = Pt(0)


def _api_row(row, values: list, widths: list, text_style: str, bold: bool) -> None:
    cells = row.cells
    for c, value in enumerate(values):
        cell = cells[c]
        cell.width = Mm(widths[c])
        p = cell.paragraphs[0]
        p._p.style = text_style
        run = p.add_run(value)
        run.bold = bold or None
    row._tr.get_or_add_trPr().append(OxmlElement("w:cantSplit"))


_UNPLAIN = re.compile(r"[\x00-\x1f\x7f]|^\s|\s$")


def _plain(value) -> bool:
    """Text python-docx writes as one <w:t> without xml:space (see `_table`)."""
    return isinstance(value, str) and value != "" and not _UNPLAIN.search(value)


def _row_xml(values: list, twips: list, text_style: str) -> str:
    style = _escape(text_style)
    return "<w:tr><w:trPr><w:cantSplit/></w:trPr>" + "".join(
        f'<w:tc><w:tcPr><w:tcW w:type="dxa" w:w="{w}"/></w:tcPr><w:p><w:pPr>'
        f'<w:pStyle w:val="{style}"/></w:pPr><w:r><w:rPr/><w:t>{_escape(v)}</w:t></w:r>'
        f"</w:p></w:tc>" for v, w in zip(values, twips)) + "</w:tr>"


def _escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace(
        '"', "&quot;")


def _append_rows(t, batch: list) -> None:
    """Parse the rows in `batch` at once and put them at the end of table `t`."""
    if batch:
        tbl = parse_xml(f'<w:tbl {nsdecls("w")}>{"".join(batch)}</w:tbl>')
        for tr in list(tbl):
            t._tbl.append(tr)
        batch.clear()


def _right(doc: Document, block: Block, rest: list[Block], first: bool) -> None:
    """署名 and 成文日期, one blank line below the text: the date right-aligned four characters
    in; a signature above it is centred over the date (GB/T 9704 7.3.5.1)."""
    p = doc.add_paragraph(block.text, style="Normal")
    fmt = p.paragraph_format
    fmt.alignment, fmt.first_line_indent = WD_ALIGN_PARAGRAPH.RIGHT, Pt(0)
    fmt.space_before = LINE if first else Pt(0)
    following = next((b for b in rest if b.kind == "right"), None)
    indent = 4.0
    if following is not None:
        indent = max(0.0, 4 + (_width(following.text) - _width(block.text)) / 2)
    fmt.right_indent = Pt(BODY_PT * indent)


def _width(text: str) -> float:
    """Width in characters: CJK and full-width count one, ASCII half."""
    return sum(0.5 if ord(ch) < 0x2E80 else 1 for ch in text)


def _set_properties(doc: Document, ctx: dict, when: datetime | None) -> None:
    props = doc.core_properties
    props.title = f"{ctx['title']}情况报告"
    props.author = props.last_modified_by = ctx["office"]
    props.subject, props.keywords, props.comments = ctx["title"], "", ""
    props.revision = 1
    stamp = (when or datetime(2000, 1, 1)).replace(tzinfo=None, microsecond=0)
    props.created = props.modified = stamp
    props.last_printed = stamp


def _save(doc: Document, path: Path) -> None:
    """Save with fixed zip timestamps, so the same result gives the same bytes."""
    buf = io.BytesIO()
    doc.save(buf)
    out = io.BytesIO()
    with zipfile.ZipFile(buf) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for info in src.infolist():
            dst.writestr(zipfile.ZipInfo(info.filename, ZIP_TIME), src.read(info.filename),
                         zipfile.ZIP_DEFLATED)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_bytes(out.getvalue())
    tmp.replace(path)
