"""Benchmark of the stages after import on an imported campaign: re-import, score, review, report.

Called by bench_import.py (make bench) once its first import is done; each phase runs in a child
process of its own so that its peak RSS (the process and its largest worker) is measured alone:

  reimport   `import_paths` of the same files again (floor: the first import; aim ≤ 10 %)
  score      `run_score` before a 审核表 exists
  review     `write_review` (writes 审核表.xlsx), run twice: first run, then re-run over it
  score+审核表 `run_score` once the 审核表 exists (aim: peak RSS ≤ 300 MB at 3,000 units)
  report     `run_score` + `report.build.write_all(result, jobs=2)`, as the office runs it after
             `score`: the 审核表 is the one that score read, so its rows come from
             score/审核表读取缓存.json (review_cache.py)
  report, 审核表 changed   the same with that cache removed: the 审核表 is read in full, as after
             a reviewer's edit
  floor      bare xlsxwriter writing the same cells as the report's workbooks (排名汇总 and every
             反馈单), on the same 2 cores (aim: report ≤ 2 × floor)

Score and review have no floor of their own: their aim is linear time in units and bounded
memory, shown as ms per unit and peak RSS (run with BENCH_UNITS=300, 1000 and 3000).
"""
from __future__ import annotations

import json
import subprocess
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from bench_generate import cpu_seconds, peak_mb  # noqa: E402

JOBS = 2
_CELLS: list = []  # the floor's workbooks, inherited by forked workers


def _timed(fn) -> dict:
    c0, t0 = cpu_seconds(), time.perf_counter()
    extra = fn() or {}
    return {"seconds": time.perf_counter() - t0, "cpu": cpu_seconds() - c0,
            "peak_mb": peak_mb(), **extra}


def phase_score(camp: Path) -> dict:
    from xlsx_workflow.score import run_score
    return _timed(lambda: {"scored": len(run_score(camp).result.scored)})


def phase_review(camp: Path) -> dict:
    from xlsx_workflow.review import write_review
    return _timed(lambda: {"rows": write_review(camp).rows})


def phase_report(camp: Path) -> dict:
    import inspect

    from xlsx_workflow.report.build import write_all
    from xlsx_workflow.score import run_score
    kw = {"jobs": JOBS} if "jobs" in inspect.signature(write_all).parameters else {}
    return _timed(lambda: {"files": len(write_all(run_score(camp).result, **kw))})


def _read_book(path: str) -> tuple:
    import openpyxl
    wb = openpyxl.load_workbook(path, read_only=True)
    sheets = [(ws.title, [(r, c, v) for r, row in enumerate(ws.iter_rows(values_only=True))
                          for c, v in enumerate(row) if v is not None]) for ws in wb.worksheets]
    wb.close()
    return path, sheets


def _floor_write(k: int) -> None:
    import xlsxwriter
    path, sheets = _CELLS[k]
    wb = xlsxwriter.Workbook(f"{path}.floor.xlsx", {"in_memory": True})
    for name, cells in sheets:
        ws = wb.add_worksheet(name)
        for r, c, v in cells:
            if isinstance(v, (int, float)):
                ws.write_number(r, c, v)
            else:
                ws.write_string(r, c, str(v))
    wb.close()


def phase_floor(camp: Path) -> dict:
    """The cells of every report workbook are read first (not timed), then written bare."""
    global _CELLS
    report = camp / "report"
    paths = sorted(str(p) for p in report.rglob("*.xlsx"))
    with ProcessPoolExecutor(JOBS) as pool:
        _CELLS = list(pool.map(_read_book, paths, chunksize=32))
    cells = sum(len(c) for _, sheets in _CELLS for _, c in sheets)
    def write() -> None:
        with ProcessPoolExecutor(JOBS) as pool:  # shut down inside: its CPU time is counted
            list(pool.map(_floor_write, range(len(_CELLS)), chunksize=16))
    out = _timed(write)
    for p in report.rglob("*.floor.xlsx"):
        p.unlink()
    return {**out, "files": len(paths), "cells": cells}


def phase_report_cold(camp: Path) -> dict:
    from xlsx_workflow.campaign import load_campaign
    load_campaign(camp).layout.review_cache_file.unlink(missing_ok=True)
    return phase_report(camp)


PHASES = {"score": phase_score, "review": phase_review, "report": phase_report,
          "report-cold": phase_report_cold,
          "floor": phase_floor}


def child(phase: str, camp: Path) -> dict:
    out = subprocess.run([sys.executable, __file__, phase, str(camp)], check=True,
                         stdout=subprocess.PIPE, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def line(name: str, r: dict, n: int, floor: dict | None = None, aim: str = "") -> str:
    pad = 18 - sum(2 if ord(ch) > 0x2E80 else 1 for ch in name)  # CJK takes two columns
    text = (f"{name}{' ' * max(1, pad)}{r['seconds']:7.1f} s  "
            f"{1000 * r['seconds'] / max(n, 1):7.1f} ms/unit  "
            f"CPU {r['cpu']:7.1f} s ({r['cpu'] / max(r['seconds'], 1e-9):.2f} cores)  "
            f"peak RSS {r['peak_mb']:6.0f} MiB")
    if floor is not None:
        text += (f"  ratio {r['seconds'] / max(floor['seconds'], 1e-9):.2f} wall, "
                 f"{r['cpu'] / max(floor['cpu'], 1e-9):.2f} CPU")
    return text + (f"  ({aim})" if aim else "")


def run_stages(camp: Path, n: int) -> list[str]:
    """Every stage after import, in order; returns the printed lines."""
    score = child("score", camp)
    review = child("review", camp)
    review2 = child("review", camp)
    scored = child("score", camp)
    report = child("report", camp)
    cold = child("report-cold", camp)
    floor = child("floor", camp)
    rss = "aim: peak RSS ≤ 300 MB, linear ms/unit"
    return [line("score", score, n, aim=rss),
            line("review", review, n, aim=rss),
            line("review again", review2, n, aim=rss),
            line("score+审核表", scored, n, aim=rss),
            line("report", report, n, floor, f"aim ≤ 2.0 × floor, {report['files']} files"),
            line("report 审核表改后", cold, n, floor, "the 审核表 read in full, not from its cache"),
            line("floor", floor, n, aim=f"bare xlsxwriter, {floor['files']} files, "
                                        f"{floor['cells']} cells")]


if __name__ == "__main__":
    print(json.dumps(PHASES[sys.argv[1]](Path(sys.argv[2]))))
