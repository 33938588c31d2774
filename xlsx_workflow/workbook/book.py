"""Assemble one unit's workbooks: the 自评表 workbook and the separate contact form.

Each carries its identity (integrity.Identity) twice — in a very-hidden meta sheet and in
custom document properties — with the fingerprint of its locked cells. Every sheet is
protected with the campaign's password; formats, columns and rows may still be adjusted.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from datetime import timezone
from pathlib import Path

from ..campaign import Campaign
from ..engine import RATE, basis_for
from ..integrity import CONTACT_FORM, META_SHEET, PROPERTY_PREFIX, SELF_ASSESSMENT, Identity, fingerprint
from ..rubric.model import Unit
from .assessment import write_assessment
from .checked import FastWorkbook, Sheet, WriteError, ok
from .guide import write_guide
from .plan import SHEET, AssessmentPlan, build_plan
from .sheets import (CONTACT_SHEET, DEDUCTION_SHEET, EVIDENCE_SHEET, GUIDE_SHEET, Page, cn_date,
                     write_contacts, write_deductions, write_evidence)
from .styles import Styles
from .validation import OPTIONS_SHEET, OptionLists, option_lists, write_options

PROTECTION = {"format_cells": True, "format_columns": True, "format_rows": True,
              "select_locked_cells": True, "select_unlocked_cells": True}
_OPTIONS = {"strings_to_formulas": False, "strings_to_urls": False, "strings_to_numbers": False,
            "in_memory": True}


@dataclass
class BookContext:
    """What all units of a campaign share; built once per process (see generate.py)."""
    campaign: Campaign
    plan: AssessmentPlan
    lists: OptionLists
    has_deductions: bool
    by_rate: bool = False  # 等次 by 折算得分 for units with 不适用 indicators (engine.basis_for)


def book_context(campaign: Campaign) -> BookContext:
    rubric = campaign.rubric
    roles = {d.id: g.role for g in rubric.groups for d in rubric.dimensions if d.group == g.id}
    deductions = [f"{c.id} {i.name}" for i in rubric.indicators if roles.get(i.dimension) == "deduction"
                  for c in i.clauses if not c.office_only]
    partial = any(not i.applies_to(u.type) for u in campaign.units for i in rubric.indicators)
    by_rate = basis_for(campaign.ranking, partial) == RATE
    return BookContext(campaign, build_plan(rubric), option_lists(rubric, deductions),
                       bool(deductions), by_rate)


def page_for(ctx: BookContext, unit: Unit) -> Page:
    c = ctx.campaign
    office = [("主办单位", c.office.name), ("联系人", c.office.people), ("电话", c.office.phone),
              ("邮箱", c.office.email), ("地址", c.office.address)]
    na = any(not i.applies_to(unit.type) for i in c.rubric.indicators)
    return Page(c.title, unit.name, unit.code, cn_date(c.deadlines.get("contact")),
                cn_date(c.deadlines.get("materials")), [x for x in office if x[1]], c.id,
                ctx.has_deductions, na)


def write_self_assessment(path: Path, ctx: BookContext, unit: Unit) -> None:
    """The unit's 自评表 workbook: 填报说明, 自评表, 材料清单, (扣分事项,) 联系人, options, meta."""
    page = page_for(ctx, unit)
    with _Book(path, ctx, unit, SELF_ASSESSMENT) as b:
        write_guide(b.sheet(GUIDE_SHEET), page)
        deadline = page.materials_deadline and f"{page.materials_deadline}前"
        write_assessment(b.sheet(SHEET), ctx.plan, unit, ctx.campaign.title, deadline, ctx.lists,
                         ctx.by_rate)
        write_evidence(b.sheet(EVIDENCE_SHEET), page)
        if ctx.has_deductions:
            write_deductions(b.sheet(DEDUCTION_SHEET), page)
        write_contacts(b.sheet(CONTACT_SHEET), page)
        options = b.sheet(OPTIONS_SHEET, visible=False)
        write_options(b.wb, options, ctx.lists)
        options.call("hide")


def write_contact_form(path: Path, ctx: BookContext, unit: Unit) -> None:
    """The separate 联系人信息表: the 联系人 sheet alone, plus the meta sheet."""
    with _Book(path, ctx, unit, CONTACT_FORM) as b:
        write_contacts(b.sheet(CONTACT_SHEET), page_for(ctx, unit))


class _Book:
    """An xlsxwriter workbook whose sheets are checked, recorded, protected and identified."""

    def __init__(self, path: Path, ctx: BookContext, unit: Unit, kind: str):
        self.path, self.ctx, self.unit, self.kind = Path(path), ctx, unit, kind
        self.records: list = []
        self.sheets: list[Sheet] = []

    def __enter__(self):
        self._warnings = warnings.catch_warnings()
        self._warnings.__enter__()
        warnings.simplefilter("error")  # xlsxwriter warns where it drops something: make it fail
        self.wb = FastWorkbook(str(self.path), _OPTIONS)
        self.styles = Styles(self.wb)
        return self

    def sheet(self, name: str, visible: bool = True) -> Sheet:
        s = Sheet(self.wb.add_worksheet(name), self.styles, self.records if visible else None)
        self.sheets.append(s)
        return s

    def __exit__(self, exc_type, exc, tb):
        try:
            if exc_type is None:
                self._finish()
        finally:
            self._warnings.__exit__(None, None, None)
        return False

    def _finish(self) -> None:
        c = self.ctx.campaign
        ident = Identity(self.kind, c.id, c.rubric.id, str(c.rubric.version), c.rubric.content_hash,
                         self.unit.code, self.unit.name, c.created.isoformat(),
                         fingerprint(self.records))
        meta = self.sheet(META_SHEET, visible=False)
        meta.call("set_column", 0, 0, 16)
        meta.call("set_column", 1, 1, 70)
        for row, (key, value) in enumerate(ident.items()):
            meta.text(row, 0, key, "meta")
            meta.text(row, 1, value, "meta")
            ok(self.wb.set_custom_property(PROPERTY_PREFIX + key, value, "text"), "set_custom_property")
        meta.call("very_hidden")
        for s in self.sheets:
            s.call("protect", c.password, PROTECTION)
        created = c.created.astimezone(timezone.utc).replace(tzinfo=None)
        self.wb.set_properties({"title": f"{c.title}{'自评表' if self.kind == SELF_ASSESSMENT else '联系人信息表'}",
                                "subject": self.unit.name, "author": c.office.name,
                                "company": c.office.name, "comments": f"考核编号 {c.id}",
                                "created": created})
        try:
            self.wb.close()
        except Exception as e:  # xlsxwriter raises its own exception types on close
            raise WriteError(f"保存失败：{e}") from e
