"""The marked copy made by patching the workbook's XML against the openpyxl load-and-save it
replaced (kept in feedback.py as the fallback): same data, same marks, same selection; a sheet
with comments of its own falls back to openpyxl; LibreOffice opens the patched copy."""
import zipfile
from pathlib import Path

import openpyxl
import pytest

from returns_corpus import CORPUS, make_valid
from xlsx_workflow.campaign import init_campaign
from xlsx_workflow.feedback import (ERROR_FILL, WARNING_FILL, _marked_copy_openpyxl,
                                    _patch_marked_copy, _Unpatchable, locate, write_marked_copy)
from xlsx_workflow.generate import generate_campaign
from xlsx_workflow.importer import examine
from xlsx_workflow.integrity import verify_fingerprint
from xlsx_workflow.messages import issue
from xlsx_workflow.office import convert


@pytest.fixture(scope="module")
def ip(tmp_path_factory):
    root = tmp_path_factory.mktemp("camp")
    camp = init_campaign(root, "ip-protection-2021", deadline="2022-05-27")
    res = generate_campaign(root, jobs=1)
    return camp, Path(res.workbooks[0].path)


def _issues(camp, src):
    """A warning from the checks plus an error on a second sheet (材料清单)."""
    found = [i for i in examine(src, camp).issues if locate(i)[1]]
    assert found
    return found + [issue("E007", "材料清单!B5", cell="材料清单!B5", value="x")]


def _marks(issues):
    out = {}
    for i in issues:
        sheet, cell = locate(i)
        out.setdefault((sheet, cell), []).append(i)
    return out


def _snapshot(path: Path, cells) -> dict:
    book = openpyxl.load_workbook(path)
    try:
        values = {(ws.title, c.coordinate): c.value for ws in book.worksheets
                  for row in ws.iter_rows() for c in row if c.value is not None}
        marks = {(s, c): (book[s][c].fill.fgColor.rgb, book[s][c].comment.text,
                          book[s][c].comment.author, book[s][c].protection.locked,
                          book[s][c].number_format, book[s][c].border.left.style)
                 for s, c in cells}
        unmarked = [(ws.title, c.coordinate) for ws in book.worksheets for row in ws.iter_rows()
                    for c in row if c.comment is not None and (ws.title, c.coordinate) not in cells]
        view = (book.active.title, book.active.sheet_view.selection[0].activeCell,
                [ws.title for ws in book.worksheets if ws.sheet_view.tabSelected])
        validations = {ws.title: len(ws.data_validations.dataValidation) for ws in book.worksheets}
        protected = {ws.title: bool(ws.protection.sheet) for ws in book.worksheets}
        return {"values": values, "marks": marks, "unmarked": unmarked, "view": view,
                "validations": validations, "protected": protected}
    finally:
        book.close()


def test_patched_copy_equals_the_openpyxl_copy(ip, tmp_path):
    camp, workbook = ip
    src = CORPUS["blank_field"][0](workbook, tmp_path / "b.xlsx", camp)
    issues = _issues(camp, src)
    marks = _marks(issues)
    patched, reference = tmp_path / "patched.xlsx", tmp_path / "reference.xlsx"
    _patch_marked_copy(src, marks, patched)
    _marked_copy_openpyxl(src, marks, reference)
    a, b = _snapshot(patched, set(marks)), _snapshot(reference, set(marks))
    assert a == b
    fills = {v[0] for v in a["marks"].values()}
    assert fills == {ERROR_FILL, WARNING_FILL} and a["unmarked"] == []
    assert a["view"][0] == "自评表" and a["view"][2] == ["自评表"]
    assert verify_fingerprint(patched)
    # their parts that carry no mark are copied byte for byte
    with zipfile.ZipFile(src) as zs, zipfile.ZipFile(patched) as zp:
        assert zs.read("xl/sharedStrings.xml") == zp.read("xl/sharedStrings.xml")
        assert zs.read("docProps/custom.xml") == zp.read("docProps/custom.xml")
        assert len(zp.read("xl/worksheets/sheet2.xml")) < 1.2 * len(zs.read("xl/worksheets/sheet2.xml"))


def test_a_sheet_with_its_own_comments_falls_back_to_openpyxl(ip, tmp_path):
    camp, workbook = ip
    src = make_valid(workbook, tmp_path / "v.xlsx", camp, seed=2)
    book = openpyxl.load_workbook(src)
    book["自评表"]["J20"].comment = openpyxl.comments.Comment("单位自己的批注", "县里")
    book.save(src)
    issues = [issue("E007", "自评表!G9", cell="自评表!G9", value="x")]
    with pytest.raises(_Unpatchable):
        _patch_marked_copy(src, _marks(issues), tmp_path / "never.xlsx")
    dst = tmp_path / "marked.xlsx"
    write_marked_copy(src, issues, dst)
    got = openpyxl.load_workbook(dst)["自评表"]
    assert got["G9"].fill.fgColor.rgb == ERROR_FILL and "【错误】" in got["G9"].comment.text
    assert got["J20"].comment.text == "单位自己的批注"


@pytest.mark.libreoffice
def test_libreoffice_opens_the_patched_copy(ip, tmp_path, soffice):
    camp, workbook = ip
    src = CORPUS["blank_field"][0](workbook, tmp_path / "b.xlsx", camp)
    issues = _issues(camp, src)
    dst = tmp_path / "marked.xlsx"
    write_marked_copy(src, issues, dst)
    back = convert(dst, "xlsx:Calc MS Excel 2007 XML", tmp_path / "lo")
    book = openpyxl.load_workbook(back)
    for (sheet, cell), found in _marks(issues).items():
        assert book[sheet][cell].comment is not None, (sheet, cell)
        assert found[0].message in book[sheet][cell].comment.text
        assert book[sheet][cell].fill.fgColor.rgb in (ERROR_FILL, WARNING_FILL)
