"""A corpus of bad returns built from freshly generated workbooks (shared by the import tests).

`make_valid(src, dst)` fills a generated 自评表 (or contact form) the way a careful county would:
every field valid, 材料编号 on every claimed clause with its 材料清单 row, one good contact, and
the cached formula values set to the engine's scores (as Excel leaves them after a save). Each
`make_<kind>(src, dst)` starts from that fill and breaks one thing. Cells are patched in the
sheet XML so everything else (validations, protection, cached values, properties) stays byte for
byte as generated; only structural changes (rows inserted/deleted, meta sheet removed) go through
openpyxl. `CORPUS[kind] = (builder, expected_code)`.

The campaign is found from the generated path (DIR/generate/<file>.xlsx) unless given.
"""
from __future__ import annotations

import random
import re
import shutil
import zipfile
from dataclasses import fields as dc_fields
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from xml.sax.saxutils import escape

from xlsx_workflow.campaign import Campaign, load_campaign
from xlsx_workflow.checks import claimed_clauses
from xlsx_workflow.engine import score_unit
from xlsx_workflow.integrity import META_SHEET, PROPERTY_PREFIX, Identity, read_identity
from openpyxl.utils.cell import get_column_letter

from xlsx_workflow.returns import plan_for
from xlsx_workflow.workbook.plan import EVIDENCE, POINTS, VALUE
from xlsx_workflow.workbook.sheets import CONTACT_COLUMNS, DEDUCTION_COLUMNS, EVIDENCE_COLUMNS
from xlsx_workflow.rubric.sample import random_inputs
from xlsx_workflow.rubric.totals import clause_name

VALID_CONTACT = {"单位": "县市场监督管理局", "姓名": "张伟", "职务/职级": "科长", "电话": "0376-6312865",
                 "手机": "13812345678", "传真": "0376-6312866", "邮箱": "zhangwei@163.com"}
CONTACT_KEYS = [name for name, _ in CONTACT_COLUMNS]  # 单位 姓名 职务/职级 电话 手机 传真 邮箱
CONTACT_COLS = "".join(get_column_letter(k + 1) for k in range(len(CONTACT_KEYS)))
EVIDENCE_COL = get_column_letter(EVIDENCE + 1)  # 自评表 材料编号
_LIST = {name: get_column_letter(k + 1) for k, (name, _) in enumerate(EVIDENCE_COLUMNS)}
_DEDUCT = {name: get_column_letter(k + 1) for k, (name, _) in enumerate(DEDUCTION_COLUMNS)}
FIRST_DATA_ROW = 5  # 材料清单, 扣分事项, 联系人: title, subtitle, hint, header, then data
EVIDENCE_DATE = date(2021, 6, 30)  # inside every window of both built-in rubrics

_CAMPAIGNS: dict = {}


class KindNotApplicable(LookupError):
    """The rubric has nothing this kind of bad return could break (e.g. no deduction items)."""


def campaign_of(src: Path) -> Campaign:
    root = Path(src).resolve().parent.parent
    if root not in _CAMPAIGNS:
        _CAMPAIGNS[root] = load_campaign(root)
    return _CAMPAIGNS[root]


# --- XML patching ---------------------------------------------------------------------------

