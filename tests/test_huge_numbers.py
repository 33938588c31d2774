"""A number too long for 28-digit rounding (a keyboard slip in a count: 1E+30, or the text
1E+999) is scored, explained and, at worst, left pending: it never stops the whole scoring."""
import random
from decimal import Decimal

import pytest

from xlsx_workflow.engine import UnitInput, score_cohort
from xlsx_workflow.rubric.expr import ExprError, evaluate
from xlsx_workflow.rubric.kinds import fmt
from xlsx_workflow.rubric.load import builtin_rubric
from xlsx_workflow.rubric.model import NUMERIC_TYPES
from xlsx_workflow.rubric.parse import parse
from xlsx_workflow.rubric.sample import random_inputs


def test_a_number_too_long_for_its_rounding_does_not_stop_the_scoring():
    """A count of 1E+30 (a slip of the keyboard, only a 警告 at import) or the text 1E+999 in
    every number field: rounded exactly as Excel does where it can be, #NUM! beyond that (the
    clause pending for review), never an exception out of the whole scoring run."""
    assert evaluate(parse("ROUND([a]*0.5,2)"), {"a": Decimal("1E+30")}) == Decimal("5E+29")
    assert evaluate(parse("ROUND([a],1)"), {"a": Decimal("1.25E+40")}) == Decimal("1.25E+40")
    with pytest.raises(ExprError, match="#NUM!"):
        evaluate(parse("ROUND([a],2)"), {"a": Decimal("1E+999")})
    rubric = builtin_rubric("ip-protection-2021")
    numbers = [f.id for f in rubric.fields if f.type in NUMERIC_TYPES and f.type != "judged"]
    base = random_inputs(rubric, random.Random(2), blank_rate=0)
    units = [UnitInput(f"U{k}", f"单位{k}", "县区", {**base, **{f: big for f in numbers}})
             for k, big in enumerate([30, "1E+30", "1E+999", 1e308, 10 ** 30])]
    scores = score_cohort(rubric, units)
    assert [s.rank for s in scores] and all(s.total >= 0 for s in scores)
    for s in scores:
        assert {c.status for c in s.clauses.values()} <= {"scored", "pending"}
        assert max(len(c.explanation) for c in s.clauses.values()) < 300  # 1E+999, not 1000 digits
    assert any("1E+999" in c.explanation for c in scores[2].clauses.values())


def test_explanations_show_a_huge_number_short():
    assert fmt(Decimal("1E+30")) == "1E+30" and fmt(Decimal(10 ** 30)) == "1E+30"
    assert fmt(Decimal("2.5")) == "2.5" and fmt(Decimal("0.00006")) == "约0.0001"
