"""Feedback to a unit whose return has problems, ready to email back (DIR/import/反馈/).

Two files per return: `<code>-<name>-问题清单.xlsx`, a print-ready list of every 错误 and 警告
with the sheet, the cell, what is wrong and how to fix it; and `<code>-<name>-标注.xlsx`, a copy
of their own workbook with each offending cell filled (red: 错误, yellow: 警告) and a comment
holding the message. Everything taken from a return is written as text, never as a formula.
"""
from __future__ import annotations

import os
import re
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .import_status import RECEIPT_CODES
from .layout import CONTACT_FORM_SUFFIX, sanitise
from .ledger import CONTACT_FORM, STATUS_LABELS
from .messages import ERROR, WARNING, Issue

LIST_SUFFIX, MARKED_SUFFIX = "问题清单", "标注"
FONT = "宋体"
# Strong colours: the county's input cells are already light yellow (#FFF2CC).
ERROR_FILL, WARNING_FILL = "FFFF6666", "FFFFFF00"
_COLOR = {ERROR: "#FF6666", WARNING: "#FFFF00"}
COLUMNS = [("序号", 6), ("严重程度", 9), ("工作表", 10), ("单元格", 8), ("问题", 62),
           ("如何修改", 52)]
_CELL = re.compile(r"^'?(?P<sheet>[^!']+)'?!\$?(?P<col>[A-Z]{1,3})\$?(?P<row>\d+)$")
_FIX = re.compile(r"[。；;]\s*(?=请|可|须|如|应|确认|若)")


@dataclass
class FeedbackJob:
    """One return's feedback: what to write and where (picklable, for the pool)."""
    title: str           # "411502 浉河区"
    file_name: str       # the file as received
    status: str          # 退回 / 需人工确认 / 已接收
    issues: list         # [Issue], receipt notes left out
    source: str          # their workbook on disk ("" when it cannot be opened)
    list_path: str
    marked_path: str     # "" when no marked copy is made


def problems(issues: list) -> list[Issue]:
    """The 错误 and 警告 a unit can act on, errors first (the order within each kept)."""
    keep = [i for i in issues if i.severity in (ERROR, WARNING) and i.code not in RECEIPT_CODES]
    return [i for i in keep if i.severity == ERROR] + [i for i in keep if i.severity == WARNING]


def jobs_for(campaign, result) -> list[tuple]:
    """(outcome, FeedbackJob) for every return of this import that has problems (re-imported files get none:
    re-importing changes nothing)."""
    out, used = [], set()
    folder = campaign.layout.feedback_dir
    for o in result.returns:
        if o.already_imported:
            continue
        stem = _stem(o)
        if o.unit_code:
            remove_stale(folder, stem)  # a new version: the old feedback no longer applies
        found = problems(o.issues)
        if not found:
            continue
        n, base = 1, stem
        while stem in used:  # two files of one unit in one batch
            n += 1
            stem = f"{base}-{n}"
        used.add(stem)
        cells = any(locate(i)[1] for i in found)
        marked = str(folder / f"{stem}-{MARKED_SUFFIX}.xlsx") if o.markable and cells else ""
        out.append((o, FeedbackJob(
            f"{o.unit_code} {o.unit_name}" if o.unit_code else "未识别单位", o.name,
            STATUS_LABELS.get(o.status, o.status), found, o.source,
            str(folder / f"{stem}-{LIST_SUFFIX}.xlsx"), marked)))
    return out


def remove_stale(folder: Path, stem: str) -> None:
    """Delete earlier feedback files of one unit's workbook (`<stem>[-n]-问题清单/标注.xlsx`)."""
    pattern = re.compile(rf"{re.escape(stem)}(-\d+)?-({LIST_SUFFIX}|{MARKED_SUFFIX})\.xlsx")
    if folder.is_dir():
        for p in folder.iterdir():
            if pattern.fullmatch(p.name):
                p.unlink(missing_ok=True)


def _stem(o) -> str:
    form = f"-{CONTACT_FORM_SUFFIX}" if o.form == CONTACT_FORM else ""
    if o.unit_code:
        return sanitise(f"{o.unit_code}-{o.unit_name}{form}")
    return sanitise(f"未识别-{PurePosixPath(o.name.split('!')[-1]).stem}")


