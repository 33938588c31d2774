"""审核表: reviewers' 核定分 win with a reason, every decision is kept once in the ledger, and a
newer return that changes a reviewed clause's system score flags it for review again."""
import json
from decimal import Decimal

import openpyxl
import pytest
from click.testing import CliRunner
from scorebuilder import (RUBRICS, edit_review, later, make_campaign, record, record_all,
                          review_rows, sample)

from xlsx_workflow.cli import main
from xlsx_workflow.engine import OVERRIDDEN
from xlsx_workflow.ledger import ACCEPTED
from xlsx_workflow.messages import WorkflowError
from xlsx_workflow.review import RECHECK, REVIEWED, SHEET, read_review, write_review
from xlsx_workflow.score import run_score


def cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)


def _deduction_clauses(rubric) -> set:
    roles = {d.id: rubric.group_of(d.id).role for d in rubric.dimensions}
    return {c.id for i in rubric.indicators if roles[i.dimension] == "deduction" for c in i.clauses}


@pytest.mark.parametrize("rubric_id", RUBRICS)
def test_review_round_trip_changes_the_ranking_and_is_kept_once(tmp_path, rubric_id):
    camp = make_campaign(tmp_path / "c", rubric_id)
    record_all(camp, sample(camp))
    before = run_score(tmp_path / "c").result
    top, second = before.scored[0], before.scored[1]
    assert top.score.total > second.score.total
    review = write_review(tmp_path / "c")
    rows = review_rows(review.path)
    applicable = sum(1 for c in camp.rubric.clauses if c.indicator_id != "office"
                     if next(i for i in camp.rubric.indicators
                             if i.id == c.indicator_id).applies_to(top.unit.type))
    assert sum(1 for code, _ in rows if code == top.code) >= applicable
    row = rows[(top.code, camp.rubric.clauses[0].id)]
    assert row["系统计算分"] == float(top.score.clauses[camp.rubric.clauses[0].id].computed)
    assert row["计算说明"] and row["满分"] == float(camp.rubric.clauses[0].max)
    cut = {c.clause_id for c in top.score.clauses.values()
           if c.points > 0 and c.clause_id not in _deduction_clauses(camp.rubric)}
    edit_review(review.path, {(top.code, cid): (0, "佐证材料不足", "张三") for cid in cut})

    run = run_score(tmp_path / "c")
    after = {u.code: u for u in run.result.scored}
    assert after[top.code].score.rank > 1
    assert run.result.scored[0].code == second.code
    assert all(after[top.code].score.clauses[c].status == OVERRIDDEN for c in cut)
    assert "佐证材料不足" in after[top.code].score.clauses[next(iter(cut))].explanation
    assert [i.code for i in run.issues].count("S014") == len(cut)
    records = {r.clause_id: r for r in run.result.reviews}
    assert set(records) == cut
    first = records[next(iter(sorted(cut)))]
    assert first.old == top.score.clauses[first.clause_id].points and first.new == 0
    assert first.reviewer == "张三" and first.reason == "佐证材料不足" and first.at

    again = run_score(tmp_path / "c")  # nothing new: nothing recorded twice
    assert "S014" not in [i.code for i in again.issues]
    assert len(again.result.reviews) == len(cut)
    kept = write_review(tmp_path / "c")
    assert kept.kept == len(cut)
    row = review_rows(kept.path)[(top.code, first.clause_id)]
    assert (row["核定分"], row["核定理由"], row["审核人"], row["审核状态"]) == \
        (0, "佐证材料不足", "张三", REVIEWED)


def test_office_only_clause_is_reviewable_and_deducts_ten(tmp_path):
    camp = make_campaign(tmp_path / "c", "ip-protection-2021")
    record_all(camp, sample(camp))
    path = write_review(tmp_path / "c").path
    rows = review_rows(path)
    office = {code: r for (code, cid), r in rows.items() if cid == "office.1"}
    assert set(office) == {u.code for u in camp.units}
    assert all(r["满分"] == 10 and "虚假报送" in r["审核状态"] for r in office.values())
    target = camp.units[4].code
    edit_review(path, {(target, "office.1"): (10, "经核实存在虚假报送", "李四")})
    unit = next(u for u in run_score(tmp_path / "c").result.scored if u.code == target)
    assert unit.score.clauses["office.1"].points == 10 and unit.score.deduction == 10


