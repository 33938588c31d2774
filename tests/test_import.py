"""The import pipeline on real generated workbooks, real zips and a real SQLite ledger.

Helpers at the top (`Campaign`, `fill`) are shared with test_import_kill.py and test_feedback.py.
"""
from __future__ import annotations

import hashlib
import json
import random
import shutil
import sqlite3
import zipfile
from datetime import datetime, timezone
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from xlsx_workflow.archive import verify_archive
from xlsx_workflow.campaign import init_campaign, load_campaign
from xlsx_workflow.cli import main
from xlsx_workflow.engine import score_unit
from xlsx_workflow.generate import generate_campaign
from xlsx_workflow.import_status import campaign_status
from xlsx_workflow.importer import evidence_for, import_paths
from xlsx_workflow.ingest.evidence import EvidenceIndex
from xlsx_workflow.ingest import ARCHIVE, EVIDENCE, WORKBOOK, Received
from xlsx_workflow.ledger import CONTACT_FORM, Ledger
from xlsx_workflow.rubric.sample import random_inputs

RUBRIC = "ip-protection-2021"
DEADLINE = "2022-05-27"
ON_TIME = datetime(2022, 5, 20, 10, 0, tzinfo=timezone.utc)
LATER = datetime(2022, 5, 26, 10, 0, tzinfo=timezone.utc)


# --- helpers ----------------------------------------------------------------------------------

def make_campaign(root: Path):
    """A campaign with its generated workbooks; returns (campaign, {code: workbook path},
    {code: contact form path})."""
    camp = init_campaign(root, RUBRIC, deadline=DEADLINE)
    res = generate_campaign(root, jobs=1)
    return (camp, {w.unit_code: Path(w.path) for w in res.workbooks},
            {w.unit_code: Path(w.path) for w in res.contact_forms})


def input_cells(ws) -> tuple[dict, dict]:
    """field id → 填报值 address, field id → 材料编号 address (found by the contract header)."""
    for row in ws.iter_rows(max_row=40):
        cols = {c.value: c.column_letter for c in row if isinstance(c.value, str)}
        if {"编号", "填报值", "材料编号"} <= cols.keys():
            top = row[0].row
            break
    values, evidence = {}, {}
    for r in range(top + 1, ws.max_row + 1):
        fid = ws[f"{cols['编号']}{r}"].value
        if fid:
            values[str(fid)] = f"{cols['填报值']}{r}"
            evidence[str(fid)] = f"{cols['材料编号']}{r}"
    return values, evidence


def fill(src: Path, dst: Path, values: dict, raw: dict | None = None) -> Path:
    """Copy a generated 自评表 with inputs filled; `raw` values are written as text as they are
    (a unit may type anything, even text starting with '=')."""
    book = openpyxl.load_workbook(src)
    ws = book["自评表"]
    cells, _ = input_cells(ws)
    for fid, value in values.items():
        if value is not None and fid in cells:
            ws[cells[fid]] = value
    for fid, text in (raw or {}).items():
        ws[cells[fid]].value = text
        ws[cells[fid]].data_type = "s"
    dst.parent.mkdir(parents=True, exist_ok=True)
    book.save(dst)
    return dst


def valid_values(camp, seed: int) -> dict:
    """Random valid inputs with no blanks."""
    return random_inputs(camp.rubric, random.Random(seed), blank_rate=0)


def fill_contacts(src: Path, dst: Path, people: list[list]) -> Path:
    book = openpyxl.load_workbook(src)
    ws = book["联系人"]
    top = next(r[0].row for r in ws.iter_rows(max_row=20)
               if {"姓名", "手机"} <= {c.value for c in r})
    for k, person in enumerate(people):
        for col, value in enumerate(person, 1):
            ws.cell(top + 1 + k, col, value)
    dst.parent.mkdir(parents=True, exist_ok=True)
    book.save(dst)
    return dst


def sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def codes(outcome) -> set[str]:
    return {i.code for i in outcome.issues}


def ledger_rows(root: Path, table: str) -> list[tuple]:
    db = sqlite3.connect(Path(root) / "ledger.sqlite")
    try:
        return db.execute(f"SELECT * FROM {table} ORDER BY 1").fetchall()
    finally:
        db.close()


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    root = tmp_path_factory.mktemp("made")
    return make_campaign(root / "camp")


