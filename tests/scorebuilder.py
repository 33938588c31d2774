"""Campaigns with returns in a real ledger, and edits of the office's workbooks as a person makes
them (openpyxl, save): for the params / score / review tests."""
from __future__ import annotations

import hashlib
import json
import random
from datetime import datetime, timedelta, timezone

import openpyxl

from xlsx_workflow.campaign import init_campaign
from xlsx_workflow.ledger import ACCEPTED, SELF_ASSESSMENT, Ledger, ReturnRecord
from xlsx_workflow.params import CAMPAIGN_SHEET, FIRST_ROW, UNIT_SHEET
from xlsx_workflow.review import CONFIRM_SHEET, SHEET
from xlsx_workflow.rubric.sample import random_inputs, random_params

RUBRICS = ["ip-protection-2021", "anti-counterfeit-2021"]
T0 = datetime(2022, 5, 20, 9, 0, tzinfo=timezone.utc)


def make_campaign(root, rubric_id: str, units_file=None):
    return init_campaign(root, rubric_id, units_file)


def sample(camp, seed: int = 3) -> dict:
    """Random valid inputs for every unit of the campaign, by unit code."""
    rng = random.Random(seed)
    return {u.code: random_inputs(camp.rubric, rng, blank_rate=0) for u in camp.units}


def record(camp, returns: list, at: datetime = T0, kind: str = SELF_ASSESSMENT) -> None:
    """One import of `returns` = [(unit code, status, values)], all received at `at`."""
    with Ledger(camp.layout.ledger_file, camp.deadlines.get("materials")) as led:
        batch = led.begin_import(["test"])
        for n, (code, status, values) in enumerate(returns):
            text = json.dumps([code, status, values, str(at), kind, n], default=str)
            sha = hashlib.sha256(text.encode()).hexdigest()
            led.record_return(batch, ReturnRecord(sha, f"{code}.xlsx", at, status, code,
                                                  values=values, kind=kind))
        led.finish_import(batch)


def record_all(camp, inputs: dict, skip=(), at: datetime = T0) -> None:
    record(camp, [(code, ACCEPTED, v) for code, v in inputs.items() if code not in skip], at)


def later(hours: int) -> datetime:
    return T0 + timedelta(hours=hours)


def full_params(camp, seed: int = 5) -> tuple[dict, dict]:
    """Valid office figures: ({code: {id: value}}, {id: value})."""
    rng = random.Random(seed)
    per_unit = {}
    for u in camp.units:
        values = random_params(camp.rubric, rng)
        per_unit[u.code] = {p.id: values[p.id] for p in camp.rubric.params if p.scope != "campaign"}
    values = random_params(camp.rubric, rng)
    return per_unit, {p.id: values[p.id] for p in camp.rubric.params if p.scope == "campaign"}


def fill_params(path, per_unit: dict, per_campaign: dict | None = None) -> None:
    """Type figures into 市级核定数据.xlsx as the office would (ids from row 2)."""
    book = openpyxl.load_workbook(path)
    ws = book[UNIT_SHEET]
    cols = {ws.cell(2, c).value: c for c in range(3, ws.max_column + 1)}
    rows = {ws.cell(r, 1).value: r for r in range(FIRST_ROW, ws.max_row + 1)}
    for code, values in per_unit.items():
        for fid, v in values.items():
            ws.cell(rows[code], cols[fid]).value = _cell(v)
    cs = book[CAMPAIGN_SHEET]
    crow = {cs.cell(r, 1).value: r for r in range(2, cs.max_row + 1)}
    for pid, v in (per_campaign or {}).items():
        cs.cell(crow[pid], 4).value = _cell(v)
    book.save(path)


def _cell(v):
    from decimal import Decimal
    return float(v) if isinstance(v, Decimal) else v


def _review_sheets(book):
    """The 市级确认 sheet (when there is one) and the 审核表 sheet."""
    return [book[n] for n in (CONFIRM_SHEET, SHEET) if n in book.sheetnames]


def review_rows(path) -> dict:
    """{(unit code, clause id): {header: value}} of the 审核表 (both sheets)."""
    out = {}
    for ws in _review_sheets(openpyxl.load_workbook(path)):
        head = [c.value for c in ws[1]]
        for row in ws.iter_rows(min_row=2, values_only=True):
            d = dict(zip(head, row))
            out[(d["单位代码"], d["条款编号"])] = d
    return out


def edit_review(path, edits: dict) -> None:
    """edits: {(code, clause): (核定分, 核定理由, 审核人)} — None leaves a cell blank."""
    book = openpyxl.load_workbook(path)
    for ws in _review_sheets(book):
        head = {c.value: c.column for c in ws[1]}
        for r in range(2, ws.max_row + 1):
            key = (ws.cell(r, head["单位代码"]).value, ws.cell(r, head["条款编号"]).value)
            if key in edits:
                for name, v in zip(("核定分", "核定理由", "审核人"), edits[key]):
                    ws.cell(r, head[name]).value = v
    book.save(path)
