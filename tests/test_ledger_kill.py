"""A real SIGKILL in the middle of an import: the ledger holds the whole batch or nothing of it, the
archive holds no half file under a final name, and re-running the import completes it.

The import runs in a child process (this file run as a script: `python test_ledger_kill.py
worker ...`), which prints a line per step so that the test can kill it at a known point. In the
"mid-copy" case the 5th file is delivered through a named pipe: the test writes part of it and
kills the worker while `archive_file` is still copying, which no sleep could time reliably.
"""
from __future__ import annotations

import hashlib
import json
import os
import queue
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from xlsx_workflow.archive import archive_file, sweep_partials, verify_archive
from xlsx_workflow.ledger import ACCEPTED, Ledger, ReturnRecord

N_FILES = 8
KILL_AFTER = "recorded 4 new"  # the killed run has written records 3 and 4 (1 and 2 were committed)
PIPED = 4                   # index of the file fed through a named pipe in the mid-copy case
BIG = 3 * 1024 * 1024       # the piped file: an evidence scan, larger than one copy chunk
TIMEOUT = 20


def run_worker(ledger: Path, archive: Path, manifest: list, pause: float) -> None:
    """The import as the pipeline will run it: archive each file, then record it, in one
    transaction; evidence files are recorded as received, workbooks as returns."""
    with Ledger(ledger) as led:
        import_id = led.begin_import([entry["path"] for entry in manifest])
        for i, entry in enumerate(manifest):
            print(f"archiving {i}", flush=True)
            got = archive_file(Path(entry["path"]), archive)
            name = Path(entry["path"]).name
            if entry["unit"] is None:
                led.note_received(import_id, got.sha256, got.size, name, got.relpath)
                state = "evidence"
            else:
                rec = ReturnRecord(got.sha256, name, datetime.now(), ACCEPTED, entry["unit"],
                                   got.size, got.relpath, Decimal("90.5"), {"1.1": "是"})
                state = "already" if led.record_return(import_id, rec).already_imported \
                    else "new"
            print(f"recorded {i + 1} {state}", flush=True)
            time.sleep(pause)
        led.finish_import(import_id)
    print("done", flush=True)


