"""Stage `import`: take in a batch of returned files, archive them, check them, record them.

    collect ─► archive each file (by content hash) ─► sniff + read + check + score (2 processes)
            ─► ledger (one transaction, in collect order) ─► feedback for returns with problems

Each file is examined as soon as it is archived, while the next ones are archived: nothing is
parsed before it is archived, and a return the ledger already holds is not read again. A bad
file gives issues and the batch goes on. The ledger is written in the main process in a fixed
order, so the same batch always gives the same ledger. Feedback files (问题清单 and marked copy)
are derived output, written after the commit.
"""
from __future__ import annotations

import math
import os
import shutil
import sys
import time
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Callable, Optional

from .archive import archive_file, sweep_partials
from .campaign import Campaign, deadline_for, load_campaign
from .engine import score_unit
from .import_status import FileOutcome, ImportResult
from .ingest import ARCHIVE, WORKBOOK, Received, assert_safe_xml, collect, sniff
from .ingest.collect import shown_name
from .ingest.evidence import EvidenceIndex, evidence_for
from .ledger import (ACCEPTED, CONTACT_FORM, FLAGGED, REJECTED, SELF_ASSESSMENT, Ledger,
                     ReturnRecord, is_correction, receipt_issues, unit_timeliness)
from .layout import sanitise
from .messages import ERROR, Issue, WorkflowError, issue

Progress = Callable[[int, int], None]  # (files examined, files to examine)
ARCHIVE_THREADS = 8
PAUSE_ENV = "XW_TEST_PAUSE_AFTER"      # tests only: stop after N ledger records (kill test)


@dataclass
class Examined:
    """What a worker learned about one workbook-like file (picklable)."""
    form: str = ""                 # self_assessment / contact_form / "" (not a return)
    unit_code: Optional[str] = None
    unit_name: str = ""
    status: str = REJECTED
    total: Optional[Decimal] = None
    values: dict = field(default_factory=dict)
    issues: list = field(default_factory=list)
    markable: bool = False         # openpyxl could open it: a marked copy can be made


def import_paths(campaign_dir, paths: list, progress: Optional[Progress] = None, jobs: int = 2,
                 now: Optional[datetime] = None, feedback: bool = True) -> ImportResult:
    """Import every file under `paths` into the campaign; raises WorkflowError only for usage
    errors (no campaign, a path that does not exist, the ledger busy). Each file counts as
    received at `now` when given (mail: the message's date), else at its modification time."""
    assert_safe_xml()
    campaign = load_campaign(campaign_dir)
    lay, lap = campaign.layout, _stopwatch()
    unpack = _unpack_dir(lay.unpack_dir)
    # Saved mails (.eml) are opened into folders of their attachments; the .eml itself is
    # received (and archived) too.
    expanded, mails, bad_mail = _open_mails(paths, unpack / ".eml")
    received = collect(expanded + mails, unpack)
    for rec in received:
        if not rec.container and rec.name in bad_mail:
            rec.issues.extend(bad_mail[rec.name])
    sweep_partials(lay.archive_dir)
    started = datetime.now().astimezone()
    try:
        with Ledger(lay.ledger_file, campaign.deadlines.get("materials")) as led:
            import_id = led.begin_import([str(Path(p).resolve()) for p in paths])
            lap("collect")
            outcomes, results = _archive_and_examine(campaign, led, received, paths, jobs,
                                                     progress, lap)
            lap("examine")
            _record_all(led, import_id, campaign, outcomes, results, now, started)
            led.finish_import(import_id)
            missing_codes = set(led.missing_units([u.code for u in campaign.units]))
            lap("ledger")
        result = ImportResult(campaign, import_id, outcomes,
                              [u for u in campaign.units if u.code in missing_codes])
        if feedback:
            from .feedback import write_all
            result.feedback_files = write_all(campaign, result, jobs)
            lap("feedback")
        result.timings = lap.laps
        return result
    finally:
        shutil.rmtree(unpack, ignore_errors=True)
        try:
            lay.unpack_dir.rmdir()  # only when no other import is unpacking there
        except OSError:
            pass


def _open_mails(paths: list, work_dir: Path) -> tuple[list[Path], list[Path], dict]:
    """Saved mails (.eml) become folders of their attachments; the .eml files themselves are
    received too (archived like any file). An unreadable .eml gets its error (M014) and the
    batch goes on."""
    from .fetch import extract_eml
    expanded, mails, bad = [], [], {}
    for n, p in enumerate(Path(x) for x in paths):
        if not (p.is_file() and p.suffix.lower() == ".eml"):
            expanded.append(p)
            continue
        mails.append(p)
        dest = work_dir / f"{n:03d}" / sanitise(p.name)
        try:
            extract_eml(p, dest)
            expanded.append(dest)
        except WorkflowError as e:
            bad[p.name] = e.issues
    return expanded, mails, bad


