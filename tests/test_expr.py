"""The expression layer: parsing, Excel text, exact evaluation with Excel's semantics."""
from decimal import Decimal

import pytest

from xlsx_workflow.rubric.expr import ExprError, evaluate, to_excel
from xlsx_workflow.rubric.parse import parse

CELLS = {"a": "B2", "b": "B3", "c": "B4", "f": "B5"}

ROUND_TRIP = [
    ("1+2*3", "1+2*3", "7"),
    ("(1+2)*3", "(1+2)*3", "9"),
    ("10-(4-3)", "10-(4-3)", "9"),
    ("8/(4/2)", "8/(4/2)", "4"),
    ("-[a]+5", "-B2+5", "3"),
    ("MIN(2,[a]*1)", "MIN(2,B2*1)", "2"),
    ('IF([f]="是",2,0)', 'IF(B5="是",2,0)', "2"),
    ("IF(AND([a]<[b],[b]<[c]),6,0)", "IF(AND(B2<B3,B3<B4),6,0)", "6"),
    ("ROUND(2.345,2)", "ROUND(2.345,2)", "2.35"),
    ("ROUND(-2.345,2)", "ROUND(-2.345,2)", "-2.35"),
    ("ROUNDUP(0.11,1)", "ROUNDUP(0.11,1)", "0.2"),
    ("ROUNDDOWN(7.7/0.5,0)*0.5", "ROUNDDOWN(7.7/0.5,0)*0.5", "7.5"),
    ("INT(-1.5)", "INT(-1.5)", "-2"),
    ("0.2*7", "0.2*7", "1.4"),
    ("SUM([a],[b],[c])", "SUM(B2,B3,B4)", "8"),
]


@pytest.mark.parametrize("text,excel,value", ROUND_TRIP)
def test_parse_render_evaluate(text, excel, value):
    e = parse(text)
    assert to_excel(e, CELLS.__getitem__) == excel
    values = {"a": Decimal(2), "b": Decimal(3), "c": Decimal(3) + 0, "f": "是"}
    values["c"] = Decimal(3) if "SUM" in text else Decimal(4)
    assert evaluate(e, values) == Decimal(value)


@pytest.mark.parametrize("text", ["MIN(2,", "2 +* 3", "FOO(1)", "[a] ? 2", '"open'])
def test_bad_syntax(text):
    with pytest.raises(ExprError):
        parse(text)


def test_blank_counts_as_zero_and_not_yes():
    assert evaluate(parse("[a]*2+1"), {}) == Decimal(1)
    assert evaluate(parse('IF([f]="是",1,0)'), {}) == Decimal(0)


def test_division_by_zero_is_an_error():
    with pytest.raises(ExprError):
        evaluate(parse("1/[a]"), {})


def test_text_in_arithmetic_is_value_error():
    with pytest.raises(ExprError):
        evaluate(parse("[a]*2"), {"a": "3次"})


def test_sum_skips_text_like_excel():
    assert evaluate(parse("SUM([a],[b])"), {"a": "待市级核定", "b": Decimal(2)}) == Decimal(2)
