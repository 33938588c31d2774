"""Stage `params`: the office's own figures (市级核定数据) in one workbook, written and read back.

Per unit: every unit-scoped rubric parameter (执法单位数, 全省排名, last year's counts …) and
every office-only field (e.g. 经核实存在虚假报送或隐瞒 是/否); once for the campaign: the
campaign-scoped parameters (全省平均数 …). Re-writing keeps what the office has entered. Reading
never stops at a bad cell: it names the unit, the field and the cell, and the value counts as
missing (the engine then leaves the clause pending, 待市级核定).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Optional

import xlsxwriter
from xlsxwriter.exceptions import XlsxWriterException
from xlsxwriter.utility import xl_col_to_name

from .campaign import Campaign, load_campaign
from .messages import Issue, WorkflowError, issue
from .rubric.expr import format_number
from .rubric.model import FLAG_NO, FLAG_YES, Rubric

UNIT_SHEET, CAMPAIGN_SHEET, GUIDE_SHEET = "各单位数据", "全市数据", "填写说明"
GUIDE = ("本表由市级办公室填写，县区不填。",
         "“各单位数据”：每个单位一行，黄色单元格填写该单位的市级核定数据；第2行是系统编号，请勿修改。",
         "“全市数据”：全市统一的数据（如全省平均数），每项一行，填写在“数值”列。",
         "空白表示尚未核定，相关细则暂按“待市级核定”（0分）计；填好后运行 xlsx-workflow score DIR。",
         "市级核定项（如“经核实存在虚假报送或隐瞒”）填“是”即按细则扣分，空白或“否”表示未发现。",
         "重新运行 xlsx-workflow params DIR 会按最新单位名单重写本表，已填写的数据会保留。")
CODE, NAME = "代码", "单位"
CAMPAIGN_HEADER = ("编号", "名称", "计量单位", "数值")
FIRST_ROW = 3            # unit sheet: row 1 labels, row 2 ids, data from row 3 (1-based)
FIXED_DATE = datetime(2000, 1, 1)  # same content → same bytes
FONT = "宋体"
INPUT_FILL, HEADER_FILL, ID_FILL = "#FFF2CC", "#D9D9D9", "#F2F2F2"
WHAT = "市级核定数据表"


@dataclass(frozen=True)
class Column:
    """One figure the office enters: a rubric parameter or an office-only field."""
    id: str
    label: str
    type: str                     # count | number | amount | judged | flag | choice
    min: Optional[Decimal] = None
    max: Optional[Decimal] = None
    unit: str = ""
    options: tuple = ()
    is_field: bool = False        # an office-only field (goes to the inputs, not the params)
    optional: bool = False        # may be left blank (e.g. a province rank that replaces ours)

    @property
    def heading(self) -> str:
        text = f"{self.label}（{self.unit}）" if self.unit else self.label
        return text + "（可不填）" if self.optional else text


def optional_params(rubric: Rubric) -> set:
    """Params that only ever replace another value when given: a blank is no omission."""
    needed = {n for c in rubric.clauses for n in c.needs}
    return {n for c in rubric.clauses for n in c.optional} - needed


def unit_columns(rubric: Rubric) -> list[Column]:
    """Per-unit figures: unit-scoped parameters, then office-only fields, in rubric order."""
    optional = optional_params(rubric)
    out = [Column(p.id, p.label, p.type, p.min, p.max, p.unit, optional=p.id in optional)
           for p in rubric.params if p.scope != "campaign"]
    out += [Column(f.id, f.label, f.type, f.min, f.max, f.unit, tuple(f.options), True)
            for f in rubric.fields if f.source == "office"]
    return out


def campaign_columns(rubric: Rubric) -> list[Column]:
    optional = optional_params(rubric)
    return [Column(p.id, p.label, p.type, p.min, p.max, p.unit, optional=p.id in optional)
            for p in rubric.params if p.scope == "campaign"]


@dataclass
class ParamsResult:
    path: Path
    units: int
    columns: list[Column]
    campaign_columns: list[Column]
    kept: int = 0                 # values carried over from the previous file

    def to_json(self) -> dict:
        return {"files": [str(self.path)], "units": self.units,
                "unit_fields": [c.id for c in self.columns],
                "campaign_fields": [c.id for c in self.campaign_columns], "kept": self.kept}


# --- reading and checking one value -------------------------------------------------------------

def parse_value(col: Column, raw) -> tuple[object, Optional[str]]:
    """(value, None) for a valid entry, (None, None) for a blank, (None, why) for a bad one."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None, None
    if col.type == "flag":
        text = {True: FLAG_YES, False: FLAG_NO}.get(raw, str(raw).strip()) \
            if isinstance(raw, bool) else str(raw).strip()
        return (text, None) if text in (FLAG_YES, FLAG_NO) else (None, "应填“是”或“否”")
    if col.type == "choice":
        text = str(raw).strip()
        return (text, None) if text in col.options else (None, "应从下拉选项中选择："
                                                         + "、".join(col.options))
    number = to_number(raw)
    if number is None:
        return None, "不是数字"
    if col.type == "count" and number != number.to_integral_value():
        return None, "应为整数"
    low = col.min if col.min is not None else Decimal(0)
    if number < low or (col.max is not None and number > col.max):
        return None, range_text(col)
    return (int(number) if col.type == "count" else number), None


