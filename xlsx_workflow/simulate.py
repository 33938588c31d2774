"""Stage `simulate`: fill the generated workbooks as the counties would and "receive" them.

For demos and tests. Into DIR/simulate/收件/ goes what the office would have saved from its
mailbox: per unit a folder `<code>-<name>/` with the filled 自评表, its evidence files and the
联系人信息表 — of varied quality, with a few typical mistakes, one unit late, one missing, one
re-saved by LibreOffice, one zipped, one sending two versions. Received times are the files'
mtimes and are listed in 收件/received.json. The same seed gives the same cell values.
"""
from __future__ import annotations

import json
import os
import random
import shutil
import unicodedata
import zipfile
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Callable, Optional
from xml.sax.saxutils import escape

from .campaign import Campaign, load_campaign
from .layout import RECEIVED_MANIFEST, sanitise
from .messages import ERROR, Issue, WorkflowError, issue
from .office import convert, soffice_path
from .simulate_fill import (AVERAGE, CLAIM_WITHOUT_EVIDENCE, COUNT_TEXT, EVIDENCE_FILE_MISSING,
                            EVIDENCE_NOT_LISTED, EXCELLENT, JUDGED_STEP, TIER_NAMES, WEAK, Fill,
                            Material, Mistake, inject, make_fill, write_contact_form,
                            write_workbook)

Progress = Callable[[int, int], None]  # (units done, units in all)
TZ = timezone(timedelta(hours=8))       # 北京时间, as the mailbox shows it
MISSING, LATE, VALUE_MISTAKES, EVIDENCE_MISTAKES, TWO_VERSIONS, RESAVED, ZIPPED = (
    "missing", "late", "value_mistakes", "evidence_mistakes", "two_versions", "resaved", "zipped")
ROLES = (MISSING, LATE, VALUE_MISTAKES, EVIDENCE_MISTAKES, TWO_VERSIONS, RESAVED, ZIPPED)
WORKBOOK, CONTACT_FORM, EVIDENCE, ZIP = "workbook", "contact_form", "evidence", "zip"
XLSX = "xlsx:Calc MS Excel 2007 XML"
FIXED_ZIP_TIME = (1980, 1, 1, 0, 0, 0)  # inside generated .docx files: same bytes every run


@dataclass
class SentFile:
    path: str             # absolute; a zip member is "<zip>!<member>"
    received_at: datetime
    kind: str             # workbook / contact_form / evidence / zip
    version: int = 1

    def to_json(self) -> dict:
        return {"path": self.path, "received_at": self.received_at.isoformat(),
                "kind": self.kind, "version": self.version}


@dataclass
class UnitSimulation:
    """What was done for one unit."""
    unit_code: str
    unit_name: str
    unit_type: str
    tier: str = ""                 # excellent / average / weak; "" when missing
    role: str = ""                 # one of ROLES or ""
    missing: bool = False
    late: bool = False
    zipped: bool = False
    resaved: bool = False
    versions: int = 0
    mistakes: list[Mistake] = field(default_factory=list)       # in the final version
    earlier_mistakes: list[Mistake] = field(default_factory=list)  # in a superseded version
    files: list[SentFile] = field(default_factory=list)
    workbook: str = ""             # the final 自评表 (path or "<zip>!<member>")
    inputs: dict = field(default_factory=dict)  # intended values of the final version

    @property
    def expect_rejected(self) -> bool:
        """The final version holds a mistake the import treats as an error (not scored)."""
        return any(m.severity == ERROR for m in self.mistakes)

    @property
    def received_at(self) -> Optional[datetime]:
        times = [f.received_at for f in self.files if f.kind in (WORKBOOK, ZIP)]
        return max(times) if times else None

    def to_json(self) -> dict:
        return {"unit_code": self.unit_code, "unit_name": self.unit_name,
                "unit_type": self.unit_type, "tier": self.tier, "role": self.role,
                "missing": self.missing, "late": self.late, "zipped": self.zipped,
                "resaved": self.resaved, "versions": self.versions,
                "received_at": self.received_at.isoformat() if self.received_at else None,
                "workbook": self.workbook,
                "mistakes": [m.to_json() for m in self.mistakes],
                "earlier_mistakes": [m.to_json() for m in self.earlier_mistakes],
                "files": [f.to_json() for f in self.files],
                "inputs": {k: _json_value(v) for k, v in self.inputs.items()}}


