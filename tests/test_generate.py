"""Generated workbooks, read back with openpyxl: contract, formulas, validations, protection,
identity and fingerprint, determinism, the `generate --json` contract."""
import hashlib
import json
import re
import shutil
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter
from click.testing import CliRunner
from openpyxl.utils.cell import get_column_letter
from openpyxl.utils.protection import hash_password

from xlsx_workflow.campaign import init_campaign
from xlsx_workflow.cli import main
from xlsx_workflow.engine import score_unit
from xlsx_workflow.generate import generate_campaign
from xlsx_workflow.integrity import (META_SHEET, normalise_formula, read_identity,
                                     verify_fingerprint)
from xlsx_workflow.rubric import builtin_ids
from xlsx_workflow.rubric.expr import Ref, to_excel
from xlsx_workflow.rubric.totals import grade_expr, total_expr
from xlsx_workflow.workbook import WriteError
from xlsx_workflow.workbook.checked import Sheet
from xlsx_workflow.workbook.styles import Styles

MINI = str(Path(__file__).parent / "data" / "mini.yaml")
RUBRICS = [MINI] + [r for r in ("ip-protection-2021", "anti-counterfeit-2021") if r in builtin_ids()]
VISIBLE = ["填报说明", "自评表", "材料清单", "联系人"]


@pytest.fixture(scope="module", params=RUBRICS, ids=lambda r: Path(r).stem)
def made(request, tmp_path_factory):
    """(campaign, result) for one rubric, generated once per module."""
    root = tmp_path_factory.mktemp("camp")
    camp = init_campaign(root, request.param, deadline="2022-05-27")
    return camp, generate_campaign(root, jobs=2)


def header(ws) -> tuple[int, dict]:
    """The contract's header row: its number and column letters by header text."""
    for row in ws.iter_rows(max_row=30):
        texts = {c.value: c.column_letter for c in row if isinstance(c.value, str)}
        if {"编号", "填报值", "材料编号"} <= texts.keys():
            return row[0].row, texts
    raise AssertionError("no header row with 编号, 填报值, 材料编号")


def input_rows(ws) -> dict:
    """field id → row number, from the 编号 column below the header."""
    top, cols = header(ws)
    out = {}
    for r in range(top + 1, ws.max_row + 1):
        fid = ws[f"{cols['编号']}{r}"].value
        if fid:
            assert fid not in out, f"field {fid} appears twice"
            out[fid] = r
    return out


def test_one_workbook_and_one_contact_form_per_unit(made):
    camp, res = made
    assert res.errors == []  # tests/data/mini.yaml names no office: G003 says so
    assert [w.code for w in res.warnings] == (["G003"] if camp.rubric.id == "mini" else [])
    assert [w.unit_code for w in res.workbooks] == [u.code for u in camp.units]
    assert [w.unit_code for w in res.contact_forms] == [u.code for u in camp.units]
    for w in res.workbooks + res.contact_forms:
        assert Path(w.path).is_absolute() and Path(w.path).is_file()
    assert not list(camp.layout.generate_dir.glob(".*"))  # no temporary file left


def test_contract_every_unit_field_once_with_an_input_cell(made):
    camp, res = made
    ws = openpyxl.load_workbook(res.workbooks[0].path)["自评表"]
    rows = input_rows(ws)
    assert set(rows) == {f.id for f in camp.rubric.unit_fields}
    _, cols = header(ws)
    for fid, r in rows.items():
        cell = ws[f"{cols['填报值']}{r}"]
        assert cell.value is None and not cell.protection.locked, fid
        assert not ws[f"{cols['材料编号']}{r}"].protection.locked


def test_sheets_present_hidden_and_very_hidden(made):
    camp, res = made
    book = openpyxl.load_workbook(res.workbooks[0].path)
    has_deductions = any(g.role == "deduction" for g in camp.rubric.groups)
    assert book.sheetnames == ["填报说明", "自评表", "材料清单"] + (["扣分事项"] if has_deductions else []) + [
        "联系人", "选项", META_SHEET]
    states = {ws.title: ws.sheet_state for ws in book.worksheets}
    assert states.pop(META_SHEET) == "veryHidden" and states.pop("选项") == "hidden"
    assert set(states.values()) == {"visible"}
    contact = openpyxl.load_workbook(res.contact_forms[0].path)
    assert contact.sheetnames == ["联系人", META_SHEET]
    assert contact[META_SHEET].sheet_state == "veryHidden"