class Patch:
    """Edit parts of an .xlsx in memory; `save(dst)` writes a new zip with the same order."""

    def __init__(self, src: Path):
        with zipfile.ZipFile(src) as z:
            self.names = z.namelist()
            self.parts = {n: z.read(n) for n in self.names}
        rels = self.text("xl/_rels/workbook.xml.rels")
        targets = dict(re.findall(r'Id="(rId\d+)"[^>]*Target="([^"]+)"', rels))
        targets.update({k: v for v, k in re.findall(r'Target="([^"]+)"[^>]*Id="(rId\d+)"', rels)})
        self.sheet_parts = {}
        for name, rid in re.findall(r'<sheet name="([^"]+)"[^>]*r:id="(rId\d+)"', self.text("xl/workbook.xml")):
            self.sheet_parts[name] = "xl/" + targets[rid].lstrip("/").removeprefix("xl/")

    def text(self, part: str) -> str:
        return self.parts[part].decode("utf-8")

    def put(self, part: str, text: str) -> None:
        self.parts[part] = text.encode("utf-8")

    def set_cell(self, sheet: str, ref: str, value) -> None:
        part = self.sheet_parts[sheet]
        xml = self.text(part)
        m = _cell(ref).search(xml)
        if m is None:
            raise KeyError(f"{sheet}!{ref} not in the sheet XML")
        style = re.search(r'\ss="(\d+)"', m.group(1))
        s = f' s="{style.group(1)}"' if style else ""
        self.put(part, xml[:m.start()] + _cell_xml(ref, s, value) + xml[m.end():])

    def set_cached(self, sheet: str, ref: str, value) -> None:
        """Replace the cached value of a formula cell, keeping its formula."""
        part = self.sheet_parts[sheet]
        xml = self.text(part)
        m = _cell(ref).search(xml)
        f = re.search(r"<f>.*?</f>", m.group(0)) if m else None
        if f is None:
            return
        style = re.search(r'\ss="(\d+)"', m.group(1))
        s = f' s="{style.group(1)}"' if style else ""
        if isinstance(value, str):
            new = f'<c r="{ref}"{s} t="str">{f.group(0)}<v>{escape(value)}</v></c>'
        else:
            new = f'<c r="{ref}"{s}>{f.group(0)}<v>{_num(value)}</v></c>'
        self.put(part, xml[:m.start()] + new + xml[m.end():])

    def cached(self, sheet: str, ref: str) -> str | None:
        m = _cell(ref).search(self.text(self.sheet_parts[sheet]))
        v = re.search(r"<v>(.*?)</v>", m.group(0)) if m else None
        return v.group(1) if v else None

    def set_property(self, name: str, value: str) -> None:
        part = "docProps/custom.xml"
        xml = self.text(part)
        pat = re.compile(rf'(name="{re.escape(PROPERTY_PREFIX + name)}"><vt:lpwstr>)(.*?)(</vt:lpwstr>)')
        self.put(part, pat.sub(lambda m: m.group(1) + escape(value) + m.group(3), xml))

    def set_identity(self, **changes) -> None:
        """Change identity keys in both the meta sheet and the document properties."""
        keys = [f.name for f in dc_fields(Identity) if f.name != "source"]
        for key, value in changes.items():
            self.set_cell(META_SHEET, f"B{keys.index(key) + 1}", str(value))
            self.set_property(key, str(value))

    def save(self, dst: Path) -> Path:
        dst = Path(dst)
        dst.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as z:
            for n in self.names:
                z.writestr(n, self.parts[n])
        return dst


def _cell(ref: str) -> re.Pattern:
    return re.compile(rf'<c r="{ref}"((?:\s+[\w:]+="[^"]*")*)\s*(?:/>|>(.*?)</c>)', re.S)


def _num(value) -> str:
    if isinstance(value, Decimal):
        value = int(value) if value == value.to_integral_value() else float(value)
    return repr(value) if isinstance(value, float) else str(value)


def _cell_xml(ref: str, s: str, value) -> str:
    if value is None:
        return f'<c r="{ref}"{s}/>'
    if isinstance(value, bool):
        return f'<c r="{ref}"{s} t="b"><v>{int(value)}</v></c>'
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        return f'<c r="{ref}"{s}><v>{(value - date(1899, 12, 30)).days}</v></c>'
    if isinstance(value, (int, float, Decimal)):
        return f'<c r="{ref}"{s}><v>{_num(value)}</v></c>'
    return f'<c r="{ref}"{s} t="inlineStr"><is><t xml:space="preserve">{escape(str(value))}</t></is></c>'


# --- a valid fill ---------------------------------------------------------------------------

def _a1(address: str) -> str:
    return address.replace("$", "")


