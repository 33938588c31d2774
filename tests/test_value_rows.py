"""The streaming value reader (value_rows.ValueBook) gives what openpyxl's read-only, values-only
mode gives, row for row, on workbooks written by openpyxl, xlsxwriter and LibreOffice; a hostile
or broken 审核表 is refused with S007, never expanded or half-read."""
from __future__ import annotations

import shutil
import subprocess
import zipfile
from datetime import date, datetime, time

import openpyxl
import pytest
import xlsxwriter

from xlsx_workflow.messages import WorkflowError
from xlsx_workflow.office import soffice_path
from xlsx_workflow.value_rows import ValueBook


def _trim(row) -> tuple:
    row = list(row)
    while row and row[-1] is None:
        row.pop()
    return tuple(row)


def _openpyxl_rows(path, name) -> list:
    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    rows = [_trim(r) for r in book[name].iter_rows(values_only=True)]
    book.close()
    while rows and not rows[-1]:
        rows.pop()
    return rows


def _ours(path, name) -> list:
    with ValueBook(path) as book:
        rows = [_trim(r) for r in book.rows(name)]
    while rows and not rows[-1]:
        rows.pop()
    return rows


def _xlsxwriter_book(path) -> None:
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("审核表")
    day = wb.add_format({"num_format": "yyyy-mm-dd"})
    clock = wb.add_format({"num_format": "hh:mm"})
    boxed = wb.add_format({"border": 1})
    ws.write_row(0, 0, ["单位代码", "条款编号", "核定分", "核定理由", "审核人", "系统计算分"])
    ws.write_row(1, 0, ["330102", "1.1", 2.5, "材料不全，扣 0.5 分", "张三", 3])
    ws.write_string(2, 0, "00123")  # a code with leading zeros stays text
    ws.write_number(2, 2, -0.25)
    ws.write_boolean(2, 3, True)
    ws.write_formula(2, 5, "=1+1", None, 2)
    ws.write_formula(2, 6, '="核"&"定"', None, "核定")
    ws.write_datetime(4, 0, datetime(2022, 5, 27, 9, 30), day)  # row 4 is left out: a gap
    ws.write_datetime(4, 1, datetime(1899, 12, 31, 8, 15), clock)
    ws.write_blank(4, 2, None, boxed)  # a formatted empty cell holds no value
    ws.write_formula(4, 3, "=1/0", None, "#DIV/0!")
    ws.write_number(4, 27, 1e-7)  # column AB
    ws.write_string(6, 0, "  前后空格  ")
    ws.write_string(7, 1, "x005F_x000D_ 转义")
    wb.close()


def _openpyxl_book(path) -> None:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "审核表"
    ws.append(["单位代码", "条款编号", "核定分", "核定理由"])
    ws.append(["330102", "1.1", 3, None, date(2022, 1, 5)])
    ws.cell(5, 2).value = time(14, 45)
    ws.cell(5, 3).value = 12345678901234
    ws.cell(6, 1).value = False
    ws.cell(9, 30).value = "far right"
    wb.create_sheet("市级确认").append(["单位代码", "条款编号"])
    wb.save(path)


@pytest.mark.parametrize("writer", [_xlsxwriter_book, _openpyxl_book])
def test_values_are_openpyxls_read_only_values(tmp_path, writer):
    path = tmp_path / "book.xlsx"
    writer(path)
    with ValueBook(path) as book:
        names = book.sheetnames
    assert names == openpyxl.load_workbook(path, read_only=True).sheetnames
    for name in names:
        ours, theirs = _ours(path, name), _openpyxl_rows(path, name)
        assert ours == theirs
        assert [[type(v) for v in r] for r in ours] == [[type(v) for v in r] for r in theirs]
    if writer is _xlsxwriter_book:
        rows = _ours(path, "审核表")
        assert rows[3] == () and rows[2][0] == "00123" and len(rows[4]) == 28  # gap; column AB


@pytest.mark.libreoffice
def test_a_sheet_saved_by_libreoffice_reads_as_openpyxl_reads_it(tmp_path):
    src = tmp_path / "src.xlsx"
    _xlsxwriter_book(src)
    out = tmp_path / "lo"
    subprocess.run([soffice_path(), "--headless", "--convert-to", "xlsx:Calc MS Excel 2007 XML",
                    "--outdir", str(out), str(src)], check=True, capture_output=True, timeout=180)
    saved = out / "src.xlsx"
    assert _ours(saved, "审核表") == _openpyxl_rows(saved, "审核表")


def _with_sheet_xml(src, dst, xml: bytes) -> None:
    with zipfile.ZipFile(src) as zin, zipfile.ZipFile(dst, "w") as zout:
        for info in zin.infolist():
            data = xml if info.filename == "xl/worksheets/sheet1.xml" else zin.read(info)
            zout.writestr(info, data)


def test_an_entity_is_never_expanded(tmp_path):
    src = tmp_path / "src.xlsx"
    _xlsxwriter_book(src)
    bomb = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "AAAAAAAAAA">'
            b'<!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;"><!ENTITY c "&b;&b;&b;&b;&b;&b;&b;&b;">'
            b']><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
            b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>&c;</t></is></c></row>'
            b'</sheetData></worksheet>')
    path = tmp_path / "bomb.xlsx"
    _with_sheet_xml(src, path, bomb)
    try:
        rows = _ours(path, "审核表")
    except SyntaxError:
        return  # refused outright: fine
    assert "AAAA" not in str(rows)


def test_a_cut_sheet_is_an_error_not_a_short_read(tmp_path):
    src = tmp_path / "src.xlsx"
    _xlsxwriter_book(src)
    with zipfile.ZipFile(src) as z:
        xml = z.read("xl/worksheets/sheet1.xml")
    path = tmp_path / "cut.xlsx"
    _with_sheet_xml(src, path, xml[: len(xml) // 2])
    with pytest.raises(SyntaxError):
        _ours(path, "审核表")


def test_a_review_sheet_that_cannot_be_read_is_s007(tmp_path):
    from scorebuilder import make_campaign, record_all, sample
    from xlsx_workflow.review import write_review
    from xlsx_workflow.score import run_score
    camp = make_campaign(tmp_path / "c", "ip-protection-2021")
    record_all(camp, sample(camp))
    path = write_review(tmp_path / "c").path
    with zipfile.ZipFile(path) as z:
        xml = z.read("xl/worksheets/sheet1.xml")
    shutil.copy(path, tmp_path / "good.xlsx")
    _with_sheet_xml(tmp_path / "good.xlsx", path, xml[: len(xml) * 2 // 3])
    with pytest.raises(WorkflowError) as e:
        run_score(tmp_path / "c")
    assert e.value.issues[0].code == "S007" and "审核表" in e.value.issues[0].message


def test_only_the_asked_columns_are_read(tmp_path):
    path = tmp_path / "book.xlsx"
    _xlsxwriter_book(path)
    full = _ours(path, "审核表")
    with ValueBook(path) as book:
        some = [_trim(r) for r in book.rows("审核表", {1, 3, 28})]
    while some and not some[-1]:
        some.pop()
    expect = [_trim(v if k + 1 in (1, 3, 28) else None for k, v in enumerate(r)) for r in full]
    while expect and not expect[-1]:
        expect.pop()
    assert some == expect and some[4][27] == 1e-7 and some[1] == ("330102", None, 2.5)