def write_all(campaign, result, jobs: int = 2) -> list[str]:
    """Write every feedback file of an import (in a process pool); returns their paths."""
    pairs = jobs_for(campaign, result)
    todo = [job for _, job in pairs]
    if not todo:
        return []
    campaign.layout.feedback_dir.mkdir(parents=True, exist_ok=True)
    jobs = max(1, min(jobs, len(todo), os.cpu_count() or 1))
    if jobs == 1:
        written = list(map(write_feedback, todo))
    else:
        with ProcessPoolExecutor(jobs) as pool:
            written = list(pool.map(write_feedback, todo, chunksize=max(1, len(todo) // 16)))
    for (o, _), paths in zip(pairs, written):
        o.feedback = paths
    return [p for paths in written for p in paths]


def write_feedback(job: FeedbackJob) -> list[str]:
    """Both files of one return; the marked copy is skipped if their workbook cannot be
    rewritten (it stays only in the list)."""
    write_issue_list(job, Path(job.list_path))
    out = [job.list_path]
    if job.marked_path:
        try:
            write_marked_copy(Path(job.source), job.issues, Path(job.marked_path))
            out.append(job.marked_path)
        except Exception:  # openpyxl cannot round-trip some files; the list says everything
            Path(job.marked_path).unlink(missing_ok=True)
    return out


def locate(i: Issue) -> tuple[str, str]:
    """(sheet, cell) named by an issue's `where`, or ("", "") for the file as a whole."""
    where = (i.where or "").strip()
    m = _CELL.match(where)
    if m:
        return m.group("sheet"), f"{m.group('col')}{m.group('row')}"
    if where and "!" not in where and "." not in where and "/" not in where:
        return where, ""  # a whole sheet (e.g. rows inserted in 自评表)
    return "", ""


def split_message(text: str) -> tuple[str, str]:
    """'X 不对。请改成 Y。' → ('X 不对。', '请改成 Y。'): the catalogue's texts say the problem first
    and then how to fix it."""
    m = _FIX.search(text)
    if not m:
        return text, ""
    return text[:m.start() + 1], text[m.end():].strip()


# --- 问题清单 (xlsxwriter) -----------------------------------------------------------------------

def write_issue_list(job: FeedbackJob, path: Path) -> None:
    import xlsxwriter
    tmp = path.with_name(f".{path.stem}.tmp")
    book = xlsxwriter.Workbook(str(tmp), {"strings_to_formulas": False, "strings_to_urls": False})
    try:
        ws = book.add_worksheet("问题清单")
        f = _formats(book)
        last = len(COLUMNS) - 1
        for col, (_, width) in enumerate(COLUMNS):
            ws.set_column(col, col, width)
        ws.merge_range(0, 0, 0, last, "", f["title"])
        ws.write_string(0, 0, f"{job.title} 报送问题清单", f["title"])
        ws.merge_range(1, 0, 1, last, "", f["sub"])
        ws.write_string(1, 0, f"文件：{job.file_name}　　处理结果：{job.status}", f["sub"])
        errors = sum(i.severity == ERROR for i in job.issues)
        ws.merge_range(2, 0, 2, last, "", f["note"])
        ws.write_string(2, 0, _advice(errors, len(job.issues) - errors, bool(job.marked_path)),
                        f["note"])
        ws.set_row(0, 28)
        ws.set_row(2, 30)
        for col, (name, _) in enumerate(COLUMNS):
            ws.write_string(3, col, name, f["header"])
        for n, i in enumerate(job.issues, 1):
            _issue_row(ws, 3 + n, n, i, f)
        ws.set_paper(9)
        ws.set_landscape()
        ws.fit_to_pages(1, 0)
        ws.repeat_rows(3)
        ws.freeze_panes(4, 0)
        ws.set_margins(left=0.4, right=0.4, top=0.75, bottom=0.6)
        ws.center_horizontally()
        ws.set_header("&C" + f"{job.title} 报送问题清单".replace("&", "&&")[:200])
        ws.set_footer("&C第 &P 页 共 &N 页")
    finally:
        book.close()
    os.replace(tmp, path)


def _advice(errors: int, warnings: int, marked: bool) -> str:
    parts = []
    if errors:
        parts.append(f"错误 {errors} 项：必须改正后重新报送，改正前不计分")
    if warnings:
        parts.append(f"警告 {warnings} 项：请逐项核实，确有问题的请改正后重新报送")
    text = "；".join(parts) + "。"
    if marked:
        text += "标注了问题单元格的工作簿副本随本清单一并发回（红色为错误，黄色为警告，批注为说明）。"
    return text


def _issue_row(ws, row: int, n: int, i: Issue, f: dict) -> None:
    sheet, cell = locate(i)
    problem, fix = split_message(i.message)
    if not fix:
        fix = "请改正后重新报送。" if i.severity == ERROR else "请核实；确认无误的可不修改。"
    if not cell and i.where and i.where not in problem:
        problem = f"{i.where}：{problem}"
    ws.write_number(row, 0, n, f["center"])
    ws.write_string(row, 1, i.severity, f[i.severity])
    ws.write_string(row, 2, sheet or "（整个文件）", f["center"])
    ws.write_string(row, 3, cell, f["center"])
    ws.write_string(row, 4, f"{problem}（{i.code}）", f["cell"])
    ws.write_string(row, 5, fix, f["cell"])
    ws.set_row(row, 14 * max(_lines(problem, COLUMNS[4][1]), _lines(fix, COLUMNS[5][1])) + 6)


def _lines(text: str, width: int) -> int:
    """Printed lines of `text` in a column `width` characters wide (a Chinese character is two)."""
    units = sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)
    return max(1, -(-units // max(1, width - 2)))


def _formats(book) -> dict:
    base = {"font_name": FONT, "font_size": 10, "valign": "vcenter", "text_wrap": True}
    box = {**base, "border": 1}
    return {
        "title": book.add_format({**base, "font_size": 16, "bold": True, "align": "center"}),
        "sub": book.add_format({**base, "font_size": 10, "align": "center"}),
        "note": book.add_format({**base, "font_size": 10, "font_color": "#7F0000"}),
        "header": book.add_format({**box, "bold": True, "align": "center",
                                   "bg_color": "#D9D9D9"}),
        "cell": book.add_format(box),
        "center": book.add_format({**box, "align": "center"}),
        ERROR: book.add_format({**box, "align": "center", "bold": True,
                                "bg_color": _COLOR[ERROR]}),
        WARNING: book.add_format({**box, "align": "center", "bg_color": _COLOR[WARNING]}),
    }


# --- marked copy (openpyxl keeps their data) ------------------------------------------------------

def write_marked_copy(source: Path, issues: list, path: Path) -> None:
    """Their workbook with every cell an issue names filled and commented; all else unchanged."""
    import openpyxl
    from openpyxl.comments import Comment
    from openpyxl.styles import PatternFill
    book = openpyxl.load_workbook(source, keep_links=False)
    marks: dict = {}
    for i in issues:
        sheet, cell = locate(i)
        if sheet in book.sheetnames and cell:
            marks.setdefault((sheet, cell), []).append(i)
    first = None
    for (sheet, cell), found in marks.items():
        ws = book[sheet]
        worst = ERROR if any(i.severity == ERROR for i in found) else WARNING
        target = ws[cell]
        target.fill = PatternFill("solid", fgColor=ERROR_FILL if worst == ERROR else WARNING_FILL)
        text = "\n".join(f"【{i.severity}】{i.message}" for i in found)
        comment = Comment(text, "市级考核办")
        comment.width, comment.height = 320, min(400, 60 + 18 * (len(text) // 20 + len(found)))
        target.comment = comment
        first = first or (sheet, cell)
    if first:
        book.active = book.sheetnames.index(first[0])
        for ws in book.worksheets:
            ws.sheet_view.tabSelected = ws.title == first[0]
        book[first[0]].sheet_view.selection[0].activeCell = first[1]
        book[first[0]].sheet_view.selection[0].sqref = first[1]
    tmp = path.with_name(f".{path.stem}.tmp")
    book.save(tmp)
    os.replace(tmp, path)