@pytest.fixture
def camp(made, tmp_path):
    """A fresh copy of the generated campaign (own ledger, archive and feedback)."""
    _, wbs, cfs = made
    root = tmp_path / "camp"
    shutil.copytree(made[0].root, root)
    return (load_campaign(root), {c: root / "generate" / p.name for c, p in wbs.items()},
            {c: root / "generate" / p.name for c, p in cfs.items()})


# --- the pipeline ----------------------------------------------------------------------------

def test_valid_returns_are_accepted_with_the_engine_score(camp, tmp_path):
    c, wbs, _ = camp
    code = c.units[0].code
    values = valid_values(c, 1)
    fill(wbs[code], tmp_path / "inbox" / "a.xlsx", values)
    ticks: list = []
    res = import_paths(c.root, [tmp_path / "inbox"], jobs=1, now=ON_TIME,
                       progress=lambda *t: ticks.append(t))
    assert ticks == [(1, 1)]
    [ret] = res.returns
    assert ret.status == "accepted" and ret.unit_code == code and not ret.late
    expected = score_unit(c.rubric, values, unit_type=c.units[0].type).total
    assert ret.total == expected
    with Ledger(c.layout.ledger_file) as led:
        [cur] = led.current_returns()
    assert cur.total == expected and cur.unit_code == code
    assert [u.code for u in res.missing] == [u.code for u in c.units[1:]]


def test_reimport_changes_nothing(camp, tmp_path, monkeypatch):
    c, wbs, _ = camp
    for k, unit in enumerate(c.units[:2]):
        fill(wbs[unit.code], tmp_path / "inbox" / f"{k}.xlsx", valid_values(c, k))
    (tmp_path / "inbox" / "broken.xlsx").write_bytes(b"PK\x03\x04broken")
    ticks: list = []
    first = import_paths(c.root, [tmp_path / "inbox"], jobs=2, now=ON_TIME,
                         progress=lambda *t: ticks.append(t))
    assert ticks == [(1, 3), (2, 3), (3, 3)]  # each file once, as it is examined
    before = {t: ledger_rows(c.root, t) for t in ("returns", "received")}
    feedback = {p: Path(p).stat().st_mtime_ns for p in first.feedback_files}
    ticks.clear()
    import xlsx_workflow.importer as importer
    monkeypatch.setattr(importer, "ProcessPoolExecutor",  # nothing to read: no processes
                        lambda *a, **k: pytest.fail("a re-import started worker processes"))
    again = import_paths(c.root, [tmp_path / "inbox"], jobs=2, now=LATER,
                         progress=lambda *t: ticks.append(t))
    assert ticks == [(1, 3), (2, 3), (3, 3)]  # known from the ledger: counted, not read
    assert {t: ledger_rows(c.root, t) for t in ("returns", "received")} == before
    assert all(r.already_imported and "L003" in codes(r) for r in again.returns)
    assert [(r.status, r.total) for r in again.returns] == \
        [(r.status, r.total) for r in first.returns]
    assert again.feedback_files == []
    assert {p: Path(p).stat().st_mtime_ns for p in feedback} == feedback
    with Ledger(c.layout.ledger_file) as led:
        assert led.imports()[-1]["duplicates"] == 3


def test_new_version_supersedes_and_rejected_never_does(camp, tmp_path):
    c, wbs, _ = camp
    code = c.units[1].code
    v1 = fill(wbs[code], tmp_path / "v1" / "自评表.xlsx", valid_values(c, 1))
    v2 = fill(wbs[code], tmp_path / "v2" / "自评表（修改）.xlsx", valid_values(c, 2))
    bad = fill(wbs[code], tmp_path / "v3" / "自评表（再改）.xlsx", valid_values(c, 3),
               raw={"1.2": "3次"})
    r1 = import_paths(c.root, [v1], jobs=1, now=ON_TIME).returns[0]
    r2 = import_paths(c.root, [v2], jobs=1, now=LATER).returns[0]
    r3 = import_paths(c.root, [bad], jobs=1, now=LATER).returns[0]
    assert (r1.status, r2.status, r3.status) == ("accepted", "accepted", "rejected")
    assert "V001" in codes(r3) and r3.total is None
    with Ledger(c.layout.ledger_file) as led:
        history = led.history(code)
        [current] = led.current_returns()
    assert [h.source_name for h in history] == [bad.name, v2.name, v1.name]  # newest first
    assert current.source_name == v2.name and current.total == r2.total
    assert history[2].superseded_by == current.id and history[0].superseded_by is None
    st = {u.unit_code: u for u in campaign_status(c.root).units}[code]
    assert (st.versions, st.status, st.in_force, st.total) == (3, "rejected", True, r2.total)


