"""Checked writing: every xlsxwriter call's return code is tested, and locked cells are recorded.

xlsxwriter reports many mistakes (a too-long prompt, a bad validation, a cell out of range) only
by a non-zero return code and a warning, then silently leaves the thing out. Here any non-zero
code raises, and the content of every locked cell of a visible sheet is recorded for the
fingerprint as it is written (see integrity.py).
"""
from __future__ import annotations

import io
import os
import struct
import sys
import zlib
from zipfile import ZIP_DEFLATED, ZipFile, ZipInfo

from xlsxwriter.packager import Packager
from xlsxwriter.sharedstrings import SharedStrings
from xlsxwriter.utility import xl_rowcol_to_cell_fast
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import CellBlankTuple, CellNumberTuple, CellStringTuple, Worksheet

from ..integrity import normalise_formula, normalised
from .styles import UNLOCKED, Styles

_PREPARED: dict = {}


class FastWorksheet(Worksheet):
    """xlsxwriter's worksheet with its formula preparation memoised and its commonest cells
    written in one step.

    `_prepare_formula` runs some 30 regular expressions over every formula and validation
    criterion; thousands of units repeat the same few hundred texts, so the result (a pure
    function of its arguments and the sheet's future-functions option) is cached per process.

    `_write_cell` is xlsxwriter's innermost loop when the file is saved: for a formatted
    shared-string, number or blank cell it builds an attribute list and runs a regular
    expression over each attribute, though a cell reference and a format index never need
    escaping. Those three cases are written here directly, to the same bytes (a 反馈单 saves
    some 10 % faster; issue 13); every other cell goes to xlsxwriter's own method.
    """

    def _write_cell(self, row: int, col: int, cell) -> None:
        fmt, kind = cell.format, type(cell)
        if fmt is None:
            super()._write_cell(row, col, cell)
        elif kind is CellStringTuple and not self.constant_memory:  # (else: an inline string)
            self.fh.write(f'<c r="{xl_rowcol_to_cell_fast(row, col)}" s="{fmt._get_xf_index()}"'
                          f' t="s"><v>{cell.string}</v></c>')
        elif kind is CellNumberTuple:
            self.fh.write(f'<c r="{xl_rowcol_to_cell_fast(row, col)}" s="{fmt._get_xf_index()}">'
                          f'<v>{cell.number:.16G}</v></c>')
        elif kind is CellBlankTuple:
            self.fh.write(f'<c r="{xl_rowcol_to_cell_fast(row, col)}" s="{fmt._get_xf_index()}"/>')
        else:
            super()._write_cell(row, col, cell)

    def _calculate_spans(self) -> None:
        """xlsxwriter's row spans (each block of 16 rows: its first and last used column),
        from each row's own cells instead of a scan of every column of every row; the same
        spans (all cells lie within the sheet's dimensions). Comments: xlsxwriter's method."""
        if self.comments or self.constant_memory:
            super()._calculate_spans()
            return
        lo_row, hi_row, blocks = self.dim_rowmin, self.dim_rowmax, {}
        for row, cells in self.table.items():
            if cells and lo_row <= row <= hi_row:
                first, last = min(cells), max(cells)
                k = row // 16
                span = blocks.get(k)
                blocks[k] = (first, last) if span is None else (min(span[0], first),
                                                                max(span[1], last))
        self.row_spans = {k: f"{a + 1}:{b + 1}" for k, (a, b) in blocks.items()}

    def _write_rows(self) -> None:
        """xlsxwriter's sheet data: only the rows that have cells or a row format, each row's
        cells in column order (xlsxwriter visits every row and column of the sheet's
        dimensions to find them; a 自评表's 2,000 prepared blank cells made that a tenth of
        generate). Comments or constant_memory: xlsxwriter's own method."""
        if self.comments or self.constant_memory:
            super()._write_rows()
            return
        self._calculate_spans()
        lo, hi, table, info, spans = (self.dim_rowmin, self.dim_rowmax, self.table,
                                      self.row_info, self.row_spans)
        rows = sorted({r for r, cells in table.items() if cells} | set(info))
        write_cell = self._write_cell
        for row in rows:
            if not lo <= row <= hi:
                continue
            span = spans.get(row // 16)
            cells = table.get(row)
            if cells:
                self._write_row(row, span, info.get(row))
                for col in sorted(cells):
                    write_cell(row, col, cells[col])
                self._xml_end_tag("row")
            else:
                self._write_empty_row(row, span, info.get(row))

    def _prepare_formula(self, formula, *args, **kwargs):
        key = (formula, args, tuple(sorted(kwargs.items())), self.use_future_functions)
        out = _PREPARED.get(key)
        if out is None:
            out = _PREPARED[key] = super()._prepare_formula(formula, *args, **kwargs)
        return out


_SI: dict = {}  # a string → its <si> element, as xlsxwriter writes it
_SI_MAX = 50_000


class FastSharedStrings(SharedStrings):
    """xlsxwriter's sharedStrings.xml writer with each string's <si> element kept per process.

    `_write_si` escapes control characters, then markup, with several regular expressions per
    string; every 反馈单 holds the same clause texts, explanations and headers again, so the
    element (a pure function of the string) is made once and reused (issue 13). A string not
    seen before goes through xlsxwriter's own `_write_si`, so the bytes are the same."""

    def _write_sst_strings(self) -> None:
        write, made = self.fh.write, _SI
        for string in self.string_table.string_array:
            xml = made.get(string)
            if xml is None:
                xml = self._made(string)
            write(xml)

    def _made(self, string: str) -> str:
        out, self.fh = self.fh, io.StringIO()
        try:
            super()._write_si(string)
            xml = self.fh.getvalue()
        finally:
            self.fh = out
        if len(_SI) >= _SI_MAX:
            _SI.clear()
        _SI[string] = xml
        return xml


class FastPackager(Packager):
    """xlsxwriter's packager with FastSharedStrings (its sharedStrings.xml method, verbatim
    but for the class). For a FastWorkbook it hands the parts to the workbook, which zips them
    itself (`FastWorkbook._store_workbook`), and gives xlsxwriter's own zip nothing."""

    def _create_package(self):
        parts = super()._create_package()
        if isinstance(self.workbook, FastWorkbook) and self.workbook.in_memory:
            self.workbook._parts = list(parts)
            return []
        return parts

    def _write_shared_strings_file(self) -> None:
        sst = FastSharedStrings()
        sst.string_table = self.workbook.str_table
        if not self.workbook.str_table.count:
            return
        sst._set_xml_writer(self._filename("xl/sharedStrings.xml"))
        sst._assemble_xml_file()


class FastWorkbook(Workbook):
    """xlsxwriter's Workbook packaged by FastPackager (`_get_packager` is xlsxwriter's own hook
    for another packager) and zipped by `zip_parts`; its files have the same bytes.

    Of the ten parts of a 反馈单, eight are the same in every unit's file (styles, theme, content
    types, relationships, properties): deflating them again was a fifth of the sheet's time
    (issue 13). An in-memory workbook's parts are therefore zipped here, each part's deflated
    bytes kept per process while the part does not change."""

    _parts: list | None = None
    worksheet_class = FastWorksheet  # add_worksheet's default: the same bytes, sooner

    def _get_packager(self):
        return FastPackager()

    def _store_workbook(self) -> None:
        if not self.in_memory:  # parts in temporary files: xlsxwriter zips them
            super()._store_workbook()
            return
        target, self.filename, self._parts = self.filename, io.BytesIO(), None
        try:  # xlsxwriter prepares and packages everything, and zips no part (FastPackager)
            super()._store_workbook()
        finally:
            self.filename = target
        parts = [(name, data.getvalue() if binary else data.getvalue().encode("utf-8"))
                 for data, name, binary in self._parts or []]
        self._parts = None
        if sum(len(d) for _, d in parts) >= _ZIP32:  # ZIP64: zipfile's own writer
            _zipfile_parts(target, parts, self.allow_zip64)
            return
        data = zip_parts(parts)
        if isinstance(target, (str, os.PathLike)):
            with open(target, "wb") as f:
                f.write(data)
        else:  # a file-like object, as xlsxwriter accepts
            target.write(data)


_ZIP32 = 1 << 30  # parts this large together go to zipfile (no ZIP64 records are written here)
_DEFLATED: dict = {}  # part name → (its bytes, CRC-32, raw deflate): the last one seen
_KEEP = 1 << 16  # larger parts are not kept (a 反馈单's constant parts are a few kB each)
_SYSTEM = 0 if sys.platform == "win32" else 3  # zipfile's create_system


def zip_parts(parts: list) -> bytes:
    """The zip xlsxwriter writes for an in-memory workbook (zipfile, ZIP_DEFLATED at the default
    level, every entry dated 1980-01-01 00:00, read-write for its owner), byte for byte, with
    a part deflated again only when its bytes differ from the last of its name."""
    out: list = []
    central: list = []
    offset = 0
    for name, data in parts:
        kept = _DEFLATED.get(name)
        if kept is not None and kept[0] == data:
            crc, packed = kept[1], kept[2]
        else:
            z = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -15)
            packed = z.compress(data) + z.flush()
            crc = zlib.crc32(data)
            if len(data) <= _KEEP:
                _DEFLATED[name] = (data, crc, packed)
        try:
            fname, flags = name.encode("ascii"), 0
        except UnicodeEncodeError:
            fname, flags = name.encode("utf-8"), 0x800
        # version 2.0, deflated, DOS time 00:00:00 and date 1980-01-01 (33)
        out.append(struct.pack("<4s2B4HL2L2H", b"PK\x03\x04", 20, 0, flags, 8, 0, 33, crc,
                               len(packed), len(data), len(fname), 0))
        out.append(fname)
        out.append(packed)
        central.append(struct.pack("<4s4B4HL2L5H2L", b"PK\x01\x02", 20, _SYSTEM, 20, 0, flags,
                                   8, 0, 33, crc, len(packed), len(data), len(fname), 0, 0, 0,
                                   0, 0o600 << 16, offset) + fname)
        offset += 30 + len(fname) + len(packed)
    directory = b"".join(central)
    out.append(directory)
    out.append(struct.pack("<4s4H2LH", b"PK\x05\x06", 0, 0, len(parts), len(parts),
                           len(directory), offset, 0))
    return b"".join(out)


