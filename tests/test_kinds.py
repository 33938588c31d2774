"""Every clause kind, table-driven: inputs and office parameters → exact points."""
from decimal import Decimal

import pytest

from rubric_builder import one_clause
from xlsx_workflow.engine import score_unit

F = lambda fid="f", type="count", **kw: {"id": fid, "label": "数", "type": type, **kw}  # noqa: E731

CASES = [
    # (name, clause, fields, inputs, params, expected points)
    ("flag yes", {"kind": "flag", "points": 2}, [F(type="flag")], {"f": "是"}, {}, "2"),
    ("flag no", {"kind": "flag", "points": 2}, [F(type="flag")], {"f": "否"}, {}, "0"),
    ("flag blank", {"kind": "flag", "points": 2}, [F(type="flag")], {}, {}, "0"),
    ("count under cap", {"kind": "count", "per": 2, "cap": 4}, [F()], {"f": 1}, {}, "2"),
    ("count at cap", {"kind": "count", "per": 2, "cap": 4}, [F()], {"f": 2}, {}, "4"),
    ("count over cap", {"kind": "count", "per": 2, "cap": 4}, [F()], {"f": 3}, {}, "4"),
    ("count exact decimal", {"kind": "count", "per": 0.2, "cap": 2}, [F()], {"f": 7}, {}, "1.4"),
    ("count 11 × 0.2 capped", {"kind": "count", "per": 0.2, "cap": 2}, [F()], {"f": 11}, {}, "2"),
    ("count terms", {"kind": "count", "cap": 6, "terms": [{"field": "a", "per": 3}, {"field": "b", "per": 1}]},
     [F("a"), F("b")], {"a": 1, "b": 2}, {}, "5"),
    ("count terms capped", {"kind": "count", "cap": 6, "terms": [{"field": "a", "per": 3}, {"field": "b", "per": 1}]},
     [F("a"), F("b")], {"a": 2, "b": 2}, {}, "6"),
    ("choice first", {"kind": "choice", "options": [{"text": "甲", "points": 2}, {"text": "乙", "points": 1}]},
     [F(type="choice")], {"f": "甲"}, {}, "2"),
    ("choice second", {"kind": "choice", "options": [{"text": "甲", "points": 2}, {"text": "乙", "points": 1}]},
     [F(type="choice")], {"f": "乙"}, {}, "1"),
    ("choice blank", {"kind": "choice", "options": [{"text": "甲", "points": 2}]}, [F(type="choice")], {}, {}, "0"),
    ("judged step down", {"kind": "judged", "max": 8}, [F(type="judged")], {"f": "7.7"}, {}, "7.5"),
    ("judged over max", {"kind": "judged", "max": 8}, [F(type="judged")], {"f": "8.5"}, {}, "8"),
    ("judged negative", {"kind": "judged", "max": 8}, [F(type="judged")], {"f": "-1"}, {}, "0"),
    ("ratio", {"kind": "ratio", "divisor": {"param": "P"}, "cap": 3}, [F()], {"f": 7}, {"P": 3}, "2.33"),
    ("ratio capped", {"kind": "ratio", "divisor": {"param": "P"}, "cap": 3}, [F()], {"f": 10}, {"P": 3}, "3"),
    ("ratio zero divisor", {"kind": "ratio", "divisor": {"param": "P"}, "cap": 3}, [F()], {"f": 10}, {"P": 0}, "0"),
    ("ratio fixed divisor", {"kind": "ratio", "divisor": 4, "multiplier": 0.7, "cap": 0.7}, [F()], {"f": 2}, {}, "0.35"),
    ("threshold met", {"kind": "threshold_or_growth", "points": 1, "at_least": 10, "last_year": "L"},
     [F()], {"f": 10}, {"L": 20}, "1"),
    ("growth met", {"kind": "threshold_or_growth", "points": 1, "at_least": 10, "last_year": "L"},
     [F()], {"f": 5}, {"L": 4}, "1"),
    ("neither", {"kind": "threshold_or_growth", "points": 1, "at_least": 10, "last_year": "L"},
     [F()], {"f": 4}, {"L": 4}, "0"),
    ("growth over 30% not met", {"kind": "threshold_or_growth", "points": 1, "last_year": "L", "growth_over": 0.3},
     [F()], {"f": 13}, {"L": 10}, "0"),
    ("growth over 30% met", {"kind": "threshold_or_growth", "points": 1, "last_year": "L", "growth_over": 0.3},
     [F()], {"f": 14}, {"L": 10}, "1"),
    ("rank top 10", {"kind": "threshold_or_growth", "points": 1, "rank": {"param": "R"}, "rank_at_most": 10},
     [F()], {"f": 0}, {"R": 10}, "1"),
    ("growth equal", {"kind": "growth", "points": 1, "last_year": "L", "step": 0.1, "deduct": 0.1},
     [F()], {"f": 10}, {"L": 10}, "1"),
    ("growth partial step whole", {"kind": "growth", "points": 1, "last_year": "L", "step": 0.1, "deduct": 0.1},
     [F()], {"f": 8.5}, {"L": 10}, "0.8"),
    ("growth exact step", {"kind": "growth", "points": 1, "last_year": "L", "step": 0.1, "deduct": 0.1},
     [F()], {"f": 9}, {"L": 10}, "0.9"),
    ("growth floor", {"kind": "growth", "points": 1, "last_year": "L", "step": 0.1, "deduct": 0.1},
     [F()], {"f": 0}, {"L": 3}, "0"),
    ("growth last year 0", {"kind": "growth", "points": 1, "last_year": "L", "step": 0.1, "deduct": 0.1},
     [F()], {"f": 0}, {"L": 0}, "1"),
    ("police 1.1 target met", {"kind": "growth", "points": 5, "last_year": "L", "target": 1.1, "step": 0.05, "deduct": 0.1},
     [F()], {"f": 22}, {"L": 20}, "5"),
    ("police 1.1 target 1 step", {"kind": "growth", "points": 5, "last_year": "L", "target": 1.1, "step": 0.05, "deduct": 0.1},
     [F()], {"f": 21}, {"L": 20}, "4.9"),
    ("police 1.1 target 2 steps", {"kind": "growth", "points": 5, "last_year": "L", "target": 1.1, "step": 0.05, "deduct": 0.1},
     [F()], {"f": 20}, {"L": 20}, "4.8"),
    ("police partial step none", {"kind": "growth", "points": 5, "last_year": "L", "target": 1.1, "step": 0.05, "deduct": 0.1, "partial_step": "none"},
     [F()], {"f": 104}, {"L": 100}, "4.9"),
    ("police partial step none, less than one", {"kind": "growth", "points": 5, "last_year": "L", "target": 1.1, "step": 0.05, "deduct": 0.1, "partial_step": "none"},
     [F()], {"f": 106}, {"L": 100}, "5"),
    ("growth partial step whole explicit", {"kind": "growth", "points": 1, "last_year": "L", "step": 0.1, "deduct": 0.1, "partial_step": "whole"},
     [F()], {"f": 9.5}, {"L": 10}, "0.9"),
    ("relative at average", {"kind": "relative", "average": {"param": "P"}, "max": 2}, [F()], {"f": 4}, {"P": 4}, "1"),
    ("relative above", {"kind": "relative", "average": {"param": "P"}, "max": 2}, [F()], {"f": 6}, {"P": 4}, "1.5"),
    ("relative clamped", {"kind": "relative", "average": {"param": "P"}, "max": 2}, [F()], {"f": 20}, {"P": 4}, "2"),
    ("relative below", {"kind": "relative", "average": {"param": "P"}, "max": 2}, [F()], {"f": 1}, {"P": 4}, "0.25"),
    ("relative zero avg", {"kind": "relative", "average": {"param": "P"}, "max": 2}, [F()], {"f": 1}, {"P": 0}, "2"),
    ("tiers rank 10", {"kind": "tiers", "source": {"param": "R"}, "tiers": [{"at_most": 10, "points": 1}, {"at_most": 25, "points": 0.9}], "otherwise": 0.8},
     [], {}, {"R": 10}, "1"),
    ("tiers rank 11", {"kind": "tiers", "source": {"param": "R"}, "tiers": [{"at_most": 10, "points": 1}, {"at_most": 25, "points": 0.9}], "otherwise": 0.8},
     [], {}, {"R": 11}, "0.9"),
    ("tiers rank 26", {"kind": "tiers", "source": {"param": "R"}, "tiers": [{"at_most": 10, "points": 1}, {"at_most": 25, "points": 0.9}], "otherwise": 0.8},
     [], {}, {"R": 26}, "0.8"),
    ("tiers last 3 of 40", {"kind": "tiers", "source": {"param": "R"}, "count": {"param": "N"}, "tiers": [{"at_most": 10, "points": 1}, {"at_most": 25, "points": 0.9}, {"last": 3, "points": 0.8}]},
     [], {}, {"R": 38, "N": 40}, "0.8"),
    ("tiers between the tiers", {"kind": "tiers", "source": {"param": "R"}, "count": {"param": "N"}, "tiers": [{"at_most": 10, "points": 1}, {"at_most": 25, "points": 0.9}, {"last": 3, "points": 0.8}]},
     [], {}, {"R": 37, "N": 40}, "0"),
    ("tiers override wins", {"kind": "tiers", "source": {"param": "R"}, "count": {"param": "N"}, "override": {"param": "P"}, "override_count": {"param": "PN"}, "tiers": [{"at_most": 10, "points": 1}, {"last": 3, "points": 0.8}]},
     [], {}, {"R": 1, "N": 15, "P": 30, "PN": 30}, "0.8"),
    ("tiers override blank", {"kind": "tiers", "source": {"param": "R"}, "count": {"param": "N"}, "override": {"param": "P"}, "override_count": {"param": "PN"}, "tiers": [{"at_most": 10, "points": 1}, {"last": 3, "points": 0.8}]},
     [], {}, {"R": 1, "N": 15}, "1"),
    ("tiers rate full", {"kind": "tiers", "source": {"rate": ["a", "b"]}, "tiers": [{"at_least": 1, "points": 1.7}, {"at_least": 0.5, "points": 1}]},
     [F("a"), F("b")], {"a": 4, "b": 4}, {}, "1.7"),
    ("tiers rate half", {"kind": "tiers", "source": {"rate": ["a", "b"]}, "tiers": [{"at_least": 1, "points": 1.7}, {"at_least": 0.5, "points": 1}]},
     [F("a"), F("b")], {"a": 2, "b": 4}, {}, "1"),
    ("tiers rate none due", {"kind": "tiers", "source": {"rate": ["a", "b"]}, "tiers": [{"at_least": 1, "points": 1.7}]},
     [F("a"), F("b")], {"a": 0, "b": 0}, {}, "1.7"),
    ("checklist", {"kind": "checklist", "items": [{"field": "a", "points": 0.2}, {"field": "b", "points": 0.3}]},
     [F("a", "flag"), F("b", "flag")], {"a": "是", "b": "否"}, {}, "0.2"),
    ("checklist all", {"kind": "checklist", "items": [{"field": "a", "points": 0.2}, {"field": "b", "points": 0.3}]},
     [F("a", "flag"), F("b", "flag")], {"a": "是", "b": "是"}, {}, "0.5"),
    ("penalty", {"kind": "penalty", "points": 2, "per": 0.2}, [F()], {"f": 3}, {}, "1.4"),
    ("penalty floor", {"kind": "penalty", "points": 1, "per": 0.1}, [F()], {"f": 30}, {}, "0"),
    ("penalty none", {"kind": "penalty", "points": 1, "per": 0.1}, [F()], {}, {}, "1"),
    ("formula increasing", {"kind": "formula", "expr": "IF(AND([a]<[b],[b]<[c]),6,0)", "max": 6},
     [F("a", "amount"), F("b", "amount"), F("c", "amount")], {"a": 1, "b": 2, "c": 3}, {}, "6"),
    ("formula equal years", {"kind": "formula", "expr": "IF(AND([a]<[b],[b]<[c]),6,0)", "max": 6},
     [F("a", "amount"), F("b", "amount"), F("c", "amount")], {"a": 2, "b": 2, "c": 3}, {}, "0"),
    ("clause cap", {"kind": "count", "per": 1, "cap": 10}, [F()], {"f": 12}, {}, "10"),
    ("rounding half up", {"kind": "ratio", "divisor": 8, "cap": 10}, [F()], {"f": 1}, {}, "0.13"),
]


