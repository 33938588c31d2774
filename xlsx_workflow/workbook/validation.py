"""Data validations with Chinese prompts and stop-style errors, and the hidden option lists.

List validations never carry their options inline (Excel limits an inline list to 255
characters and WPS/LibreOffice handle quoting differently): every list is a range on the hidden
sheet 选项 reached through a defined name.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from ..rubric.expr import format_number
from ..rubric.model import FLAG_NO, FLAG_YES, Field, Rubric
from .checked import Sheet, ok

OPTIONS_SHEET = "选项"
FLAG_NAME = "XW_FLAG"
INDICATORS_NAME = "XW_INDICATORS"
DEDUCTIONS_NAME = "XW_DEDUCTIONS"
EARLIEST, LATEST = date(2000, 1, 1), date(2099, 12, 31)
_TITLE, _MESSAGE = 32, 255  # Excel's limits for prompt titles and texts


@dataclass
class OptionLists:
    """Named lists for the hidden sheet: defined name → option texts (in column order)."""
    lists: dict = field(default_factory=dict)
    by_field: dict = field(default_factory=dict)  # choice field id → defined name


def option_lists(rubric: Rubric, deductions: list[str]) -> OptionLists:
    out = OptionLists({FLAG_NAME: [FLAG_YES, FLAG_NO]})
    for k, f in enumerate((f for f in rubric.unit_fields if f.type == "choice"), 1):
        out.lists[f"XW_OPT_{k}"] = list(f.options)
        out.by_field[f.id] = f"XW_OPT_{k}"
    out.lists[INDICATORS_NAME] = [f"{i.id} {i.name}" for i in rubric.indicators]
    if deductions:
        out.lists[DEDUCTIONS_NAME] = deductions
    return out


def write_options(workbook, sheet: Sheet, lists: OptionLists) -> None:
    """One column per list on the hidden sheet, each reached by its defined name."""
    from openpyxl.utils.cell import get_column_letter
    for col, (name, items) in enumerate(lists.lists.items()):
        for row, text in enumerate(items):
            sheet.text(row, col, text, "text")
        letter = get_column_letter(col + 1)
        ok(workbook.define_name(name, f"='{OPTIONS_SHEET}'!${letter}$1:${letter}${len(items)}"),
           f"define_name {name}")


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[:limit - 1] + "…"


def prompt(title: str, message: str, error: str, **spec) -> dict:
    """A validation dict with an input prompt and a stop-style error, within Excel's limits."""
    return {**spec, "input_title": _short(title, _TITLE), "input_message": _short(message, _MESSAGE),
            "error_title": "输入有误", "error_message": _short(error, _MESSAGE),
            "error_type": "stop", "show_input": True, "show_error": True}


def field_validation(f: Field, address: str, lists: OptionLists,
                     window: tuple = (None, None)) -> dict:
    """The validation of one 填报值 cell (`address` is its relative A1 reference)."""
    title = _short(f"填报项 {f.id}", _TITLE)
    head = f.label + (f"（{f.unit}）" if f.unit else "") + "\n"
    if f.type == "flag":
        return prompt(title, head + "请从下拉框选择“是”或“否”。", "只能选择“是”或“否”。",
                      validate="list", source=f"={FLAG_NAME}")
    if f.type == "choice":
        opts = "、".join(f.options)
        return prompt(title, head + f"请从下拉框选择：{opts}", f"只能从下拉框选择：{opts}",
                      validate="list", source=f"={lists.by_field[f.id]}")
    if f.type == "count":
        low = max(int(f.min or 0), 0)
        return prompt(title, head + f"填写不小于{low}的整数。", f"请填写不小于{low}的整数，不要带单位或文字。",
                      validate="integer", criteria=">=", value=low)
    if f.type in ("amount", "number"):
        return _decimal(f, title, head)
    if f.type == "judged":
        return _judged(f, title, head, address)
    if f.type == "date":
        low, high = window[0] or EARLIEST, window[1] or LATEST
        span = f"{low.isoformat()} 至 {high.isoformat()}"
        return prompt(title, head + f"填写日期，如 {low.isoformat()}（{span}）。",
                      f"请填写 {span} 之间的日期，格式如 {low.isoformat()}。",
                      validate="date", criteria="between", minimum=low, maximum=high)
    return prompt(title, head + "填写文字。", "请填写文字。", validate="any")


def _decimal(f: Field, title: str, head: str) -> dict:
    low = f.min if f.min is not None else (0 if f.type == "amount" else None)
    if low is None:  # a plain number may be negative; still reject text
        return prompt(title, head + "填写数字。", "请填写数字，不要带单位或文字。",
                      validate="decimal", criteria="between", minimum=-1e12, maximum=1e12)
    text = format_number(low) if not isinstance(low, int) else str(low)
    return prompt(title, head + f"填写不小于{text}的数字。", f"请填写不小于{text}的数字，不要带单位或文字。",
                  validate="decimal", criteria=">=", value=float(low))


def _judged(f: Field, title: str, head: str, address: str) -> dict:
    """0..max in steps; the step is checked by a custom formula (Excel 2007 functions only)."""
    top, step = format_number(f.max or 0), format_number(f.step or 0)
    a = address
    rule = (f"=AND(ISNUMBER({a}),{a}>=0,{a}<={top},"
            f"MOD(ROUND({a}/{step},6),1)=0)")
    return prompt(title, head + f"自评分：0～{top}分，以{step}分为单位（如 1.5）。",
                  f"自评分须为0～{top}之间、以{step}分为单位的数。",
                  validate="custom", value=rule)


def evidence_validation() -> dict:
    return prompt("材料编号", "填写“材料清单”中对应材料的序号，多份用顿号分隔，如 1、3、5。",
                  "材料编号不超过200字。", validate="length", criteria="<=", value=200)