def test_scores_are_the_rubric_formulas_with_the_engine_cached_values(made):
    camp, res = made
    rubric, unit = camp.rubric, camp.units[0]
    book = openpyxl.load_workbook(res.workbooks[0].path)
    cached = openpyxl.load_workbook(res.workbooks[0].path, data_only=True)["自评表"]
    ws = book["自评表"]
    _, cols = header(ws)
    rows = input_rows(ws)
    score_col = cols["自评得分"]
    blank = score_unit(rubric, {}, unit_type=unit.type)
    formulas = 0
    for c in rubric.clauses:
        fields = [f for f in c.fields if f.source == "unit"]
        if not fields:
            continue
        cell = ws[f"{score_col}{rows[fields[0].id]}"]
        if c.needs_office:
            assert cell.value == "待市级核定"
        elif not rubric.indicators[[i.id for i in rubric.indicators].index(c.indicator_id)].applies_to(unit.type):
            assert cell.value == "不适用"
        else:
            cell_of = lambda name: f"${cols['填报值']}${rows[name]}"
            assert cell.value == "=" + to_excel(c.expr, cell_of), c.id
            assert cached[cell.coordinate].value == float(blank.clauses[c.id].points)
            formulas += 1
    assert formulas >= len([c for c in rubric.clauses if not c.needs_office]) * 0.5
    top, _ = header(ws)
    labels = {c.value: c for row in ws.iter_rows(max_row=top - 1) for c in row
              if isinstance(c.value, str)}

    def below(label):  # summary values sit under their labels
        c = next(v for k, v in labels.items() if k == label or k.startswith(label + "（"))
        return ws.cell(c.row + 1, c.column)
    at = {f"g:{g.id}": below(g.name) for g in rubric.groups}
    at["total"] = below("总分")
    ref = lambda name: f"${at[name].column_letter}${at[name].row}"
    assert at["total"].value == "=" + to_excel(total_expr(rubric), ref)
    assert below("等次").value == "=" + to_excel(grade_expr(rubric, Ref("total")), ref)
    assert cached[at["total"].coordinate].value == float(blank.total)
    assert cached[below("等次").coordinate].value == blank.grade


def _summary_cell(path, label: str):
    """The formula and cached value under a summary label of a generated 自评表."""
    ws = openpyxl.load_workbook(path)["自评表"]
    cached = openpyxl.load_workbook(path, data_only=True)["自评表"]
    top, _ = header(ws)
    at = next(c for row in ws.iter_rows(max_row=top - 1) for c in row if c.value == label)
    below = ws.cell(at.row + 1, at.column)
    return below.value, cached[below.coordinate].value


@pytest.mark.skipif("anti-counterfeit-2021" not in builtin_ids(), reason="built-in rubric")
def test_a_unit_with_not_applicable_indicators_sees_its_grade_on_its_scaled_total(tmp_path):
    """In a campaign graded by 得分率 (auto, with 功能区 among the units), a 功能区's 等次 cell
    grades ROUND(总分 × 满分 ÷ 适用满分), as the engine grades it; a county's grades its 总分."""
    camp = init_campaign(tmp_path, "anti-counterfeit-2021", deadline="2022-05-27")
    res = generate_campaign(tmp_path, jobs=1)
    books = {w.unit_code: w.path for w in res.workbooks}
    zone = next(u for u in camp.units if u.type == "功能区")
    county = next(u for u in camp.units if u.type != "功能区")
    formula, cached = _summary_cell(books[zone.code], "等次（按折算得分）")
    blank = score_unit(camp.rubric, {}, unit_type=zone.type)
    assert f"*100/{blank.applicable_max.normalize():f}" in formula and formula.startswith("=IF(")
    assert "ROUND(" in formula and cached == camp.rubric.grade_for(blank.scaled)
    formula, cached = _summary_cell(books[county.code], "等次")
    assert formula.startswith("=IF(") and "ROUND(" not in formula and "/" not in formula


