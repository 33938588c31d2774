"""Checked writing: every xlsxwriter call's return code is tested, and locked cells are recorded.

xlsxwriter reports many mistakes (a too-long prompt, a bad validation, a cell out of range) only
by a non-zero return code and a warning, then silently leaves the thing out. Here any non-zero
code raises, and the content of every locked cell of a visible sheet is recorded for the
fingerprint as it is written (see integrity.py).
"""
from __future__ import annotations

from ..integrity import normalise_formula, normalise_value
from .styles import Styles


class WriteError(RuntimeError):
    """xlsxwriter refused a call (a bug in the generator or an impossible rubric text)."""


def ok(rc, what: str):
    if rc not in (None, 0):
        raise WriteError(f"xlsxwriter {what} 返回 {rc}")
    return rc


class Sheet:
    """A worksheet with checked writes; `records` collects locked content (None: not recorded)."""

    def __init__(self, ws, styles: Styles, records: list | None):
        self.ws, self.styles, self.records = ws, styles, records
        self.name = ws.get_name()

    def _record(self, row: int, col: int, style: str, content: str | None) -> None:
        if self.records is not None and content and Styles.locked(style):
            self.records.append((self.name, row, col, content))

    def text(self, row: int, col: int, text, style: str) -> None:
        """Always as text (never a formula or link); blank when empty."""
        text = "" if text is None else str(text)
        if text:
            ok(self.ws.write_string(row, col, text, self.styles[style]), f"write_string {self.name}")
        else:
            ok(self.ws.write_blank(row, col, None, self.styles[style]), f"write_blank {self.name}")
        self._record(row, col, style, normalise_value(text))

    def number(self, row: int, col: int, value, style: str) -> None:
        ok(self.ws.write_number(row, col, value, self.styles[style]), f"write_number {self.name}")
        self._record(row, col, style, normalise_value(value))

    def formula(self, row: int, col: int, formula: str, style: str, value=None) -> None:
        ok(self.ws.write_formula(row, col, formula, self.styles[style], value),
           f"write_formula {self.name} {formula[:60]}")
        self._record(row, col, style, "f:" + normalise_formula(formula))

    def merge(self, r1: int, c1: int, r2: int, c2: int, style: str) -> None:
        """Merge a range (blank); write its content to (r1, c1) afterwards."""
        if (r1, c1) != (r2, c2):
            ok(self.ws.merge_range(r1, c1, r2, c2, "", self.styles[style]),
               f"merge_range {self.name}")

    def merged_text(self, r1: int, c1: int, r2: int, c2: int, text, style: str) -> None:
        self.merge(r1, c1, r2, c2, style)
        self.text(r1, c1, text, style)

    def validate(self, r1: int, c1: int, r2: int, c2: int, options: dict) -> None:
        ok(self.ws.data_validation(r1, c1, r2, c2, options), f"data_validation {self.name} {options}")

    def call(self, method: str, *args, **kwargs):
        """Any other worksheet method (set_column, set_row, …), checked."""
        return ok(getattr(self.ws, method)(*args, **kwargs), f"{method} {self.name}")
