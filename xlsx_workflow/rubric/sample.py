"""Sample fills of a rubric: random valid inputs and office parameters, and a full-marks fill.

Used by the formula-agreement tests, the workbook-generation tests and the demo. Every value is
one a unit (or the office) could legitimately enter, so a difference between the workbook's
formulas and the engine on these fills is a real bug, not a data-validation matter. The same
seed always gives the same fills.
"""
from __future__ import annotations

import itertools
import random
from datetime import date, timedelta
from decimal import Decimal
from typing import Optional

from .expr import ExprError, evaluate
from .model import FLAG_NO, FLAG_YES, Clause, Field, Param, Rubric

COUNT_HIGH = 30          # upper end of a count without a declared max
AMOUNT_HIGH = 500        # upper end of an amount/number (e.g. 万元) without a declared max
RANK_HIGH = 30           # provincial / city ranks run 1..30
MAX_COMBINATIONS = 4096  # candidate combinations tried per clause by full_marks_inputs
TEXTS = ("已按要求完成", "详见会议纪要", "县政府办公室", "已报送", "专项行动", "无", "正在整改")


def random_inputs(rubric: Rubric, rng: random.Random, blank_rate: float = 0.1,
                  include_office: bool = False) -> dict:
    """A valid value (or None, at `blank_rate`) for every unit field, keyed by field id.

    Flags and choices are text, counts int, amounts/numbers/judged Decimal, dates `date`.
    With `include_office` the office's own fields (e.g. 虚假报送) are filled too.
    """
    windows = {i.id: (i.window_from, i.window_to) for i in rubric.indicators}
    fields = rubric.fields if include_office else rubric.unit_fields
    out = {}
    for f in fields:
        blank = rng.random() < blank_rate
        value = _random_value(f, rng, windows.get(f.indicator_id), rubric.year)
        out[f.id] = None if blank else value
    return out


def _random_value(f: Field, rng: random.Random, window, year: int):
    if f.type == "flag":
        return rng.choice((FLAG_YES, FLAG_NO))
    if f.type == "choice":
        return rng.choice(f.options) if f.options else None
    if f.type == "count":
        return _skewed_int(rng, _int(f.min, 0), _int(f.max, COUNT_HIGH))
    if f.type in ("amount", "number"):
        return _decimal(rng, f.min or Decimal(0), f.max or Decimal(AMOUNT_HIGH), 2)
    if f.type == "judged":
        step = f.step or Decimal("0.5")
        steps = int((f.max or Decimal(10)) / step)
        return rng.randint(0, steps) * step
    if f.type == "date":
        return _random_date(rng, window, year)
    return rng.choice(TEXTS)


def _int(d: Optional[Decimal], default: int) -> int:
    return default if d is None else int(d)


def _skewed_int(rng: random.Random, lo: int, hi: int) -> int:
    """A whole number in lo..hi, mostly small (as real counts are): u² pushes towards lo."""
    if hi <= lo:
        return lo
    return min(hi, lo + int((hi - lo + 1) * rng.random() ** 2))


def _decimal(rng: random.Random, lo: Decimal, hi: Decimal, places: int) -> Decimal:
    scale = 10 ** places
    n = rng.randint(int(lo * scale), int(hi * scale))
    return (Decimal(n) / scale).quantize(Decimal(1).scaleb(-places))


def _random_date(rng: random.Random, window, year: int) -> date:
    start, end = window or (None, None)
    start = start or date(year or 2021, 1, 1)
    end = end or max(start, date(year or 2021, 12, 31))
    return start + timedelta(days=rng.randint(0, (end - start).days))


def random_params(rubric: Rubric, rng: random.Random) -> dict:
    """A valid value for every office parameter (never blank), keyed by param id.

    Ranks are whole numbers 1..30, averages have one decimal, counts (执法单位数, 上年度…数) are
    whole numbers, other numbers two decimals; each respects the declared min and max.
    """
    return {p.id: _random_param(p, rng) for p in rubric.params}


def param_kind(p: Param) -> str:
    """rank | average | count | number: how a parameter's values look."""
    words = p.id + p.label
    if "排名" in words:
        return "rank"
    if "平均" in words:
        return "average"
    if p.type == "count" or words.endswith("数"):
        return "count"
    return "number"