@dataclass
class SimulateResult:
    inbox: str
    manifest: str
    seed: int
    deadline: date
    contact_deadline: date
    libreoffice: bool
    units: list[UnitSimulation] = field(default_factory=list)
    notes: list[Issue] = field(default_factory=list)

    def unit(self, code: str) -> UnitSimulation:
        return next(u for u in self.units if u.unit_code == code)

    def with_role(self, role: str) -> Optional[UnitSimulation]:
        return next((u for u in self.units if u.role == role), None)

    def to_json(self) -> dict:
        return {"inbox": self.inbox, "manifest": self.manifest, "seed": self.seed,
                "deadline": self.deadline.isoformat(),
                "contact_deadline": self.contact_deadline.isoformat(),
                "libreoffice": self.libreoffice,
                "returned": [u.unit_code for u in self.units if not u.missing],
                "missing": [u.unit_code for u in self.units if u.missing],
                "late": [u.unit_code for u in self.units if u.late],
                "expect_rejected": [u.unit_code for u in self.units if u.expect_rejected],
                "units": [u.to_json() for u in self.units],
                "notes": [n.to_dict() for n in self.notes]}


def _json_value(v):
    if isinstance(v, (int, str)) or v is None:
        return v
    return v.isoformat() if isinstance(v, date) else str(v)


# --- the run ---------------------------------------------------------------------------------

def simulate_campaign(dir, seed: int = 0, progress: Optional[Progress] = None) -> SimulateResult:
    """Write DIR/simulate/收件/ afresh from the generated workbooks; raises WorkflowError (Z001)
    when `generate` has not been run for every unit."""
    campaign = load_campaign(dir)
    lay = campaign.layout
    absent = [u for u in campaign.units if not lay.workbook_path(u.code, u.name).is_file()
              or not lay.contact_form_path(u.code, u.name).is_file()]
    if absent:
        names = "、".join(f"{u.code} {u.name}" for u in absent[:5]) + ("等" if len(absent) > 5 else "")
        raise WorkflowError([issue("Z001", str(lay.generate_dir), units=names,
                                   dir=str(lay.generate_dir))])
    inbox = lay.simulate_inbox
    shutil.rmtree(inbox, ignore_errors=True)  # our own output: a run always starts afresh
    inbox.mkdir(parents=True)
    run = _Run(campaign, inbox, seed)
    for done, unit in enumerate(campaign.units, 1):
        run.result.units.append(run.unit(unit))
        if progress:
            progress(done, len(campaign.units))
    run.finish()
    return run.result


def assign(units: list, seed: int) -> tuple[dict, dict]:
    """(unit code → role, unit code → tier): at most one unit per role, one unit always plain;
    about a fifth excellent, a fifth weak, the rest average."""
    rng = random.Random(seed)
    order = list(units)
    rng.shuffle(order)
    roles = {u.code: r for u, r in zip(order[:max(0, len(order) - 1)], ROLES)}
    rng.shuffle(order)
    few = max(1, round(len(order) / 5))
    tiers = {u.code: EXCELLENT if k < few else WEAK if k >= len(order) - few else AVERAGE
             for k, u in enumerate(order)}
    return roles, tiers


