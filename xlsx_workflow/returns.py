"""Reading one received workbook (a unit's 自评表 or its 联系人信息表) into plain data.

Nothing here judges the content: `read_return` never raises on bad values, it records what the
file holds and where (sheet and cell), and `checks.py` decides what is wrong. Rows are found by
the field id in the 编号 column under the contract's header row, so a unit that inserted or
deleted rows is still read (and `structure` says "moved"). Values are kept as read: a
LibreOffice re-save gives floats for whole numbers and datetimes for dates, which the checks
accept. The file is read once, as a zip of XML parts (see `_Workbook`).
"""
from __future__ import annotations

import posixpath
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from .integrity import (CONTACT_FORM, META_SHEET, SELF_ASSESSMENT, Identity, fingerprint,
                        identity_from, locked_intact, normalise_formula, normalised)
from .messages import WorkflowError, issue
from .rubric.model import Rubric
from .workbook.plan import SCORE, SHEET, AssessmentPlan, build_plan
from .workbook.sheets import (CONTACT_COLUMNS, CONTACT_SHEET, DEDUCTION_SHEET, EVIDENCE_SHEET,
                              GUIDE_SHEET)

UNKNOWN = "unknown"
OK, MOVED, UNRECOGNISED = "ok", "moved", "unrecognised"
HEADER = ("编号", "填报值", "材料编号")
CONTACT_KEYS = [name for name, _ in CONTACT_COLUMNS]  # 单位 姓名 职务/职级 电话 手机 传真 邮箱
HEADER_SCAN_ROWS = 40


@dataclass(frozen=True)
class CellRef:
    sheet: str
    cell: str

    def __str__(self) -> str:
        return f"{self.sheet}!{self.cell}"


@dataclass
class EvidenceRow:
    """One row of 材料清单 that has something in it (序号 alone does not count)."""
    row: int
    number: str | None   # 序号 as text ("3")
    title: str | None    # 材料名称
    indicator: str | None  # 对应指标
    file_name: str | None  # 文件名
    date: object         # 成文日期 as read
    pages: object        # 页数 as read
    note: str | None     # 备注


@dataclass
class DeductionRow:
    """One filled row of 扣分事项."""
    row: int
    when: object
    party: str | None
    reason: str | None
    handling: str | None
    impact: str | None
    clause: str | None  # 对应扣分项, e.g. "22.1 …"


@dataclass
class ReturnData:
    path: Path
    kind: str                      # "self_assessment" | "contact_form" | "unknown"
    identity: Identity | None      # from the meta sheet or the document properties
    unit_name_shown: str | None    # the unit name visible in the workbook (subtitle line)
    values: dict = field(default_factory=dict)          # field id -> raw cell value
    cells: dict = field(default_factory=dict)           # field id -> CellRef of 填报值
    evidence_refs: dict = field(default_factory=dict)   # field id -> raw 材料编号 text or None
    evidence_cells: dict = field(default_factory=dict)  # field id -> CellRef of 材料编号
    self_scores: dict = field(default_factory=dict)     # clause id -> cached 自评得分 (None if absent)
    cached_total: object = None                         # cached 总分 (None if absent)
    evidence: list = field(default_factory=list)        # [EvidenceRow]
    deductions: list = field(default_factory=list)      # [DeductionRow]
    contacts: list = field(default_factory=list)        # [{单位, 姓名, …, "_row": n}]
    protected: dict = field(default_factory=dict)       # sheet name -> sheet protection on
    structure: str = OK                                 # "ok" | "moved" | "unrecognised"
    # optional extras (added beyond the brief's interface; all have defaults)
    unit_code_shown: str | None = None   # the code in the subtitle "（代码 411502）"
    fingerprint_ok: bool | None = None   # None: no identity to compare with
    sheets: list = field(default_factory=list)          # visible sheet names, in order
    missing_fields: list = field(default_factory=list)  # unit field ids with no row in 自评表
    moved_rows: dict = field(default_factory=dict)      # field id -> (expected row, found row)
    extra_rows: list = field(default_factory=list)      # rows under the header with an unknown 编号
    total_cell: CellRef | None = None
    contact_sheet: str = CONTACT_SHEET
    contact_columns: dict = field(default_factory=dict)  # 联系人 header text -> 0-based column
    # locked content intact once inserted rows are undone (None: no identity to compare with)
    locked_ok: bool | None = None
    duplicate_rows: list = field(default_factory=list)  # [(field id, CellRef of 填报值, value)]


