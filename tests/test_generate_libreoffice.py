"""Generated workbooks in real LibreOffice: live scores equal the engine's, a re-save keeps what
matters (validations, protection, names, identity, fingerprint), every workbook prints to PDF.

LibreOffice is slow to start, so each rubric's files go through one batch: many files per
`soffice --convert-to` call, split over two processes (the machine has two cores), each with
its own profile.
"""
import random
import subprocess
import time
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from xlsx_workflow.campaign import init_campaign
from xlsx_workflow.engine import score_unit
from xlsx_workflow.generate import generate_campaign
from xlsx_workflow.integrity import read_identity, verify_fingerprint
from xlsx_workflow.office import force_recalc_on_load
from xlsx_workflow.workbook.book import book_context
from xlsx_workflow.rubric import builtin_ids
from xlsx_workflow.rubric.sample import random_inputs
from xlsx_workflow.workbook.plan import build_plan

RUBRICS = ["ip-protection-2021", "anti-counterfeit-2021"]
FILLS = 50
XLSX = "xlsx:Calc MS Excel 2007 XML"

pytestmark = pytest.mark.libreoffice


def convert_batch(soffice: str, files: list[Path], fmt: str, out: Path, work: Path,
                  recalc: bool = False, procs: int = 2, timeout: float = 300) -> list[Path]:
    """Convert all `files` with at most `procs` soffice processes at once; returns the outputs."""
    out.mkdir(parents=True, exist_ok=True)
    chunks = [files[k::procs] for k in range(procs) if files[k::procs]]
    running = []
    for k, chunk in enumerate(chunks):
        profile = work / f"profile-{k}"
        if recalc:
            force_recalc_on_load(profile)
        running.append(subprocess.Popen(
            [soffice, "--headless", "--norestore", "--nolockcheck",
             f"-env:UserInstallation={profile.resolve().as_uri()}", "--convert-to", fmt,
             "--outdir", str(out), *map(str, chunk)],
            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE))
    deadline = time.monotonic() + timeout
    for p in running:
        p.wait(timeout=max(1, deadline - time.monotonic()))
    ext = fmt.split(":")[0]
    outputs = [out / f"{f.stem}.{ext}" for f in files]
    missing = [o.name for o in outputs if not o.is_file()]
    assert not missing, f"LibreOffice did not write {missing[:5]}"
    return outputs


def header(ws):
    for row in ws.iter_rows(max_row=30):
        cols = {c.value: c.column_letter for c in row if isinstance(c.value, str)}
        if {"编号", "填报值", "材料编号"} <= cols.keys():
            return row[0].row, cols
    raise AssertionError("no contract header")


def as_cell(value):
    """A sample value as a county would type it."""
    return float(value) if isinstance(value, Decimal) else value


class Batch:
    """One rubric's campaign, its random fills, and their LibreOffice recalculation."""

    def __init__(self, rubric_id: str, soffice: str, root: Path):
        self.camp = init_campaign(root / "camp", rubric_id)
        self.result = generate_campaign(root / "camp", jobs=2)
        self.rubric = self.camp.rubric
        self.by_rate = book_context(self.camp).by_rate
        self.fills, fill_dir = [], root / "fills"
        fill_dir.mkdir()
        rng = random.Random(rubric_id)
        books = {}
        for k in range(FILLS):
            unit = self.camp.units[k % len(self.camp.units)]
            path = self.result.workbooks[k % len(self.camp.units)].path
            book = books.setdefault(unit.code, openpyxl.load_workbook(path))
            inputs = self._fill(book["自评表"], unit, random_inputs(self.rubric, rng))
            book.save(fill_dir / f"fill-{k:02d}.xlsx")
            self.fills.append((unit, inputs, fill_dir / f"fill-{k:02d}.xlsx"))
        # A re-save is checked on one workbook per unit type and one contact form.
        first = {}
        for u, w in zip(self.camp.units, self.result.workbooks):
            first.setdefault(u.type, Path(w.path))
        originals = [*first.values(), Path(self.result.contact_forms[0].path)]
        outs = convert_batch(soffice, [f for _, _, f in self.fills] + originals, XLSX,
                             root / "lo", root, recalc=True)
        self.recalculated = outs[:FILLS]
        self.resaved = dict(zip(originals, outs[FILLS:]))

    def _fill(self, ws, unit, inputs: dict) -> dict:
        """Write every applicable input into its 填报值 cell; returns what was written."""
        top, cols = header(ws)
        rows = {ws[f"{cols['编号']}{r}"].value: r for r in range(top + 1, ws.max_row + 1)}
        applies = {i.id: i.applies_to(unit.type) for i in self.rubric.indicators}
        written = {}
        for f in self.rubric.unit_fields:
            cell = ws[f"{cols['填报值']}{rows[f.id]}"]
            value = inputs.get(f.id) if applies[f.indicator_id] else None
            cell.value = as_cell(value)
            if value is not None:
                written[f.id] = value
        return written


