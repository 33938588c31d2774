"""The engine over a cohort: subtotals, caps, overrides, 不适用, cohort values and ranks."""
from decimal import Decimal
from pathlib import Path

import pytest

from rubric_builder import one_clause

from xlsx_workflow.engine import (Override, UnitInput, competition_ranks, rank, score_cohort,
                                  score_unit)
from xlsx_workflow.rubric import load_rubric

MINI = Path(__file__).parent / "data" / "mini.yaml"


@pytest.fixture(scope="module")
def mini():
    return load_rubric(MINI)


def test_caps_at_every_level(mini):
    res = score_unit(mini, {"3.1": 40, "4.1": "是", "5.1": 30, "1.1": "是", "1.2": 9, "1.3": "甲"})
    assert res.indicators["1"].points == Decimal(8)          # 2 + 4 + 2, indicator max 8
    assert res.groups["bonus"] == Decimal(3)
    assert res.deduction == Decimal(2)                       # 30 × 0.2 = 6, capped at clause 2
    # A = indicator 1 (8) + 2.6 penalty untouched (2); B = 40; bonus 3; deduction 2.
    assert res.dimensions["A"] == Decimal(10)
    assert res.total == Decimal(10) + Decimal(40) + Decimal(3) - Decimal(2)


def test_total_never_below_floor(mini):
    assert score_unit(mini, {"5.1": 30}).total == Decimal(0)


def test_not_applicable_is_excluded_from_rate(mini):
    inputs = {"3.1": 40, "1.1": "是", "2.6": 10}
    county = score_unit(mini, inputs, unit_type="县区")
    zone = score_unit(mini, inputs, unit_type="功能区")
    assert county.total == Decimal(42) and county.rate == Decimal("0.42")
    assert zone.clauses["3.1"].status == "not_applicable"
    assert zone.applicable_max == Decimal(60)
    assert zone.total == Decimal(2) and zone.rate == Decimal("0.0333")


def test_override_wins_and_keeps_the_computed_score(mini):
    res = score_unit(mini, {"1.2": 1}, overrides={"1.2": Override(Decimal(0), "会议未研究知识产权", "张三")})
    c = res.clauses["1.2"]
    assert (c.points, c.computed, c.status) == (Decimal(0), Decimal(2), "overridden")
    assert "会议未研究知识产权" in c.explanation


def test_cohort_rank_and_ties(mini):
    units = [UnitInput("1", "甲", "县区", {"2.1": 5, "3.1": 30}),
             UnitInput("2", "乙", "县区", {"2.1": 9, "3.1": 30}),
             UnitInput("3", "丙", "县区", {"2.1": 1, "3.1": 10})]
    scores = {s.unit_code: s for s in score_cohort(mini, units)}
    assert scores["2"].clauses["2.9"].points == Decimal(1)    # largest 2.1 → cohort rank 1
    assert scores["1"].clauses["2.9"].points == Decimal(0)
    assert [scores[c].rank for c in "123"] == [2, 1, 3]


def test_ties_share_a_rank(mini):
    scores = [score_unit(mini, {"3.1": t, "2.6": 10}, unit_code=str(i)) for i, t in enumerate([30, 30, 20, 10])]
    rank(scores)
    assert [s.rank for s in scores] == [1, 1, 3, 4]


def test_competition_ranks_match_counting_every_pair():
    import random
    rnd = random.Random(7)
    for n in (0, 1, 2, 5, 40):
        values = [Decimal(rnd.randint(0, 6)) / 2 for _ in range(n)]  # many ties
        assert competition_ranks(values) == [1 + sum(1 for o in values if o > v) for v in values]
    assert competition_ranks([Decimal("89.5"), Decimal(90), Decimal("89.5")]) == [2, 1, 2]


@pytest.mark.parametrize("total,grade", [("90", "优秀"), ("89.5", "良好"), ("80", "良好"),
                                         ("79.5", "一般"), ("0", "一般")])
def test_grade_bands(tmp_path, total, grade):
    rubric = one_clause(tmp_path, {"kind": "judged", "max": 100},
                        [{"id": "f", "label": "自评", "type": "judged"}])
    res = score_unit(rubric, {"f": total})
    assert (res.total, res.grade) == (Decimal(total), grade)


def test_inputs_from_excel_are_normalised(mini):
    res = score_unit(mini, {"1.2": "2", "1.1": True, "3.1": 7.5})
    assert res.clauses["1.2"].points == Decimal(4)
    assert res.clauses["1.1"].points == Decimal(2)
    assert res.clauses["3.1"].points == Decimal("7.5")


def test_text_in_a_count_is_a_warning_not_a_crash(mini):
    res = score_unit(mini, {"1.2": "3次"})
    assert res.clauses["1.2"].points == 0
    assert any("3次" in w for w in res.warnings)


def test_subtotals_are_floored_at_zero(tmp_path):
    # A clause allowed below zero (floor −5) cannot drag its indicator, dimension or group below 0.
    rubric = one_clause(tmp_path, {"kind": "formula", "expr": "0-[f]", "max": 5, "floor": -5},
                        [{"id": "f", "label": "次数", "type": "count"}])
    res = score_unit(rubric, {"f": 3})
    assert res.clauses["c"].points == Decimal(-3)
    assert res.indicators["1"].points == Decimal(0)
    assert res.dimensions["D"] == Decimal(0) and res.total == Decimal(0)