def read_return(path: Path, rubric: Rubric, parts: dict | None = None) -> ReturnData:
    """Read `path` as a return of `rubric`. Raises WorkflowError (T010) only when the file cannot
    be read as a workbook at all; anything odd inside is recorded for the checks. `parts`: the
    XML parts sniff kept ({name: bytes}), read from there instead of decompressed again."""
    path = Path(path)
    try:
        with _Workbook(path, parts) as book:
            sheets, records, cached = {}, [], None
            for sheet in book.sheets:
                if sheet.state != "visible":
                    continue
                rows, cached_rows = book.read_sheet(sheet, records, cached=sheet.name == SHEET)
                sheets[sheet.name] = rows
                if sheet.name == SHEET:
                    cached = cached_rows
            ident = identity_from(book.meta_pairs(), book.custom_properties())
            data = assemble(path, rubric, ident, sheets, records, book.protection())
            if data.kind == SELF_ASSESSMENT and data.structure != UNRECOGNISED and cached:
                read_cached(cached, data, rubric)
    except WorkflowError:
        raise
    except Exception as e:  # not a workbook we can read: missing or broken parts
        raise WorkflowError([issue("T010", str(path.name), detail=_short(e))]) from e
    return data


def _short(e: Exception) -> str:
    text = f"{type(e).__name__}: {e}"
    return text if len(text) <= 160 else text[:157] + "…"


_PLANS: dict = {}


def plan_for(rubric: Rubric) -> AssessmentPlan:
    """The generated layout of the rubric's 自评表 (compiled once per rubric)."""
    key = (rubric.id, rubric.version, rubric.content_hash, id(rubric))
    if key not in _PLANS:
        if len(_PLANS) > 8:
            _PLANS.clear()
        _PLANS[key] = build_plan(rubric)
    return _PLANS[key]


# --- reading the xlsx package once ------------------------------------------------------------
#
# The workbook is read as a zip of XML parts, each part parsed once with lxml (entities not
# resolved, no network, no huge trees; ingest.sniff has already refused DTDs, entities and
# oversized parts). Cell values come out as openpyxl's read-only mode gives them — numbers as
# int/float, dates (a date number format) as datetime, shared and inline strings as plain text,
# booleans, error texts, and formulas as "=…" (shared formulas translated, array formulas as
# ArrayFormula) — so that the fingerprint records and the checks see what they always saw; each
# <c> holds its formula <f> and its cached value <v>, so one pass gives both readings.

_MAIN = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL = "{http://schemas.openxmlformats.org/package/2006/relationships}Relationship"
_RID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"
_VT = "{http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes}"
_CUSTOM = "{http://schemas.openxmlformats.org/officeDocument/2006/custom-properties}property"
_C, _F, _V, _IS, _T, _R = (_MAIN + t for t in ("c", "f", "v", "is", "t", "r"))
_ROW = _MAIN + "row"
_FALSE = ("false", "f", "0")


def parse_xml(data: bytes):
    """One part of a received workbook as an lxml tree, parsed safely (untrusted input)."""
    from lxml import etree
    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False,
                             load_dtd=False, remove_comments=True, remove_pis=True)
    return etree.fromstring(data, parser)


_STYLES: dict = {}  # styles.xml bytes → what _styles makes of them (every return of a campaign
                   # has the same styles, unless its program rewrote them)


def _styles(data: bytes) -> tuple:
    """(locked, date styles, time-span styles) per cellXfs index of a styles.xml, kept per its
    bytes (issue 13)."""
    got = _STYLES.get(data)
    if got is None:
        from openpyxl.styles.numbers import builtin_format_code, is_date_format, is_timedelta_format
        styles = parse_xml(data)
        custom = {int(n.get("numFmtId")): n.get("formatCode") for n in styles.iter(_MAIN + "numFmt")}
        xfs = styles.find(_MAIN + "cellXfs")
        locked, dates, timedeltas = [], set(), set()
        for idx, xf in enumerate(xfs.iter(_MAIN + "xf") if xfs is not None else ()):
            num = int(xf.get("numFmtId") or 0)
            fmt = custom[num] if num in custom else builtin_format_code(num)
            if is_date_format(fmt):
                dates.add(idx)
            if is_timedelta_format(fmt):
                timedeltas.add(idx)
            prot = xf.find(_MAIN + "protection")
            locked.append(True if prot is None else _bool(prot.get("locked", "1")))
        got = (tuple(locked), frozenset(dates), frozenset(timedeltas))
        if len(data) <= 1 << 20:  # an untrusted file's huge styles are not kept
            if len(_STYLES) >= 64:
                _STYLES.clear()
            _STYLES[data] = got
    return got


