"""Subtotals as expressions, so the workbook's formulas and the engine share them too.

Names: `c:<clause>` a clause's points, `i:<indicator>`, `d:<dimension>`, `g:<group>`, `total`.
"""
from __future__ import annotations

from .expr import Expr, Op, Ref, call, num
from .model import Dimension, Group, Indicator, Rubric


def clause_name(clause_id: str) -> str:
    return f"c:{clause_id}"


def indicator_expr(rubric: Rubric, ind: Indicator) -> Expr:
    parts = [Ref(clause_name(c.id)) for c in ind.clauses]
    return _rounded(rubric, _capped(ind.max, call("SUM", *parts)))


def _capped(cap, expr: Expr) -> Expr:
    """Between 0 (the floor of every subtotal) and the declared maximum."""
    return call("MAX", num(0), call("MIN", num(cap), expr))


def _rounded(rubric: Rubric, expr: Expr) -> Expr:
    # Every level is rounded to the declared places so that binary float sums in Excel
    # (89.7 + 0.3) can never fall just below a grade line that the decimal engine reaches.
    return call("ROUND", expr, num(rubric.places))


def dimension_expr(rubric: Rubric, dim: Dimension) -> Expr:
    parts = [Ref(f"i:{i.id}") for i in rubric.indicators if i.dimension == dim.id]
    return _rounded(rubric, _capped(dim.max, call("SUM", *parts))) if parts else num(0)


def group_expr(rubric: Rubric, group: Group) -> Expr:
    parts = [Ref(f"d:{d.id}") for d in rubric.dimensions if d.group == group.id]
    return _rounded(rubric, _capped(group.max, call("SUM", *parts))) if parts else num(0)


def total_expr(rubric: Rubric) -> Expr:
    expr: Expr | None = None
    for g in rubric.groups:
        ref = Ref(f"g:{g.id}")
        if expr is None:
            expr = ref if g.role != "deduction" else Op("-", num(0), ref)
        else:
            expr = Op("-" if g.role == "deduction" else "+", expr, ref)
    return _rounded(rubric, call("MAX", num(rubric.total_floor), expr))


def grade_expr(rubric: Rubric, total: Expr) -> Expr:
    from .expr import Text, if_
    bands = sorted(rubric.grades, key=lambda g: g.min, reverse=True)
    expr: Expr = Text(bands[-1].name) if bands else Text("")
    for g in reversed(bands[:-1]):
        expr = if_(Op(">=", total, num(g.min)), Text(g.name), expr)
    return expr
