"""What a county types into its workbook, for `simulate`: values by quality tier, the evidence
list, deduction entries, contacts, and the typical mistakes; and writing all that through
openpyxl into the generated workbook's input cells (the DESIGN contract columns).

Every choice comes from the `random.Random` handed in, so a seed gives the same fill.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Optional

import openpyxl

from .layout import sanitise
from .messages import CATALOGUE
from .engine import PENDING, score_unit
from .rubric.model import FLAG_NO, FLAG_YES, Clause, Field, Rubric
from .rubric.sample import _points, full_marks_inputs, random_inputs
from .workbook import sheets

EXCELLENT, AVERAGE, WEAK = "excellent", "average", "weak"
TIER_NAMES = {EXCELLENT: "优", AVERAGE: "中", WEAK: "差"}
GOOD_RATE = {EXCELLENT: 0.93, AVERAGE: 0.62, WEAK: 0.3}        # a field filled for full points
DEDUCTION_RATE = {EXCELLENT: 0.0, AVERAGE: 0.08, WEAK: 0.35}  # a deduction happened
EXTENSIONS = (".pdf", ".pdf", ".pdf", ".docx", ".txt")
MATERIAL_KINDS = ("工作总结", "会议纪要", "印发文件", "工作台账", "情况说明", "活动照片及说明")

# Mistake kinds (ids in the result; the importer's codes in brackets)
COUNT_TEXT = "count_text"                    # "3次" in a count cell (V001)
JUDGED_STEP = "judged_step"                  # self-score 2.3, not a 0.5 step (V006)
CLAIM_WITHOUT_EVIDENCE = "claim_without_evidence"  # points claimed, no 材料编号 (E001)
EVIDENCE_NOT_LISTED = "evidence_not_listed"  # 材料编号 not in 材料清单 (E002)
EVIDENCE_FILE_MISSING = "evidence_file_missing"    # listed file not sent (E005)
EXPECTED_CODES = {COUNT_TEXT: "V001", JUDGED_STEP: "V006", CLAIM_WITHOUT_EVIDENCE: "E001",
                  EVIDENCE_NOT_LISTED: "E002", EVIDENCE_FILE_MISSING: "E005"}
MISTAKE_NAMES = {COUNT_TEXT: "计数填成文字", JUDGED_STEP: "自评分不是0.5的倍数",
                 CLAIM_WITHOUT_EVIDENCE: "得分未填材料编号", EVIDENCE_NOT_LISTED: "材料编号不在材料清单中",
                 EVIDENCE_FILE_MISSING: "材料清单所列文件未报送"}

# The input columns as generate writes them (without 序号 and 备注), found by header name.
EVIDENCE_COLUMNS = tuple(n for n, _ in sheets.EVIDENCE_COLUMNS[1:6])  # 材料名称 … 页数
DEDUCTION_COLUMNS = tuple(n for n, _ in sheets.DEDUCTION_COLUMNS[1:])  # 时间 … 对应扣分项
CONTACT_COLUMNS = tuple(n for n, _ in sheets.CONTACT_COLUMNS)         # 单位 … 邮箱
SURNAMES = "王李张刘陈杨黄赵周吴徐孙马朱胡郭何林罗高"
GIVEN = ("伟", "芳", "娜", "敏", "静", "磊", "洋", "艳", "勇", "军", "杰", "涛", "明", "超", "华", "丽")
TITLES = ("科员", "一级科员", "副科长", "科长", "四级主任科员", "副局长")


@dataclass
class Material:
    """One 材料清单 row and the file it names."""
    number: int
    title: str
    indicator: str  # "1 研究部署…", as the 对应指标 drop-down offers it
    file_name: str
    written: date
    pages: int
    sent: bool = True  # False: listed but not sent (a mistake)


@dataclass
class Mistake:
    kind: str
    field: str = ""
    cell: str = ""     # e.g. 自评表!E23, filled in when written
    value: str = ""

    @property
    def code(self) -> str:
        """The message code the import checks should give for it."""
        return EXPECTED_CODES[self.kind]

    @property
    def severity(self) -> str:
        return CATALOGUE.get(self.code, ("",))[0]

    @property
    def text(self) -> str:
        what = MISTAKE_NAMES[self.kind]
        return f"{what}（{self.field}「{self.value}」）" if self.field else f"{what}（{self.value}）"

    def to_json(self) -> dict:
        return {"kind": self.kind, "field": self.field, "cell": self.cell, "value": self.value,
                "code": self.code, "severity": self.severity, "description": self.text}


@dataclass
class Fill:
    """Everything one return holds: cell values (as typed), 材料编号 texts and the other sheets."""
    inputs: dict                 # field id → intended value (engine form)
    cells: dict                  # field id → value written into 填报值
    refs: dict                   # field id → 材料编号 text
    materials: list[Material]
    deductions: list[tuple]      # (时间, 相关主体, 事由, 处理情况, 影响, 对应扣分项)
    contact: tuple               # (单位, 姓名, 职务/职级, 电话, 手机, 传真, 邮箱)
    mistakes: list[Mistake] = field(default_factory=list)

    def copy(self) -> "Fill":
        return copy.deepcopy(self)


# --- values ------------------------------------------------------------------------------------

_BEST: dict = {}


def _best(rubric: Rubric) -> dict:
    key = (rubric.id, rubric.content_hash)
    if key not in _BEST:
        _BEST[key] = full_marks_inputs(rubric)
    return _BEST[key]


def _roles(rubric: Rubric) -> dict:
    """indicator id → group role (base / bonus / deduction)."""
    dims = {d.id: g.role for g in rubric.groups for d in rubric.dimensions if d.group == g.id}
    return {i.id: dims.get(i.dimension, "") for i in rubric.indicators}


def tier_inputs(rubric: Rubric, unit_type: str, tier: str, rng) -> dict:
    """A plausible, valid value for every applicable unit field (不适用 ones are left out)."""
    best, rough = _best(rubric), random_inputs(rubric, rng, blank_rate=0)
    roles, applies = _roles(rubric), {i.id: i.applies_to(unit_type) for i in rubric.indicators}
    values = {}
    for f in rubric.unit_fields:
        if not applies[f.indicator_id]:
            continue
        if roles[f.indicator_id] == "deduction":
            values[f.id] = _deduction(f, rng.random() < DEDUCTION_RATE[tier], rng)
        elif rng.random() < GOOD_RATE[tier]:
            values[f.id] = _good(f, best[f.id], rng)
        else:
            values[f.id] = _poor(f, rough[f.id], rng)
    for c in rubric.clauses:
        for f in c.fields:
            if f.type == "count" and f.id in values and roles[f.indicator_id] != "deduction":
                values[f.id] = _enough(c, f, values, rng)
    return values


def _deduction(f: Field, happened: bool, rng):
    if f.type == "flag":
        return FLAG_YES if happened else FLAG_NO
    return rng.randint(1, 3) if happened else 0


def _good(f: Field, best, rng):
    if f.type == "judged":
        step = f.step or Decimal("0.5")
        return max(Decimal(0), best - step * rng.choice((0, 0, 1)))
    if f.type in ("amount", "number"):  # best is increasing along the clause (逐年增加)
        return (best + Decimal(rng.randint(0, 900)) / 100).quantize(Decimal("0.01"))
    return best


def _poor(f: Field, rough, rng):
    if f.type == "flag":
        return FLAG_NO
    if f.type == "count":
        return rng.randint(0, 1)
    if f.type == "judged":
        step = f.step or Decimal("0.5")
        return step * rng.randint(0, int((f.max or Decimal(4)) / step) // 2)
    return rough


def _enough(c: Clause, f: Field, values: dict, rng) -> int:
    """A count as a unit would report it: from the full-marks count down to the fewest that
    still earn the same points, plus a little; clauses needing office data get a plausible
    figure (their points cannot be known here)."""
    high = int(values[f.id])
    if c.needs:
        return min(high, rng.randint(2, 12)) if high > 1 else high
    target = _points(c, values)
    n = high
    for k in range(0, high + 1):
        if _points(c, {**values, f.id: k}) == target:
            n = k
            break
    more = n + rng.randint(0, 2)
    return more if _points(c, {**values, f.id: more}) == target else n


def claimed_clauses(rubric: Rubric, inputs: dict, unit_type: str) -> set[str]:
    """Clauses the unit claims with these values: they score (or subtract) points, or wait for
    office data while something is filled in — those need 材料编号 or a 扣分事项 entry."""
    score = score_unit(rubric, inputs, unit_type=unit_type)
    out = set()
    for c in rubric.clauses:
        res = score.clauses[c.id]
        filled = any(inputs.get(f.id) not in (None, "", FLAG_NO, 0) for f in c.fields)
        if c.fields and (res.points != 0 or (res.status == PENDING and filled)):
            out.add(c.id)
    return out


# --- the rest of the return -----------------------------------------------------------------

def make_fill(rubric: Rubric, unit, tier: str, rng, email: str) -> Fill:
    inputs = tier_inputs(rubric, unit.type, tier, rng)
    roles, claims = _roles(rubric), claimed_clauses(rubric, inputs, unit.type)
    refs, materials, deductions = {}, [], []
    for ind in rubric.indicators:
        clauses = [c for c in ind.clauses if c.id in claims]
        if not clauses:
            continue
        if roles[ind.id] == "deduction":
            for c in clauses:
                events = sum(int(inputs[f.id]) if f.type == "count" else 1
                             for f in c.fields if inputs.get(f.id) not in (None, FLAG_NO, 0))
                deductions += [_deduction_row(c, ind, unit, rubric.year, rng)
                               for _ in range(max(1, events))]
        count = 2 if tier == EXCELLENT and rng.random() < 0.3 else 1
        numbers = []
        for _ in range(count):
            materials.append(_material(len(materials) + 1, ind, unit, rubric.year, rng))
            numbers.append(str(len(materials)))
        for c in clauses:
            for f in c.fields:
                if f.id in inputs:
                    refs[f.id] = "、".join(numbers)
    cells = {fid: as_cell(v) for fid, v in inputs.items()}
    return Fill(inputs, cells, refs, materials, deductions, contact(unit, rng, email))


def _material(number: int, ind, unit, year: int, rng) -> Material:
    title = f"{unit.name}{ind.name[:24]}{rng.choice(MATERIAL_KINDS)}"
    ext = rng.choice(EXTENSIONS)
    pages = rng.randint(1, 6) if ext == ".pdf" else 1 if ext == ".txt" else rng.randint(1, 8)
    return Material(number, title, f"{ind.id} {ind.name}", sanitise(f"{number}-{title}") + ext,
                    _date_in(ind.window_from, ind.window_to, year, rng), pages)


def _date_in(start: Optional[date], end: Optional[date], year: int, rng) -> date:
    """A day inside the indicator's window (the assessment year where the window is open)."""
    start, end = start or date(year, 1, 1), end or date(year, 12, 31)
    return start + timedelta(days=rng.randint(0, max(0, (end - start).days)))


