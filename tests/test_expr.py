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


# --- the compiled closures compute what the tree walk computes -------------------------------

def _random_expr(rng, depth: int):
    from xlsx_workflow.rubric.expr import Call, Neg, Num, Op, Ref, Text
    if depth == 0 or rng.random() < 0.25:
        pick = rng.random()
        if pick < 0.4:
            return Num(Decimal(rng.choice(["0", "1", "2", "-3", "0.5", "2.345", "10", "1.0"])))
        if pick < 0.5:
            return Text(rng.choice(["", "是", "否", "甲"]))
        return Ref(rng.choice("abcdef"))
    pick = rng.random()
    if pick < 0.35:
        op = rng.choice(["+", "-", "*", "/", "=", "<>", "<", "<=", ">", ">="])
        return Op(op, _random_expr(rng, depth - 1), _random_expr(rng, depth - 1))
    if pick < 0.42:
        return Neg(_random_expr(rng, depth - 1))
    func = rng.choice(["IF", "AND", "OR", "NOT", "MIN", "MAX", "SUM", "ROUND", "ROUNDUP",
                       "ROUNDDOWN", "INT", "ABS", "MEDIAN"])
    return Call(func, tuple(_random_expr(rng, depth - 1) for _ in range(rng.randint(0, 3))))


def _outcome(fn):
    try:
        v = fn()
    except Exception as e:  # the same error, with the same message, is part of the contract
        return ("error", type(e).__name__, str(e))
    return ("value", type(v).__name__, str(v))


def test_compiled_closures_give_the_tree_walks_values_and_errors():
    import random

    from xlsx_workflow.rubric.expr import _eval, compile_expr
    rng = random.Random(20261203)
    choices = [None, "", "是", "甲", True, False, Decimal("0"), Decimal("2"), Decimal("-1.5"),
               Decimal("3.25"), Decimal("100")]
    kinds = set()
    for _ in range(3000):
        expr = _random_expr(rng, 4)
        fn = compile_expr(expr)
        for _ in range(4):
            values = {n: rng.choice(choices) for n in "abcdef"}
            want = _outcome(lambda: _eval(expr, values.get))
            assert _outcome(lambda: fn(values.get)) == want, (expr, values)
            kinds.add(want[:2])
    # the sample reached values of every type and every error kind, so the check can fail
    assert {("value", "Decimal"), ("value", "str"), ("value", "bool"),
            ("error", "ExprError"), ("error", "IndexError")} <= kinds


def test_evaluate_reuses_the_closure_of_an_expression_it_has_seen():
    from xlsx_workflow.rubric.expr import compiled
    expr = parse("ROUND([a]*2,1)")
    assert compiled(expr) is compiled(expr)
    assert evaluate(expr, {"a": Decimal("1.25")}) == Decimal("2.5")
    same_text = parse("ROUND([a]*2,1)")  # equal but another object: compiled on its own
    assert evaluate(same_text, {"a": Decimal("1.25")}) == Decimal("2.5")


def test_sum_of_references_and_rounding_to_fixed_places_as_the_tree_walk():
    """The shortcuts for SUM([a],[b],…) and ROUND(x, 2) (issue 13) against the tree walk."""
    import random

    from xlsx_workflow.rubric.expr import Call, Num, Ref, _eval, compile_expr
    rng = random.Random(3)
    choices = [None, "", "是", True, False, Decimal("0"), Decimal("2"), Decimal("-1.5"),
               Decimal("3.25"), Decimal("1E+30"), Decimal("0.045")]
    names = set()
    for _ in range(2000):
        refs = tuple(Ref(rng.choice("abcdef")) for _ in range(rng.randint(0, 8)))
        inner = Call("SUM", refs)
        places = Num(Decimal(rng.choice(["0", "1", "2", "2.5", "-1", "40", "1E+6"])))
        for expr in (inner, Call(rng.choice(["ROUND", "ROUNDUP", "ROUNDDOWN"]),
                                 (inner, places))):
            fn = compile_expr(expr)
            names.add(fn.__name__)
            for _ in range(3):
                values = {n: rng.choice(choices) for n in "abcdef"}
                want = _outcome(lambda: _eval(expr, values.get))
                assert _outcome(lambda: fn(values.get)) == want, (expr, values)
    assert {"sum_refs", "rounded_to"} <= names


def test_min_and_max_of_two_as_the_tree_walk():
    """The shortcut for MIN(a, b) and MAX(a, b), as in every subtotal's MAX(0, MIN(max, SUM(…)))
    (issue 13): the same value and the same representation (0 or 0.00, the first of equals)
    and the same error as the tree walk, whatever the two arguments give."""
    import random

    from xlsx_workflow.rubric.expr import Call, Num, Ref, _eval, compile_expr
    rng = random.Random(13)
    choices = [None, "", "是", True, False, Decimal("0"), Decimal("0.00"), Decimal("-0"),
               Decimal("2"), Decimal("2.0"), Decimal("-1.5"), Decimal("3.25")]

    def operand():
        pick = rng.randrange(4)
        if pick == 0:
            return Num(rng.choice([Decimal("0"), Decimal("0.00"), Decimal("2"), Decimal("3.25")]))
        if pick == 1:
            return Call("SUM", tuple(Ref(rng.choice("abc")) for _ in range(rng.randint(1, 3))))
        if pick == 2:
            return Call("IF", (Ref("c"), Ref("a"), Num(Decimal("1"))))  # may give a reference
        return Call("ABS", (Ref(rng.choice("abc")),))  # a number or #VALUE!

    names, kinds = set(), set()
    for _ in range(1500):
        func = rng.choice(["MIN", "MAX"])
        inner = Call(func, (operand(), operand()))
        for expr in (inner, Call("MAX", (Num(Decimal(0)), Call("MIN", (Num(Decimal(5)), inner)))),
                     Call(func, (Ref("a"), Ref("b")))):
            fn = compile_expr(expr)
            names.add(fn.__name__)
            for _ in range(3):
                values = {n: rng.choice(choices) for n in "abc"}
                want = _outcome(lambda: _eval(expr, values.get))
                assert _outcome(lambda: fn(values.get)) == want, (expr, values)
                kinds.add((fn.__name__, want[0], want[2] if want[0] == "value" else ""))
    assert {"of_constant", "of_two", "aggregate"} <= names
    # equal values of another representation were met, and errors, so the check can fail
    seen = {k[2] for k in kinds}
    assert {"0", "0.00"} <= seen and any(k[1] == "error" for k in kinds)
