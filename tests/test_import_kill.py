"""A real `xlsx-workflow import` killed (SIGKILL) in the middle of its ledger transaction: the
ledger keeps the earlier batch whole and nothing of the killed one, the archive is whole, and
running the same import again completes it.

The child stops at a known point through the importer's test hook XW_TEST_PAUSE_AFTER=N (it
prints a line on stderr and sleeps after recording N files), so no sleep has to guess timing.
"""
from __future__ import annotations

import os
import queue
import signal
import sqlite3
import subprocess
import sys
import threading
import time

import pytest

from test_import import ON_TIME, fill, make_campaign, valid_values
from xlsx_workflow.archive import verify_archive
from xlsx_workflow.importer import PAUSE_ENV, import_paths
from xlsx_workflow.ledger import Ledger

TIMEOUT = 120
PAUSE_AFTER = 4


def _stderr_lines(proc) -> queue.Queue:
    lines: queue.Queue = queue.Queue()

    def read():
        for line in proc.stderr:
            lines.put(line)
        lines.put(None)
    threading.Thread(target=read, daemon=True).start()
    return lines


def _wait_for(lines: queue.Queue, wanted: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        try:
            line = lines.get(timeout=1)
        except queue.Empty:
            continue
        if line is None:
            raise AssertionError(f"child ended before printing {wanted!r}")
        if wanted in line:
            return
    raise AssertionError(f"no {wanted!r} within {TIMEOUT}s")


def _snapshot(root) -> dict:
    db = sqlite3.connect(f"file:{root / 'ledger.sqlite'}?mode=ro", uri=True)
    try:
        return {"integrity": db.execute("PRAGMA integrity_check").fetchone()[0],
                "imports": db.execute("SELECT id, finished_at IS NOT NULL FROM imports"
                                      " ORDER BY id").fetchall(),
                "returns": db.execute("SELECT count(*) FROM returns").fetchone()[0],
                "received": db.execute("SELECT count(*) FROM received").fetchone()[0]}
    finally:
        db.close()


@pytest.mark.skipif(sys.platform == "win32", reason="SIGKILL is POSIX")
def test_killed_import_leaves_ledger_and_archive_consistent_and_rerun_completes(tmp_path):
    camp, wbs, _ = make_campaign(tmp_path / "camp")
    root = camp.root
    inbox = tmp_path / "inbox"
    for k, unit in enumerate(camp.units[:6]):
        fill(wbs[unit.code], inbox / f"{k}-{unit.name}.xlsx", valid_values(camp, k))
    (inbox / "说明.txt").write_text("材料随后补交", encoding="utf-8")
    first = sorted(inbox.glob("*.xlsx"))[:2]
    import_paths(root, first, jobs=1, now=ON_TIME)  # batch 1, committed
    before = _snapshot(root)
    assert before["imports"] == [(1, 1)] and before["returns"] == 2

    env = {**os.environ, PAUSE_ENV: str(PAUSE_AFTER)}
    proc = subprocess.Popen([sys.executable, "-m", "xlsx_workflow", "import", str(root),
                             str(inbox), "--json"], env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        _wait_for(_stderr_lines(proc), f"paused after {PAUSE_AFTER} records")
        # batch 2 is open and has written rows; a reader sees none of them (one transaction)
        assert _snapshot(root) == before
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=TIMEOUT)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert proc.returncode == -signal.SIGKILL

    after = _snapshot(root)
    assert after == before  # nothing of the killed batch, all of batch 1
    assert after["integrity"] == "ok"
    assert verify_archive(camp.layout.archive_dir) == []  # every archived file is whole
    archived = len(list(camp.layout.archive_dir.glob("??/*")))
    assert archived == 7  # all 7 files were archived before the first record: nothing lost

    res = import_paths(root, [inbox], jobs=2, now=ON_TIME)  # the re-run completes
    done = _snapshot(root)
    assert done["imports"] == [(1, 1), (2, 1)] and done["integrity"] == "ok"
    assert done["returns"] == 6 and done["received"] == 7
    assert sum(r.already_imported for r in res.returns) == 2
    assert [r.status for r in res.returns] == ["accepted"] * 6
    with Ledger(camp.layout.ledger_file) as led:
        assert len(led.current_returns()) == 6
        assert led.imports()[-1]["duplicates"] == 2
    assert verify_archive(camp.layout.archive_dir) == []