def _deduction_row(c: Clause, ind, unit, year: int, rng) -> tuple:
    when = _date_in(ind.window_from, ind.window_to, year, rng)
    return (when, f"{unit.name}某企业", f"{ind.name}（{c.text[:30]}）", "已责令整改，整改已完成",
            "造成一定负面影响，已消除", f"{c.id} {ind.name}")


def contact(unit, rng, email: str) -> tuple:
    name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.randint(1, 2)))
    phone = f"0376-{rng.randint(2000000, 8999999)}"
    mobile = f"1{rng.choice('3456789')}{rng.randint(0, 999999999):09d}"
    fax = f"0376-{rng.randint(2000000, 8999999)}"
    mail = email or f"xw{unit.code}@{rng.choice(('163.com', '126.com', 'qq.com'))}"
    return (unit.name, name, rng.choice(TITLES), phone, mobile, fax, mail)


def as_cell(value):
    """A value as a county types it: whole numbers as int, other decimals as float."""
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    return value


# --- mistakes --------------------------------------------------------------------------------

def inject(fill: Fill, rubric: Rubric, kinds: list[str], rng) -> None:
    """Add the given mistakes to `fill` (each where the fill allows it; skipped otherwise)."""
    fields = {f.id: f for f in rubric.unit_fields}
    roles = _roles(rubric)
    base = [fid for fid in fill.inputs if roles[fields[fid].indicator_id] != "deduction"]
    for kind in kinds:
        if kind == COUNT_TEXT:
            ids = [fid for fid in base if fields[fid].type == "count"]
            ids = [fid for fid in ids if fill.inputs[fid]] or ids  # "3次" where there was a count
            if ids:
                fid = rng.choice(ids)
                fill.cells[fid] = f"{max(1, int(fill.inputs[fid]))}次"
                fill.mistakes.append(Mistake(kind, fid, value=fill.cells[fid]))
        elif kind == JUDGED_STEP:
            ids = [fid for fid in base if fields[fid].type == "judged"]
            ids = [fid for fid in ids if (fields[fid].max or 10) >= Decimal("2.3")] or ids
            if ids:
                fid = rng.choice(ids)
                top = fields[fid].max or Decimal(10)
                fill.cells[fid] = 2.3 if top >= Decimal("2.3") else float(top) - 0.7
                fill.mistakes.append(Mistake(kind, fid, value=f"{fill.cells[fid]:g}"))
        elif kind == CLAIM_WITHOUT_EVIDENCE:
            _drop_refs(fill, rubric, base, rng)
        elif kind == EVIDENCE_NOT_LISTED:
            ids = [fid for fid in base if fill.refs.get(fid)]
            if ids:
                fid = rng.choice(ids)
                fill.refs[fid] = str(len(fill.materials) + rng.randint(1, 5))
                fill.mistakes.append(Mistake(kind, fid, value=fill.refs[fid]))
        elif kind == EVIDENCE_FILE_MISSING and fill.materials:
            m = rng.choice(fill.materials)
            m.sent = False
            fill.mistakes.append(Mistake(kind, value=m.file_name))


