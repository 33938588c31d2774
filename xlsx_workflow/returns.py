"""Reading one received workbook (a unit's 自评表 or its 联系人信息表) into plain data.

Nothing here judges the content: `read_return` never raises on bad values, it records what the
file holds and where (sheet and cell), and `checks.py` decides what is wrong. Rows are found by
the field id in the 编号 column under the contract's header row, so a unit that inserted or
deleted rows is still read (and `structure` says "moved"). Values are kept as read: a
LibreOffice re-save gives floats for whole numbers and datetimes for dates, which the checks
accept.
"""
from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from .integrity import (CONTACT_FORM, SELF_ASSESSMENT, Identity, _identity, fingerprint,
                        normalise_formula, normalise_value)
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


def read_return(path: Path, rubric: Rubric) -> ReturnData:
    """Read `path` as a return of `rubric`. Raises WorkflowError (T010) only when openpyxl cannot
    open the file at all; anything odd inside is recorded for the checks."""
    path = Path(path)
    try:
        book = _open(path, data_only=False)
        try:
            data = _read_formulas(book, path, rubric)
        finally:
            book.close()
        if data.kind == SELF_ASSESSMENT and data.structure != UNRECOGNISED:
            cached = _open(path, data_only=True)
            try:
                _read_cached(cached, data, rubric)
            finally:
                cached.close()
    except WorkflowError:
        raise
    except Exception as e:  # a part openpyxl parses lazily (cells, styles) is broken
        raise WorkflowError([issue("T010", str(path.name), detail=_short(e))]) from e
    return data


# --- opening --------------------------------------------------------------------------------

def _open(path: Path, data_only: bool):
    import openpyxl
    try:
        return openpyxl.load_workbook(path, read_only=True, data_only=data_only, keep_links=False)
    except Exception as e:  # openpyxl raises many types on broken files
        raise WorkflowError([issue("T010", str(path.name), detail=_short(e))]) from e


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


# --- the formula read: values, identity, fingerprint, protection, other sheets --------------

def _read_formulas(book, path: Path, rubric: Rubric) -> ReturnData:
    ident = _identity(book)
    sheets, records = _scan(book)
    visible = list(sheets)
    kind = ident.kind if ident and ident.kind in (SELF_ASSESSMENT, CONTACT_FORM) else _kind(sheets)
    data = ReturnData(path, kind, ident, None, sheets=visible)
    data.protected = _protection(path, book)
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
    return data


def _scan(book) -> tuple[dict, list]:
    """One pass over the visible sheets: {name: [row values]} and the fingerprint records.

    The records are integrity.workbook_records' (locked, non-empty cells, normalised), taken in
    the same pass so that each sheet's XML is parsed once."""
    sheets, records = {}, []
    for ws in book.worksheets:
        if getattr(ws, "sheet_state", "visible") != "visible" or not hasattr(ws, "iter_rows"):
            continue
        rows = []
        for row in ws.iter_rows():
            rows.append(tuple(getattr(c, "value", None) for c in row))
            for c in row:
                value = getattr(c, "value", None)
                if value is None or not c.protection.locked:
                    continue
                if c.data_type == "f":
                    content = "f:" + normalise_formula(str(getattr(value, "text", value)))
                else:
                    content = normalise_value(value)
                if content:
                    records.append((ws.title, c.row - 1, c.column - 1, content))
        sheets[ws.title] = rows
    return sheets, records


def _kind(sheets: dict) -> str:
    """Without identity: recognise the workbook by its sheets and the contract header."""
    if SHEET in sheets and _header(sheets[SHEET][:HEADER_SCAN_ROWS], HEADER):
        return SELF_ASSESSMENT
    if CONTACT_SHEET in sheets and _header(sheets[CONTACT_SHEET][:10], ("姓名", "手机")):
        return CONTACT_FORM
    return UNKNOWN


def _rows(ws, max_row: int | None = None) -> list[tuple]:
    """Cell values of a sheet as a list of row tuples (row 1 first)."""
    return [tuple(r) for r in ws.iter_rows(max_row=max_row, values_only=True)]


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


def _protection(path: Path, book) -> dict:
    """Sheet name -> True when its XML carries <sheetProtection sheet="1">.

    openpyxl's read-only worksheets do not parse protection, so the sheet parts are searched
    directly (they were already size-checked by ingest.sniff)."""
    out = {}
    try:
        with zipfile.ZipFile(path) as z:
            for ws in book.worksheets:
                part = getattr(ws, "_worksheet_path", None) or getattr(ws, "path", None)
                if not part:
                    continue
                xml = z.read(part.lstrip("/"))
                m = _PROTECTION_TAG.search(xml)
                out[ws.title] = bool(m and re.search(rb'\bsheet="(1|true)"', m.group(1)))
    except (KeyError, zipfile.BadZipFile, OSError):
        pass
    return out


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


def _read_cached(book, data: ReturnData, rubric: Rubric) -> None:
    """Cached 自评得分 per clause and the cached 总分, at the plan's cells shifted as found."""
    from openpyxl.utils.cell import get_column_letter as letter
    if SHEET not in book.sheetnames:
        return
    rows = _rows(book[SHEET])
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


def _read_evidence(rows: list[tuple]) -> list[EvidenceRow]:
    t = _table(rows, ("序号", "材料名称"))
    if t is None:
        return []
    head, cols, rows = t
    out = []
    for r in range(head, len(rows)):
        row = rows[r]
        rest = [_get(row, cols, k) for k in ("材料名称", "对应指标", "文件名", "成文日期", "页数", "备注")]
        if all(v is None or _text(v) is None for v in rest):
            continue
        title, ind, fname, when, pages, note = rest
        out.append(EvidenceRow(r + 1, _text(_get(row, cols, "序号")), _text(title), _text(ind),
                               _text(fname), when, pages, _text(note)))
    return out


def _read_deductions(rows: list[tuple]) -> list[DeductionRow]:
    t = _table(rows, ("序号", "事由"))
    if t is None:
        return []
    head, cols, rows = t
    out = []
    for r in range(head, len(rows)):
        row = rows[r]
        vals = [_get(row, cols, k) for k in ("时间", "相关主体", "事由", "处理情况", "影响", "对应扣分项")]
        if all(v is None or _text(v) is None for v in vals):
            continue
        when, party, reason, handling, impact, clause = vals
        out.append(DeductionRow(r + 1, when, _text(party), _text(reason), _text(handling),
                                _text(impact), _text(clause)))
    return out


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
