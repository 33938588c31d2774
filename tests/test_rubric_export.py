"""`rubric export`: the printable 考核细则 workbook, read back with openpyxl and printed by LibreOffice."""
import json
import re
import shutil
import subprocess
from datetime import datetime
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from rubric_builder import one_clause
from xlsx_workflow.cli import main
from xlsx_workflow.rubric import builtin_ids, builtin_rubric, load_rubric
from xlsx_workflow.rubric.export import COLUMNS, export_rubric, lines_needed, points_text

MINI = Path(__file__).parent / "data" / "mini.yaml"
HEADER = ["考核维度", "指标", "评分细则", "评分方式", "分值/上限", "填报项", "支撑材料", "说明"]
RUBRICS = ["mini"] + builtin_ids()  # built-in rubrics are checked as soon as their YAML exists


def _rubric(name):
    return load_rubric(MINI) if name == "mini" else builtin_rubric(name)


def _column(ws, col: int) -> list[str]:
    return [str(r[0]) for r in ws.iter_rows(min_row=4, min_col=col, max_col=col, values_only=True)
            if r[0] is not None]


@pytest.fixture(scope="module")
def mini_book(tmp_path_factory):
    path = export_rubric(load_rubric(MINI), tmp_path_factory.mktemp("mini") / "细则.xlsx")
    return openpyxl.load_workbook(path)


@pytest.mark.parametrize("name", RUBRICS)
def test_every_indicator_clause_and_field_is_in_the_table(name, tmp_path):
    rubric = _rubric(name)
    ws = openpyxl.load_workbook(export_rubric(rubric, tmp_path / "x.xlsx"))["考核细则"]
    assert ws["A1"].value == rubric.title
    assert [c.value for c in ws[3]] == HEADER
    assert sorted(_column(ws, 3)) == sorted(f"{c.id}　{c.text}" for c in rubric.clauses)
    indicators = "\n".join(_column(ws, 2))
    for ind in rubric.indicators:
        assert f"{ind.id}. {ind.name}\n" in indicators
    field_lines = {line for cell in _column(ws, 6) for line in cell.split("\n")}
    for f in rubric.fields:
        assert f"{f.id} {f.label}" + (f"（{f.unit}）" if f.unit else "") in field_lines
    dims = "\n".join(_column(ws, 1))
    assert all(d.name in dims for d in rubric.dimensions)


@pytest.mark.parametrize("name", RUBRICS)
def test_print_setup(name, tmp_path):
    wb = openpyxl.load_workbook(export_rubric(_rubric(name), tmp_path / "x.xlsx"))
    assert wb.sheetnames == ["考核细则", "说明"]
    for ws in wb:
        ps = ws.page_setup
        assert (ps.orientation, ps.paperSize, ps.fitToHeight) == ("landscape", 9, 0)
        assert ps.fitToWidth in (None, 1)  # absent means 1 in OOXML; xlsxwriter omits the default
        assert ws.sheet_properties.pageSetUpPr.fitToPage
        assert "&P" in ws.oddFooter.center.text and "&N" in ws.oddFooter.center.text
    rules = wb["考核细则"]
    assert rules.print_title_rows == "$3:$3"
    assert rules.freeze_panes == "A4"
    assert rules.oddHeader.center.text == _rubric(name).title
    assert [rules.column_dimensions[c].width > 5 for c in "ABCDEFGH"] == [True] * 8


def test_indicators_and_dimensions_are_merged_over_their_rows(mini_book):
    ws = mini_book["考核细则"]
    merged = {str(r) for r in ws.merged_cells.ranges}
    # mini: 甲维度 = indicators 1 (3 clauses) and 2 (9 clauses); row 4 is the 基础指标 heading.
    assert {"A1:H1", "A2:H2", "A5:A16", "B5:B7", "B8:B16", "G5:G7", "G8:G16"} <= merged
    assert ws["A5"].value == "甲维度\n（60分）" and ws["B5"].value == "1. 会议\n（8分）"
    assert ws["A4"].value == "基础指标（满分100分）" and "A4:H4" in merged
    assert ws["A5"].fill.fgColor.rgb.endswith("DDEBF7")


def test_merged_cells_get_room_for_their_text(mini_book):
    ws = mini_book["考核细则"]
    widths = [w for _, w in COLUMNS]
    for rng in ws.merged_cells.ranges:
        if rng.min_col != rng.max_col:
            continue
        text = ws.cell(rng.min_row, rng.min_col).value or ""
        total = sum(ws.row_dimensions[r].height for r in range(rng.min_row, rng.max_row + 1))
        assert total >= lines_needed(text, widths[rng.min_col - 1]) * 14


def test_long_text_makes_a_tall_row(tmp_path):
    rubric = one_clause(tmp_path, {"kind": "flag", "points": 1, "text": "很长的细则" * 60},
                        [{"id": "c", "label": "是否", "type": "flag"}])
    ws = openpyxl.load_workbook(export_rubric(rubric, tmp_path / "x.xlsx"))["考核细则"]
    assert ws.row_dimensions[5].height >= 14 * 13  # 300 characters over a 44-unit column


def test_notes_column(mini_book):
    ws = mini_book["考核细则"]
    notes = dict(zip(_column(ws, 3), [ws.cell(r, 8).value for r in range(4, ws.max_row + 1)
                                       if ws.cell(r, 3).value]))
    assert notes["2.1　比值"] == "需市级核定数据：按行政区划设置的执法单位数"
    assert notes["2.9　全市排名"] == "需市级核定数据：办理案件数全市排名"
    assert notes["3.1　自评"] == "功能区不适用"
    assert notes["1.1　开会得2分"] is None


