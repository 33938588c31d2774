"""The built-in rubric `anti-counterfeit-2021` (seed 001, 2021年度信阳市打击侵权假冒绩效考核).

Each special rule of the seed is checked against a table of cases, scored by the engine.
"""
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner

from xlsx_workflow.cli import main
from xlsx_workflow.engine import score_unit
from xlsx_workflow.rubric import builtin_rubric
from xlsx_workflow.rubric.check import check_rubric

RUBRIC_ID = "anti-counterfeit-2021"
SEED = Path(__file__).resolve().parents[2] / "shared" / "seeds" / "001_9c802935ead56404.txt"

DECLARED = {"行政执法数": "31.5", "刑事打击数": "14", "司法保护数": "8.5", "队伍建设": "8.8",
            "信息报送及宣传": "25.2", "完善机制": "12"}

NOT_APPLICABLE_TO_ZONES = ["3.1.1", "3.1.2", "4.2.6", "4.2.7", "5.1.7", "5.2.3"]

# Inputs where 是 or a larger number is worse (misses, deductions).
WORSE_WHEN_HIGH = {"1.2.10.b.2", "1.2.10.b.3", "1.2.10.c.2", "1.2.10.d.1", "1.2.10.d.2",
                   "1.2.10.d.3", "1.2.11.c", "1.3.1.c", "1.3.2.b", "3.1.1.a.1", "3.1.1.a.2",
                   "3.1.2.c", "5.1.1.a", "5.1.6.b", "5.1.8.a.1", "5.1.8.a.2", "5.3.3.a", "6.1.5.d"}

BEST_PARAMS = {"执法单位数": 1, "专利侵权纠纷全省平均数": 1, "著作权案件全省排名": 1,
               "上年度著作权案件数": 1, "上年度药品普通程序案件数": 1,
               "上年度公安侦破侵权假冒犯罪案件数": 1}
# 信息量 rank among the 15 assessed units (score_cohort computes these; score_unit is told them)
BEST_COHORT = {"cohort_rank:5.3.3.b": Decimal(1), "cohort_count:5.3.3.b": Decimal(15)}


@pytest.fixture(scope="module")
def rubric():
    return builtin_rubric(RUBRIC_ID)


def D(x) -> Decimal:
    return Decimal(str(x))


def best_inputs(rubric) -> dict:
    out = {}
    for f in rubric.unit_fields:
        worse = f.id in WORSE_WHEN_HIGH
        if f.type == "flag":
            out[f.id] = "否" if worse else "是"
        elif f.type == "judged":
            out[f.id] = f.max
        else:
            out[f.id] = 0 if worse else 100
    return out


# --- the file -------------------------------------------------------------------------------

def test_file_loads_with_the_declared_header(rubric):
    assert rubric.id == RUBRIC_ID and rubric.version == 1
    assert rubric.title == "2021年度信阳市打击侵权假冒绩效考核"
    assert rubric.year == 2021
    assert rubric.office == "信阳市人民政府打击侵犯知识产权和制售假冒伪劣商品领导小组办公室"
    assert rubric.document == "信打假办〔2022〕2号"
    assert rubric.source == "seeds/001_9c802935ead56404.txt"
    assert rubric.places == 2 and rubric.total_floor == 0
    assert [(g.name, g.min) for g in rubric.grades] == [("优秀", 90), ("良好", 80), ("一般", 0)]
    assert [(g.id, g.role, g.max) for g in rubric.groups] == [("base", "base", 100)]


@pytest.mark.parametrize("code, name, utype", [
    ("411502", "浉河区", "县区"), ("411503", "平桥区", "县区"), ("411521", "罗山县", "县区"),
    ("411522", "光山县", "县区"), ("411523", "新县", "县区"), ("411524", "商城县", "县区"),
    ("411525", "固始县", "县区"), ("411526", "潢川县", "县区"), ("411527", "淮滨县", "县区"),
    ("411528", "息县", "县区"), ("411591", "羊山新区", "功能区"), ("411592", "信阳高新区", "功能区"),
    ("411593", "南湾湖风景区", "功能区"), ("411594", "鸡公山管理区", "功能区"),
    ("411595", "上天梯管理区", "功能区"),
])
def test_units(rubric, code, name, utype):
    units = {u.code: u for u in rubric.units}
    assert (units[code].name, units[code].type) == (name, utype)
    assert len(units) == 15