def valid_inputs(campaign: Campaign, unit_type: str, seed: int = 0) -> dict:
    """Random valid inputs, no blanks, and no deductions claimed (so no 扣分事项 rows needed)."""
    rubric = campaign.rubric
    values = random_inputs(rubric, random.Random(seed), blank_rate=0.0)
    roles = {d.id: g.role for g in rubric.groups for d in rubric.dimensions if d.group == g.id}
    for ind in rubric.indicators:
        for c in ind.clauses:
            for f in c.fields:
                if f.id not in values:
                    continue
                if not ind.applies_to(unit_type):
                    values.pop(f.id)
                elif roles.get(ind.dimension) == "deduction":
                    values[f.id] = "否" if f.type == "flag" else 0 if f.type == "count" else values[f.id]
    return values


def make_valid(src: Path, dst: Path, campaign: Campaign | None = None, seed: int = 0,
               inputs: dict | None = None) -> Path:
    """A complete, correct return (self-assessment or contact form) written to `dst`."""
    p = _valid_patch(Path(src), campaign or campaign_of(src), seed, inputs)
    return p.save(dst)


def _valid_patch(src: Path, campaign: Campaign, seed: int = 0, inputs: dict | None = None) -> Patch:
    p = Patch(src)
    set_contact(p, 0, VALID_CONTACT)
    if "自评表" not in p.sheet_parts:
        return p
    ident = read_identity(src)
    unit = next(u for u in campaign.units if u.code == ident.unit_code)
    values = inputs if inputs is not None else valid_inputs(campaign, unit.type, seed)
    fill_inputs(p, campaign, unit.type, values)
    return p


def fill_inputs(p: Patch, campaign: Campaign, unit_type: str, values: dict,
                evidence: bool = True) -> None:
    """Write `values` into 填报值, evidence numbers and 材料清单 rows, and the engine's cached scores."""
    rubric = campaign.rubric
    plan = plan_for(rubric)
    for fid, v in values.items():
        if fid in plan.addresses:
            p.set_cell("自评表", _a1(plan.addresses[fid]), _excel(v))
    score = score_unit(rubric, values, unit_type=unit_type)
    if evidence:
        number = 0
        claimed = {c.id for c in claimed_clauses(rubric, values, unit_type)}
        for block in plan.blocks:
            c = block.clause
            rows = [(r, f) for r, f in block.rows if f is not None and f.id in values]
            if not rows or c.id not in claimed:
                continue
            number += 1
            ind = next(i for i in rubric.indicators if i.id == c.indicator_id)
            p.set_cell("自评表", f"{EVIDENCE_COL}{rows[0][0] + 1}", str(number))
            add_evidence_row(p, number, f"关于{ind.name}的材料{number}", f"{ind.id} {ind.name}",
                             f"{number}-材料.pdf", EVIDENCE_DATE, 3)
    set_cached_scores(p, plan, score, unit_type)


def set_cached_scores(p: Patch, plan, score, unit_type: str) -> None:
    values = {clause_name(k): r.points for k, r in score.clauses.items()}
    values.update({f"i:{k}": r.points for k, r in score.indicators.items()})
    values.update({f"d:{k}": v for k, v in score.dimensions.items()})
    values.update({f"g:{k}": v for k, v in score.groups.items()})
    values.update({"total": score.total, "grade": score.grade})
    for name, v in values.items():
        if name in plan.addresses:
            p.set_cached("自评表", _a1(plan.addresses[name]), v)


def _excel(v):
    if isinstance(v, Decimal):
        return int(v) if v == v.to_integral_value() else float(v)
    return v


def add_evidence_row(p: Patch, number: int, title, indicator, file_name, when, pages, note=None):
    r = FIRST_DATA_ROW + number - 1
    names = ("材料名称", "对应指标", "文件名", "成文日期", "页数", "备注")
    for col, v in zip((_LIST[n] for n in names), (title, indicator, file_name, when, pages, note)):
        p.set_cell("材料清单", f"{col}{r}", v)


