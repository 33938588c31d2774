"""The ledger: an embedded SQLite record of every import, return, review and mail.

One import = one transaction (BEGIN IMMEDIATE at `begin_import`, COMMIT at `finish_import`), so
a process killed midway leaves the whole batch or nothing of it. Archive files written before the
kill may exist without rows; the archive is content-addressed, so a re-run re-uses them.

Rules kept here: the same file (same SHA-256) imported again changes nothing; a new accepted or
flagged return supersedes the unit's current one (both stay in the history; "newer" means received
later); a rejected return never supersedes; a return is late only from the day after the deadline
(a return received on the deadline day, at any hour, is on time). Whether a *unit* is late is
decided in one place, `unit_timeliness`: by its first valid (accepted or flagged) return, so a
correction sent after the deadline by a unit that sent on time is 截止后更正, not 逾期. A blank
return (nothing filled, BLANK_CODES) is kept in the history but does not count as sent.
"""
from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timezone, tzinfo
from decimal import Decimal
from pathlib import Path
from typing import Optional

from .messages import Issue, WorkflowError, issue

ACCEPTED, REJECTED, FLAGGED, MISSING = "accepted", "rejected", "flagged", "missing"
SELF_ASSESSMENT, CONTACT_FORM = "self_assessment", "contact_form"  # returns.kind (= Identity.kind)
STATUS_LABELS = {ACCEPTED: "已接收", FLAGGED: "需人工确认", REJECTED: "退回", MISSING: "未报送"}
# Codes (checks.py) that refuse a return as not filled in: such a return does not count as sent.
BLANK_CODES = frozenset({"V020", "K007"})
LATE_LABEL, CORRECTED_LABEL = "逾期", "按时报送，截止后更正"

MIGRATIONS: dict[int, tuple[str, ...]] = {  # version → statements; never edit a released one
    1: (
        """CREATE TABLE imports (id INTEGER PRIMARY KEY, started_at TEXT NOT NULL,
            finished_at TEXT, paths TEXT NOT NULL, accepted INTEGER NOT NULL DEFAULT 0,
            flagged INTEGER NOT NULL DEFAULT 0, rejected INTEGER NOT NULL DEFAULT 0,
            duplicates INTEGER NOT NULL DEFAULT 0)""",
        """CREATE TABLE received (sha256 TEXT PRIMARY KEY, size INTEGER NOT NULL,
            first_seen TEXT NOT NULL, import_id INTEGER NOT NULL REFERENCES imports(id),
            stored_as TEXT NOT NULL DEFAULT '', names TEXT NOT NULL)""",
        """CREATE TABLE returns (id INTEGER PRIMARY KEY,
            sha256 TEXT NOT NULL UNIQUE REFERENCES received(sha256),
            import_id INTEGER NOT NULL REFERENCES imports(id), unit_code TEXT,
            source_name TEXT NOT NULL, received_at TEXT NOT NULL,
            status TEXT NOT NULL CHECK (status IN ('accepted', 'rejected', 'flagged')),
            late INTEGER NOT NULL CHECK (late IN (0, 1)),
            superseded_by INTEGER REFERENCES returns(id), total TEXT,
            errors INTEGER NOT NULL, warnings INTEGER NOT NULL,
            values_json TEXT NOT NULL, issues_json TEXT NOT NULL)""",
        "CREATE INDEX returns_by_unit ON returns(unit_code, received_at)",
        """CREATE TABLE reviews (id INTEGER PRIMARY KEY, unit_code TEXT NOT NULL,
            clause_id TEXT NOT NULL, old TEXT, new TEXT, reason TEXT NOT NULL,
            reviewer TEXT NOT NULL, at TEXT NOT NULL, return_id INTEGER REFERENCES returns(id))""",
        """CREATE TABLE mail (id INTEGER PRIMARY KEY, unit_code TEXT NOT NULL, kind TEXT NOT NULL,
            message_id TEXT, status TEXT NOT NULL, at TEXT NOT NULL,
            detail TEXT NOT NULL DEFAULT '')""",
    ),
    2: (  # contact forms are recorded too; only self-assessment returns are scored
        "ALTER TABLE returns ADD COLUMN kind TEXT NOT NULL DEFAULT 'self_assessment'",
    ),
    3: (  # follow-up mail (feedback, receipt, remind, results): one row per delivery attempt,
          # keyed by unit, kind and what the message refers to (a return's sha256, a deadline…)
        """CREATE TABLE messages (id INTEGER PRIMARY KEY, unit_code TEXT NOT NULL,
            kind TEXT NOT NULL, ref TEXT NOT NULL, message_id TEXT, status TEXT NOT NULL,
            at TEXT NOT NULL, detail TEXT NOT NULL DEFAULT '')""",
        "CREATE INDEX messages_by_key ON messages(unit_code, kind, ref)",
    ),
}
SCHEMA_VERSION = max(MIGRATIONS)