class Worker:
    """The worker process with its stdout lines read by a thread (so waits can time out)."""

    def __init__(self, tmp: Path, manifest: list, pause: float):
        spec = tmp / f"manifest-{time.monotonic_ns()}.json"
        spec.write_text(json.dumps(manifest, ensure_ascii=False), encoding="utf-8")
        self.proc = subprocess.Popen(
            [sys.executable, __file__, "worker", str(tmp / "ledger.sqlite"), str(tmp / "archive"),
             str(spec), str(pause)], stdout=subprocess.PIPE, text=True)
        self.lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line.strip())
        self.lines.put(None)

    def wait_for(self, wanted: str) -> list[str]:
        seen, deadline = [], time.monotonic() + TIMEOUT
        while not seen or seen[-1] != wanted:
            line = self.lines.get(timeout=max(0.1, deadline - time.monotonic()))
            assert line is not None, f"worker ended before {wanted!r}; saw {seen}"
            seen.append(line)
        return seen

    def kill(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        assert self.proc.wait(TIMEOUT) == -signal.SIGKILL

    def finish(self) -> list[str]:
        seen = self.wait_for("done")
        assert self.proc.wait(TIMEOUT) == 0
        return seen


def make_sources(folder: Path) -> list[dict]:
    """N real files: workbooks from units U01…, one evidence scan (unit None) at index PIPED."""
    folder.mkdir()
    manifest = []
    for i in range(N_FILES):
        if i == PIPED:
            path = folder / "U05-证明材料扫描件.pdf"
            path.write_bytes(b"%PDF-1.4\n" + os.urandom(BIG))
            manifest.append({"path": str(path), "unit": None})
            continue
        wb = openpyxl.Workbook()
        wb.active.title = "自评表"
        wb.active.append(["编号", "填报值", "材料编号"])
        wb.active.append(["1.2", i + 1, str(i)])
        path = folder / f"U{i + 1:02d}-自评表.xlsx"
        wb.save(path)
        manifest.append({"path": str(path), "unit": f"U{i + 1:02d}"})
    return manifest


def feed_part_of(fifo: Path, data: bytes, worker: Worker) -> None:
    """Write the first part of `data` into the pipe once the worker opens it. A blocking write
    returns when the reader has taken all but a pipe buffer (64 KiB) of it, so by then the worker
    has copied at least one whole chunk into its temp file."""
    deadline = time.monotonic() + TIMEOUT
    while True:
        try:
            fd = os.open(fifo, os.O_WRONLY | os.O_NONBLOCK)
            break
        except OSError:  # ENXIO: the worker has not opened the pipe yet
            assert time.monotonic() < deadline and worker.proc.poll() is None
            time.sleep(0.005)
    os.set_blocking(fd, True)
    view = memoryview(data[: 2 * 1024 * 1024])
    while view:
        view = view[os.write(fd, view):]
    worker.kill()
    os.close(fd)


def table(ledger: Path, sql: str) -> list:
    with sqlite3.connect(ledger) as db:
        return db.execute(sql).fetchall()


@pytest.mark.parametrize("where", ["between-records", "mid-copy"])
def test_killed_import_leaves_ledger_and_archive_consistent(tmp_path, where):
    manifest = make_sources(tmp_path / "收件")
    ledger, archive = tmp_path / "ledger.sqlite", tmp_path / "archive"
    Worker(tmp_path, manifest[:2], 0).finish()  # an earlier, committed import

    killed_manifest = [dict(e) for e in manifest]
    if where == "mid-copy":
        fifo = tmp_path / "管道" / Path(manifest[PIPED]["path"]).name
        fifo.parent.mkdir()
        os.mkfifo(fifo)
        killed_manifest[PIPED]["path"] = str(fifo)
    worker = Worker(tmp_path, killed_manifest, 0.15)
    seen = worker.wait_for(KILL_AFTER)
    assert seen[1::2] == ["recorded 1 already", "recorded 2 already", "recorded 3 new",
                          "recorded 4 new"]
    if where == "mid-copy":
        feed_part_of(fifo, Path(manifest[PIPED]["path"]).read_bytes(), worker)
    else:
        worker.kill()

    assert table(ledger, "PRAGMA integrity_check") == [("ok",)]
    assert table(ledger, "SELECT id, finished_at IS NOT NULL FROM imports") == [(1, 1)]
    assert table(ledger, "SELECT unit_code FROM returns ORDER BY 1") == [("U01",), ("U02",)]
    assert table(ledger, "SELECT count(*) FROM received") == [(2,)]
    assert verify_archive(archive) == []  # no half file under a final name
    partials = list(archive.glob(".*.part"))
    if where == "mid-copy":  # the kill did land inside the copy
        assert len(partials) == 1 and 0 < partials[0].stat().st_size < BIG
        piped_sha = hashlib.sha256(Path(manifest[PIPED]["path"]).read_bytes()).hexdigest()
        assert not list(archive.glob(f"??/{piped_sha}*"))

    seen = Worker(tmp_path, manifest, 0).finish()  # the same import, run again to the end
    assert seen.count("recorded 3 new") == 1 and seen.count("recorded 1 already") == 1
    _assert_complete(ledger, archive, manifest)
    seen = Worker(tmp_path, manifest, 0).finish()  # and once more: nothing changes
    assert sum(line.endswith(" new") for line in seen) == 0
    _assert_complete(ledger, archive, manifest)
    assert [p.name for p in sweep_partials(archive, older_than_s=0)] == [p.name for p in partials]
    assert verify_archive(archive) == []


def _assert_complete(ledger: Path, archive: Path, manifest: list) -> None:
    """Every source file is archived whole and recorded exactly once."""
    shas = {hashlib.sha256(Path(e["path"]).read_bytes()).hexdigest(): e for e in manifest}
    returns = table(ledger, "SELECT sha256, unit_code FROM returns")
    assert sorted(returns) == sorted((s, e["unit"]) for s, e in shas.items() if e["unit"])
    assert sorted(r[0] for r in table(ledger, "SELECT sha256 FROM received")) == sorted(shas)
    assert table(ledger, "SELECT count(*) FROM returns WHERE superseded_by IS NOT NULL") == [(0,)]
    assert table(ledger, "SELECT count(*) FROM imports WHERE finished_at IS NULL") == [(0,)]
    assert verify_archive(archive) == []
    archived = {p.name.split(".")[0] for p in archive.glob("??/*")}
    assert archived == set(shas)


if __name__ == "__main__" and sys.argv[1:2] == ["worker"]:
    _, _, ledger_arg, archive_arg, manifest_arg, pause_arg = sys.argv
    run_worker(Path(ledger_arg), Path(archive_arg),
               json.loads(Path(manifest_arg).read_text(encoding="utf-8")), float(pause_arg))
