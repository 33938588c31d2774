"""Sniffing received files before any XML parser runs: one exact code per kind of bad file."""
import os
import subprocess
import sys
from pathlib import Path

import defusedxml
import openpyxl
import pytest
import xlsxwriter

from badfiles import BAD_FILES, billion_laughs, good_xlsx_bytes, macro_content_type, \
    external_link, write, write_bad
from xlsx_workflow.ingest import assert_safe_xml, sniff
from xlsx_workflow.ingest.sniff import MAX_FILE_BYTES
from xlsx_workflow.office import convert

CORPUS = [  # kind (tests/badfiles.py)    expected code
    ("empty",                             "F014"),
    ("pdf-renamed",                       "F001"),
    ("png-renamed",                       "F001"),
    ("docx-renamed",                      "F001"),
    ("doc-renamed",                       "F001"),
    ("random-bytes",                      "F001"),
    ("plain-text",                        "F001"),
    ("zip-of-returns-renamed",            "F001"),
    ("xls",                               "F002"),
    ("xls-renamed",                       "F002"),
    ("html-xls",                          "F002"),
    ("wps-et",                            "F003"),
    ("ods",                               "F004"),
    ("csv",                               "F005"),
    ("csv-renamed",                       "F005"),
    ("xlsm-content-type",                 "F006"),
    ("vba-project",                       "F006"),
    ("encrypted",                         "F007"),
    ("truncated",                         "F008"),
    ("crc-mismatch",                      "F008"),
    ("broken-central-directory",          "F008"),
    ("no-content-types",                  "F009"),
    ("no-workbook-part",                  "F009"),
    ("oversize",                          "F010"),
    ("bomb-ratio",                        "F011"),
    ("bomb-declared",                     "F011"),
    ("billion-laughs",                    "F012"),
    ("utf16-doctype",                     "F012"),
    ("doctype-across-chunks",             "F012"),
    ("external-link",                     "F013"),
    # the fuzzer's classes (badfiles.HOSTILE_PACKAGES), wrongly accepted before issue 10
    ("part-cut-short",                    "F031"),
    ("sheet-cut-short",                   "F031"),
    ("invalid-utf8",                      "F032"),
    ("utf32-doctype",                     "F033"),
    ("doctype-odd-name",                  "F012"),
    ("xlm-macro-sheet",                   "F034"),
    ("renamed-vba-project",               "F006"),
    ("moved-workbook-link",               "F013"),
]


def test_corpus_table_covers_every_bad_file_kind():
    assert sorted(k for k, _ in CORPUS) == sorted(BAD_FILES)


@pytest.mark.parametrize("kind,code", CORPUS)
def test_bad_file_gets_its_code(tmp_path, kind, code):
    issues = sniff(write_bad(tmp_path, kind))
    assert [i.code for i in issues] == [code]
    assert all(i.severity == "错误" for i in issues)


def test_good_workbooks_pass(tmp_path):
    assert sniff(write(tmp_path, "浉河区.xlsx", good_xlsx_bytes())) == []
    book = xlsxwriter.Workbook(str(tmp_path / "xw.xlsx"))
    book.add_worksheet("自评表").write_row(0, 0, ["编号", "填报值", "材料编号"])
    book.close()
    assert sniff(tmp_path / "xw.xlsx") == []


def test_messages_say_what_to_do(tmp_path):
    by_kind = {k: sniff(write_bad(tmp_path, k))[0].message for k in
               ("xls", "encrypted", "external-link", "oversize", "pdf-renamed")}
    assert "另存为" in by_kind["xls"] and ".xlsx" in by_kind["xls"]
    assert "去掉密码" in by_kind["encrypted"]
    assert "台账.xlsx" in by_kind["external-link"] and "断开链接" in by_kind["external-link"]
    assert "21.0 MB" in by_kind["oversize"] and "20.0 MB" in by_kind["oversize"]
    assert "PDF" in by_kind["pdf-renamed"]


def test_size_is_checked_before_content(tmp_path):
    """Anything over the limit is refused on its size alone, whatever its bytes are."""
    path = tmp_path / "big.xlsx"
    with path.open("wb") as f:
        f.truncate(MAX_FILE_BYTES + 1)
    assert [i.code for i in sniff(path)] == ["F010"]
    path.write_bytes(b"\0" * 100)  # the same name, small: now judged by content
    assert [i.code for i in sniff(path)] == ["F001"]


def test_macros_and_external_links_are_both_reported(tmp_path):
    data = macro_content_type(external_link(good_xlsx_bytes()))
    assert [i.code for i in sniff(write(tmp_path, "a.xlsm", data))] == ["F006", "F013"]


def test_openpyxl_refuses_the_entity_bomb_too(tmp_path):
    """Second layer: should a DTD ever get past sniff, defusedxml inside openpyxl stops it."""
    path = write(tmp_path, "bomb.xlsx", billion_laughs(good_xlsx_bytes()))
    with pytest.raises(ValueError) as caught:  # openpyxl wraps the parser's exception
        openpyxl.load_workbook(path)
    assert isinstance(caught.value.__cause__ or caught.value.__context__,
                      defusedxml.EntitiesForbidden)


def test_assert_safe_xml_passes_here_and_fails_without_defusedxml():
    assert_safe_xml()
    env = {**os.environ, "OPENPYXL_DEFUSEDXML": "False"}
    code = ("from xlsx_workflow.ingest import assert_safe_xml\n"
            "from xlsx_workflow.messages import WorkflowError\n"
            "try:\n    assert_safe_xml()\nexcept WorkflowError as e:\n"
            "    print(e.issues[0].code)\n")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert out.stdout.strip() == "F030", out.stderr


@pytest.fixture(scope="module")
def libreoffice_saves(tmp_path_factory, soffice):
    """The good return saved by real LibreOffice as .xlsx (a re-save), .xls and .ods."""
    root = tmp_path_factory.mktemp("lo")
    src = write(root, "浉河区.xlsx", good_xlsx_bytes())
    profile = root / "profile"
    return {"resaved.xlsx": convert(src, "xlsx:Calc MS Excel 2007 XML", root / "x", profile),
            "xls": convert(src, "xls", root / "xls", profile),
            "ods": convert(src, "ods", root / "ods", profile)}


@pytest.mark.libreoffice
def test_real_libreoffice_files(libreoffice_saves):
    assert sniff(libreoffice_saves["resaved.xlsx"]) == []
    assert [i.code for i in sniff(libreoffice_saves["xls"])] == ["F002"]
    assert [i.code for i in sniff(libreoffice_saves["ods"])] == ["F004"]
    et = libreoffice_saves["xls"].with_suffix(".et")  # WPS's .et is the same compound file
    et.write_bytes(libreoffice_saves["xls"].read_bytes())
    assert [i.code for i in sniff(et)] == ["F003"]


def test_good_file_reads_after_sniff(tmp_path):
    """Control for the corpus: the base every mutation starts from opens fine."""
    path = write(tmp_path, "浉河区.xlsx", good_xlsx_bytes())
    assert sniff(path) == []
    assert openpyxl.load_workbook(path)["自评表"]["C3"].value == 3
    assert Path(path).stat().st_size < 20_000
