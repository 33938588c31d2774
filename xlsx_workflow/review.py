"""Stage `review`: the 审核表 workbook (one row per unit and clause) and what `score` makes of it.

A reviewer's 核定分 wins over the system's score (engine `Override`); one that differs from the
system score shown in its row needs a 核定理由. Every review decision is kept in the ledger's
`reviews` table once (who, when, old → new, why). The ledger also remembers which system score a
decision was made against: when a unit's newer return changes that score, the clause is flagged
for review again until the reviewer touches the row (a changed 核定分, 理由 or 审核人 is a new
decision, made against the system score the row shows).
"""
from __future__ import annotations

import math
import zipfile
import zlib
from sys import intern
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Optional

from xlsxwriter.utility import xl_col_to_name

from .campaign import Campaign
from .engine import NOT_APPLICABLE, Override
from .ledger import Ledger
from .messages import Issue, WorkflowError, issue
from .params import (cell_text, formats, new_workbook, save, to_number,
                     write_value)
from .results import ReviewRecord
from . import review_cache
from .value_rows import ValueBook
from .workbook.checked import FastWorksheet
from .rubric.expr import format_number

SHEET = "审核表"
CONFIRM_SHEET = "市级确认"   # office_review clauses of every unit, first, to confirm in one pass
WHAT = "审核表"
# (header, width); the three input columns are the only unlocked ones.
COLUMNS = [("单位代码", 9), ("单位", 11), ("指标", 22), ("条款编号", 9), ("条款", 42), ("满分", 6),
           ("自评分", 7), ("系统计算分", 9), ("计算说明", 36), ("核定分", 8), ("核定理由", 28),
           ("审核人", 9), ("审核状态", 26)]
INPUTS = ("核定分", "核定理由", "审核人")
REQUIRED = ("单位代码", "条款编号", "系统计算分", *INPUTS)
COL = {name: i for i, (name, _) in enumerate(COLUMNS)}
RECHECK, REVIEWED, CLEARED = "需重新审核", "已核定", "核定分已清除"


@dataclass(slots=True)
class ReviewEntry:
    """One row of the 审核表 as the reviewer left it. Slotted and without a per-row dict: a
    3,000-unit 审核表 has some 138,000 rows, and every one is read (issue 13)."""
    unit_code: str
    clause_id: str
    row: int
    raw_points: object = None      # the 核定分 cell as read (kept as is when re-written)
    reason: str = ""
    reviewer: str = ""
    shown: Optional[Decimal] = None  # 系统计算分 shown in the row (read for touched rows only)
    points: Optional[Decimal] = None
    sheet: str = SHEET
    letters: dict = field(default_factory=dict)  # column name → letter, one dict per sheet
    problem: str = ""              # why the row is not applied (for the status column)

    @property
    def touched(self) -> bool:
        return self.raw_points not in (None, "") or bool(self.reason or self.reviewer)

    def cell(self, column: str) -> str:
        """Where a column of this row is, e.g. "审核表!J5"."""
        return f"{self.sheet}!{self.letters.get(column, '')}{self.row}"


@dataclass
class Flag:
    """A reviewed clause whose system score changed after the review."""
    unit_code: str
    clause_id: str
    basis: Decimal                 # the system score the decision was made against
    computed: Decimal              # the system score now
    issue: Optional[Issue] = None  # the S012 warning


@dataclass
class ReviewResult:
    path: Path
    rows: int
    kept: int                      # rows whose reviewer entries were carried over
    flagged: int
    issues: list = field(default_factory=list)  # what scoring said (params, review rows)

    def to_json(self) -> dict:
        return {"files": [str(self.path)], "rows": self.rows, "kept": self.kept,
                "flagged": self.flagged, "issues": [i.to_dict() for i in self.issues]}


def unit_labels(campaign: Campaign) -> dict:
    """{code: "名称（代码）"} of every unit, built once per call site (not one scan per row)."""
    return {u.code: f"{u.name}（{u.code}）" if u.name else u.code for u in campaign.units}


# --- reading the sheet ---------------------------------------------------------------------------

