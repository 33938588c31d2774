"""`simulate`: the generated workbooks filled as counties would, received into simulate/收件/.

The module fixtures run simulate with LibreOffice hidden from PATH (a real "not installed"), so
only the test marked `libreoffice` starts soffice.
"""
import json
import re
import shutil
import subprocess
import zipfile
from datetime import datetime, time, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from xlsx_workflow.campaign import init_campaign
from xlsx_workflow.cli import main
from xlsx_workflow.engine import normalise_inputs, score_unit
from xlsx_workflow.generate import generate_campaign
from xlsx_workflow.integrity import read_identity, verify_fingerprint
from xlsx_workflow.layout import RECEIVED_MANIFEST
from xlsx_workflow.messages import WorkflowError
from xlsx_workflow.simulate import (EVIDENCE, WORKBOOK, ZIP, assign, docx_bytes, pdf_bytes,
                                    simulate_campaign)
from xlsx_workflow.simulate_fill import (CLAIM_WITHOUT_EVIDENCE, COUNT_TEXT, EVIDENCE_FILE_MISSING,
                                         EVIDENCE_NOT_LISTED, EXCELLENT, JUDGED_STEP, WEAK,
                                         claimed_clauses, header)

RUBRICS = ["ip-protection-2021", "anti-counterfeit-2021"]
MOBILE, PHONE = re.compile(r"1[3-9]\d{9}"), re.compile(r"0376-\d{7}")
EMAIL = re.compile(r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)*\.[A-Za-z]{2,}")


def make_campaign(root: Path, rubric_id: str) -> Path:
    init_campaign(root, rubric_id)
    result = generate_campaign(root, jobs=2)
    assert not result.errors
    return root


def simulate_without_soffice(camp: Path, seed: int = 0, tmp: Path = None):
    empty = (tmp or camp) / "empty-path"
    empty.mkdir(exist_ok=True)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PATH", str(empty))
        return simulate_campaign(camp, seed=seed)


@pytest.fixture(scope="module", params=RUBRICS)
def sim(request, tmp_path_factory):
    root = tmp_path_factory.mktemp(request.param)
    camp = make_campaign(root / "camp", request.param)
    result = simulate_without_soffice(camp, tmp=root)
    from xlsx_workflow.campaign import load_campaign
    return load_campaign(camp), result, root


def workbook_file(u, work: Path) -> Path:
    """The unit's final 自评表 on disk (a zip is extracted into `work`, evidence included)."""
    if "!" not in u.workbook:
        return Path(u.workbook)
    zpath, member = u.workbook.split("!")
    with zipfile.ZipFile(zpath) as zf:
        zf.extractall(work / u.unit_code)
    return work / u.unit_code / member


def read_back(path: Path) -> dict:
    """Everything the unit typed: values and 材料编号 by field id, 材料清单, 扣分事项, 联系人."""
    wb = openpyxl.load_workbook(path)
    ws = wb["自评表"]
    top, cols = header(ws, ("编号", "填报值", "材料编号"))
    values, refs, cells = {}, {}, {}
    for r in range(top + 1, ws.max_row + 1):
        fid = ws.cell(r, cols["编号"]).value
        if fid:
            values[fid] = ws.cell(r, cols["填报值"]).value
            refs[fid] = ws.cell(r, cols["材料编号"]).value
            cells[fid] = (ws.cell(r, cols["填报值"]).coordinate, ws.cell(r, cols["材料编号"]).coordinate)
    return {"values": values, "refs": refs, "cells": cells,
            "materials": _table(wb["材料清单"], ("序号", "材料名称"), 7),
            "deductions": _table(wb["扣分事项"], ("序号", "时间"), 7) if "扣分事项" in wb.sheetnames else [],
            "contact": _table(wb["联系人"], ("单位", "姓名"), 7)}


def _table(ws, names, width) -> list[tuple]:
    top, cols = header(ws, names)
    rows = []
    for r in range(top + 1, ws.max_row + 1):
        row = tuple(ws.cell(r, cols[names[0]] + k).value for k in range(width))
        if any(v not in (None, "") for v in row[1:]):
            rows.append(row)
    return rows


def valid(f, value) -> bool:
    """A value a county may type into this field (what Excel's validation would let through)."""
    if f.type == "flag":
        return value in ("是", "否")
    if f.type == "choice":
        return value in f.options
    if f.type == "count":
        return isinstance(value, int) and value >= 0 and (f.max is None or value <= f.max)
    d = Decimal(repr(value))
    if f.type == "judged":
        return 0 <= d <= f.max and (d / (f.step or Decimal("0.5"))) % 1 == 0
    return isinstance(value, (int, float)) and d >= 0