def _unpack_dir(parent: Path, stale_after_s: float = 3600) -> Path:
    """A private folder for this import's unzipped files (two imports may collect at once);
    folders left by a killed import are removed once they are old."""
    import tempfile
    parent.mkdir(parents=True, exist_ok=True)
    for old in parent.iterdir():
        if old.is_dir() and time.time() - old.stat().st_mtime > stale_after_s:
            shutil.rmtree(old, ignore_errors=True)
    return Path(tempfile.mkdtemp(dir=parent, prefix="import-"))


def _stopwatch():
    """lap(name) records the seconds since the previous lap in lap.laps[name]."""
    last = [time.perf_counter()]

    def lap(name: str) -> None:
        now = time.perf_counter()
        lap.laps[name] = round(now - last[0], 3)
        last[0] = now
    lap.laps = {}
    return lap


# --- archive, then examine each file once it is archived ------------------------------------

def _archive_and_examine(campaign: Campaign, led: Ledger, received: list[Received], paths: list,
                         n_jobs: int, progress: Optional[Progress], lap) -> tuple[list, dict]:
    """(an outcome per received file, in received order; {index: Examined} of the workbooks).

    Files are archived in threads (each copy ends with an fsync, which waits on the disk, not
    the CPU, and the waits overlap); each workbook is examined as soon as it is archived, in
    the process pool (or here, with one process), so the disk's waits overlap the checks too.
    A return already in the ledger is not read again (re-importing changes nothing). Results
    come back in any order: the ledger is written afterwards in received order."""
    global _CAMPAIGN
    _CAMPAIGN = campaign  # forked workers inherit it
    archive_dir, index = campaign.layout.archive_dir, EvidenceIndex(received)
    total = sum(1 for rec in received if _examinable(rec))
    tick = _Ticker(progress, total)
    # Returns the ledger already holds (by the hash taken when collected) need no processes:
    # a re-import of a whole batch starts none.
    new = sum(1 for rec in received if _examinable(rec) and not led.holds(rec.sha256))
    n_jobs = max(1, min(n_jobs, new, os.cpu_count() or 1))
    results: dict = {}

    def take(done: list) -> None:
        for n, ex in done:
            results[n] = ex
            tick(1)
    if n_jobs == 1:  # here, one by one, each as soon as it is archived
        outcomes = _archive_feeding(lambda batch: take(_examine_jobs(batch)), led, received,
                                    archive_dir, paths, index, 1, results, tick)
        lap("archive")
        return outcomes, results
    chunk = max(1, min(16, new // (n_jobs * 8)))
    with ProcessPoolExecutor(n_jobs, initializer=_init_worker,
                             initargs=(str(campaign.root),)) as pool:
        # Start the workers before the archive threads: a process forked while other threads
        # run could inherit a lock one of them holds.
        for started in [pool.submit(os.getpid) for _ in range(n_jobs)]:
            started.result()
        pending: list = []
        try:
            outcomes = _archive_feeding(
                lambda batch: pending.append(pool.submit(_examine_jobs, batch)), led, received,
                archive_dir, paths, index, chunk, results, tick)
            lap("archive")
            for done in as_completed(pending):
                take(done.result())
        except BaseException:
            pool.shutdown(cancel_futures=True)
            raise
    return outcomes, results


def _archive_feeding(hand, led: Ledger, received: list[Received], archive_dir: Path,
                     paths: list, index: EvidenceIndex, chunk: int, results: dict,
                     tick) -> list:
    """Archive every file in threads and `hand` each new workbook's job, once archived, on to be
    examined (in batches of `chunk`); returns the outcomes in received order. Returns the
    ledger knows go straight into `results`."""
    outcomes, batch = [], []
    with ThreadPoolExecutor(ARCHIVE_THREADS) as threads:
        futures = [threads.submit(_archive, rec, archive_dir, paths) for rec in received]
        for n, (rec, fut) in enumerate(zip(received, futures)):
            o = fut.result()
            outcomes.append(o)
            stored = _known(led, o)
            if stored is not None:
                results[n] = stored
            if not _examinable(rec):
                continue
            job = None if stored else _job(n, rec, o, index)
            if job is None:
                tick(1)
                continue
            batch.append(job)
            if len(batch) >= chunk:
                hand(batch)
                batch = []
    if batch:
        hand(batch)
    return outcomes


class _Ticker:
    """progress(done, total) after each file looked at (examined, or known from the ledger)."""

    def __init__(self, progress: Optional[Progress], total: int):
        self.progress, self.total, self.done = progress, total, 0

    def __call__(self, k: int) -> None:
        self.done += k
        if self.progress:
            self.progress(self.done, self.total)


def _archive(rec: Received, archive_dir: Path, paths: list) -> FileOutcome:
    """Archive one received file before anything parses it (refused zip members have no bytes;
    their zip is archived whole)."""
    out = FileOutcome(rec.name, _original_path(rec, paths), "", rec.sha256, rec.kind,
                      issues=list(rec.issues))
    if rec.path is not None and rec.path.is_file():
        got = archive_file(rec.path, archive_dir, rec.sha256)
        out.archived, out.sha256, out.source = str(got.path), got.sha256, str(rec.path)
        out.size, out.relpath = got.size, got.relpath
    return out


def _original_path(rec: Received, paths: list) -> str:
    """Where the office's file is: the path on disk, or '<zip path>!<member>' for zip members."""
    if not rec.container and rec.path is not None:
        return shown_name(str(Path(rec.path).resolve()))
    top, _, member = rec.name.partition("!")
    for p in paths:
        p = Path(shown_name(str(Path(p).resolve())))
        if p.is_dir() and top.startswith(p.name + "/"):
            return f"{p.parent / top}!{member}"
        if p.name == top:
            return f"{p}!{member}"
    return rec.name


def _known(led: Ledger, o: FileOutcome) -> Optional[Examined]:
    """What the ledger holds for a workbook already imported, else None."""
    stored = led.find(o.sha256) if o.kind == WORKBOOK and o.sha256 else None
    if stored is None:
        return None
    return Examined(stored.kind, stored.unit_code, "", stored.status, stored.total,
                    stored.values, [Issue(**i) for i in stored.issues])


# --- examine (in worker processes, or here) -------------------------------------------------

def _examinable(rec: Received) -> bool:
    return rec.kind == WORKBOOK and not rec.refused


def _job(n: int, rec: Received, o: FileOutcome, index: EvidenceIndex) -> Optional[tuple]:
    """(index, file, name, evidence names or None) of an archived workbook, else None."""
    if not (_examinable(rec) and o.source):
        return None
    return n, o.source, rec.name, index.evidence_for(rec)


_CAMPAIGN: Optional[Campaign] = None


def _init_worker(root: str) -> None:
    global _CAMPAIGN
    if _CAMPAIGN is None or str(_CAMPAIGN.root) != root:
        _CAMPAIGN = load_campaign(root)


def _examine_jobs(jobs: list) -> list[tuple[int, Examined]]:
    return [_examine_job(job) for job in jobs]


def _examine_job(job: tuple) -> tuple[int, Examined]:
    index, path, name, evidence = job
    try:
        return index, examine(Path(path), _CAMPAIGN, evidence)
    except Exception as e:  # collect, don't stop: one odd file never ends the batch
        return index, Examined(issues=[issue("B001", name, detail=f"{type(e).__name__}: {e}"[:200])])


def examine(path: Path, campaign: Campaign, evidence: Optional[list[str]] = None) -> Examined:
    """Sniff, read, check and score one workbook-like file."""
    from .checks import IDENTITY_FLAG_CODES, check_return, check_values, filled_contacts, unit_for
    from .returns import UNRECOGNISED, read_return
    from .structure import check_structure, merge_structure_issues
    parts: dict = {}  # the XML parts as sniff checked them: the reader parses those bytes
    found = sniff(path, parts)
    if any(i.severity == ERROR for i in found):
        return Examined(issues=found)
    try:
        data = read_return(path, campaign.rubric, parts)
    except WorkflowError as e:
        return Examined(issues=found + e.issues)
    unit = unit_for(data, campaign)
    ex = Examined(form=data.kind if data.kind in (SELF_ASSESSMENT, CONTACT_FORM) else "",
                  unit_code=unit.code if unit else None, unit_name=unit.name if unit else "",
                  markable=True)
    unit_type = unit.type if unit else ""
    # The checks compare the cached 总分 with the engine's score of the cleaned inputs (no office
    # parameters, as in the workbook): that score is the one recorded, so it is computed once
    # here and handed to them (when the values have errors the return is not scored).
    score, checked = None, None
    if data.kind == SELF_ASSESSMENT and data.structure != UNRECOGNISED:
        checked = first, value_issues = check_values(data, campaign.rubric, unit_type)
        if not any(i.severity == ERROR for i in value_issues):
            score = score_unit(campaign.rubric, first, unit_type=unit_type,
                               unit_code=ex.unit_code or "", unit_name=ex.unit_name)
    cleaned, issues = check_return(data, campaign, unit_type, evidence_files=evidence,
                                   engine_total=score.total if score else None, values=checked,
                                   score=score)
    issues = merge_structure_issues(list(issues), check_structure(data, campaign.rubric))
    ex.issues, ex.values = found + list(issues), dict(cleaned or {})
    if data.kind == CONTACT_FORM:  # kept for the contact list (contacts.py), as read
        ex.values = {"contacts": [dict(c) for c in data.contacts]}
    elif ex.form == SELF_ASSESSMENT and data.self_scores:  # the unit's 自评分, for the review sheet
        ex.values["self_scores"] = _json_numbers(data.self_scores)
    if ex.form == SELF_ASSESSMENT and filled_contacts(data.contacts):  # 联系人 sheet: contacts.py
        ex.values["_meta"] = {"contacts": [dict(c) for c in filled_contacts(data.contacts)]}
    if any(i.severity == ERROR for i in ex.issues):
        return ex  # 错误: not scored until fixed
    ex.status = FLAGGED if any(i.code in IDENTITY_FLAG_CODES for i in ex.issues) else ACCEPTED
    if ex.form == SELF_ASSESSMENT:
        ex.total = (score or score_unit(campaign.rubric, cleaned, unit_type=unit_type)).total
    return ex


def _json_numbers(scores: dict) -> dict:
    """{clause id: cached 自评得分} with numbers only (text such as 待市级核定, blanks, NaN → None)."""
    out = {}
    for cid, v in scores.items():
        ok = isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
        out[str(cid)] = v if ok else None
    return out


# --- ledger (main process, collect order) -----------------------------------------------------

def received_time(o: FileOutcome, started: datetime) -> datetime:
    """When a file was received: its modification time on disk (a saved mail attachment's is
    the time it was saved; a zip member takes its zip's), never later than the import."""
    try:
        mtime = Path(o.path.split("!")[0]).stat().st_mtime
    except OSError:
        return started
    return min(datetime.fromtimestamp(mtime).astimezone(), started)


def _record_all(led: Ledger, import_id: int, campaign: Campaign, outcomes: list[FileOutcome],
                results: dict, now: Optional[datetime], started: datetime) -> None:
    pause_after = int(os.environ.get(PAUSE_ENV) or 0)
    recorded = []
    names = {u.code: u.name for u in campaign.units}
    for n, o in enumerate(outcomes):
        at = now or received_time(o, started)
        if n in results:
            recorded.append((o, *_record_return(led, import_id, campaign, names, o, results[n],
                                                at)))
        elif o.kind == WORKBOOK and o.archived:  # refused by collect: still a rejected return
            recorded.append((o, *_record_return(led, import_id, campaign, names, o,
                                                Examined(issues=[]), at)))
        elif o.archived:
            led.note_received(import_id, o.sha256, o.size, o.name, o.relpath)
        if pause_after and n + 1 == pause_after:
            print(f"{PAUSE_ENV}: paused after {n + 1} records", file=sys.stderr, flush=True)
            time.sleep(3600)
    _mark_corrections(led, recorded)


def _mark_corrections(led: Ledger, recorded: list) -> None:
    """Once the whole batch is in the ledger: a file received after the deadline from a unit
    whose first valid return was on time is a correction (L009), not late (L004)."""
    for o, stored, deadline in recorded:
        if not (o.late and stored.unit_code):
            continue
        timing = unit_timeliness(led.history(stored.unit_code, stored.kind), deadline, led.tz)
        if is_correction(stored, timing):
            o.late, o.late_correction = False, True
            o.issues = [i for i in o.issues if i.code != "L004"] + [
                i for i in receipt_issues(stored, deadline, timing) if i.code == "L009"]


def _record_return(led: Ledger, import_id: int, campaign: Campaign, names: dict[str, str],
                   o: FileOutcome, ex: Examined, now: datetime) -> tuple:
    """Record one return (`names`: unit code → name); (the stored record, the deadline it was
    judged by)."""
    o.form, o.unit_code = ex.form, ex.unit_code
    o.unit_name = ex.unit_name or names.get(ex.unit_code, "")
    o.status, o.total, o.issues = ex.status, ex.total, o.issues + ex.issues
    o.markable = ex.markable
    if o.status != REJECTED and any(i.severity == ERROR for i in o.issues):
        o.status, o.total = REJECTED, None
    deadline_key = "contact" if ex.form == CONTACT_FORM else "materials"
    led.deadline = deadline_for(campaign, o.unit_code, deadline_key)  # extensions included
    stored = led.record_return(import_id, ReturnRecord(
        o.sha256, o.name, now, o.status, o.unit_code, o.size, o.relpath, o.total,
        ex.values, o.issues, kind=ex.form or SELF_ASSESSMENT))
    if stored.already_imported:  # the ledger's record stands; this run changed nothing
        o.status, o.late, o.total = stored.status, stored.late, stored.total
        o.unit_code = stored.unit_code
    o.already_imported, o.late = stored.already_imported, stored.late
    o.issues = o.issues + receipt_issues(stored, led.deadline)
    return stored, led.deadline


__all__ = ["Examined", "FileOutcome", "ImportResult", "evidence_for", "examine", "import_paths"]