def read_review_entries(campaign: Campaign) -> tuple[dict, list[Issue]]:
    """Every row of the 审核表 (both sheets) by (unit code, clause id); ({}, []) when there is
    no file yet. The 市级确认 sheet may be missing (a file written before it existed)."""
    path = campaign.layout.review_file
    if not path.exists():
        return {}, []
    try:
        key = review_cache.file_key(path)
    except OSError as e:
        raise WorkflowError([issue("S007", str(path), what=WHAT, path=path,
                                   detail=f"{type(e).__name__}: {e}"[:200],
                                   command="review")]) from e
    cache = campaign.layout.review_cache_file
    kept = review_cache.load(cache, key[0], REQUIRED, _kept_entry)
    if kept is not None:  # the same bytes as last read: the same rows (review_cache.py)
        return kept, []
    out, issues = _read_entries(path)
    if not issues and review_cache.unchanged(path, key):
        review_cache.store(cache, key[0], REQUIRED, out)
    return out, issues


def _kept_entry(code: str, cid: str, row: int, raw, reason: str, reviewer: str,
                shown: Optional[Decimal], sheet: str, letters: dict) -> ReviewEntry:
    return ReviewEntry(code, cid, row, raw, reason, reviewer, shown, None, sheet, letters)


def _read_entries(path: Path) -> tuple[dict, list[Issue]]:
    # Streamed row by row: a full openpyxl load of 138,000 rows took over 1 GB, its read-only
    # mode some 12 ms per unit (issue 13).
    try:
        book = ValueBook(path)
    except Exception as e:  # a corrupt or foreign file: one clear message, never a traceback
        raise WorkflowError([issue("S007", str(path), what=WHAT, path=path,
                                   detail=f"{type(e).__name__}: {e}"[:200],
                                   command="review")]) from e
    out, issues = {}, []
    try:
        for name in (CONFIRM_SHEET, SHEET):
            if name == SHEET or name in book.sheetnames:
                issues += _read_sheet(book if name in book.sheetnames else None, name, out)
    except (ValueError, KeyError, IndexError, TypeError, OSError, SyntaxError, EOFError,
            zipfile.BadZipFile, zlib.error) as e:  # a sheet is read as it streams
        raise WorkflowError([issue("S007", str(path), what=WHAT, path=path,
                                   detail=f"{type(e).__name__}: {e}"[:200],
                                   command="review")]) from e
    finally:
        book.close()
    return out, issues


def _read_sheet(book: Optional[ValueBook], name: str, out: dict) -> list[Issue]:
    header = {}
    if book is not None:
        first = book.rows(name)
        header = {cell_text(v): c for c, v in enumerate(next(first, ()), 1)}
        first.close()
    lost = [col for col in REQUIRED if col not in header]
    if lost:
        return [issue("S009", name, what=f"{WHAT}“{name}”" if name != SHEET else WHAT,
                      columns="”“".join(lost), command="review")]
    rows = book.rows(name, {header[col] for col in REQUIRED})  # only the columns read below
    next(rows, None)  # the header row, read above
    letters = {col: xl_col_to_name(c - 1) for col, c in header.items()}
    at = {col: header[col] - 1 for col in REQUIRED}
    for r, values in enumerate(rows, 2):
        get = {col: values[c] if c < len(values) else None for col, c in at.items()}
        code, cid = cell_text(get["单位代码"]), cell_text(get["条款编号"])
        if not code or not cid:
            continue
        e = ReviewEntry(intern(code), intern(cid), r, get["核定分"], cell_text(get["核定理由"]),
                        cell_text(get["审核人"]), None, None, name, letters)
        if e.touched:  # the shown score only matters where a reviewer decided
            e.shown = to_number(get["系统计算分"])
        out[(e.unit_code, e.clause_id)] = e
    return []


def check_entries(campaign: Campaign, entries: dict, scored: set) -> tuple[dict, list[Issue]]:
    """The rows that apply: {code: {clause: entry}}; bad rows are named (S010, S011, S013)."""
    clauses = {c.id: c for c in campaign.rubric.clauses}
    out: dict = {}
    issues = []
    labels = unit_labels(campaign)
    for (code, cid), e in entries.items():
        if e.raw_points in (None, ""):
            continue
        unit = labels.get(code, code)
        if cid not in clauses or code not in scored:
            issues.append(issue("S013", e.cell("核定分"), row=e.row, unit_code=code, clause=cid))
            continue
        top, low = clauses[cid].max, min(Decimal(0), clauses[cid].floor)
        e.points = to_number(e.raw_points)
        if e.points is None or e.points < low or e.points > top:
            e.points, e.problem = None, "核定分无效"
            issues.append(issue("S011", e.cell("核定分"), unit=unit, clause=cid,
                                value=cell_text(e.raw_points), max=format_number(top),
                                min=format_number(low)))
        elif e.points != e.shown and not e.reason:
            e.problem = "核定分与系统计算分不同，须填写核定理由"
            issues.append(issue("S010", e.cell("核定分"), unit=unit, clause=cid,
                                new=format_number(e.points),
                                old=format_number(e.shown) if e.shown is not None else "（空）",
                                reason_cell=e.cell("核定理由")))
        else:
            out.setdefault(code, {})[cid] = e
    return out, issues


