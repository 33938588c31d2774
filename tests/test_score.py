"""score: the cohort scored by the engine from the ledger, office figures and reviews; missing and
rejected units listed, never ranked; ties share a rank; 得分.json is the --json document."""
import json
from decimal import Decimal
from pathlib import Path

import pytest
from click.testing import CliRunner
from scorebuilder import (RUBRICS, fill_params, full_params, later, make_campaign, record,
                          record_all, sample)

from xlsx_workflow.cli import main
from xlsx_workflow.engine import PENDING
from xlsx_workflow.ledger import ACCEPTED, CONTACT_FORM, FLAGGED, REJECTED, StoredReturn
from xlsx_workflow.messages import WorkflowError
from xlsx_workflow.params import write_params
from xlsx_workflow.results import MISSING, NOT_SCORED, SCORED
from xlsx_workflow.rubric.sample import full_marks_inputs
from xlsx_workflow.score import inputs_of, ranking_lines, run_score, score_campaign, self_scores_of

MINI = str(Path(__file__).parent / "data" / "mini.yaml")


def cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


@pytest.mark.parametrize("rubric_id", RUBRICS)
def test_missing_and_rejected_units_are_listed_not_ranked(tmp_path, rubric_id):
    camp = make_campaign(tmp_path / "c", rubric_id)
    inputs = sample(camp)
    missing, rejected, flagged = camp.units[-1], camp.units[-2], camp.units[0]
    record_all(camp, inputs, skip={missing.code, rejected.code, flagged.code})
    record(camp, [(rejected.code, REJECTED, inputs[rejected.code]),
                  (flagged.code, FLAGGED, inputs[flagged.code])])
    run = run_score(tmp_path / "c")
    res = run.result
    states = {u.code: u.state for u in res.units}
    assert states[missing.code] == MISSING and states[rejected.code] == NOT_SCORED
    assert states[flagged.code] == SCORED  # 需人工确认 returns are scored
    assert len(res.scored) == len(camp.units) - 2
    assert [u.code for u in res.units[-2:]] == [rejected.code, missing.code]
    assert sorted(u.score.rank for u in res.scored)[0] == 1
    s015 = [i for i in run.issues if i.code == "S015"]
    assert len(s015) == 1 and rejected.name in s015[0].message
    text = "\n".join(ranking_lines(res))
    assert f"未报送（1个，不参加排名）：{missing.name}（{missing.code}）" in text
    assert rejected.name in text.splitlines()[-2]
    doc = res.to_json()
    by_code = {u["unit_code"]: u for u in doc["units"]}
    assert by_code[missing.code]["rank"] is None and by_code[missing.code]["state"] == MISSING


@pytest.mark.parametrize("rubric_id", RUBRICS)
def test_ties_share_a_rank(tmp_path, rubric_id):
    camp = make_campaign(tmp_path / "c", rubric_id)
    same = sample(camp)[camp.units[0].code]
    codes = [u.code for u in camp.units[:5]]
    best = full_marks_inputs(camp.rubric)
    record(camp, [(codes[0], ACCEPTED, same), (codes[1], ACCEPTED, same),
                  (codes[2], ACCEPTED, same), (codes[3], ACCEPTED, best),
                  (codes[4], ACCEPTED, {})])
    res = score_campaign(tmp_path / "c")
    rank = {u.code: u.score.rank for u in res.scored}
    assert rank[codes[3]] == 1
    assert rank[codes[0]] == rank[codes[1]] == rank[codes[2]] == 2
    assert rank[codes[4]] == 5
    assert [u.code for u in res.scored[1:4]] == sorted(codes[:3])  # ties keep code order


def test_cohort_clauses_are_computed_over_the_scored_units_only(tmp_path):
    units = tmp_path / "units.csv"
    units.write_text("代码,名称,类型\n1,甲县,县区\n2,乙县,县区\n3,丙县,县区\n", encoding="utf-8")
    camp = make_campaign(tmp_path / "c", MINI, units)
    # 2.9 gives 1 point to the unit ranked first in the city on field 2.1
    record(camp, [("1", ACCEPTED, {"2.1": 5}), ("2", ACCEPTED, {"2.1": 3}),
                  ("3", REJECTED, {"2.1": 10})])
    res = {u.code: u for u in score_campaign(tmp_path / "c").units}
    assert res["1"].score.clauses["2.9"].points == 1
    assert res["2"].score.clauses["2.9"].points == 0
    assert res["3"].state == NOT_SCORED


