"""The built-in rubric `ip-protection-2021` (seed 000, 信阳市2021年知识产权保护工作检查考核).

Every expected number below is computed by hand from the seed's 指标体系 (and the DESIGN table
"Seed 000 as fields"), then checked against the engine.
"""
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from xlsx_workflow.cli import main
from xlsx_workflow.engine import score_unit
from xlsx_workflow.rubric import builtin_rubric
from xlsx_workflow.rubric.check import check_rubric

RUBRIC_ID = "ip-protection-2021"
SEED = Path(__file__).resolve().parents[2] / "shared" / "seeds" / "000_7d55cabe96a423df.txt"

# DESIGN.md, "Seed 000 as fields": every unit field, in order, with its type.
DESIGN_FIELDS = [
    ("1.1", "flag"), ("1.2", "count"), ("1.3", "count"),
    ("2.1", "flag"), ("2.2", "flag"), ("2.3", "choice"),
    ("3.1", "flag"), ("3.2", "flag"),
    ("4.1", "flag"), ("4.2", "flag"),
    ("5.1", "flag"), ("5.2", "flag"), ("5.3", "count"),
    ("6.1", "count"), ("6.2", "flag"), ("6.3", "count"),
    ("7.1", "flag"), ("7.2", "flag"), ("7.3", "flag"),
    ("8.1", "flag"), ("8.2", "flag"),
    ("9.1.1", "amount"), ("9.1.2", "amount"), ("9.1.3", "amount"),
    ("10.1", "flag"), ("10.2", "flag"), ("10.3", "count"),
    ("11.1", "flag"), ("11.2", "flag"), ("11.3", "flag"),
    ("12.1", "flag"),
    ("13.1", "flag"), ("13.2", "flag"), ("13.3", "flag"),
    ("14.1", "judged"), ("15.1", "judged"), ("16.1", "judged"),
    ("17.1", "judged"), ("18.1", "judged"), ("19.1", "judged"),
    ("20.1", "flag"), ("21.1", "flag"),
    ("22.1", "flag"), ("23.1", "flag"), ("24.1", "count"), ("25.1", "flag"), ("26.1", "flag"),
]

INDICATOR_MAX = {"1": 8, "2": 6, "3": 6, "4": 6, "5": 6, "6": 8, "7": 9, "8": 4, "9": 6,
                 "10": 7, "11": 9, "12": 2, "13": 4, "14": 8, "15": 2, "16": 9, "17": 2, "18": 2,
                 "19": 3, "20": 2, "21": 1, "22": 3, "23": 3, "24": 2, "25": 1, "26": 1,
                 "office": 10}

DIMENSIONS = [("研究部署", "base", 20, ["1", "2", "3"]),
              ("机制建设", "base", 20, ["4", "5", "6"]),
              ("资源配备保障", "base", 19, ["7", "8", "9"]),
              ("重点工作", "base", 41, ["10", "11", "12", "13", "14", "15", "16"]),
              ("加分项", "bonus", 10, ["17", "18", "19", "20", "21"]),
              ("扣分项", "deduction", 10, ["22", "23", "24", "25", "26", "office"])]

BONUS = {"17.1": 2, "18.1": 2, "19.1": 3, "20.1": "是", "21.1": "是"}           # 10 points
ALL_DEDUCTIONS = {"22.1": "是", "23.1": "是", "24.1": 10, "25.1": "是", "26.1": "是"}  # 3+3+2+1+1
OFFICE = {"office.1": "是"}


def D(x) -> Decimal:
    return Decimal(str(x))


def base_full() -> dict:
    """Every base indicator at full marks (100), no bonus, no deductions."""
    return {
        "1.1": "是", "1.2": 2, "1.3": 2,
        "2.1": "是", "2.2": "是", "2.3": "以党委办公厅、政府办公厅名义印发",
        "3.1": "是", "3.2": "是", "4.1": "是", "4.2": "是",
        "5.1": "是", "5.2": "是", "5.3": 2, "6.1": 3, "6.2": "是", "6.3": 3,
        "7.1": "是", "7.2": "是", "7.3": "是", "8.1": "是", "8.2": "是",
        "9.1.1": 10, "9.1.2": 20, "9.1.3": 30,
        "10.1": "是", "10.2": "是", "10.3": 2, "11.1": "是", "11.2": "是", "11.3": "是",
        "12.1": "是", "13.1": "是", "13.2": "是", "13.3": "是",
        "14.1": 8, "15.1": 2, "16.1": 9,
        "22.1": "否", "23.1": "否", "24.1": 0, "25.1": "否", "26.1": "否",
    }