@dataclass
class ReturnRecord:
    """What the import pipeline learned about one received workbook."""
    sha256: str
    source_name: str
    received_at: datetime
    status: str
    unit_code: Optional[str] = None
    size: int = 0
    stored_as: str = ""           # path inside the archive (ArchivedFile.relpath)
    total: Optional[Decimal] = None
    values: dict = field(default_factory=dict)
    issues: list = field(default_factory=list)  # Issue objects or their dicts
    kind: str = SELF_ASSESSMENT   # or CONTACT_FORM; versions supersede within one kind


@dataclass(frozen=True)
class StoredReturn:
    id: int
    import_id: int
    unit_code: Optional[str]
    sha256: str
    source_name: str
    received_at: datetime
    status: str
    late: bool
    superseded_by: Optional[int]
    total: Optional[Decimal]
    errors: int
    warnings: int
    values: dict
    issues: list
    already_imported: bool = False
    kind: str = SELF_ASSESSMENT


@dataclass(frozen=True)
class UnitStatus:
    """One unit as `xlsx-workflow status` shows it: every column but `current_id` describes the
    unit's latest return; `current_id` is the return that is scored (None: nothing to score)."""
    unit_code: str
    received: bool
    last_received_at: Optional[datetime]
    versions: int
    late: bool
    errors: int
    warnings: int
    status: str
    current_id: Optional[int]
    late_correction: bool = False  # sent on time, corrected after the deadline (not late)
    blank: int = 0                 # blank returns received (refused, not counted as sent)


@dataclass(frozen=True)
class Timeliness:
    """Whether a unit sent in time, as `unit_timeliness` decides it."""
    late: bool = False
    late_correction: bool = False   # on time, and a newer valid version came after the deadline
    first_valid_at: Optional[datetime] = None

    @property
    def label(self) -> str:
        """逾期, 按时报送，截止后更正, or '' (on time, or nothing sent)."""
        return LATE_LABEL if self.late else CORRECTED_LABEL if self.late_correction else ""


def unit_timeliness(versions: list, deadline: Optional[date],
                    tz: Optional[tzinfo] = None) -> Timeliness:
    """Is this unit late? The one place that decides it, given the unit's own deadline.

    On time is decided by the unit's first valid (accepted or flagged) return; a valid version
    received after the deadline later is a correction (截止后更正), not lateness. With no valid
    return yet, the unit is late once its first return came after the deadline. Blank returns
    (BLANK_CODES) are not returns and are left out."""
    ordered = sorted(counted(versions), key=lambda r: (r.received_at, r.id))
    valid = [r for r in ordered if r.status != REJECTED]
    if not valid:
        return Timeliness(late=bool(ordered) and is_late(ordered[0].received_at, deadline, tz))
    first = valid[0]
    if is_late(first.received_at, deadline, tz):
        return Timeliness(True, False, first.received_at)
    corrected = any(is_late(r.received_at, deadline, tz) for r in valid[1:])
    return Timeliness(False, corrected, first.received_at)


def is_blank(ret: "StoredReturn") -> bool:
    """A return refused because nothing was filled in (V020, K007): it does not count as sent."""
    return ret.status == REJECTED and any(
        (i.code if isinstance(i, Issue) else i.get("code")) in BLANK_CODES for i in ret.issues)


def counted(versions: list) -> list:
    """The returns that count as sent: all but the blank ones (order kept)."""
    return [r for r in versions if not is_blank(r)]