@pytest.mark.parametrize("moment, late", [
    (datetime(2022, 5, 27, 23, 59), False),  # naive: this computer's wall clock
    (datetime(2022, 5, 28, 0, 1), True),
])
def test_late_from_the_day_after_the_deadline(camp, tmp_path, moment, late):
    c, wbs, _ = camp
    code = c.units[2].code
    path = fill(wbs[code], tmp_path / "a.xlsx", valid_values(c, 5))
    [ret] = import_paths(c.root, [path], jobs=1, now=moment).returns
    assert ret.late is late and ("L004" in codes(ret)) is late
    assert ret.status == "accepted"  # late is marked, never refused


def test_received_time_is_the_file_time_unless_given(camp, tmp_path):
    import os
    c, wbs, _ = camp
    early = fill(wbs[c.units[0].code], tmp_path / "in" / "early.xlsx", valid_values(c, 1))
    late = fill(wbs[c.units[1].code], tmp_path / "in" / "late.xlsx", valid_values(c, 2))
    zipped = tmp_path / "in" / "z.zip"
    with zipfile.ZipFile(zipped, "w") as z:
        z.write(fill(wbs[c.units[2].code], tmp_path / "z.xlsx", valid_values(c, 3)), "z.xlsx")
    for path, day in ((early, 20), (late, 29), (zipped, 28)):
        ts = datetime(2022, 5, day, 9, 30).timestamp()  # naive: this computer's wall clock
        os.utime(path, (ts, ts))
    res = import_paths(c.root, [tmp_path / "in"], jobs=1)
    got = {r.name.split("/")[-1]: (r.late, "L004" in codes(r)) for r in res.returns}
    assert got == {"early.xlsx": (False, False), "late.xlsx": (True, True),
                   "z.zip!z.xlsx": (True, True)}
    with Ledger(c.layout.ledger_file) as led:
        [ret] = led.history(c.units[0].code)
    assert ret.received_at.replace(tzinfo=None) == datetime(2022, 5, 20, 9, 30)


def test_contact_forms_are_recorded_but_never_scored(camp, tmp_path):
    c, wbs, cfs = camp
    code = c.units[0].code
    good = fill_contacts(cfs[code], tmp_path / "in" / "联系人.xlsx",
                         [["浉河区知识产权局", "张三", "科长", "0376-6312865", "13812345678", "",
                           "zs@163.com"]])
    bad = fill_contacts(cfs[c.units[1].code], tmp_path / "in2" / "联系人.xlsx",
                        [["平桥区", "李四", "科员", "", "1381234", "", "bad-mail"]])
    res = import_paths(c.root, [good, bad], jobs=1, now=ON_TIME)
    by = {r.unit_code: r for r in res.returns}
    assert by[code].form == CONTACT_FORM and by[code].status == "accepted"
    assert by[c.units[1].code].status == "rejected"
    assert {"K001", "K004"} <= codes(by[c.units[1].code])
    with Ledger(c.layout.ledger_file) as led:
        assert led.current_returns() == []  # nothing to score yet
        [form] = led.current_returns(CONTACT_FORM)
    assert form.unit_code == code and form.values["contacts"][0]["姓名"] == "张三"
    st = {u.unit_code: u for u in campaign_status(c.root).units}
    assert st[code].contact_form == "accepted" and st[code].status == "missing"
    assert [u.code for u in res.missing] == [u.code for u in c.units]


def test_an_unexpected_failure_is_reported_and_the_batch_goes_on(camp, tmp_path, monkeypatch):
    import xlsx_workflow.returns as returns
    c, wbs, _ = camp
    a = fill(wbs[c.units[0].code], tmp_path / "in" / "a.xlsx", valid_values(c, 1))
    b = fill(wbs[c.units[1].code], tmp_path / "in" / "b.xlsx", valid_values(c, 2))
    real = returns.read_return

    def flaky(path, rubric, parts=None):  # a bug in a reader must not stop the batch
        if Path(path).name == "a.xlsx":
            raise RuntimeError("boom")
        return real(path, rubric, parts)
    monkeypatch.setattr(returns, "read_return", flaky)
    res = import_paths(c.root, [a, b], jobs=1, now=ON_TIME)
    assert [(r.name.split("/")[-1], r.status) for r in res.returns] == \
        [("a.xlsx", "rejected"), ("b.xlsx", "accepted")]
    assert "B001" in codes(res.returns[0])