def _bool(value) -> bool:
    """An OOXML boolean attribute as openpyxl reads it."""
    return bool(value) and value not in _FALSE


@dataclass
class _Sheet:
    name: str
    state: str
    part: str


class _Workbook:
    """The parts of one .xlsx that a return needs: sheets, styles, strings, properties."""

    def __init__(self, path: Path, parts: dict | None = None):
        self.zip = zipfile.ZipFile(path)
        # parts read once (sheets: protection and cells), or as sniff kept them
        self._raw_parts: dict = dict(parts or {})
        try:
            self.names = set(self.zip.namelist())
            self._load()
        except Exception:
            self.zip.close()
            raise

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.zip.close()

    def _rels(self, part: str) -> dict:
        """Relationship id -> (type, target part) of `part` (internal targets only)."""
        folder, name = posixpath.split(part)
        rels_path = posixpath.join(folder, "_rels", name + ".rels")
        if rels_path not in self.names:
            return {}
        out = {}
        for r in parse_xml(self._raw(rels_path)).iter(_REL):
            target = r.get("Target") or ""
            if r.get("TargetMode") == "External":
                continue
            target = target[1:] if target.startswith("/") else posixpath.normpath(
                posixpath.join(folder, target))
            out[r.get("Id")] = (r.get("Type") or "", target)
        return out

    def _load(self) -> None:
        from openpyxl.utils.datetime import CALENDAR_MAC_1904, CALENDAR_WINDOWS_1900
        top = self._rels("")
        book_part = next((t for k, t in top.values() if k.endswith("/officeDocument")),
                         "xl/workbook.xml")
        root = parse_xml(self._raw(book_part))
        rels = self._rels(book_part)
        pr = root.find(_MAIN + "workbookPr")
        self.epoch = (CALENDAR_MAC_1904 if pr is not None and _bool(pr.get("date1904"))
                      else CALENDAR_WINDOWS_1900)
        self.sheets, self.sheet_names = [], []
        for el in root.iter(_MAIN + "sheet"):
            rid = el.get(_RID)
            if not rid:
                continue
            kind, target = rels[rid]
            if target not in self.names:
                continue
            self.sheet_names.append(el.get("name"))
            if "chartsheet" in kind:
                continue
            self.sheets.append(_Sheet(el.get("name"), el.get("state") or "visible", target))
        strings = next((t for k, t in rels.values() if k.endswith("/sharedStrings")), None)
        self.strings = self._strings(strings) if strings in self.names else []
        # styles: per cellXfs index, locked (openpyxl's default: locked) and date formats
        self.locked, self.dates, self.timedeltas = (True,), frozenset(), frozenset()
        if "xl/styles.xml" in self.names:
            self.locked, self.dates, self.timedeltas = _styles(self._raw("xl/styles.xml"))

    def _strings(self, part: str) -> list:
        """The shared strings as plain text (openpyxl drops the 'x005F_' of escaped escapes)."""
        out = []
        for si in parse_xml(self._raw(part)).iter(_MAIN + "si"):
            out.append(_text_of(si).replace("x005F_", ""))
        return out

    def custom_properties(self) -> dict:
        """docProps/custom.xml as {name: text} (typed values as openpyxl gives them, as text)."""
        if "docProps/custom.xml" not in self.names:
            return {}
        out = {}
        for prop in parse_xml(self._raw("docProps/custom.xml")).iter(_CUSTOM):
            for child in prop:
                if not isinstance(child.tag, str) or not child.tag.startswith(_VT):
                    continue
                kind, text = child.tag[len(_VT):], child.text
                if kind == "lpwstr":
                    out[prop.get("name")] = str(text)
                elif kind == "i4":
                    out[prop.get("name")] = str(int(text))
                elif kind == "r8":
                    out[prop.get("name")] = str(float(text))
                elif kind == "bool":
                    out[prop.get("name")] = str(_bool(text))
                break
        return out

    def protection(self) -> dict:
        """Sheet name -> True when its XML carries <sheetProtection sheet="1">."""
        out = {}
        for sheet in self.sheets:
            m = _protection_tag(self._raw(sheet.part))
            out[sheet.name] = bool(m and re.search(rb'\bsheet="(1|true)"', m.group(1)))
        return out

    def _raw(self, part: str) -> bytes:
        if part not in self._raw_parts:
            self._raw_parts[part] = self.zip.read(part)
        return self._raw_parts[part]

    def meta_pairs(self) -> dict | None:
        """The meta sheet's first two columns as {key text: value text}; None without it."""
        if META_SHEET not in self.sheet_names:
            return None
        sheet = next((s for s in self.sheets if s.name == META_SHEET), None)
        if sheet is None:
            return None
        rows, _ = self.read_sheet(sheet, None)
        return {str(r[0]): "" if len(r) < 2 or r[1] is None else str(r[1])
                for r in rows if r and r[0] is not None}

    def read_sheet(self, sheet: _Sheet, records: list | None, cached: bool = False):
        """([row tuples as with formulas], [row tuples of cached values] or None). Appends the
        fingerprint records (locked, non-empty cells) to `records` unless it is None."""
        data = parse_xml(self._raw(sheet.part)).find(_MAIN + "sheetData")
        rows, crows = [], ([] if cached else None)
        shared: dict = {}  # shared formula id -> Translator from its first cell
        num = 0
        for row_el in (data if data is not None else ()):
            if row_el.tag != _ROW:
                continue
            num = _row_number(row_el.get("r"), num)
            if num <= len(rows):  # a row out of order or repeated: openpyxl skips it
                continue
            cells, formulas = self._cells(row_el, num, shared, sheet.name, records)
            while len(rows) < num - 1:
                rows.append(())
                if crows is not None:
                    crows.append(())
            line = [None] * (max(cells) if cells else 0)
            for k, val in cells.items():
                line[k - 1] = val
            rows.append(tuple(line))
            if crows is not None:
                for k, val in formulas.items():
                    line[k - 1] = val
                crows.append(tuple(line))
        return rows, crows

    def _cells(self, row_el, num: int, shared: dict, title: str, records: list | None):
        """{column: value as with formulas}, {column: cached value} of the formula cells."""
        cells, formulas = {}, {}
        col, last, locked, strings, dates = 0, None, self.locked, self.strings, self.dates
        for c in row_el:
            if c.tag != _C:
                continue
            ref = c.get("r")
            if ref is None:  # no address: the cell after the previous one
                col = (_column(last) if col is None else col) + 1
            if len(c) == 0 and c.get("t") != "inlineStr":  # empty (formatted) cell: no value
                if ref is not None:
                    last, col = ref, None  # its column is worked out only if needed
                continue
            if ref is not None:  # "A12" → 1 without a lookup of its letters (most cells)
                last = ref
                col = _LETTERS.get(ref[:1] if ref[1:2] in _DIGITS else ref) or _column(ref)
            s = c.get("s")
            style = int(s) if s else 0
            f = v = inline = None
            for ch in c:
                tag = ch.tag
                if tag == _V:
                    if v is None:
                        v = ch.text or ""
                elif tag == _F:
                    if f is None:
                        f = ch
                elif tag == _IS and inline is None:
                    inline = ch
            t = c.get("t", "n")
            if v and t == "s":  # the commonest two cases of _value, without the call
                value = strings[int(v)]
            elif v and t == "n" and style not in dates:
                value = float(v) if ("." in v or "E" in v or "e" in v) else int(v)
            else:
                value = self._value(t, v, inline, style)
            if f is not None:
                formulas[col] = value
                value = _formula(f, ref, shared)
            cells[col] = value
            if records is not None and value is not None and locked[style]:
                if f is not None:
                    content = "f:" + normalise_formula(str(getattr(value, "text", value)))
                else:
                    content = normalised(value)
                if content:
                    records.append((title, num - 1, col - 1, content))
        return cells, formulas

    def _value(self, t: str, v: str | None, inline, style: int):
        """A cell's (cached) value as openpyxl reads it."""
        if t == "inlineStr":
            return _text_of(inline) if inline is not None else None
        if not v:
            return None
        if t == "s":
            return self.strings[int(v)]
        if t == "n":
            num = float(v) if ("." in v or "E" in v or "e" in v) else int(v)
            if style in self.dates:
                from openpyxl.utils.datetime import from_excel
                try:
                    return from_excel(num, self.epoch, timedelta=style in self.timedeltas)
                except (OverflowError, ValueError):
                    return "#VALUE!"
            return num
        if t == "b":
            return bool(int(v))
        if t == "d":
            from openpyxl.utils.datetime import from_ISO8601
            return from_ISO8601(v)
        return v  # "str", "e" (the error text)


