"""Issue 10 items 4–6 through the CLI as the office meets them: the seed 001 rules as the engine
applies them and as `rubric export` states them (5), 不适用 per unit and ranking by rate (4), and
the clauses the office must confirm in the 审核表 (6)."""
from decimal import Decimal

import json

import openpyxl
import pytest
import yaml
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


# --- item 4: 不适用 per unit, rank and grade by rate ---------------------------------------------

def _set_yaml(root, **settings):
    """Edit campaign.yaml as the office does (the keys it documents at the top)."""
    path = root / "campaign.yaml"
    doc = yaml.safe_load(path.read_text(encoding="utf-8"))
    doc.update(settings)
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")


def _sheet_rows(path) -> dict:
    """{编号: row cells by header} of a generated 自评表."""
    ws = openpyxl.load_workbook(path)["自评表"]
    head_row = next(r for r in ws.iter_rows(max_row=40) if "编号" in {c.value for c in r})
    head = {c.value: c.column - 1 for c in head_row}
    out = {}
    for row in ws.iter_rows(min_row=head_row[0].row + 1):
        fid = row[head["编号"]].value
        if fid:
            out[str(fid)] = {name: row[k] for name, k in head.items()}
    return out


def test_office_marks_indicators_not_applicable_for_one_unit(tmp_path):
    root = tmp_path / "c"
    assert cli("init", root, "--rubric", RUBRIC).exit_code == 0
    _set_yaml(root, not_applicable={"411502": ["1.1.7"], "平桥区": "2.2.1、5.3.1"})
    got = cli("generate", root, "--json")
    assert got.exit_code == 0, got.output
    books = {u.code: u.type for u in load_campaign(root).units}
    assert books["411502"] == "县区"     # still a 县区 everywhere the type is shown
    gen = root / "generate"
    mine = _sheet_rows(next(gen.glob("411502-*-自评表.xlsx")))
    other = _sheet_rows(next(gen.glob("411521-*-自评表.xlsx")))
    assert mine["1.1.7.a"]["自评得分"].value == "不适用"
    assert mine["1.1.7.a"]["填报值"].protection.locked
    assert other["1.1.7.a"]["自评得分"].value != "不适用"
    assert not other["1.1.7.a"]["填报值"].protection.locked
    pingqiao = _sheet_rows(next(gen.glob("411503-*-自评表.xlsx")))
    assert pingqiao["2.2.1.a"]["自评得分"].value == "不适用"
    assert pingqiao["5.3.1.a"]["自评得分"].value == "不适用"

    camp = load_campaign(root)
    inputs = sample(camp)
    record_all(camp, inputs)
    assert cli("review", root).exit_code == 0
    rows = review_rows(camp.layout.review_file)
    assert ("411502", "1.1.7.a") not in rows and ("411521", "1.1.7.a") in rows
    from xlsx_workflow.score import run_score
    unit = next(u for u in run_score(root, write=False).result.scored if u.code == "411502")
    assert unit.score.clauses["1.1.7.a"].status == "not_applicable"
    assert unit.score.applicable_max == 99
    assert cli("init", root, "--rubric", RUBRIC).exit_code == 0   # running init again keeps it
    again = load_campaign(root)
    assert again.not_applicable == {"411502": ["1.1.7"], "平桥区": ["2.2.1", "5.3.1"]}
    assert again.ranking == "auto"


@pytest.mark.parametrize("settings, codes", [
    ({"not_applicable": {"999999": ["1.1.7"]}}, ["C021"]),
    ({"not_applicable": {"浉河区": ["9.9.9", "1.1.7"], "411503": ["8.8"]}}, ["C022", "C022"]),
    ({"not_applicable": ["1.1.7"]}, ["C023"]),
    ({"ranking": "score"}, ["C020"]),
])
def test_bad_scoring_settings_name_the_unit_and_the_indicator(tmp_path, settings, codes):
    root = tmp_path / "c"
    assert cli("init", root, "--rubric", RUBRIC).exit_code == 0
    _set_yaml(root, **settings)
    got = cli("generate", root)
    assert got.exit_code != 0
    assert [c for c in ("C020", "C021", "C022", "C023") for _ in range(got.output.count(c))] \
        == codes
    if codes[0] == "C022":
        assert "浉河区（411502）" in got.output and "9.9.9" in got.output and "8.8" in got.output


def _zone_and_counties(tmp_path, ranking=None):
    """15 returns; the 功能区 羊山新区 has every applicable point (83 of 89), the counties less."""
    from xlsx_workflow.rubric.sample import full_marks_inputs
    root = tmp_path / "c"
    assert cli("init", root, "--rubric", RUBRIC).exit_code == 0
    if ranking:
        _set_yaml(root, ranking=ranking)
    camp = load_campaign(root)
    inputs = sample(camp, seed=2)
    inputs["411591"] = full_marks_inputs(camp.rubric)
    record_all(camp, inputs)
    return root, camp


def test_rank_and_grade_by_rate_when_a_unit_has_not_applicable_indicators(tmp_path):
    root, camp = _zone_and_counties(tmp_path)
    assert cli("score", root).exit_code in (0, 1)
    doc = json.loads(camp.layout.score_file.read_text(encoding="utf-8"))
    units = {u["unit_code"]: u for u in doc["units"]}
    zone = units["411591"]
    assert zone["ranked_by"] == "rate"
    assert Decimal(str(zone["scaled"])) > Decimal(str(zone["total"]))
    # ranked by 折算得分 (total ÷ applicable points × 100); graded on it too
    assert zone["rank"] == 1 and zone["grade"] == camp.rubric.grade_for(Decimal(str(zone["scaled"])))
    by_scaled = sorted(units.values(), key=lambda u: -u["scaled"])
    assert [u["rank"] for u in by_scaled] == sorted(u["rank"] for u in by_scaled)