def test_evidence_files_are_those_sent_beside_the_return():
    def rec(name, kind=EVIDENCE):
        return Received(Path("/x"), name, 1, "h", kind=kind)
    got = [rec("收件/浉河区/自评表.xlsx", WORKBOOK), rec("收件/浉河区/1.pdf"),
           rec("收件/浉河区/材料/2.jpg"), rec("收件/平桥区/自评表.xlsx", WORKBOOK),
           rec("收件/平桥区/材料.pdf"), rec("收件/平桥区/联系人信息表.xlsx", WORKBOOK),
           rec("a.zip!x/自评表.xlsx", WORKBOOK), rec("a.zip!x/3.doc"),
           rec("收件/all/1.xlsx", WORKBOOK), rec("收件/all/2.xlsx", WORKBOOK),
           rec("收件/all/1.pdf"), rec("收件/all/2-材料/a.pdf"), rec("收件/all/2-材料/b.pdf")]
    assert evidence_for(got[0], got) == ["1.pdf", "2.jpg"]
    assert evidence_for(got[3], got) == ["材料.pdf"]  # a contact form beside it is not evidence
    assert evidence_for(got[6], got) == ["3.doc"]
    assert evidence_for(got[8], got) is None  # two returns in one folder: cannot tell
    assert evidence_for(got[9], got) == ["a.pdf", "b.pdf"]  # …unless a folder is named after it


def test_evidence_of_a_folder_of_thousands_of_returns_reads_each_name_once(monkeypatch):
    """3,000 returns in one folder, every 7th with its 材料 folder: each return's name is worked
    out a bounded number of times, not once per other return (that made import quadratic)."""
    import xlsx_workflow.ingest.evidence as ev
    calls = []
    real = ev._stem
    monkeypatch.setattr(ev, "_stem", lambda r: calls.append(r) or real(r))
    got = [Received(Path("/x"), f"收件/{k:04d}-自评表.xlsx", 1, "h", kind=WORKBOOK)
           for k in range(3000)]
    got += [Received(Path("/x"), f"收件/{k:04d}-自评表-材料/a.pdf", 1, "h", kind=EVIDENCE)
            for k in range(0, 3000, 7)]
    index = EvidenceIndex(got)
    found = [index.evidence_for(r) for r in got[:3000]]
    assert sum(1 for f in found if f) == len(range(0, 3000, 7))
    assert len(calls) <= 2 * 3000


def test_a_folder_is_named_after_one_return_only():
    """`12-材料` is not the evidence of `1.xlsx`; `浉河区自评表2-材料` belongs to
    `浉河区自评表2.xlsx` (a second version beside the first), not to `浉河区自评表.xlsx`."""
    def rec(name, kind=EVIDENCE):
        return Received(Path("/x"), name, 1, "h", kind=kind)
    got = [rec("收件/1.xlsx", WORKBOOK), rec("收件/12.xlsx", WORKBOOK), rec("收件/3.xlsx", WORKBOOK),
           rec("收件/1-材料/a.pdf"), rec("收件/12-材料/b.pdf"), rec("收件/12材料/c.pdf"),
           rec("收件/3a/d.pdf"), rec("收件/3材料/e.pdf"),
           rec("收件/x/浉河区自评表.xlsx", WORKBOOK), rec("收件/x/浉河区自评表2.xlsx", WORKBOOK),
           rec("收件/x/浉河区自评表材料/f.pdf"), rec("收件/x/浉河区自评表2-材料/g.pdf")]
    index = EvidenceIndex(got)
    assert index.evidence_for(got[0]) == ["a.pdf"]
    assert index.evidence_for(got[1]) == ["b.pdf", "c.pdf"]
    assert index.evidence_for(got[2]) == ["e.pdf"]  # 3a is another name, 3材料 is its folder
    assert index.evidence_for(got[8]) == ["f.pdf"]
    assert index.evidence_for(got[9]) == ["g.pdf"]
    for r in (got[0], got[1], got[2], got[8], got[9]):
        assert index.evidence_for(r) == _evidence_one_by_one(r, got), r.name
    assert evidence_for(rec("自评表.xlsx", WORKBOOK), got) is None  # a file given alone


