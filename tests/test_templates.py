"""The committed blank templates (templates/*.xlsx) are what the generator makes today.

Compared by content through openpyxl — cells, styles that matter, merges, validations, defined
names, protection, print setup, document properties — never by bytes (zip entries may differ).
When this fails after a deliberate change to the workbook or the rubric, run `make templates`.
"""
import shutil
from pathlib import Path

import openpyxl
import pytest

from xlsx_workflow.integrity import CONTACT_FORM, SELF_ASSESSMENT, read_identity, verify_fingerprint
from xlsx_workflow.workbook.template import (CONTACT_FORM_FILE, PLACEHOLDER_NAME,
                                             SELF_ASSESSMENT_FILE, TEMPLATE_RUBRIC,
                                             TEMPLATE_TIME, write_templates)

COMMITTED = Path(__file__).resolve().parent.parent / "templates"
FILES = [SELF_ASSESSMENT_FILE, CONTACT_FORM_FILE]


def _validation(dv) -> tuple:
    return (str(dv.sqref), dv.type, dv.operator, dv.formula1, dv.formula2, dv.allow_blank,
            dv.showDropDown, dv.showInputMessage, dv.showErrorMessage, dv.errorStyle,
            dv.promptTitle, dv.prompt, dv.errorTitle, dv.error)


def _sheet(ws) -> dict:
    cells = {}
    for row in ws.iter_rows():
        for c in row:
            if c.value is None and not c.has_style:
                continue
            cells[c.coordinate] = (c.value, c.data_type, c.protection.locked, c.number_format,
                                   c.fill.fgColor.rgb if c.fill and c.fill.fill_type else None,
                                   c.font.b, c.alignment.wrap_text, c.alignment.horizontal)
    p, ps = ws.protection, ws.page_setup
    return {
        "state": ws.sheet_state,
        "cells": cells,
        "merged": sorted(str(r) for r in ws.merged_cells.ranges),
        "validations": sorted(_validation(dv) for dv in ws.data_validations.dataValidation),
        "protection": (p.sheet, p.password, p.formatCells, p.formatColumns, p.formatRows,
                       p.selectLockedCells, p.selectUnlockedCells, p.insertRows, p.deleteRows),
        "columns": {k: round(d.width or 0, 2) for k, d in sorted(ws.column_dimensions.items())},
        "rows": {k: d.ht for k, d in sorted(ws.row_dimensions.items()) if d.ht},
        "default_row": ws.sheet_format.defaultRowHeight,
        "print": (ps.paperSize, ps.orientation, ps.fitToWidth, ps.fitToHeight,
                  ws.sheet_properties.pageSetUpPr.fitToPage if ws.sheet_properties.pageSetUpPr
                  else None, str(ws.print_title_rows), ws.freeze_panes,
                  ws.oddHeader.center.text, ws.oddFooter.center.text,
                  ws.print_options.horizontalCentered),
    }


def workbook_content(path) -> dict:
    """Everything a person or the import stage could notice in a generated workbook."""
    book = openpyxl.load_workbook(path)
    props = book.properties
    return {
        "sheets": [ws.title for ws in book.worksheets],
        "content": {ws.title: _sheet(ws) for ws in book.worksheets},
        "names": {n: book.defined_names[n].attr_text for n in sorted(book.defined_names)},
        "custom": {p.name: str(p.value) for p in book.custom_doc_props},
        "core": (props.title, props.subject, props.creator, props.description, props.created),
    }


def differences(a: dict, b: dict, where: str = "") -> list[str]:
    """Paths (sheet → part → cell) at which two contents differ, for a readable failure."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = []
        for k in sorted(set(a) | set(b), key=str):
            if k not in a or k not in b:
                out.append(f"{where}/{k}: only in {'committed' if k in a else 'generated'}")
            else:
                out += differences(a[k], b[k], f"{where}/{k}")
        return out
    return [] if a == b else [f"{where}: committed {a!r} != generated {b!r}"]


@pytest.fixture(scope="module")
def fresh(tmp_path_factory):
    out = tmp_path_factory.mktemp("templates")
    write_templates(out)
    return out


@pytest.mark.parametrize("name", FILES)
def test_committed_template_equals_a_fresh_build(fresh, name):
    committed = COMMITTED / name
    assert committed.is_file(), f"{committed} is missing: run `make templates`"
    diff = differences(workbook_content(committed), workbook_content(fresh / name))
    assert not diff, "run `make templates`; first differences:\n" + "\n".join(diff[:15])


def test_comparison_sees_a_changed_cell_validation_and_property(fresh, tmp_path):
    """The check above can fail: one changed cell, validation or property is a difference."""
    base = workbook_content(fresh / SELF_ASSESSMENT_FILE)
    changed = tmp_path / "changed.xlsx"
    shutil.copy(fresh / SELF_ASSESSMENT_FILE, changed)
    book = openpyxl.load_workbook(changed)
    book["自评表"]["A1"] = "别的标题"
    book["材料清单"].data_validations.dataValidation.pop()
    book.custom_doc_props["xw_unit_name"].value = "浉河区"
    book.save(changed)
    diff = differences(base, workbook_content(changed))
    assert any("自评表/cells/A1" in d for d in diff), diff[:5]
    assert any("材料清单/validations" in d for d in diff)
    assert any("custom/xw_unit_name" in d for d in diff)


def test_two_builds_are_identical(fresh, tmp_path):
    write_templates(tmp_path)
    for name in FILES:
        assert differences(workbook_content(fresh / name), workbook_content(tmp_path / name)) == []


@pytest.mark.parametrize("name, kind", [(SELF_ASSESSMENT_FILE, SELF_ASSESSMENT),
                                        (CONTACT_FORM_FILE, CONTACT_FORM)])
def test_templates_carry_a_placeholder_identity_and_a_valid_fingerprint(name, kind):
    path = COMMITTED / name
    ident = read_identity(path)
    assert ident is not None and ident.kind == kind
    assert ident.rubric_id == TEMPLATE_RUBRIC and ident.campaign_id == f"{TEMPLATE_RUBRIC}-template"
    assert ident.unit_code == "" and ident.unit_name == PLACEHOLDER_NAME
    assert ident.generated_at == TEMPLATE_TIME.isoformat()
    assert verify_fingerprint(path)
    book = openpyxl.load_workbook(path)
    visible = [ws for ws in book.worksheets if ws.sheet_state == "visible"]
    assert visible and all(ws.protection.sheet and not ws.protection.password for ws in visible)
    subtitle = visible[-1]["A2"].value if kind == CONTACT_FORM else book["自评表"]["A2"].value
    assert subtitle.startswith(f"填报单位：{PLACEHOLDER_NAME}") and "代码" not in subtitle


def test_no_cell_of_the_assessment_is_merged_over_rows(fresh):
    """A page break inside a vertically merged cell cuts its text: clauses are not merged over
    their input rows; the text sits whole in the first row (9.1 has three input rows)."""
    ws = openpyxl.load_workbook(fresh / SELF_ASSESSMENT_FILE)["自评表"]
    tall = [str(r) for r in ws.merged_cells.ranges if r.min_row != r.max_row]
    assert tall == []
    rows = {ws.cell(r, 1).value: r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value}
    first, second = rows["9.1.1"], rows["9.1.2"]
    assert "逐年增加" in ws.cell(first, 2).value and ws.cell(second, 2).value is None
    assert ws.cell(first, 6).data_type == "f" and ws.cell(second, 6).value is None
    assert ws.cell(first, 2).border.bottom.style is None and ws.cell(second, 2).border.top.style is None