class _Run:
    def __init__(self, campaign: Campaign, inbox: Path, seed: int):
        self.campaign, self.inbox, self.seed = campaign, inbox, seed
        self.roles, self.tiers = assign(campaign.units, seed)
        deadline = campaign.deadlines.get("materials") or (campaign.created.date() + timedelta(30))
        contact = campaign.deadlines.get("contact") or deadline - timedelta(9)
        self.soffice = soffice_path()
        self.staging = inbox.parent / ".staging"
        self.manifest: dict = {}
        self.result = SimulateResult(str(inbox), str(inbox / RECEIVED_MANIFEST), seed, deadline,
                                     contact, self.soffice is not None)

    def unit(self, unit) -> UnitSimulation:
        role = self.roles.get(unit.code, "")
        sim = UnitSimulation(unit.code, unit.name, unit.type, role=role)
        if role == MISSING:
            sim.missing = True
            return sim
        rng = random.Random(f"{self.seed}:{unit.code}")
        sim.tier = self.tiers[unit.code]
        fill = make_fill(self.campaign.rubric, unit, sim.tier, rng, unit.email)
        if role == VALUE_MISTAKES:
            inject(fill, self.campaign.rubric, [COUNT_TEXT, JUDGED_STEP], rng)
        elif role == EVIDENCE_MISTAKES:
            inject(fill, self.campaign.rubric,
                   [CLAIM_WITHOUT_EVIDENCE, EVIDENCE_NOT_LISTED, EVIDENCE_FILE_MISSING], rng)
        folder = self.inbox / sanitise(f"{unit.code}-{unit.name}")
        when = self._time(rng, rng.randint(2, 4) if role == LATE
                          else -rng.choice((0, 0, 0, 1, 1, 2, 3, 5)))
        sim.late = role == LATE
        if role == TWO_VERSIONS:
            first = fill.copy()
            inject(first, self.campaign.rubric, [COUNT_TEXT], rng)
            self._send(sim, unit, first, folder.with_name(folder.name + "-第1次报送"),
                       self._time(rng, -rng.randint(5, 7)), version=1)
            sim.earlier_mistakes = first.mistakes
            when = self._time(rng, -rng.randint(0, 1))
        version = 2 if role == TWO_VERSIONS else 1
        if role == ZIPPED:
            self._send_zip(sim, unit, fill, folder, when)
        else:
            self._send(sim, unit, fill, folder, when, version, resave=role == RESAVED)
        sim.versions, sim.mistakes, sim.inputs = version, fill.mistakes, fill.inputs
        self._contact_form(sim, unit, fill, folder, rng)
        return sim

    def _time(self, rng, days: int, deadline: Optional[date] = None) -> datetime:
        """Office hours (08:00–17:59 北京时间, the same date in UTC) `days` after the deadline."""
        day = (deadline or self.result.deadline) + timedelta(days=days)
        return datetime.combine(day, time(rng.randint(8, 17), rng.randint(0, 59)), TZ)

    def _send(self, sim: UnitSimulation, unit, fill: Fill, folder: Path, when: datetime,
              version: int, resave: bool = False) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        src = self.campaign.layout.workbook_path(unit.code, unit.name)
        path = folder / src.name
        write_workbook(src, path, fill)
        if resave:
            sim.resaved = self._resave(path, unit)
        sim.files.append(self._stamp(path, when, WORKBOOK, version))
        sim.workbook = str(path)
        for m in fill.materials:
            if m.sent:
                (folder / m.file_name).write_bytes(evidence_bytes(m, unit.code))
                sim.files.append(self._stamp(folder / m.file_name, when, EVIDENCE, version))

    def _send_zip(self, sim: UnitSimulation, unit, fill: Fill, folder: Path, when: datetime) -> None:
        """The 自评表 and its evidence in one .zip, inside a folder as people zip them."""
        stage = self.staging / folder.name
        shutil.rmtree(stage, ignore_errors=True)
        self._send(UnitSimulation("", "", ""), unit, fill, stage, when, 1)
        target = folder.with_suffix(".zip")
        stamp = when.replace(tzinfo=None).timetuple()[:6]
        members = sorted(p for p in stage.iterdir() if p.is_file())
        with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
            for p in members:
                zf.writestr(zipfile.ZipInfo(f"{folder.name}/{p.name}", stamp), p.read_bytes(),
                            zipfile.ZIP_DEFLATED)
        shutil.rmtree(self.staging, ignore_errors=True)
        sim.zipped = True
        sim.files.append(self._stamp(target, when, ZIP))
        src = self.campaign.layout.workbook_path(unit.code, unit.name)
        sim.workbook = f"{target}!{folder.name}/{src.name}"

    def _resave(self, path: Path, unit) -> bool:
        who = f"{unit.code} {unit.name}"
        if self.soffice is None:
            self.result.notes.append(issue("Z002", str(path), unit=who))
            return False
        try:
            out = convert(path, XLSX, self.staging / "lo")
        except WorkflowError as e:
            detail = "；".join(i.message for i in e.issues)[:300]
            self.result.notes.append(issue("Z003", str(path), unit=who, detail=detail))
            return False
        os.replace(out, path)
        shutil.rmtree(self.staging, ignore_errors=True)
        return True

    def _contact_form(self, sim: UnitSimulation, unit, fill: Fill, folder: Path, rng) -> None:
        """The 联系人信息表, sent earlier, by its own deadline, into the unit's folder."""
        folder.mkdir(parents=True, exist_ok=True)
        src = self.campaign.layout.contact_form_path(unit.code, unit.name)
        write_contact_form(src, folder / src.name, fill.contact)
        when = self._time(rng, -rng.randint(0, 3), self.result.contact_deadline)
        sim.files.append(self._stamp(folder / src.name, when, CONTACT_FORM))

    def _stamp(self, path: Path, when: datetime, kind: str, version: int = 1) -> SentFile:
        """Received time as the file's mtime and in the manifest."""
        ts = when.timestamp()
        os.utime(path, (ts, ts))
        if path.is_relative_to(self.inbox):
            self.manifest[path.relative_to(self.inbox).as_posix()] = when.isoformat()
        return SentFile(str(path), when, kind, version)

    def finish(self) -> None:
        doc = dict(sorted(self.manifest.items()))
        Path(self.result.manifest).write_text(json.dumps(doc, ensure_ascii=False, indent=1) + "\n",
                                              encoding="utf-8")
        shutil.rmtree(self.staging, ignore_errors=True)