def test_a_rubric_changed_in_place_is_scored_by_its_new_subtotals(tmp_path):
    """score_unit keeps each rubric's subtotal expressions between units; a rubric whose grade
    bands or rounding are replaced afterwards must not be scored by the old ones."""
    from xlsx_workflow.rubric.model import Grade
    rubric = one_clause(tmp_path, {"kind": "judged", "max": 100},
                        [{"id": "f", "label": "自评", "type": "judged"}])
    assert score_unit(rubric, {"f": "85"}).grade == "良好"
    assert score_unit(rubric, {"f": "85"}).grade == "良好"   # the kept plan
    rubric.grades = [Grade("达标", Decimal(60)), Grade("未达标", Decimal(0))]
    assert score_unit(rubric, {"f": "85"}).grade == "达标"
    rubric.places = 0
    assert score_unit(rubric, {"f": "85.4"}).total == Decimal(85)


def _computed_every_time(monkeypatch):
    """score_unit without the clause memo: every clause computed for every unit."""
    import xlsx_workflow.engine as engine
    monkeypatch.setattr(engine._ClauseMemo, "score", lambda self, entry, values, labels:
                        engine._score_clause(entry[0], values, True, None, labels))


@pytest.mark.parametrize("name", ["ip-protection-2021", "anti-counterfeit-2021"])
def test_the_clause_memo_gives_what_computing_every_clause_gives(name, monkeypatch):
    """Units answering alike share computed clause results; every result, explanation and
    status included, must be what computing the clause for that unit gives."""
    import random

    from xlsx_workflow.rubric.sample import random_cohort, random_inputs, random_params
    rubric, rng = load_rubric(name), random.Random(13)
    types = [""] + sorted({t for i in rubric.indicators for t in i.not_applicable})
    units = []
    for k in range(120):
        inputs = random_inputs(rubric, rng, blank_rate=0.2)
        if k % 3 == 0:  # many units answer alike
            inputs = {f: (v if rng.random() < 0.5 else None) for f, v in units[0][0].items()} \
                if units else inputs
        params = random_params(rubric, rng) if k % 2 else {}
        units.append((inputs, params, random_cohort(rubric, rng), types[k % len(types)]))
    units += units[:30]  # the same units again: every clause from the memo
    kept = [score_unit(rubric, i, p, unit_type=t, cohort=c) for i, p, c, t in units]
    _computed_every_time(monkeypatch)
    computed = [score_unit(rubric, i, p, unit_type=t, cohort=c) for i, p, c, t in units]
    assert kept == computed
    assert all(a.clauses[k] is not b.clauses[k]  # each unit its own results, never shared
               for a, b in zip(kept, kept[1:]) for k in a.clauses)


def test_a_clause_reading_beyond_its_expression_is_never_kept(tmp_path):
    """A result is kept only when computing it read no name outside the memo's key: here the
    explanation reads a value the expression does not, and every unit gets its own."""
    rubric = one_clause(tmp_path, {"kind": "flag", "points": 2},
                        [{"id": "f", "label": "是否开展", "type": "flag"}])
    c = rubric.clauses[0]
    plain = c.explain
    c.explain = lambda v, points: plain(v, points) + f"（{v('note')}）"
    first = score_unit(rubric, {"f": "是", "note": "甲"}).clauses["c"]
    second = score_unit(rubric, {"f": "是", "note": "乙"}).clauses["c"]
    assert first.explanation.endswith("（甲）") and second.explanation.endswith("（乙）")


def test_a_clause_changed_in_place_is_computed_afresh(tmp_path):
    rubric = one_clause(tmp_path, {"kind": "flag", "points": 2},
                        [{"id": "f", "label": "是否开展", "type": "flag"}])
    assert score_unit(rubric, {"f": "是"}).total == Decimal(2)
    (tmp_path / "other").mkdir()
    other = one_clause(tmp_path / "other", {"kind": "flag", "points": 5},
                       [{"id": "f", "label": "是否开展", "type": "flag"}])
    rubric.clauses[0].expr = other.clauses[0].expr
    assert score_unit(rubric, {"f": "是"}).clauses["c"].points == Decimal(5)


def test_equal_numbers_written_differently_are_not_one_answer(tmp_path):
    """3 and 3.00 are equal but print differently: a unit's result never depends on which
    other units were scored before it (here the explanation shows the value as written)."""
    rubric = one_clause(tmp_path, {"kind": "count", "per": "0.5", "cap": 10},
                        [{"id": "f", "label": "开展次数", "type": "count", "unit": "次"}])
    rubric.clauses[0].explain = lambda v, points: f"填报{v('f')}次"
    assert score_unit(rubric, {"f": Decimal("3.00")}).clauses["c"].explanation == "填报3.00次"
    assert score_unit(rubric, {"f": Decimal("3")}).clauses["c"].explanation == "填报3次"
    assert score_unit(rubric, {"f": Decimal("-0")}).clauses["c"].explanation == "填报-0次"
    assert score_unit(rubric, {"f": Decimal("0")}).clauses["c"].explanation == "填报0次"
