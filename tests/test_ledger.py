"""The archive and the ledger: nothing received is lost, re-imports change nothing."""
from __future__ import annotations

import hashlib
import os
import sqlite3
import time
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import openpyxl
import pytest

from xlsx_workflow.archive import (archive_file, archive_suffix, sweep_partials, verify_archive)
from xlsx_workflow.ledger import (ACCEPTED, FLAGGED, MISSING, REJECTED, SCHEMA_VERSION, Ledger,
                                  ReturnRecord, is_late, receipt_issues)
from xlsx_workflow.messages import WorkflowError, issue

BEIJING = timezone(timedelta(hours=8), "CST")
DEADLINE = date(2021, 12, 31)


def sha(label: str) -> str:
    return hashlib.sha256(label.encode()).hexdigest()


def record(label, unit, status=ACCEPTED, when="2021-12-01 09:00", **kw) -> ReturnRecord:
    """A return whose file content is `label` (same label = same file)."""
    return ReturnRecord(sha256=sha(label), source_name=f"{label}.xlsx", unit_code=unit,
                        received_at=datetime.fromisoformat(when), status=status, **kw)


@pytest.fixture
def ledger(tmp_path):
    with Ledger(tmp_path / "ledger.sqlite", deadline=DEADLINE, tz=BEIJING) as led:
        yield led


def run_batches(led: Ledger, steps) -> dict:
    """Import `steps` [(batch, label, unit, status, when)], one transaction per batch number;
    returns {step index: StoredReturn}."""
    out = {}
    for batch in sorted({step[0] for step in steps}):
        import_id = led.begin_import([f"收件/第{batch}批"])
        for i, (n, label, unit, status, when) in enumerate(steps):
            if n == batch:
                out[i] = led.record_return(import_id, record(label, unit, status, when))
        led.finish_import(import_id)
    return out


def label_of(led: Ledger, return_id):
    return None if return_id is None else led.get(return_id).source_name.removesuffix(".xlsx")


# (name, steps [(batch, file, unit, status, received)], current {unit: file},
#  history {unit: [file, newest first]}, superseded {file: by file}, already [per step])
SCENARIOS = [
    ("same file in a later import changes nothing",
     [(1, "a1", "A", ACCEPTED, "2021-12-01 09:00"), (2, "a1", "A", ACCEPTED, "2021-12-05 09:00")],
     {"A": "a1"}, {"A": ["a1"]}, {}, [False, True]),
    ("same file twice in one import",
     [(1, "a1", "A", ACCEPTED, "2021-12-01 09:00"), (1, "a1", "A", ACCEPTED, "2021-12-01 09:00")],
     {"A": "a1"}, {"A": ["a1"]}, {}, [False, True]),
    ("a new version supersedes the current one",
     [(1, "a1", "A", ACCEPTED, "2021-12-01 09:00"), (2, "a2", "A", ACCEPTED, "2021-12-10 09:00")],
     {"A": "a2"}, {"A": ["a2", "a1"]}, {"a1": "a2"}, [False, False]),
    ("three versions chain",
     [(1, "a1", "A", ACCEPTED, "2021-12-01 09:00"), (2, "a2", "A", FLAGGED, "2021-12-02 09:00"),
      (3, "a3", "A", ACCEPTED, "2021-12-03 09:00")],
     {"A": "a3"}, {"A": ["a3", "a2", "a1"]}, {"a1": "a2", "a2": "a3"}, [False, False, False]),
    ("a rejected version does not supersede",
     [(1, "a1", "A", ACCEPTED, "2021-12-01 09:00"), (2, "a2", "A", REJECTED, "2021-12-10 09:00")],
     {"A": "a1"}, {"A": ["a2", "a1"]}, {}, [False, False]),
    ("a flagged version supersedes an accepted one",
     [(1, "a1", "A", ACCEPTED, "2021-12-01 09:00"), (1, "a2", "A", FLAGGED, "2021-12-01 10:00")],
     {"A": "a2"}, {"A": ["a2", "a1"]}, {"a1": "a2"}, [False, False]),
    ("an older file imported later goes into history only",
     [(1, "a2", "A", ACCEPTED, "2021-12-10 09:00"), (2, "a1", "A", ACCEPTED, "2021-12-01 09:00")],
     {"A": "a2"}, {"A": ["a2", "a1"]}, {"a1": "a2"}, [False, False]),
    ("only rejected returns: nothing current",
     [(1, "a1", "A", REJECTED, "2021-12-01 09:00")], {}, {"A": ["a1"]}, {}, [False]),
    ("units are independent",
     [(1, "a1", "A", ACCEPTED, "2021-12-01 09:00"), (1, "b1", "B", ACCEPTED, "2021-12-02 09:00"),
      (2, "a2", "A", ACCEPTED, "2021-12-03 09:00")],
     {"A": "a2", "B": "b1"}, {"A": ["a2", "a1"], "B": ["b1"]}, {"a1": "a2"}, [False] * 3),
    ("an unidentified file is kept but belongs to no unit",
     [(1, "x", None, REJECTED, "2021-12-01 09:00")], {}, {}, {}, [False]),
]


