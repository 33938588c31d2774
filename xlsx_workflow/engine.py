"""The scoring engine: the authoritative score of every unit, clause by clause, with reasons.

It evaluates the same expressions the workbook shows as formulas (see rubric/totals.py), in exact
decimal arithmetic, and adds what a workbook cannot know: office parameters, cohort values
(averages, ranks), reviewers' overrides, 不适用, and the ranking across units.
"""
from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Mapping, Optional

from .rubric.expr import (MAX_DIGITS, ExprError, evaluate, format_number, quantize_exactly,
                          refs)
from .rubric.kinds import COHORT_WORDS
from .rubric.model import NUMERIC_TYPES, Clause, Rubric
from .rubric.totals import (clause_name, dimension_expr, grade_expr, group_expr, indicator_expr,
                            total_expr)

SCORED, PENDING, NOT_APPLICABLE, OVERRIDDEN = "scored", "pending", "not_applicable", "overridden"
RATE, POINTS, AUTO = "rate", "points", "auto"   # campaign.yaml `ranking`


@dataclass(slots=True)
class Override:
    """核定: a reviewer's score for one clause, with the reason and who gave it."""
    points: Decimal
    reason: str = ""
    reviewer: str = ""


@dataclass(slots=True)
class ClauseResult:
    clause_id: str
    points: Decimal
    max: Decimal
    explanation: str
    status: str = SCORED
    computed: Optional[Decimal] = None  # the system's score before an override


@dataclass(slots=True)
class IndicatorResult:
    indicator_id: str
    points: Decimal
    max: Decimal
    applicable: bool = True


@dataclass
class UnitInput:
    code: str
    name: str = ""
    type: str = ""
    inputs: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)
    overrides: dict = field(default_factory=dict)


@dataclass(slots=True)
class UnitScore:
    unit_code: str
    unit_name: str
    clauses: dict
    indicators: dict
    dimensions: dict
    groups: dict
    base: Decimal
    bonus: Decimal
    deduction: Decimal
    total: Decimal
    grade: str
    applicable_max: Decimal
    rate: Optional[Decimal]
    rank: Optional[int] = None
    warnings: list = field(default_factory=list)
    scaled: Optional[Decimal] = None  # 折算得分: total ÷ applicable points × full base points
    ranked_by: str = POINTS           # what rank and grade were decided by (RATE or POINTS)

    @property
    def partial(self) -> bool:
        """True when some indicator is 不适用 for this unit."""
        return any(not i.applicable for i in self.indicators.values())

    @property
    def pending(self) -> list[str]:
        return [c.clause_id for c in self.clauses.values() if c.status == PENDING]


def to_decimal(value) -> Optional[Decimal]:
    if value is None or value == "":
        return None
    if isinstance(value, bool):
        return Decimal(int(value))
    try:
        d = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return d if d.is_finite() else None


def normalise_inputs(rubric: Rubric, inputs: Mapping) -> tuple[dict, list[str]]:
    """Values as the workbook holds them: 是/否 and option text as str, numbers as Decimal."""
    out, warnings = {}, []
    types = {f.id: f.type for f in rubric.fields}
    for fid, value in inputs.items():
        fid = str(fid)
        ftype = types.get(fid)
        if ftype in NUMERIC_TYPES:
            d = to_decimal(value)
            if d is None and value not in (None, ""):
                warnings.append(f"填报项 {fid} 的值「{value}」不是数字，按0计")
            out[fid] = d
        elif ftype == "flag" and isinstance(value, bool):
            out[fid] = "是" if value else "否"
        else:
            out[fid] = None if value is None else str(value).strip()
    return out, warnings


def score_unit(rubric: Rubric, inputs: Mapping, params: Mapping | None = None,
               unit_type: str = "", overrides: Mapping | None = None, cohort: Mapping | None = None,
               unit_code: str = "", unit_name: str = "") -> UnitScore:
    """Score one unit. Clauses whose office data or cohort values are missing are pending (0)."""
    plan = _plan(rubric)
    return _score_unit(rubric, plan, plan.memo.entries(rubric), inputs, params, unit_type,
                       overrides, cohort, unit_code, unit_name)