def to_aware(moment: datetime, tz: Optional[tzinfo] = None) -> datetime:
    """A naive time is a wall-clock time in `tz` (default: this computer's zone)."""
    if moment.tzinfo is not None:
        return moment
    return moment.replace(tzinfo=tz) if tz else moment.astimezone()


def is_late(received_at: datetime, deadline: Optional[date], tz: Optional[tzinfo] = None) -> bool:
    """Late only from the day after the deadline: the deadline day counts whole, to midnight."""
    if deadline is None:
        return False
    return to_aware(received_at, tz).astimezone(tz).date() > deadline


def _stamp(moment: datetime, tz: Optional[tzinfo] = None) -> str:
    """Stored times are UTC ISO text, so that text order is time order."""
    return to_aware(moment, tz).astimezone(timezone.utc).isoformat(timespec="microseconds")


def receipt_issues(ret: StoredReturn, deadline: Optional[date],
                   timing: Optional[Timeliness] = None) -> list[Issue]:
    """The ledger's notes on one recorded return: already imported (L003), late (L004), or a
    correction after the deadline from a unit that sent on time (L009, given its `timing`)."""
    out, at = [], ret.received_at.strftime("%Y-%m-%d %H:%M")
    if ret.already_imported:
        out.append(issue("L003", ret.source_name, at=at, batch=ret.import_id))
    if ret.late and is_correction(ret, timing):
        out.append(issue("L009", ret.source_name, at=at, deadline=deadline,
                         first=timing.first_valid_at.strftime("%Y-%m-%d %H:%M")))
    elif ret.late:
        out.append(issue("L004", ret.source_name, at=at, deadline=deadline))
    return out


def is_correction(ret: StoredReturn, timing: Optional[Timeliness]) -> bool:
    """A return sent after the deadline by a unit whose first valid return was on time."""
    return bool(timing and not timing.late and timing.first_valid_at is not None
                and timing.first_valid_at < ret.received_at)