def test_validations_on_every_input(made):
    camp, res = made
    book = openpyxl.load_workbook(res.workbooks[0].path)
    ws = book["自评表"]
    _, cols = header(ws)
    by_cell = {f"{get_column_letter(c)}{r}": dv for dv in ws.data_validations.dataValidation
               for rng in dv.sqref.ranges for r, c in rng.cells}  # one rule may cover many cells
    expected = {"flag": "list", "choice": "list", "count": "whole", "amount": "decimal",
                "number": "decimal", "judged": "custom", "date": "date", "text": None}
    for fid, r in input_rows(ws).items():
        f = camp.rubric.field(fid)
        dv = by_cell[f"{cols['填报值']}{r}"]
        assert dv.type == expected[f.type], fid
        assert dv.errorStyle in (None, "stop") and dv.showErrorMessage  # None: the default, stop
        assert dv.promptTitle and dv.prompt
        if dv.type == "list":  # through a defined name on the hidden sheet, never inline
            assert dv.formula1 in book.defined_names and not dv.formula1.startswith('"')
            target = book.defined_names[dv.formula1].attr_text
            sheet, rng = target.split("!")
            values = [c.value for row in book[sheet.strip("'")][rng.replace("$", "")] for c in row]
            assert values == (["是", "否"] if f.type == "flag" else list(f.options))
        if f.type == "count":
            assert dv.operator == "greaterThanOrEqual" and dv.formula1 == "0"
        if f.type == "judged":
            assert "MOD(ROUND(" in dv.formula1 and f"<={int(f.max)}" in dv.formula1
        assert f"{cols['材料编号']}{r}" in by_cell
    ev = book["材料清单"]
    kinds = {dv.type: str(dv.sqref) for dv in ev.data_validations.dataValidation}
    assert kinds["list"] == "C5:C204" and kinds["date"] == "E5:E204" and kinds["whole"] == "F5:F204"
    indicators = book.defined_names["XW_INDICATORS"].attr_text
    assert len(list(book["选项"][indicators.split("!")[1].replace("$", "")])) == len(camp.rubric.indicators)


def test_protection_locking_and_input_style(made):
    camp, res = made
    for path in (res.workbooks[0].path, res.contact_forms[0].path):
        book = openpyxl.load_workbook(path)
        for ws in book.worksheets:
            assert ws.protection.sheet, ws.title
            assert ws.protection.password.upper() == hash_password(camp.password).upper()
            assert ws.protection.formatColumns is False and ws.protection.formatRows is False
            for row in ws.iter_rows():
                for c in row:
                    if c.protection.locked:
                        continue
                    assert c.value is None, (ws.title, c.coordinate)  # inputs start empty
                    assert c.fill.fgColor.rgb.endswith("FFF2CC") and c.border.left.style
    evidence = openpyxl.load_workbook(res.workbooks[0].path)["材料清单"]
    assert [evidence[f"A{r}"].value for r in (5, 204)] == [1, 200]
    assert evidence["A5"].protection.locked and not evidence["B204"].protection.locked


def test_print_setup(made):
    _, res = made
    book = openpyxl.load_workbook(res.workbooks[0].path)
    ws = book["自评表"]
    top, _ = header(ws)
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.paperSize == 9
    assert ws.print_title_rows == f"${top}:${top}" and ws.freeze_panes == f"A{top + 1}"
    assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToHeight == 0
    for name in VISIBLE:
        s = book[name]
        assert s.page_setup.paperSize == 9 and "&P" in s.oddFooter.center.text
        assert book.worksheets[1].oddHeader.center.text.startswith(made[0].units[0].name)


