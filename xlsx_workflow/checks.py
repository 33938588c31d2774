"""Checks of one read return (returns.ReturnData): identity, tampering, values, evidence, contacts.

Each check is a small function from the read data to a list of Issues (collect, don't stop).
`check_values` also returns the cleaned inputs the engine scores. Every value and evidence message
names the sheet and cell (「自评表!E12」) and says how to fix it; the Issue's `where` is the cell.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import date, datetime
from decimal import Decimal, InvalidOperation

from .campaign import Campaign
from .emails import valid_email
from .engine import PENDING, score_unit
from .integrity import CONTACT_FORM, SELF_ASSESSMENT
from .messages import ERROR, Issue, issue
from .returns import MOVED, UNRECOGNISED, ReturnData, contact_cell
from .rubric.expr import format_number
from .rubric.model import FLAG_NO, FLAG_YES, Field, Rubric, Unit
from .workbook.plan import SHEET
from .workbook.sheets import CONTACT_SHEET, DEDUCTION_SHEET, EVIDENCE_SHEET, GUIDE_SHEET

GENERATED_SHEETS = frozenset({GUIDE_SHEET, SHEET, EVIDENCE_SHEET, DEDUCTION_SHEET, CONTACT_SHEET})
IDENTITY_FLAG_CODES = frozenset({"I005", "I006"})  # 需人工确认: status flagged, still scored
IMPLAUSIBLE_COUNT = 1000   # a count above this (and above a declared max) is worth a look
FILLED_SHARE = Decimal("0.1")  # fewer filled 填报值 than this share of the fields: not filled in
MAX_LISTED = 8             # moved rows named in one message
_BLANK = {"flag": f"“{FLAG_NO}”", "choice": "未选（0分）"}


# --- identity -------------------------------------------------------------------------------

def unit_for(data: ReturnData, campaign: Campaign) -> Unit | None:
    """The campaign unit the return belongs to: by its identity, else by the code/name shown."""
    by_code = {u.code: u for u in campaign.units}
    if data.identity is not None:
        return by_code.get(data.identity.unit_code)
    if data.unit_code_shown in by_code:
        return by_code[data.unit_code_shown]
    by_name = {u.name: u for u in campaign.units}
    return by_name.get(data.unit_name_shown or "")


def check_identity(data: ReturnData, campaign: Campaign) -> list[Issue]:
    """Another campaign, another or outdated rubric, unknown unit, code ≠ shown name; without
    identity, recognised by structure (需人工确认) or not at all."""
    ident, rubric = data.identity, campaign.rubric
    if ident is None:
        unit = unit_for(data, campaign)
        if data.structure == UNRECOGNISED or data.kind not in (SELF_ASSESSMENT, CONTACT_FORM):
            return [issue("I007", "", detail="也没有“自评表”表头（编号、填报值、材料编号）或“联系人”表")]
        if unit is None:
            shown = data.unit_name_shown or data.unit_code_shown or "（无）"
            return [issue("I007", "", detail=f"表内显示的单位「{shown}」不在本次考核的单位名单中")]
        return [issue("I006", "", shown=_shown(data), unit_code=unit.code, unit_name=unit.name)]
    out = []
    if ident.campaign_id != campaign.id:
        out.append(issue("I001", "", found=ident.campaign_id, expected=campaign.id))
    if ident.rubric_id != rubric.id:
        out.append(issue("I002", "", found=ident.rubric_id, expected=rubric.id))
    elif ident.rubric_version != str(rubric.version) or ident.rubric_hash != rubric.content_hash:
        out.append(issue("I003", "", found=ident.rubric_version, found_hash=ident.rubric_hash[:12],
                         expected=rubric.version, expected_hash=rubric.content_hash[:12]))
    unit = unit_for(data, campaign)
    if unit is None:
        out.append(issue("I004", "", unit_code=ident.unit_code, unit_name=ident.unit_name))
    elif _mismatch(data, unit):
        out.append(issue("I005", "", unit_code=unit.code, expected=unit.name, shown=_shown(data)))
    return out


def _shown(data: ReturnData) -> str:
    code = f"（代码 {data.unit_code_shown}）" if data.unit_code_shown else ""
    return f"{data.unit_name_shown or ''}{code}" or "（无）"


def _mismatch(data: ReturnData, unit: Unit) -> bool:
    name, code = data.unit_name_shown, data.unit_code_shown
    return bool((name and name != unit.name) or (code and code != unit.code))


# --- tampering ------------------------------------------------------------------------------

def check_tamper(data: ReturnData, engine_total: Decimal | None = None) -> list[Issue]:
    """Locked content vs fingerprint, protection removed, rows moved, cached vs engine total.

    `engine_total` must be the engine's total as the workbook computes it: from the unit's inputs
    alone, without office parameters, cohort values or overrides (check_return computes it so
    when not given); None skips the comparison."""
    out = []
    if data.structure == MOVED:
        out.append(issue("T003", "自评表", detail=_moved_detail(data)))
    elif data.fingerprint_ok is False:
        out.append(issue("T001", "自评表" if data.kind == SELF_ASSESSMENT else data.contact_sheet))
    for sheet in data.sheets:
        if sheet in GENERATED_SHEETS and data.protected.get(sheet) is False:
            out.append(issue("T002", sheet, sheet=sheet))
    cached = _number(data.cached_total)
    if engine_total is not None and cached is not None and cached != Decimal(engine_total):
        where = str(data.total_cell or "自评表")
        out.append(issue("T004", where, cached=format_number(cached),
                         computed=format_number(Decimal(engine_total)), cell=where))
    return out


def _moved_detail(data: ReturnData) -> str:
    parts = [f"填报项 {fid} 应在第{a}行，现在第{b}行" for fid, (a, b) in
             list(data.moved_rows.items())[:MAX_LISTED]]
    if len(data.moved_rows) > MAX_LISTED:
        parts.append(f"等共{len(data.moved_rows)}项")
    if data.missing_fields:
        parts.append("缺少填报项 " + "、".join(data.missing_fields[:MAX_LISTED]))
    if data.extra_rows:
        parts.append("多出第" + "、".join(map(str, data.extra_rows[:MAX_LISTED])) + "行")
    return "；".join(parts) or "表头位置变了"


# --- values ---------------------------------------------------------------------------------

def check_values(data: ReturnData, rubric: Rubric, unit_type: str) -> tuple[dict, list[Issue]]:
    """Cleaned inputs for engine.score_unit (flag/choice text, count int, numbers Decimal, date
    date; None for blanks and wrong values) and the issues found."""
    cleaned, out = {}, []
    applies = {i.id: i.applies_to(unit_type) for i in rubric.indicators}
    windows = {i.id: (i.window_from, i.window_to) for i in rubric.indicators}
    for f in rubric.unit_fields:
        if f.id in data.missing_fields:
            out.append(issue("V011", "自评表", field=f.id, label=f.label))
            continue
        if f.id not in data.cells:
            continue
        raw, where = data.values.get(f.id), str(data.cells[f.id])
        if not applies.get(f.indicator_id, True):
            if not _blank(raw):
                out.append(issue("V012", where, cell=where, field=f.id, value=_show(raw)))
            continue
        if _blank(raw):
            cleaned[f.id] = None
            out.append(issue("V010", where, cell=where, label=_label(f), scored=_BLANK.get(f.type, "0")))
            continue
        value, problems = clean_value(f, raw, where, windows.get(f.indicator_id, (None, None)))
        cleaned[f.id] = value
        out += problems
    return cleaned, out


def clean_value(f: Field, raw, where: str, window: tuple = (None, None)) -> tuple[object, list[Issue]]:
    """One non-blank value: (cleaned value or None, issues)."""
    ctx = {"cell": where, "label": _label(f)}
    if f.type in ("flag", "choice"):
        text = _flag_text(raw) if f.type == "flag" else _norm_text(raw)
        options = (FLAG_YES, FLAG_NO) if f.type == "flag" else tuple(f.options)
        if text in options:
            return text, []
        return None, [issue("V005", where, value=_show(raw), options="、".join(options), **ctx)]
    if f.type == "count":
        return _count(f, raw, where, ctx)
    if f.type in ("amount", "number", "judged"):
        return _decimal_value(f, raw, where, ctx)
    if f.type == "date":
        d = as_date(raw)
        if d is None:
            return None, [issue("V007", where, value=_show(raw), **ctx)]
        bad = _outside(d, window)
        return (None, [issue("V008", where, value=d.isoformat(), window=bad, **ctx)]) if bad else (d, [])
    return _norm_text(raw), []


def _count(f: Field, raw, where: str, ctx: dict):
    d = _number(raw)
    if d is None or d != d.to_integral_value():
        return None, [issue("V001", where, value=_show(raw), **ctx)]
    low = f.min if f.min is not None else Decimal(0)
    if d < low:
        return None, [issue("V003", where, value=format_number(d), min=format_number(low), **ctx)]
    limit = f.max if f.max is not None else Decimal(IMPLAUSIBLE_COUNT)
    warn = [issue("V009", where, value=format_number(d), limit=format_number(limit), **ctx)] if d > limit else []
    return int(d), warn


def _decimal_value(f: Field, raw, where: str, ctx: dict):
    d = _number(raw)
    if d is None:
        return None, [issue("V002", where, value=_show(raw), **ctx)]
    low = f.min if f.min is not None else (Decimal(0) if f.type in ("amount", "judged") else None)
    if low is not None and d < low:
        return None, [issue("V003", where, value=format_number(d), min=format_number(low), **ctx)]
    if f.max is not None and d > f.max:
        return None, [issue("V004", where, value=format_number(d), max=format_number(f.max), **ctx)]
    if f.type == "judged":
        step = f.step or Decimal("0.5")
        if (d / step) != (d / step).to_integral_value():
            return None, [issue("V006", where, value=format_number(d), step=format_number(step), **ctx)]
    return d, []


def _label(f: Field) -> str:
    return f"（填报项 {f.id}「{f.label}」）"


def _blank(raw) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


def _show(raw) -> str:
    if isinstance(raw, float) and raw.is_integer():
        raw = int(raw)
    if isinstance(raw, datetime):
        return raw.date().isoformat() if raw.time() == datetime.min.time() else raw.isoformat(" ")
    text = str(raw)
    return text if len(text) <= 40 else text[:39] + "…"


def _norm_text(raw) -> str:
    return unicodedata.normalize("NFKC", str(raw)).strip()


def _flag_text(raw) -> str:
    if isinstance(raw, bool):
        return FLAG_YES if raw else FLAG_NO
    return _norm_text(raw)


def _number(raw) -> Decimal | None:
    """A number from a cell: int/float as Decimal (shortest repr), numeric text (full-width digits
    and thousands separators allowed); None for anything else."""
    if raw is None or isinstance(raw, (bool, date)):
        return None
    if isinstance(raw, (int, Decimal)):
        return Decimal(raw)
    if isinstance(raw, float):
        return Decimal(repr(raw)) if raw == raw and abs(raw) != float("inf") else None
    text = _norm_text(raw).replace(",", "")
    if not re.fullmatch(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?", text):
        return None
    try:
        d = Decimal(text)
    except InvalidOperation:
        return None
    return d if d.is_finite() else None


def as_date(raw) -> date | None:
    """A date from a cell: datetime/date, or text like 2021-06-30, 2021/6/30, 2021年6月30日."""
    if isinstance(raw, datetime):
        return raw.date()
    if isinstance(raw, date):
        return raw
    if isinstance(raw, str):
        m = re.fullmatch(r"\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?\s*", raw)
        if m:
            try:
                return date(*map(int, m.groups()))
            except ValueError:
                return None
    return None


def _outside(d: date, window: tuple) -> str:
    """'' when `d` is inside the window, else the window as text."""
    lo, hi = window
    if (lo and d < lo) or (hi and d > hi):
        return f"{lo.isoformat() + '起' if lo else ''}{'至' + hi.isoformat() if hi else ''}"
    return ""


# --- not filled in -----------------------------------------------------------------------

def check_filled(data: ReturnData, rubric: Rubric, unit_type: str, cleaned: dict) -> list[Issue]:
    """V020 when the 自评表 is (nearly) blank: fewer than a tenth of the applicable fields filled,
    or nothing but “否”/0, the values a blank cell is scored as anyway. Such a return is refused
    and the unit stays 未报送 (ledger.BLANK_CODES), however its penalty clauses would score."""
    applies = {i.id: i.applies_to(unit_type) for i in rubric.indicators}
    fields = [f for f in rubric.unit_fields
              if f.id in data.cells and applies.get(f.indicator_id, True)]
    if not fields:
        return []
    filled = [f for f in fields if not _blank(data.values.get(f.id))]
    needed = max(1, int((FILLED_SHARE * len(fields)).to_integral_value(rounding="ROUND_CEILING")))
    said = [f for f in filled if not _as_blank(cleaned.get(f.id), data.values.get(f.id))]
    if len(filled) >= needed and said:
        return []
    detail = "，且全部是“否”或 0" if filled and not said else ""
    return [issue("V020", "自评表", total=len(fields), filled=len(filled), detail=detail,
                  needed=needed)]


def _as_blank(value, raw) -> bool:
    """A filled value that says no more than a blank cell: “否” or zero (a wrong value says
    something: it gets its own error)."""
    if value is None:
        return _blank(raw)
    if isinstance(value, str):
        return value == FLAG_NO
    return isinstance(value, (int, Decimal)) and not isinstance(value, bool) and value == 0


# --- evidence -------------------------------------------------------------------------------

def check_evidence(data: ReturnData, rubric: Rubric, cleaned: dict,
                   evidence_files: list[str] | None = None, unit_type: str = "",
                   score=None) -> list[Issue]:
    """材料编号 per claimed point, numbers that exist in 材料清单, gaps and duplicates there, listed
    files against the files received (when given), 扣分事项 rows for claimed deductions."""
    rows = {}  # 序号 → EvidenceRow
    out = _evidence_list(data, rubric, rows)
    out += _evidence_refs(data, rows)
    out += _claims(data, rubric, cleaned, unit_type, score)
    if evidence_files is not None:
        out += _evidence_files(data, evidence_files)
    return out


def _evidence_list(data: ReturnData, rubric: Rubric, rows: dict) -> list[Issue]:
    out, names = [], {}
    windows = {i.id: (i.window_from, i.window_to) for i in rubric.indicators}
    for e in data.evidence:
        here = f"材料清单!A{e.row}"
        if e.number in rows:
            out.append(issue("E004", here, cell=here, other=f"材料清单!A{rows[e.number].row}",
                             what="序号", value=e.number))
        else:
            rows[e.number] = e
        key = _file_key(e.file_name)
        if key and key in names:
            out.append(issue("E004", f"材料清单!D{e.row}", cell=f"材料清单!D{e.row}",
                             other=f"材料清单!D{names[key]}", what="文件名", value=e.file_name))
        elif key:
            names[key] = e.row
        out += _evidence_date(e, windows)
    numbers = sorted(int(n) for n in rows if n and n.isdigit())
    if numbers:
        gaps = sorted(set(range(1, numbers[-1])) - set(numbers))
        if gaps:
            first = min(e.row for e in data.evidence) - numbers[0] + gaps[0]
            out.append(issue("E003", f"材料清单!B{first}", cell=f"材料清单!B{first}",
                             numbers="、".join(map(str, gaps[:20])) + ("等" if len(gaps) > 20 else "")))
    return out


def _evidence_date(e, windows: dict) -> list[Issue]:
    if e.date is None or (isinstance(e.date, str) and not e.date.strip()):
        return []
    where = f"材料清单!E{e.row}"
    ctx = {"cell": where, "label": f"（材料「{e.title or e.number}」的成文日期）"}
    d = as_date(e.date)
    if d is None:
        return [issue("V007", where, value=_show(e.date), **ctx)]
    ind = (e.indicator or "").split(" ")[0]
    bad = _outside(d, windows.get(ind, (None, None)))
    return [issue("V008", where, value=d.isoformat(), window=bad, **ctx)] if bad else []


def parse_numbers(text: str) -> list[int] | None:
    """材料编号 text → numbers ("1、3、5", "1,3", "2-4"); None when it is not such a list."""
    t = unicodedata.normalize("NFKC", text).strip()
    out = []
    for part in re.split(r"[、,;；\s]+", t):
        if not part:
            continue
        m = re.fullmatch(r"(\d+)(?:[-~～至](\d+))?", part)
        if not m:
            return None
        lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
        if hi < lo or hi - lo > 200:
            return None
        out += range(lo, hi + 1)
    return out or None


def _evidence_refs(data: ReturnData, rows: dict) -> list[Issue]:
    out = []
    for fid, text in data.evidence_refs.items():
        if not text:
            continue
        where = str(data.evidence_cells[fid])
        numbers = parse_numbers(text)
        if numbers is None:
            out.append(issue("E007", where, cell=where, value=text))
            continue
        for n in numbers:
            if str(n) not in rows:
                out.append(issue("E002", where, cell=where, number=n))
    return out


def claimed_clauses(rubric: Rubric, cleaned: dict, unit_type: str = "", score=None) -> list:
    """Clauses the unit claims: scoring points, or waiting for office data with a non-zero input.
    `score`: score_unit of `cleaned` when the caller has it already."""
    score = score or score_unit(rubric, cleaned, unit_type=unit_type)
    out = []
    for c in rubric.clauses:
        res = score.clauses[c.id]
        inputs = [cleaned.get(f.id) for f in c.fields if f.source == "unit"]
        if res.points != 0 or (res.status == PENDING and any(_truthy(v) for v in inputs)):
            out.append(c)
    return out


def _claims(data: ReturnData, rubric: Rubric, cleaned: dict, unit_type: str,
            score=None) -> list[Issue]:
    """Clauses scoring points need a 材料编号 on one of their rows; deductions a 扣分事项 row."""
    listed = {(d.clause or "").split(" ")[0] for d in data.deductions}
    roles = {d.id: g.role for g in rubric.groups for d in rubric.dimensions if d.group == g.id}
    dims = {i.id: i.dimension for i in rubric.indicators}
    out = []
    for c in claimed_clauses(rubric, cleaned, unit_type, score):
        fields = [f.id for f in c.fields if f.source == "unit" and f.id in data.cells]
        if not fields:
            continue
        where = str(data.evidence_cells[fields[0]])
        if roles.get(dims[c.indicator_id]) == "deduction":
            if c.id not in listed:
                cell = str(data.cells[fields[0]])
                out.append(issue("E008", cell, cell=cell, clause=c.id))
        elif not any(data.evidence_refs.get(f) for f in fields):
            out.append(issue("E001", where, cell=where, clause=c.id))
    for d in data.deductions:
        missing = [k for k, v in (("时间", d.when), ("相关主体", d.party), ("事由", d.reason),
                                  ("处理情况", d.handling), ("影响", d.impact), ("对应扣分项", d.clause))
                   if v is None or (isinstance(v, str) and not v.strip())]
        if missing:
            out.append(issue("E009", f"扣分事项!A{d.row}", cell=f"扣分事项!A{d.row}", missing="、".join(missing)))
    return out


def _truthy(v) -> bool:
    if isinstance(v, str):
        return v not in (FLAG_NO, "")
    return bool(v)


def _file_key(name) -> str:
    if not name:
        return ""
    return unicodedata.normalize("NFC", str(name).strip().replace("\\", "/").split("/")[-1]).casefold()


def _evidence_files(data: ReturnData, files: list[str]) -> list[Issue]:
    got = {_file_key(f): f for f in files if _file_key(f) and _file_key(f) != _file_key(data.path.name)}
    listed = {}
    out = []
    for e in data.evidence:
        key = _file_key(e.file_name)
        if not key:
            continue
        listed[key] = e
        if key not in got:
            out.append(issue("E005", f"材料清单!D{e.row}", cell=f"材料清单!D{e.row}", file=e.file_name))
    for key, name in sorted(got.items()):
        if key not in listed:
            out.append(issue("E006", "材料清单", file=name))
    return out


# --- contacts -------------------------------------------------------------------------------

_MOBILE = re.compile(r"1[3-9]\d{9}")
_PHONE = re.compile(r"0\d{2,3}-?\d{7,8}(-\d{1,6})?")


def check_contacts(data: ReturnData) -> list[Issue]:
    """手机 11 digits 1[3-9]; 电话/传真 with area code; email syntax; 姓名 and 职务/职级 present.
    Rows with nothing but the unit's name are no contact: a form with only such rows is K007."""
    out = []
    if not filled_contacts(data.contacts):
        return [issue("K007", data.contact_sheet)] if data.kind == CONTACT_FORM else []
    for c in filled_contacts(data.contacts):
        row = c["_row"]
        at = lambda key: str(contact_cell(data, row, key))  # noqa: E731
        name = _cell_text(c.get("姓名"))
        if not name:
            out.append(issue("K005", at("姓名"), cell=at("姓名")))
        if not _cell_text(c.get("职务/职级")):
            out.append(issue("K006", at("职务/职级"), cell=at("职务/职级"), name=name or ""))
        mobile, phone = _cell_text(c.get("手机")), _cell_text(c.get("电话"))
        if not mobile and not phone:
            out.append(issue("K008", at("手机"), cell=at("手机"), name=name or ""))
        if mobile and not _MOBILE.fullmatch(re.sub(r"^\+?86|[\s\-]", "", mobile)):
            out.append(issue("K001", at("手机"), cell=at("手机"), value=mobile))
        for key, code in (("电话", "K002"), ("传真", "K003")):
            text = _cell_text(c.get(key))
            if text and not _phone_ok(text):
                out.append(issue(code, at(key), cell=at(key), value=text))
        email = _cell_text(c.get("邮箱"))
        if email and not valid_email(email):
            out.append(issue("K004", at("邮箱"), cell=at("邮箱"), value=email))
    return out