def _row_number(r: str | None, previous: int) -> int:
    if not r:
        return previous + 1
    try:
        return int(r)
    except ValueError:
        val = float(r)
        if not val.is_integer():
            raise ValueError(f"{r} is not a valid row number") from None
        return int(val)


def _formula(f, ref, shared: dict):
    """A cell's formula as openpyxl gives it: "=…", a shared formula translated from its first
    cell, an ArrayFormula, a DataTableFormula."""
    kind = f.get("t")
    value = "=" + (f.text or "")
    if kind == "array":
        from openpyxl.worksheet.formula import ArrayFormula
        return ArrayFormula(ref=f.get("ref"), text=value)
    if kind == "shared":
        idx = f.get("si")
        if idx in shared:
            return shared[idx].translate_formula(ref)
        if value != "=":
            from openpyxl.formula.translate import Translator
            shared[idx] = Translator(value, ref)
        return value
    if kind == "dataTable":
        from openpyxl.worksheet.formula import DataTableFormula
        return DataTableFormula(**dict(f.attrib))
    return value


_COLUMNS: dict = {}
_LETTERS = {chr(65 + k): k + 1 for k in range(26)}  # "A" -> 1 … "Z" -> 26
_DIGITS = frozenset("0123456789")


def _column(ref: str) -> int:
    """'AB12' -> 28."""
    letters = ref.rstrip("0123456789")
    col = _COLUMNS.get(letters)
    if col is None:
        col = 0
        for ch in letters.upper():
            col = col * 26 + ord(ch) - 64
        if not letters or col < 1:
            raise ValueError(f"bad cell reference {ref!r}")
        _COLUMNS[letters] = col
    return col


