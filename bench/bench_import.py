"""Benchmark of `import`: N returns of ip-protection-2021 beside a raw zip + XML parse floor.

    .venv/bin/python bench/bench_import.py            # 3,000 returns (make bench)
    BENCH_UNITS=300 .venv/bin/python bench/bench_import.py   # (BENCH_RETURNS still works)

Set-up (not timed): a units.csv of N synthetic units, `init --units`, `generate`, then one
filled return per unit, written as a careful county would (tests/returns_corpus.make_valid: every
field, 材料编号 and 材料清单 rows, cached scores); every 10th has a blank field (a 警告, so that
1 in 10 returns gets its 问题清单 and marked copy, as real batches do).
Timed, each in its own child process so that peak memory is measured alone:
  1. `import_paths(campaign, [returns folder], jobs=2)`: archive, sniff, read, check, score,
     ledger, feedback — the whole pipeline (each file is examined as soon as it is archived:
     the step "archive" is the time until the last file was archived, "examine" the rest);
  2. the floor: every file opened with zipfile and every XML part parsed with ElementTree, on
     the same 2 cores.
  3. the same import again (re-import: nothing new; aim ≤ 10 % of the first import);
  4. score, review and report (bench_stages.py), each beside its floor or aim.
Aims (issue 13): import ≤ 3 × floor, re-import ≤ 0.1 × import.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ET
import zipfile
from concurrent.futures import ProcessPoolExecutor
from datetime import datetime
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent / "tests"))
from bench_generate import (bench_units, cpu_seconds, init_bench_campaign,  # noqa: E402
                            peak_mb, units_csv)
from bench_stages import run_stages  # noqa: E402

JOBS = 2
AIM_RATIO = 3.0      # import ÷ floor
AIM_REIMPORT = 0.10  # re-import ÷ first import
WARN_EVERY = 10
NOW = datetime(2022, 5, 20, 10, 0).astimezone()  # before the deadline: nothing is late


# --- set-up ---------------------------------------------------------------------------------

def _make_one(job: tuple) -> None:
    from returns_corpus import CORPUS, make_valid
    k, src, dst = job
    if k % WARN_EVERY == WARN_EVERY - 1:
        CORPUS["blank_field"][0](Path(src), Path(dst))
    else:
        make_valid(Path(src), Path(dst), seed=k)


def setup(work: Path, n: int) -> tuple[Path, Path]:
    from xlsx_workflow.generate import generate_campaign
    units = work / "units.csv"
    units_csv(units, n)
    camp = work / "campaign"
    init_bench_campaign(camp, units)
    res = generate_campaign(camp, jobs=JOBS)
    inbox = work / "收件"
    inbox.mkdir()
    jobs = [(k, w.path, str(inbox / f"{w.unit_code}-{w.unit_name}.xlsx"))
            for k, w in enumerate(res.workbooks)]
    with ProcessPoolExecutor(JOBS) as pool:
        list(pool.map(_make_one, jobs, chunksize=32))
    return camp, inbox


# --- timed phases (each in a child process) --------------------------------------------------

def phase_import(camp: Path, inbox: Path) -> dict:
    from xlsx_workflow.importer import import_paths
    c0, t0 = cpu_seconds(), time.perf_counter()
    res = import_paths(camp, [inbox], jobs=JOBS, now=NOW)
    seconds, cpu = time.perf_counter() - t0, cpu_seconds() - c0
    counts = {s: len(res.by_status(s)) for s in ("accepted", "flagged", "rejected")}
    return {"seconds": seconds, "cpu": cpu, "peak_mb": peak_mb(), "returns": len(res.returns),
            "counts": counts, "feedback_files": len(res.feedback_files), "steps": res.timings}


def _parse_file(path: str) -> int:
    parts = 0
    with zipfile.ZipFile(path) as z:
        for name in z.namelist():
            if name.endswith((".xml", ".rels")):
                ET.fromstring(z.read(name))
                parts += 1
    return parts


def phase_floor(inbox: Path) -> dict:
    files = sorted(str(p) for p in inbox.iterdir())
    c0, t0 = cpu_seconds(), time.perf_counter()
    with ProcessPoolExecutor(JOBS) as pool:
        parts = sum(pool.map(_parse_file, files, chunksize=32))
    seconds, cpu = time.perf_counter() - t0, cpu_seconds() - c0
    return {"seconds": seconds, "cpu": cpu, "peak_mb": peak_mb(), "files": len(files),
            "parts": parts}


def child(phase: str, *args: str) -> dict:
    out = subprocess.run([sys.executable, __file__, phase, *args], check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    n = bench_units()
    with tempfile.TemporaryDirectory(prefix="xw-bench-import-") as tmp:
        work = Path(tmp)
        t0 = time.perf_counter()
        camp, inbox = setup(work, n)
        print(f"准备：{n} 个单位的自评表已生成并填好（{time.perf_counter() - t0:.1f} s，不计时）")
        floor = child("floor", str(inbox))
        imp = child("import", str(camp), str(inbox))
        again = child("import", str(camp), str(inbox))
        stages = run_stages(camp, n)
    ms = 1000 * imp["seconds"] / max(imp["returns"], 1)
    print(f"import   {imp['returns']} 份：{imp['seconds']:.1f} s，每份 {ms:.1f} ms，"
          f"CPU {imp['cpu']:.1f} s（{JOBS} 个进程，本机 {os.cpu_count()} 核），"
          f"峰值内存 {imp['peak_mb']:.0f} MiB；"
          f"已接收 {imp['counts']['accepted']}，需人工确认 {imp['counts']['flagged']}，"
          f"退回 {imp['counts']['rejected']}，反馈文件 {imp['feedback_files']} 个")
    print("         各步骤（秒）：" + "，".join(f"{k} {v:.1f}" for k, v in imp["steps"].items()))
    fms = 1000 * floor["seconds"] / max(floor["files"], 1)
    print(f"floor    {floor['files']} 份（zipfile + ElementTree 解析全部 {floor['parts']} 个 XML "
          f"部件）：{floor['seconds']:.1f} s，每份 {fms:.1f} ms，CPU {floor['cpu']:.1f} s，"
          f"峰值内存 {floor['peak_mb']:.0f} MiB")
    ratio = imp["seconds"] / max(floor["seconds"], 1e-9)
    print(f"import ÷ floor = {ratio:.2f} wall, {imp['cpu'] / max(floor['cpu'], 1e-9):.2f} CPU"
          f"（目标 ≤ {AIM_RATIO}）"
          + ("" if ratio <= AIM_RATIO else "  ABOVE TARGET"))
    share = again["seconds"] / max(imp["seconds"], 1e-9)
    print(f"re-import {again['returns']} 份：{again['seconds']:.1f} s，CPU {again['cpu']:.1f} s，"
          f"峰值内存 {again['peak_mb']:.0f} MiB；re-import ÷ import = {share:.3f}"
          f"（目标 ≤ {AIM_REIMPORT}）" + ("" if share <= AIM_REIMPORT else "  ABOVE TARGET"))
    print(f"stages after import ({n} units, jobs={JOBS}):")
    for text in stages:
        print("  " + text)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "import":
        print(json.dumps(phase_import(Path(sys.argv[2]), Path(sys.argv[3]))))
    elif len(sys.argv) > 1 and sys.argv[1] == "floor":
        print(json.dumps(phase_floor(Path(sys.argv[2]))))
    else:
        main()