@pytest.mark.parametrize("name,steps,current,history,superseded,already", SCENARIOS,
                         ids=[s[0] for s in SCENARIOS])
def test_ledger_scenarios(ledger, name, steps, current, history, superseded, already):
    stored = run_batches(ledger, steps)
    assert [stored[i].already_imported for i in range(len(steps))] == already
    assert {r.unit_code: label_of(ledger, r.id) for r in ledger.current_returns()} == current
    units = {u for _, _, u, _, _ in steps if u}
    assert {u: [label_of(ledger, r.id) for r in ledger.history(u)] for u in units} == history
    got = {label_of(ledger, r.id): label_of(ledger, r.superseded_by)
           for u in units for r in ledger.history(u) if r.superseded_by}
    assert got == superseded
    n_files = len({label for _, label, _, _, _ in steps})
    assert ledger.db.execute("SELECT count(*) FROM returns").fetchone()[0] == n_files
    # the lean lookups agree with the records they stand for
    assert {u: ledger.newest_sha256(u) for u in units} == \
        {u: ledger.history(u)[0].sha256 for u in units}
    every = sorted(units | {"无此单位"})
    assert ledger.missing_units(every) == [u for u in every if u not in current]
    assert all(ledger.holds(r.sha256) for u in units for r in ledger.history(u))
    assert not ledger.holds(sha("从未收到")) and ledger.newest_sha256("无此单位") is None
    # every unit at once, as scoring reads them: the same records as one unit at a time
    histories, now = ledger.returns_by_unit()
    assert histories == {u: ledger.history(u) for u in units if ledger.history(u)}
    assert list(now.items()) == [(r.unit_code, r) for r in ledger.current_returns()]
    assert all(now[u] is next(r for r in histories[u] if r.id == now[u].id) for u in now)


def _dump(led: Ledger, table: str) -> list:
    return [tuple(r) for r in led.db.execute(f"SELECT * FROM {table} ORDER BY 1")]


def test_reimporting_the_same_file_changes_nothing_but_is_logged(ledger):
    rec = record("a1", "A", total=Decimal("87.5"), values={"1.1": "是"})
    first = ledger.begin_import(["收件/第一批"])
    stored = ledger.record_return(first, rec)
    ledger.finish_import(first)
    before = {t: _dump(ledger, t) for t in ("received", "returns")}
    again = ledger.begin_import(["收件/第二批"])
    dup = ledger.record_return(again, record("a1", "A", status=REJECTED, when="2022-02-01 10:00"))
    summary = ledger.finish_import(again)
    assert {t: _dump(ledger, t) for t in ("received", "returns")} == before
    assert dup.already_imported and dup.id == stored.id and dup.status == ACCEPTED
    assert (summary["duplicates"], summary["accepted"], summary["rejected"]) == (1, 0, 0)
    assert [i.code for i in receipt_issues(dup, DEADLINE)] == ["L003"]
    assert "第 1 批" in receipt_issues(dup, DEADLINE)[0].message


def test_same_content_under_another_name_adds_the_name_only(ledger):
    b = ledger.begin_import(["x"])
    ledger.record_return(b, record("a1", "A"))
    renamed = record("a1", "A")
    renamed.source_name = "a1 (1).xlsx"
    assert ledger.record_return(b, renamed).already_imported
    ledger.finish_import(b)
    names = ledger.db.execute("SELECT names FROM received").fetchone()[0]
    assert names == '["a1.xlsx", "a1 (1).xlsx"]'
    assert ledger.db.execute("SELECT count(*) FROM returns").fetchone()[0] == 1


# (received at, deadline, late?) — the deadline day counts whole, in the campaign's time zone
LATE = [
    (datetime(2021, 12, 30, 18, 0), DEADLINE, False),
    (datetime(2021, 12, 31, 0, 0), DEADLINE, False),
    (datetime(2021, 12, 31, 23, 59, 59), DEADLINE, False),
    (datetime(2022, 1, 1, 0, 0), DEADLINE, True),
    (datetime(2022, 3, 1, 8, 0), DEADLINE, True),
    (datetime(2021, 12, 31, 15, 59, tzinfo=timezone.utc), DEADLINE, False),  # 23:59 in Beijing
    (datetime(2021, 12, 31, 16, 30, tzinfo=timezone.utc), DEADLINE, True),   # 00:30 next day
    (datetime(2030, 1, 1), None, False),                                      # no deadline set
]


