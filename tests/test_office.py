"""LibreOffice conversions against real files: PDF export, forced recalculation, clear failures."""
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter

from xlsx_workflow.messages import WorkflowError
from xlsx_workflow.office import convert, force_recalc_on_load, recalculate


def _stale_workbook(path: Path) -> Path:
    """A1=2, A2=3; A3 = A1*A2+1 (is 7) cached as 99; B1 = A3*10 (is 70) cached as 0."""
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("表")
    ws.write("A1", 2)
    ws.write("A2", 3)
    ws.write_formula("A3", "=A1*A2+1", None, 99)
    ws.write_formula("B1", "=A3*10", None, 0)
    wb.close()
    return path


def _values(path: Path) -> dict:
    ws = openpyxl.load_workbook(path, data_only=True)["表"]
    return {"A3": ws["A3"].value, "B1": ws["B1"].value}


@pytest.mark.libreoffice
def test_recalculate_replaces_wrong_cached_values(soffice, tmp_path):
    src = _stale_workbook(tmp_path / "stale.xlsx")
    assert _values(src) == {"A3": 99, "B1": 0}
    out = recalculate(src, tmp_path / "out", tmp_path / "profile")
    assert out == tmp_path / "out" / "stale.xlsx"
    assert _values(out) == {"A3": 7, "B1": 70}
    assert openpyxl.load_workbook(out)["表"]["A3"].value == "=A1*A2+1"


@pytest.mark.libreoffice
def test_recalculate_fills_missing_cached_values(soffice, tmp_path):
    """openpyxl writes formulas without any cached value."""
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "表"
    ws["A1"], ws["A2"], ws["A3"], ws["B1"] = 2, 3, "=A1*A2+1", "=ROUND(A3/3,2)"
    book.save(tmp_path / "bare.xlsx")
    assert _values(tmp_path / "bare.xlsx") == {"A3": None, "B1": None}
    out = recalculate(tmp_path / "bare.xlsx", tmp_path / "out")
    assert _values(out) == {"A3": 7, "B1": 2.33}


@pytest.mark.libreoffice
def test_plain_conversion_keeps_the_stale_value(soffice, tmp_path):
    """Control: without the forced recalculation LibreOffice trusts the cached 99, which is why
    `recalculate` exists (and why the test above can fail)."""
    src = _stale_workbook(tmp_path / "stale.xlsx")
    out = convert(src, "xlsx:Calc MS Excel 2007 XML", tmp_path / "plain", tmp_path / "profile")
    assert _values(out) == {"A3": 99, "B1": 0}


@pytest.mark.libreoffice
def test_convert_to_pdf(soffice, tmp_path):
    src = _stale_workbook(tmp_path / "stale.xlsx")
    pdf = convert(src, "pdf", tmp_path / "pdf")
    assert pdf.read_bytes()[:5] == b"%PDF-"


def test_force_recalc_on_load_keeps_other_settings_and_is_idempotent(tmp_path):
    xcu = tmp_path / "user" / "registrymodifications.xcu"
    xcu.parent.mkdir(parents=True)
    xcu.write_text('<?xml version="1.0" encoding="UTF-8"?>\n<oor:items xmlns:oor="x">\n'
                   '<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name='
                   '"OOXMLRecalcMode" oor:op="fuse"><value>1</value></prop></item>\n'
                   '<item oor:path="/other"><prop oor:name="Kept"><value>5</value></prop></item>\n'
                   '</oor:items>\n', encoding="utf-8")
    force_recalc_on_load(tmp_path)
    once = xcu.read_text(encoding="utf-8")
    force_recalc_on_load(tmp_path)
    assert xcu.read_text(encoding="utf-8") == once
    assert "<value>1</value>" not in once and 'oor:name="Kept"' in once
    assert once.count("<value>0</value>") == 2 and once.rstrip().endswith("</oor:items>")


@pytest.mark.libreoffice
def test_missing_output_is_a_clear_error(soffice, tmp_path):
    src = _stale_workbook(tmp_path / "stale.xlsx")
    with pytest.raises(WorkflowError) as e:
        convert(src, "nosuchformat", tmp_path / "out", tmp_path / "profile")
    assert e.value.issues[0].code == "O002" and "stale.xlsx" in e.value.issues[0].message


@pytest.mark.libreoffice
def test_refuses_to_overwrite_the_source(soffice, tmp_path):
    src = _stale_workbook(tmp_path / "stale.xlsx")
    with pytest.raises(WorkflowError) as e:
        convert(src, "xlsx", tmp_path)
    assert e.value.issues[0].code == "O002"
    assert _values(src)["A3"] == 99


@pytest.mark.libreoffice
def test_timeout_stops_libreoffice(soffice, tmp_path):
    src = _stale_workbook(tmp_path / "stale.xlsx")
    with pytest.raises(WorkflowError) as e:
        convert(src, "pdf", tmp_path / "out", tmp_path / "profile", timeout=0.05)
    assert e.value.issues[0].code == "O003"
    assert not (tmp_path / "out" / "stale.pdf").exists()


def test_missing_libreoffice(tmp_path, monkeypatch):
    monkeypatch.setenv("PATH", str(tmp_path))  # an empty directory: no soffice on the PATH
    with pytest.raises(WorkflowError) as e:
        convert(tmp_path / "x.xlsx", "pdf", tmp_path)
    assert e.value.issues[0].code == "O001"