def inputs(*parts: dict) -> dict:
    out = {}
    for p in parts:
        out.update(p)
    return out


@pytest.fixture(scope="module")
def rubric():
    return builtin_rubric(RUBRIC_ID)


def score(rubric, values: dict):
    return score_unit(rubric, inputs=values, params={}, unit_type="县区")


# --- the file -------------------------------------------------------------------------------

def test_header(rubric):
    assert rubric.id == RUBRIC_ID and rubric.version == 1
    assert rubric.title == "信阳市2021年知识产权保护工作检查考核"
    assert rubric.year == 2021
    assert rubric.office == "信阳市知识产权战略实施工作联席会议办公室"
    assert rubric.document == "信知战联办〔2022〕1号"
    assert rubric.source == "seeds/000_7d55cabe96a423df.txt"
    assert rubric.places == 2 and rubric.total_floor == 0
    assert [(g.name, g.min) for g in rubric.grades] == [("优秀", 90), ("良好", 80), ("一般", 0)]
    assert [(g.id, g.name, g.role, g.max) for g in rubric.groups] == [
        ("base", "基础指标", "base", 100), ("bonus", "加分项", "bonus", 10),
        ("deduction", "扣分项", "deduction", 10)]
    assert rubric.params == []
    assert rubric.notes


@pytest.mark.parametrize("code, name", [
    ("411502", "浉河区"), ("411503", "平桥区"), ("411521", "罗山县"), ("411522", "光山县"),
    ("411523", "新县"), ("411524", "商城县"), ("411525", "固始县"), ("411526", "潢川县"),
    ("411527", "淮滨县"), ("411528", "息县"),
])
def test_units(rubric, code, name):
    units = {u.code: u for u in rubric.units}
    assert (units[code].name, units[code].type) == (name, "县区")


def test_exactly_ten_units(rubric):
    assert len(rubric.units) == 10


@pytest.mark.parametrize("dim, group, top, members", DIMENSIONS)
def test_dimensions(rubric, dim, group, top, members):
    d = next(d for d in rubric.dimensions if d.id == dim)
    assert (d.group, d.max) == (group, top)
    assert [i.id for i in rubric.indicators if i.dimension == dim] == members


@pytest.mark.parametrize("ind, top", sorted(INDICATOR_MAX.items()))
def test_indicator_max(rubric, ind, top):
    assert next(i for i in rubric.indicators if i.id == ind).max == top


def test_fields_are_exactly_the_design_table(rubric):
    assert [(f.id, f.type) for f in rubric.fields if f.source != "office"] == DESIGN_FIELDS
    assert [(f.id, f.type) for f in rubric.unit_fields] == DESIGN_FIELDS


def test_only_office_field_is_the_false_report_flag(rubric):
    office = [f for f in rubric.fields if f.source == "office"]
    assert [(f.id, f.type, f.label) for f in office] == [("office.1", "flag", "经核实存在虚假报送或隐瞒")]
    clause = next(c for c in rubric.clauses if c.id == "office.1")
    assert clause.office_only and clause.text == "对于虚假报送或隐瞒的，一经发现直接扣10分。"


@pytest.mark.parametrize("fid, label, unit", [
    ("1.2", "党委或政府会议研究知识产权工作次数", "次"), ("1.3", "部门间专题协调会次数", "次"),
    ("5.3", "交流活动次数", "次"), ("6.1", "宣传活动次数", "次"), ("6.3", "培训次数", "次"),
    ("10.3", "县直单位出台规范性文件项数", "项"), ("24.1", None, "起"),
    ("9.1.1", "2019年知识产权工作资金投入", "万元"), ("9.1.2", "2020年知识产权工作资金投入", "万元"),
    ("9.1.3", "2021年知识产权工作资金投入", "万元"),
])
def test_count_and_amount_labels(rubric, fid, label, unit):
    f = rubric.field(fid)
    assert f.unit == unit
    if label:
        assert f.label == label
    if f.type == "count":
        assert f.max is not None and f.max >= 10      # plausibility limit