def set_contact(p: Patch, k: int, contact: dict) -> None:
    r = FIRST_DATA_ROW + k
    for col, key in zip(CONTACT_COLS, CONTACT_KEYS):
        p.set_cell("联系人", f"{col}{r}", contact.get(key))


def field_cell(campaign: Campaign, field_id: str) -> str:
    return _a1(plan_for(campaign.rubric).addresses[field_id])


def first_field(campaign: Campaign, ftypes, unit_type: str = "") -> str:
    """The first field of the first of `ftypes` that the unit fills (its indicator applies)."""
    applies = {i.id: i.applies_to(unit_type) for i in campaign.rubric.indicators}
    for ftype in (ftypes,) if isinstance(ftypes, str) else ftypes:
        for f in campaign.rubric.unit_fields:
            if f.type == ftype and applies[f.indicator_id]:
                return f.id
    raise KindNotApplicable(f"no field of type {ftypes} in {campaign.rubric.id}")


def unit_type_of(campaign: Campaign, src: Path) -> str:
    code = read_identity(src).unit_code
    return next(u.type for u in campaign.units if u.code == code)


# --- bad kinds ------------------------------------------------------------------------------

def _with_value(ftypes, value):
    """A builder that writes `value` into the first field of the first type of `ftypes`."""
    def build(src: Path, dst: Path, campaign: Campaign | None = None) -> Path:
        camp = campaign or campaign_of(src)
        p = _valid_patch(Path(src), camp)
        fid = first_field(camp, ftypes, unit_type_of(camp, src))
        p.set_cell("自评表", field_cell(camp, fid), value)
        return p.save(dst)
    return build


make_text_in_count = _with_value("count", "3次")
make_fraction_in_count = _with_value("count", 2.5)
make_negative_count = _with_value("count", -2)
make_huge_count = _with_value("count", 100000)
make_bad_flag = _with_value("flag", "有")
make_bad_option = _with_value(("choice", "flag"), "以县委名义印发")
make_judged_not_step = _with_value("judged", 1.3)
make_judged_above_max = _with_value("judged", 99)
make_blank_field = _with_value("flag", None)


def make_text_in_amount(src: Path, dst: Path, campaign: Campaign | None = None) -> Path:
    """An amount with its unit typed in ("12万元"); judged on rubrics without amounts."""
    camp = campaign or campaign_of(src)
    return _with_value(("amount", "number", "judged"), "12万元")(src, dst, camp)


def make_evidence_date_out_of_window(src: Path, dst: Path, campaign: Campaign | None = None) -> Path:
    """材料清单 row 1 dated before its indicator's window (or in the future for open windows)."""
    camp = campaign or campaign_of(src)
    p = _valid_patch(Path(src), camp)
    ind = next((i for i in camp.rubric.indicators if i.window_from), None)
    if ind is None:
        raise KindNotApplicable(f"{camp.rubric.id} has no date window")
    when = date(ind.window_from.year - 1, 1, 15)
    add_evidence_row(p, 1, "会议纪要", f"{ind.id} {ind.name}", "1-材料.pdf", when, 2)
    return p.save(dst)


def make_evidence_number_missing(src: Path, dst: Path, campaign: Campaign | None = None) -> Path:
    camp = campaign or campaign_of(src)
    p = _valid_patch(Path(src), camp)
    ref = _first_evidence_cell(p)
    p.set_cell("自评表", ref, None)
    return p.save(dst)


def make_evidence_not_in_list(src: Path, dst: Path, campaign: Campaign | None = None) -> Path:
    camp = campaign or campaign_of(src)
    p = _valid_patch(Path(src), camp)
    p.set_cell("自评表", _first_evidence_cell(p), "1、199")
    return p.save(dst)


def make_evidence_number_unreadable(src: Path, dst: Path, campaign: Campaign | None = None) -> Path:
    camp = campaign or campaign_of(src)
    p = _valid_patch(Path(src), camp)
    p.set_cell("自评表", _first_evidence_cell(p), "见附件")
    return p.save(dst)