def _evidence_one_by_one(ret, received):
    """The rule stated plainly, scanning every file for each return (the reference)."""
    from pathlib import PurePosixPath
    folder = ret.name[:max(ret.name.rfind("/"), ret.name.rfind("!")) + 1]
    def folder_of(r):
        return r.name[:max(r.name.rfind("/"), r.name.rfind("!")) + 1]
    stem = PurePosixPath(ret.name.split("!")[-1]).stem
    evidence = [r for r in received if folder_of(r).startswith(folder)
                and r.kind not in (WORKBOOK, ARCHIVE) and r.path is not None and not r.refused]
    returns = [r for r in received if folder_of(r).startswith(folder)
               and r.kind == WORKBOOK and "联系人" not in r.name]
    beside = [PurePosixPath(r.name.split("!")[-1]).stem for r in returns if folder_of(r) == folder]

    def mine(part):  # named after this return: begins with its name, which does not go on with
        # more ASCII letters or digits, and no other return beside it has a longer such name
        def after(s):
            rest = part[len(s):]
            return part.startswith(s) and not (rest and s and (s[-1] + rest[0]).isascii()
                                               and (s[-1] + rest[0]).isalnum())
        return after(stem) and not any(len(t) > len(stem) and after(t) for t in beside)
    own = [r for r in evidence if mine(r.name[len(folder):].split("/")[0])
           and "/" in r.name[len(folder):]]
    chosen = evidence if len(returns) == 1 else own
    return sorted(PurePosixPath(r.name.split("!")[-1]).name for r in chosen) or None


def test_evidence_index_of_a_large_folder_matches_each_return():
    """Many returns in one folder, some with a 材料 folder named after them: the batch index
    gives every return what the rule, applied to it alone, gives."""
    def rec(name, kind=EVIDENCE):
        return Received(Path("/x"), name, 1, "h", kind=kind)
    got = [rec("收件/浉河区.zip!自评表.xlsx", WORKBOOK), rec("收件/浉河区.zip!1.pdf"),
           rec("收件/浉河区.zip!联系人信息表.xlsx", WORKBOOK)]
    for k in range(60):
        got.append(rec(f"收件/all/{k}.xlsx", WORKBOOK))
        if k % 3 == 0:
            got += [rec(f"收件/all/{k}-材料/a{k}.pdf"), rec(f"收件/all/{k}-材料/sub/b{k}.jpg")]
    got.append(rec("收件/all/说明.pdf"))
    index = EvidenceIndex(got)
    returns = [r for r in got if r.kind == WORKBOOK and "联系人" not in r.name]
    assert len(returns) == 61
    for r in returns:
        assert index.evidence_for(r) == _evidence_one_by_one(r, got), r.name
    assert index.evidence_for(got[0]) == ["1.pdf"]
    assert index.evidence_for(got[3]) == ["a0.pdf", "b0.jpg"]
    assert index.evidence_for(returns[-1]) is None  # 59: nothing named after it


def test_missing_paths_are_a_usage_error(camp, tmp_path):
    c, _, _ = camp
    r = CliRunner().invoke(main, ["import", str(c.root), str(tmp_path / "nope")])
    assert r.exit_code != 0 and "F029" in r.output
    assert not (c.root / "ledger.sqlite").exists()


# --- command line --------------------------------------------------------------------------

