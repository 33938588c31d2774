"""Reading received workbooks back: rows by 编号, cached scores, other sheets, structure, and a
real LibreOffice re-save read to the same values."""
import zipfile
from decimal import Decimal
from pathlib import Path

import openpyxl
import pytest

from returns_corpus import (CORPUS, Patch, field_cell, make_valid, set_contact, valid_inputs)
from xlsx_workflow.campaign import init_campaign
from xlsx_workflow.checks import check_return, unit_for
from xlsx_workflow.engine import score_unit
from xlsx_workflow.generate import generate_campaign
from xlsx_workflow.messages import WorkflowError
from xlsx_workflow.office import convert
from xlsx_workflow.returns import CellRef, plan_for, read_return

LO_XLSX = "xlsx:Calc MS Excel 2007 XML"


@pytest.fixture(scope="module")
def ip(tmp_path_factory):
    root = tmp_path_factory.mktemp("camp")
    camp = init_campaign(root, "ip-protection-2021", deadline="2022-05-27")
    res = generate_campaign(root, jobs=1)
    return camp, Path(res.workbooks[0].path), Path(res.contact_forms[0].path)


def test_cellref_text():
    assert str(CellRef("自评表", "E12")) == "自评表!E12"


def test_blank_generated_workbook(ip):
    camp, workbook, _ = ip
    data = read_return(workbook, camp.rubric)
    assert data.kind == "self_assessment" and data.structure == "ok"
    assert data.identity.unit_code == "411502" and data.unit_name_shown == "浉河区"
    assert data.unit_code_shown == "411502" and data.fingerprint_ok is True
    assert set(data.values) == {f.id for f in camp.rubric.unit_fields}
    assert all(v is None for v in data.values.values())
    plan = plan_for(camp.rubric)
    assert str(data.cells["1.2"]) == "自评表!" + plan.addresses["1.2"].replace("$", "")
    assert data.evidence_cells["1.2"].cell[0] == "G"
    assert data.cached_total == 0 and data.self_scores["1.1"] == 0
    assert all(data.protected[s] for s in data.sheets)
    assert data.sheets == ["填报说明", "自评表", "材料清单", "扣分事项", "联系人"]
    assert data.evidence == [] and data.deductions == [] and data.contacts == []


def test_filled_workbook(ip, tmp_path):
    camp, workbook, _ = ip
    dst = make_valid(workbook, tmp_path / "v.xlsx", camp, seed=1)
    data = read_return(dst, camp.rubric)
    inputs = valid_inputs(camp, "县区", seed=1)
    assert data.values["1.1"] == inputs["1.1"] and data.values["1.2"] == inputs["1.2"]
    assert data.evidence and data.evidence[0].number == "1" and data.evidence[0].file_name == "1-材料.pdf"
    assert data.contacts[0]["姓名"] == "张伟" and data.contacts[0]["_row"] == 5
    assert data.cached_total is not None and data.cached_total > 0
    assert data.fingerprint_ok is True
    score = score_unit(camp.rubric, inputs, unit_type="县区")
    office = {c.id for c in camp.rubric.clauses if c.needs_office}
    for cid, cached in data.self_scores.items():
        if cid in office:  # the workbook cannot compute it
            assert cached == "待市级核定", cid
        else:
            assert Decimal(str(cached)) == score.clauses[cid].points, cid


@pytest.mark.parametrize("kind", ["valid", "locked_cell_edited"])
def test_single_pass_records_equal_the_integrity_module(ip, tmp_path, kind):
    """read_return takes the fingerprint records in its own pass; they must be integrity's."""
    from xlsx_workflow.integrity import _open, workbook_records
    from xlsx_workflow.returns import _Workbook
    camp, workbook, _ = ip
    build = make_valid if kind == "valid" else CORPUS[kind][0]
    dst = build(workbook, tmp_path / "x.xlsx", camp)
    records = []
    with _Workbook(dst) as wb:
        for sheet in wb.sheets:
            if sheet.state == "visible":
                wb.read_sheet(sheet, records)
    book = _open(dst)
    try:
        assert records and sorted(records) == sorted(workbook_records(book))
    finally:
        book.close()


