"""Issue 10 items 4–6 through the CLI as the office meets them: the seed 001 rules as the engine
applies them and as `rubric export` states them (5), 不适用 per unit and ranking by rate (4), and
the clauses the office must confirm in the 审核表 (6)."""
from decimal import Decimal

import openpyxl
import pytest
from click.testing import CliRunner
from scorebuilder import fill_params, record_all, review_rows, sample

from xlsx_workflow.campaign import load_campaign
from xlsx_workflow.cli import main

RUBRIC = "anti-counterfeit-2021"


def cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def exported_rows(path) -> dict:
    """{clause id: {header: text}} of the exported 考核细则 sheet."""
    ws = openpyxl.load_workbook(path)["考核细则"]
    head = [c.value for c in ws[3]]
    out = {}
    for row in ws.iter_rows(min_row=4, values_only=True):
        text = row[2] or ""
        if text and " " not in text.split("　")[0]:
            out[text.split("　")[0]] = dict(zip(head, row))
    return out


# --- item 5: seed 001 rules ---------------------------------------------------------------------

def test_rubric_export_states_the_rules_the_engine_applies(tmp_path):
    out = tmp_path / "考核细则.xlsx"
    assert cli("rubric", "export", RUBRIC, out).exit_code == 0
    rows = exported_rows(out)
    police = rows["2.2.1.a"]["分值/上限"]
    assert "达到上年度的1.1倍得5分" in police and "不足一档不扣分" in police
    assert "达到上年即" not in police
    assert "不足一档按一档计" in rows["1.1.7.a"]["分值/上限"]
    tiers = rows["5.3.3.b"]["分值/上限"]
    assert "后3位：0.8分" in tiers and "其余：0分" in tiers
    farm = rows["1.1.8.b"]["说明"]
    assert "本指标合计不超过1分" in farm and "可超出" not in farm


def _campaign_with_returns(tmp_path, tweak=None):
    root = tmp_path / "c"
    assert cli("init", root, "--rubric", RUBRIC).exit_code == 0
    camp = load_campaign(root)
    inputs = sample(camp)
    for n, u in enumerate(camp.units):        # 信息量: the first unit highest … the last lowest
        inputs[u.code]["5.3.3.b"] = 100 - n
    if tweak:
        tweak(camp, inputs)
    record_all(camp, inputs)
    return root, camp


def test_rank_tiers_among_assessed_units_unless_the_office_enters_a_province_rank(tmp_path):
    root, camp = _campaign_with_returns(tmp_path)
    assert cli("params", root).exit_code == 0
    codes = [u.code for u in camp.units]
    fill_params(camp.layout.params_file,
                {codes[0]: {"信息量全省排名": 38}, codes[1]: {"信息量全省排名": 26}},
                {"信息量全省排序单位数": 40})
    assert cli("review", root).exit_code == 0
    rows = review_rows(camp.layout.review_file)
    points = {code: Decimal(str(rows[(code, "5.3.3.b")]["系统计算分"])) for code in codes}
    assert points[codes[0]] == Decimal("0.8")       # province: 38th of 40 is 后3位
    assert points[codes[1]] == 0                    # province: 26th of 40 is in no tier
    assert all(points[c] == 1 for c in codes[2:10])  # places 3–10 among the 15 assessed units
    assert all(points[c] == Decimal("0.9") for c in codes[10:])  # 11–15 (also 11–25)


def test_police_partial_step_deducts_nothing_and_farm_increment_reaches_one(tmp_path):
    def tweak(camp, inputs):
        first = inputs[camp.units[0].code]
        first.update({"2.2.1.a": 106, "1.1.8.a": 4, "1.1.8.b.1": 2, "1.1.8.b.2": 1})
    root, camp = _campaign_with_returns(tmp_path, tweak)
    assert cli("params", root).exit_code == 0
    code = camp.units[0].code
    fill_params(camp.layout.params_file, {code: {"上年度公安侦破侵权假冒犯罪案件数": 100}})
    assert cli("review", root).exit_code == 0
    rows = review_rows(camp.layout.review_file)
    assert Decimal(str(rows[(code, "2.2.1.a")]["系统计算分"])) == 5   # 4 points short of 1.1×
    assert "不足一档不扣分" in rows[(code, "2.2.1.a")]["计算说明"]
    farm = sum(Decimal(str(rows[(code, c)]["系统计算分"])) for c in ("1.1.8.a", "1.1.8.b"))
    assert farm == 1