def test_choice_options(rubric):
    assert rubric.field("2.3").options == ("以党委办公厅、政府办公厅名义印发", "以其他名义印发", "未印发")


@pytest.mark.parametrize("fid, top", [("14.1", 8), ("15.1", 2), ("16.1", 9),
                                      ("17.1", 2), ("18.1", 2), ("19.1", 3)])
def test_judged_fields(rubric, fid, top):
    f = rubric.field(fid)
    assert (f.max, f.step) == (top, D("0.5"))


@pytest.mark.parametrize("ind, start, end", [
    ("1", "2019-11-01", None), ("3", "2019-11-01", None),
    ("11", "2021-01-01", "2021-12-31"), ("22", "2021-01-01", "2021-12-31"),
    ("23", "2021-01-01", "2021-12-31"), ("24", "2021-01-01", "2021-12-31"),
    ("25", "2021-01-01", "2021-12-31"), ("26", "2021-01-01", "2021-12-31"),
])
def test_windows(rubric, ind, start, end):
    i = next(i for i in rubric.indicators if i.id == ind)
    assert str(i.window_from) == start
    assert (str(i.window_to) if i.window_to else None) == end


def test_every_indicator_has_evidence(rubric):
    assert all(i.evidence for i in rubric.indicators)


def test_check_has_no_errors_or_warnings():
    rub, issues = check_rubric(RUBRIC_ID)
    assert rub is not None and issues == []


def test_cli_check_exits_0():
    res = CliRunner().invoke(main, ["rubric", "check", RUBRIC_ID])
    assert res.exit_code == 0, res.output


@pytest.mark.skipif(not SEED.exists(), reason="seed text not available")
def test_clause_texts_are_verbatim_or_noted(rubric):
    seed = SEED.read_text(encoding="utf-8")
    for ind in rubric.indicators:
        assert ind.name in seed, ind.id
        for c in ind.clauses:
            assert c.text in seed or c.note, c.id


# --- totals and grades ----------------------------------------------------------------------

TOTAL_CASES = [
    # name, inputs, total, base, bonus, deduction, grade
    ("all full marks", inputs(base_full(), BONUS), 110, 100, 10, 0, "优秀"),
    ("all empty", {}, 0, 0, 0, 0, "一般"),
    ("base only", base_full(), 100, 100, 0, 0, "优秀"),
    ("90: base 100 − 10", inputs(base_full(), ALL_DEDUCTIONS), 90, 100, 0, 10, "优秀"),
    ("89.5: 14.1 = 7.5, −10", inputs(base_full(), {"14.1": "7.5"}, ALL_DEDUCTIONS),
     "89.5", "99.5", 0, 10, "良好"),
    ("80: 14.1 = 15.1 = 0, −10", inputs(base_full(), {"14.1": 0, "15.1": 0}, ALL_DEDUCTIONS),
     80, 90, 0, 10, "良好"),
    ("79.5: and 16.1 = 8.5", inputs(base_full(), {"14.1": 0, "15.1": 0, "16.1": "8.5"},
                                     ALL_DEDUCTIONS), "79.5", "89.5", 0, 10, "一般"),
    ("90 with bonus: base 80 + 10", inputs(base_full(), {"14.1": 0, "15.1": 0, "16.1": 0,
                                                          "6.3": 2}, BONUS), 90, 80, 10, 0, "优秀"),
    ("89.5 with bonus: 19.1 = 2.5", inputs(base_full(), {"14.1": 0, "15.1": 0, "16.1": 0,
                                                          "6.3": 2}, BONUS, {"19.1": "2.5"}),
     "89.5", 80, "9.5", 0, "良好"),
    ("deductions capped at 10", inputs(base_full(), BONUS, ALL_DEDUCTIONS, {"24.1": 11}, OFFICE),
     100, 100, 10, 10, "优秀"),
    ("office −10", inputs(base_full(), BONUS, OFFICE), 100, 100, 10, 10, "优秀"),
    ("office −10 on base only", inputs(base_full(), OFFICE), 90, 100, 0, 10, "优秀"),
    ("24.1 = 11 → −2", inputs(base_full(), BONUS, {"24.1": 11}), 108, 100, 10, 2, "优秀"),
    ("24.1 = 7 → −1.4", inputs(base_full(), BONUS, {"24.1": 7}), "108.6", 100, 10, "1.4", "优秀"),
    ("deductions alone floor at 0", inputs(ALL_DEDUCTIONS, OFFICE), 0, 0, 0, 10, "一般"),
    ("bonus alone", BONUS, 10, 0, 10, 0, "一般"),
    ("over-full counts stay capped", inputs(base_full(), {"1.2": 50, "1.3": 50, "5.3": 50, "6.1": 50,
                                                           "6.3": 50, "10.3": 50}), 100, 100, 0, 0, "优秀"),
]