def test_rows_found_by_id_after_an_inserted_row(ip, tmp_path):
    camp, workbook, _ = ip
    build, _ = CORPUS["row_inserted"]
    dst = build(workbook, tmp_path / "ins.xlsx", camp)
    data = read_return(dst, camp.rubric)
    second = camp.rubric.unit_fields[1].id
    expected_row = int(field_cell(camp, second)[1:])
    assert data.structure == "moved"
    assert data.moved_rows[second] == (expected_row, expected_row + 1)
    assert data.cells[second].cell == f"E{expected_row + 1}"
    assert data.values[second] == valid_inputs(camp, "县区")[second]
    assert data.missing_fields == []


def test_row_deleted_is_missing(ip, tmp_path):
    camp, workbook, _ = ip
    build, _ = CORPUS["row_deleted"]
    data = read_return(build(workbook, tmp_path / "del.xlsx", camp), camp.rubric)
    assert data.structure == "moved" and data.missing_fields == [camp.rubric.unit_fields[1].id]


def test_meta_removed_is_recognised_by_structure(ip, tmp_path):
    camp, workbook, _ = ip
    build, _ = CORPUS["meta_removed"]
    data = read_return(build(workbook, tmp_path / "m.xlsx", camp), camp.rubric)
    assert data.identity is None and data.fingerprint_ok is None
    assert data.kind == "self_assessment" and data.unit_name_shown == "浉河区"
    assert unit_for(data, camp).code == "411502"


def test_not_a_return(tmp_path, ip):
    camp, _, _ = ip
    wb = openpyxl.Workbook()
    wb.active["A1"] = "随便一张表"
    wb.save(tmp_path / "x.xlsx")
    data = read_return(tmp_path / "x.xlsx", camp.rubric)
    assert data.kind == "unknown" and data.structure == "unrecognised"
    _, issues = check_return(data, camp, "")
    assert [i.code for i in issues] == ["I007"]


def test_unreadable_file_raises_t010(tmp_path, ip):
    camp, _, _ = ip
    bad = tmp_path / "bad.xlsx"
    with zipfile.ZipFile(bad, "w") as z:
        z.writestr("hello.txt", "不是工作簿")
    with pytest.raises(WorkflowError) as e:
        read_return(bad, camp.rubric)
    assert [i.code for i in e.value.issues] == ["T010"]


def test_contact_form(ip, tmp_path):
    camp, _, form = ip
    p = Patch(form)
    set_contact(p, 0, {"姓名": "李娜", "职务/职级": "副主任", "手机": 13912345678})
    data = read_return(p.save(tmp_path / "c.xlsx"), camp.rubric)
    assert data.kind == "contact_form" and data.values == {} and data.unit_name_shown == "浉河区"
    assert data.contacts == [{"单位": None, "姓名": "李娜", "职务/职级": "副主任", "电话": None,
                              "手机": 13912345678, "传真": None, "邮箱": None, "_row": 5}]


@pytest.mark.libreoffice
def test_libreoffice_resave_reads_back_the_same(ip, tmp_path, soffice):
    """A valid return re-saved by LibreOffice: same cleaned values, same score, no issues."""
    camp, workbook, form = ip
    valid = make_valid(workbook, tmp_path / "valid.xlsx", camp, seed=7)
    resaved = convert(valid, LO_XLSX, tmp_path / "lo")
    a, b = read_return(valid, camp.rubric), read_return(resaved, camp.rubric)
    assert b.identity == a.identity and b.fingerprint_ok is True and b.structure == "ok"
    assert all(b.protected[s] for s in b.sheets)
    ca, ia = check_return(a, camp, "县区")
    cb, ib = check_return(b, camp, "县区")
    assert ia == [] and ib == []
    assert cb == ca
    assert b.cached_total == a.cached_total
    assert [(e.number, e.file_name) for e in b.evidence] == [(e.number, e.file_name) for e in a.evidence]
    assert b.contacts == a.contacts
    form_lo = convert(make_valid(form, tmp_path / "form.xlsx", camp), LO_XLSX, tmp_path / "lo")
    data = read_return(form_lo, camp.rubric)
    assert data.kind == "contact_form" and check_return(data, camp, "县区")[1] == []
