"""The 自评表 sheet of one unit, written from the rubric's plan (workbook/plan.py).

Contract (DESIGN.md): one header row holding 编号, 填报值 and 材料编号; each input row has its
field id in 编号 and its input cell in 填报值. Scores are live formulas with cached values.
"""
from __future__ import annotations

from .checked import Sheet
from .plan import (COLUMNS, EVIDENCE, ID, LABEL, NOT_APPLICABLE_TEXT, NOTE, PENDING_TEXT, POINTS,
                   SCORE, TEXT, VALUE, WIDTHS, AssessmentPlan, Block, DimensionRow, IndicatorRow,
                   label)
from .print_setup import print_setup
from .sheets import unit_text
from .validation import OptionLists, evidence_validation, field_validation

HINT = ("浅黄色单元格为填报区，其余单元格已锁定。“自评得分”随填报自动计算，仅供参考，以市级核定为准；"
        "“待市级核定”项需要市级数据，暂按0分计。")


SCALED_GRADE_LABEL = "等次（按折算得分）"


def write_assessment(sheet: Sheet, plan: AssessmentPlan, unit, title: str, deadline: str,
                     lists: OptionLists, by_rate: bool = False) -> None:
    """Write the whole sheet for `unit` (its type decides the 不适用 indicators). `by_rate`: the
    campaign grades units with 不适用 indicators by 折算得分, and so does this 等次 cell."""
    last = len(COLUMNS) - 1
    for col, w in enumerate(WIDTHS):
        sheet.call("set_column", col, col, w)
    for row, h in plan.heights.items():
        sheet.call("set_row", row, h)
    sheet.merged_text(0, 0, 0, last, f"{title}自评表", "title")
    line = f"填报单位：{unit_text(unit.name, unit.code)}" + (f"　　报送截止：{deadline}" if deadline else "")
    sheet.merged_text(1, 0, 1, last, line, "subtitle")
    cached = plan.blank_values(unit.type)
    scaled = plan.scaled_grade(unit.type) if by_rate else None
    for s in plan.summary:
        label, formula, value = s.label, s.formula, cached[s.name]
        if s.name == "grade" and scaled is not None:
            label, (formula, value) = SCALED_GRADE_LABEL, scaled
        sheet.merged_text(s.row - 1, s.cols[0], s.row - 1, s.cols[1], label, "summary_label")
        style = "summary_total" if s.name in ("total", "grade") else "summary_value"
        sheet.merge(s.row, s.cols[0], s.row, s.cols[1], style)
        sheet.formula(s.row, s.cols[0], formula, style, value)
    sheet.merged_text(plan.hint_row, 0, plan.hint_row, last, HINT, "hint")
    for col, (name, _) in enumerate(COLUMNS):
        sheet.text(plan.header_row, col, name, "header")
    evidence: list[int] = []  # rows whose 材料编号 cell takes the evidence validation
    for s in plan.sections:
        if isinstance(s, DimensionRow):
            sheet.text(s.row, ID, "", "dimension")  # 编号 holds field ids only (contract)
            sheet.merged_text(s.row, TEXT, s.row, VALUE, s.title, "dimension")
            sheet.formula(s.row, SCORE, s.formula, "dimension_score", cached[s.name])
            sheet.merged_text(s.row, EVIDENCE, s.row, NOTE, "", "dimension")
        else:
            _indicator(sheet, s, s.indicator.applies_to(unit.type), cached, lists, evidence)
    if evidence:  # one validation over all 材料编号 cells: they all take the same rule
        sheet.validate(evidence[0], EVIDENCE, evidence[0], EVIDENCE,
                       {**evidence_validation(), "multi_range": _ranges(EVIDENCE, evidence)})
    print_setup(sheet, landscape=True, header_row=plan.header_row,
                header_text=f"{unit.name}　{title}自评表")


def _indicator(sheet: Sheet, s: IndicatorRow, applies: bool, cached: dict,
               lists: OptionLists, evidence: list) -> None:
    sheet.text(s.row, ID, "", "indicator")
    sheet.merged_text(s.row, TEXT, s.row, VALUE, s.title, "indicator")
    if applies:
        sheet.formula(s.row, SCORE, s.formula, "indicator_score", cached[f"i:{s.indicator.id}"])
    else:
        sheet.text(s.row, SCORE, NOT_APPLICABLE_TEXT, "not_applicable")
    sheet.merged_text(s.row, EVIDENCE, s.row, NOTE, s.evidence, "evidence")
    window = (s.indicator.window_from, s.indicator.window_to)
    for b in s.blocks:
        _block(sheet, b, applies, cached, lists, window, evidence)


def _block(sheet: Sheet, b: Block, applies: bool, cached: dict, lists: OptionLists,
           window: tuple, evidence: list) -> None:
    score = "not_applicable" if not applies else "pending" if b.formula is None else "score"
    _column(sheet, b, TEXT, b.text, "cell")
    _column(sheet, b, POINTS, b.points, "center")
    if applies and b.formula is not None:
        sheet.formula(b.rows[0][0], SCORE, b.formula, _part(score, 0, len(b.rows)),
                      cached[f"c:{b.clause.id}"])
        _column(sheet, b, SCORE, None, score)
    else:
        _column(sheet, b, SCORE, NOT_APPLICABLE_TEXT if not applies else PENDING_TEXT, score)
    for row, f in b.rows:
        sheet.text(row, ID, f.id if f else "", "center")
        sheet.text(row, LABEL, label(f), "cell")
        if f is None or not applies:
            for col in (VALUE, EVIDENCE):
                sheet.text(row, col, "", "locked_blank")
        else:
            style = "input_date" if f.type == "date" else "input" if f.type != "text" else "input_text"
            sheet.text(row, VALUE, "", style)
            ref = f"{_col(VALUE)}{row + 1}"
            sheet.validate(row, VALUE, row, VALUE, field_validation(f, ref, lists, window))
            sheet.text(row, EVIDENCE, "", "input")
            evidence.append(row)
        sheet.text(row, NOTE, "", "input_text" if f is not None else "locked_blank")


def _part(style: str, k: int, n: int) -> str:
    """The style of row k of a clause's n rows: one box around them all (see styles.py)."""
    if n == 1:
        return style
    return f"{style}/open" if k == 0 else f"{style}/end" if k == n - 1 else f"{style}/mid"


def _column(sheet: Sheet, b: Block, col: int, first, style: str) -> None:
    """`first` in the clause's first row (None: already written), blank below, one box."""
    n = len(b.rows)
    for k, (row, _) in enumerate(b.rows):
        if k or first is not None:
            sheet.text(row, col, first if k == 0 else "", _part(style, k, n))


def _ranges(col: int, rows: list[int]) -> str:
    """'G7:G9 G12' for rows 6, 7, 8, 11 (0-based) of column `col`: runs joined, as Excel writes."""
    letter, out, start = _col(col), [], rows[0]
    for prev, row in zip(rows, rows[1:] + [None]):
        if row == prev + 1:  # the run goes on (never for the final None)
            continue
        out.append(f"{letter}{start + 1}" + (f":{letter}{prev + 1}" if prev != start else ""))
        start = row
    return " ".join(out)


def _col(col: int) -> str:
    from openpyxl.utils.cell import get_column_letter
    return get_column_letter(col + 1)