def to_number(raw) -> Optional[Decimal]:
    """A cell value as an exact Decimal (floats via their shortest repr: 0.1 stays 0.1)."""
    if isinstance(raw, bool):
        return None
    try:
        d = Decimal(repr(raw)) if isinstance(raw, float) else Decimal(str(raw).strip())
    except (InvalidOperation, ValueError):
        return None
    return d if d.is_finite() else None


def range_text(col: Column) -> str:
    low = format_number(col.min if col.min is not None else Decimal(0))
    kind = "整数" if col.type == "count" else "数"
    if col.max is not None:
        return f"应为 {low} 到 {format_number(col.max)} 之间的{kind}"
    return f"应为不小于 {low} 的{kind}"


def cell_text(raw) -> str:
    """A cell as the office sees it (codes typed as numbers come back as whole numbers)."""
    if raw is None:
        return ""
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    return str(raw).strip()


# --- writing -----------------------------------------------------------------------------------

def write_params(campaign_dir) -> ParamsResult:
    """Write DIR/params/市级核定数据.xlsx for the campaign's units, keeping entered values."""
    camp = load_campaign(campaign_dir)
    path = camp.layout.params_file
    per_unit, per_campaign = read_raw(path) if path.exists() else ({}, {})
    cols, ccols = unit_columns(camp.rubric), campaign_columns(camp.rubric)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp.xlsx")
    wb = new_workbook(tmp, camp, WHAT)
    fmt = formats(wb)
    kept = _write_unit_sheet(wb.add_worksheet(UNIT_SHEET), camp, cols, per_unit, fmt)
    kept += _write_campaign_sheet(wb.add_worksheet(CAMPAIGN_SHEET), ccols, per_campaign, fmt)
    _write_guide(wb.add_worksheet(GUIDE_SHEET), fmt)
    save(wb, tmp, path, WHAT)
    return ParamsResult(path, len(camp.units), cols, ccols, kept)


def new_workbook(path: Path, camp: Campaign, subject: str, constant_memory: bool = False):
    """`constant_memory`: each row goes to disk once the next one starts (rows in order, inline
    strings); the 审核表 of 3,000 units has some 138,000 rows."""
    wb = xlsxwriter.Workbook(str(path), {"strings_to_formulas": False, "strings_to_urls": False,
                                         "strings_to_numbers": False,
                                         "constant_memory": constant_memory})
    wb.set_properties({"title": camp.title, "subject": subject, "author": camp.office.name,
                       "created": FIXED_DATE})
    return wb


def save(wb, tmp: Path, path: Path, what: str) -> None:
    """Close the workbook written to `tmp` and move it over `path` (never a half-written file)."""
    try:
        wb.close()
        tmp.replace(path)
    except (OSError, XlsxWriterException) as e:
        if tmp.is_file():
            tmp.unlink()
        raise WorkflowError([issue("S008", str(path), what=what, path=path, detail=e)]) from e


def formats(wb) -> dict:
    base = {"font_name": FONT, "font_size": 10, "valign": "vcenter", "text_wrap": True,
            "border": 1}
    return {"header": wb.add_format({**base, "bold": True, "align": "center",
                                     "bg_color": HEADER_FILL}),
            "id": wb.add_format({**base, "font_size": 9, "align": "center",
                                 "font_color": "#595959", "bg_color": ID_FILL}),
            "cell": wb.add_format(base),
            "center": wb.add_format({**base, "align": "center"}),
            "input": wb.add_format({**base, "align": "center", "locked": False,
                                    "bg_color": INPUT_FILL}),
            "input_text": wb.add_format({**base, "locked": False, "bg_color": INPUT_FILL}),
            "flagged": wb.add_format({**base, "bg_color": "#F8CBAD"}),
            "note": wb.add_format({**base, "border": 0, "font_size": 9,
                                   "font_color": "#595959"})}


def write_value(ws, row: int, col: int, value, fmt) -> None:
    """Numbers as numbers, everything else as text (never a formula or a link). row and col
    are numbers, so xlsxwriter's A1-notation wrapper is skipped (the 审核表 has 600,000 cells
    per 1,000 units; issue 13)."""
    if value is None:
        ws._write_blank(row, col, None, fmt)
    elif isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        ws._write_number(row, col, float(value), fmt)
    else:
        ws._write_string(row, col, str(value), fmt)