# --- evidence files --------------------------------------------------------------------------

def evidence_bytes(m: Material, unit_code: str) -> bytes:
    """A small real file of the kind its name says: PDF with m.pages pages, .docx or .txt."""
    text = f"{m.title}\n{m.indicator}\n成文日期：{m.written.isoformat()}\n"
    if m.file_name.endswith(".pdf"):
        return pdf_bytes(m.pages, f"xlsx-workflow simulate {unit_code} material {m.number}")
    if m.file_name.endswith(".docx"):
        return docx_bytes(text.splitlines())
    return text.encode("utf-8")


def pdf_bytes(pages: int, label: str) -> bytes:
    """A minimal valid PDF 1.4: `pages` A4 pages, each with one ASCII line (Helvetica)."""
    label = label.replace("\\", "").replace("(", "").replace(")", "")
    kids = " ".join(f"{4 + 2 * k} 0 R" for k in range(pages))
    objects = [b"<< /Type /Catalog /Pages 2 0 R >>",
               f"<< /Type /Pages /Kids [{kids}] /Count {pages} >>".encode(),
               b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>"]
    for k in range(pages):
        stream = f"BT /F1 12 Tf 72 770 Td ({label} - page {k + 1}/{pages}) Tj ET".encode("ascii")
        objects.append(f"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Resources "
                       f"<< /Font << /F1 3 0 R >> >> /Contents {5 + 2 * k} 0 R >>".encode())
        objects.append(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
    out, offsets = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n"), []
    for n, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (n, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % o for o in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


_DOCX_TYPES = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
               '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
               '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
               '<Default Extension="xml" ContentType="application/xml"/>'
               '<Override PartName="/word/document.xml" ContentType="application/vnd.openxmlformats-'
               'officedocument.wordprocessingml.document.main+xml"/></Types>')
_DOCX_RELS = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
              '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
              '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
              'relationships/officeDocument" Target="word/document.xml"/></Relationships>')


def docx_bytes(paragraphs: list[str]) -> bytes:
    """A minimal valid .docx (three parts) holding `paragraphs`; the same text gives the same bytes."""
    body = "".join(f"<w:p><w:r><w:t xml:space=\"preserve\">{escape(p)}</w:t></w:r></w:p>"
                   for p in paragraphs)
    document = ('<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
                '<w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main">'
                f"<w:body>{body}</w:body></w:document>")
    from io import BytesIO
    buf = BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in (("[Content_Types].xml", _DOCX_TYPES), ("_rels/.rels", _DOCX_RELS),
                           ("word/document.xml", document)):
            zf.writestr(zipfile.ZipInfo(name, FIXED_ZIP_TIME), text.encode("utf-8"),
                        zipfile.ZIP_DEFLATED)
    return buf.getvalue()


# --- the office's figures (simulate --params) ------------------------------------------------

@dataclass
class ParamsFill:
    """What `simulate_params` wrote into 市级核定数据.xlsx."""
    path: str
    filled: int           # cells filled with a plausible figure
    kept: int             # cells the office had already filled (left as they were)

    def to_json(self) -> dict:
        return {"file": self.path, "filled": self.filled, "kept": self.kept}


def simulate_params(dir, seed: int = 0) -> ParamsFill:
    """Write (or update) DIR/params/市级核定数据.xlsx and fill its blank figures as the office
    would, with plausible values (rubric/sample.random_params): every unit-scoped parameter per
    unit, every campaign-scoped one once. Office-only fields (虚假报送或隐瞒) stay blank, i.e.
    nothing found; figures already entered are kept. The same seed gives the same figures."""
    import openpyxl

    from .params import CAMPAIGN_SHEET, FIRST_ROW, UNIT_SHEET, cell_text, write_params
    from .rubric.sample import random_params
    camp = load_campaign(dir)
    path = write_params(dir).path
    book = openpyxl.load_workbook(path)
    filled = kept = 0

    def put(cell, value) -> None:
        nonlocal filled, kept
        if cell.value not in (None, ""):
            kept += 1
            return
        cell.value = float(value) if not isinstance(value, int) else value
        filled += 1

    unit_ids = {p.id for p in camp.rubric.params if p.scope != "campaign"}
    ws = book[UNIT_SHEET]
    cols = {cell_text(ws.cell(2, c).value): c for c in range(3, ws.max_column + 1)}
    for r in range(FIRST_ROW, ws.max_row + 1):
        code = cell_text(ws.cell(r, 1).value)
        if not code:
            continue
        values = random_params(camp.rubric, random.Random(f"{seed}:params:{code}"))
        for pid in sorted(unit_ids & cols.keys()):
            put(ws.cell(r, cols[pid]), values[pid])
    values = random_params(camp.rubric, random.Random(f"{seed}:params:campaign"))
    cs = book[CAMPAIGN_SHEET]
    for r in range(2, cs.max_row + 1):
        pid = cell_text(cs.cell(r, 1).value)
        if pid in values and pid not in unit_ids:
            put(cs.cell(r, 4), values[pid])
    tmp = path.with_name(path.stem + ".tmp.xlsx")
    book.save(tmp)
    os.replace(tmp, path)
    return ParamsFill(str(path), filled, kept)


# --- text summary ----------------------------------------------------------------------------

def summary_lines(result: SimulateResult) -> list[str]:
    """A short Chinese table: one line per unit (quality, when received, what was injected)."""
    widths = (8, 14, 6, 34)
    lines = [_row(("代码", "单位", "质量", "报送"), widths) + "注入的问题"]
    for u in result.units:
        if u.missing:
            lines.append(_row((u.unit_code, u.unit_name, "—", "未报送"), widths) + "—")
            continue
        sent = ("逾期 " if u.late else "") + u.received_at.strftime("%m-%d %H:%M")
        sent += f" 共{u.versions}版" if u.versions > 1 else ""
        sent += " 压缩包" if u.zipped else " LibreOffice另存" if u.resaved else ""
        problems = "；".join(m.text for m in u.mistakes) or "—"
        if u.earlier_mistakes:
            problems += "；第1版：" + "；".join(m.text for m in u.earlier_mistakes)
        lines.append(_row((u.unit_code, u.unit_name, TIER_NAMES[u.tier], sent), widths) + problems)
    return lines


def _row(cells: tuple, widths: tuple) -> str:
    """Cells padded to display widths (a Chinese character takes two columns)."""
    out = ""
    for text, width in zip(cells, widths):
        shown = sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
        out += text + " " * max(1, width - shown)
    return out
