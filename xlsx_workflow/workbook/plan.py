"""The 自评表 laid out once per rubric: where every row and cell goes and every formula text.

Compiling the layout and the formulas once (not per unit) keeps generation of thousands of
workbooks fast; per unit only the 不适用 indicators and the unit's name differ. All scoring
formulas come from the rubric's expressions (rubric/totals.py, clause.expr) through `to_excel`;
none is written by hand here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from xlsxwriter.utility import xl_col_to_name

from ..engine import base_max, score_unit, value_labels
from ..rubric.export import VERB, lines_needed, points_text
from ..rubric.expr import Call, Num, Op, Ref, format_number, refs, to_excel
from ..rubric.model import Clause, Field, Indicator, Rubric
from ..rubric.totals import (clause_name, dimension_expr, grade_expr, group_expr, indicator_expr,
                             total_expr)

SHEET = "自评表"
# (header, width in Excel character units); about 150 units fill one A4 landscape page.
COLUMNS = [("编号", 9), ("指标 / 评分细则", 46), ("分值", 13), ("填报项", 27), ("填报值", 12),
           ("自评得分", 9), ("材料编号", 11), ("说明", 22)]
ID, TEXT, POINTS, LABEL, VALUE, SCORE, EVIDENCE, NOTE = range(len(COLUMNS))
WIDTHS = [w for _, w in COLUMNS]
LINE_PT, PAD_PT, MIN_INPUT_PT = 13.5, 5.0, 20.0
SUMMARY_SLOTS = [(ID, TEXT), (POINTS, LABEL), (VALUE, SCORE), (EVIDENCE, EVIDENCE),
                 (NOTE, NOTE)]  # column spans of the score summary at the top
PENDING_TEXT, NOT_APPLICABLE_TEXT = "待市级核定", "不适用"


def cell(row: int, col: int) -> str:
    """Absolute A1 reference (formulas use absolute references throughout)."""
    return f"${xl_col_to_name(col)}${row + 1}"


@dataclass
class Block:
    """One clause: its rows (one per unit field; one row when it has none) and its formula."""
    clause: Clause
    rows: list[tuple[int, Field | None]]
    points: str
    text: str
    formula: str | None = None  # None: the unit's workbook cannot compute it (待市级核定)


@dataclass
class IndicatorRow:
    indicator: Indicator
    row: int
    title: str
    evidence: str
    formula: str = ""
    blocks: list[Block] = field(default_factory=list)


@dataclass
class DimensionRow:
    name: str  # the score name, d:<id>
    row: int
    title: str
    formula: str = ""


@dataclass
class SummaryItem:
    name: str  # g:<id>, total or grade
    label: str
    row: int
    cols: tuple[int, int]
    formula: str = ""


@dataclass
class AssessmentPlan:
    rubric: Rubric
    summary: list[SummaryItem]
    hint_row: int
    header_row: int
    sections: list  # DimensionRow | IndicatorRow, in sheet order
    addresses: dict  # name (field id, c:, i:, d:, g:, total, grade) → absolute cell
    heights: dict  # sheet row → points
    last_row: int = 0
    _blank: dict = field(default_factory=dict)  # unit type → cached values

    @property
    def blocks(self) -> list[Block]:
        return [b for s in self.sections if isinstance(s, IndicatorRow) for b in s.blocks]

    def blank_values(self, unit_type: str) -> dict:
        """Cached values of the score cells in a blank workbook for this unit type (engine's)."""
        return _blank_values(self, unit_type)

    def scaled_grade(self, unit_type: str) -> tuple[str, object] | None:
        """For a unit type with 不适用 indicators, graded by 得分率: the 等次 formula on its
        折算得分 (总分 ÷ 适用满分 × 满分, rounded as the engine rounds it) and its cached value
        in a blank workbook; None when every indicator applies (the 等次 is on the 总分)."""
        key = ("scaled", str(unit_type), getattr(unit_type, "excluded", frozenset()))
        if key not in self._blank:
            self._blank[key] = self._scaled_grade(unit_type)
        return self._blank[key]

    def _scaled_grade(self, unit_type: str) -> tuple[str, object] | None:
        blank = score_unit(self.rubric, {}, unit_type=unit_type)
        full = base_max(self.rubric)
        if blank.applicable_max == full or blank.applicable_max <= 0:
            return None
        scaled = Call("ROUND", (Op("/", Op("*", Ref("total"), Num(full)),
                                   Num(blank.applicable_max)), Num(Decimal(self.rubric.places))))
        formula = "=" + to_excel(grade_expr(self.rubric, scaled), self.addresses.__getitem__)
        return formula, excel_value(self.rubric.grade_for(blank.scaled))


def build_plan(rubric: Rubric) -> AssessmentPlan:
    """Lay out the 自评表 and render every formula."""
    summary = _summary(rubric)
    hint_row = max(s.row for s in summary) + 1
    plan = AssessmentPlan(rubric, summary, hint_row, hint_row + 1, [], {}, {})
    row = plan.header_row + 1
    needs = value_labels(rubric)
    for group in rubric.groups:
        verb = VERB.get(group.role, "")
        for dim in (d for d in rubric.dimensions if d.group == group.id):
            cap = f"满分{n(dim.max)}分" if not verb else f"最多{verb}{n(dim.max)}分"
            plan.sections.append(DimensionRow(f"d:{dim.id}", row, f"{dim.name}（{cap}）"))
            row += 1
            for ind in (i for i in rubric.indicators if i.dimension == dim.id):
                section, row = _indicator(ind, row, verb, needs)
                plan.sections.append(section)
    plan.last_row = row - 1
    _addresses(plan)
    _formulas(plan)
    _heights(plan)
    return plan


def n(value) -> str:
    return format_number(Decimal(str(value)))


def _summary(rubric: Rubric) -> list[SummaryItem]:
    labels = []
    for g in rubric.groups:
        verb = VERB.get(g.role, "")
        cap = f"满分{n(g.max)}分" if not verb else f"最多{verb}{n(g.max)}分"
        labels.append((f"g:{g.id}", f"{g.name}（{cap}）"))
    labels += [("total", "总分"), ("grade", "等次")]
    items = []
    for k, (name, label) in enumerate(labels):
        line, slot = divmod(k, len(SUMMARY_SLOTS))
        items.append(SummaryItem(name, label, 2 + 2 * line + 1, SUMMARY_SLOTS[slot]))
    return items


def _indicator(ind: Indicator, row: int, verb: str, needs: dict) -> tuple[IndicatorRow, int]:
    cap = f"{n(ind.max)}分" if not verb else f"最多{verb}{n(ind.max)}分"
    evidence = [f"支撑材料：{ind.evidence}"] if ind.evidence else []
    if ind.window_from or ind.window_to:
        since = f"{ind.window_from.isoformat()}起" if ind.window_from else ""
        until = f"至{ind.window_to.isoformat()}" if ind.window_to else ""
        evidence.append(f"统计期间：{since}{until}")
    if ind.not_applicable:
        evidence.append(f"{'、'.join(ind.not_applicable)}不适用")
    # An indicator only the office scores (e.g. 虚假报送或隐瞒) is shown as a warning, without
    # its internal id; the others read "1.2.1　name（points）".
    office = all(c.office_only for c in ind.clauses)
    title = f"{ind.name}（{cap}，由市级核定）" if office else f"{ind.id}　{ind.name}（{cap}）"
    section = IndicatorRow(ind, row, title, "；".join(evidence))
    row += 1
    for c in ind.clauses:
        fields = [f for f in c.fields if f.source == "unit"] or [None]
        text = c.text
        if c.office_only:
            text += "\n（由市级核定）"
        elif c.needs or c.optional:
            text += "\n（需市级核定数据：" + "、".join(
                needs.get(x, x) for x in sorted(c.needs | c.optional)) + "）"
        if c.office_review:
            text += "\n（单位如实填报，由市级核实确认）"
        section.blocks.append(Block(c, [(row + k, f) for k, f in enumerate(fields)],
                                    points_text(c, verb), text))
        row += len(fields)
    return section, row


def _addresses(plan: AssessmentPlan) -> None:
    a = plan.addresses
    for s in plan.summary:
        a[s.name] = cell(s.row, s.cols[0])
    for s in plan.sections:
        if isinstance(s, DimensionRow):
            a[s.name] = cell(s.row, SCORE)
            continue
        a[f"i:{s.indicator.id}"] = cell(s.row, SCORE)
        for b in s.blocks:
            a[clause_name(b.clause.id)] = cell(b.rows[0][0], SCORE)
            for r, f in b.rows:
                if f is not None:
                    a[f.id] = cell(r, VALUE)


def _formulas(plan: AssessmentPlan) -> None:
    rubric, a = plan.rubric, plan.addresses
    of = a.__getitem__
    for s in plan.sections:
        if isinstance(s, DimensionRow):
            dim = next(d for d in rubric.dimensions if f"d:{d.id}" == s.name)
            s.formula = "=" + to_excel(dimension_expr(rubric, dim), of)
            continue
        s.formula = "=" + to_excel(indicator_expr(rubric, s.indicator), of)
        for b in s.blocks:
            c = b.clause
            if not c.needs_office and all(x in a for x in _refs(c)):
                b.formula = "=" + to_excel(c.expr, of)
    groups = {f"g:{g.id}": g for g in rubric.groups}
    for s in plan.summary:
        if s.name in groups:
            s.formula = "=" + to_excel(group_expr(rubric, groups[s.name]), of)
        elif s.name == "total":
            s.formula = "=" + to_excel(total_expr(rubric), of)
        else:
            s.formula = "=" + to_excel(grade_expr(rubric, Ref("total")), of)


def _refs(c: Clause) -> set:
    return refs(c.expr)


def _heights(plan: AssessmentPlan) -> None:
    """Points per row so every cell, merged ones included, shows all of its text."""
    h = plan.heights
    h[0], h[1], h[plan.hint_row], h[plan.header_row] = 30, 20, 30, 22
    for s in plan.summary:
        h[s.row - 1], h[s.row] = 30, 26
    for s in plan.sections:
        if isinstance(s, DimensionRow):
            h[s.row] = 22
            continue
        h[s.row] = max(_need(s.title, sum(WIDTHS[TEXT:SCORE])),
                       _need(s.evidence, WIDTHS[EVIDENCE] + WIDTHS[NOTE]), MIN_INPUT_PT)
        for b in s.blocks:
            for r, f in b.rows:
                h[r] = max(_need(label(f), WIDTHS[LABEL]), _need(f.id if f else "", WIDTHS[ID]),
                           MIN_INPUT_PT)
            # The clause's text and points sit in its first row (not merged over its rows, so
            # a page break between them cuts no text): that row holds them whole.
            first = b.rows[0][0]
            h[first] = max(h[first], _need(b.text, WIDTHS[TEXT]), _need(b.points, WIDTHS[POINTS]))


def _need(text: str, width: float) -> float:
    return lines_needed(text, width) * LINE_PT + PAD_PT if text else 0


def label(f: Field | None) -> str:
    """The 填报项 text of a row."""
    if f is None:
        return "—（无需填报）"
    return f.label + (f"（{f.unit}）" if f.unit else "")


def _blank_values(plan: AssessmentPlan, unit_type: str) -> dict:
    cache = plan._blank
    # a UnitType equals its text: its own 不适用 indicators must be part of the key
    key = (str(unit_type), getattr(unit_type, "excluded", frozenset()))
    if key not in cache:
        s = score_unit(plan.rubric, {}, unit_type=unit_type)
        v = {clause_name(k): r.points for k, r in s.clauses.items()}
        v.update({f"i:{k}": r.points for k, r in s.indicators.items()})
        v.update({f"d:{k}": p for k, p in s.dimensions.items()})
        v.update({f"g:{k}": p for k, p in s.groups.items()})
        v.update({"total": s.total, "grade": s.grade})
        cache[key] = {k: excel_value(x) for k, x in v.items()}
    return cache[key]


def excel_value(x):
    """A cached formula value as xlsxwriter writes it: int, float or text."""
    if isinstance(x, Decimal):
        return int(x) if x == x.to_integral_value() else float(x)
    return x
