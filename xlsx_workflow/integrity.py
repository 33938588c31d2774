"""Identity and integrity carried inside a generated workbook.

A very-hidden meta sheet and custom document properties (the latter survive a LibreOffice
re-save, which turns very hidden into hidden) say which campaign, rubric and unit a workbook
belongs to, and hold a fingerprint: a sha256 over the normalised content of every locked,
non-empty cell of the visible sheets. Sheet protection only stops accidents; comparing the
fingerprint detects changes to what the unit was not meant to change. Normalisation makes a
re-save by another spreadsheet program (LibreOffice, WPS) give the same fingerprint.
"""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, fields
from decimal import Decimal, InvalidOperation
from functools import lru_cache
from typing import Iterable

from xlsxwriter.utility import xl_col_to_name

from .rubric.expr import format_number

META_SHEET = "_xw_meta"
PROPERTY_PREFIX = "xw_"
FORMAT = "xlsx-workflow/1"
SELF_ASSESSMENT, CONTACT_FORM = "self_assessment", "contact_form"

_LITERAL = re.compile(r'("(?:[^"]|"")*")')
_PREFIX = re.compile(r"_xl(?:fn|ws)\.", re.IGNORECASE)
# A numeric literal: not part of a cell reference (A10), a name (X_1) or a sheet/row range (1:3).
_NUMBER = re.compile(r"(?<![A-Z0-9_.:!'])(\d+\.?\d*|\.\d+)(E[+-]?\d+)?(?![A-Z0-9_(:!])")


@dataclass(frozen=True)
class Identity:
    """Who and what a workbook is: written by generate, read back by import."""
    kind: str
    campaign_id: str
    rubric_id: str
    rubric_version: str
    rubric_hash: str
    unit_code: str
    unit_name: str
    generated_at: str
    fingerprint: str
    format: str = FORMAT
    source: str = "sheet"  # where it was read from: "sheet" or "properties"

    def items(self) -> list[tuple[str, str]]:
        """(key, value) pairs as stored, without `source`."""
        return [(f.name, str(getattr(self, f.name))) for f in fields(self) if f.name != "source"]


# --- normalisation ---------------------------------------------------------------------------

def normalise_number(value) -> str:
    """2.0 → 2, 0.50 → 0.5, 1E-3 → 0.001 (as the rubric's numbers are written)."""
    try:
        d = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    return format_number(d) if d.is_finite() else str(value)


@lru_cache(maxsize=65536)
def normalise_formula(formula: str) -> str:
    """Formula text as compared: no '=', no _xlfn./_xlws., no '$', no whitespace outside string
    literals, names upper-cased, numbers normalised."""
    text = formula[1:] if formula.startswith("=") else formula
    out = []
    for n, part in enumerate(_LITERAL.split(text)):
        if n % 2:  # a string literal stays exactly as written
            out.append(part)
            continue
        part = re.sub(r"\s+", "", _PREFIX.sub("", part).replace("$", "")).upper()
        out.append(_NUMBER.sub(lambda m: normalise_number(m.group(0)), part))
    return "".join(out)