def _text_of(el) -> str:
    """A string item (<si> or <is>) as plain text: its <t>, then the <t> of each run; phonetic
    runs left out (as openpyxl does)."""
    plain, runs = None, []
    for ch in el:
        if ch.tag == _T:
            plain = ch.text
        elif ch.tag == _R:
            t = None
            for sub in ch:
                if sub.tag == _T:
                    t = sub.text
            if t is not None:
                runs.append(t)
    return (plain or "") + "".join(runs)


# --- from the sheets' rows to ReturnData --------------------------------------------------------

def assemble(path: Path, rubric: Rubric, ident: Identity | None, sheets: dict, records: list,
             protected: dict) -> ReturnData:
    """ReturnData from the visible sheets' rows (formula reading), the fingerprint records and
    sheet protection; the cached scores are added by `read_cached`."""
    visible = list(sheets)
    kind = ident.kind if ident and ident.kind in (SELF_ASSESSMENT, CONTACT_FORM) else _kind(sheets)
    data = ReturnData(path, kind, ident, None, sheets=visible)
    data.protected = protected
    if ident is not None:
        data.fingerprint_ok = fingerprint(records) == ident.fingerprint
    data.unit_name_shown, data.unit_code_shown = _shown_unit(sheets)
    if kind == SELF_ASSESSMENT and SHEET not in sheets:
        data.structure = UNRECOGNISED
    elif kind == SELF_ASSESSMENT:
        _read_assessment(sheets[SHEET], data, rubric)
        if EVIDENCE_SHEET in sheets:
            data.evidence = _read_evidence(sheets[EVIDENCE_SHEET])
        if DEDUCTION_SHEET in sheets:
            data.deductions = _read_deductions(sheets[DEDUCTION_SHEET])
    elif kind == UNKNOWN:
        data.structure = UNRECOGNISED
    if CONTACT_SHEET in sheets:
        data.contacts, data.contact_columns = _read_contacts(sheets[CONTACT_SHEET])
    if ident is not None:
        data.locked_ok = data.fingerprint_ok or (
            data.structure == MOVED and locked_intact(records, SHEET, ident.fingerprint))
    return data