def _write_unit_sheet(ws, camp: Campaign, cols: list[Column], old: dict, fmt: dict) -> int:
    ws.write_string(0, 0, CODE, fmt["header"])
    ws.write_string(0, 1, NAME, fmt["header"])
    ws.write_string(1, 0, "编号", fmt["id"])
    ws.write_string(1, 1, "", fmt["id"])
    ws.set_column(0, 0, 10)
    ws.set_column(1, 1, 14)
    ws.set_row(0, 66)
    kept = 0
    for j, col in enumerate(cols, start=2):
        ws.write_string(0, j, col.heading, fmt["header"])
        ws.write_string(1, j, col.id, fmt["id"])
        ws.set_column(j, j, 16)
    for i, unit in enumerate(camp.units):
        r = FIRST_ROW - 1 + i
        ws.write_string(r, 0, unit.code, fmt["center"])
        ws.write_string(r, 1, unit.name, fmt["cell"])
        for j, col in enumerate(cols, start=2):
            value = old.get(unit.code, {}).get(col.id)
            kept += value is not None
            write_value(ws, r, j, value, fmt["input"])
    last = FIRST_ROW - 2 + len(camp.units)
    for j, col in enumerate(cols, start=2):
        ws.data_validation(FIRST_ROW - 1, j, last, j, validation(col))
    ws.freeze_panes(FIRST_ROW - 1, 2)
    ws.protect("", {"format_columns": True, "format_rows": True})
    return kept


def _write_campaign_sheet(ws, cols: list[Column], old: dict, fmt: dict) -> int:
    for j, (text, width) in enumerate(zip(CAMPAIGN_HEADER, (22, 50, 10, 14))):
        ws.write_string(0, j, text, fmt["header"])
        ws.set_column(j, j, width)
    kept = 0
    for i, col in enumerate(cols, start=1):
        ws.write_string(i, 0, col.id, fmt["center"])
        ws.write_string(i, 1, col.label + ("（可不填）" if col.optional else ""), fmt["cell"])
        ws.write_string(i, 2, col.unit, fmt["center"])
        value = old.get(col.id)
        kept += value is not None
        write_value(ws, i, 3, value, fmt["input"])
        ws.data_validation(i, 3, i, 3, validation(col))
    if not cols:
        ws.write_string(1, 0, "本考核细则没有全市统一的市级数据。", fmt["note"])
    ws.protect("", {"format_columns": True, "format_rows": True})
    return kept


def _write_guide(ws, fmt: dict) -> None:
    ws.set_column(0, 0, 100)
    for i, line in enumerate(GUIDE):
        ws.write_string(i, 0, line, fmt["note"])


def validation(col: Column) -> dict:
    title = col.label[:32]
    if col.type in ("flag", "choice"):
        options = [FLAG_YES, FLAG_NO] if col.type == "flag" else list(col.options)
        return {"validate": "list", "source": options, "input_title": title[:32],
                "error_title": "输入有误", "error_message": ("请从下拉列表中选择：" + "、".join(
                    options))[:255]}
    low = float(col.min if col.min is not None else 0)
    rule = {"validate": "integer" if col.type == "count" else "decimal",
            "input_title": title, "error_title": "输入有误",
            "error_message": f"「{col.label}」{range_text(col)}。"[:255]}
    if col.max is not None:
        return {**rule, "criteria": "between", "minimum": low, "maximum": float(col.max)}
    return {**rule, "criteria": ">=", "value": low}


# --- reading back ------------------------------------------------------------------------------

def open_book(path: Path, what: str, command: str, read_only: bool = False):
    import openpyxl  # here, not at the top: scoring with no params file never needs it
    try:
        return openpyxl.load_workbook(path, data_only=True, read_only=read_only)
    except Exception as e:  # a corrupt or foreign file: one clear message, never a traceback
        raise WorkflowError([issue("S007", str(path), what=what, path=path,
                                   detail=f"{type(e).__name__}: {e}"[:200],
                                   command=command)]) from e


def read_raw(path: Path) -> tuple[dict, dict]:
    """Every entered value as found: ({code: {id: raw}}, {id: raw}); for re-writing."""
    book = open_book(path, WHAT, "params")
    per_unit, per_campaign = {}, {}
    if UNIT_SHEET in book.sheetnames:
        ws = book[UNIT_SHEET]
        ids = {c: cell_text(ws.cell(2, c).value) for c in range(3, ws.max_column + 1)}
        for r in range(FIRST_ROW, ws.max_row + 1):
            code = cell_text(ws.cell(r, 1).value)
            if code:
                per_unit[code] = {fid: ws.cell(r, c).value for c, fid in ids.items()
                                  if fid and ws.cell(r, c).value not in (None, "")}
    if CAMPAIGN_SHEET in book.sheetnames:
        ws = book[CAMPAIGN_SHEET]
        for r in range(2, ws.max_row + 1):
            pid, value = cell_text(ws.cell(r, 1).value), ws.cell(r, 4).value
            if pid and value not in (None, ""):
                per_campaign[pid] = value
    return per_unit, per_campaign