def _first_evidence_cell(p: Patch) -> str:
    xml = p.text(p.sheet_parts["自评表"])
    m = re.search(rf'<c r="({EVIDENCE_COL}\d+)"[^>]*t="inlineStr"><is><t[^>]*>1</t>', xml)
    return m.group(1)


def make_numbering_gap(src: Path, dst: Path, campaign: Campaign | None = None) -> Path:
    """材料清单 row 2 emptied (and its users pointed at row 1)."""
    camp = campaign or campaign_of(src)
    p = _valid_patch(Path(src), camp)
    xml = p.text(p.sheet_parts["自评表"])
    for ref in re.findall(rf'<c r="({EVIDENCE_COL}\d+)"[^>]*t="inlineStr"><is><t[^>]*>2</t>', xml):
        p.set_cell("自评表", ref, "1")
    add_evidence_row(p, 2, None, None, None, None, None)
    return p.save(dst)


def make_duplicate_number(src: Path, dst: Path, campaign: Campaign | None = None) -> Path:
    """The same file listed twice in 材料清单."""
    camp = campaign or campaign_of(src)
    p = _valid_patch(Path(src), camp)
    p.set_cell("材料清单", f"{_LIST['文件名']}{FIRST_DATA_ROW + 1}", "1-材料.pdf")
    return p.save(dst)


def evidence_dir(dst: Path) -> Path:
    """Where the evidence-file kinds put the files that come with the return."""
    return Path(dst).parent / f"{Path(dst).stem}-材料"


def _write_evidence(dst: Path, p: Patch, drop: int = 0, extra: str = "") -> None:
    folder = evidence_dir(dst)
    folder.mkdir(parents=True, exist_ok=True)
    xml = p.text(p.sheet_parts["材料清单"])
    names = re.findall(rf'<c r="{_LIST["文件名"]}\d+"[^>]*t="inlineStr"><is><t[^>]*>([^<]+)</t>', xml)
    for k, name in enumerate(names):
        if k + 1 != drop:
            (folder / name).write_bytes(b"%PDF-1.4\n")
    if extra:
        (folder / extra).write_bytes(b"%PDF-1.4\n")


def make_listed_file_missing(src: Path, dst: Path, campaign: Campaign | None = None) -> Path:
    camp = campaign or campaign_of(src)
    p = _valid_patch(Path(src), camp)
    _write_evidence(dst, p, drop=1)
    return p.save(dst)


def make_unlisted_file(src: Path, dst: Path, campaign: Campaign | None = None) -> Path:
    camp = campaign or campaign_of(src)
    p = _valid_patch(Path(src), camp)
    _write_evidence(dst, p, extra="其他说明.docx")
    return p.save(dst)


def make_deduction_without_row(src: Path, dst: Path, campaign: Campaign | None = None) -> Path:
    """A deduction flag set to 是 with nothing on 扣分事项."""
    camp = campaign or campaign_of(src)
    rubric = camp.rubric
    roles = {d.id: g.role for g in rubric.groups for d in rubric.dimensions if d.group == g.id}
    fid = next((f.id for i in rubric.indicators if roles.get(i.dimension) == "deduction"
                for c in i.clauses if not c.office_only for f in c.fields
                if f.source == "unit" and f.type in ("flag", "count")), None)
    if fid is None:
        raise KindNotApplicable(f"{rubric.id} has no deduction item a unit reports")
    ident = read_identity(src)
    unit = next(u for u in camp.units if u.code == ident.unit_code)
    values = valid_inputs(camp, unit.type)
    values[fid] = "是" if rubric.field(fid).type == "flag" else 2
    p = _valid_patch(Path(src), camp, inputs=values)
    return p.save(dst)


def make_deduction_row_incomplete(src: Path, dst: Path, campaign: Campaign | None = None) -> Path:
    camp = campaign or campaign_of(src)
    p = _valid_patch(Path(src), camp)
    if "扣分事项" not in p.sheet_parts:
        raise KindNotApplicable(f"{camp.rubric.id} has no 扣分事项 sheet")
    p.set_cell("扣分事项", f"{_DEDUCT['事由']}{FIRST_DATA_ROW}", "某事件")
    return p.save(dst)