@pytest.mark.parametrize("dim, declared", list(DECLARED.items()))
def test_dimension_maxima_as_declared(rubric, dim, declared):
    dims = {d.id: d for d in rubric.dimensions}
    assert dims[dim].max == D(declared) and dims[dim].group == "base"
    assert [d.id for d in rubric.dimensions] == list(DECLARED)


def test_rubric_check_passes_with_only_the_seeds_mismatches_listed_in_notes(rubric):
    rub, issues = check_rubric(RUBRIC_ID)
    assert [i for i in issues if i.severity == "错误"] == []
    notes = "\n".join(rub.notes)
    for i in issues:
        assert i.code == "R011", str(i)
        numbers = [w for w in i.message.replace("分", " ").split() if w[0].isdigit()]
        assert len(numbers) == 2 and all(n in notes for n in numbers), str(i)
    result = CliRunner().invoke(main, ["rubric", "check", RUBRIC_ID])
    assert result.exit_code == 0, result.output


@pytest.mark.skipif(not SEED.exists(), reason="seed text not available")
def test_every_clause_text_is_the_seeds_wording(rubric):
    seed = SEED.read_text(encoding="utf-8")
    assert [c.id for c in rubric.clauses if c.text not in seed] == []


def test_ids_follow_the_numbering_scheme(rubric):
    for ind in rubric.indicators:
        for c in ind.clauses:
            assert c.id.startswith(ind.id + ".")
            for f in c.fields:
                assert f.id == c.id or f.id.rsplit(".", 1)[0] == c.id, f.id


@pytest.mark.parametrize("clause, kind", [
    ("1.1.1.a", "threshold_or_growth"), ("1.1.1.b", "threshold_or_growth"), ("1.1.1.c", "flag"),
    ("1.1.2.a", "ratio"), ("1.1.3.a", "ratio"), ("1.1.4.a", "ratio"), ("1.1.5.a", "relative"),
    ("1.1.7.a", "growth"), ("1.1.8.a", "ratio"), ("1.1.8.b", "count"), ("1.3.2.a", "tiers"),
    ("1.3.2.b", "penalty"), ("2.2.1.a", "growth"), ("2.2.2.a", "count"), ("5.1.1.a", "penalty"),
    ("5.3.3.a", "penalty"), ("5.3.3.b", "tiers"), ("1.2.10.b", "formula"),
])
def test_special_rules_use_their_kind(rubric, clause, kind):
    c = {c.id: c for c in rubric.clauses}[clause]
    assert c.kind == kind
    assert c.extra == (clause in ("1.1.1.c", "1.1.8.b"))


# --- totals ---------------------------------------------------------------------------------

def test_full_inputs_reach_every_indicator_and_at_most_each_declared_dimension(rubric):
    res = score_unit(rubric, best_inputs(rubric), BEST_PARAMS, unit_type="县区", cohort=BEST_COHORT)
    assert res.pending == []
    for ind in rubric.indicators:
        assert res.indicators[ind.id].points == ind.max, ind.id
    for dim in rubric.dimensions:
        items = sum((i.max for i in rubric.indicators if i.dimension == dim.id), Decimal(0))
        assert res.dimensions[dim.id] == min(dim.max, items), dim.id
        assert res.dimensions[dim.id] <= D(DECLARED[dim.id])
    # 31.5 + 14 + 8.5 + 8.8 + 19.2 (the items that exist) + 12
    assert res.total == D("94") and res.grade == "优秀" and res.rate == D("0.94")


def test_no_inputs_leave_office_clauses_pending(rubric):
    res = score_unit(rubric, {}, {}, unit_type="县区")
    assert {"1.1.1.a", "1.1.2.a", "1.1.5.a", "1.1.7.a", "2.2.1.a", "5.3.3.b"} <= set(res.pending)
    assert all(res.clauses[c].points == 0 for c in res.pending)


# --- special rules --------------------------------------------------------------------------