def normalise_value(value) -> str | None:
    """A cell's content as compared ('f:' formula, 'n:' number, 's:' text); None when empty."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "b:" + ("TRUE" if value else "FALSE")
    if isinstance(value, (int, float, Decimal)):
        return "n:" + normalise_number(value)
    text = getattr(value, "text", value)  # openpyxl ArrayFormula
    text = str(text).strip()
    return ("s:" + text) if text else None


_NORMALISED: dict = {}


def normalised(value) -> str | None:
    """`normalise_value`, kept per (type, value): every generated and every received workbook
    repeats the same texts and numbers (the type keeps 1, 1.0 and True apart)."""
    key = (type(value), value)
    try:
        return _NORMALISED[key]
    except KeyError:
        out = normalise_value(value)
        if len(_NORMALISED) < 1 << 16:
            _NORMALISED[key] = out
        return out
    except TypeError:  # an unhashable value: not kept
        return normalise_value(value)


_LETTERS = [xl_col_to_name(col) for col in range(64)]  # the columns a workbook of ours uses


def fingerprint(records: Iterable[tuple[str, int, int, str]]) -> str:
    """sha256 over (sheet, row, col, normalised content) lines in a fixed order."""
    letters, wide = _LETTERS, len(_LETTERS)
    text = "".join([f"{sheet}!{letters[col] if 0 <= col < wide else xl_col_to_name(col)}"
                    f"{row + 1}\t{content}\n" for sheet, row, col, content in sorted(records)])
    return hashlib.sha256(text.encode("utf-8")).hexdigest()  # one update: the same digest


_REF = re.compile(r"(?<![A-Z0-9_.!'$])([A-Z]{1,3})(\d+)(?![0-9A-Z_(!])")


def realigned(records: list, sheet: str, follow_formulas: bool = True) -> list:
    """The records as they were before rows were inserted into `sheet` (a structure check).

    Every row of a generated 自评表 holds locked content, so rows that hold none are inserted
    ones: the others are renumbered in order. Excel and WPS also move the row numbers inside the
    formulas below an inserted row, so with `follow_formulas` those are renumbered too (a tool
    that inserts rows without touching formulas is matched with follow_formulas=False). An edit
    of locked content still changes the fingerprint of the result."""
    rows = sorted({r for s, r, _, _ in records if s == sheet})
    new = {r + 1: k + 1 for k, r in enumerate(rows)}  # sheet row → row before the insertions
    out = []
    for s, r, c, content in records:
        if s == sheet:
            if follow_formulas and content.startswith("f:"):
                content = "f:" + _renumber(content[2:], new)
            r = new[r + 1] - 1
        out.append((s, r, c, content))
    return out


def _renumber(formula: str, new: dict) -> str:
    """Row numbers of the same-sheet references in a normalised formula, mapped by `new`."""
    def one(m: re.Match) -> str:
        row = int(m.group(2))
        return f"{m.group(1)}{new.get(row, row)}"
    return "".join(part if n % 2 else _REF.sub(one, part)
                   for n, part in enumerate(_LITERAL.split(formula)))


def locked_intact(records: list, sheet: str, expected: str) -> bool:
    """True when the locked content matches `expected` as is or after undoing row insertions."""
    return (fingerprint(records) == expected
            or fingerprint(realigned(records, sheet)) == expected
            or fingerprint(realigned(records, sheet, follow_formulas=False)) == expected)


# --- reading back ----------------------------------------------------------------------------

def _open(path):
    import openpyxl
    return openpyxl.load_workbook(path, read_only=True, data_only=False, keep_links=False)


def workbook_records(book) -> list[tuple[str, int, int, str]]:
    """Locked, non-empty cells of the visible sheets of an openpyxl workbook."""
    out = []
    for ws in book.worksheets:
        if getattr(ws, "sheet_state", "visible") != "visible":
            continue
        for row in ws.iter_rows():
            for cell in row:
                value = getattr(cell, "value", None)
                if value is None or not cell.protection.locked:
                    continue
                if cell.data_type == "f":
                    content = "f:" + normalise_formula(str(getattr(value, "text", value)))
                else:
                    content = normalise_value(value)
                if content:
                    out.append((ws.title, cell.row - 1, cell.column - 1, content))
    return out


def read_identity(path) -> Identity | None:
    """The identity from the meta sheet, else from the custom document properties; None if absent."""
    book = _open(path)
    try:
        return _identity(book)
    finally:
        book.close()


def _identity(book) -> Identity | None:
    pairs = None
    if META_SHEET in book.sheetnames:
        pairs = {str(r[0]): "" if r[1] is None else str(r[1])
                 for r in book[META_SHEET].iter_rows(min_col=1, max_col=2, values_only=True)
                 if r and r[0] is not None and len(r) > 1}
    props = {p.name: str(p.value) for p in getattr(book, "custom_doc_props", [])}
    return identity_from(pairs, props)


def identity_from(pairs: dict | None, props: dict) -> Identity | None:
    """The identity from the meta sheet's (key, value) pairs when complete, else from the custom
    document properties ({name: value as text}); None if neither holds it."""
    names = [f.name for f in fields(Identity) if f.name != "source"]
    if pairs is not None and all(n in pairs for n in names):
        return Identity(**{n: pairs[n] for n in names}, source="sheet")
    keyed = {n: props.get(PROPERTY_PREFIX + n) for n in names}
    if all(v is not None for v in keyed.values()):
        return Identity(**keyed, source="properties")
    return None


def verify_fingerprint(path) -> bool:
    """True when the locked content of `path` still matches the fingerprint it carries."""
    book = _open(path)
    try:
        ident = _identity(book)
        return ident is not None and fingerprint(workbook_records(book)) == ident.fingerprint
    finally:
        book.close()