def unconfirmed(campaign: Campaign, scores: dict, valid: dict) -> list[Issue]:
    """One warning (S020) for the office_review clauses no reviewer has confirmed yet: their
    points rest on the unit's own account (少报次数, 判无罪件数, 自评分 …)."""
    review = [c for c in campaign.rubric.clauses if c.office_review]
    open_rows = [(code, c.id) for code in sorted(scores) for c in review
                 if scores[code].clauses[c.id].status != NOT_APPLICABLE
                 and c.id not in valid.get(code, {})]
    if not open_rows:
        return []
    units = sorted({code for code, _ in open_rows})
    clauses = [c.id for c in review if any(cid == c.id for _, cid in open_rows)]
    return [issue("S020", f"{WHAT}“{CONFIRM_SHEET}”", count=len(open_rows), units=len(units),
                  clauses="、".join(clauses))]


def overrides_of(valid: dict) -> dict:
    """{code: {clause: Override}} for the engine."""
    return {code: {cid: Override(e.points, e.reason, e.reviewer) for cid, e in rows.items()}
            for code, rows in valid.items()}


def read_review(campaign: Campaign) -> tuple[dict, list[Issue]]:
    """The reviewers' scores as engine overrides, and the rows that cannot apply."""
    entries, issues = read_review_entries(campaign)
    valid, more = check_entries(campaign, entries, {u.code for u in campaign.units})
    return overrides_of(valid), issues + more


# --- the ledger's record of decisions ----------------------------------------------------------

def _latest(led: Ledger) -> dict:
    rows = led.db.execute("SELECT * FROM reviews ORDER BY id").fetchall()
    return {(r["unit_code"], r["clause_id"]): r for r in rows}


def _dec(text) -> Optional[Decimal]:
    return None if text is None else Decimal(text)


def _same(prev, e: ReviewEntry) -> bool:
    return (prev is not None and _dec(prev["new"]) == e.points and prev["reason"] == e.reason
            and prev["reviewer"] == e.reviewer)


def reconcile(led: Ledger, campaign: Campaign, entries: dict, valid: dict, scores: dict,
              return_ids: dict, record: bool = True) -> tuple[list[Flag], list[Issue]]:
    """Record new decisions in the ledger (once) and flag the stale ones (S012, S014)."""
    latest, flags, issues, new_rows = _latest(led), [], [], []
    labels = unit_labels(campaign)
    at = datetime.now(timezone.utc).isoformat(timespec="seconds")
    for code, rows in valid.items():
        for cid, e in rows.items():
            prev = latest.get((code, cid))
            computed = scores[code].clauses[cid].computed
            same = _same(prev, e)
            basis = _dec(prev["old"]) if same else (e.shown if e.shown is not None else computed)
            if not same:
                new_rows.append((code, cid, basis, e.points, e.reason, e.reviewer))
            if not same and record:
                issues.append(issue("S014", e.cell("核定分"), unit=labels.get(code, code),
                                    clause=cid, old=format_number(basis),
                                    new=format_number(e.points), reviewer=e.reviewer or "未填",
                                    reason=e.reason or "与系统计算分一致"))
            if basis is not None and basis != computed:
                warn = issue("S012", e.cell("核定分"), unit=labels.get(code, code),
                             clause=cid, old=format_number(basis), new=format_number(computed),
                             points=format_number(e.points), reviewer=e.reviewer or "未填")
                flags.append(Flag(code, cid, basis, computed, warn))
                issues.append(warn)
    new_rows += _cleared(entries, latest, scores)
    if record and new_rows:
        _append(led, [(*row, at, return_ids.get(row[0])) for row in new_rows])
    return flags, issues