def mistaken_fields(u) -> set:
    return {m.field for m in u.mistakes if m.kind in (COUNT_TEXT, JUDGED_STEP)}


# --- every return --------------------------------------------------------------------------------

def test_every_unit_but_the_missing_one_sent_a_valid_filled_workbook(sim, tmp_path):
    camp, result, _ = sim
    rubric = camp.rubric
    assert len(result.units) == len(camp.units)
    assert [u.unit_code for u in result.units if u.missing] == [result.with_role("missing").unit_code]
    for u in (u for u in result.units if not u.missing):
        path = workbook_file(u, tmp_path)
        ident = read_identity(path)
        assert ident.unit_code == u.unit_code and ident.campaign_id == camp.id
        assert verify_fingerprint(path), u.unit_code  # only input cells were touched
        got = read_back(path)
        unit_type = next(x.type for x in camp.units if x.code == u.unit_code)
        applies = {i.id: i.applies_to(unit_type) for i in rubric.indicators}
        for f in rubric.unit_fields:
            value = got["values"][f.id]
            if not applies[f.indicator_id]:
                assert value is None, f"{u.unit_code} {f.id} is 不适用 but filled"
            elif f.id not in mistaken_fields(u):
                assert valid(f, value), f"{u.unit_code} {f.id}={value!r}"
        clean = {k: v for k, v in got["values"].items() if k not in mistaken_fields(u) and v is not None}
        normalised, warnings = normalise_inputs(rubric, clean)
        assert not warnings
        assert normalised == normalise_inputs(rubric, {k: u.inputs[k] for k in clean})[0]


def test_not_applicable_indicators_are_left_blank_for_functional_zones(sim, tmp_path):
    camp, result, _ = sim
    zones = [u for u in result.units if u.unit_type == "功能区" and not u.missing]
    if camp.rubric.id != "anti-counterfeit-2021":
        assert not zones
        return
    assert zones
    na = {f.id for f in camp.rubric.unit_fields
          if not next(i for i in camp.rubric.indicators if i.id == f.indicator_id).applies_to("功能区")}
    assert na
    for u in zones:
        assert not na & u.inputs.keys()
        got = read_back(workbook_file(u, tmp_path))
        assert all(got["values"][fid] is None and got["refs"][fid] is None for fid in na)


def test_quality_varies_from_excellent_to_weak(sim):
    camp, result, _ = sim
    totals = {}
    for u in result.units:
        if not u.missing:
            totals.setdefault(u.tier, []).append(
                score_unit(camp.rubric, u.inputs, unit_type=u.unit_type).rate)
    assert {EXCELLENT, WEAK} <= totals.keys()
    assert min(totals[EXCELLENT]) > max(totals[WEAK])


def test_every_claim_has_evidence_listed_and_sent(sim, tmp_path):
    camp, result, _ = sim
    for u in result.units:
        if u.missing or u.mistakes:
            continue
        path = workbook_file(u, tmp_path)
        got = read_back(path)
        numbers = [m[0] for m in got["materials"]]
        assert numbers == list(range(1, len(numbers) + 1))
        for c in claimed_clauses(camp.rubric, u.inputs, u.unit_type):
            refs = [got["refs"][f.id] for f in next(x for x in camp.rubric.clauses if x.id == c).fields]
            assert any(refs), f"{u.unit_code} {c} claimed without 材料编号"
            for ref in filter(None, refs):
                assert all(1 <= int(n) <= len(numbers) for n in ref.split("、"))
        for number, title, indicator, name, written, pages, _ in got["materials"]:
            evidence = path.parent / name
            assert evidence.is_file(), name
            assert title and indicator.split(" ")[0] in {i.id for i in camp.rubric.indicators}
            assert isinstance(written, datetime) and pages >= 1
            if name.endswith(".pdf") and shutil.which("pdfinfo"):
                info = subprocess.run(["pdfinfo", str(evidence)], capture_output=True, text=True)
                assert info.returncode == 0 and re.search(rf"Pages:\s+{pages}\b", info.stdout)
            if name.endswith(".docx"):
                with zipfile.ZipFile(evidence) as zf:
                    assert title in zf.read("word/document.xml").decode("utf-8")


