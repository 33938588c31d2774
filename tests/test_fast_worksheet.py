"""FastWorksheet (workbook/checked.py) saves the same bytes as xlsxwriter's own Worksheet."""
import zipfile
from datetime import datetime

import pytest
import xlsxwriter
from xlsxwriter.worksheet import Worksheet

from xlsx_workflow.workbook.checked import FastWorksheet


def _book(path, worksheet_class, constant_memory: bool) -> dict:
    wb = xlsxwriter.Workbook(str(path), {"in_memory": not constant_memory,
                                         "constant_memory": constant_memory,
                                         "strings_to_formulas": False, "strings_to_urls": False,
                                         "strings_to_numbers": False})
    wb.set_properties({"created": datetime(2022, 5, 20, 9, 0)})
    bold = wb.add_format({"bold": True, "border": 1})
    pct = wb.add_format({"num_format": "0.00%"})
    when = wb.add_format({"num_format": "yyyy-mm-dd hh:mm"})
    ws = wb.add_worksheet("表一", worksheet_class)
    ws.set_column(6, 6, 12, pct)                       # a column format under unformatted cells
    texts = ["浉河区", "a & b <c> \"d\"", " 前后空格 ", "_x0041_", "line\nbreak", "\x07bell"]
    numbers = [0, -0.0, 0.1, 1 / 3, 1e20, 123456789012345678, -2.5, 1e-300]
    for r in range(40):                                # rows in order (constant_memory)
        if r == 7:
            ws.set_row(r, 30, bold)                    # a row format under unformatted cells
        ws.write_string(r, 0, texts[r % len(texts)], bold if r % 2 else None)
        ws.write_number(r, 1, numbers[r % len(numbers)], pct if r % 3 else None)
        ws.write_blank(r, 2, None, bold)
        ws.write_blank(r, 3, None, None)               # no format: no cell at all
        ws.write_formula(r, 4, f"=B{r + 1}*2", bold, r * 2)
        ws.write_boolean(r, 5, r % 2 == 0, bold)
        ws.write_number(r, 6, r / 7)                   # takes the column format
        ws.write_datetime(r, 7, datetime(2022, 5, r % 28 + 1, 9, 30), when)
        ws.write_string(r, 8, "")                      # empty: written as a blank
        if r % 5 == 0:
            ws.write_rich_string(r, 9, "甲", bold, "乙", "丙")
    ws.merge_range(41, 0, 42, 3, "合并", bold)
    wb.close()
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


@pytest.mark.parametrize("constant_memory", [False, True])
def test_every_kind_of_cell_is_saved_as_xlsxwriter_saves_it(tmp_path, constant_memory):
    ours = _book(tmp_path / "fast.xlsx", FastWorksheet, constant_memory)
    theirs = _book(tmp_path / "stock.xlsx", Worksheet, constant_memory)
    assert list(ours) == list(theirs)
    for name in theirs:
        assert ours[name] == theirs[name], name
    sheet = theirs["xl/worksheets/sheet1.xml"].decode()
    assert ' s="' in sheet and ("<is>" in sheet) == constant_memory  # both paths were taken


def _strings_book(path, workbook_class) -> dict:
    wb = workbook_class(str(path), {"in_memory": True, "strings_to_formulas": False,
                                    "strings_to_urls": False, "strings_to_numbers": False})
    wb.set_properties({"created": datetime(2022, 5, 20, 9, 0)})
    bold = wb.add_format({"bold": True})
    ws = wb.add_worksheet("反馈单")
    texts = ["浉河区", "a & b <c> \"d\"", " 前后空格 ", "尾空格 ", "_x0041_", "line\nbreak",
             "\x07bell", "\ufffe", "<r>看似富文本</r>", "=HYPERLINK(\"x\")", "同一句"]
    for r, text in enumerate(texts * 2):  # each text twice: one shared string, counted twice
        ws.write_string(r, 0, text, bold if r % 2 else None)
    ws.write_rich_string(30, 0, "甲", bold, "乙", "丙")
    wb.close()
    with zipfile.ZipFile(path) as z:
        return {n: z.read(n) for n in z.namelist()}


def test_shared_strings_kept_between_workbooks_are_saved_as_xlsxwriter_saves_them(tmp_path):
    """FastWorkbook reuses each string's <si> element from an earlier workbook of the process
    (issue 13): the second workbook, made of kept elements only, has xlsxwriter's bytes too."""
    from xlsx_workflow.workbook import checked
    from xlsx_workflow.workbook.checked import FastWorkbook
    checked._SI.clear()
    theirs = _strings_book(tmp_path / "stock.xlsx", xlsxwriter.Workbook)
    first = _strings_book(tmp_path / "fast1.xlsx", FastWorkbook)
    kept = len(checked._SI)
    second = _strings_book(tmp_path / "fast2.xlsx", FastWorkbook)
    assert kept >= 12 and len(checked._SI) == kept  # the second one made no new element
    for ours in (first, second):
        assert list(ours) == list(theirs)
        for name in theirs:
            assert ours[name] == theirs[name], name
    sst = theirs["xl/sharedStrings.xml"].decode()
    assert 'xml:space="preserve"' in sst and "_x0007_" in sst and "&amp;" in sst
