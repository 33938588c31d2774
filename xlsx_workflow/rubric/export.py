"""Export a rubric as a printable 考核细则 table (xlsx) for an office to print and review.

`rule_rows` lays the rubric out as text rows (pure); `export_rubric` writes them. Row heights are
computed here: no spreadsheet program sizes rows under merged cells, and each guesses differently.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

import xlsxwriter

from .expr import format_number
from .kinds import COHORT_WORDS, PARTIAL_STEP, growth_basis, step_text
from .model import Clause, Indicator, Rubric

SHEET, NOTES_SHEET = "考核细则", "说明"
# (header, width in Excel character units); about 150 units fill an A4 landscape page.
COLUMNS = [("考核维度", 9), ("指标", 17), ("评分细则", 36), ("评分方式", 8.5), ("分值/上限", 13),
           ("填报项", 21), ("支撑材料", 17), ("说明", 28)]
KIND_NAMES = {"flag": "是否项", "count": "计次计分", "choice": "选项", "judged": "自评分",
              "ratio": "比值", "threshold_or_growth": "达标或增长", "growth": "同比增长",
              "relative": "与平均数比较", "tiers": "分档", "checklist": "清单",
              "penalty": "少报扣分", "formula": "公式"}
VERB = {"base": "", "bonus": "加", "deduction": "扣"}  # how a group's points read
SCOPES = {"unit": "每个单位", "campaign": "全市统一"}
FIXED_DATE = datetime(2000, 1, 1)  # same rubric → same bytes
FONT, LINE_PT, PAD_PT = "宋体", 14.0, 4.0  # body font 10 pt; one wrapped line ≈ 14 pt


@dataclass
class Row:
    """One printed row: a clause, or a group heading (text spans the whole width)."""
    cells: list[str]
    heading: bool = False
    spans: dict = field(default_factory=dict)  # column → number of rows merged from here


def n(value) -> str:
    return format_number(Decimal(str(value)))


def export_rubric(rubric: Rubric, target_path) -> Path:
    """Write the 考核细则 workbook to `target_path`; returns the path."""
    target = Path(target_path)
    target.parent.mkdir(parents=True, exist_ok=True)
    wb = xlsxwriter.Workbook(str(target), {"strings_to_formulas": False,
                                           "strings_to_urls": False, "strings_to_numbers": False})
    wb.set_properties({"title": rubric.title, "subject": SHEET, "author": rubric.office,
                       "comments": f"{rubric.id} 第{rubric.version}版", "created": FIXED_DATE})
    styles = _styles(wb)
    _write_rules(wb.add_worksheet(SHEET), rubric, styles)
    _write_notes(wb.add_worksheet(NOTES_SHEET), rubric, styles)
    wb.close()
    return target


def subtitle(rubric: Rubric) -> str:
    """发文机关, 文号, 版本, the caps of each group and the grade bands, in two lines."""
    first = [f"发文机关：{rubric.office}" if rubric.office else "",
             f"文号：{rubric.document}" if rubric.document else "",
             f"细则编号：{rubric.id}　第{rubric.version}版"]
    caps = [f"{g.name}{'满分' if g.role == 'base' else '最多' + VERB[g.role]}{n(g.max)}分"
            for g in rubric.groups]
    bands, grades = [], sorted(rubric.grades, key=lambda g: g.min, reverse=True)
    for i, g in enumerate(grades):
        last = i == len(grades) - 1 and i > 0 and g.min <= rubric.total_floor
        bands.append(f"{g.name}<{n(grades[i - 1].min)}分" if last else f"{g.name}≥{n(g.min)}分")
    second = "，".join(caps) + "；总分＝基础得分＋加分－扣分。等次：" + "，".join(bands) + "。"
    return "　".join(p for p in first if p) + "\n" + second


def rule_rows(rubric: Rubric) -> list[Row]:
    """The table body: a heading per group, then one row per clause, dimension by dimension."""
    rows: list[Row] = []
    for group in rubric.groups:
        verb = VERB.get(group.role, "")
        cap = f"满分{n(group.max)}分" if not verb else f"最多{verb}{n(group.max)}分"
        rows.append(Row([f"{group.name}（{cap}）"], heading=True))
        for dim in (d for d in rubric.dimensions if d.group == group.id):
            inds = [i for i in rubric.indicators if i.dimension == dim.id]
            start = len(rows)
            for ind in inds:
                rows.extend(_indicator_rows(rubric, ind, verb))
            if not inds:
                rows.append(Row(["", "（无指标）"] + [""] * 6))
            rows[start].cells[0] = f"{dim.name}\n（{n(dim.max)}分）"  # narrow column
            rows[start].spans[0] = len(rows) - start
    return rows


def _cap(points: Decimal, verb: str) -> str:
    return f"{n(points)}分" if not verb else f"最多{verb}{n(points)}分"


def _indicator_rows(rubric: Rubric, ind: Indicator, verb: str) -> list[Row]:
    rows = [Row(["", "", f"{c.id}　{c.text}", KIND_NAMES.get(c.kind, c.kind), points_text(c, verb),
                 _fields_text(c), "", "\n".join(_clause_notes(rubric, c, ind))])
            for c in ind.clauses]
    first = rows[0]
    first.cells[1] = f"{ind.id}. {ind.name}\n（{_cap(ind.max, verb)}）"
    first.cells[6] = ind.evidence
    first.cells[7] = "\n".join(_indicator_notes(ind) + ([first.cells[7]] if first.cells[7] else []))
    first.spans.update({1: len(rows), 6: len(rows)})
    return rows


def _indicator_notes(ind: Indicator) -> list[str]:
    notes = [f"{'、'.join(ind.not_applicable)}不适用"] if ind.not_applicable else []
    if ind.window_from or ind.window_to:
        since = f"{ind.window_from.isoformat()}起" if ind.window_from else ""
        until = f"至{ind.window_to.isoformat()}" if ind.window_to else ""
        notes.append(f"统计期间：{since}{until}")
    return notes + ([ind.note] if ind.note else [])


def _clause_notes(rubric: Rubric, c: Clause, ind: Indicator) -> list[str]:
    notes = ["市级核定"] if c.office_only else []
    if c.office_review:
        notes.append(OFFICE_REVIEW_NOTE)
    if c.needs:
        notes.append("需市级核定数据：" + "、".join(_need_labels(rubric, c.needs)))
    if c.optional:
        notes.append("市级可填：" + "、".join(_need_labels(rubric, c.optional)) + "（填写时以其为准）")
    if c.extra:
        notes.append(extra_note(ind))
    return notes + ([c.note] if c.note else [])


OFFICE_REVIEW_NOTE = "市级确认：单位填报，市级在审核表“市级确认”页逐项核实"


def extra_note(ind: Indicator) -> str:
    """What the engine does with extra points: they count within the indicator's cap."""
    return f"额外加分，计入本指标，本指标合计不超过{n(ind.max)}分"