def test_reason_required_range_checked_unknown_rows_named(tmp_path):
    camp = make_campaign(tmp_path / "c", "ip-protection-2021")
    record_all(camp, sample(camp))
    base = run_score(tmp_path / "c").result
    a, b = base.scored[0], base.scored[1]
    path = write_review(tmp_path / "c").path
    system = a.score.clauses["1.1"].computed
    other = 0 if system else 2
    edit_review(path, {(a.code, "1.1"): (other, None, "张三"),      # changed, no reason
                       (a.code, "1.2"): (99, "多给", "张三"),        # above 满分 4
                       (a.code, "1.3"): ("两分", "x", "张三"),       # not a number
                       (b.code, "1.1"): (float(b.score.clauses["1.1"].computed), None, "王五")})
    book = openpyxl.load_workbook(path)
    ws = book[SHEET]
    last = ws.max_row                                            # the last unit's last row
    ws.cell(last, 4).value = "99.9"                              # no such clause
    ws.cell(last, 10).value = 1
    book.save(path)
    run = run_score(tmp_path / "c")
    codes = {i.code: i for i in run.issues}
    assert {"S010", "S011", "S013"} <= set(codes)
    s010 = codes["S010"]
    assert s010.where.startswith(f"{SHEET}!J") and f"{SHEET}!K" in s010.message
    assert a.name in s010.message and "1.1" in s010.message
    assert len([i for i in run.issues if i.code == "S011"]) == 2
    assert codes["S013"].where == f"{SHEET}!J{last}" and "99.9" in codes["S013"].message
    scored = {u.code: u for u in run.result.scored}
    assert all(scored[a.code].score.clauses[c].status != OVERRIDDEN for c in ("1.1", "1.2", "1.3"))
    assert scored[b.code].score.clauses["1.1"].status == OVERRIDDEN  # agrees: no reason needed
    assert [(r.unit_code, r.clause_id) for r in run.result.reviews] == [(b.code, "1.1")]
    assert cli("score", tmp_path / "c").exit_code == 1
    rows = review_rows(write_review(tmp_path / "c").path)
    assert "核定理由" in rows[(a.code, "1.1")]["审核状态"]
    assert rows[(a.code, "1.2")]["审核状态"] == "核定分无效"
    overrides, issues = read_review(camp)
    assert list(overrides) == [b.code] and {i.code for i in issues} >= {"S010", "S011"}


def _flag_clause(rubric):
    """A plain flag clause of the base group and its field."""
    roles = {d.id: rubric.group_of(d.id).role for d in rubric.dimensions}
    inds = {i.id: i for i in rubric.indicators}
    return next(c for c in rubric.clauses if c.kind == "flag" and len(c.fields) == 1
                and roles[inds[c.indicator_id].dimension] == "base" and not c.office_only
                and not inds[c.indicator_id].not_applicable)