def _score_unit(rubric: Rubric, plan: "_Plan", entries: list, inputs: Mapping,
                params: Mapping | None, unit_type: str, overrides: Mapping | None,
                cohort: Mapping | None, unit_code: str, unit_name: str) -> UnitScore:
    """`score_unit` with the rubric's plan and memo entries (`_ClauseMemo.entries`, one per
    clause in rubric order) found by the caller: once per cohort, not once per unit."""
    values, warnings = normalise_inputs(rubric, inputs)
    for pid, v in (params or {}).items():
        values[str(pid)] = to_decimal(v)
    values.update(cohort or {})
    overrides = {str(k): _as_override(v) for k, v in (overrides or {}).items()}
    cells: dict = {}
    clauses, indicators = {}, {}
    labels, memo = plan.labels, plan.memo
    entry = iter(entries)
    for ind, ind_expr in zip(rubric.indicators, plan.indicators):
        applicable = ind.applies_to(unit_type)
        for c in ind.clauses:
            e = next(entry)
            override = overrides.get(c.id) if overrides else None
            if override is None and applicable:
                res = memo.score(e, values, labels)
            else:
                res = _score_clause(c, values, applicable, override, labels)
            clauses[c.id] = res
            cells[e[4]] = res.points
        pts = evaluate(ind_expr, cells)
        cells[f"i:{ind.id}"] = pts
        indicators[ind.id] = IndicatorResult(ind.id, pts, ind.max, applicable)
    dims = {}
    for d, expr in zip(rubric.dimensions, plan.dimensions):
        dims[d.id] = cells[f"d:{d.id}"] = evaluate(expr, cells)
    groups = {}
    for g, expr in zip(rubric.groups, plan.groups):
        groups[g.id] = cells[f"g:{g.id}"] = evaluate(expr, cells)
    total = evaluate(plan.total, cells)
    by_role = {r: sum((groups[g.id] for g in rubric.groups if g.role == r), Decimal(0))
               for r in ("base", "bonus", "deduction")}
    app_max = _applicable_max(rubric, indicators)
    # a total is a sum of clause points of at most MAX_DIGITS digits each (expr.quantize_exactly)
    rate = (quantize_exactly(total / app_max, Decimal("0.0001"), None, 2 * MAX_DIGITS)
            if app_max > 0 else None)
    return UnitScore(unit_code, unit_name, clauses, indicators, dims, groups, by_role["base"],
                     by_role["bonus"], by_role["deduction"], total,
                     evaluate(plan.grade, cells), app_max, rate,
                     warnings=warnings, scaled=_scaled(rubric, total, app_max))


@dataclass(frozen=True)
class _Plan:
    """What score_unit needs of a rubric besides its clauses: the subtotal expressions (held, so
    that their compiled closures are reused from unit to unit) and the names of outside values."""
    signature: tuple
    indicators: tuple
    dimensions: tuple
    groups: tuple
    total: object
    grade: object
    labels: dict
    memo: "_ClauseMemo" = field(default_factory=lambda: _ClauseMemo(), compare=False)


_PLANS: dict[int, tuple] = {}  # id(rubric) -> (rubric, plan); the rubric is held, so its id stays


def _signature(rubric: Rubric) -> tuple:
    """What the subtotals are built from: a rubric changed in place gets a new plan."""
    return (rubric.places, rubric.total_floor, tuple(map(id, rubric.indicators)),
            tuple(len(i.clauses) for i in rubric.indicators), tuple(map(id, rubric.dimensions)),
            tuple(map(id, rubric.groups)), tuple(map(id, rubric.grades)),
            tuple(map(id, rubric.fields)), tuple(map(id, rubric.params)))


def _plan(rubric: Rubric) -> _Plan:
    sig = _signature(rubric)
    hit = _PLANS.get(id(rubric))
    if hit is not None and hit[0] is rubric and hit[1].signature == sig:
        return hit[1]
    total = total_expr(rubric)
    plan = _Plan(sig, tuple(indicator_expr(rubric, i) for i in rubric.indicators),
                 tuple(dimension_expr(rubric, d) for d in rubric.dimensions),
                 tuple(group_expr(rubric, g) for g in rubric.groups), total,
                 grade_expr(rubric, total), value_labels(rubric))
    if len(_PLANS) >= 16:
        _PLANS.clear()
    _PLANS[id(rubric)] = (rubric, plan)
    return plan


def value_labels(rubric: Rubric) -> dict:
    """Chinese names of everything a clause can need from outside the unit's inputs."""
    labels = {p.id: p.label for p in rubric.params}
    for f in rubric.fields:
        for kind, words in COHORT_WORDS.items():
            labels[f"{kind}:{f.id}"] = words.format(label=f.label)
    return labels


def _as_override(v) -> Override:
    if isinstance(v, Override):
        return v
    return Override(to_decimal(v) or Decimal(0))