@pytest.mark.parametrize("indicator, cases, units, expected", [
    ("1.1.2", 6, 2, "3"),
    ("1.1.2", 3, 2, "1.5"),
    ("1.1.2", 10, 2, "3"),        # 5, capped at the item's 3 points
    ("1.1.2", 1, 3, "0.33"),
    ("1.1.3", 5, 2, "2"),         # 2.5, capped at 2
    ("1.1.3", 1, 2, "0.5"),
    ("1.1.4", 7, 1, "2"),
    ("1.1.4", 0, 4, "0"),
])
def test_cases_per_enforcement_unit_capped(rubric, indicator, cases, units, expected):
    res = score_unit(rubric, {f"{indicator}.a": cases}, {"执法单位数": units})
    assert res.indicators[indicator].points == D(expected)


def test_cases_per_enforcement_unit_pending_without_the_office_figure(rubric):
    c = score_unit(rubric, {"1.1.2.a": 5}, {}).clauses["1.1.2.a"]
    assert (c.status, c.points) == ("pending", 0)
    assert "按行政区划设置的执法单位数" in c.explanation


@pytest.mark.parametrize("cases, average, expected", [
    (5, 5, "1"),        # at the provincial average
    (10, 5, "2"),       # above
    (15, 5, "2"),       # above, capped at 2
    (3, "2.5", "1.2"),
    (2, 4, "0.5"),      # below
    (0, 4, "0"),
    (0, 0, "1"),        # average 0, none here: as the average
    (3, 0, "2"),        # average 0, some here: the maximum
])
def test_patent_disputes_relative_to_provincial_average(rubric, cases, average, expected):
    res = score_unit(rubric, {"1.1.5.a": cases}, {"专利侵权纠纷全省平均数": average})
    assert res.clauses["1.1.5.a"].points == D(expected)


@pytest.mark.parametrize("last, this, expected", [
    (10, 10, "1"),      # 持平
    (10, 12, "1"),      # 增长
    (10, 9, "0.9"),     # −10 %: one step
    (10, "8.5", "0.8"),  # −15 %: a partial step counts whole
    (20, 17, "0.8"),
    (20, 19, "0.9"),    # −5 %: one step
    (10, 1, "0.1"),
    (10, 0, "0"),       # 1分扣完为止
    (0, 3, "1"),        # nothing last year: full points
])
def test_drug_cases_growth_with_stepwise_deduction(rubric, last, this, expected):
    res = score_unit(rubric, {"1.1.7.a": this}, {"上年度药品普通程序案件数": last})
    assert res.clauses["1.1.7.a"].points == D(expected)
    drugs = next(i for i in rubric.indicators if i.id == "1.1.7")
    assert (str(drugs.window_from), str(drugs.window_to)) == ("2020-12-01", "2021-11-30")


@pytest.mark.parametrize("last, this, expected", [
    (100, 110, "5"),    # exactly 1.1 × last year
    (100, 130, "5"),
    # "每低5个百分点，扣0.1分" has no "不足…按…计算": only whole steps are deducted
    (100, 106, "5"),    # 4 points below the target: less than one step
    (100, 105, "4.9"),  # 5 points below: one step
    (100, 104, "4.9"),  # 6 points below: one whole step
    (100, 100, "4.8"),
    (100, 99, "4.8"),   # 11 points below: two whole steps
    (100, 50, "3.8"),
    (10, 0, "2.8"),     # 110 % below: 22 steps
    (0, 0, "5"),
])
def test_police_cases_against_1_1_times_last_year(rubric, last, this, expected):
    res = score_unit(rubric, {"2.2.1.a": this}, {"上年度公安侦破侵权假冒犯罪案件数": last})
    assert res.clauses["2.2.1.a"].points == D(expected)


@pytest.mark.parametrize("b, c, expected", [("是", "是", "6"), ("是", "否", "5.5"), ("否", "否", "5")])
def test_police_enforcement_flags_add_to_six(rubric, b, c, expected):
    res = score_unit(rubric, {"2.2.1.a": 110, "2.2.1.b": b, "2.2.1.c": c},
                     {"上年度公安侦破侵权假冒犯罪案件数": 100})
    assert res.indicators["2.2.1"].points == D(expected)