def test_claimed_deductions_have_their_entries(sim, tmp_path):
    camp, result, _ = sim
    roles = {d.id: g.role for g in camp.rubric.groups for d in camp.rubric.dimensions if d.group == g.id}
    deduction = {c.id for i in camp.rubric.indicators if roles[i.dimension] == "deduction"
                 for c in i.clauses}
    seen = 0
    for u in (u for u in result.units if not u.missing):
        got = read_back(workbook_file(u, tmp_path))
        listed = {row[6].split(" ")[0] for row in got["deductions"]}
        claimed = claimed_clauses(camp.rubric, u.inputs, u.unit_type) & deduction
        assert listed == claimed, u.unit_code
        assert all(all(row[1:7]) for row in got["deductions"])
        seen += len(got["deductions"])
    assert seen or not deduction


def test_contact_form_and_contact_sheet_hold_plausible_contacts(sim, tmp_path):
    camp, result, _ = sim
    for u in (u for u in result.units if not u.missing):
        form = next(f for f in u.files if f.kind == "contact_form")
        assert read_identity(form.path).kind == "contact_form"
        rows = _table(openpyxl.load_workbook(form.path)["联系人"], ("单位", "姓名"), 7)
        assert len(rows) == 1
        unit, name, title, phone, mobile, fax, email = rows[0]
        assert unit == u.unit_name and 2 <= len(name) <= 3 and title
        assert MOBILE.fullmatch(mobile) and PHONE.fullmatch(phone) and PHONE.fullmatch(fax)
        assert EMAIL.fullmatch(email)
        assert read_back(workbook_file(u, tmp_path))["contact"] == rows
        assert form.received_at.date() <= result.contact_deadline


# --- the injected mistakes, timing and the odd returns -------------------------------------------

def test_value_mistakes_are_in_their_cells(sim, tmp_path):
    _, result, _ = sim
    u = result.with_role("value_mistakes")
    assert {m.kind for m in u.mistakes} == {COUNT_TEXT, JUDGED_STEP}
    got = read_back(workbook_file(u, tmp_path))
    for m in u.mistakes:
        assert m.cell == f"自评表!{got['cells'][m.field][0]}"
        value = got["values"][m.field]
        if m.kind == COUNT_TEXT:
            assert isinstance(value, str) and re.fullmatch(r"\d+次", value)
        else:
            assert value in (2.3, 1.3) and m.code == "V006"
    assert u.expect_rejected
    others = [x for x in result.units if x.mistakes and x is not u]
    assert len(others) == 1  # one or two units carry mistakes, not all


def test_evidence_mistakes_are_in_the_return(sim, tmp_path):
    _, result, _ = sim
    u = result.with_role("evidence_mistakes")
    kinds = {m.kind: m for m in u.mistakes}
    assert kinds.keys() == {CLAIM_WITHOUT_EVIDENCE, EVIDENCE_NOT_LISTED, EVIDENCE_FILE_MISSING}
    path = workbook_file(u, tmp_path)
    got = read_back(path)
    assert got["refs"][kinds[CLAIM_WITHOUT_EVIDENCE].field] is None
    assert got["values"][kinds[CLAIM_WITHOUT_EVIDENCE].field] not in (None, "否", 0)
    assert int(got["refs"][kinds[EVIDENCE_NOT_LISTED].field]) > len(got["materials"])
    missing = kinds[EVIDENCE_FILE_MISSING].value
    assert missing in [m[3] for m in got["materials"]] and not (path.parent / missing).exists()
    assert [m.code for m in u.mistakes] == ["E001", "E002", "E005"]


def test_received_times_are_mtimes_and_in_the_manifest(sim):
    _, result, _ = sim
    inbox = Path(result.inbox)
    manifest = json.loads((inbox / RECEIVED_MANIFEST).read_text(encoding="utf-8"))
    on_disk = sorted(p.relative_to(inbox).as_posix() for p in inbox.rglob("*")
                     if p.is_file() and p.name != RECEIVED_MANIFEST)
    assert sorted(manifest) == on_disk
    for rel, stamp in manifest.items():
        assert (inbox / rel).stat().st_mtime == datetime.fromisoformat(stamp).timestamp()
    end = datetime.combine(result.deadline + timedelta(days=1), time(0), timezone.utc)
    for u in (u for u in result.units if not u.missing):
        sent = [f for f in u.files if f.kind in (WORKBOOK, ZIP, EVIDENCE)]
        assert all((f.received_at > end) == u.late for f in sent), u.unit_code
    late = result.with_role("late")
    assert late.late and [u.unit_code for u in result.units if u.late] == [late.unit_code]
    mtime = Path(late.workbook).stat().st_mtime
    assert mtime > end.timestamp() and mtime < (end + timedelta(days=5)).timestamp()


