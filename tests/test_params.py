"""市级核定数据.xlsx: written per unit and per campaign, kept when re-written, read back with every
missing or invalid figure named by unit, field and cell."""
from decimal import Decimal

import openpyxl
import pytest
from scorebuilder import RUBRICS, fill_params, full_params, make_campaign

from xlsx_workflow.campaign import load_campaign
from xlsx_workflow.messages import WorkflowError
from xlsx_workflow.params import (CAMPAIGN_SHEET, UNIT_SHEET, Column, campaign_columns,
                                  parse_value, read_params, unit_columns, write_params)


@pytest.mark.parametrize("rubric_id", RUBRICS)
def test_one_row_per_unit_one_column_per_figure(tmp_path, rubric_id):
    camp = make_campaign(tmp_path / "c", rubric_id)
    result = write_params(tmp_path / "c")
    assert result.path == camp.layout.params_file and result.path.is_absolute()
    book = openpyxl.load_workbook(result.path)
    ws = book[UNIT_SHEET]
    assert [ws.cell(1, c).value for c in (1, 2)] == ["代码", "单位"]
    ids = [ws.cell(2, c).value for c in range(3, ws.max_column + 1)]
    assert ids == [c.id for c in unit_columns(camp.rubric)]
    assert [ws.cell(r, 1).value for r in range(3, 3 + len(camp.units))] == \
        [u.code for u in camp.units]
    labels = [ws.cell(1, c).value for c in range(3, ws.max_column + 1)]
    assert all(col.label in text for col, text in zip(unit_columns(camp.rubric), labels))
    cs = book[CAMPAIGN_SHEET]
    assert [cs.cell(r, 1).value for r in range(2, 2 + len(campaign_columns(camp.rubric)))] == \
        [c.id for c in campaign_columns(camp.rubric)]
    kinds = {dv.type for dv in ws.data_validations.dataValidation}
    assert kinds  # every figure column is validated
    first = result.path.read_bytes()
    assert write_params(tmp_path / "c").path.read_bytes() == first  # deterministic
    if rubric_id == "ip-protection-2021":
        assert ids == ["office.1"] and kinds == {"list"}  # 虚假报送或隐瞒 是/否
    else:
        assert "执法单位数" in ids and "whole" in kinds
        assert [c.id for c in campaign_columns(camp.rubric)] == ["专利侵权纠纷全省平均数",
                                                                 "信息量全省排序单位数"]


def test_rewrite_keeps_entered_values_and_they_reach_read_params(tmp_path):
    camp = make_campaign(tmp_path / "c", "anti-counterfeit-2021")
    write_params(tmp_path / "c")
    per_unit, per_campaign = full_params(camp)
    fill_params(camp.layout.params_file, per_unit, per_campaign)
    again = write_params(tmp_path / "c")
    n = sum(len(v) for v in per_unit.values()) + len(per_campaign)
    assert again.kept == n
    got_unit, got_campaign, issues = read_params(load_campaign(tmp_path / "c"))
    assert issues == []
    assert got_unit == {code: {k: v for k, v in vals.items()} for code, vals in per_unit.items()}
    assert got_campaign == per_campaign


@pytest.mark.parametrize("col,raw,expected", [
    (Column("n", "执法单位数", "count", Decimal(1)), 3, (3, None)),
    (Column("n", "执法单位数", "count", Decimal(1)), 3.0, (3, None)),
    (Column("n", "执法单位数", "count", Decimal(1)), " 4 ", (4, None)),
    (Column("n", "执法单位数", "count", Decimal(1)), 0, (None, "应为不小于 1 的整数")),
    (Column("n", "执法单位数", "count", Decimal(1)), 2.5, (None, "应为整数")),
    (Column("n", "执法单位数", "count", Decimal(1)), "三个", (None, "不是数字")),
    (Column("a", "平均数", "number", Decimal(0), Decimal(10)), 0.1, (Decimal("0.1"), None)),
    (Column("a", "平均数", "number", Decimal(0), Decimal(10)), 11, (None, "应为 0 到 10 之间的数")),
    (Column("f", "虚假报送", "flag"), "是", ("是", None)),
    (Column("f", "虚假报送", "flag"), True, ("是", None)),
    (Column("f", "虚假报送", "flag"), "有", (None, "应填“是”或“否”")),
    (Column("f", "虚假报送", "flag"), None, (None, None)),
    (Column("f", "虚假报送", "flag"), "  ", (None, None)),
])
def test_parse_value(col, raw, expected):
    assert parse_value(col, raw) == expected


def _fill_cells(path, cells: dict, sheet=UNIT_SHEET):
    book = openpyxl.load_workbook(path)
    for addr, v in cells.items():
        book[sheet][addr] = v
    book.save(path)


