"""The blank templates committed under templates/: a 自评表 workbook and a 联系人信息表 for a
placeholder unit, written by the same code as every unit's files.

    python -m xlsx_workflow.workbook.template [OUT_DIR]     (make templates)

A template is made from a campaign held in memory with fixed identity: campaign id
`<rubric>-template`, generation time TEMPLATE_TIME, no sheet password (sheets are protected
against accidents, and an office can unprotect a template to study or adapt it). The unit has no
code and the name 「（单位名称）」, so a template sent back is never taken for a unit's return.
Rebuilding gives the same content every time; tests/test_templates.py checks the committed files.
"""
from __future__ import annotations

import sys
import tempfile
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

from ..campaign import Campaign, init_campaign
from ..rubric.model import Unit
from .book import book_context, write_contact_form, write_self_assessment

TEMPLATE_RUBRIC = "ip-protection-2021"
TEMPLATE_TIME = datetime(2022, 1, 1, tzinfo=timezone(timedelta(hours=8)))
PLACEHOLDER_NAME = "（单位名称）"
SELF_ASSESSMENT_FILE, CONTACT_FORM_FILE = "self_assessment.xlsx", "contact_form.xlsx"


def template_campaign(rubric: str = TEMPLATE_RUBRIC) -> Campaign:
    """The rubric's campaign as `init` makes it (title, deadlines, office), with fixed identity."""
    with tempfile.TemporaryDirectory(prefix="xw-template-") as tmp:
        camp = init_campaign(Path(tmp) / "campaign", rubric)
    return replace(camp, id=f"{camp.rubric.id}-template", created=TEMPLATE_TIME, password="",
                   warnings=[])


def template_unit(camp: Campaign) -> Unit:
    """The placeholder unit; it takes the type of the rubric's first unit (its 不适用 rules)."""
    kind = camp.rubric.units[0].type if camp.rubric.units else ""
    return Unit(code="", name=PLACEHOLDER_NAME, type=kind)


def write_templates(out_dir, rubric: str = TEMPLATE_RUBRIC) -> list[Path]:
    """Write self_assessment.xlsx and contact_form.xlsx into `out_dir`; returns their paths."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    camp = template_campaign(rubric)
    ctx, unit = book_context(camp), template_unit(camp)
    paths = [out / SELF_ASSESSMENT_FILE, out / CONTACT_FORM_FILE]
    for path, writer in zip(paths, (write_self_assessment, write_contact_form)):
        tmp = path.with_name(f".{path.stem}.tmp")
        writer(tmp, ctx, unit)
        tmp.replace(path)
    return paths


if __name__ == "__main__":
    for p in write_templates(sys.argv[1] if len(sys.argv) > 1 else "templates"):
        print(p)