def _need_labels(rubric: Rubric, needs) -> list[str]:
    """Param labels in the rubric's order, then cohort values (e.g. 办理案件数全市排名)."""
    labels = [p.label for p in rubric.params if p.id in needs]
    for name in sorted(x for x in needs if ":" in x):
        kind, fid = name.split(":", 1)
        labels.append(COHORT_WORDS.get(kind, "{label}").format(label=rubric.field(fid).label))
    return labels


def _fields_text(c: Clause) -> str:
    lines = [f"{f.id} {f.label}" + (f"（{f.unit}）" if f.unit else "") for f in c.fields]
    if c.office_only and lines:
        lines.append("（由市级填报）")
    return "\n".join(lines) or "—"


def points_text(c: Clause, verb: str = "") -> str:
    """分值/上限 in a few words: the rule's points where the kind has a simple form, then the cap."""
    s = c.spec
    unit = next((f.unit for f in c.fields if f.unit), "次")
    if c.kind == "flag" and "points" in s:
        return f"{verb}{n(s['points'])}分"
    if c.kind == "choice":
        return "\n".join(f"{o['text']}：{verb}{n(o['points'])}分" for o in s.get("options", []))
    lines = []
    if c.kind == "count" and "per" in s:
        lines.append(f"每{unit}{verb}{n(s['per'])}分")
    elif c.kind == "judged":
        lines.append(f"自评0～{n(c.max)}分，以{n(s.get('step', '0.5'))}分为单位")
    elif c.kind == "penalty" and "per" in s:
        lines.append(f"{n(s['points'])}分，每{unit}扣{n(s['per'])}分")
    elif c.kind == "growth" and "step" in s:
        lines.append(_growth_text(s))
    elif c.kind == "tiers":
        lines += [f"{_band_text(t)}：{verb}{n(t['points'])}分" for t in s.get("tiers", [])]
        lines.append(f"其余：{verb}{n(s.get('otherwise', 0))}分")
    elif c.kind == "checklist":  # items by field id: their labels are in 填报项 already
        items = s.get("items", [])
        if len({n(i["points"]) for i in items}) == 1:
            lines.append(f"每项{verb}{n(items[0]['points'])}分")
        else:
            lines += [f"{i['field']}：{verb}{n(i['points'])}分" for i in items]
    return "\n".join(lines + [f"最多{verb}{n(c.max)}分"])