def _score_clause(c: Clause, values: dict, applicable: bool, override: Override | None,
                  labels: dict) -> ClauseResult:
    if not applicable:
        return ClauseResult(c.id, Decimal(0), c.max, "本单位不适用此项", NOT_APPLICABLE)
    missing = sorted(n for n in c.needs if values.get(n) is None)
    computed, explanation, status = Decimal(0), "", SCORED
    if missing:
        status = PENDING
        explanation = "待市级核定：缺少" + "、".join(labels.get(n, n) for n in missing)
    else:
        try:
            computed = evaluate(c.expr, values.get)
            explanation = _explain(c, values, computed)
        except ExprError as e:
            status, explanation = PENDING, f"无法计算（{e}），待核定"
    if override is not None:
        return ClauseResult(c.id, override.points, c.max,
                            f"核定{format_number(override.points)}分（系统计算"
                            f"{format_number(computed)}分）" + (f"，理由：{override.reason}"
                                                               if override.reason else ""),
                            OVERRIDDEN, computed)
    return ClauseResult(c.id, computed, c.max, explanation, status, computed)


class _ClauseMemo:
    """Clause results kept by the values the clause reads, per rubric plan.

    A clause's result (points, status, explanation) is a function of the clause and of the values
    its expressions name: thousands of units answer most clauses alike (是/否, an option, 0), so a
    result is computed once per distinct answer and copied for the others. Sound by
    construction: the key holds every name of the clause's expressions, and a result is kept only
    when the computation read no other name (checked on every computation, the explanation
    included); numbers are told apart by their digits and exponent, not only by value, so a
    result written 1.50 is never handed to a unit whose own is 1.5; a clause whose definition
    changes in place starts afresh. Bounded: at most `LIMIT` answers are kept per clause, after
    which the clause is simply computed."""

    LIMIT = 1024

    def __init__(self):
        self._clauses: dict = {}  # id(clause) -> [clause, its parts, names, {key: result} or None]

    def entries(self, rubric: Rubric) -> list:
        """The entry of every clause of `rubric`, in order, each checked against the clause's
        definition now; `score` takes them (a caller scoring many units asks once)."""
        return [self.entry(c) for c in rubric.clauses]

    def entry(self, c: Clause) -> list:
        """[clause, its parts, names, {key: result} or None, its cell name]; a new one when the
        clause is not the one seen before or was changed in place."""
        entry = self._clauses.get(id(c))
        parts = (c.id, c.expr, c.raw_expr, c.explain, c.max, c.cap, c.floor, c.needs)
        if entry is None or entry[0] is not c or any(a is not b for a, b in zip(entry[1], parts)):
            names = tuple(sorted(refs(c.expr) | refs(c.raw_expr))) if c.expr is not None else ()
            entry = self._clauses[id(c)] = [c, parts, names, None if c.expr is None else {},
                                            clause_name(c.id)]
        return entry

    def score(self, entry: list, values: dict, labels: dict) -> ClauseResult:
        """The result of the entry's clause (an `entry` checked for this scoring run)."""
        c, table = entry[0], entry[3]
        if table is None:
            return _score_clause(c, values, True, None, labels)
        get = values.get
        try:  # a number by its digits and exponent: 3, 3.0 and -0 are equal, but not the same
            key = tuple([v.as_tuple() if type(v) is Decimal else v for v in map(get, entry[2])])
            hit = table.get(key)
        except TypeError:  # an unhashable value: computed, not kept
            return _score_clause(c, values, True, None, labels)
        if hit is not None:
            return _copied(hit)
        read: set = set()
        res = _score_clause(c, _Reading(values, read), True, None, labels)
        if not read.issubset(entry[2]):  # it read something the key does not hold: never kept
            entry[3] = None
        elif len(table) < self.LIMIT:
            table[key] = _copied(res)
        return res


def _copied(r: ClauseResult) -> ClauseResult:
    """A unit's own copy of a kept result (results are never shared between units)."""
    return ClauseResult(r.clause_id, r.points, r.max, r.explanation, r.status, r.computed)


class _Reading(dict):
    """The values, recording each name read through `get` (how clauses read their values)."""

    def __init__(self, values: dict, read: set):
        super().__init__(values)
        self._read = read

    def get(self, name, default=None):
        self._read.add(name)
        return super().get(name, default)

    def __getitem__(self, name):
        self._read.add(name)
        return super().__getitem__(name)