def test_missing_and_invalid_figures_are_named_by_unit_field_and_cell(tmp_path):
    camp = make_campaign(tmp_path / "c", "anti-counterfeit-2021")
    write_params(tmp_path / "c")
    per_unit, per_campaign = full_params(camp)
    fill_params(camp.layout.params_file, per_unit, per_campaign)
    # C = 执法单位数; row 3 = first unit (浉河区), row 4 = 平桥区; D2 of 全市数据 = 全省平均数
    _fill_cells(camp.layout.params_file, {"C3": None, "C4": "很多", "D5": 0})
    _fill_cells(camp.layout.params_file, {"D2": -1}, CAMPAIGN_SHEET)
    got, got_campaign, issues = read_params(load_campaign(tmp_path / "c"))
    by_where = {i.where: i for i in issues}
    assert by_where[f"{UNIT_SHEET}!C3"].code == "S002"
    assert "浉河区" in by_where[f"{UNIT_SHEET}!C3"].message
    assert "执法单位数" in by_where[f"{UNIT_SHEET}!C3"].message
    assert by_where[f"{UNIT_SHEET}!C4"].code == "S004"
    assert "平桥区" in by_where[f"{UNIT_SHEET}!C4"].message and "很多" in \
        by_where[f"{UNIT_SHEET}!C4"].message
    assert by_where[f"{UNIT_SHEET}!D5"].code == "S004"  # a rank of 0
    assert by_where[f"{CAMPAIGN_SHEET}!D2"].code == "S004"
    assert by_where[f"{CAMPAIGN_SHEET}!D2"].severity == "错误"
    first, second = camp.units[0].code, camp.units[1].code
    assert "执法单位数" not in got[first] and "执法单位数" not in got[second]
    assert "专利侵权纠纷全省平均数" not in got_campaign
    assert len(issues) == 4


def test_a_blank_column_is_one_message_and_a_blank_file_says_how_to_start(tmp_path):
    camp = make_campaign(tmp_path / "c", "anti-counterfeit-2021")
    _, _, issues = read_params(camp)
    assert [i.code for i in issues] == ["S001"]
    write_params(tmp_path / "c")
    _, _, issues = read_params(camp)
    codes = [i.code for i in issues]
    # a province rank that may replace the rank among assessed units may stay blank
    assert codes.count("S003") == len([c for c in unit_columns(camp.rubric) if not c.optional])
    assert codes.count("S002") == 1  # the one campaign figure that is needed
    assert any(i.where == f"{UNIT_SHEET}!C" for i in issues)


def test_office_flags_blank_means_nothing_found(tmp_path):
    camp = make_campaign(tmp_path / "c", "ip-protection-2021")
    assert read_params(camp) == ({}, {}, [])  # no figure is needed: no S001 either
    write_params(tmp_path / "c")
    got, _, issues = read_params(camp)
    assert issues == [] and all(v == {} for v in got.values())
    fill_params(camp.layout.params_file, {camp.units[2].code: {"office.1": "是"}})
    got, _, issues = read_params(camp)
    assert got[camp.units[2].code] == {"office.1": "是"} and issues == []


def test_unknown_and_missing_unit_rows(tmp_path):
    camp = make_campaign(tmp_path / "c", "anti-counterfeit-2021")
    write_params(tmp_path / "c")
    _fill_cells(camp.layout.params_file, {"A3": "999999"})
    _, _, issues = read_params(camp)
    s005 = [i for i in issues if i.code == "S005"]
    s006 = [i for i in issues if i.code == "S006"]
    assert s005[0].where == f"{UNIT_SHEET}!A3" and "999999" in s005[0].message
    assert camp.units[0].name in s006[0].message


def test_broken_header_and_unreadable_file(tmp_path):
    camp = make_campaign(tmp_path / "c", "anti-counterfeit-2021")
    write_params(tmp_path / "c")
    _fill_cells(camp.layout.params_file, {"A1": "编码"})
    _, _, issues = read_params(camp)
    assert issues[0].code == "S009" and "代码" in issues[0].message
    camp.layout.params_file.write_bytes(b"not a workbook")
    with pytest.raises(WorkflowError) as e:
        read_params(camp)
    assert e.value.issues[0].code == "S007"
    with pytest.raises(WorkflowError) as e:  # never overwrite what cannot be read
        write_params(tmp_path / "c")
    assert e.value.issues[0].code == "S007"
    assert camp.layout.params_file.read_bytes() == b"not a workbook"


def test_a_file_that_cannot_be_saved(tmp_path):
    camp = make_campaign(tmp_path / "c", "anti-counterfeit-2021")
    blocker = camp.layout.params_file.with_name(camp.layout.params_file.stem + ".tmp.xlsx")
    blocker.mkdir(parents=True)
    with pytest.raises(WorkflowError) as e:
        write_params(tmp_path / "c")
    assert e.value.issues[0].code == "S008"