def _growth_text(s: dict) -> str:
    step = Decimal(str(s["step"]))
    target = Decimal(str(s.get("target", 1)))
    below = ("每下降" if target == 1 else "每低") + step_text(target, step)
    return (f"{growth_basis(target)}得{n(s['points'])}分，{below}扣"
            f"{n(s.get('deduct', 0))}分，{PARTIAL_STEP.get(str(s.get('partial_step', 'whole')), '')}")


def _band_text(t: dict) -> str:
    if "at_most" in t:
        return f"≤{n(t['at_most'])}"
    if "at_least" in t:
        return f"≥{n(t['at_least'])}"
    return f"后{n(t.get('last', 0))}位"


def _styles(wb) -> dict:
    base = {"font_name": FONT, "font_size": 10, "text_wrap": True, "valign": "top", "border": 1}
    center = {**base, "align": "center", "valign": "vcenter"}
    plain = {"font_name": FONT, "align": "center", "valign": "vcenter"}
    return {
        "title": wb.add_format({**plain, "font_size": 16, "bold": True}),
        "subtitle": wb.add_format({**plain, "font_size": 10, "text_wrap": True}),
        "header": wb.add_format({**center, "bold": True, "bg_color": "#D9D9D9"}),
        "heading": wb.add_format({**base, "bold": True, "valign": "vcenter", "bg_color": "#F2F2F2"}),
        # top: a dimension may run over several pages; its name then starts the first one
        "dimension": wb.add_format({**center, "valign": "top", "bold": True, "bg_color": "#DDEBF7"}),
        "cell": wb.add_format(base),
        "center": wb.add_format(center),
        "section": wb.add_format({"font_name": FONT, "font_size": 12, "bold": True}),
    }


def text_width(text: str) -> float:
    """Width in Excel character units at 10 pt: a CJK or full-width character is about two."""
    return sum(1.0 if ord(ch) < 0x2E80 else 1.9 for ch in text)


@lru_cache(maxsize=4096)
def lines_needed(text: str, width: float) -> int:
    """Lines `text` wraps to in a column `width` wide; kept per (text, width): generate asks
    the same few hundred hints and labels again for every unit."""
    room = max(width - 1.2, 1.0)  # cell padding
    return sum(max(1, math.ceil(text_width(line) / room)) for line in (text or "").split("\n"))


def _row_heights(rows: list[Row], widths: list[float]) -> list[float]:
    """Points per row so that every cell, merged ones included, shows all of its text."""
    heights = []
    for r in rows:
        if r.heading:
            heights.append(lines_needed(r.cells[0], sum(widths)) * LINE_PT + PAD_PT + 2)
            continue
        single = [lines_needed(t, widths[col]) for col, t in enumerate(r.cells) if col not in r.spans]
        heights.append(max(single + [1]) * LINE_PT + PAD_PT)
    for i, r in enumerate(rows):
        for col, span in r.spans.items():
            need = lines_needed(r.cells[col], widths[col]) * LINE_PT + PAD_PT
            short = need - sum(heights[i:i + span])
            if short > 0:
                heights[i + span - 1] += short
    return heights