def make_locked_cell_edited(src: Path, dst: Path, campaign: Campaign | None = None) -> Path:
    """The points text of the first clause changed (the sheet's protection is left as it was)."""
    camp = campaign or campaign_of(src)
    p = _valid_patch(Path(src), camp)
    row = plan_for(camp.rubric).blocks[0].rows[0][0] + 1
    p.set_cell("自评表", f"{get_column_letter(POINTS + 1)}{row}", "10分")
    return p.save(dst)


def make_protection_removed(src: Path, dst: Path, campaign: Campaign | None = None) -> Path:
    camp = campaign or campaign_of(src)
    p = _valid_patch(Path(src), camp)
    part = p.sheet_parts["自评表"]
    p.put(part, re.sub(r"<sheetProtection\b[^>]*/>", "", p.text(part)))
    return p.save(dst)


def make_cached_total_differs(src: Path, dst: Path, campaign: Campaign | None = None) -> Path:
    camp = campaign or campaign_of(src)
    p = _valid_patch(Path(src), camp)
    total = _a1(plan_for(camp.rubric).addresses["total"])
    p.set_cached("自评表", total, Decimal(p.cached("自评表", total) or 0) + 7)
    return p.save(dst)


def _via_openpyxl(src: Path, dst: Path, campaign: Campaign | None, edit) -> Path:
    import openpyxl
    camp = campaign or campaign_of(src)
    tmp = Path(dst).with_name(Path(dst).stem + ".valid.xlsx")
    _valid_patch(Path(src), camp).save(tmp)
    wb = openpyxl.load_workbook(tmp)
    edit(wb, camp)
    Path(dst).parent.mkdir(parents=True, exist_ok=True)
    wb.save(dst)
    tmp.unlink()
    return Path(dst)


def make_row_inserted(src: Path, dst: Path, campaign: Campaign | None = None) -> Path:
    def edit(wb, camp):
        row = int(field_cell(camp, camp.rubric.unit_fields[1].id)[1:])
        wb["自评表"].insert_rows(row)
    return _via_openpyxl(src, dst, campaign, edit)


def make_row_deleted(src: Path, dst: Path, campaign: Campaign | None = None) -> Path:
    def edit(wb, camp):
        row = int(field_cell(camp, camp.rubric.unit_fields[1].id)[1:])
        wb["自评表"].delete_rows(row)
    return _via_openpyxl(src, dst, campaign, edit)


def make_sheet_renamed(src: Path, dst: Path, campaign: Campaign | None = None) -> Path:
    """The 自评表 sheet renamed (the identity is still there)."""
    def edit(wb, camp):
        wb["自评表"].title = "自评表（改）"
    return _via_openpyxl(src, dst, campaign, edit)


def make_meta_removed(src: Path, dst: Path, campaign: Campaign | None = None) -> Path:
    """Meta sheet deleted and document properties cleared (data pasted into a fresh workbook)."""
    def edit(wb, camp):
        del wb[META_SHEET]
        for name in [p.name for p in wb.custom_doc_props]:
            del wb.custom_doc_props[name]
    return _via_openpyxl(src, dst, campaign, edit)


def make_meta_removed_unknown(src: Path, dst: Path, campaign: Campaign | None = None) -> Path:
    """As make_meta_removed, and the visible unit name is not one of the campaign's units."""
    def edit(wb, camp):
        del wb[META_SHEET]
        for name in [p.name for p in wb.custom_doc_props]:
            del wb.custom_doc_props[name]
        for sheet in wb.worksheets:
            for row in sheet.iter_rows(max_row=6):
                for cell in row:
                    if isinstance(cell.value, str) and "填报单位" in cell.value:
                        cell.value = "填报单位：某某县（代码 999999）"
    return _via_openpyxl(src, dst, campaign, edit)