def _cleared(entries: dict, latest: dict, scores: dict) -> list:
    """Rows whose 核定分 was emptied after a recorded decision: the system score applies again."""
    out = []
    for (code, cid), e in entries.items():
        prev = latest.get((code, cid))
        if (e.raw_points in (None, "") and prev is not None and prev["new"] is not None
                and code in scores):
            out.append((code, cid, _dec(prev["new"]), None, e.reason or CLEARED, e.reviewer))
    return out


def _append(led: Ledger, rows: list) -> None:
    led.db.execute("BEGIN IMMEDIATE")
    try:
        led.db.executemany(
            "INSERT INTO reviews (unit_code, clause_id, old, new, reason, reviewer, at,"
            " return_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [(c, k, None if o is None else str(o), None if n is None else str(n), why, who, at,
              rid) for c, k, o, n, why, who, at, rid in rows])
        led.db.execute("COMMIT")
    except BaseException:
        led.db.execute("ROLLBACK")
        raise


def ledger_reviews(led: Ledger) -> list[ReviewRecord]:
    """Every decision in the ledger, oldest first."""
    return [ReviewRecord(r["unit_code"], r["clause_id"], _dec(r["old"]), _dec(r["new"]),
                         r["reason"], r["reviewer"], datetime.fromisoformat(r["at"]))
            for r in led.db.execute("SELECT * FROM reviews ORDER BY id")]


# --- writing the sheet -------------------------------------------------------------------------

def write_review(campaign_dir) -> ReviewResult:
    """Write DIR/review/审核表.xlsx for every scored unit, keeping the reviewers' entries."""
    from .score import run_score
    run = run_score(campaign_dir, apply_review=False, record=False, write=False)
    camp = run.result.campaign
    path = camp.layout.review_file
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.stem + ".tmp.xlsx")
    wb = new_workbook(tmp, camp, WHAT, constant_memory=True)  # rows go to disk as written
    fmt = formats(wb)
    n = kept = 0
    for name in (CONFIRM_SHEET, SHEET):
        wanted = (lambda c: c.office_review) if name == CONFIRM_SHEET else (
            lambda c: not c.office_review)
        rows = [(u, c) for u in _in_unit_order(camp, run.result.scored)
                for c in camp.rubric.clauses if wanted(c)
                and u.score.clauses[c.id].status != NOT_APPLICABLE]
        if name == CONFIRM_SHEET and not rows:
            continue
        got, was_kept = _write_sheet(wb.add_worksheet(name, FastWorksheet), rows, run, fmt)
        n, kept = n + got, kept + was_kept
    save(wb, tmp, path, WHAT)
    return ReviewResult(path, n, kept, len(run.flags), run.issues)


def _in_unit_order(camp: Campaign, scored: list) -> list:
    order = {u.code: k for k, u in enumerate(camp.units)}
    return sorted(scored, key=lambda u: order[u.code])  # the unit list's order


def _write_sheet(ws, rows: list, run, fmt: dict) -> tuple[int, int]:
    """One review sheet: a row per (unit, clause); returns (rows, rows with reviewer entries)."""
    flags = {(f.unit_code, f.clause_id): f for f in run.flags}
    names = {i.id: f"{i.id} {i.name}" for i in run.result.rubric.indicators}
    kept = 0
    _header(ws, fmt)  # row 0 first: in constant_memory mode rows are written in order
    for n, (unit, c) in enumerate(rows, start=1):
        e = run.entries.get((unit.code, c.id))
        kept += bool(e and e.touched)
        _write_row(ws, n, unit, c, names[c.indicator_id], unit.score.clauses[c.id], e,
                   flags.get((unit.code, c.id)), fmt)
    _finish_sheet(ws, [min(Decimal(0), c.floor) for _, c in rows], fmt)
    return len(rows), kept


def _write_row(ws, r: int, unit, clause, indicator: str, res, e: Optional[ReviewEntry], flag,
               fmt) -> None:
    values = [unit.code, unit.name, indicator, clause.id, clause.text, clause.max,
              unit.self_scores.get(clause.id), res.computed, res.explanation]
    for j, v in enumerate(values):
        write_value(ws, r, j, v, fmt["center"] if j in (0, 3, 5, 6, 7) else fmt["cell"])
    write_value(ws, r, COL["核定分"], e.raw_points if e and e.raw_points != "" else None,
                fmt["input"])
    write_value(ws, r, COL["核定理由"], (e.reason if e else "") or None, fmt["input_text"])
    write_value(ws, r, COL["审核人"], (e.reviewer if e else "") or None, fmt["input_text"])
    status, style = _status(clause, res, e, flag)
    ws.write_string(r, COL["审核状态"], status, fmt[style])
    ws.set_row(r, row_height([*enumerate(values), (COL["核定理由"], e.reason if e else ""),
                              (COL["审核状态"], status)]))