@pytest.mark.parametrize("rubric_id", RUBRICS)
def test_a_newer_return_flags_the_reviewed_clause_until_it_is_reviewed_again(tmp_path, rubric_id):
    camp = make_campaign(tmp_path / "c", rubric_id)
    inputs = sample(camp)
    clause = _flag_clause(camp.rubric)
    unit = camp.units[0]
    inputs[unit.code][clause.fields[0].id] = "是"
    record_all(camp, inputs)
    run_score(tmp_path / "c")
    path = write_review(tmp_path / "c").path
    half = clause.max / 2
    edit_review(path, {(unit.code, clause.id): (float(half), "会议纪要不完整", "张三")})
    assert not run_score(tmp_path / "c").flags

    changed = dict(inputs[unit.code], **{clause.fields[0].id: "否"})
    record(camp, [(unit.code, ACCEPTED, changed)], later(24))
    run = run_score(tmp_path / "c")
    res = next(u for u in run.result.scored if u.code == unit.code)
    assert res.review_flags == [clause.id] and res.versions == 2
    assert res.score.clauses[clause.id].points == half           # the reviewer's score stands
    assert res.score.clauses[clause.id].computed == 0
    s012 = [i for i in run.issues if i.code == "S012"]
    assert len(s012) == 1 and s012[0] in res.issues and unit.name in s012[0].message
    doc = next(u for u in run.result.to_json()["units"] if u["unit_code"] == unit.code)
    assert doc["review_flags"] == [clause.id]

    again = write_review(tmp_path / "c")
    assert again.flagged == 1
    row = review_rows(again.path)[(unit.code, clause.id)]
    assert row["审核状态"].startswith(RECHECK) and row["系统计算分"] == 0
    assert row["核定分"] == float(half)                            # the entry is kept
    assert run_score(tmp_path / "c").flags                        # still flagged: not touched

    edit_review(again.path, {(unit.code, clause.id): (float(half), "已复核，维持核定", "张三")})
    run = run_score(tmp_path / "c")
    assert not run.flags and not run.result.scored[0].review_flags
    history = [r for r in run.result.reviews if r.clause_id == clause.id]
    assert [(r.old, r.new) for r in history] == [(clause.max, half), (Decimal(0), half)]


def test_clearing_a_review_restores_the_system_score_and_is_kept(tmp_path):
    camp = make_campaign(tmp_path / "c", "ip-protection-2021")
    record_all(camp, sample(camp))
    code = camp.units[2].code
    path = write_review(tmp_path / "c").path
    edit_review(path, {(code, "14.1"): (1, "无佐证材料", "张三")})
    run_score(tmp_path / "c")
    edit_review(path, {(code, "14.1"): (None, None, None)})
    run = run_score(tmp_path / "c")
    unit = next(u for u in run.result.scored if u.code == code)
    assert unit.score.clauses["14.1"].status != OVERRIDDEN
    assert [(r.old, r.new) for r in run.result.reviews] == [
        (unit.score.clauses["14.1"].computed, Decimal(1)), (Decimal(1), None)]
    assert len(run_score(tmp_path / "c").result.reviews) == 2


def test_broken_or_unreadable_review_sheet(tmp_path):
    camp = make_campaign(tmp_path / "c", "ip-protection-2021")
    record_all(camp, sample(camp))
    path = write_review(tmp_path / "c").path
    book = openpyxl.load_workbook(path)
    book[SHEET].cell(1, 10).value = "分数"
    book.save(path)
    run = run_score(tmp_path / "c")
    s009 = next(i for i in run.issues if i.code == "S009")
    assert "核定分" in s009.message
    path.write_bytes(b"PK\x03\x04 broken")
    with pytest.raises(WorkflowError) as e:
        run_score(tmp_path / "c")
    assert e.value.issues[0].code == "S007"


def test_cli_review(tmp_path):
    camp = make_campaign(tmp_path / "c", "anti-counterfeit-2021")
    record_all(camp, sample(camp), skip={camp.units[0].code})
    doc = json.loads(cli("review", tmp_path / "c", "--json").stdout)
    assert doc["files"] == [str(camp.layout.review_file)] and doc["rows"] > 0
    rows = review_rows(camp.layout.review_file)
    assert camp.units[0].code not in {code for code, _ in rows}   # nothing to review
    first = camp.layout.review_file.read_bytes()
    assert "已生成审核表" in cli("review", tmp_path / "c").stdout
    assert camp.layout.review_file.read_bytes() == first  # same scores → same bytes
    code = camp.units[1].code
    clause = camp.rubric.clauses[0]
    book = openpyxl.load_workbook(camp.layout.review_file)
    row = next(r for r in book[SHEET].iter_rows(min_row=2)
               if (r[0].value, r[3].value) == (code, clause.id))
    row[9].value = "=1+1"
    row[9].data_type = "s"  # typed as text, as a reviewer's "'=1+1" would be
    book.save(camp.layout.review_file)
    res = cli("review", tmp_path / "c")
    assert "S011" in res.stderr  # the row is named, and what was typed is kept as text
    assert review_rows(camp.layout.review_file)[(code, clause.id)]["核定分"] == "=1+1"