@pytest.mark.parametrize("clause_id, role, expected", [
    ("1.1", "base", "2分"),
    ("1.2", "base", "每次2分\n最多4分"),
    ("1.3", "base", "甲：2分\n乙：1分\n无：0分"),
    ("2.4", "base", "≤10：1分\n≤25：0.9分\n其余：0.8分\n最多1分"),
    ("2.5", "base", "2.5.1：0.2分\n2.5.2：0.3分\n最多0.5分"),
    ("2.6", "base", "2分，每次扣0.2分\n最多2分"),
    ("2.2", "base", "达到上年度得1分，每下降10%扣0.1分，不足一档按一档计\n最多1分"),
    ("3.1", "base", "自评0～40分，以0.5分为单位\n最多40分"),
    ("2.7", "base", "最多6分"),
    ("4.1", "bonus", "加3分"),
    ("5.1", "deduction", "每起扣0.2分\n最多扣2分"),
])
def test_points_text(clause_id, role, expected):
    rubric = load_rubric(MINI)
    clause = next(c for c in rubric.clauses if c.id == clause_id)
    assert points_text(clause, {"base": "", "bonus": "加", "deduction": "扣"}[role]) == expected


def test_checklist_with_equal_items_reads_per_item(tmp_path):
    rubric = one_clause(tmp_path, {"kind": "checklist", "items": [{"field": "a", "points": 0.5},
                                                                  {"field": "b", "points": 0.5}]},
                        [{"id": "a", "label": "甲", "type": "flag"}, {"id": "b", "label": "乙", "type": "flag"}])
    assert points_text(rubric.clauses[0]) == "每项0.5分\n最多1分"


def test_subtitle_and_notes_sheet(mini_book):
    sub = mini_book["考核细则"]["A2"].value
    assert "细则编号：mini　第1版" in sub
    assert "基础指标满分100分，加分项最多加3分，扣分项最多扣2分" in sub
    assert "等次：优秀≥90分，良好≥80分，一般<80分。" in sub
    rows = [[c for c in r if c is not None] for r in mini_book["说明"].iter_rows(values_only=True)]
    assert ["执法单位数", "按行政区划设置的执法单位数", "每个单位"] in rows
    assert ["全省平均数", "全省平均数", "全市统一"] in rows
    assert ["1", "甲县", "县区"] in rows and ["2", "乙区", "功能区"] in rows
    assert ["细则编号", "mini"] in rows


def test_same_rubric_same_bytes(tmp_path):
    a = export_rubric(load_rubric(MINI), tmp_path / "a.xlsx").read_bytes()
    b = export_rubric(load_rubric(MINI), tmp_path / "b.xlsx").read_bytes()
    assert a == b
    assert openpyxl.load_workbook(tmp_path / "a.xlsx").properties.created == datetime(2000, 1, 1)


def test_text_from_the_rubric_stays_text(tmp_path):
    rubric = one_clause(tmp_path, {"kind": "flag", "points": 1, "text": "=1+1"},
                        [{"id": "c", "label": "=SUM(A1:A2)", "type": "flag"}], notes=["=HYPERLINK(1)"])
    wb = openpyxl.load_workbook(export_rubric(rubric, tmp_path / "x.xlsx"))
    ws = wb["考核细则"]
    assert (ws["C5"].value, ws["C5"].data_type) == ("c　=1+1", "s")
    assert (ws["F5"].value, ws["F5"].data_type) == ("c =SUM(A1:A2)", "s")
    notes = [c for row in wb["说明"].iter_rows() for c in row if c.value == "=HYPERLINK(1)"]
    assert notes and notes[0].data_type == "s"


def test_cli_export_json(tmp_path):
    target = tmp_path / "out" / "细则.xlsx"
    result = CliRunner().invoke(main, ["rubric", "export", str(MINI), str(target), "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.output) == {"files": [str(target.resolve())]}
    assert openpyxl.load_workbook(target)["考核细则"]["A1"].value == "测试细则"


@pytest.mark.libreoffice
@pytest.mark.parametrize("name", RUBRICS)
def test_libreoffice_prints_it(name, soffice, tmp_path):
    src = export_rubric(_rubric(name), tmp_path / f"{name}.xlsx")
    proc = subprocess.run([soffice, "--headless", "--norestore",
                           f"-env:UserInstallation={(tmp_path / 'profile').as_uri()}",
                           "--convert-to", "pdf", "--outdir", str(tmp_path), str(src)],
                          capture_output=True, text=True, timeout=180)
    pdf = (tmp_path / f"{name}.pdf").read_bytes()
    assert proc.returncode == 0 and pdf.startswith(b"%PDF-"), proc.stderr
    pages = len(re.findall(rb"/Type\s*/Page\b", pdf))
    assert pages >= 1
    boxes = re.findall(rb"/MediaBox\s*\[\s*0 0 ([\d.]+) ([\d.]+)", pdf)
    assert boxes and all(float(w) > float(h) for w, h in boxes)  # landscape
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", "-layout", str(tmp_path / f"{name}.pdf"), "-"],
                              capture_output=True, text=True, check=True).stdout
        rule_pages = [p for p in text.split("\f") if "评分细则" in p]
        # one page wide and the header row repeated: every page of the table has all columns
        assert rule_pages and all("考核维度" in p and "支撑材料" in p for p in rule_pages)