class Ledger:
    """The campaign's ledger file; use as a context manager."""

    def __init__(self, path: Path, deadline: Optional[date] = None,
                 tz: Optional[tzinfo] = None, timeout: float = 30):
        self.path, self.deadline, self.tz = Path(path), deadline, tz
        self._batch: Optional[dict] = None
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(self.path, timeout=timeout, isolation_level=None)
        self.db.row_factory = sqlite3.Row
        try:
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            self.db.execute("PRAGMA synchronous=FULL")
            self._migrate()
        except WorkflowError:
            self.db.close()
            raise
        except sqlite3.DatabaseError as e:
            self.db.close()
            raise WorkflowError([issue("L002", str(self.path), detail=e)]) from e

    def __enter__(self) -> "Ledger":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        """Close; an import not finished is rolled back (all or nothing)."""
        if self.db.in_transaction:
            self.db.execute("ROLLBACK")
        self._batch = None
        self.db.close()

    def _migrate(self) -> None:
        """Apply the missing migrations, by number. Reading the version first takes no lock, so
        opening a ledger never waits for an import running in another process."""
        if self._version() == SCHEMA_VERSION:
            return
        self._begin()
        try:
            self.db.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
            found = self._version()
            for version in range(found + 1, SCHEMA_VERSION + 1):
                for statement in MIGRATIONS[version]:
                    self.db.execute(statement)
                self.db.execute("INSERT INTO schema_version VALUES (?)", (version,))
            self.db.execute("COMMIT")
        except BaseException:
            if self.db.in_transaction:
                self.db.execute("ROLLBACK")
            raise

    def _version(self) -> int:
        has_table = self.db.execute("SELECT 1 FROM sqlite_master WHERE type = 'table'"
                                    " AND name = 'schema_version'").fetchone()
        found = self.db.execute("SELECT max(version) FROM schema_version").fetchone()[0] \
            if has_table else 0
        if (found or 0) > SCHEMA_VERSION:
            raise WorkflowError([issue("L001", str(self.path), found=found,
                                       known=SCHEMA_VERSION)])
        return found or 0

    def _begin(self) -> None:
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as e:
            if "locked" in str(e) or "busy" in str(e):
                raise WorkflowError([issue("L005", str(self.path))]) from e
            raise

    # -- one import, one transaction ---------------------------------------------------------

    def begin_import(self, paths: list) -> int:
        """Open the import's transaction and write its row; returns the import id."""
        if self._batch is not None:
            raise RuntimeError("an import is already open on this ledger")
        self._begin()
        cur = self.db.execute("INSERT INTO imports (started_at, paths) VALUES (?, ?)",
                              (self._now(), json.dumps([str(p) for p in paths],
                                                       ensure_ascii=False)))
        self._batch = {"id": cur.lastrowid, "duplicates": 0}
        return cur.lastrowid

    def record_return(self, import_id: int, rec: ReturnRecord) -> StoredReturn:
        """Record one return in the open import; the same file again returns the stored record
        marked `already_imported` and changes nothing."""
        self._check_batch(import_id)
        old = self.db.execute("SELECT * FROM returns WHERE sha256 = ?", (rec.sha256,)).fetchone()
        if old is not None:
            self._batch["duplicates"] += 1
            self._add_name(rec.sha256, rec.source_name)
            return replace(self._stored(old), already_imported=True)
        self.note_received(import_id, rec.sha256, rec.size, rec.source_name, rec.stored_as)
        new_id = self._insert_return(import_id, rec)
        if rec.unit_code is not None and rec.status != REJECTED:
            self._supersede(rec.unit_code, new_id, rec.kind)
        return self.get(new_id)

    def note_received(self, import_id: int, sha256: str, size: int, name: str,
                      stored_as: str = "") -> None:
        """Record a received file that is not itself a return (a zip, an evidence file)."""
        self._check_batch(import_id)
        self.db.execute(
            "INSERT INTO received (sha256, size, first_seen, import_id, stored_as, names)"
            " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (sha256) DO NOTHING",
            (sha256, size, self._now(), import_id, stored_as, json.dumps([name],
                                                                         ensure_ascii=False)))
        self._add_name(sha256, name)

    def finish_import(self, import_id: int) -> dict:
        """Write the import's counts and commit the whole batch; returns the import row."""
        self._check_batch(import_id)
        counts = dict(self.db.execute(
            "SELECT status, count(*) FROM returns WHERE import_id = ? GROUP BY status",
            (import_id,)).fetchall())
        self.db.execute(
            "UPDATE imports SET finished_at = ?, accepted = ?, flagged = ?, rejected = ?,"
            " duplicates = ? WHERE id = ?",
            (self._now(), counts.get(ACCEPTED, 0), counts.get(FLAGGED, 0),
             counts.get(REJECTED, 0), self._batch["duplicates"], import_id))
        self.db.execute("COMMIT")
        self._batch = None
        return next(i for i in self.imports() if i["id"] == import_id)

    def abort_import(self, import_id: int) -> None:
        """Roll the whole batch back."""
        self._check_batch(import_id)
        self.db.execute("ROLLBACK")
        self._batch = None

    def _check_batch(self, import_id: int) -> None:
        if self._batch is None or self._batch["id"] != import_id:
            raise RuntimeError(f"import {import_id} is not open on this ledger")

    def _add_name(self, sha256: str, name: str) -> None:
        row = self.db.execute("SELECT names FROM received WHERE sha256 = ?", (sha256,)).fetchone()
        names = json.loads(row["names"])
        if name not in names:
            self.db.execute("UPDATE received SET names = ? WHERE sha256 = ?",
                            (json.dumps(names + [name], ensure_ascii=False), sha256))

    def _insert_return(self, import_id: int, rec: ReturnRecord) -> int:
        issues = [i.to_dict() if isinstance(i, Issue) else dict(i) for i in rec.issues]
        severities = [i.get("severity") for i in issues]
        cur = self.db.execute(
            "INSERT INTO returns (sha256, import_id, unit_code, source_name, received_at,"
            " status, late, total, errors, warnings, values_json, issues_json, kind)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (rec.sha256, import_id, rec.unit_code, rec.source_name,
             _stamp(rec.received_at, self.tz), rec.status,
             int(is_late(rec.received_at, self.deadline, self.tz)),
             None if rec.total is None else str(rec.total),
             severities.count("错误"), severities.count("警告"),
             json.dumps(rec.values, ensure_ascii=False, sort_keys=True, default=str),
             json.dumps(issues, ensure_ascii=False), rec.kind))
        return cur.lastrowid

    def _supersede(self, unit_code: str, new_id: int, kind: str = SELF_ASSESSMENT) -> None:
        """Of the unit's current return and the new one (of the same kind), the later received
        stays current."""
        rows = self.db.execute(
            "SELECT id FROM returns WHERE unit_code = ? AND status != ? AND superseded_by IS NULL"
            " AND kind = ? ORDER BY received_at DESC, id DESC",
            (unit_code, REJECTED, kind)).fetchall()
        newest = rows[0]["id"]
        self.db.executemany("UPDATE returns SET superseded_by = ? WHERE id = ?",
                            [(newest, r["id"]) for r in rows[1:]])

    # -- follow-up mail ----------------------------------------------------------------------

    def record_message(self, unit_code: str, kind: str, ref: str, message_id: str,
                       status: str, detail: dict) -> None:
        """One delivery attempt of a follow-up message (its own transaction)."""
        self.db.execute(
            "INSERT INTO messages (unit_code, kind, ref, message_id, status, at, detail)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (unit_code, kind, ref, message_id, status, self._now(),
             json.dumps(detail, ensure_ascii=False, sort_keys=True)))

    def message_sent(self, unit_code: str, kind: str, ref: str) -> Optional[dict]:
        """The earlier successful delivery of this message (`at` as stored, UTC), if any."""
        row = self.db.execute(
            "SELECT at, message_id, detail FROM messages WHERE unit_code = ? AND kind = ?"
            " AND ref = ? AND status = 'sent' ORDER BY id LIMIT 1",
            (unit_code, kind, ref)).fetchone()
        return None if row is None else {"at": row["at"], "message_id": row["message_id"],
                                         **json.loads(row["detail"] or "{}")}

    # -- reading -----------------------------------------------------------------------------

    def get(self, return_id: int) -> StoredReturn:
        row = self.db.execute("SELECT * FROM returns WHERE id = ?", (return_id,)).fetchone()
        if row is None:
            raise KeyError(return_id)
        return self._stored(row)

    def find(self, sha256: str) -> Optional[StoredReturn]:
        """The return recorded for this file content, if any (an import skips re-reading it)."""
        row = self.db.execute("SELECT * FROM returns WHERE sha256 = ?", (sha256,)).fetchone()
        return None if row is None else self._stored(row)

    def holds(self, sha256: str) -> bool:
        """True when a return with this file content is recorded (`find` without reading it)."""
        return self.db.execute("SELECT 1 FROM returns WHERE sha256 = ? LIMIT 1",
                               (sha256,)).fetchone() is not None

    def history(self, unit_code: str, kind: str = SELF_ASSESSMENT) -> list[StoredReturn]:
        """Every return of the unit of one kind, newest first (rejected ones included)."""
        return [self._stored(r) for r in self.db.execute(
            "SELECT * FROM returns WHERE unit_code = ? AND kind = ?"
            " ORDER BY received_at DESC, id DESC", (unit_code, kind))]

    def returns_by_unit(self, kind: str = SELF_ASSESSMENT) -> tuple[dict, dict]:
        """({unit code: `history`}, {unit code: its `current_returns` return}) of every unit the
        ledger knows, as one snapshot: two queries in one read transaction, each return decoded
        once (not a query per unit and every current return twice; issue 13)."""
        began = not self.db.in_transaction
        if began:
            self.db.execute("BEGIN")  # deferred: a read snapshot, no lock taken from importers
        try:
            by_unit: dict[str, list] = {}
            for r in self.db.execute(
                    "SELECT * FROM returns WHERE unit_code IS NOT NULL AND kind = ?"
                    " ORDER BY unit_code, received_at DESC, id DESC", (kind,)):
                by_unit.setdefault(r["unit_code"], []).append(self._stored(r))
            by_id = {r.id: r for versions in by_unit.values() for r in versions}
            current = {r["unit_code"]: by_id[r["id"]] for r in self.db.execute(
                "SELECT id, unit_code FROM returns WHERE unit_code IS NOT NULL AND status != ?"
                " AND superseded_by IS NULL AND kind = ? ORDER BY unit_code", (REJECTED, kind))}
        finally:
            if began:
                self.db.execute("COMMIT")
        return by_unit, current

    def current_returns(self, kind: str = SELF_ASSESSMENT) -> list[StoredReturn]:
        """The return in force per unit (the one scored), by unit code; self-assessments unless
        another kind is asked for."""
        return [self._stored(r) for r in self.db.execute(
            "SELECT * FROM returns WHERE unit_code IS NOT NULL AND status != ?"
            " AND superseded_by IS NULL AND kind = ? ORDER BY unit_code", (REJECTED, kind))]

    def newest_sha256(self, unit_code: str, kind: str = SELF_ASSESSMENT) -> Optional[str]:
        """The file content of the unit's newest return of one kind (`history`'s first), if any."""
        row = self.db.execute(
            "SELECT sha256 FROM returns WHERE unit_code = ? AND kind = ?"
            " ORDER BY received_at DESC, id DESC LIMIT 1", (unit_code, kind)).fetchone()
        return None if row is None else row["sha256"]

    def missing_units(self, all_unit_codes: list[str]) -> list[str]:
        """Units with nothing to score: no return, or only rejected ones (in the given order).
        The units of `current_returns`, without reading their records."""
        have = {r["unit_code"] for r in self.db.execute(
            "SELECT DISTINCT unit_code FROM returns WHERE unit_code IS NOT NULL AND status != ?"
            " AND superseded_by IS NULL AND kind = ?", (REJECTED, SELF_ASSESSMENT))}
        return [code for code in all_unit_codes if code not in have]

    def status(self, all_unit_codes: Optional[list[str]] = None,
               kind: str = SELF_ASSESSMENT, deadline_of=None) -> list[UnitStatus]:
        """One row per unit: the given codes in their order (missing ones included), then any
        other unit code the ledger knows. `deadline_of(code)` gives a unit's own deadline (its
        extension); without it every unit is judged by the ledger's deadline."""
        by_unit, now = self.returns_by_unit(kind)
        codes = list(all_unit_codes or []) + sorted(set(by_unit) - set(all_unit_codes or []))
        current = {code: r.id for code, r in now.items()}
        deadline_of = deadline_of or (lambda code: self.deadline)
        return [_unit_status(c, by_unit.get(c, []), current.get(c), deadline_of(c), self.tz)
                for c in codes]

    def imports(self) -> list[dict]:
        """Every committed import, oldest first."""
        out = []
        for r in self.db.execute("SELECT * FROM imports ORDER BY id"):
            out.append({**dict(r), "paths": json.loads(r["paths"])})
        return out

    def _stored(self, row: sqlite3.Row) -> StoredReturn:
        at = datetime.fromisoformat(row["received_at"]).astimezone(self.tz)
        return StoredReturn(
            row["id"], row["import_id"], row["unit_code"], row["sha256"], row["source_name"], at,
            row["status"], bool(row["late"]), row["superseded_by"],
            None if row["total"] is None else Decimal(row["total"]), row["errors"],
            row["warnings"], json.loads(row["values_json"]), json.loads(row["issues_json"]),
            kind=row["kind"])

    def _now(self) -> str:
        return _stamp(datetime.now(timezone.utc))


def _unit_status(code: str, versions: list[StoredReturn], current_id: Optional[int],
                 deadline: Optional[date] = None, tz: Optional[tzinfo] = None) -> UnitStatus:
    """The unit's row from its returns, newest first; blank returns do not count as sent."""
    sent = counted(versions)
    blank = len(versions) - len(sent)
    if not sent:
        return UnitStatus(code, False, None, 0, False, 0, 0, MISSING, None, blank=blank)
    last, timing = sent[0], unit_timeliness(sent, deadline, tz)
    return UnitStatus(code, True, last.received_at, len(sent), timing.late, last.errors,
                      last.warnings, last.status, current_id, timing.late_correction, blank)