@pytest.mark.parametrize("ministry, province, expected", [
    (0, 0, "0"), (1, 0, "3"), (0, 1, "1"), (1, 2, "5"),
    (2, 0, "6"), (1, 5, "6"), (0, 7, "6"), (3, 3, "6"),   # capped at 6
])
def test_major_cases_per_case_capped(rubric, ministry, province, expected):
    res = score_unit(rubric, {"2.2.2.a.1": ministry, "2.2.2.a.2": province})
    assert res.indicators["2.2.2"].points == D(expected)


@pytest.mark.parametrize("rank, count, expected", [
    # seed 001: 前10位 → 1, 第11至25位 → 0.9, 后3位 → 0.8; other places get nothing
    (1, 40, "1"), (10, 40, "1"), (11, 40, "0.9"), (25, 40, "0.9"), (26, 40, "0"),
    (37, 40, "0"), (38, 40, "0.8"), (40, 40, "0.8"),
    (13, 15, "0.9"), (15, 15, "0.9"),  # 15 units: the last three are also 11–25
    (9, 10, "1"),
])
def test_information_volume_rank_tiers(rubric, rank, count, expected):
    cohort = {"cohort_rank:5.3.3.b": D(rank), "cohort_count:5.3.3.b": D(count)}
    res = score_unit(rubric, {"5.3.3.a": 0}, {}, cohort=cohort)
    assert res.clauses["5.3.3.b"].points == D(expected)
    assert res.indicators["5.3.3"].points == 1 + D(expected)


@pytest.mark.parametrize("province, of, cohort_rank, expected", [
    (30, 30, 1, "0.8"),   # the office's province rank wins over the rank among assessed units
    (26, 30, 1, "0"),
    (5, None, 14, "1"),
    (None, None, 14, "0.9"),
    (40, None, 1, "0"),   # province rank without the province count: 后3位 cannot apply
])
def test_information_volume_province_rank_replaces_cohort_rank(rubric, province, of,
                                                               cohort_rank, expected):
    params = {k: v for k, v in (("信息量全省排名", province), ("信息量全省排序单位数", of)) if v}
    cohort = {"cohort_rank:5.3.3.b": D(cohort_rank), "cohort_count:5.3.3.b": D(15)}
    res = score_unit(rubric, {"5.3.3.a": 0}, params, cohort=cohort)
    assert res.clauses["5.3.3.b"].points == D(expected)
    assert res.clauses["5.3.3.b"].status == "scored"


@pytest.mark.parametrize("missing, expected", [(0, "1"), (3, "0.7"), (10, "0"), (25, "0")])
def test_information_articles_missing_deducted(rubric, missing, expected):
    res = score_unit(rubric, {"5.3.3.a": missing}, {"信息量全省排名": 11},
                     cohort=BEST_COHORT)
    assert res.clauses["5.3.3.a"].points == D(expected)
    assert res.indicators["5.3.3"].points == D(expected) + D("0.9")


@pytest.mark.parametrize("reports, finished, expected", [
    (10, 10, "1.7"),    # 全部回复办结
    (10, 9, "1"),
    (10, 5, "1"),       # 50 % counts
    (10, 4, "0"),
    (0, 0, "1.7"),      # no reports: all finished
    (1, 0, "0"),
])
def test_culture_tourism_reports_finished_rate_tiers(rubric, reports, finished, expected):
    res = score_unit(rubric, {"1.3.2.a.1": reports, "1.3.2.a.2": finished, "1.3.2.b": 0})
    assert res.clauses["1.3.2.a"].points == D(expected)
    assert res.indicators["1.3.2"].points == D(expected) + 1