def _kind(sheets: dict) -> str:
    """Without identity: recognise the workbook by its sheets and the contract header."""
    if SHEET in sheets and _header(sheets[SHEET][:HEADER_SCAN_ROWS], HEADER):
        return SELF_ASSESSMENT
    if CONTACT_SHEET in sheets and _header(sheets[CONTACT_SHEET][:10], ("姓名", "手机")):
        return CONTACT_FORM
    return UNKNOWN


def _header(rows: list[tuple], names: tuple) -> tuple[int, dict] | None:
    """(1-based row, {header text: 0-based column}) of the first row holding all `names`."""
    for n, row in enumerate(rows, 1):
        cols = {}
        for col, v in enumerate(row):
            if isinstance(v, str) and v.strip() not in cols:
                cols[v.strip()] = col
        if all(x in cols for x in names):
            return n, cols
    return None


_SUBTITLE = re.compile(r"填报单位[:：]\s*(?P<name>.+?)\s*[（(]\s*代码\s*(?P<code>[^）)\s]+)\s*[）)]")


def _shown_unit(sheets: dict) -> tuple[str | None, str | None]:
    """The unit name and code in the visible subtitle line of the first sheet that has one."""
    for name in (SHEET, GUIDE_SHEET, CONTACT_SHEET, EVIDENCE_SHEET):
        if name not in sheets:
            continue
        for row in sheets[name][:6]:
            for v in row:
                m = _SUBTITLE.search(v) if isinstance(v, str) else None
                if m:
                    return m.group("name"), m.group("code")
    return None, None


_PROTECTION_TAG = re.compile(rb"<(?:\w+:)?sheetProtection\b([^>]*)>")


def _protection_tag(raw: bytes):
    """The first <sheetProtection …> of a sheet's XML, as `_PROTECTION_TAG.search(raw)` finds
    it, but searched from the "<" before the first occurrence of the name (the element comes
    after the sheet's cells; no such element can start before that "<")."""
    at = raw.find(b"sheetProtection")
    if at < 0:
        return None
    return _PROTECTION_TAG.search(raw, max(raw.rfind(b"<", 0, at), 0))


# --- 自评表 ------------------------------------------------------------------------------------

def _read_assessment(rows: list[tuple], data: ReturnData, rubric: Rubric) -> None:
    from openpyxl.utils.cell import get_column_letter as letter
    found = _header(rows[:HEADER_SCAN_ROWS], HEADER)
    if found is None:
        data.structure = UNRECOGNISED
        return
    head, cols = found
    plan = plan_for(rubric)
    expected = {f.id: int(plan.addresses[f.id].split("$")[2]) for f in rubric.unit_fields
                if f.id in plan.addresses}
    c_id, c_val, c_ev = cols["编号"], cols["填报值"], cols["材料编号"]
    for r in range(head, len(rows)):  # rows[r] is sheet row r + 1
        row = rows[r]
        fid = _text(row[c_id]) if c_id < len(row) else None
        if not fid:
            continue
        if fid not in expected or fid in data.cells:
            data.extra_rows.append(r + 1)
            if fid in data.cells:  # the same 编号 twice: the checks compare the two values
                data.duplicate_rows.append((fid, CellRef(SHEET, f"{letter(c_val + 1)}{r + 1}"),
                                            row[c_val] if c_val < len(row) else None))
            continue
        data.values[fid] = row[c_val] if c_val < len(row) else None
        data.cells[fid] = CellRef(SHEET, f"{letter(c_val + 1)}{r + 1}")
        data.evidence_refs[fid] = _text(row[c_ev]) if c_ev < len(row) else None
        data.evidence_cells[fid] = CellRef(SHEET, f"{letter(c_ev + 1)}{r + 1}")
        if r + 1 != expected[fid]:
            data.moved_rows[fid] = (expected[fid], r + 1)
    data.missing_fields = [f for f in expected if f not in data.cells]
    if head != plan.header_row + 1 or data.moved_rows or data.missing_fields or data.extra_rows:
        data.structure = MOVED


