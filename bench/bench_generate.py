"""Benchmark of `generate`: N unit workbooks of ip-protection-2021 beside a bare-xlsxwriter floor.

    .venv/bin/python bench/bench_generate.py          # 3,000 units (make bench)
    BENCH_UNITS=300 .venv/bin/python bench/bench_generate.py

Generate writes a units.csv of N synthetic units, runs `xlsx-workflow init --units` and then
`generate_campaign(dir, jobs=2)`. The floor writes the same number of files (one 自评表 and one
联系人信息表 per unit) with bare xlsxwriter on both cores: the same cells, strings, numbers and
formulas (with their cached values) as a generated pair, but no validations, protection, styles,
identity or checks. Half the floor runs before generate and half after (a shared machine's load
drifts). Each phase runs in a child process so that its peak memory (the process and its
workers) is measured alone. The issue's target: generate ≤ 1.3 × floor.
"""
from __future__ import annotations

import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

RUBRIC = "ip-protection-2021"
JOBS = 2
TARGET = 1.3

_CELLS: list = []  # the floor's cells, inherited by forked workers


def bench_units() -> int:
    """BENCH_UNITS (or the older BENCH_RETURNS), 3,000 by default."""
    return int(os.environ.get("BENCH_UNITS") or os.environ.get("BENCH_RETURNS") or "3000")


OFFICE = {"name": "测试市知识产权联席会议办公室", "people": "张三 李四", "phone": "0371-1234567",
          "email": "office@example.com", "address": "测试市人民路1号"}


def init_bench_campaign(camp: Path, units: Path) -> None:
    """`init` as an office with its own units does, then its office written in (the console's
    新建 form does the same), so that the workbooks carry a real office's lines."""
    from xlsx_workflow.console.campaigns import set_office
    subprocess.run([sys.executable, "-m", "xlsx_workflow", "init", str(camp), "--rubric", RUBRIC,
                    "--units", str(units), "--deadline", "2022-05-27",
                    "--title", "测试市知识产权保护工作检查考核"], check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    set_office(camp, OFFICE, None)


def units_csv(path: Path, n: int) -> None:
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["代码", "名称", "类型", "邮箱"])
        for k in range(1, n + 1):
            w.writerow([f"9{k:05d}", f"测试单位{k:04d}区", "县区", f"unit{k}@example.com"])