def _write_rules(ws, rubric: Rubric, st: dict) -> None:
    widths, last = [w for _, w in COLUMNS], len(COLUMNS) - 1
    for col, w in enumerate(widths):
        ws.set_column(col, col, w)
    sub = subtitle(rubric)
    ws.merge_range(0, 0, 0, last, rubric.title, st["title"])
    ws.merge_range(1, 0, 1, last, sub, st["subtitle"])
    ws.set_row(0, 30)
    ws.set_row(1, lines_needed(sub, sum(widths)) * LINE_PT + PAD_PT)
    ws.write_row(2, 0, [name for name, _ in COLUMNS], st["header"])
    ws.set_row(2, 22)
    rows = rule_rows(rubric)
    covered = {(i + k, col) for i, r in enumerate(rows) for col, span in r.spans.items()
               for k in range(1, span)}
    for i, (r, h) in enumerate(zip(rows, _row_heights(rows, widths))):
        y = i + 3
        ws.set_row(y, h)
        if r.heading:
            ws.merge_range(y, 0, y, last, r.cells[0], st["heading"])
            continue
        for col, text in enumerate(r.cells):
            fmt = st["dimension"] if col == 0 else st["center"] if col in (3, 4) else st["cell"]
            if r.spans.get(col, 1) > 1:
                ws.merge_range(y, col, y + r.spans[col] - 1, col, text, fmt)
            elif (i, col) not in covered:
                _put(ws, y, col, text, fmt)
    _print_setup(ws, rubric.title, header_row=2)


def _put(ws, row: int, col: int, text: str, fmt) -> None:
    """Always as text (a label such as "=SUM(…)" must never become a formula); blank when empty."""
    ws.write_string(row, col, text, fmt) if text else ws.write_blank(row, col, None, fmt)


def _print_setup(ws, title: str, header_row: int | None = None) -> None:
    """A4 landscape, one page wide, the title in the page header, page numbers in the footer."""
    ws.set_paper(9)  # A4
    ws.set_landscape()
    ws.fit_to_pages(1, 0)
    if header_row is not None:
        ws.repeat_rows(header_row)
        ws.freeze_panes(header_row + 1, 0)
    ws.set_margins(left=0.4, right=0.4, top=0.75, bottom=0.6)
    ws.center_horizontally()
    ws.set_header("&C" + title.replace("&", "&&"), {"margin": 0.3})
    ws.set_footer("&C第 &P 页 共 &N 页", {"margin": 0.3})


def _write_notes(ws, rubric: Rubric, st: dict) -> None:
    """说明: rubric facts, its notes, the office parameters (市级核定数据) and the units."""
    widths = [14, 60, 24, 14]
    for col, w in enumerate(widths):
        ws.set_column(col, col, w)
    r = 0
    for title, header, rows in notes_sections(rubric):
        ws.write_string(r, 0, title, st["section"])
        ws.set_row(r, 22)
        _table_row(ws, r + 1, header, widths, st["header"])
        for k, cells in enumerate(rows or [["（无）"]]):
            _table_row(ws, r + 2 + k, cells, widths, st["cell"])
        r += 3 + max(len(rows), 1)
    _print_setup(ws, rubric.title)


def notes_sections(rubric: Rubric) -> list[tuple[str, list[str], list[list[str]]]]:
    """(title, header, rows) of each table on the 说明 sheet."""
    facts = [["名称", rubric.title], ["细则编号", rubric.id], ["版本", f"第{rubric.version}版"],
             ["年度", str(rubric.year or "")], ["发文机关", rubric.office],
             ["文号", rubric.document], ["依据", rubric.source]]
    return [
        ("细则信息", ["项目", "内容"], [f for f in facts if f[1]]),
        ("细则说明", ["序号", "说明"], [[str(i), t] for i, t in enumerate(rubric.notes, 1)]),
        ("市级核定数据", ["编号", "名称", "范围", "计量单位"],
         [[p.id, p.label, SCOPES.get(p.scope, p.scope), p.unit] for p in rubric.params]),
        ("考核单位", ["代码", "名称", "类型"], [[u.code, u.name, u.type] for u in rubric.units])]


def _table_row(ws, row: int, cells: list[str], widths: list[float], fmt) -> None:
    """Cells left to right; the last one spans to the right edge, so long notes get the full width."""
    last = len(cells) - 1
    room = widths[:last] + [sum(widths[last:])]
    ws.set_row(row, max(lines_needed(t, room[c]) for c, t in enumerate(cells)) * LINE_PT + PAD_PT)
    for col, text in enumerate(cells[:last]):
        _put(ws, row, col, text, fmt)
    if last < len(widths) - 1:
        ws.merge_range(row, last, row, len(widths) - 1, cells[last], fmt)
    else:
        _put(ws, row, last, cells[last], fmt)