@pytest.mark.parametrize("name, values, total, base, bonus, deduction, grade", TOTAL_CASES,
                         ids=[c[0] for c in TOTAL_CASES])
def test_totals_and_grades(rubric, name, values, total, base, bonus, deduction, grade):
    res = score(rubric, values)
    assert (res.total, res.base, res.bonus, res.deduction) == (D(total), D(base), D(bonus), D(deduction))
    assert res.grade == grade
    assert res.rate == D(total) / 100


def test_full_marks_dimensions(rubric):
    res = score(rubric, inputs(base_full(), BONUS))
    assert res.dimensions == {"研究部署": 20, "机制建设": 20, "资源配备保障": 19, "重点工作": 41,
                              "加分项": 10, "扣分项": 0}
    for ind, top in INDICATOR_MAX.items():
        if res.indicators[ind].max and ind not in {"22", "23", "24", "25", "26", "office"}:
            assert res.indicators[ind].points == top, ind


@pytest.mark.parametrize("name, values, rate", [
    ("full", inputs(base_full(), BONUS), "1.1"),
    ("90", inputs(base_full(), ALL_DEDUCTIONS), "0.9"),
    ("89.5", inputs(base_full(), {"14.1": "7.5"}, ALL_DEDUCTIONS), "0.895"),
    ("empty", {}, "0"),
])
def test_rate_is_total_over_100(rubric, name, values, rate):
    assert score(rubric, values).rate == D(rate)


# --- single clauses -------------------------------------------------------------------------