@pytest.fixture(scope="module", params=[r for r in RUBRICS if r in builtin_ids()])
def batch(request, soffice, tmp_path_factory):
    return Batch(request.param, soffice, tmp_path_factory.mktemp(request.param))


def same(lo_value, points: Decimal) -> bool:
    return isinstance(lo_value, (int, float)) and Decimal(repr(lo_value)) == points


def values(path: Path) -> dict:
    """Cached values of the 自评表 by cell address (read-only: many files to read)."""
    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        return {c.coordinate: c.value for row in book["自评表"].iter_rows() for c in row
                if c.value is not None}
    finally:
        book.close()


def test_libreoffice_scores_equal_the_engine(batch):
    rubric = batch.rubric
    cell = build_plan(rubric).addresses
    checked = partial = 0
    for (unit, inputs, src), out in zip(batch.fills, batch.recalculated):
        found = values(out)
        got = lambda name: found.get(cell[name].replace("$", ""))
        score = score_unit(rubric, inputs, unit_type=unit.type)
        for c in rubric.clauses:
            res = score.clauses[c.id]
            if not score.indicators[c.indicator_id].applicable:
                assert got(f"c:{c.id}") == "不适用"
            elif c.needs_office:
                assert got(f"c:{c.id}") == "待市级核定"
            else:
                assert same(got(f"c:{c.id}"), res.points), (src.name, c.id, got(f"c:{c.id}"), res)
                checked += 1
        for iid, ind in score.indicators.items():
            assert got(f"i:{iid}") == "不适用" if not ind.applicable else same(got(f"i:{iid}"), ind.points)
        for name, pts in [*((f"d:{k}", v) for k, v in score.dimensions.items()),
                          *((f"g:{k}", v) for k, v in score.groups.items()), ("total", score.total)]:
            assert same(got(name), pts), (src.name, name, got(name), pts)
        # a unit with 不适用 indicators, in a campaign graded by 得分率: its 等次 is on 折算得分
        scaled = batch.by_rate and score.scaled is not None and score.scaled != score.total
        assert got("grade") == (rubric.grade_for(score.scaled) if scaled else score.grade)
        partial += scaled
    assert checked > FILLS * 10
    assert partial or not batch.by_rate  # the 折算得分 formula was recalculated too
    assert len({str(s.total) for s in (score_unit(rubric, i, unit_type=u.type)
                                       for u, i, _ in batch.fills)}) > FILLS // 2  # varied fills


def test_recalculated_fills_keep_their_fingerprint(batch):
    assert all(verify_fingerprint(out) for out in batch.recalculated[::5])


def _validations(book) -> dict:
    return {ws.title: sorted((dv.type, str(dv.sqref), dv.formula1 or "")
                             for dv in ws.data_validations.dataValidation)
            for ws in book.worksheets}


def test_a_libreoffice_resave_keeps_validation_protection_names_and_identity(batch):
    for original, resaved in batch.resaved.items():
        before, after = openpyxl.load_workbook(original), openpyxl.load_workbook(resaved)
        assert _validations(after) == {k: [(t, r, f.replace(".0", "") if t == "decimal" else f)
                                           for t, r, f in v]
                                       for k, v in _validations(before).items()}
        assert sorted(after.defined_names) == sorted(before.defined_names)
        for name in before.defined_names:
            assert (after.defined_names[name].attr_text.replace("'", "")
                    == before.defined_names[name].attr_text.replace("'", ""))
        for ws in after.worksheets:
            assert ws.protection.sheet, (resaved.name, ws.title)
            assert ws.protection.password.upper() == before[ws.title].protection.password.upper()
        props = lambda b: {p.name: p.value for p in b.custom_doc_props}
        assert props(after) == props(before)
        assert read_identity(resaved).items() == read_identity(original).items()
        assert verify_fingerprint(resaved), resaved.name


def test_every_generated_workbook_converts_to_pdf(batch, soffice, tmp_path):
    files = [Path(w.path) for w in batch.result.workbooks + batch.result.contact_forms]
    for pdf in convert_batch(soffice, files, "pdf", tmp_path / "pdf", tmp_path):
        assert pdf.read_bytes()[:5] == b"%PDF-" and pdf.stat().st_size > 5000