def make_rows_inserted_locked_edited(src: Path, dst: Path, campaign: Campaign | None = None) -> Path:
    """Two empty rows inserted near the top, and the points text of a clause below them changed:
    the rows shift, and the edit must still be found."""
    def edit(wb, camp):
        plan = plan_for(camp.rubric)
        ws = wb["自评表"]
        row = plan.blocks[1].rows[0][0] + 1
        ws.insert_rows(row, 2)
        ws.cell(plan.blocks[3].rows[0][0] + 3, POINTS + 1).value = "10分"
    return _via_openpyxl(src, dst, campaign, edit)


def _two_fields(camp: Campaign, unit_type: str, ftype: str = "flag") -> tuple[str, str]:
    fields = [f for f in camp.rubric.unit_fields if f.type == ftype
              and next(i for i in camp.rubric.indicators if i.id == f.indicator_id
                       ).applies_to(unit_type)]
    return fields[0].id, fields[1].id


def make_duplicate_id(src: Path, dst: Path, campaign: Campaign | None = None) -> Path:
    """A row inserted under a count field that repeats its 编号 with another value."""
    def edit(wb, camp):
        fid = first_field(camp, "count", unit_type_of(camp, src))
        ws = wb["自评表"]
        row = int(field_cell(camp, fid)[1:])
        ws.insert_rows(row + 1)
        ws.cell(row + 1, 1).value = fid
        ws.cell(row + 1, VALUE + 1).value = int(ws.cell(row, VALUE + 1).value or 0) + 5
    return _via_openpyxl(src, dst, campaign, edit)


def make_ids_swapped(src: Path, dst: Path, campaign: Campaign | None = None) -> Path:
    """The 编号 of two flag rows swapped (their values stay in place, so each is read for the
    other field)."""
    camp = campaign or campaign_of(src)
    ident = read_identity(src)
    unit = next(u for u in camp.units if u.code == ident.unit_code)
    a, b = _two_fields(camp, unit.type)
    values = valid_inputs(camp, unit.type)
    values[a], values[b] = "是", "否"
    p = _valid_patch(Path(src), camp, inputs=values)
    ra, rb = field_cell(camp, a)[1:], field_cell(camp, b)[1:]
    p.set_cell("自评表", f"A{ra}", b)
    p.set_cell("自评表", f"A{rb}", a)
    return p.save(dst)


def _identity_change(**changes):
    def build(src: Path, dst: Path, campaign: Campaign | None = None) -> Path:
        camp = campaign or campaign_of(src)
        p = _valid_patch(Path(src), camp)
        p.set_identity(**changes)
        return p.save(dst)
    return build


make_other_campaign = _identity_change(campaign_id="ip-protection-2021-20200101-abcdef")
make_outdated_rubric = _identity_change(rubric_version="0", rubric_hash="0" * 64)
make_unknown_unit = _identity_change(unit_code="999999", unit_name="某某县")


def make_unit_mismatch(src: Path, dst: Path, campaign: Campaign | None = None) -> Path:
    """The identity says another unit of the campaign than the one shown in the sheets."""
    camp = campaign or campaign_of(src)
    ident = read_identity(src)
    other = next((u for u in camp.units if u.code != ident.unit_code), None)
    if other is None:
        raise KindNotApplicable("the campaign has a single unit")
    p = _valid_patch(Path(src), camp)
    p.set_identity(unit_code=other.code, unit_name=other.name)
    return p.save(dst)


def _contact(**changes):
    def build(src: Path, dst: Path, campaign: Campaign | None = None) -> Path:
        camp = campaign or campaign_of(src)
        p = _valid_patch(Path(src), camp)
        set_contact(p, 0, {**VALID_CONTACT, **changes})
        return p.save(dst)
    return build


make_contact_mobile_bad = _contact(手机="1381234567")
make_contact_phone_no_area = _contact(电话="6312865")
make_contact_fax_bad = _contact(传真="传真同电话")
make_contact_email_bad = _contact(邮箱="zhangwei@163")
make_contact_name_missing = _contact(姓名=None)
make_contact_title_missing = _contact(**{"职务/职级": None})
make_contact_no_phone = _contact(手机=None, 电话=None)