def read_cached(rows: list[tuple], data: ReturnData, rubric: Rubric) -> None:
    """Cached 自评得分 per clause and the cached 总分 (from the 自评表's cached values, `rows`), at
    the plan's cells shifted as found."""
    from openpyxl.utils.cell import get_column_letter as letter
    found = _header(rows[:HEADER_SCAN_ROWS], HEADER)
    if found is None:
        return
    head, cols = found
    plan = plan_for(rubric)
    top_shift = head - (plan.header_row + 1)  # rows inserted above the header move the summary
    score_col = cols.get("自评得分", SCORE)
    shift = top_shift
    for block in plan.blocks:
        first_field = next((f for _, f in block.rows if f is not None and f.id in data.cells), None)
        plan_row = block.rows[0][0] + 1
        if first_field is not None:
            found_row = int(data.cells[first_field.id].cell.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
            own_row = next(r for r, f in block.rows if f is first_field) + 1
            shift = found_row - own_row
        data.self_scores[block.clause.id] = _at(rows, plan_row + shift, score_col)
    total = next(s for s in plan.summary if s.name == "total")
    data.total_cell = CellRef(SHEET, f"{letter(total.cols[0] + 1)}{total.row + 1 + top_shift}")
    data.cached_total = _at(rows, total.row + 1 + top_shift, total.cols[0])


def _at(rows: list[tuple], row: int, col: int):
    if 1 <= row <= len(rows) and col < len(rows[row - 1]):
        return rows[row - 1][col]
    return None


def _text(value) -> str | None:
    """A cell as trimmed text (numbers without a trailing .0); None when blank."""
    if value is None:
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    text = str(value).strip()
    return text or None


# --- 材料清单, 扣分事项, 联系人 -------------------------------------------------------------------

def _table(rows: list[tuple], names: tuple) -> tuple[int, dict, list[tuple]] | None:
    found = _header(rows[:20], names)
    if found is None:
        return None
    head, cols = found
    return head, cols, rows


def _get(row: tuple, cols: dict, name: str):
    col = cols.get(name)
    return row[col] if col is not None and col < len(row) else None


def _filled_rows(rows: list[tuple], keys: tuple, columns: tuple):
    """(row number, values of `columns`) for each row under the table headed by `keys` that
    holds something in one of `columns` (prepared empty rows are skipped)."""
    t = _table(rows, keys)
    if t is None:
        return
    head, cols, rows = t
    at = [cols.get(k) for k in columns]
    for r in range(head, len(rows)):
        row = rows[r]
        n = len(row)
        if row.count(None) == n:  # a prepared row left empty
            continue
        vals = [row[c] if c is not None and c < n else None for c in at]
        if any(_text(v) is not None for v in vals[1:] if v is not None):
            yield r + 1, vals


def _read_evidence(rows: list[tuple]) -> list[EvidenceRow]:
    return [EvidenceRow(r, _text(number), _text(title), _text(ind), _text(fname), when, pages,
                        _text(note))
            for r, (number, title, ind, fname, when, pages, note) in _filled_rows(
                rows, ("序号", "材料名称"),
                ("序号", "材料名称", "对应指标", "文件名", "成文日期", "页数", "备注"))]


def _read_deductions(rows: list[tuple]) -> list[DeductionRow]:
    return [DeductionRow(r, when, _text(party), _text(reason), _text(handling), _text(impact),
                         _text(clause))
            for r, (_, when, party, reason, handling, impact, clause) in _filled_rows(
                rows, ("序号", "事由"),
                ("序号", "时间", "相关主体", "事由", "处理情况", "影响", "对应扣分项"))]


def _read_contacts(rows: list[tuple]) -> tuple[list[dict], dict]:
    t = _table(rows, ("姓名", "手机"))
    if t is None:
        return [], {}
    head, cols, rows = t
    out = []
    for r in range(head, len(rows)):
        rec = {k: _get(rows[r], cols, k) for k in CONTACT_KEYS}
        if all(_text(v) is None for v in rec.values()):
            continue
        rec["_row"] = r + 1
        out.append(rec)
    return out, {k: cols[k] for k in CONTACT_KEYS if k in cols}


def contact_cell(data: ReturnData, row: int, key: str) -> CellRef:
    """Where a contact's value sits (the column found under its header, else as generated)."""
    from openpyxl.utils.cell import get_column_letter as letter
    col = data.contact_columns.get(key, CONTACT_KEYS.index(key))
    return CellRef(data.contact_sheet, f"{letter(col + 1)}{row}")