def test_missing_unit_sent_nothing(sim):
    _, result, _ = sim
    u = result.with_role("missing")
    assert u.missing and not u.files
    assert not list(Path(result.inbox).glob(f"{u.unit_code}*"))


def test_two_versions_first_with_a_mistake_then_corrected(sim, tmp_path):
    _, result, _ = sim
    u = result.with_role("two_versions")
    books = sorted((f for f in u.files if f.kind == WORKBOOK), key=lambda f: f.received_at)
    assert [f.version for f in books] == [1, 2] and u.versions == 2
    assert Path(books[0].path).stat().st_mtime < Path(books[1].path).stat().st_mtime
    assert books[1].path == u.workbook and not u.mistakes
    assert [m.kind for m in u.earlier_mistakes] == [COUNT_TEXT]
    first = read_back(Path(books[0].path))["values"][u.earlier_mistakes[0].field]
    assert isinstance(first, str) and first.endswith("次")


def test_zipped_return_holds_workbook_and_evidence(sim):
    _, result, _ = sim
    u = result.with_role("zipped")
    zpath = Path(u.workbook.split("!")[0])
    assert zpath.suffix == ".zip" and u.zipped
    with zipfile.ZipFile(zpath) as zf:
        infos = zf.infolist()
    names = [i.filename.split("/")[-1] for i in infos]
    assert u.workbook.split("!")[1].split("/")[-1] in names and len(names) > 1
    received = u.received_at.replace(tzinfo=None).timetuple()[:6]
    assert all(i.date_time == received for i in infos)


def test_without_libreoffice_the_resave_is_skipped_and_noted(sim):
    _, result, _ = sim
    u = result.with_role("resaved")
    assert not result.libreoffice and not u.resaved
    assert [n.code for n in result.notes] == ["Z002"] and u.unit_code in result.notes[0].message


# --- determinism, CLI, errors ---------------------------------------------------------------------

def all_values(inbox: Path) -> dict:
    out = {}
    for p in sorted(inbox.rglob("*.xlsx")):
        wb = openpyxl.load_workbook(p)
        out[p.relative_to(inbox).as_posix()] = {
            ws.title: [[c.value for c in row] for row in ws.iter_rows()] for ws in wb.worksheets}
    return out


def test_same_seed_same_values_other_seed_other_values(tmp_path):
    camp = make_campaign(tmp_path / "camp", "ip-protection-2021")
    first = simulate_without_soffice(camp, seed=7, tmp=tmp_path)
    values = all_values(Path(first.inbox))
    again = simulate_without_soffice(camp, seed=7, tmp=tmp_path)
    assert all_values(Path(again.inbox)) == values
    assert [u.to_json() for u in again.units] == [u.to_json() for u in first.units]
    other = simulate_without_soffice(camp, seed=8, tmp=tmp_path)
    assert all_values(Path(other.inbox)) != values
    # the CLI: --json with absolute paths, and the short Chinese table
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PATH", str(tmp_path / "empty-path"))
        out = CliRunner().invoke(main, ["simulate", str(camp), "--seed", "7", "--json"])
        assert out.exit_code == 0, out.output
        doc = json.loads(out.stdout)
        assert Path(doc["inbox"]).is_absolute() and doc["seed"] == 7
        assert doc["missing"] == [first.with_role("missing").unit_code]
        assert all(Path(f["path"].split("!")[0]).is_absolute() for u in doc["units"] for f in u["files"])
        text = CliRunner().invoke(main, ["simulate", str(camp), "--seed", "7"])
        assert text.exit_code == 0 and "未报送" in text.stdout and "逾期" in text.stdout


def test_simulate_needs_generated_workbooks(tmp_path):
    init_campaign(tmp_path / "camp", "ip-protection-2021")
    with pytest.raises(WorkflowError) as e:
        simulate_campaign(tmp_path / "camp")
    assert [i.code for i in e.value.issues] == ["Z001"]
    out = CliRunner().invoke(main, ["simulate", str(tmp_path / "camp")])
    assert out.exit_code == 1 and "Z001" in out.output