def test_ranking_points_keeps_raw_totals(tmp_path):
    root, camp = _zone_and_counties(tmp_path, ranking="points")
    cli("score", root)
    doc = json.loads(camp.layout.score_file.read_text(encoding="utf-8"))
    units = {u["unit_code"]: u for u in doc["units"]}
    assert units["411591"]["ranked_by"] == "points"
    assert units["411591"]["grade"] == camp.rubric.grade_for(Decimal(str(units["411591"]["total"])))
    by_total = sorted(units.values(), key=lambda u: -u["total"])
    assert [u["rank"] for u in by_total] == sorted(u["rank"] for u in by_total)


def test_report_average_leaves_out_units_with_not_applicable_indicators(tmp_path):
    root, camp = _zone_and_counties(tmp_path)
    assert cli("report", root).exit_code in (0, 1)
    text = (root / "report" / "考核情况报告.md").read_text(encoding="utf-8")
    doc = json.loads(camp.layout.score_file.read_text(encoding="utf-8"))
    counties = [Decimal(str(u["total"])) for u in doc["units"]
                if u["unit_code"] < "411591"]
    mean = (sum(counties) / len(counties)).quantize(Decimal("0.01"))
    assert f"参加计分的15个单位中指标全部适用的10个单位平均得分{mean.normalize():f}分" in text \
        or f"指标全部适用的10个单位平均得分{mean}分" in text
    # 最高/最低分 name the counties that have them; the 功能区 ranked first by 得分率 (not among
    # them: its points are not compared with theirs) is named as first, and by what
    names = {u["unit_code"]: u["unit_name"] for u in doc["units"]}
    top = max(counties)
    best = [names[u["unit_code"]] for u in doc["units"]
            if u["unit_code"] < "411591" and Decimal(str(u["total"])) == top]
    assert f"最高{top.normalize():f}分（{'、'.join(best)}）" in text
    zone = names["411591"]
    assert f"按得分率（得分占适用满分的比例）排名，{zone}名列第一。" in text
    assert f"{zone}得分最高" not in text


# --- item 6: facts the office knows better, confirmed in bulk -----------------------------------

OFFICE_REVIEW = {"5.1.1.a", "5.1.6.b", "5.1.8.a", "5.3.3.a", "6.1.5.d", "1.3.2.b", "3.1.1.a",
                 "3.1.2.c", "2.1.1.a", "5.3.1.a"}


def test_office_review_clauses_come_first_and_a_blank_is_the_first_warning(tmp_path):
    root = tmp_path / "c"
    assert cli("init", root, "--rubric", RUBRIC).exit_code == 0
    camp = load_campaign(root)
    assert {c.id for c in camp.rubric.clauses if c.office_review} == OFFICE_REVIEW
    record_all(camp, sample(camp))
    got = cli("review", root)
    assert got.exit_code == 0
    book = openpyxl.load_workbook(camp.layout.review_file)
    assert book.sheetnames[0] == "市级确认"
    confirm = book["市级确认"]
    head = [c.value for c in confirm[1]]
    rows = [dict(zip(head, r)) for r in confirm.iter_rows(min_row=2, values_only=True)]
    assert {r["条款编号"] for r in rows} == OFFICE_REVIEW
    # every unit, zones without 3.1.x (不适用 for 功能区): 10 × 10 + 5 × 8
    assert len(rows) == 140
    assert all(r["审核状态"].startswith("待市级确认") for r in rows)
    main_rows = {r[3].value for r in book["审核表"].iter_rows(min_row=2)}
    assert not main_rows & OFFICE_REVIEW    # each row is on one sheet only
    lines = [x for x in got.output.splitlines() if x.startswith("[")]
    assert lines and "[S020]" in lines[0] and "140" in lines[0]

    # the reviewer confirms all at once: 系统计算分 copied into 核定分
    edits = {(r["单位代码"], r["条款编号"]): (r["系统计算分"], None, "张三") for r in rows}
    from scorebuilder import edit_review
    edit_review(camp.layout.review_file, edits)
    got = cli("score", root)
    # deduction clauses (每少报1次扣0.1分) confirm a negative system score: no S011
    assert "S020" not in got.output and "S010" not in got.output and "S011" not in got.output

    # one left blank again: the warning is back, counting that row alone
    code, cid = rows[0]["单位代码"], rows[0]["条款编号"]
    edit_review(camp.layout.review_file, {(code, cid): (None, None, None)})
    got = cli("review", root)
    first = next(x for x in got.output.splitlines() if x.startswith("["))
    assert "[S020]" in first and "有 1 条" in first and cid in first


def test_rubric_export_and_workbook_say_the_office_confirms(tmp_path):
    out = tmp_path / "考核细则.xlsx"
    assert cli("rubric", "export", RUBRIC, out).exit_code == 0
    rows = exported_rows(out)
    assert all("市级确认" in (rows[c]["说明"] or "") for c in OFFICE_REVIEW)
    assert "市级确认" not in (rows["1.1.2.a"]["说明"] or "")
    root = tmp_path / "c"
    assert cli("init", root, "--rubric", RUBRIC).exit_code == 0
    assert cli("generate", root).exit_code == 0
    sheet = _sheet_rows(next((root / "generate").glob("411502-*-自评表.xlsx")))
    assert "由市级核实确认" in sheet["5.1.1.a"]["指标 / 评分细则"].value