CLAUSE_CASES = [
    # clause, inputs, points
    ("1.1", {"1.1": "是"}, 2), ("1.1", {"1.1": "否"}, 0), ("1.1", {}, 0),
    ("1.2", {"1.2": 0}, 0), ("1.2", {"1.2": 1}, 2), ("1.2", {"1.2": 2}, 4), ("1.2", {"1.2": 3}, 4),
    ("1.2", {"1.2": "3"}, 4),
    ("1.3", {"1.3": 1}, 1), ("1.3", {"1.3": 5}, 2),
    ("2.1", {"2.1": "是"}, 2), ("2.2", {"2.2": "是"}, 2),
    ("2.3", {"2.3": "以党委办公厅、政府办公厅名义印发"}, 2), ("2.3", {"2.3": "以其他名义印发"}, 1),
    ("2.3", {"2.3": "未印发"}, 0), ("2.3", {}, 0),
    ("3.1", {"3.1": "是"}, 4), ("3.2", {"3.2": "是"}, 2),
    ("4.1", {"4.1": "是"}, 3), ("4.2", {"4.2": "是"}, 3),
    ("5.1", {"5.1": "是"}, 2), ("5.2", {"5.2": "是"}, 2), ("5.3", {"5.3": 1}, 1), ("5.3", {"5.3": 4}, 2),
    ("6.1", {"6.1": 2}, 2), ("6.1", {"6.1": 4}, 3), ("6.2", {"6.2": "是"}, 2),
    ("6.3", {"6.3": 3}, 3), ("6.3", {"6.3": 9}, 3),
    ("7.1", {"7.1": "是"}, 5), ("7.2", {"7.2": "是"}, 2), ("7.3", {"7.3": "是"}, 2),
    ("8.1", {"8.1": "是"}, 2), ("8.2", {"8.2": "是"}, 2),
    ("9.1", {"9.1.1": 10, "9.1.2": 10, "9.1.3": 10}, 0),       # equal years: not 逐年增加
    ("9.1", {"9.1.1": 10, "9.1.2": 20, "9.1.3": 30}, 6),       # strictly increasing
    ("9.1", {"9.1.1": "10.5", "9.1.2": "10.6", "9.1.3": "10.7"}, 6),
    ("9.1", {"9.1.1": 10, "9.1.2": 30, "9.1.3": 20}, 0),
    ("9.1", {"9.1.1": 10, "9.1.2": 20, "9.1.3": 20}, 0),
    ("9.1", {"9.1.2": 5, "9.1.3": 6}, 6),                       # blank 2019 counts as 0
    ("9.1", {}, 0),
    ("10.1", {"10.1": "是"}, 3), ("10.2", {"10.2": "是"}, 2), ("10.3", {"10.3": 3}, 2),
    ("11.1", {"11.1": "是"}, 2), ("11.2", {"11.2": "是"}, 4), ("11.3", {"11.3": "是"}, 3),
    ("12.1", {"12.1": "是"}, 2),
    ("13.1", {"13.1": "是"}, 2), ("13.2", {"13.2": "是"}, 1), ("13.3", {"13.3": "是"}, 1),
    ("14.1", {"14.1": "8.5"}, 8),                               # clamped to the maximum
    ("14.1", {"14.1": D("7.7")}, "7.5"),                        # rounded down to the 0.5 step
    ("14.1", {"14.1": 6.5}, "6.5"), ("14.1", {"14.1": -1}, 0),
    ("15.1", {"15.1": 3}, 2), ("16.1", {"16.1": 9}, 9),
    ("17.1", {"17.1": "1.5"}, "1.5"), ("18.1", {"18.1": 5}, 2), ("19.1", {"19.1": 3}, 3),
    ("20.1", {"20.1": "是"}, 2), ("21.1", {"21.1": "是"}, 1),
    ("22.1", {"22.1": "是"}, 3), ("23.1", {"23.1": "是"}, 3),
    ("24.1", {"24.1": 1}, "0.2"), ("24.1", {"24.1": 7}, "1.4"), ("24.1", {"24.1": 10}, 2),
    ("24.1", {"24.1": 11}, 2),
    ("25.1", {"25.1": "是"}, 1), ("26.1", {"26.1": "是"}, 1),
    ("office.1", {"office.1": "是"}, 10), ("office.1", {"office.1": "否"}, 0),
]


@pytest.mark.parametrize("clause, values, points", CLAUSE_CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CLAUSE_CASES)])
def test_clause_points(rubric, clause, values, points):
    assert score(rubric, values).clauses[clause].points == D(points)


def test_1_2_explanation_mentions_the_cap(rubric):
    res = score(rubric, {"1.1": "是", "1.2": 3})
    assert res.clauses["1.2"].points == 4
    assert "4分" in res.clauses["1.2"].explanation
    assert res.indicators["1"].points == 6
    assert res.dimensions["研究部署"] == 6


def test_0_2_times_7_is_exact(rubric):
    res = score(rubric, {"24.1": 7})
    assert res.clauses["24.1"].points == Decimal("1.4")
    assert res.deduction == Decimal("1.4")
    assert res.dimensions["扣分项"] == Decimal("1.4")


def test_indicator_13_sums_its_three_clauses(rubric):
    res = score(rubric, {"13.1": "是", "13.2": "是", "13.3": "是"})
    assert res.indicators["13"].points == 4


def test_indicator_6_reaches_8_per_design(rubric):
    res = score(rubric, {"6.1": 3, "6.2": "是", "6.3": 3})
    assert res.indicators["6"].points == 8


def test_cli_show_json_lists_the_design_fields():
    import json
    res = CliRunner().invoke(main, ["rubric", "show", RUBRIC_ID, "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["id"] == RUBRIC_ID
    assert [(f["id"], f["type"]) for f in doc["fields"]] == DESIGN_FIELDS
    assert {f["id"]: f["max"] for f in doc["fields"] if f["type"] == "judged"} == {
        "14.1": 8, "15.1": 2, "16.1": 9, "17.1": 2, "18.1": 2, "19.1": 3}
