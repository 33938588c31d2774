"""排名汇总.xlsx: the ranking workbook the office hands to its leaders.

Sheets 排名总表, 图表 (native charts and their data), 指标明细, 失分分析, 报送情况, 问题清单,
审核记录. Every value is written by type (numbers as numbers, times as times); every text —
above all what came from a unit — with write_string, so `=HYPERLINK(…)` stays plain text.
`ReportBook` and `Column`/`write_table` are shared with the per-unit 反馈单 (feedback_sheet.py).
"""
from __future__ import annotations

import unicodedata
import warnings
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from functools import lru_cache
from pathlib import Path

import xlsxwriter

from ..issue_lines import is_number, numbered, places, plain, summarise
from ..messages import WorkflowError, issue
from ..results import SCORED, STATE_LABELS, CampaignResult
from ..workbook.checked import FastWorkbook, Sheet, WriteError, ok
from ..workbook.print_setup import print_setup
from ..workbook.styles import SPECS, Styles

RANKING_SHEETS = ("排名总表", "图表", "指标明细", "失分分析", "报送情况", "问题清单", "审核记录")
MAX_TEXT = 32000  # Excel keeps at most 32767 characters in a cell
LINE = 13.5  # points per line of 10-point text
WIDE = 30  # a table wider than this many columns prints across pages, unit columns repeated

_NUM = {"align": "center", "num_format": "0.00"}
_GREY = {"font_color": "#7F7F7F", "bg_color": "#F2F2F2"}  # a row not scored or 不适用
REPORT_SPECS = {
    **SPECS,
    "num": {**SPECS["cell"], **_NUM},
    "pct": {**SPECS["cell"], "align": "center", "num_format": "0.00%"},
    "int": {**SPECS["cell"], "align": "center", "num_format": "0"},
    "time": {**SPECS["cell"], "align": "center", "num_format": "yyyy-mm-dd hh:mm"},
    "muted": {**SPECS["cell"], **_GREY},
    "muted_center": {**SPECS["cell"], "align": "center", **_GREY},
    "muted_num": {**SPECS["cell"], **_NUM, **_GREY},
    "muted_pct": {**SPECS["cell"], "align": "center", "num_format": "0.00%", **_GREY},
    "muted_int": {**SPECS["cell"], "align": "center", "num_format": "0", **_GREY},
    "muted_time": {**SPECS["cell"], "align": "center", "num_format": "yyyy-mm-dd hh:mm", **_GREY},
    "small_header": {**SPECS["header"], "font_size": 8},
    "max_row": {**SPECS["header"], **_NUM, "bg_color": "#F2F2F2"},
}


class ReportStyles(Styles):
    """The report workbooks' formats by name (the generator's plus number formats)."""

    def __init__(self, workbook):
        super().__init__(workbook)
        self._wb, self.made = workbook, getattr(self, "made", {})

    def __getitem__(self, name: str):
        fmt = self.made.get(name)
        if fmt is None:
            fmt = self.made[name] = self._wb.add_format(REPORT_SPECS[name])
        return fmt


class ReportBook:
    """An xlsxwriter workbook for reports: checked calls, warnings as errors, fixed properties.

    xlsxwriter drops what it cannot write with only a warning (see workbook/checked.py): here
    that raises. A file that cannot be saved (open in Excel, no permission) raises X001."""

    def __init__(self, path: Path, result: CampaignResult, title: str):
        self.path, self.result, self.title = Path(path), result, title

    def __enter__(self):
        self._warnings = warnings.catch_warnings()
        self._warnings.__enter__()
        warnings.simplefilter("error")
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.wb = FastWorkbook(str(self.path), {
            "strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False,
            "in_memory": True})
        self.styles = ReportStyles(self.wb)
        return self

    def sheet(self, name: str) -> Sheet:
        return Sheet(self.wb.add_worksheet(name), self.styles, None)

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is None:
                self._close()
        finally:
            self._warnings.__exit__(None, None, None)
        return False

    def _close(self) -> None:
        c = self.result.campaign
        self.wb.set_properties({"title": self.title, "subject": c.title, "author": c.office.name,
                                "company": c.office.name, "comments": f"考核编号 {c.id}",
                                "created": fixed_time(self.result)})
        try:
            self.wb.close()
        except Exception as e:  # xlsxwriter wraps OSError in its own FileCreateError
            raise WorkflowError([issue("X001", str(self.path), file=self.path.name,
                                       detail=str(e))]) from e