def test_cli_import_and_status_json_and_text(camp, tmp_path):
    c, wbs, _ = camp
    inbox = tmp_path / "inbox"
    fill(wbs[c.units[0].code], inbox / "好.xlsx", valid_values(c, 1))
    fill(wbs[c.units[1].code], inbox / "坏.xlsx", valid_values(c, 2), raw={"1.2": "3次"})
    (inbox / "说明.txt").write_text("材料见附件", encoding="utf-8")
    runner = CliRunner()
    r = runner.invoke(main, ["import", str(c.root), str(inbox), "--json"])
    assert r.exit_code == 0, r.output
    doc = json.loads(r.stdout)
    assert {"accepted", "rejected", "flagged", "missing", "files"} <= doc.keys()
    [acc] = doc["accepted"]
    assert acc["unit_code"] == c.units[0].code and acc["path"] == str((inbox / "好.xlsx").resolve())
    assert Path(acc["archived"]).is_file() and sha256(acc["archived"]) == sha256(inbox / "好.xlsx")
    [rej] = doc["rejected"]
    assert rej["path"] == str((inbox / "坏.xlsx").resolve())
    assert any(e["code"] == "V001" for e in rej["errors"])
    assert doc["missing"] == [u.code for u in c.units[1:]]  # 坏.xlsx was rejected
    assert doc["files"] and all(Path(p).is_absolute() and Path(p).is_file() for p in doc["files"])

    r = runner.invoke(main, ["import", str(c.root), str(inbox)])
    assert r.exit_code == 0
    for word in ("文件", "单位", "状态", "错误", "警告", "总分", "已导入过", "尚无可评分自评表的单位"):
        assert word in r.stdout

    r = runner.invoke(main, ["status", str(c.root), "--json"])
    st = json.loads(r.stdout)
    rows = {u["unit_code"]: u for u in st["units"]}
    assert rows[c.units[0].code]["status_label"] == "已接收"
    assert rows[c.units[1].code]["status_label"] == "退回" and rows[c.units[1].code]["errors"] >= 1
    assert rows[c.units[2].code]["received"] is False
    r = runner.invoke(main, ["status", str(c.root)])
    assert r.exit_code == 0
    for word in ("代码", "收到时间", "版本数", "逾期", "未报送", c.units[0].name):
        assert word in r.stdout
    assert "B002" in r.stderr


def test_status_tells_units_not_yet_due_from_overdue_and_sent_back(camp, tmp_path):
    """`status` below its table: a unit sent back says so (B003); one past its own deadline
    is a warning to chase (B002); one not yet due is only a fact (B004), not "请催报"."""
    from datetime import date, timedelta
    c, wbs, _ = camp
    deadline = c.deadlines["materials"]
    bad = fill(wbs[c.units[1].code], tmp_path / "坏.xlsx", valid_values(c, 2), raw={"1.2": "3次"})
    import_paths(c.root, [bad], jobs=1)
    later = deadline + timedelta(days=10)
    r = CliRunner().invoke(main, ["extend", str(c.root), c.units[3].code, later.isoformat()])
    assert r.exit_code == 0, r.output
    st = campaign_status(c.root)

    def said(today):
        return {i.code: [x.message for x in st.missing_issues(today) if x.code == i.code]
                for i in st.missing_issues(today)}
    before = said(deadline - timedelta(days=3))
    assert set(before) == {"B003", "B004"}
    assert [m for m in before["B003"] if c.units[1].name in m]
    assert f"{c.units[2].code} {c.units[2].name} 尚未报送自评表，截止日期 {deadline}（还有3天）。" \
        in before["B004"]
    assert said(deadline)["B004"][1].endswith(f"截止日期 {deadline}（今天截止）。")
    after = said(deadline + timedelta(days=2))
    assert f"{c.units[2].code} {c.units[2].name} 尚未报送自评表，截止日期 {deadline} 已过2天。请催报。" \
        in after["B002"]
    assert after["B004"] == [f"{c.units[3].code} {c.units[3].name} 尚未报送自评表，截止日期 {later}"
                             f"（还有8天）。"]  # its own deadline
    assert len(after["B002"]) == len(c.units) - 2 and len(after["B003"]) == 1


def test_status_of_a_folder_without_campaign_is_a_usage_error(tmp_path):
    r = CliRunner().invoke(main, ["status", str(tmp_path)])
    assert r.exit_code != 0 and "C001" in r.output


