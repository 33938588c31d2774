"""The one-pass xlsx reader of returns.py against the openpyxl reading it replaced.

`reference_read` below is the former implementation (two openpyxl read-only loads: formulas,
then cached values; sheet protection from the raw sheet XML), kept here only as a reference.
Both feed the same `assemble` / `read_cached`, so what is compared is what was read from the
file: every ReturnData field must be equal, over the corpus of bad returns, valid fills, a
contact form, a workbook whose strings are all inline (as some programs write them), and real
LibreOffice re-saves.
"""
import re
import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

import openpyxl
import pytest

from returns_corpus import CONTACT_FORM_ONLY, CONTACT_KINDS, CORPUS, make_valid
from xlsx_workflow.campaign import init_campaign
from xlsx_workflow.generate import generate_campaign
from xlsx_workflow.ingest import sniff
from xlsx_workflow.integrity import (SELF_ASSESSMENT, _identity, normalise_formula,
                                     normalise_value)
from xlsx_workflow.office import convert
from xlsx_workflow.returns import UNRECOGNISED, _Workbook, assemble, read_cached, read_return
from xlsx_workflow.workbook.plan import SHEET

LO_XLSX = "xlsx:Calc MS Excel 2007 XML"


# --- the former openpyxl-based reading (reference only) ----------------------------------------

def reference_read(path: Path, rubric):
    book = openpyxl.load_workbook(path, read_only=True, data_only=False, keep_links=False)
    try:
        ident = _identity(book)
        sheets, records = _scan(book)
        data = assemble(path, rubric, ident, sheets, records, _protection(path, book))
    finally:
        book.close()
    if data.kind == SELF_ASSESSMENT and data.structure != UNRECOGNISED:
        cached = openpyxl.load_workbook(path, read_only=True, data_only=True, keep_links=False)
        try:
            if SHEET in cached.sheetnames:
                rows = [tuple(r) for r in cached[SHEET].iter_rows(values_only=True)]
                if rows:
                    read_cached(rows, data, rubric)
        finally:
            cached.close()
    return data


def _scan(book):
    sheets, records = {}, []
    for ws in book.worksheets:
        if getattr(ws, "sheet_state", "visible") != "visible" or not hasattr(ws, "iter_rows"):
            continue
        rows = []
        for row in ws.iter_rows():
            rows.append(tuple(getattr(c, "value", None) for c in row))
            for c in row:
                value = getattr(c, "value", None)
                if value is None or not c.protection.locked:
                    continue
                if c.data_type == "f":
                    content = "f:" + normalise_formula(str(getattr(value, "text", value)))
                else:
                    content = normalise_value(value)
                if content:
                    records.append((ws.title, c.row - 1, c.column - 1, content))
        sheets[ws.title] = rows
    return sheets, records


_PROTECTION_TAG = re.compile(rb"<(?:\w+:)?sheetProtection\b([^>]*)>")


def _protection(path, book):
    out = {}
    with zipfile.ZipFile(path) as z:
        for ws in book.worksheets:
            xml = z.read(ws._worksheet_path.lstrip("/"))
            m = _PROTECTION_TAG.search(xml)
            out[ws.title] = bool(m and re.search(rb'\bsheet="(1|true)"', m.group(1)))
    return out


# --- comparison ----------------------------------------------------------------------------------

def _same(path: Path, rubric) -> None:
    """The reader agrees with the reference, reading the file itself and reading the parts
    that sniff kept (as the import does)."""
    old, kept = reference_read(path, rubric), {}
    sniff(path, kept)
    for new in (read_return(path, rubric), read_return(path, rubric, kept)):
        for name in new.__dataclass_fields__:
            a, b = getattr(new, name), getattr(old, name)
            if name in ("values", "self_scores", "contacts", "evidence", "deductions"):
                assert _typed(a) == _typed(b), (path.name, name)  # 1, 1.0 and True differ here
            assert a == b, (path.name, name)