def test_identity_in_meta_sheet_and_properties(made):
    camp, res = made
    unit = camp.units[0]
    ident = read_identity(res.workbooks[0].path)
    assert ident.source == "sheet" and ident.kind == "self_assessment"
    assert (ident.campaign_id, ident.rubric_id, ident.rubric_hash, ident.unit_code, ident.unit_name) == (
        camp.id, camp.rubric.id, camp.rubric.content_hash, unit.code, unit.name)
    assert ident.rubric_version == str(camp.rubric.version)
    assert ident.generated_at == camp.created.isoformat() and len(ident.fingerprint) == 64
    book = openpyxl.load_workbook(res.workbooks[0].path)
    props = {p.name: p.value for p in book.custom_doc_props}
    assert {k: props[f"xw_{k}"] for k, _ in ident.items()} == dict(ident.items())
    assert read_identity(res.contact_forms[0].path).kind == "contact_form"


def test_fingerprint_detects_locked_changes_and_ignores_inputs(made, tmp_path):
    camp, res = made
    src = res.workbooks[0].path
    assert verify_fingerprint(src) and verify_fingerprint(res.contact_forms[0].path)
    book = openpyxl.load_workbook(src)
    ws = book["自评表"]
    _, cols = header(ws)
    rows = input_rows(ws)
    for fid, r in rows.items():  # filling every input keeps the fingerprint
        ws[f"{cols['填报值']}{r}"] = 1
        ws[f"{cols['说明']}{r}"] = "已填写"
    book.save(tmp_path / "filled.xlsx")
    assert verify_fingerprint(tmp_path / "filled.xlsx")
    first = next(iter(rows.values()))
    score = ws[f"{cols['自评得分']}{first}"]
    score.value = "=100" if str(score.value).startswith("=") else "100"  # tamper with a score
    book.save(tmp_path / "tampered.xlsx")
    assert not verify_fingerprint(tmp_path / "tampered.xlsx")
    del book[META_SHEET]  # identity then comes from the document properties
    book.save(tmp_path / "nometa.xlsx")
    ident = read_identity(tmp_path / "nometa.xlsx")
    assert ident.source == "properties" and ident.unit_code == camp.units[0].code


def test_not_applicable_and_pending_in_mini(tmp_path):
    init_campaign(tmp_path, MINI)
    res = generate_campaign(tmp_path, jobs=1)
    county, zone = (openpyxl.load_workbook(w.path)["自评表"] for w in res.workbooks)
    _, cols = header(zone)
    rows = input_rows(zone)
    s, v = cols["自评得分"], cols["填报值"]
    assert zone[f"{s}{rows['3.1']}"].value == "不适用" and zone[f"{v}{rows['3.1']}"].protection.locked
    assert county[f"{s}{rows['3.1']}"].value.startswith("=ROUND(")
    assert not county[f"{v}{rows['3.1']}"].protection.locked
    assert county[f"{s}{rows['2.1']}"].value == "待市级核定"


@pytest.mark.parametrize("raw,normal", [
    ("=ROUND( $A$1 * 2.0 ,2)", "ROUND(A1*2,2)"),
    ('=IF(a1="a  b",0.50,1)', 'IF(A1="a  b",0.5,1)'),
    ("=_xlfn.STDEV.S(A1:A3)+_xlws.SORT(B1)", "STDEV.S(A1:A3)+SORT(B1)"),
    ("=sum(a1, 1E-3, .5)", "SUM(A1,0.001,0.5)"),
    ("='自评表'!$F$10+(-0.20)", "'自评表'!F10+(-0.2)"),
    ('=IF(E9="是 ",2,0)', 'IF(E9="是 ",2,0)'),
])
def test_formula_normalisation(raw, normal):
    assert normalise_formula(raw) == normal


def _contents(path) -> list:
    book = openpyxl.load_workbook(path)
    return [(ws.title, c.coordinate, c.value, c.protection.locked) for ws in book.worksheets
            for row in ws.iter_rows() for c in row if c.value is not None]


def test_deterministic_across_runs_and_job_counts(tmp_path):
    init_campaign(tmp_path, "ip-protection-2021" if "ip-protection-2021" in RUBRICS else MINI)
    one = generate_campaign(tmp_path, jobs=1)
    first = {w.path: (_contents(w.path), hashlib.sha256(Path(w.path).read_bytes()).hexdigest())
             for w in one.workbooks[:3] + one.contact_forms[:1]}
    generate_campaign(tmp_path, jobs=2)
    for path, (contents, digest) in first.items():
        assert _contents(path) == contents
        assert hashlib.sha256(Path(path).read_bytes()).hexdigest() == digest