def test_office_figures_reach_the_engine(tmp_path):
    camp = make_campaign(tmp_path / "c", "anti-counterfeit-2021")
    record_all(camp, sample(camp))
    pending = run_score(tmp_path / "c").result.scored[0].score.pending
    assert "1.1.2.a" in pending  # needs 执法单位数
    write_params(tmp_path / "c")
    fill_params(camp.layout.params_file, *full_params(camp))
    run = run_score(tmp_path / "c")
    assert [i.code for i in run.issues] == ["S020"]  # only: 市级确认 rows not confirmed yet
    assert all(not u.score.pending for u in run.result.scored)
    assert all(c.status != PENDING for u in run.result.scored for c in u.score.clauses.values())


def test_office_only_flag_from_params_deducts_ten(tmp_path):
    camp = make_campaign(tmp_path / "c", "ip-protection-2021")
    record_all(camp, sample(camp))
    before = {u.code: u.score for u in score_campaign(tmp_path / "c").scored}
    target = camp.units[1].code
    write_params(tmp_path / "c")
    fill_params(camp.layout.params_file, {target: {"office.1": "是"}})
    after = {u.code: u.score for u in score_campaign(tmp_path / "c").scored}
    assert after[target].clauses["office.1"].points == 10
    assert after[target].deduction == min(Decimal(10), before[target].deduction + 10)
    assert all(after[c].total == before[c].total for c in after if c != target)


def test_cli_score_json_contract_and_deterministic_file(tmp_path):
    camp = make_campaign(tmp_path / "c", "ip-protection-2021")
    record_all(camp, sample(camp), skip={camp.units[-1].code})
    res = cli("score", tmp_path / "c", "--json")
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    unit = doc["units"][0]
    assert {"unit_code", "unit_name", "total", "grade", "rank", "base", "bonus", "deduction",
            "dimensions"} <= unit.keys()
    assert set(unit["dimensions"]) == {d.name for d in camp.rubric.dimensions}
    path = Path(doc["files"][0])
    assert path.is_absolute() and path == camp.layout.score_file
    first = path.read_bytes()
    assert json.loads(first)["units"] == doc["units"]
    assert cli("score", tmp_path / "c", "--json").exit_code == 0
    assert path.read_bytes() == first
    text = cli("score", tmp_path / "c")
    assert "名次\t代码\t单位" in text.stdout and "未报送（1个" in text.stdout


def test_cli_prints_param_problems_with_unit_and_field(tmp_path):
    camp = make_campaign(tmp_path / "c", "anti-counterfeit-2021")
    record_all(camp, sample(camp))
    assert cli("params", tmp_path / "c").exit_code == 0
    per_unit, per_campaign = full_params(camp)
    per_unit[camp.units[3].code]["执法单位数"] = "三"
    fill_params(camp.layout.params_file, per_unit, per_campaign)
    res = cli("score", tmp_path / "c", "--json")
    assert res.exit_code == 1  # an invalid figure is an error
    assert "S004" in res.stderr and camp.units[3].name in res.stderr and "执法单位数" in res.stderr
    assert json.loads(res.stdout)["units"]  # scored all the same (that clause pending)
    params = json.loads(cli("params", tmp_path / "c", "--json").stdout)
    assert params["kept"] == sum(len(v) for v in per_unit.values()) + len(per_campaign)


def test_nothing_to_score(tmp_path):
    make_campaign(tmp_path / "c", "ip-protection-2021")
    res = cli("score", tmp_path / "c")
    assert res.exit_code == 0 and "S016" in res.stderr
    assert "未报送（10个" in res.stdout


def test_contact_forms_are_not_scored(tmp_path):
    camp = make_campaign(tmp_path / "c", "ip-protection-2021")
    record(camp, [(camp.units[0].code, ACCEPTED, {"姓名": "张三"})], kind=CONTACT_FORM)
    record(camp, [(camp.units[1].code, ACCEPTED, sample(camp)[camp.units[1].code])], later(1))
    res = {u.code: u.state for u in score_campaign(tmp_path / "c").units}
    assert res[camp.units[0].code] == MISSING and res[camp.units[1].code] == SCORED