def test_a_failing_libreoffice_is_noted_and_the_unit_still_sends(tmp_path):
    camp = make_campaign(tmp_path / "camp", "ip-protection-2021")
    broken = tmp_path / "broken-bin"
    broken.mkdir()
    (broken / "soffice").write_text("#!/bin/sh\necho 'simulated crash' >&2\nexit 3\n")
    (broken / "soffice").chmod(0o755)
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("PATH", str(broken))
        result = simulate_campaign(camp)
    u = result.with_role("resaved")
    assert [n.code for n in result.notes] == ["Z003"] and not u.resaved
    assert read_identity(u.workbook).unit_code == u.unit_code


def test_roles_and_tiers_for_small_unit_lists():
    class U:
        def __init__(self, code):
            self.code = code
    roles, tiers = assign([U("1")], 0)
    assert roles == {} and tiers == {"1": EXCELLENT}
    roles, tiers = assign([U(str(k)) for k in range(3)], 0)
    assert sorted(roles.values()) == ["late", "missing"]
    roles, _ = assign([U(str(k)) for k in range(20)], 0)
    assert len(roles) == 7 and len(set(roles.values())) == 7


def test_evidence_files_are_small_real_files(tmp_path):
    pdf = tmp_path / "a.pdf"
    pdf.write_bytes(pdf_bytes(3, "test (x)"))
    assert pdf.read_bytes().startswith(b"%PDF-1.4") and pdf.read_bytes().endswith(b"%%EOF\n")
    if shutil.which("pdfinfo"):
        info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True)
        assert info.returncode == 0 and not info.stderr, info.stderr  # no xref repair needed
        assert re.search(r"Pages:\s+3\n", info.stdout)
    assert docx_bytes(["甲", "乙<&>"]) == docx_bytes(["甲", "乙<&>"])
    (tmp_path / "x.docx").write_bytes(docx_bytes(["甲", "乙<&>"]))
    with zipfile.ZipFile(tmp_path / "x.docx") as zf:
        assert "乙&lt;&amp;&gt;" in zf.read("word/document.xml").decode("utf-8")


# --- LibreOffice and the importer -------------------------------------------------------------------

@pytest.mark.libreoffice
def test_libreoffice_resave_keeps_identity_and_values(soffice, tmp_path):
    camp = make_campaign(tmp_path / "camp", "ip-protection-2021")
    result = simulate_campaign(camp, seed=3)
    u = result.with_role("resaved")
    assert result.libreoffice and u.resaved and not result.notes
    with zipfile.ZipFile(u.workbook) as zf:
        assert "LibreOffice" in zf.read("docProps/app.xml").decode("utf-8")
    ident = read_identity(u.workbook)
    assert ident.unit_code == u.unit_code and verify_fingerprint(u.workbook)
    got = read_back(Path(u.workbook))["values"]
    assert normalise_inputs(camp_rubric(camp), {k: got[k] for k in u.inputs})[0] == \
        normalise_inputs(camp_rubric(camp), u.inputs)[0]


def camp_rubric(camp: Path):
    from xlsx_workflow.campaign import load_campaign
    return load_campaign(camp).rubric


def test_importer_accepts_rejects_and_misses_as_simulate_says(sim):
    importer = pytest.importorskip("xlsx_workflow.importer")
    camp, result, _ = sim
    doc = importer.import_paths(camp.root, [result.inbox], feedback=False).to_json()
    books = lambda key: sorted(  # noqa: E731
        r["unit_code"] for r in doc[key] if r.get("kind") == "self_assessment")
    returned = [u for u in result.units if not u.missing]
    assert books("accepted") == sorted(u.unit_code for u in returned if not u.expect_rejected)
    two = result.with_role("two_versions").unit_code
    assert books("rejected") == sorted([two] + [u.unit_code for u in returned if u.expect_rejected])
    assert sorted(doc["missing"]) == sorted(
        u.unit_code for u in result.units if u.missing or u.expect_rejected)
    for u in (u for u in returned if u.mistakes):
        entry = next(r for key in ("accepted", "rejected") for r in doc[key]
                     if r.get("kind") == "self_assessment" and r["unit_code"] == u.unit_code
                     and r["path"] == str(Path(u.workbook)))
        codes = {i["code"] for i in entry["issues"]}
        assert {m.code for m in u.mistakes} <= codes, u.unit_code
    first = next(f.path for f in result.with_role("two_versions").files if f.version == 1)
    for key in ("accepted", "rejected"):
        for r in doc[key]:
            if r.get("unit_code") and r["path"] != first:
                unexpected = {i["code"] for i in r["issues"]} - {"L004"} - {
                    m.code for u in result.units if u.unit_code == r["unit_code"] for m in u.mistakes}
                assert not unexpected, (r["path"], unexpected)