@pytest.mark.parametrize("name,clause,fields,inputs,params,expected", CASES, ids=[c[0] for c in CASES])
def test_clause_kind(tmp_path, name, clause, fields, inputs, params, expected):
    rubric = one_clause(tmp_path, clause, fields)
    result = score_unit(rubric, inputs, params)
    assert result.clauses["c"].points == Decimal(expected)
    assert result.clauses["c"].status == "scored"
    assert result.clauses["c"].explanation


def test_indicator_cap_limits_extra_points(tmp_path):
    rubric = one_clause(tmp_path, {"kind": "count", "per": 1, "cap": 5}, [F()], indicator_max=2)
    assert score_unit(rubric, {"f": 4}).indicators["1"].points == Decimal(2)


def test_missing_param_makes_clause_pending(tmp_path):
    rubric = one_clause(tmp_path, {"kind": "ratio", "divisor": {"param": "P"}, "cap": 3}, [F()])
    res = score_unit(rubric, {"f": 3})
    assert res.clauses["c"].status == "pending"
    assert res.clauses["c"].points == 0
    assert "参数" in res.clauses["c"].explanation


def test_count_explanation_names_the_cap(tmp_path):
    rubric = one_clause(tmp_path, {"kind": "count", "per": 2, "cap": 4},
                        [{"id": "f", "label": "召开", "type": "count", "unit": "次"}])
    text = score_unit(rubric, {"f": 3}).clauses["c"].explanation
    assert text == "召开3次×2分=6分，超过上限4分，计4分"