def make_contact_empty(src: Path, dst: Path, campaign: Campaign | None = None) -> Path:
    """A contact form sent back with no contact filled in."""
    shutil.copyfile(src, dst)
    return Path(dst)


CORPUS = {
    "text_in_count": (make_text_in_count, "V001"),
    "fraction_in_count": (make_fraction_in_count, "V001"),
    "text_in_amount": (make_text_in_amount, "V002"),
    "negative_count": (make_negative_count, "V003"),
    "judged_above_max": (make_judged_above_max, "V004"),
    "bad_flag": (make_bad_flag, "V005"),
    "bad_option": (make_bad_option, "V005"),
    "judged_not_step": (make_judged_not_step, "V006"),
    "evidence_date_out_of_window": (make_evidence_date_out_of_window, "V008"),
    "huge_count": (make_huge_count, "V009"),
    "blank_field": (make_blank_field, "V010"),
    "evidence_number_missing": (make_evidence_number_missing, "E001"),
    "evidence_not_in_list": (make_evidence_not_in_list, "E002"),
    "numbering_gap": (make_numbering_gap, "E003"),
    "duplicate_number": (make_duplicate_number, "E004"),
    "listed_file_missing": (make_listed_file_missing, "E005"),
    "unlisted_file": (make_unlisted_file, "E006"),
    "evidence_number_unreadable": (make_evidence_number_unreadable, "E007"),
    "deduction_without_row": (make_deduction_without_row, "E008"),
    "deduction_row_incomplete": (make_deduction_row_incomplete, "E009"),
    "locked_cell_edited": (make_locked_cell_edited, "T001"),
    "protection_removed": (make_protection_removed, "T002"),
    "row_inserted": (make_row_inserted, "T003"),
    "row_deleted": (make_row_deleted, "V011"),
    "cached_total_differs": (make_cached_total_differs, "T004"),
    "other_campaign": (make_other_campaign, "I001"),
    "outdated_rubric": (make_outdated_rubric, "I003"),
    "unknown_unit": (make_unknown_unit, "I004"),
    "unit_mismatch": (make_unit_mismatch, "I005"),
    "meta_removed": (make_meta_removed, "I006"),
    "meta_removed_unknown": (make_meta_removed_unknown, "I007"),
    "sheet_renamed": (make_sheet_renamed, "I008"),
    "contact_mobile_bad": (make_contact_mobile_bad, "K001"),
    "contact_phone_no_area": (make_contact_phone_no_area, "K002"),
    "contact_fax_bad": (make_contact_fax_bad, "K003"),
    "contact_email_bad": (make_contact_email_bad, "K004"),
    "contact_name_missing": (make_contact_name_missing, "K005"),
    "contact_title_missing": (make_contact_title_missing, "K006"),
    "contact_no_phone": (make_contact_no_phone, "K008"),
}
# The fuzzer's row-structure classes (issue 10): found by the import (structure.py), not by
# check_return alone, so kept apart from CORPUS.
STRUCTURE_CORPUS = {
    "rows_inserted_locked_edited": (make_rows_inserted_locked_edited, "T005"),
    "duplicate_id": (make_duplicate_id, "T006"),
    "ids_swapped": (make_ids_swapped, "T005"),
}
# Kinds whose builder works on a contact form as well as on a 自评表 workbook (联系人 sheet).
CONTACT_KINDS = frozenset(k for k in CORPUS if k.startswith("contact_"))
# Kinds that need the evidence files next to the return: see evidence_dir(dst).
EVIDENCE_FILE_KINDS = frozenset({"listed_file_missing", "unlisted_file"})
# Contact-form-only kind (a blank contact form): builder copies the generated form as it is.
CONTACT_FORM_ONLY = {"contact_empty": (make_contact_empty, "K007")}
