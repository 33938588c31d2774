"""Cell styles of the generated workbooks, one name each, created once per workbook.

Input cells (填报) are the only unlocked ones and all look the same: light yellow with a border,
so a county sees at a glance what to fill. Everything else is locked.
"""
from __future__ import annotations

FONT = "宋体"
INPUT_FILL = "#FFF2CC"  # light yellow: 填报单元格
LOCKED_FILL = "#E7E6E6"  # grey: 不适用 or not to be filled
DIMENSION_FILL = "#DDEBF7"
INDICATOR_FILL = "#F2F2F2"
HEADER_FILL = "#D9D9D9"

_BASE = {"font_name": FONT, "font_size": 10, "valign": "vcenter", "text_wrap": True}
_BOX = {**_BASE, "border": 1}
_INPUT = {**_BOX, "locked": False, "bg_color": INPUT_FILL}

SPECS: dict[str, dict] = {
    "title": {**_BASE, "font_size": 16, "bold": True, "align": "center"},
    "subtitle": {**_BASE, "font_size": 11, "align": "center"},
    "hint": {**_BASE, "font_size": 9, "font_color": "#595959"},
    "text": {**_BASE},
    "section": {**_BASE, "font_size": 12, "bold": True},
    "header": {**_BOX, "bold": True, "align": "center", "bg_color": HEADER_FILL},
    "cell": {**_BOX},
    "center": {**_BOX, "align": "center"},
    "evidence": {**_BOX, "font_size": 9, "font_color": "#595959", "bg_color": INDICATOR_FILL},
    "dimension": {**_BOX, "bold": True, "bg_color": DIMENSION_FILL},
    "dimension_score": {**_BOX, "bold": True, "align": "center", "bg_color": DIMENSION_FILL},
    "indicator": {**_BOX, "bold": True, "bg_color": INDICATOR_FILL},
    "indicator_score": {**_BOX, "bold": True, "align": "center", "bg_color": INDICATOR_FILL},
    "score": {**_BOX, "align": "center", "font_color": "#1F4E79"},
    "pending": {**_BOX, "align": "center", "font_size": 9, "font_color": "#7F6000"},
    "not_applicable": {**_BOX, "align": "center", "bg_color": LOCKED_FILL, "font_color": "#595959"},
    "locked_blank": {**_BOX, "bg_color": LOCKED_FILL},
    "summary_label": {**_BOX, "bold": True, "align": "center", "bg_color": HEADER_FILL},
    "summary_value": {**_BOX, "bold": True, "align": "center", "font_size": 14,
                      "font_color": "#1F4E79"},
    "summary_total": {**_BOX, "bold": True, "align": "center", "font_size": 14,
                      "font_color": "#C00000"},
    "input": {**_INPUT, "align": "center"},
    "input_text": {**_INPUT},
    "input_date": {**_INPUT, "align": "center", "num_format": "yyyy-mm-dd"},
    "legend_input": {**_INPUT, "locked": True},
    "legend_locked": {**_BOX, "bg_color": LOCKED_FILL},
    "meta": {"font_name": FONT, "font_size": 10},
}

# A clause with several input rows is not merged vertically (a page break inside a merged cell
# cuts its text in half): its text sits in the first row, and the rows below continue the cell
# without inner borders. `<style>/open`, `/mid` and `/end` are the first, middle and last rows.
_OPENED = ("cell", "center", "score", "pending", "not_applicable")
for _name in _OPENED:
    SPECS[f"{_name}/open"] = {**SPECS[_name], "bottom": 0}
    SPECS[f"{_name}/mid"] = {**SPECS[_name], "top": 0, "bottom": 0}
    SPECS[f"{_name}/end"] = {**SPECS[_name], "top": 0}

UNLOCKED = frozenset(name for name, spec in SPECS.items() if not spec.get("locked", True))


class Styles:
    """The workbook's formats by name; `locked(name)` tells which cells enter the fingerprint."""

    def __init__(self, workbook):
        self._wb, self.made = workbook, {}

    def __getitem__(self, name: str):
        fmt = self.made.get(name)
        if fmt is None:
            fmt = self.made[name] = self._wb.add_format(SPECS[name])
        return fmt

    @staticmethod
    def locked(name: str) -> bool:
        return SPECS[name].get("locked", True)