def test_archive_holds_every_received_file_of_a_zip_and_a_folder(camp, tmp_path):
    c, wbs, _ = camp
    folder = tmp_path / "收件" / c.units[0].name
    a = fill(wbs[c.units[0].code], folder / "自评表.xlsx", valid_values(c, 1))
    (folder / "材料1.pdf").write_bytes(b"%PDF-1.4 evidence")
    b = fill(wbs[c.units[1].code], tmp_path / "tmp" / "b.xlsx", valid_values(c, 2))
    zpath = tmp_path / "收件" / "平桥区.zip"
    with zipfile.ZipFile(zpath, "w") as z:
        z.write(b, "平桥区/自评表.xlsx")
        z.writestr("平桥区/照片.jpg", b"\xff\xd8\xffjpeg")
    res = import_paths(c.root, [tmp_path / "收件"], jobs=2, now=ON_TIME)
    archived = {p.name.split(".")[0] for p in c.layout.archive_dir.glob("??/*")}
    for data in (a.read_bytes(), (folder / "材料1.pdf").read_bytes(), zpath.read_bytes(),
                 b.read_bytes(), b"\xff\xd8\xffjpeg"):
        assert hashlib.sha256(data).hexdigest() in archived
    assert verify_archive(c.layout.archive_dir) == []
    assert {r.unit_code for r in res.by_status("accepted")} == {c.units[0].code, c.units[1].code}
    member = next(r for r in res.returns if "!" in r.name)
    assert member.path == f"{zpath.resolve()}!平桥区/自评表.xlsx"
    assert not c.layout.unpack_dir.exists()  # the unpacked copies are gone, the archive stays
    received = {r[0] for r in ledger_rows(c.root, "received")}
    assert received == archived


# --- the corpus of bad returns, in one batch -----------------------------------------------

def _build_batch(c, wbs, cfs, batch: Path) -> dict:
    """Every corpus kind, the sniffer's bad files, valid returns in a folder and in a zip;
    returns {file name relative to batch: expected code or "valid:<seed>"}."""
    from badfiles import write_bad
    from returns_corpus import CONTACT_FORM_ONLY, CONTACT_KINDS, CORPUS, KindNotApplicable
    from returns_corpus import make_valid
    expected, units = {}, [u.code for u in c.units]
    for n, (kind, (build, code)) in enumerate(sorted(CORPUS.items())):
        src = wbs[units[n % len(units)]]
        try:
            build(src, batch / "退回件" / f"{kind}.xlsx", c)
        except KindNotApplicable:
            continue
        expected[f"退回件/{kind}.xlsx"] = code
    for n, (kind, (build, code)) in enumerate(sorted(
            {**{k: CORPUS[k] for k in CONTACT_KINDS}, **CONTACT_FORM_ONLY}.items())):
        build(cfs[units[n % len(units)]], batch / "联系人" / f"{kind}.xlsx", c)
        expected[f"联系人/{kind}.xlsx"] = code
    for kind, code in SNIFF_CORPUS:
        path = write_bad(batch / "坏文件", kind)
        expected[path.relative_to(batch).as_posix()] = code
    for seed, code in ((1, units[0]), (2, units[1])):
        make_valid(wbs[code], batch / "有效" / f"{code}.xlsx", c, seed=seed)
        expected[f"有效/{code}.xlsx"] = f"valid:{seed}"
    zipped = make_valid(wbs[units[2]], batch.parent / "zipped.xlsx", c, seed=3)
    listed = [r[3] for r in openpyxl.load_workbook(zipped)["材料清单"].iter_rows(
        min_row=5, values_only=True) if r[3]]
    with zipfile.ZipFile(batch / "罗山县.zip", "w") as z:
        z.write(zipped, "罗山县/自评表.xlsx")
        for name in listed:
            z.writestr(f"罗山县/材料/{name}", b"%PDF-1.4 evidence")
    expected["罗山县.zip!罗山县/自评表.xlsx"] = "valid:3"
    return expected


SNIFF_CORPUS = [(k, code) for k, code in [
    ("empty", "F014"), ("pdf-renamed", "F001"), ("docx-renamed", "F001"),
    ("plain-text", "F001"), ("xls", "F002"), ("html-xls", "F002"), ("wps-et", "F003"),
    ("ods", "F004"), ("csv", "F005"), ("xlsm-content-type", "F006"), ("vba-project", "F006"),
    ("encrypted", "F007"), ("truncated", "F008"), ("crc-mismatch", "F008"),
    ("no-workbook-part", "F009"), ("bomb-declared", "F011"), ("billion-laughs", "F012"),
    ("external-link", "F013")]]