@pytest.mark.parametrize("received_at,deadline,late", LATE)
def test_late_only_from_the_day_after_the_deadline(tmp_path, received_at, deadline, late):
    assert is_late(received_at, deadline, BEIJING) is late
    with Ledger(tmp_path / "l.sqlite", deadline=deadline, tz=BEIJING) as led:
        b = led.begin_import(["x"])
        rec = record("a1", "A")
        rec.received_at = received_at
        stored = led.record_return(b, rec)
        led.finish_import(b)
        assert led.get(stored.id).late is late
        assert led.status(["A"])[0].late is late
        codes = [i.code for i in receipt_issues(stored, deadline)]
        assert codes == (["L004"] if late else [])


def test_received_time_round_trips_in_the_campaign_zone(ledger):
    b = ledger.begin_import(["x"])
    stored = ledger.record_return(b, record("a1", "A", when="2021-12-31 23:30"))
    ledger.finish_import(b)
    assert stored.received_at == datetime(2021, 12, 31, 23, 30, tzinfo=BEIJING)
    assert ledger.db.execute("SELECT received_at FROM returns").fetchone()[0] \
        == "2021-12-31T15:30:00.000000+00:00"


def test_values_issues_and_total_are_kept_exactly(ledger):
    problems = [issue("L004", "a1.xlsx", at="x", deadline="y"), issue("F014", "a1.xlsx"),
                {"code": "V999", "severity": "错误", "message": "数值有误", "where": "自评表!D5"}]
    rec = record("a1", "A", total=Decimal("87.50"), issues=problems,
                 values={"1.2": Decimal("3"), "1.1": "是", "会议日期": date(2021, 3, 1)})
    b = ledger.begin_import(["x"])
    ledger.record_return(b, rec)
    ledger.finish_import(b)
    got = ledger.current_returns()[0]
    assert got.total == Decimal("87.50") and str(got.total) == "87.50"
    assert got.values == {"1.1": "是", "1.2": "3", "会议日期": "2021-03-01"}
    assert (got.errors, got.warnings) == (2, 1)
    assert [i["code"] for i in got.issues] == ["L004", "F014", "V999"]


def test_status_and_missing_units(ledger):
    run_batches(ledger, [
        (1, "a1", "A", ACCEPTED, "2021-12-01 09:00"),
        (1, "b1", "B", REJECTED, "2021-12-02 09:00"),
        (2, "a2", "A", REJECTED, "2022-01-03 10:00"),
        (2, "z1", "Z", ACCEPTED, "2021-12-20 09:00"),  # a code the caller did not list
    ])
    rows = {s.unit_code: s for s in ledger.status(["C", "A", "B"])}
    assert list(rows) == ["C", "A", "B", "Z"]
    a_current = ledger.current_returns()[0]
    # A's first valid return came on time: the refused one after the deadline makes it not late
    assert rows["A"] == type(rows["A"])(
        "A", True, datetime(2022, 1, 3, 10, 0, tzinfo=BEIJING), 2, False, 0, 0, REJECTED,
        a_current.id)
    assert a_current.unit_code == "A" and label_of(ledger, a_current.id) == "a1"
    assert (rows["B"].status, rows["B"].current_id, rows["B"].versions) == (REJECTED, None, 1)
    assert (rows["C"].received, rows["C"].status, rows["C"].versions) == (False, MISSING, 0)
    assert ledger.missing_units(["C", "A", "B", "D"]) == ["C", "B", "D"]


def test_schema_wal_foreign_keys_and_migrations(tmp_path):
    path = tmp_path / "ledger.sqlite"
    for _ in range(2):  # opening again applies nothing twice
        with Ledger(path) as led:
            assert led.db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
            assert led.db.execute("PRAGMA foreign_keys").fetchone()[0] == 1
            versions = [r[0] for r in led.db.execute("SELECT version FROM schema_version")]
            assert versions == list(range(1, SCHEMA_VERSION + 1))
            tables = {r[0] for r in led.db.execute("SELECT name FROM sqlite_master")}
            assert {"imports", "received", "returns", "reviews", "mail"} <= tables
            with pytest.raises(sqlite3.IntegrityError):  # a return must belong to an import
                led.db.execute("INSERT INTO returns (sha256, import_id, source_name, received_at,"
                               " status, late, errors, warnings, values_json, issues_json)"
                               " VALUES ('x', 999, 'n', 't', 'accepted', 0, 0, 0, '{}', '[]')")


def test_a_ledger_from_a_newer_version_is_refused(tmp_path):
    path = tmp_path / "ledger.sqlite"
    Ledger(path).close()
    with sqlite3.connect(path) as db:
        db.execute("INSERT INTO schema_version VALUES (?)", (SCHEMA_VERSION + 1,))
    with pytest.raises(WorkflowError) as err:
        Ledger(path)
    assert [i.code for i in err.value.issues] == ["L001"]