def fixed_time(result: CampaignResult) -> datetime:
    """The workbook's created time (also xlsxwriter's zip timestamps): when it was scored."""
    at = result.scored_at or result.campaign.created
    return at.astimezone(timezone.utc).replace(tzinfo=None) if at.tzinfo else at


@dataclass
class Column:
    """One table column: header, kind (text, wrap, center, num, pct, int, time) and width."""
    header: str
    kind: str = "text"
    width: float | None = None  # None: from the content


def write_table(sh: Sheet, row0: int, columns: list[Column], rows: list[list],
                muted: set[int] = frozenset(), header_style: str = "header") -> int:
    """Header at `row0`, then `rows`; returns the row after the table. Rows in `muted` are grey."""
    for col, c in enumerate(columns):
        sh.text(row0, col, c.header, header_style)
    for r, values in enumerate(rows, start=row0 + 1):
        for col, (c, v) in enumerate(zip(columns, values)):
            put(sh, r, col, v, c.kind, (r - row0 - 1) in muted)
    widths = [c.width or fit_width([c.header, *(r[col] for r in rows)]) for col, c in enumerate(columns)]
    for col, w in enumerate(widths):
        sh.call("set_column", col, col, w)
    head = max(lines(c.header, w) for c, w in zip(columns, widths))
    if head > 1:
        sh.call("set_row", row0, LINE * head)
    for r, values in enumerate(rows, start=row0 + 1):
        texts = [lines(v, w) for v, w in zip(values, widths) if isinstance(v, str)]
        if max(texts, default=1) > 1:  # LibreOffice does not grow wrapped rows by itself
            sh.call("set_row", r, LINE * max(texts))
    return row0 + 1 + len(rows)


def lines(text, width: float) -> int:
    """Lines a wrapped text takes in a column `width` characters wide (CJK counts two)."""
    if not isinstance(text, str) or not text:
        return 1
    return _lines(text, width)


