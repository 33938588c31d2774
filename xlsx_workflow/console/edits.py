"""Page edits written into the office's own workbooks, so the page and the Excel sheets never
disagree: a 核定分 typed in the page goes into review/审核表.xlsx, a figure into
params/市级核定数据.xlsx; the library's writers (`write_review`, `write_params`) then re-write
each sheet in its usual form, and scoring reads only the workbooks, as from the command line.
An uploaded sheet replaces the file after it is checked to be that sheet."""
from __future__ import annotations

import shutil
from pathlib import Path

import openpyxl

from ..campaign import Campaign
from ..messages import WorkflowError, issue
from ..params import (CAMPAIGN_SHEET, FIRST_ROW, UNIT_SHEET, cell_text, to_number,
                      write_params)
from ..review import REQUIRED, SHEET, write_review


def _number_or_text(text: str):
    """What the office typed, as Excel would keep it: a number when it is one."""
    text = (text or "").strip()
    if not text:
        return None
    number = to_number(text)
    if number is None:
        return text
    return int(number) if number == number.to_integral_value() else float(number)


def _save(book, path: Path) -> None:
    tmp = path.with_name(path.stem + ".console.tmp.xlsx")
    try:
        book.save(tmp)
        tmp.replace(path)
    except OSError as e:
        tmp.unlink(missing_ok=True)
        raise WorkflowError([issue("S008", str(path), what=path.stem, path=path, detail=e)])


def save_review(campaign: Campaign, rows: dict, reviewer: str) -> int:
    """Write {(code, clause): (核定分 text, 核定理由)} into the 审核表 (审核人 `reviewer` on the
    rows that changed); returns how many rows changed."""
    path = campaign.layout.review_file
    if not path.exists():
        write_review(campaign.root)
    book = openpyxl.load_workbook(path)
    ws = book[SHEET]
    header = {cell_text(c.value): c.column for c in ws[1]}
    changed = 0
    for r in range(2, ws.max_row + 1):
        key = (cell_text(ws.cell(r, header["单位代码"]).value),
               cell_text(ws.cell(r, header["条款编号"]).value))
        if key not in rows:
            continue
        points, reason = rows[key]
        old = (cell_text(ws.cell(r, header["核定分"]).value),
               cell_text(ws.cell(r, header["核定理由"]).value))
        if old == ((points or "").strip(), (reason or "").strip()):
            continue
        ws.cell(r, header["核定分"]).value = _number_or_text(points)
        ws.cell(r, header["核定理由"]).value = (reason or "").strip() or None
        ws.cell(r, header["审核人"]).value = reviewer.strip() or None
        changed += 1
    if changed:
        _save(book, path)  # the next scoring reads it and re-writes the sheet (fresh.compute)
    return changed


def save_params(campaign: Campaign, per_unit: dict, per_campaign: dict) -> int:
    """Write {code: {id: text}} and {id: text} into the 市级核定数据表; returns cells changed."""
    path = campaign.layout.params_file
    if not path.exists():
        write_params(campaign.root)
    book = openpyxl.load_workbook(path)
    changed = 0
    if UNIT_SHEET in book.sheetnames:
        ws = book[UNIT_SHEET]
        cols = {cell_text(ws.cell(2, c).value): c for c in range(3, ws.max_column + 1)}
        for r in range(FIRST_ROW, ws.max_row + 1):
            for fid, text in per_unit.get(cell_text(ws.cell(r, 1).value), {}).items():
                if fid in cols:
                    changed += _put(ws.cell(r, cols[fid]), text)
    if CAMPAIGN_SHEET in book.sheetnames:
        ws = book[CAMPAIGN_SHEET]
        for r in range(2, ws.max_row + 1):
            pid = cell_text(ws.cell(r, 1).value)
            if pid in per_campaign:
                changed += _put(ws.cell(r, 4), per_campaign[pid])
    if changed:
        _save(book, path)
        write_params(campaign.root)
    return changed


def _put(cell, text: str) -> int:
    if cell_text(cell.value) == (text or "").strip():
        return 0
    cell.value = _number_or_text(text)
    return 1


def replace_review(campaign: Campaign, uploaded: Path, name: str) -> None:
    """Take an uploaded 审核表.xlsx in place of the current one (after checking its header)."""
    _check_sheet(uploaded, name, SHEET, [h for h in REQUIRED], "审核表")
    _replace(uploaded, campaign.layout.review_file)


def replace_params(campaign: Campaign, uploaded: Path, name: str) -> None:
    """Take an uploaded 市级核定数据.xlsx in place of the current one."""
    _check_sheet(uploaded, name, UNIT_SHEET, ["代码"], "市级核定数据表")
    _replace(uploaded, campaign.layout.params_file)


def _check_sheet(path: Path, name: str, sheet: str, headers: list[str], what: str) -> None:
    try:
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    except Exception:  # any unreadable upload: one message naming the file, in Chinese
        raise WorkflowError([issue("W010", file=name, what=what,
                                   detail="不是 .xlsx 工作簿，或文件已损坏")])
    try:
        problem = ""
        if sheet not in book.sheetnames:
            problem = f"没有“{sheet}”工作表"
        else:
            first = next(book[sheet].iter_rows(max_row=1, values_only=True), ())
            lost = [h for h in headers if h not in {cell_text(v) for v in first}]
            problem = f"表头缺少“{'”“'.join(lost)}”" if lost else ""
    finally:
        book.close()
    if problem:
        raise WorkflowError([issue("W010", file=name, what=what, detail=problem)])


def _replace(uploaded: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    if target.exists():
        shutil.copy2(target, target.with_name(target.stem + ".上传前备份.xlsx"))
    tmp = target.with_name(target.stem + ".console.tmp.xlsx")
    shutil.copyfile(uploaded, tmp)
    tmp.replace(target)


__all__ = ["save_review", "save_params", "replace_review", "replace_params"]