def _explain(c: Clause, values: dict, points: Decimal) -> str:
    text = c.explain(values.get, points)
    raw = evaluate(c.raw_expr, values.get)
    if isinstance(raw, Decimal):
        if c.cap is not None and raw > c.cap:
            text += f"，超过上限{format_number(c.cap)}分，计{format_number(points)}分"
        elif raw < c.floor:
            text += f"，不低于{format_number(c.floor)}分，计{format_number(points)}分"
        elif raw != points:
            text += f"，保留小数后计{format_number(points)}分"
    return text


def base_max(rubric: Rubric) -> Decimal:
    """The full base points (满分) of the rubric: what 折算得分 scales to."""
    return sum((g.max for g in rubric.groups if g.role == "base"), Decimal(0))


def _applicable_max(rubric: Rubric, indicators: dict) -> Decimal:
    """The base points a unit can reach: the base maximum less its 不适用 indicators."""
    base_dims = {d.id for d in rubric.dimensions if rubric.group_of(d.id).role == "base"}
    lost = sum((i.max for i in rubric.indicators
                if i.dimension in base_dims and not indicators[i.id].applicable), Decimal(0))
    return max(Decimal(0), base_max(rubric) - lost)


def _scaled(rubric: Rubric, total: Decimal, app_max: Decimal) -> Optional[Decimal]:
    """折算得分: the total as if every indicator applied (= total when all do)."""
    full = base_max(rubric)
    if app_max <= 0:
        return None
    if app_max == full:
        return total
    # rounded half up, as ROUND in the 自评表's 等次 formula and in Excel (workbook/plan.py)
    return quantize_exactly(total * full / app_max, Decimal(1).scaleb(-rubric.places),
                            ROUND_HALF_UP, 2 * MAX_DIGITS)


def ranking_basis(setting: str, scores: list[UnitScore]) -> str:
    """RATE or POINTS from campaign.yaml `ranking`: auto is rate as soon as a unit has 不适用."""
    return basis_for(setting, any(s.partial for s in scores))


def basis_for(setting: str, any_partial: bool) -> str:
    """`ranking_basis` when it is known whether any unit has 不适用 indicators (the generator
    knows it from the unit list, before any score)."""
    if setting == AUTO:
        return RATE if any_partial else POINTS
    return setting


def score_cohort(rubric: Rubric, units: list[UnitInput],
                 campaign_params: Mapping | None = None, ranking: str = POINTS) -> list[UnitScore]:
    """Score all units, computing cohort values first; rank (ties share: 1, 1, 3) and grade by
    total, or by 折算得分 (the rate over applicable points) when `ranking` says so."""
    cohort = cohort_values(rubric, units)
    scores = []
    plan = _plan(rubric)  # the rubric does not change while its cohort is scored
    entries = plan.memo.entries(rubric)
    for u in units:
        params = {**(campaign_params or {}), **u.params}
        scores.append(_score_unit(rubric, plan, entries, u.inputs, params, u.type, u.overrides,
                                  cohort.get(u.code), u.code, u.name))
    by = ranking_basis(ranking, scores)
    if by == RATE:
        for s in scores:
            s.ranked_by = RATE
            s.grade = rubric.grade_for(s.scaled) if s.scaled is not None else s.grade
    rank(scores, by)
    return scores


def rank(scores: list[UnitScore], by: str = POINTS) -> None:
    def key(s):
        return (s.scaled if s.scaled is not None else Decimal(0)) if by == RATE else s.total
    for s, r in zip(scores, competition_ranks([key(s) for s in scores])):
        s.rank = r


def competition_ranks(values: list) -> list[int]:
    """1 + how many values are strictly greater, for each value (ties share: 1, 1, 3), by one
    sort and a binary search each instead of comparing every pair."""
    asc = sorted(values)
    return [1 + len(asc) - bisect_right(asc, v) for v in values]


def cohort_values(rubric: Rubric, units: list[UnitInput]) -> dict:
    """Values of `cohort_rank:F`, `cohort_average:F` and `cohort_count:F` for each unit."""
    names = {n for c in rubric.clauses for n in c.needs if n.startswith("cohort_")}
    out: dict = {u.code: {} for u in units}
    for name in names:
        kind, fid = name.split(":", 1)
        vals = {u.code: to_decimal(u.inputs.get(fid)) or Decimal(0) for u in units}
        if kind == "cohort_average" and vals:
            avg = sum(vals.values(), Decimal(0)) / len(vals)
            for code in out:
                out[code][name] = avg
        elif kind == "cohort_count":
            for code in out:
                out[code][name] = Decimal(len(vals))
        elif kind == "cohort_rank":
            for code, r in zip(vals, competition_ranks(list(vals.values()))):
                out[code][name] = Decimal(r)
    return out
