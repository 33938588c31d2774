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
    ws.set_row(45, 20)                                 # a height, no cells
    ws.set_row(47, None, bold)                         # a row format, no cells
    ws.write_number(50, 11, 1, bold)                   # a sparse row, columns out of order
    ws.write_string(50, 10, "后写的左列", bold)
    ws.set_row(50, 18)
    ws.write_blank(70, 1, None, bold)                  # a block of 16 rows with one cell
    ws.write_number(95, 0, 9)
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


def _charted_book(target, workbook_class, label: str, in_memory: bool = True):
    """A workbook with a chart, a merged range and properties; `label` changes two parts."""
    wb = workbook_class(target, {"in_memory": in_memory, "strings_to_formulas": False})
    wb.set_properties({"title": label, "created": datetime(2022, 5, 20, 9, 0)})
    ws = wb.add_worksheet("排名")
    head = wb.add_format({"bold": True, "bg_color": "#D9E1F2", "border": 1})
    for r in range(12):
        ws.write_string(r, 0, f"{label}{r}", head if r == 0 else None)
        ws.write_number(r, 1, r * 1.5)
    ws.merge_range(13, 0, 13, 3, "合计", head)
    chart = wb.add_chart({"type": "bar"})
    chart.add_series({"categories": ["排名", 0, 0, 11, 0], "values": ["排名", 0, 1, 11, 1]})
    ws.insert_chart("D2", chart)
    wb.close()


def test_fast_workbooks_are_zipped_as_xlsxwriter_zips_them(tmp_path, monkeypatch):
    """FastWorkbook zips its parts itself, keeping each part's deflated bytes while the part
    does not change (issue 13): every file is still xlsxwriter's, byte for byte — the first,
    a second made of kept parts, one whose parts changed, one written to a file object, one
    written through temporary files, and one large enough for zipfile's own writer."""
    import io
    from xlsx_workflow.workbook import checked
    from xlsx_workflow.workbook.checked import FastWorkbook
    checked._DEFLATED.clear()

    def both(label: str, **kw) -> bytes:
        _charted_book(str(tmp_path / "stock.xlsx"), xlsxwriter.Workbook, label, **kw)
        _charted_book(str(tmp_path / "fast.xlsx"), FastWorkbook, label, **kw)
        ours, theirs = (tmp_path / "fast.xlsx").read_bytes(), (tmp_path / "stock.xlsx").read_bytes()
        assert ours == theirs, label
        return ours

    first = both("甲")
    kept = dict(checked._DEFLATED)
    assert len(kept) >= 10  # chart, drawing and their relationships included
    assert both("甲") == first
    assert all(checked._DEFLATED[n] is kept[n] for n in kept)  # nothing deflated again
    changed = both("乙")
    assert changed != first
    assert checked._DEFLATED["docProps/core.xml"] is not kept["docProps/core.xml"]
    assert checked._DEFLATED["xl/theme/theme1.xml"] is kept["xl/theme/theme1.xml"]
    with zipfile.ZipFile(io.BytesIO(changed)) as z:
        assert z.testzip() is None and "乙0" in z.read("xl/sharedStrings.xml").decode()

    sink = io.BytesIO()
    _charted_book(sink, FastWorkbook, "乙")
    assert sink.getvalue() == changed
    both("丙", in_memory=False)
    monkeypatch.setattr(checked, "_ZIP32", 0)
    assert both("乙") == changed


def test_blank_rows_are_written_as_blank_cells_one_by_one(tmp_path):
    """Sheet.blanks (the prepared input rows of 材料清单 and 扣分事项) gives the bytes of
    `text(row, col, "", style)` cell by cell, and the sheet's dimensions, in either mode."""
    from xlsx_workflow.workbook.checked import FastWorkbook, Sheet
    from xlsx_workflow.workbook.styles import Styles

    def book(path, rowwise: bool, constant_memory: bool) -> dict:
        wb = FastWorkbook(str(path), {"in_memory": not constant_memory,
                                      "constant_memory": constant_memory})
        wb.set_properties({"created": datetime(2022, 5, 20, 9, 0)})
        sh = Sheet(wb.add_worksheet("材料清单", FastWorksheet), Styles(wb), [])
        cells = [(3, "input_date"), (1, "input_text"), (2, "input"), (5, "input")]
        for r in range(4, 30):
            sh.number(r, 6, r - 3, "center")  # right of the blanks: they set the left edge
            if rowwise:
                sh.blanks(r, cells)
            else:
                for col, style in cells:
                    sh.text(r, col, "", style)
        assert sh.records == [] or all(rec[3] for rec in sh.records)
        wb.close()
        with zipfile.ZipFile(path) as z:
            return {n: z.read(n) for n in z.namelist()}

    for constant_memory in (False, True):
        one = book(tmp_path / f"one{constant_memory}.xlsx", False, constant_memory)
        rows = book(tmp_path / f"rows{constant_memory}.xlsx", True, constant_memory)
        assert one == rows
        assert b'<dimension ref="B5:G30"/>' in rows["xl/worksheets/sheet1.xml"]