def _drop_refs(fill: Fill, rubric: Rubric, base: list[str], rng) -> None:
    """Clear the 材料编号 of every row of one claimed clause."""
    clauses = [c for c in rubric.clauses
               if c.fields and all(f.id in base and fill.refs.get(f.id) for f in c.fields)]
    if not clauses:
        return
    c = rng.choice(clauses)
    for f in c.fields:
        fill.refs.pop(f.id, None)
    fill.mistakes.append(Mistake(CLAIM_WITHOUT_EVIDENCE, c.fields[0].id,
                                 value=str(fill.inputs[c.fields[0].id])))


# --- writing ---------------------------------------------------------------------------------

def header(ws, names: tuple, rows: int = 30) -> tuple[int, dict]:
    """(row, {name: column number}) of the first row holding all `names`."""
    for row in ws.iter_rows(max_row=rows):
        cols = {c.value: c.column for c in row if isinstance(c.value, str)}
        if set(names) <= cols.keys():
            return row[0].row, cols
    raise ValueError(f"{ws.title}: no header with {names}")


def write_workbook(src: Path, dest: Path, fill: Fill) -> None:
    """Fill the generated 自评表 `src` as a county would and save it as `dest`."""
    wb = openpyxl.load_workbook(src)
    ws = wb["自评表"]
    top, cols = header(ws, ("编号", "填报值", "材料编号"))
    rows = {str(ws.cell(r, cols["编号"]).value): r for r in range(top + 1, ws.max_row + 1)
            if ws.cell(r, cols["编号"]).value}
    for fid, value in fill.cells.items():
        ws.cell(rows[fid], cols["填报值"], value)
    for fid, text in fill.refs.items():
        ws.cell(rows[fid], cols["材料编号"], text)
    for m in fill.mistakes:
        if m.field:
            col = cols["材料编号"] if m.kind in (CLAIM_WITHOUT_EVIDENCE, EVIDENCE_NOT_LISTED) else cols["填报值"]
            m.cell = f"自评表!{ws.cell(rows[m.field], col).coordinate}"
    _rows(wb["材料清单"], EVIDENCE_COLUMNS,
          [(m.title, m.indicator, m.file_name, m.written, m.pages) for m in fill.materials])
    if "扣分事项" in wb.sheetnames:
        _rows(wb["扣分事项"], DEDUCTION_COLUMNS, fill.deductions)
    write_contact(wb, fill.contact)
    wb.save(dest)


def write_contact(wb, row: tuple) -> None:
    """One contact person in the first row under the 联系人 header (columns found by name)."""
    ws = wb["联系人"]
    top, cols = header(ws, CONTACT_COLUMNS)
    for key, value in zip(CONTACT_COLUMNS, row):
        ws.cell(top + 1, cols[key], value)


def write_contact_form(src: Path, dest: Path, row: tuple) -> None:
    wb = openpyxl.load_workbook(src)
    write_contact(wb, row)
    wb.save(dest)


def _rows(ws, names: tuple, rows: list[tuple]) -> None:
    """Write `rows` into the columns `names` (found in the header), from the first data row
    on; the 序号 column is pre-numbered by generate."""
    top, cols = header(ws, names)
    for k, values in enumerate(rows):
        for key, value in zip(names, values):
            cell = ws.cell(top + 1 + k, cols[key], value)
            if isinstance(value, date):
                cell.number_format = "yyyy-mm-dd"