def _zipfile_parts(target, parts: list, zip64: bool) -> None:
    """The parts zipped by zipfile, as xlsxwriter zips an in-memory workbook."""
    with ZipFile(target, "w", compression=ZIP_DEFLATED, allowZip64=zip64) as z:
        for name, data in parts:
            info = ZipInfo(name, (1980, 1, 1, 0, 0, 0))
            info.compress_type = z.compression
            z.writestr(info, data)


class WriteError(RuntimeError):
    """xlsxwriter refused a call (a bug in the generator or an impossible rubric text)."""


def ok(rc, what: str):
    if rc not in (None, 0):
        raise WriteError(f"xlsxwriter {what} 返回 {rc}")
    return rc


def _ok(rc, *what) -> None:
    """As `ok`, but the description is only formatted on failure (the hot path of every cell)."""
    if rc:  # xlsxwriter returns None or 0 on success
        raise WriteError(f"xlsxwriter {' '.join(map(str, what))} 返回 {rc}")


class Sheet:
    """A worksheet with checked writes; `records` collects locked content (None: not recorded)."""

    def __init__(self, ws, styles: Styles, records: list | None):
        self.ws, self.styles, self.records = ws, styles, records
        self.name = ws.get_name()
        self._formats = styles.made  # style name → format, filled by `styles[name]`
        self._blank_cells: dict = {}  # style name → its blank cell (an immutable tuple)

    def _record(self, row: int, col: int, style: str, content: str | None) -> None:
        if self.records is not None and content and Styles.locked(style):
            self.records.append((self.name, row, col, content))

    def text(self, row: int, col: int, text, style: str) -> None:
        """Always as text (never a formula or link); blank when empty."""
        # The innermost loop of generation (thousands of cells per unit): kept lean.
        # row and col are always numbers here, so xlsxwriter's A1-notation wrapper around
        # write_blank / write_string is skipped (some 4 % of generate; issue 13).
        fmt = self._formats.get(style) or self.styles[style]
        if text is None or text == "":  # a blank cell has no content to record
            _ok(self.ws._write_blank(row, col, None, fmt), "write_blank", self.name)
            return
        text = str(text)
        _ok(self.ws._write_string(row, col, text, fmt), "write_string", self.name)
        if self.records is not None and style not in UNLOCKED:
            content = normalised(text)
            if content:
                self.records.append((self.name, row, col, content))

    def blanks(self, row: int, cells: list) -> None:
        """Formatted blank cells of one row, [(col, style)] in any order, as `text(row, col, "",
        style)` writes each (a blank has no content to record), with the row's bounds checked
        once: the prepared input rows of 材料清单 and 扣分事项 are most cells of a 自评表."""
        ws = self.ws
        if ws.constant_memory:
            for col, style in cells:
                self.text(row, col, "", style)
            return
        cols = [col for col, _ in cells]
        _ok(ws._check_dimensions(row, min(cols)), "write_blank", self.name)
        _ok(ws._check_dimensions(row, max(cols)), "write_blank", self.name)
        line, made = ws.table[row], self._blank_cells
        for col, style in cells:
            cell = made.get(style)
            if cell is None:
                cell = made[style] = CellBlankTuple(self._formats.get(style) or self.styles[style])
            line[col] = cell

    def number(self, row: int, col: int, value, style: str) -> None:
        fmt = self._formats.get(style) or self.styles[style]  # numbers: as `text` above
        _ok(self.ws._write_number(row, col, value, fmt), "write_number", self.name)
        if self.records is not None:
            self._record(row, col, style, normalised(value))

    def formula(self, row: int, col: int, formula: str, style: str, value=None) -> None:
        _ok(self.ws.write_formula(row, col, formula, self.styles[style], value),
            "write_formula", self.name, formula[:60])
        self._record(row, col, style, "f:" + normalise_formula(formula))

    def merge(self, r1: int, c1: int, r2: int, c2: int, style: str) -> None:
        """Merge a range (blank); write its content to (r1, c1) afterwards."""
        if (r1, c1) != (r2, c2):
            _ok(self.ws.merge_range(r1, c1, r2, c2, "", self.styles[style]),
                "merge_range", self.name)

    def merged_text(self, r1: int, c1: int, r2: int, c2: int, text, style: str) -> None:
        self.merge(r1, c1, r2, c2, style)
        self.text(r1, c1, text, style)

    def validate(self, r1: int, c1: int, r2: int, c2: int, options: dict) -> None:
        _ok(self.ws.data_validation(r1, c1, r2, c2, options), "data_validation", self.name, options)

    def call(self, method: str, *args, **kwargs):
        """Any other worksheet method (set_column, set_row, …), checked."""
        rc = getattr(self.ws, method)(*args, **kwargs)
        _ok(rc, method, self.name)
        return rc