def test_corpus_of_bad_returns_in_one_batch(camp, tmp_path):
    from returns_corpus import valid_inputs
    from xlsx_workflow.checks import IDENTITY_FLAG_CODES
    from xlsx_workflow.messages import CATALOGUE
    c, wbs, cfs = camp
    batch = tmp_path / "收件"
    expected = _build_batch(c, wbs, cfs, batch)
    assert sum(not v.startswith("valid") for v in expected.values()) >= 25 + len(SNIFF_CORPUS)
    res = import_paths(c.root, [batch], jobs=2, now=ON_TIME)
    by_name = {r.name.removeprefix("收件/"): r for r in res.returns}
    assert set(by_name) == set(expected)  # every return was examined: the batch went on
    for name, want in sorted(expected.items()):
        got = by_name[name]
        if want.startswith("valid:"):
            unit = next(u for u in c.units if u.code == got.unit_code)
            score = score_unit(c.rubric, valid_inputs(c, unit.type, int(want[6:])),
                               unit_type=unit.type).total
            assert (got.status, got.total, got.errors, got.warnings) == \
                ("accepted", score, [], []), (name, got.issues)
            continue
        assert want in codes(got), (name, [str(i) for i in got.issues])
        severity = CATALOGUE[want][0]
        if severity == "错误":
            assert got.status == "rejected" and got.total is None, name
        elif want in IDENTITY_FLAG_CODES:
            assert got.status == "flagged", name
    # the archive holds every received file, each under its sha256, each whole
    archived = {p.name.split(".")[0] for p in c.layout.archive_dir.glob("??/*")}
    on_disk = [p for p in batch.rglob("*") if p.is_file()]
    with zipfile.ZipFile(batch / "罗山县.zip") as z:
        members = [z.read(n) for n in z.namelist()]
    assert {sha256(p) for p in on_disk} | {hashlib.sha256(m).hexdigest() for m in members} \
        <= archived
    assert verify_archive(c.layout.archive_dir) == []
    with Ledger(c.layout.ledger_file) as led:
        assert led.imports()[-1]["rejected"] == len(res.by_status("rejected"))
    assert res.feedback_files and all(Path(p).is_file() for p in res.feedback_files)


@pytest.mark.libreoffice
def test_returns_resaved_by_libreoffice(camp, tmp_path, soffice):
    """A valid return re-saved by LibreOffice is accepted with the same score; a broken one
    re-saved keeps its error."""
    from returns_corpus import CORPUS, make_valid
    from xlsx_workflow.office import convert
    c, wbs, _ = camp
    code = c.units[3].code
    valid = make_valid(wbs[code], tmp_path / "orig" / "valid.xlsx", c, seed=7)
    broken = CORPUS["text_in_count"][0](wbs[c.units[4].code], tmp_path / "orig" / "bad.xlsx", c)
    lo = tmp_path / "libreoffice"
    for src in (valid, broken):
        convert(src, "xlsx:Calc MS Excel 2007 XML", lo)
    res = import_paths(c.root, [tmp_path / "orig" / "valid.xlsx", lo], jobs=2, now=ON_TIME)
    by_name = {r.name: r for r in res.returns}
    orig, resaved = by_name["valid.xlsx"], by_name["libreoffice/valid.xlsx"]
    assert sha256(valid) != sha256(lo / "valid.xlsx")  # really another file
    assert orig.status == resaved.status == "accepted", [str(i) for i in resaved.issues]
    assert resaved.total == orig.total and not resaved.errors
    assert "V001" in codes(by_name["libreoffice/bad.xlsx"])


def test_a_version_1_ledger_gains_the_kind_column(tmp_path):
    from xlsx_workflow.ledger import MIGRATIONS, SELF_ASSESSMENT
    path = tmp_path / "ledger.sqlite"
    db = sqlite3.connect(path)
    for statement in MIGRATIONS[1]:
        db.execute(statement)
    db.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    db.execute("INSERT INTO schema_version VALUES (1)")
    db.execute("INSERT INTO imports (id, started_at, finished_at, paths) VALUES (1, 't', 't', '[]')")
    db.execute("INSERT INTO received VALUES ('h', 1, 't', 1, '', '[]')")
    db.execute("INSERT INTO returns (sha256, import_id, unit_code, source_name, received_at,"
               " status, late, errors, warnings, values_json, issues_json)"
               " VALUES ('h', 1, '411502', 'a.xlsx', '2022-05-20T00:00:00+00:00', 'accepted',"
               " 0, 0, 0, '{}', '[]')")
    db.commit()
    db.close()
    with Ledger(path) as led:
        [ret] = led.current_returns()
        assert ret.kind == SELF_ASSESSMENT and led.current_returns(CONTACT_FORM) == []
        assert [r[0] for r in led.db.execute("SELECT version FROM schema_version")] == \
            sorted(MIGRATIONS)
