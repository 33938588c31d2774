"""Stage `generate`: one 自评表 workbook and one 联系人信息表 per unit, into DIR/generate/.

The rubric's layout and formulas are compiled once per process; units are written in a process
pool when jobs > 1. Each file is written to a temporary name and renamed, so a crash never
leaves a half-written workbook under a real name. A failing unit is reported (G001) and the
others go on.
"""
from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Optional

from .campaign import Campaign, load_campaign, shares_rubric_units
from .layout import CONTACT_FORM_SUFFIX, WORKBOOK_SUFFIX
from .messages import Issue, issue
from .rubric.model import Unit
from .workbook import BookContext, book_context, write_contact_form, write_self_assessment

Progress = Callable[[int, int], None]  # (units done, units in all)


@dataclass
class Written:
    unit_code: str
    unit_name: str
    path: str  # absolute

    def to_json(self) -> dict:
        return {"unit_code": self.unit_code, "unit_name": self.unit_name, "path": self.path}


@dataclass
class GenerateResult:
    workbooks: list[Written] = field(default_factory=list)
    contact_forms: list[Written] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    errors: list[Issue] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"workbooks": [w.to_json() for w in self.workbooks],
                "contact_forms": [w.to_json() for w in self.contact_forms],
                "warnings": [w.to_dict() for w in self.warnings],
                "errors": [e.to_dict() for e in self.errors]}


def generate_campaign(dir, jobs: int = 2, progress: Optional[Progress] = None) -> GenerateResult:
    """Write every unit's files; returns what was written, with warnings and per-unit errors."""
    global _CTX
    campaign = load_campaign(dir)
    out = campaign.layout.generate_dir
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob(".*.tmp"):  # left by an interrupted run
        stale.unlink()
    result = GenerateResult(warnings=list(campaign.warnings) + office_gaps(campaign))
    _CTX = book_context(campaign)  # a forked worker inherits it and compiles nothing again
    units, total = campaign.units, len(campaign.units)
    jobs = max(1, min(jobs, total, os.cpu_count() or 1))
    if jobs == 1:
        outcomes = map(_write_unit, units)
        _collect(outcomes, result, progress, total)
    else:
        with ProcessPoolExecutor(jobs, initializer=_init_worker, initargs=(str(campaign.root),)) as pool:
            _collect(pool.map(_write_unit, units, chunksize=max(1, min(16, total // (jobs * 8)))),
                     result, progress, total)
    result.warnings += _leftovers(campaign, result)
    return result


def office_gaps(campaign) -> list[Issue]:
    """What the workbooks about to go out would lack or carry wrongly: the office's name and a
    way to reach it (G003), or the rubric's own title over another city's units (G004)."""
    o, out = campaign.office, []
    missing = [label for label, value in (("名称（name）", o.name),
                                          ("电话（phone）或邮箱（email）", o.phone or o.email))
               if not value.strip()]
    if missing:
        out.append(issue("G003", str(campaign.layout.campaign_file), missing="、".join(missing)))
    if campaign.title == campaign.rubric.title and not shares_rubric_units(campaign.units,
                                                                           campaign.rubric):
        out.append(issue("G004", str(campaign.layout.campaign_file), title=campaign.title))
    return out


def _collect(outcomes, result: GenerateResult, progress, total: int) -> None:
    for done, (unit, wb, cf, errors) in enumerate(outcomes, 1):
        if wb:
            result.workbooks.append(Written(unit.code, unit.name, wb))
        if cf:
            result.contact_forms.append(Written(unit.code, unit.name, cf))
        result.errors += errors
        if progress:
            progress(done, total)


_CTX: BookContext | None = None


def _init_worker(root: str) -> None:
    global _CTX
    if _CTX is None or str(_CTX.campaign.root) != root:
        _CTX = book_context(load_campaign(root))


def _write_unit(unit: Unit) -> tuple[Unit, str, str, list[Issue]]:
    """Both files of one unit; an error in one is reported, not raised."""
    ctx, lay = _CTX, _CTX.campaign.layout
    errors: list[Issue] = []
    wb = _atomic(lay.workbook_path(unit.code, unit.name), write_self_assessment, ctx, unit,
                 WORKBOOK_SUFFIX, errors)
    cf = _atomic(lay.contact_form_path(unit.code, unit.name), write_contact_form, ctx, unit,
                 CONTACT_FORM_SUFFIX, errors)
    return unit, wb, cf, errors


def _atomic(path: Path, writer, ctx: BookContext, unit: Unit, what: str, errors: list) -> str:
    tmp = path.with_name(f".{path.stem}.tmp")
    try:
        writer(tmp, ctx, unit)
        os.replace(tmp, path)
        return str(path)
    except Exception as e:  # collect, don't stop: the batch goes on past a bad unit
        tmp.unlink(missing_ok=True)
        errors.append(issue("G001", str(path), unit=f"{unit.code} {unit.name}", what=what,
                            detail=f"{type(e).__name__}: {e}"[:300]))
        return ""


def _leftovers(campaign: Campaign, result: GenerateResult) -> list[Issue]:
    """Generated-looking files of units no longer in the list (the office must not send them)."""
    lay = campaign.layout
    expected = {lay.workbook_path(u.code, u.name).name for u in campaign.units}
    expected |= {lay.contact_form_path(u.code, u.name).name for u in campaign.units}
    old = sorted(p.name for p in lay.generate_dir.glob("*.xlsx")
                 if p.name not in expected
                 and p.stem.endswith((f"-{WORKBOOK_SUFFIX}", f"-{CONTACT_FORM_SUFFIX}")))
    if not old:
        return []
    return [issue("G002", str(lay.generate_dir), dir=str(lay.generate_dir), files="、".join(old))]