@pytest.mark.parametrize("clause, inputs, expected", [
    ("1.3.2.b", {"1.3.2.b": 0}, "1"),
    ("1.3.2.b", {"1.3.2.b": 3}, "0.7"),
    ("1.3.2.b", {"1.3.2.b": 14}, "0"),
    ("5.1.1.a", {"5.1.1.a": 0}, "2"),
    ("5.1.1.a", {"5.1.1.a": 3}, "1.4"),
    ("5.1.1.a", {"5.1.1.a": 10}, "0"),
    ("5.1.1.a", {"5.1.1.a": 20}, "0"),
    ("3.1.1.a", {"3.1.1.a.1": 2, "3.1.1.a.2": 1}, "2"),
    ("3.1.1.a", {"3.1.1.a.1": 4, "3.1.1.a.2": 3}, "0"),
    ("5.1.8.a", {"5.1.8.a.1": 2, "5.1.8.a.2": 3}, "0.3"),
    ("5.1.8.a", {"5.1.8.a.1": 0, "5.1.8.a.2": 10}, "0"),
    ("5.1.6.b", {"5.1.6.b": 5}, "0"),
])
def test_penalties_floor_at_zero(rubric, clause, inputs, expected):
    assert score_unit(rubric, inputs).clauses[clause].points == D(expected)


@pytest.mark.parametrize("cases, last, rank, listed, expected", [
    (12, 20, 30, "否", "1"),      # ≥ 10
    (12, 20, 30, "是", "1.5"),    # + 挂牌督办 0.5
    (12, 5, 30, "是", "2"),       # 1 + 1 + 0.5, total ≤ 2
    (3, 2, 5, "是", "2"),         # growth, top 10, + 0.5: capped
    (3, 5, 30, "是", "0.5"),      # only the extra
    (13, 10, 11, "否", "1"),      # +30 % exactly is not "超过30%"
    (14, 10, 11, "否", "2"),
    (0, 0, 40, "否", "0"),
])
def test_copyright_with_extra_points_capped_at_two(rubric, cases, last, rank, listed, expected):
    res = score_unit(rubric, {"1.1.1.a": cases, "1.1.1.c": listed},
                     {"上年度著作权案件数": last, "著作权案件全省排名": rank})
    assert res.indicators["1.1.1"].points == D(expected)


@pytest.mark.parametrize("cases, transferred, variety, expected", [
    (4, 0, 0, "0.7"),
    (6, 0, 0, "0.7"),
    (2, 0, 0, "0.35"),
    (1, 0, 0, "0.18"),      # 0.175, half-up
    (2, 1, 1, "0.55"),
    (0, 3, 3, "0.3"),       # extra at most 0.3
    (3, 2, 0, "0.73"),      # 0.53 + 0.2
    (4, 2, 1, "1"),         # "增加分值最高不超过0.3分" caps the increment: 0.7 + 0.3
    (6, 3, 3, "1"),         # increment capped at 0.3
])
def test_agricultural_inputs_cases_with_extra_capped_at_increment(rubric, cases, transferred, variety,
                                                             expected):
    res = score_unit(rubric, {"1.1.8.a": cases, "1.1.8.b.1": transferred, "1.1.8.b.2": variety})
    assert res.indicators["1.1.8"].points == D(expected)


@pytest.mark.parametrize("indicator, inputs, expected", [
    ("1.2.11", {"1.2.11.a": "是", "1.2.11.b": "是", "1.2.11.c": 0}, "1"),
    ("1.2.11", {"1.2.11.a": "是", "1.2.11.b": "是", "1.2.11.c": 3}, "0.7"),
    ("1.2.11", {"1.2.11.a": "是", "1.2.11.b": "否", "1.2.11.c": 8}, "0"),
    ("1.2.11", {"1.2.11.a": "否", "1.2.11.b": "否", "1.2.11.c": 2}, "0"),
    ("1.3.1", {"1.3.1.a": "是", "1.3.1.b": "是", "1.3.1.c": 1}, "1.5"),
    ("1.3.1", {"1.3.1.a": "是", "1.3.1.b": "否", "1.3.1.c": 1}, "0.5"),
    ("1.3.1", {"1.3.1.a": "是", "1.3.1.b": "是", "1.3.1.c": 5}, "0"),
    ("3.1.2", {"3.1.2.a": "是", "3.1.2.b": "是", "3.1.2.c": 0}, "4.5"),
    ("3.1.2", {"3.1.2.a": "是", "3.1.2.b": "是", "3.1.2.c": 3}, "3.9"),
    ("3.1.2", {"3.1.2.a": "是", "3.1.2.b": "是", "3.1.2.c": 20}, "2.5"),   # 最多扣2分
    ("3.1.2", {"3.1.2.a": "否", "3.1.2.b": "是", "3.1.2.c": 5}, "0"),
    ("6.1.5", {"6.1.5.a": "是", "6.1.5.b": "是", "6.1.5.c": "是", "6.1.5.d": 4}, "1.6"),
    ("6.1.5", {"6.1.5.a": "是", "6.1.5.b": "是", "6.1.5.c": "是", "6.1.5.d": 15}, "1"),
    ("6.1.5", {"6.1.5.a": "否", "6.1.5.b": "是", "6.1.5.c": "否", "6.1.5.d": 9}, "0"),
])
def test_deductions_inside_an_item_stop_at_zero(rubric, indicator, inputs, expected):
    assert score_unit(rubric, inputs).indicators[indicator].points == D(expected)