def filled_contacts(contacts: list[dict]) -> list[dict]:
    """The contact rows with anything filled besides 单位 (which a county may type on every row)."""
    return [c for c in contacts
            if any(_cell_text(v) for k, v in c.items() if k not in ("单位", "_row"))]


def _cell_text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        v = int(v)
    return unicodedata.normalize("NFKC", str(v)).strip()


def _phone_ok(text: str) -> bool:
    t = re.sub(r"\s", "", text).replace("—", "-").replace("－", "-")
    t = re.sub(r"^[(（](0\d{2,3})[)）]", r"\1-", t)
    return bool(_PHONE.fullmatch(t))


# --- everything -----------------------------------------------------------------------------

def check_return(data: ReturnData, campaign: Campaign, unit_type: str,
                 evidence_files: list[str] | None = None,
                 engine_total: Decimal | None = None,
                 values: tuple | None = None, score=None) -> tuple[dict, list[Issue]]:
    """Identity, tampering, values, evidence and contacts, in that order; (cleaned, issues).
    `values`: check_values' (cleaned, issues) and `score`: score_unit of that cleaned dict, when
    the caller has already computed them (import), so that neither runs twice per return.

    Without `engine_total`, the cached total is compared with the engine's score of the cleaned
    inputs without office parameters (so clauses waiting for office data count 0, as in the
    workbook)."""
    out = check_identity(data, campaign)
    cleaned: dict = {}
    if data.kind == SELF_ASSESSMENT and data.structure == UNRECOGNISED and data.identity is not None:
        out.append(issue("I008", "自评表"))
    elif data.kind == SELF_ASSESSMENT and data.structure != UNRECOGNISED:
        cleaned, value_issues = values or check_values(data, campaign.rubric, unit_type)
        blank = check_filled(data, campaign.rubric, unit_type, cleaned)
        if blank:  # one clear message, not a warning per empty cell
            value_issues = blank + [i for i in value_issues if i.code != "V010"]
        if engine_total is None and not _has_errors(value_issues):
            engine_total = score_unit(campaign.rubric, cleaned, unit_type=unit_type).total
        out += check_tamper(data, engine_total)
        out += value_issues
        if not blank:  # nothing claimed: no evidence to look for
            out += check_evidence(data, campaign.rubric, cleaned, evidence_files, unit_type,
                                  score if values else None)
    elif data.kind == CONTACT_FORM:
        out += check_tamper(data, None)
    out += check_contacts(data)
    return cleaned, out


def _has_errors(issues: list[Issue]) -> bool:
    return any(i.severity == ERROR for i in issues)


__all__ = ["IDENTITY_FLAG_CODES", "check_contacts", "check_evidence", "check_filled",
           "check_identity", "check_return", "check_tamper", "check_values", "claimed_clauses",
           "clean_value", "filled_contacts", "parse_numbers", "unit_for"]