def cpu_seconds() -> float:
    """User + system CPU time of this process and its reaped children (the pool's workers)."""
    own, kids = (resource.getrusage(w) for w in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def peak_mb() -> float:
    """Peak RSS of this process and of its largest child, in MiB (Linux: ru_maxrss in KiB)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(own, kids) / 1024


# --- phase 1: generate -----------------------------------------------------------------------

def phase_generate(work: Path, n: int) -> dict:
    from xlsx_workflow.generate import generate_campaign
    units = work / f"units-{n}.csv"
    units_csv(units, n)
    camp = work / f"campaign-{n}"
    init_bench_campaign(camp, units)
    c0, t0 = cpu_seconds(), time.perf_counter()
    res = generate_campaign(camp, jobs=JOBS)
    seconds, cpu = time.perf_counter() - t0, cpu_seconds() - c0
    if res.errors or len(res.workbooks) != n:
        raise SystemExit(f"generate failed: {len(res.workbooks)} of {n}, {res.errors[:3]}")
    return {"seconds": seconds, "cpu": cpu, "peak_mb": peak_mb(),
            "sample": [res.workbooks[0].path, res.contact_forms[0].path]}


# --- phase 2: the floor ----------------------------------------------------------------------

def cells_of(paths: list[str]) -> list:
    """[(file index, [(sheet, [(row, col, kind, value, cached)])])] of the sample pair."""
    import openpyxl
    out = []
    for k, path in enumerate(paths):
        formulas = openpyxl.load_workbook(path)
        values = openpyxl.load_workbook(path, data_only=True)
        sheets = []
        for ws in formulas.worksheets:
            cached = values[ws.title]
            cells = []
            for row in ws.iter_rows():
                for c in row:
                    v = c.value
                    if v is None:
                        if c.has_style:
                            cells.append((c.row - 1, c.column - 1, "b", None, None))
                    elif c.data_type == "f":
                        cells.append((c.row - 1, c.column - 1, "f", str(v),
                                      cached[c.coordinate].value))
                    elif isinstance(v, (int, float)):
                        cells.append((c.row - 1, c.column - 1, "n", v, None))
                    else:
                        cells.append((c.row - 1, c.column - 1, "s", str(v), None))
            sheets.append((ws.title, cells))
        out.append((k, sheets))
    return out


def _floor_write(args) -> None:
    import xlsxwriter
    out, i = args
    for k, sheets in _CELLS:
        wb = xlsxwriter.Workbook(str(out / f"{i:05d}-{k}.xlsx"), {"in_memory": True})
        plain = wb.add_format()  # a blank cell exists only with a format
        for name, cells in sheets:
            ws = wb.add_worksheet(name)
            for r, c, kind, v, cached in cells:
                if kind == "s":
                    ws.write_string(r, c, v)
                elif kind == "n":
                    ws.write_number(r, c, v)
                elif kind == "f":
                    ws.write_formula(r, c, v, None, cached if cached is not None else 0)
                else:
                    ws.write_blank(r, c, None, plain)
        wb.close()


def phase_floor(work: Path, n: int, first: int, sample: list[str]) -> dict:
    """Files first … first + n - 1 of the floor."""
    global _CELLS
    _CELLS = cells_of(sample)
    out = work / "floor"
    out.mkdir(exist_ok=True)
    c0, t0 = cpu_seconds(), time.perf_counter()
    with ProcessPoolExecutor(JOBS) as pool:
        list(pool.map(_floor_write, ((out, i) for i in range(first, first + n)), chunksize=16))
    seconds, cpu = time.perf_counter() - t0, cpu_seconds() - c0
    count = sum(len(cells) for _, sheets in _CELLS for _, cells in sheets)
    return {"seconds": seconds, "cpu": cpu, "peak_mb": peak_mb(), "cells_per_unit": count}


# --- driver ----------------------------------------------------------------------------------

def child(phase: str, *args) -> dict:
    """Run one phase in a fresh interpreter; it prints its result as JSON."""
    out = subprocess.run([sys.executable, __file__, phase, *map(str, args)], check=True,
                         stdout=subprocess.PIPE, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def main() -> None:
    if len(sys.argv) > 1:  # a child: phase, work dir, n[, first, sample paths]
        phase, work, n = sys.argv[1], Path(sys.argv[2]), int(sys.argv[3])
        result = (phase_generate(work, n) if phase == "generate"
                  else phase_floor(work, n, int(sys.argv[4]), sys.argv[5:]))
        print(json.dumps(result))
        return
    n = bench_units()
    print(f"bench: {n} units of {RUBRIC}, jobs={JOBS}, {os.cpu_count()} CPUs, "
          f"Python {sys.version.split()[0]}", flush=True)
    with tempfile.TemporaryDirectory(prefix="xw-bench-") as tmp:
        work = Path(tmp)
        sample = child("generate", work, 1)["sample"]  # one pair for the floor to copy
        # The floor runs half before and half after generate, so that a change in the load of a
        # shared machine during the run weighs on both alike.
        before = child("floor", work, n // 2, 0, *sample)
        gen = child("generate", work, n)
        after = child("floor", work, n - n // 2, n // 2, *sample)
        floor = {"seconds": before["seconds"] + after["seconds"],
                 "cpu": before["cpu"] + after["cpu"],
                 "peak_mb": max(before["peak_mb"], after["peak_mb"]),
                 "cells_per_unit": after["cells_per_unit"]}
    for name, r in (("generate", gen), ("floor (bare xlsxwriter)", floor)):
        print(f"{name:24s} {r['seconds'] * 1000 / n:7.1f} ms/unit (2 files)  "
              f"{r['seconds']:7.1f} s total  {r['cpu']:7.1f} s CPU  "
              f"peak RSS {r['peak_mb']:6.0f} MiB")
    ratio, cpu_ratio = gen["seconds"] / floor["seconds"], gen["cpu"] / floor["cpu"]
    print(f"cells per unit (both files): {floor['cells_per_unit']}")
    # Wall time is the target; CPU time is printed beside it because a shared machine makes
    # wall time noisy (another process on one core slows whichever phase is running).
    print(f"ratio generate/floor: {ratio:.2f} wall, {cpu_ratio:.2f} CPU (target ≤ {TARGET})"
          + ("" if ratio <= TARGET else "  ABOVE TARGET"))


if __name__ == "__main__":
    main()
