"""Per-unit 反馈单: what a unit gets back — its points clause by clause with the engine's
explanation, its rank and grade, and its open issues. One print-ready workbook per scored unit
(A4 portrait, one page wide, table header repeated); missing and unscored units get none."""
from __future__ import annotations

import multiprocessing
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Callable, Optional

from ..engine import NOT_APPLICABLE, OVERRIDDEN, PENDING
from ..gcpause import collect_young, worker_paused
from ..issue_lines import numbered, places, plain, summarise
from ..layout import unit_file_name
from ..messages import WorkflowError
from ..results import CampaignResult, UnitResult
from ..rubric.expr import format_number
from ..workbook.checked import Sheet
from .ranking import LINE, Column, ReportBook, lines, pages, put, write_table

FEEDBACK_SUFFIX = "反馈单"
SHEET = "反馈单"
STATUS = {PENDING: "待核定", NOT_APPLICABLE: "不适用", OVERRIDDEN: "已核定"}
COLUMNS = [Column("指标", width=24), Column("条款", width=40), Column("满分", "num", 7),
           Column("得分", "num", 7), Column("说明", width=38), Column("状态", "center", 16)]
HEADER_ROW = 5  # the clause table's header row, repeated on every printed page


def write_feedback_sheets(result: CampaignResult, out_dir: Path, jobs: int = 2,
                          meanwhile: Optional[Callable[[], None]] = None) -> list[Path]:
    """One `<code>-<name>-反馈单.xlsx` per scored unit in `out_dir`; returns their paths.

    The sheets are independent: `jobs` forked processes write them (they inherit `result`
    instead of unpickling it per sheet) while this process runs `meanwhile` (the ranking
    workbook and the report), so no core waits for the other; each file is the same whatever
    the number of jobs."""
    out_dir = Path(out_dir)
    scored = result.scored  # a property that filters every unit: once, not once per sheet
    paths = [out_dir / unit_file_name(u.code, u.name, FEEDBACK_SUFFIX) for u in scored]
    jobs = max(1, min(jobs, len(paths), os.cpu_count() or 1))
    if "fork" not in multiprocessing.get_all_start_methods():  # Windows: one process
        jobs = 1
    latest = latest_reviews(result)
    if jobs == 1:
        if meanwhile:
            meanwhile()
        for u, p in zip(scored, paths):
            write_feedback_sheet(result, u, p, latest, len(scored))
            collect_young()  # write_all pauses the collector: each workbook's cycles, freed
        return paths
    _SHARED[:] = [result, scored, paths, latest]
    try:
        with ProcessPoolExecutor(jobs, mp_context=multiprocessing.get_context("fork"),
                                 initializer=worker_paused) as pool:
            done = pool.map(_write_one, range(len(paths)),
                            # small chunks: no worker idles long at the end (workers fork here)
                            chunksize=max(1, min(16, len(paths) // (8 * jobs))))
            try:
                if meanwhile:
                    meanwhile()
            except BaseException:  # the ranking could not be written: stop the sheets too
                pool.shutdown(cancel_futures=True)
                raise
            failed = [f for f in done if f]
    finally:
        _SHARED.clear()
    if failed:  # WorkflowError does not survive pickling: its issues are carried back instead
        raise WorkflowError(failed[0])
    return paths


_SHARED: list = []  # [result, scored units, paths, latest reviews]: inherited by forked workers


def _write_one(k: int) -> list:
    """Sheet k in a worker: [] when written, the issues of a WorkflowError otherwise."""
    result, scored, paths, latest = _SHARED
    try:
        write_feedback_sheet(result, scored[k], paths[k], latest, len(scored))
    except WorkflowError as e:
        return e.issues
    finally:  # the workbook's cycles, without walking the inherited result (gcpause.py)
        collect_young()
    return []


def latest_reviews(result: CampaignResult) -> dict:
    """{(unit code, clause id): the clause's latest review record}, built once per report (not
    one scan of every review per overridden clause)."""
    latest: dict = {}
    for r in result.reviews:
        key = (r.unit_code, r.clause_id)
        if key not in latest or r.at > latest[key].at:  # the first of equal times, as max()
            latest[key] = r
    return latest


def write_feedback_sheet(result: CampaignResult, unit: UnitResult, path: Path,
                         latest: Optional[dict] = None, scored: Optional[int] = None) -> Path:
    """One unit's 反馈单; `latest` (latest_reviews) and `scored` (how many units are scored)
    are passed by write_feedback_sheets, which knows them once for all sheets."""
    title = f"{result.campaign.title}{FEEDBACK_SUFFIX}"
    latest = latest_reviews(result) if latest is None else latest
    scored = len(result.scored) if scored is None else scored
    with ReportBook(path, result, title) as b:
        sh = b.sheet(SHEET)
        _summary(sh, unit, title, scored)
        end = _clauses(sh, result, unit, latest)
        _open_issues(sh, unit, end + 1)
        pages(sh, f"{result.campaign.title}　{unit.name}", False, HEADER_ROW)
    return Path(path)


def _summary(sh: Sheet, u: UnitResult, title: str, scored: int) -> None:
    """Title, then label/value pairs in two columns of three rows."""
    s = u.score
    sh.merged_text(0, 0, 0, len(COLUMNS) - 1, title, "title")
    sh.call("set_row", 0, 30)
    parts = (f"基础分{format_number(s.base)}，加分{format_number(s.bonus)}，"
             f"扣分{format_number(s.deduction)}")
    left = [("单位", u.name, "text"), ("名次/参评单位数", f"{s.rank}/{scored}", "text"),
            ("得分构成", parts, "text")]
    right = [("总分", s.total, "num"), ("等级", s.grade, "center"), ("得分率", s.rate, "pct")]
    for row, ((l_label, l_value, l_kind), (r_label, r_value, r_kind)) in enumerate(
            zip(left, right), start=1):
        sh.text(row, 0, l_label, "summary_label")
        put(sh, row, 1, l_value, l_kind)
        sh.merged_text(row, 2, row, 4, r_label, "summary_label")
        put(sh, row, 5, r_value, r_kind)


def _clauses(sh: Sheet, result: CampaignResult, u: UnitResult, latest: dict) -> int:
    """The clause table; each indicator's cell spans its clauses and shows its own points."""
    rows, spans = [], []
    rubric = result.rubric
    for ind in rubric.indicators:
        res = u.score.indicators.get(ind.id)
        minus = rubric.group_of(ind.dimension).role == "deduction"
        first = len(rows)
        for c in ind.clauses:
            cr = u.score.clauses.get(c.id)
            if cr is not None:  # a deduction shows as a negative score, with no 满分
                rows.append([None, numbered(c.id, c.text), None if minus else cr.max,
                             -cr.points if minus and cr.points else cr.points, cr.explanation,
                             _status(latest, u, c.id, cr.status)])
        if len(rows) > first:
            spans.append((first, len(rows) - 1,
                          f"{numbered(ind.id, ind.name)}\n{_points(ind, res, minus)}"))
    end = write_table(sh, HEADER_ROW, COLUMNS, rows,
                      {k for k, r in enumerate(rows) if r[5] == STATUS[NOT_APPLICABLE]})
    widths = [c.width for c in COLUMNS]
    for first, last, text in spans:
        top, bottom = HEADER_ROW + 1 + first, HEADER_ROW + 1 + last
        sh.merged_text(top, 0, bottom, 0, text, "indicator")
        # the merged cell's text must fit the rows it spans: grow the last one if not
        heights = [LINE * max(lines(v, w) for v, w in zip(rows[k], widths) if isinstance(v, str))
                   for k in range(first, last + 1)]
        need = LINE * lines(text, widths[0])
        if need > sum(heights):
            sh.call("set_row", bottom, heights[-1] + need - sum(heights))
    return end


def _points(ind, res, minus: bool) -> str:
    if res is None:
        return ""
    if not res.applicable:
        return "不适用"
    if minus:
        return f"扣{format_number(res.points)}分（最多扣{format_number(ind.max)}分）"
    return f"得{format_number(res.points)}分/满分{format_number(ind.max)}分"


def _status(latest: dict, u: UnitResult, clause_id: str, status: str) -> str:
    text = STATUS.get(status, "已评分")
    if status == OVERRIDDEN:
        last = latest.get((u.code, clause_id))
        if last is not None:
            text += f"（{last.reviewer}：{last.reason}）" if last.reviewer else f"（{last.reason}）"
    if clause_id in u.review_flags:
        text += "，需重新核定"
    return text


def _open_issues(sh: Sheet, u: UnitResult, row: int) -> None:
    """The unit's open issues under the table (or 无)."""
    last = len(COLUMNS) - 1
    sh.merged_text(row, 0, row, last, "待处理问题", "section")
    row += 1
    found = summarise(u.issues)
    if not found:
        sh.merged_text(row, 0, row, last, "无", "cell")
        return
    heads = [("严重程度", 0, 0), ("位置", 1, 1), ("问题", 2, last)]
    for header, c1, c2 in heads:
        sh.merged_text(row, c1, row, c2, header, "header")
    for line in found:
        row += 1
        where = places(line)
        text = plain(line.message)
        put(sh, row, 0, line.severity, "center")
        put(sh, row, 1, where, "text")
        sh.merge(row, 2, row, last, "cell")
        put(sh, row, 2, text, "text")
        height = max(lines(text, sum(c.width for c in COLUMNS[2:])), lines(where, COLUMNS[1].width))
        sh.call("set_row", row, LINE * height)