def _points_validation(ws, floors: list) -> None:
    """核定分 between the row's floor and its 满分, one validation per run of equal floors."""
    j, start = COL["核定分"], 0
    for k in range(1, len(floors) + 1):
        if k < len(floors) and floors[k] == floors[start]:
            continue
        low = format_number(floors[start])
        ws.data_validation(start + 1, j, k, j, {
            "validate": "decimal", "criteria": "between", "minimum": float(floors[start]),
            "maximum": f"=$F{start + 2}",
            "input_title": "核定分",
            "input_message": f"{low} 到该条款满分之间；与系统计算分不同时须填写核定理由。",
            "error_title": "核定分有误",
            "error_message": f"核定分应为 {low} 到该条款满分（“满分”列）之间的数字。"})
        start = k


def row_height(cells: list) -> float:
    """No spreadsheet program sizes wrapped rows of a generated file by itself: estimate the
    lines of the longest (column, text) cell (a CJK character is about 1.8 width units)."""
    lines = 1
    for col, text in cells:
        if isinstance(text, str) and text:
            lines = max(lines, math.ceil(_width_units(text) / (COLUMNS[col][1] - 1)))
    return 13.5 * lines + 3


@lru_cache(maxsize=1 << 16)
def _width_units(text: str) -> float:
    """Width units of a text, kept per text: clause texts and explanations recur in every
    unit's rows (a seventh of write_review's time before; issue 13)."""
    return sum(1.8 if ord(ch) > 0x2E80 else 1.0 for ch in text)


def _status(clause, res, e: Optional[ReviewEntry], flag: Optional[Flag]) -> tuple[str, str]:
    if flag is not None:
        return (f"{RECHECK}：核定后系统计算分由 {format_number(flag.basis)} 分变为 "
                f"{format_number(flag.computed)} 分", "flagged")
    if e is not None and e.problem:
        return e.problem, "flagged"
    if e is not None and e.points is not None:
        return REVIEWED, "cell"
    if clause.office_only:
        return "市级核定项：核实存在虚假报送或隐瞒的，核定分填满分", "cell"
    if clause.office_review:
        return ("待市级确认：核实单位填报的情况后填写核定分（属实的填系统计算分，"
                "不属实的填核定分并写明理由）"), "flagged"
    if res.status == "pending":
        return "待市级核定", "cell"
    return "", "cell"


def _header(ws, fmt: dict) -> None:
    for j, (name, width) in enumerate(COLUMNS):
        ws.write_string(0, j, name, fmt["header"])
        ws.set_column(j, j, width)


def _finish_sheet(ws, floors: list, fmt: dict) -> None:
    """Header, validation, protection and print setup; `floors` = each row's lowest 核定分 (0,
    or below 0 for a deduction clause such as 每少报1次扣0.1分)."""
    n = len(floors)
    if n:
        _points_validation(ws, floors)
        ws.conditional_format(1, COL["核定理由"], n, COL["核定理由"], {
            "type": "formula", "criteria": '=AND($J2<>"",$J2<>$H2,$K2="")',
            "format": fmt["flagged"]})
        ws.autofilter(0, 0, n, len(COLUMNS) - 1)
    ws.freeze_panes(1, 4)
    ws.set_landscape()
    ws.set_paper(9)                     # A4
    ws.fit_to_pages(1, 0)               # one page wide
    ws.repeat_rows(0)
    ws.set_margins(left=0.4, right=0.4, top=0.6, bottom=0.6)
    ws.set_footer("&C第 &P 页，共 &N 页")
    ws.protect("", {"autofilter": True, "sort": False, "format_columns": True,
                    "format_rows": True})


__all__ = ["CONFIRM_SHEET", "Flag", "ReviewEntry", "ReviewResult", "check_entries",
           "ledger_reviews", "overrides_of", "read_review", "read_review_entries", "reconcile",
           "unconfirmed", "write_review"]