def _random_param(p: Param, rng: random.Random):
    kind = param_kind(p)
    if kind == "rank":
        return rng.randint(max(1, _int(p.min, 1)), _int(p.max, RANK_HIGH))
    if kind == "average":
        return _decimal(rng, p.min or Decimal(0), p.max or Decimal(15), 1)
    if kind == "count":
        lo = _int(p.min, 0)
        if "单位数" in p.id + p.label:
            return rng.randint(max(1, lo), _int(p.max, 12))
        return _skewed_int(rng, lo, _int(p.max, COUNT_HIGH))
    return _decimal(rng, p.min or Decimal(0), p.max or Decimal(AMOUNT_HIGH), 2)


def random_cohort(rubric: Rubric, rng: random.Random, units: int = 15) -> dict:
    """Values for the cohort names clauses read (`cohort_rank:F` 1..units, `cohort_average:F`,
    `cohort_count:F` = units)."""
    names = sorted({n for c in rubric.clauses for n in c.needs if n.startswith("cohort_")})
    return {n: Decimal(rng.randint(1, units)) if n.startswith("cohort_rank:")
            else Decimal(units) if n.startswith("cohort_count:")
            else _decimal(rng, Decimal(0), Decimal(COUNT_HIGH), 1) for n in names}


def full_marks_inputs(rubric: Rubric, include_office: bool = False) -> dict:
    """Inputs that reach every clause's maximum where the kind allows.

    Flags 是, counts high, the best choice, judged at max, amounts strictly increasing; then,
    clause by clause, each of its own fields takes the candidate value that scores the clause
    highest (so penalty counts become 0). Office data is unknown here and counts as blank.
    """
    windows = {i.id: (i.window_from, i.window_to) for i in rubric.indicators}
    out = {}
    for c in rubric.clauses:
        for n, f in enumerate(c.fields):
            out[f.id] = _candidates(f, n, windows.get(f.indicator_id), rubric.year)[0]
    for c in rubric.clauses:
        _best_for_clause(c, out, windows, rubric.year)
    fields = rubric.fields if include_office else rubric.unit_fields
    return {f.id: out[f.id] for f in fields}


def _candidates(f: Field, position: int, window=None, year: int = 0) -> list:
    """Values worth trying for a field, the preferred one first."""
    if f.type == "flag":
        return [FLAG_YES, FLAG_NO]
    if f.type == "choice":
        return list(f.options) or [None]
    if f.type == "count":
        return [_int(f.max, COUNT_HIGH), _int(f.min, 0)]
    if f.type == "judged":
        return [f.max if f.max is not None else Decimal(10), Decimal(0)]
    if f.type in ("amount", "number"):
        return [Decimal(100 + 20 * position)]   # increasing along the clause's fields
    if f.type == "date":
        start, end = window or (None, None)
        return [end or start or date(year or 2021, 6, 30)]
    return [TEXTS[0]]


def _best_for_clause(c: Clause, values: dict, windows: dict, year: int) -> None:
    """Try every combination of the clause's own candidate values (a penalty with two counts
    only improves once both are 0); ties keep the preferred values. Large clauses fall back
    to one field at a time."""
    options = [_candidates(f, n, windows.get(f.indicator_id), year) for n, f in enumerate(c.fields)]
    combos = 1
    for o in options:
        combos *= len(o)
    if combos > MAX_COMBINATIONS:
        options = [[values[f.id]] + o[1:] for f, o in zip(c.fields, options)]
        for n, f in enumerate(c.fields):
            _best_for_clause_fields(c, values, [f], [options[n]])
        return
    _best_for_clause_fields(c, values, c.fields, options)


def _best_for_clause_fields(c: Clause, values: dict, fields: list, options: list) -> None:
    best, best_points = None, None
    for combo in itertools.product(*options):
        values.update({f.id: v for f, v in zip(fields, combo)})
        points = _points(c, values)
        if points is not None and (best_points is None or points > best_points):
            best, best_points = combo, points
    values.update({f.id: v for f, v in zip(fields, best or [o[0] for o in options])})


def _points(c: Clause, values: dict) -> Optional[Decimal]:
    def lookup(name):
        v = values.get(name)
        return Decimal(v) if isinstance(v, int) else v
    try:
        result = evaluate(c.expr, lookup)
    except ExprError:
        return None
    return result if isinstance(result, Decimal) else None