def read_params(campaign: Campaign) -> tuple[dict, dict, list[Issue]]:
    """({code: {id: value}}, {id: value}, issues). Blank or invalid cells are left out and named
    (unit, field, cell); the clauses that need them stay pending."""
    rubric = campaign.rubric
    cols, ccols = unit_columns(rubric), campaign_columns(rubric)
    path = campaign.layout.params_file
    if not cols and not ccols:
        return {}, {}, []
    if not path.exists():
        needed = [c for c in cols if not c.is_field] + ccols
        return {}, {}, ([issue("S001", str(path), path=path)] if needed else [])
    book = open_book(path, WHAT, "params")
    issues: list[Issue] = []
    per_unit = _read_units(book, campaign, cols, issues) if cols else {}
    per_campaign = _read_campaign(book, ccols, issues) if ccols else {}
    return per_unit, per_campaign, issues


def _read_units(book, campaign: Campaign, cols: list[Column], issues: list) -> dict:
    if UNIT_SHEET not in book.sheetnames or cell_text(book[UNIT_SHEET]["A1"].value) != CODE:
        issues.append(issue("S009", UNIT_SHEET, what=f"{WHAT}“{UNIT_SHEET}”", columns=CODE,
                            command="params"))
        return {}
    ws = book[UNIT_SHEET]
    where = {cell_text(ws.cell(2, c).value): c for c in range(3, ws.max_column + 1)}
    units = {u.code: u for u in campaign.units}
    rows = {}
    for r in range(FIRST_ROW, ws.max_row + 1):
        code = cell_text(ws.cell(r, 1).value)
        if code in units:
            rows[code] = r
        elif code:
            issues.append(issue("S005", f"{UNIT_SHEET}!A{r}", row=r, unit_code=code,
                                command="params"))
    for u in campaign.units:
        if u.code not in rows:
            issues.append(issue("S006", UNIT_SHEET, unit=f"{u.name}（{u.code}）"))
    out: dict = {code: {} for code in rows}
    for col in cols:
        c = where.get(col.id)
        blanks = []
        for code, r in rows.items():
            addr = f"{xl_col_to_name(c - 1)}{r}" if c else ""
            value, why = parse_value(col, ws.cell(r, c).value) if c else (None, None)
            if why:
                issues.append(issue("S004", f"{UNIT_SHEET}!{addr}", unit=units[code].name,
                                    label=col.label, field=col.id,
                                    value=cell_text(ws.cell(r, c).value), detail=why))
            elif value is None:
                blanks.append((code, addr))
            else:
                out[code][col.id] = value
        if not col.is_field and not col.optional:  # a blank office flag: "nothing found"
            issues += _blank_issues(col, c, blanks, units, len(rows))
    return out


def _blank_issues(col: Column, c: Optional[int], blanks: list, units: dict, n: int) -> list:
    if blanks and (len(blanks) == n or c is None):
        letter = xl_col_to_name(c - 1) if c else "（缺少的）"
        return [issue("S003", f"{UNIT_SHEET}!{letter}", label=col.label, field=col.id,
                      column=letter)]
    return [issue("S002", f"{UNIT_SHEET}!{addr}", unit=units[code].name, label=col.label,
                  field=col.id) for code, addr in blanks]


def _read_campaign(book, cols: list[Column], issues: list) -> dict:
    if CAMPAIGN_SHEET not in book.sheetnames:
        issues.append(issue("S009", CAMPAIGN_SHEET, what=f"{WHAT}“{CAMPAIGN_SHEET}”",
                            columns="编号、数值", command="params"))
        return {}
    ws = book[CAMPAIGN_SHEET]
    rows = {cell_text(ws.cell(r, 1).value): r for r in range(2, ws.max_row + 1)}
    out = {}
    for col in cols:
        r = rows.get(col.id)
        raw = ws.cell(r, 4).value if r else None
        value, why = parse_value(col, raw)
        addr = f"{CAMPAIGN_SHEET}!D{r}" if r else CAMPAIGN_SHEET
        if why:
            issues.append(issue("S004", addr, unit="全市", label=col.label, field=col.id,
                                value=cell_text(raw), detail=why))
        elif value is None and not col.optional:
            issues.append(issue("S002", addr, unit="全市", label=col.label, field=col.id))
        elif value is None:
            continue
        else:
            out[col.id] = value
    return out


__all__ = ["Column", "ParamsResult", "campaign_columns", "parse_value", "read_params",
           "unit_columns", "write_params"]