def test_a_file_that_is_not_a_ledger_is_refused(tmp_path):
    path = tmp_path / "ledger.sqlite"
    path.write_bytes(b"PK\x03\x04 this is a workbook, not a ledger" * 100)
    with pytest.raises(WorkflowError) as err:
        Ledger(path)
    assert [i.code for i in err.value.issues] == ["L002"]


def test_a_second_import_waits_then_gives_up_while_readers_go_on(tmp_path):
    path = tmp_path / "ledger.sqlite"
    with Ledger(path) as first:
        b = first.begin_import(["x"])
        first.record_return(b, record("a1", "A"))
        started = time.monotonic()
        with Ledger(path, timeout=0.3) as second:  # opening and reading never wait
            assert time.monotonic() - started < 0.25
            assert second.status() == [] and second.imports() == []
            with pytest.raises(WorkflowError) as err:
                second.begin_import(["y"])
            assert [i.code for i in err.value.issues] == ["L005"]
        first.finish_import(b)
    with Ledger(path) as again:
        assert [s.unit_code for s in again.status()] == ["A"]


def test_an_unfinished_import_leaves_nothing(tmp_path):
    path = tmp_path / "ledger.sqlite"
    with pytest.raises(ZeroDivisionError):
        with Ledger(path) as led:
            b = led.begin_import(["x"])
            led.record_return(b, record("a1", "A"))
            1 / 0
    with Ledger(path) as led:
        b = led.begin_import(["y"])
        led.record_return(b, record("b1", "B"))
        led.abort_import(b)
        assert led.imports() == [] and led.status() == []
        assert led.db.execute("SELECT count(*) FROM received").fetchone()[0] == 0


# -- archive ---------------------------------------------------------------------------------

@pytest.fixture
def workbook(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "自评表"
    ws.append(["编号", "填报值", "材料编号"])
    ws.append(["1.1", "是", "1"])
    path = tmp_path / "收件" / "固始县-自评表.XLSX"
    path.parent.mkdir()
    wb.save(path)
    return path


def test_archive_by_content_hash(tmp_path, workbook):
    arch = tmp_path / "archive"
    got = archive_file(workbook, arch)
    data = workbook.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    assert (got.sha256, got.size, got.created) == (digest, len(data), True)
    assert got.path == arch / digest[:2] / f"{digest}.xlsx"
    assert got.relpath == f"{digest[:2]}/{digest}.xlsx"
    assert got.path.read_bytes() == data
    assert [p.name for p in arch.rglob("*") if p.is_file()] == [f"{digest}.xlsx"]


def test_archiving_identical_content_again_does_not_rewrite(tmp_path, workbook):
    arch = tmp_path / "archive"
    first = archive_file(workbook, arch)
    before = first.path.stat()
    copy = tmp_path / "重发.xlsx"
    copy.write_bytes(workbook.read_bytes())
    time.sleep(0.01)
    again = archive_file(copy, arch)
    after = again.path.stat()
    assert (again.path, again.created) == (first.path, False)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
    assert not list(arch.glob(".*.part"))


def test_a_damaged_archive_copy_is_replaced_whole(tmp_path, workbook):
    arch = tmp_path / "archive"
    first = archive_file(workbook, arch)
    first.path.write_bytes(workbook.read_bytes()[:100])  # e.g. damaged by hand
    assert verify_archive(arch) == [first.path]
    assert archive_file(workbook, arch).created
    assert first.path.read_bytes() == workbook.read_bytes() and verify_archive(arch) == []


@pytest.mark.parametrize("name,suffix", [
    ("固始县.XLSX", ".xlsx"), ("自评表.xlsx (1)", ""), ("README", ""), ("材料.tar.gz", ".gz"),
    ("a.x l s x", ""), (".xlsx", ""),
])
def test_archive_suffix(name, suffix):
    assert archive_suffix(name) == suffix


def test_a_failed_copy_leaves_no_partial_file(tmp_path):
    arch = tmp_path / "archive"
    with pytest.raises(FileNotFoundError):
        archive_file(tmp_path / "不存在.xlsx", arch)
    assert list(arch.iterdir()) == []


def test_sweep_removes_only_old_partials(tmp_path, workbook):
    arch = tmp_path / "archive"
    kept = archive_file(workbook, arch)
    old, young = arch / ".old.part", arch / ".young.part"
    old.write_bytes(b"half")
    young.write_bytes(b"half")
    os.utime(old, (time.time() - 7200,) * 2)
    assert sweep_partials(arch) == [old]
    assert young.exists() and kept.path.exists() and verify_archive(arch) == []