def test_score_file_that_cannot_be_written(tmp_path):
    camp = make_campaign(tmp_path / "c", "ip-protection-2021")
    (camp.layout.score_file.parent / (camp.layout.score_file.name + ".tmp")).mkdir(parents=True)
    with pytest.raises(WorkflowError) as e:
        score_campaign(tmp_path / "c")
    assert e.value.issues[0].code == "S008"


def _stored(values):
    return StoredReturn(1, 1, "1", "x", "a.xlsx", None, ACCEPTED, False, None, None, 0, 0,
                        values, [])


@pytest.mark.parametrize("values,inputs,self_scores", [
    ({"1.1": "是", "1.2": 3}, {"1.1": "是", "1.2": 3}, {}),
    ({"inputs": {"1.1": "否"}, "self_scores": {"1.1": 0}}, {"1.1": "否"}, {"1.1": Decimal(0)}),
    ({"1.1": "是", "self_scores": {"1.1": 2, "1.2": None}}, {"1.1": "是"}, {"1.1": Decimal(2)}),
    ({"9.1.1": "12.5", "_self_scores": {"9.1": "6"}}, {"9.1.1": "12.5"}, {"9.1": Decimal(6)}),
])
def test_inputs_of_a_stored_return(values, inputs, self_scores):
    assert inputs_of(_stored(values)) == inputs
    assert self_scores_of(_stored(values)) == self_scores


def _fill_workbook(src: Path, dst: Path, rubric, unit, inputs: dict) -> dict:
    """Type inputs into a generated 自评表 as a county would (openpyxl); returns what was typed."""
    import openpyxl
    book = openpyxl.load_workbook(src)
    ws = book["自评表"]
    top, cols = next((row[0].row, {c.value: c.column_letter for c in row
                                    if isinstance(c.value, str)})
                     for row in ws.iter_rows(max_row=40)
                     if {"编号", "填报值", "材料编号"} <= {c.value for c in row})
    rows = {ws[f"{cols['编号']}{r}"].value: r for r in range(top + 1, ws.max_row + 1)}
    applies = {i.id: i.applies_to(unit.type) for i in rubric.indicators}
    typed = {}
    for f in rubric.unit_fields:
        value = inputs.get(f.id) if applies[f.indicator_id] else None
        if value is not None:
            ws[f"{cols['填报值']}{rows[f.id]}"] = float(value) if isinstance(value, Decimal) \
                else value
            typed[f.id] = value
    dst.parent.mkdir(parents=True, exist_ok=True)
    book.save(dst)
    return typed


@pytest.mark.parametrize("rubric_id", RUBRICS)
def test_init_generate_fill_import_score(tmp_path, rubric_id):
    from xlsx_workflow.engine import UnitInput, score_cohort
    from xlsx_workflow.generate import generate_campaign
    from xlsx_workflow.importer import import_paths
    camp = make_campaign(tmp_path / "c", rubric_id)
    books = {w.unit_code: Path(w.path) for w in generate_campaign(tmp_path / "c", jobs=1).workbooks}
    inputs = sample(camp, seed=11)
    chosen = [camp.units[0], camp.units[3], camp.units[-1]]  # the last is a 功能区 in 001
    typed = {u.code: _fill_workbook(books[u.code], tmp_path / "inbox" / f"{u.code}.xlsx",
                                    camp.rubric, u, inputs[u.code]) for u in chosen}
    imported = import_paths(tmp_path / "c", [tmp_path / "inbox"], jobs=1, feedback=False)
    assert len(imported.returns) == 3
    write_params(tmp_path / "c")
    per_unit, per_campaign = full_params(camp)
    fill_params(camp.layout.params_file, per_unit, per_campaign)
    res = score_campaign(tmp_path / "c")
    assert sorted(u.code for u in res.scored) == sorted(typed)
    assert len(res.missing) == len(camp.units) - 3
    expected = score_cohort(camp.rubric, [UnitInput(u.code, u.name, u.type, typed[u.code],
                                                    per_unit[u.code]) for u in chosen],
                            per_campaign, camp.ranking)  # auto: by rate once a 功能区 is in
    assert {s.unit_code: s.total for s in expected} == {u.code: u.score.total for u in res.scored}
    assert {s.unit_code: s.rank for s in expected} == {u.code: u.score.rank for u in res.scored}