def _typed(value):
    """Values with their types, so that int 1, float 1.0 and True are told apart."""
    if isinstance(value, dict):
        return {k: _typed(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_typed(v) for v in value]
    if hasattr(value, "__dataclass_fields__"):
        return [_typed(getattr(value, k)) for k in value.__dataclass_fields__]
    return (type(value).__name__, value)


@pytest.fixture(scope="module")
def ip(tmp_path_factory):
    root = tmp_path_factory.mktemp("camp")
    camp = init_campaign(root, "ip-protection-2021", deadline="2022-05-27")
    res = generate_campaign(root, jobs=1)
    return camp, Path(res.workbooks[0].path), Path(res.contact_forms[0].path)


def test_generated_and_valid_returns_read_the_same(ip, tmp_path):
    camp, workbook, form = ip
    _same(workbook, camp.rubric)
    _same(form, camp.rubric)
    for seed in range(3):
        _same(make_valid(workbook, tmp_path / f"v{seed}.xlsx", camp, seed=seed), camp.rubric)
    _same(make_valid(form, tmp_path / "form.xlsx", camp), camp.rubric)


@pytest.mark.parametrize("kind", sorted(CORPUS))
def test_corpus_reads_the_same(ip, tmp_path, kind):
    camp, workbook, form = ip
    build, _ = CORPUS[kind]
    _same(build(workbook, tmp_path / f"{kind}.xlsx", camp), camp.rubric)
    if kind in CONTACT_KINDS:
        _same(build(form, tmp_path / f"{kind}-form.xlsx", camp), camp.rubric)


def test_blank_contact_form_reads_the_same(ip, tmp_path):
    camp, _, form = ip
    for kind, (build, _) in CONTACT_FORM_ONLY.items():
        _same(build(form, tmp_path / f"{kind}.xlsx", camp), camp.rubric)


_SHARED_CELL = re.compile(rb'<c r="([A-Z]+\d+)"([^>]*?) t="s"([^>]*)><v>(\d+)</v></c>')


def _inline_strings(src: Path, dst: Path) -> Path:
    """The same workbook with every shared string written inline (t="inlineStr"), as WPS and
    some tools do, and a rich-text run in one of them."""
    with zipfile.ZipFile(src) as z:
        parts = {n: z.read(n) for n in z.namelist()}
    with _Workbook(src) as wb:
        strings = wb.strings

    def inline(m):
        text = strings[int(m.group(4))]
        body = f'<is><t xml:space="preserve">{escape(text)}</t></is>'
        if text.startswith("填报单位"):
            body = (f'<is><r><t>{escape(text[:2])}</t></r>'
                    f'<r><rPr><b/></rPr><t>{escape(text[2:])}</t></r></is>')
        return (b'<c r="' + m.group(1) + b'"' + m.group(2) + b' t="inlineStr"' + m.group(3)
                + b'>' + body.encode() + b'</c>')

    with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in parts.items():
            if name.startswith("xl/worksheets/sheet"):
                data = _SHARED_CELL.sub(inline, data)
            z.writestr(name, data)
    return dst


def test_inline_strings_read_the_same(ip, tmp_path):
    camp, workbook, _ = ip
    valid = make_valid(workbook, tmp_path / "v.xlsx", camp, seed=4)
    inline = _inline_strings(valid, tmp_path / "inline.xlsx")
    assert b"inlineStr" in zipfile.ZipFile(inline).read("xl/worksheets/sheet2.xml")
    _same(inline, camp.rubric)
    a, b = read_return(valid, camp.rubric), read_return(inline, camp.rubric)
    assert b.values == a.values and b.unit_name_shown == a.unit_name_shown == "浉河区"
    assert b.fingerprint_ok is True


@pytest.mark.libreoffice
def test_libreoffice_resaves_read_the_same(ip, tmp_path, soffice):
    camp, workbook, form = ip
    for name, src in (("valid", make_valid(workbook, tmp_path / "valid.xlsx", camp, seed=7)),
                      ("inserted", CORPUS["row_inserted"][0](workbook, tmp_path / "ins.xlsx", camp)),
                      ("form", make_valid(form, tmp_path / "form.xlsx", camp))):
        resaved = convert(src, LO_XLSX, tmp_path / f"lo-{name}")
        _same(resaved, camp.rubric)


def test_examine_keeps_the_units_self_scores(ip, tmp_path):
    """The cached 自评得分 go into the ledger's values (JSON-safe) for the review sheet's 自评分;
    the inputs read back from the ledger are unchanged by them."""
    import json
    from decimal import Decimal
    from types import SimpleNamespace

    from xlsx_workflow.importer import examine
    from xlsx_workflow.score import inputs_of, self_scores_of
    camp, workbook, _ = ip
    valid = make_valid(workbook, tmp_path / "v.xlsx", camp, seed=5)
    data, ex = read_return(valid, camp.rubric), examine(valid, camp)
    stored = SimpleNamespace(values=json.loads(json.dumps(ex.values, default=str)))  # as ledger
    kept = stored.values["self_scores"]
    assert set(kept) == set(data.self_scores)
    office = {c.id for c in camp.rubric.clauses if c.needs_office}
    assert office and all(kept[c] is None for c in office)  # 待市级核定 is not a score
    scores = self_scores_of(stored)
    assert scores and all(scores[c] == Decimal(str(data.self_scores[c])) for c in scores)
    assert set(inputs_of(stored)) == {f.id for f in camp.rubric.unit_fields}


def test_the_parts_sniff_checked_are_not_decompressed_again(ip, monkeypatch):
    camp, workbook, _ = ip
    kept = {}
    assert sniff(workbook, kept) == []
    with zipfile.ZipFile(workbook) as z:
        xml = {n: z.read(n) for n in z.namelist() if n.endswith((".xml", ".rels"))}
    assert kept == xml  # every part, whole
    read = []
    real = zipfile.ZipFile.read
    monkeypatch.setattr(zipfile.ZipFile, "read", lambda z, n, *a: read.append(n) or real(z, n, *a))
    data = read_return(workbook, camp.rubric, kept)
    assert read == [] and data.fingerprint_ok
    assert read_return(workbook, camp.rubric).fingerprint_ok and read  # without: from the zip


@pytest.mark.parametrize("xml", [
    b'<worksheet><sheetData/></worksheet>',
    b'<worksheet><sheetData/><sheetProtection sheet="1" objects="1"/></worksheet>',
    b'<x:worksheet xmlns:x="m"><x:sheetData/><x:sheetProtection sheet="true"/></x:worksheet>',
    b'<worksheet><sheetData><row><c t="inlineStr"><is><t>sheetProtection</t></is></c></row>'
    b'</sheetData><sheetProtection sheet="0"/><sheetProtection sheet="1"/></worksheet>',
    b'<worksheet><sheetData/><sheetProtectionX sheet="1"/></worksheet>',
    b'sheetProtection sheet="1"/>',
])
def test_protection_is_found_as_the_pattern_finds_it(xml):
    """The sheet-protection search starts near the element (issue 13); what it finds is what
    the pattern finds searching the whole part: the first real element, its attributes."""
    from xlsx_workflow.returns import _PROTECTION_TAG, _protection_tag
    a, b = _protection_tag(xml), _PROTECTION_TAG.search(xml)
    assert (a and (a.start(), a.group(1))) == (b and (b.start(), b.group(1)))