@pytest.mark.parametrize("deployed, expected", [(6, "1"), (5, "0.8"), (3, "0.4"), (1, "0"), (0, "0")])
def test_counterfeit_products_minus_0_2_per_item_not_deployed(rubric, deployed, expected):
    inputs = {f"1.2.13.a.{n}": ("是" if n <= deployed else "否") for n in range(1, 7)}
    assert score_unit(rubric, inputs).indicators["1.2.13"].points == D(expected)


GOOD_DISINFECTION = {"1.2.10.a": "是", "1.2.10.b.1": "是", "1.2.10.b.2": "否", "1.2.10.b.3": 0,
                     "1.2.10.c.1": "是", "1.2.10.c.2": 0, "1.2.10.d.1": "否",
                     "1.2.10.d.2": "否", "1.2.10.d.3": "否"}


@pytest.mark.parametrize("changes, clause, expected", [
    ({}, "1.2.10.b", "0.25"),
    ({"1.2.10.b.2": "是", "1.2.10.b.3": 2}, "1.2.10.b", "0.1"),
    ({"1.2.10.b.1": "否"}, "1.2.10.b", "0"),
    ({"1.2.10.b.3": 9}, "1.2.10.b", "0"),
    ({"1.2.10.c.2": 2}, "1.2.10.c", "0.15"),
    ({"1.2.10.d.1": "是"}, "1.2.10.d", "0.1"),
    ({"1.2.10.d.1": "是", "1.2.10.d.2": "是", "1.2.10.d.3": "是"}, "1.2.10.d", "0"),
])
def test_disinfection_products_small_deductions(rubric, changes, clause, expected):
    res = score_unit(rubric, {**GOOD_DISINFECTION, **changes})
    assert res.clauses[clause].points == D(expected)
    if not changes:
        assert res.indicators["1.2.10"].points == 1


@pytest.mark.parametrize("indicator", NOT_APPLICABLE_TO_ZONES)
def test_not_applicable_to_functional_zones(rubric, indicator):
    zone = score_unit(rubric, best_inputs(rubric), BEST_PARAMS, unit_type="功能区")
    county = score_unit(rubric, best_inputs(rubric), BEST_PARAMS, unit_type="县区")
    ind = next(i for i in rubric.indicators if i.id == indicator)
    assert not zone.indicators[indicator].applicable and zone.indicators[indicator].points == 0
    assert all(zone.clauses[c.id].status == "not_applicable" for c in ind.clauses)
    assert county.indicators[indicator].applicable and county.indicators[indicator].points == ind.max


def test_functional_zone_rate_is_over_applicable_points(rubric):
    zone = score_unit(rubric, best_inputs(rubric), BEST_PARAMS, unit_type="功能区",
                      cohort=BEST_COHORT)
    assert zone.dimensions["司法保护数"] == 0
    # 100 − (4 + 4.5 + 0.5 + 0.5 + 0.5 + 1) = 89 applicable points
    assert zone.total == D("83")          # 31.5 + 14 + 0 + 7.8 + 17.7 + 12
    assert zone.rate == (zone.total / D(89)).quantize(D("0.0001")) == D("0.9326")
    na = {i.id for i in rubric.indicators if "功能区" in i.not_applicable}
    assert na == set(NOT_APPLICABLE_TO_ZONES)
