"""The cached values of one big sheet, row by row, in bounded memory (the 审核表; issue 13).

openpyxl's read-only mode builds a Python object per cell and took about 12 ms per unit to read a
46-row-per-unit 审核表, most of the score and report stages at national scale. Here the sheet's
XML is streamed with lxml's iterparse (entities off, no network, no DTD: the file has been in a
reviewer's hands) and each row is dropped once read. Values are the ones openpyxl gives with
`data_only=True, read_only=True` and `values_only=True`: shared and inline strings, int or float
by the same rule, dates where the cell's number format is a date, booleans, error texts; a gap
in the row numbers yields empty tuples, so that the n-th row yielded is row n of the sheet.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator, Optional

from .returns import _C, _DIGITS, _IS, _LETTERS, _ROW, _V, _Workbook, _column, _row_number


class ValueBook:
    """A workbook opened for its cached values: `sheetnames`, `rows(name)`, `close()`."""

    def __init__(self, path: Path):
        self._book = _Workbook(Path(path))
        self._parts = {s.name: s.part for s in self._book.sheets}
        self.sheetnames = list(self._parts)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self) -> None:
        self._book.zip.close()

    def rows(self, name: str, columns: Optional[set] = None) -> Iterator[tuple]:
        """The rows of sheet `name` as tuples of values, from row 1 (KeyError: no such sheet).
        With `columns` (1-based numbers), only those cells are read; the others are None."""
        from lxml import etree
        book, num = self._book, 0
        with book.zip.open(self._parts[name]) as stream:
            for _, row_el in etree.iterparse(stream, events=("end",), tag=_ROW,
                                             resolve_entities=False, no_network=True,
                                             load_dtd=False, huge_tree=False):
                r = _row_number(row_el.get("r"), num)
                if r > num:  # a row out of order or repeated is skipped, as openpyxl does
                    while num < r - 1:
                        num += 1
                        yield ()
                    num = r
                    yield _values(book, row_el, columns)
                row_el.clear()
                while row_el.getprevious() is not None:  # what iterparse built before it
                    del row_el.getparent()[0]


def _values(book: _Workbook, row_el, columns: Optional[set]) -> tuple:
    cells, col, strings, dates = {}, 0, book.strings, book.dates
    for c in row_el:
        if c.tag != _C:
            continue
        ref = c.get("r")
        if ref is None:
            col += 1
        else:  # "A12" → 1 without a lookup of its letters (most cells)
            col = _LETTERS.get(ref[:1] if ref[1:2] in _DIGITS else ref) or _column(ref)
        if columns is not None and col not in columns:
            continue
        v = inline = None
        for ch in c:
            tag = ch.tag
            if tag == _V:
                if v is None:
                    v = ch.text or ""
            elif tag == _IS and inline is None:
                inline = ch
        if v is None and inline is None:
            continue
        t, s = c.get("t"), c.get("s")
        if t == "s" and v:  # the usual cases first: a shared string, a number not a date
            cells[col] = strings[int(v)]
            continue
        style = int(s) if s else 0
        if t is None and v and style not in dates:
            cells[col] = float(v) if ("." in v or "E" in v or "e" in v) else int(v)
            continue
        value = book._value(t or "n", v, inline, style)
        if value is not None:
            cells[col] = value
    if not cells:
        return ()
    line = [None] * max(cells)
    for k, value in cells.items():
        line[k - 1] = value
    return tuple(line)