@lru_cache(maxsize=1 << 16)
def _lines(text: str, width: float) -> int:
    """`lines` of a non-empty text, kept per (text, width): every 反馈单 measures the same
    clause texts and explanations again (issue 13)."""
    room = max(1.0, width - 1.5)
    return sum(max(1, -(-display_width(part) // int(room))) for part in text.split("\n"))


@lru_cache(maxsize=1 << 16)
def display_width(text: str) -> int:
    """Columns `text` takes (CJK counts two). Kept per text: the same clause texts and
    explanations come back in every unit's 反馈单 (a quarter of its time before; issue 13)."""
    if text.isascii():
        return len(text)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


_KIND_STYLE = {"num": "num", "pct": "pct", "int": "int", "time": "time", "center": "center"}
# a grey row keeps its columns' number formats (满分 5.00, not 5); any other kind: "muted"
_MUTED_STYLE = {"num": "muted_num", "pct": "muted_pct", "int": "muted_int", "time": "muted_time",
                "center": "muted_center"}


def put(sh: Sheet, row: int, col: int, value, kind: str, muted: bool = False) -> None:
    """One cell by type; text always via write_string (never a formula or a link)."""
    style = (_MUTED_STYLE.get(kind, "muted") if muted else _KIND_STYLE.get(kind, "cell"))
    t = type(value)
    if t is str and value:  # most cells of every table: straight to the sheet
        sh.text(row, col, value if len(value) <= MAX_TEXT else value[:MAX_TEXT], style)
    elif t is float or t is Decimal or t is int:
        sh.number(row, col, float(value), style)
    elif value is None or value == "":
        sh.text(row, col, "", style)
    elif isinstance(value, datetime):
        value = value.replace(tzinfo=None)  # the wall-clock time as the ledger gives it (its zone)
        ok(sh.ws.write_datetime(row, col, value, sh.styles[style]), f"write_datetime {sh.name}")
    elif isinstance(value, (int, float, Decimal)) and not isinstance(value, bool):
        sh.number(row, col, float(value), style)
    else:
        sh.text(row, col, str(value)[:MAX_TEXT], style)


def fit_width(values, lo: float = 6, hi: float = 50) -> float:
    """Column width in Excel character units: a CJK character counts two."""
    def width(v) -> int:
        if isinstance(v, float) or isinstance(v, Decimal):
            return 8
        if isinstance(v, datetime):
            return 16
        text = "" if v is None else str(v)
        return max((display_width(part) for part in text.split("\n")), default=0)
    return max(lo, min(hi, max((width(v) for v in values), default=0) + 2))


def pages(sh: Sheet, title: str, landscape: bool, header_row: int | None,
          columns: int | None = None, repeat_cols: int = 0) -> None:
    """Shared print set-up; a table wider than WIDE columns prints across pages instead of
    shrinking to one page wide, its first `repeat_cols` columns repeated on each page."""
    print_setup(sh, landscape, header_row, title)
    if columns and columns > WIDE:
        sh.call("fit_to_pages", 0, 0)
        sh.call("set_print_scale", 80)
        sh.call("repeat_columns", 0, repeat_cols - 1)


# ---------------------------------------------------------------- the workbook

def write_ranking(result: CampaignResult, path: Path) -> Path:
    """Write 排名汇总.xlsx to `path`; returns it. Raises WorkflowError (X001) when it cannot
    be saved and WriteError when xlsxwriter refuses a call."""
    title = f"{result.campaign.title}排名汇总"
    with ReportBook(path, result, title) as b:
        _ranking_sheet(b.sheet(RANKING_SHEETS[0]), result, title)
        _charts_sheet(b.wb, b.sheet(RANKING_SHEETS[1]), result, title)
        _indicator_sheet(b.sheet(RANKING_SHEETS[2]), result, title)
        _loss_sheet(b.sheet(RANKING_SHEETS[3]), result, title)
        _returns_sheet(b.sheet(RANKING_SHEETS[4]), result, title)
        _issues_sheet(b.sheet(RANKING_SHEETS[5]), result, title)
        _reviews_sheet(b.sheet(RANKING_SHEETS[6]), result, title)
    return Path(path)


def shown_dimensions(rubric) -> list:
    """Dimensions with their own column: all but the sole dimension of a 加分/扣分 group,
    which would only repeat the 加分/扣分 column."""
    out = []
    for d in rubric.dimensions:
        group = rubric.group_of(d.id)
        alone = sum(1 for x in rubric.dimensions if x.group == group.id) == 1
        if group.role == "base" or not alone:
            out.append(d)
    return out


def _ranking_sheet(sh: Sheet, result: CampaignResult, title: str) -> None:
    dims = shown_dimensions(result.rubric)
    cols = [Column("名次", "int", 6), Column("单位代码", "center"), Column("单位"),
            *(Column(h, "num", 9) for h in ("基础分", "加分", "扣分", "总分")),
            Column("得分率", "pct", 9), Column("等级", "center"),
            *(Column(d.name, "num") for d in dims)]
    rows, muted = [], set()
    for k, u in enumerate(result.units):
        s = u.score
        if u.state != SCORED or s is None:  # listed, never ranked: blank scores
            rows.append([None, u.code, u.name, *[None] * 5, STATE_LABELS[u.state],
                         *[None] * len(dims)])
            muted.add(k)
            continue
        rows.append([s.rank, u.code, u.name, s.base, s.bonus, s.deduction, s.total, s.rate,
                     s.grade, *(s.dimensions.get(d.id) for d in dims)])
    end = write_table(sh, 0, cols, rows, muted)
    sh.call("autofilter", 0, 0, max(end - 1, 0), len(cols) - 1)
    pages(sh, title, len(cols) > 9, 0)


def _charts_sheet(wb, sh: Sheet, result: CampaignResult, title: str) -> None:
    """The charts' data (scored units in rank order) and two native charts below it:
    totals against the grade lines, and base points stacked by dimension."""
    rubric = result.rubric
    lines = sorted((g for g in rubric.grades if g.min > 0), key=lambda g: g.min, reverse=True)
    dims = [d for d in rubric.dimensions if rubric.group_of(d.id).role == "base"]
    cols = [Column("单位", width=14), Column("总分", "num", 9),
            *(Column(f"{g.name}线", "num", 9) for g in lines),
            *(Column(d.name, "num") for d in dims)]
    units = result.scored
    rows = [[u.name, u.score.total, *(g.min for g in lines),
             *(u.score.dimensions.get(d.id) for d in dims)] for u in units]
    end = write_table(sh, 0, cols, rows)
    if not units:
        put(sh, end, 0, "没有已评分的单位，无图表。", "text")
        pages(sh, title, True, None)
        return
    name = sh.name
    cats = [name, 1, 0, end - 1, 0]
    top = max([g.max for g in rubric.groups if g.role == "base"] or [Decimal(100)])
    top += sum((g.max for g in rubric.groups if g.role == "bonus"), Decimal(0))

    totals = _chart(wb, {"type": "column"}, "各单位总分与等级线", "分", float(top))
    _series(totals, {"name": "总分", "categories": cats, "values": [name, 1, 1, end - 1, 1],
                     "fill": {"color": "#4472C4"},
                     "data_labels": {"value": True, "num_format": "0.00"}})
    if lines:
        grade_lines = _chart(wb, {"type": "line"})
        for k, (g, colour) in enumerate(zip(lines, ("#C00000", "#ED7D31", "#7F7F7F", "#70AD47"))):
            _series(grade_lines, {"name": f"{g.name}线（{g.min}分）", "categories": cats,
                                  "values": [name, 1, 2 + k, end - 1, 2 + k],
                                  "line": {"color": colour, "width": 1.5, "dash_type": "dash"},
                                  "marker": {"type": "none"}})
        totals.combine(grade_lines)
    stacked = _chart(wb, {"type": "column", "subtype": "stacked"}, "各单位基础分构成（按考核维度）",
                     "分", None)
    first = 2 + len(lines)
    for k, d in enumerate(dims):
        _series(stacked, {"name": d.name, "categories": cats,
                          "values": [name, 1, first + k, end - 1, first + k]})
    size = {"x_scale": 1.6, "y_scale": 1.3, "object_position": 2}
    ok(sh.ws.insert_chart(end + 1, 0, totals, size), "insert_chart 总分")
    ok(sh.ws.insert_chart(end + 23, 0, stacked, size), "insert_chart 维度")
    pages(sh, title, True, None)
    sh.call("set_h_pagebreaks", [end + 22])  # each chart whole on its page


def _chart(wb, kind: dict, title: str = "", y_name: str = "", y_max: float | None = None):
    chart = wb.add_chart(kind)
    if chart is None:
        raise WriteError(f"xlsxwriter add_chart {kind} 返回 None")
    if title:
        chart.set_title({"name": title, "name_font": {"size": 12, "name": "宋体"}})
        chart.set_legend({"position": "bottom", "font": {"name": "宋体"}})
        chart.set_x_axis({"num_font": {"name": "宋体", "rotation": -45}})
        axis = {"name": y_name, "min": 0, "major_gridlines": {"visible": True}}
        chart.set_y_axis({**axis, "max": y_max} if y_max else axis)
    return chart


def _series(chart, options: dict) -> None:
    ok(chart.add_series(options), f"add_series {options.get('name')}")


def _indicator_sheet(sh: Sheet, result: CampaignResult, title: str) -> None:
    """Units × indicators: ids in the header row, names and maxima in the two rows under it,
    each indicator column coloured from 0 (red) to its maximum (green; reversed for 扣分)."""
    rubric = result.rubric
    inds = rubric.indicators
    fixed = [Column("单位代码", "center", 9), Column("单位", width=14)]
    for col, c in enumerate(fixed):
        sh.text(0, col, c.header, "header")
        sh.call("set_column", col, col, c.width)
    sh.text(1, 1, "指标名称", "header")
    minus = any(g.role == "deduction" for g in rubric.groups)
    sh.text(2, 1, "满分（扣分项为最多扣分）" if minus else "满分", "small_header")
    sh.text(1, 0, "", "header")
    sh.text(2, 0, "", "header")
    for k, ind in enumerate(inds, start=2):
        sh.text(0, k, ind.id if is_number(ind.id) else "—", "header")
        sh.text(1, k, ind.name, "small_header")
        sh.number(2, k, float(ind.max), "max_row")
    sh.call("set_column", 2, 1 + len(inds), 7.5)
    sh.call("set_row", 1, 96)
    units = result.scored
    for r, u in enumerate(units, start=3):
        put(sh, r, 0, u.code, "center")
        put(sh, r, 1, u.name, "text")
        for k, ind in enumerate(inds, start=2):
            res = u.score.indicators.get(ind.id)
            if res is None or not res.applicable:
                put(sh, r, k, "不适用", "center", muted=True)
            else:
                put(sh, r, k, res.points, "num")
    last = 2 + len(units)
    if units:
        for k, ind in enumerate(inds, start=2):
            low, high = "#F8696B", "#63BE7B"
            if rubric.group_of(ind.dimension).role == "deduction":
                low, high = high, low
            sh.call("conditional_format", 3, k, last, k, {
                "type": "3_color_scale", "min_type": "num", "min_value": 0,
                "mid_type": "num", "mid_value": float(ind.max) / 2,
                "max_type": "num", "max_value": float(ind.max) or 1,
                "min_color": low, "mid_color": "#FFEB84", "max_color": high})
    pages(sh, title, True, None, 2 + len(inds), repeat_cols=2)
    sh.call("repeat_rows", 0, 2)
    sh.call("freeze_panes", 3, 2)


def _loss_sheet(sh: Sheet, result: CampaignResult, title: str) -> None:
    """Base indicators by points lost across the scored units they apply to."""
    rubric = result.rubric
    rows = []
    for order, ind in enumerate(rubric.indicators):
        if rubric.group_of(ind.dimension).role != "base":
            continue
        got = [u.score.indicators[ind.id].points for u in result.scored
               if ind.id in u.score.indicators and u.score.indicators[ind.id].applicable]
        lost = sum((ind.max - p for p in got), Decimal(0))
        average = sum(got, Decimal(0)) / len(got) if got else None
        rows.append((-lost, order, [numbered(ind.id, ind.name), ind.max, average, lost,
                                    sum(1 for p in got if p >= ind.max),
                                    sum(1 for p in got if p < ind.max)]))
    rows.sort(key=lambda x: (x[0], x[1]))
    cols = [Column("指标", width=44), Column("满分", "num", 8), Column("平均得分", "num", 10),
            Column("失分合计", "num", 10), Column("满分单位数", "int", 11),
            Column("失分单位数", "int", 11)]
    write_table(sh, 0, cols, [r[2] for r in rows])
    pages(sh, title, False, 0)


def _returns_sheet(sh: Sheet, result: CampaignResult, title: str) -> None:
    order = {u.code: k for k, u in enumerate(result.campaign.units)}
    units = sorted(result.units, key=lambda u: (order.get(u.code, len(order)), u.code))
    rows = [[u.name, u.received_at, u.versions, _late_text(u) if u.versions else "",
             u.errors, u.warnings, STATE_LABELS[u.state]] for u in units]
    cols = [Column("单位", width=16), Column("报送时间", "time", 17), Column("版本数", "int", 8),
            Column("是否逾期", "center", 14), Column("错误数", "int", 8), Column("警告数", "int", 8),
            Column("状态", "center", 18)]
    write_table(sh, 0, cols, rows, {k for k, u in enumerate(units) if u.state != SCORED})
    pages(sh, title, False, 0)


def _late_text(u) -> str:
    """是否逾期: by the unit's first valid return; a correction after the deadline is not late."""
    return "是" if u.late else "否（按时报送，截止后更正）" if u.late_correction else "否"


def _issues_sheet(sh: Sheet, result: CampaignResult, title: str) -> None:
    """Each unit's open problems: errors one by one, warnings one line per kind; plain words,
    no codes or cell references (a leader reads this book)."""
    rows = [[u.name, line.severity, places(line), plain(line.message)] for u in result.units
            for line in summarise(u.issues)]
    cols = [Column("单位", width=16), Column("严重程度", "center", 10), Column("位置", "wrap", 18),
            Column("问题", "wrap", 78)]
    write_table(sh, 0, cols, rows or [["（无）", None, None, None]])
    pages(sh, title, True, 0)


def _reviews_sheet(sh: Sheet, result: CampaignResult, title: str) -> None:
    names = {u.code: u.name for u in result.units}
    texts = {c.id: c.text for c in result.rubric.clauses}
    rows = []
    for r in sorted(result.reviews, key=lambda r: (r.at, r.unit_code, r.clause_id)):
        text = texts.get(r.clause_id, "")
        clause = f"{r.clause_id} {text[:40]}{'…' if len(text) > 40 else ''}".strip()
        rows.append([names.get(r.unit_code, r.unit_code), clause, r.old, r.new, r.reason,
                     r.reviewer, r.at])
    cols = [Column("单位", width=14), Column("条款", "wrap", 40), Column("原分", "num", 8),
            Column("核定分", "num", 8), Column("理由", "wrap", 36), Column("审核人", width=10),
            Column("时间", "time", 17)]
    write_table(sh, 0, cols, rows or [["（无）", *[None] * 6]])
    pages(sh, title, True, 0)