def test_generate_json_contract_and_stale_files(tmp_path):
    init_campaign(tmp_path, MINI)
    (tmp_path / "generate").mkdir()
    (tmp_path / "generate" / "9-旧单位-自评表.xlsx").write_bytes(b"old")
    res = CliRunner().invoke(main, ["generate", str(tmp_path), "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert [w["unit_code"] for w in doc["workbooks"]] == ["1", "2"]
    assert doc["workbooks"][0] == {"unit_code": "1", "unit_name": "甲县",
                                   "path": str((tmp_path / "generate" / "1-甲县-自评表.xlsx").resolve())}
    assert doc["contact_forms"][1]["path"].endswith("2-乙区-联系人信息表.xlsx")
    assert [w["code"] for w in doc["warnings"]] == ["G003", "G002"]  # mini names no office
    assert "9-旧单位-自评表.xlsx" in res.stderr


def test_a_failing_unit_is_reported_and_the_others_are_written(tmp_path):
    init_campaign(tmp_path, MINI)
    (tmp_path / "generate" / "1-甲县-自评表.xlsx").mkdir(parents=True)  # cannot be replaced
    res = generate_campaign(tmp_path, jobs=1)
    assert [e.code for e in res.errors] == ["G001"] and "1 甲县" in res.errors[0].message
    assert [w.unit_code for w in res.workbooks] == ["2"]
    assert [w.unit_code for w in res.contact_forms] == ["1", "2"]
    cli = CliRunner().invoke(main, ["generate", str(tmp_path)])
    assert cli.exit_code == 1 and "G001" in cli.output


def test_refused_xlsxwriter_calls_raise(tmp_path):
    wb = xlsxwriter.Workbook(str(tmp_path / "x.xlsx"))
    sheet = Sheet(wb.add_worksheet("表"), Styles(wb), [])
    with pytest.raises(WriteError):
        sheet.text(2_000_000, 0, "超出行数", "cell")
    with pytest.warns(UserWarning), pytest.raises(WriteError):  # an inline list > 255 chars
        sheet.validate(0, 0, 0, 0, {"validate": "list", "source": ["x" * 300]})
    with pytest.warns(UserWarning), pytest.raises(WriteError):
        sheet.validate(0, 0, 0, 0, {"validate": "integer", "criteria": ">=", "value": 0,
                                    "input_title": "标题" * 20})
    sheet.text(0, 0, "=1+1", "cell")  # text that looks like a formula stays text
    assert sheet.records == [("表", 0, 0, "s:=1+1")]
    wb.close()
    assert openpyxl.load_workbook(tmp_path / "x.xlsx")["表"]["A1"].data_type == "s"


# Functions of Excel 2007 that the compiler and the validations may use; anything newer (IFS,
# XLOOKUP, TEXTJOIN, dynamic arrays …) would need the `_xlfn.` prefix and break older clients.
EXCEL_2007 = {"IF", "AND", "OR", "NOT", "MIN", "MAX", "SUM", "ROUND", "ROUNDUP", "ROUNDDOWN",
              "INT", "ABS", "N", "ISNUMBER", "ISBLANK", "ISTEXT", "MOD", "LEN", "TRIM", "COUNTIF",
              "SUMPRODUCT", "DATE", "VALUE"}


def test_only_excel_2007_functions_in_formulas_and_validations(made):
    _, res = made
    seen = set()
    for w in res.workbooks + res.contact_forms:
        book = openpyxl.load_workbook(w.path)
        texts = [c.value for ws in book.worksheets for row in ws.iter_rows() for c in row
                 if isinstance(c.value, str) and c.value.startswith("=")]
        texts += [x for ws in book.worksheets for dv in ws.data_validations.dataValidation
                  for x in (dv.formula1, dv.formula2) if x]
        for text in texts:
            assert "_xl" not in text.lower(), text
            seen |= set(re.findall(r"([A-Z_][A-Z0-9._]*)\(", text))
    assert seen and seen <= EXCEL_2007, seen - EXCEL_2007
