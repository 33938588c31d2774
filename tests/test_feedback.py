"""Feedback to a unit: the 问题清单 workbook and the marked copy of its own workbook."""
from __future__ import annotations

import re

import openpyxl
import pytest

from test_import import ON_TIME, camp, fill, input_cells, made, valid_values  # noqa: F401
from xlsx_workflow.feedback import (ERROR_FILL, WARNING_FILL, locate, problems, split_message)
from xlsx_workflow.importer import import_paths
from xlsx_workflow.integrity import META_SHEET, verify_fingerprint
from xlsx_workflow.issue_lines import summarise
from xlsx_workflow.messages import Issue, issue

NASTY = '=HYPERLINK("http://evil.example","点我")'  # typed by a unit into a count cell


@pytest.mark.parametrize("where, expected", [
    ("自评表!E12", ("自评表", "E12")),
    ("'材料清单'!$D$7", ("材料清单", "D7")),
    ("自评表", ("自评表", "")),
    ("收件/浉河区.xlsx", ("", "")),
    ("", ("", "")),
])
def test_locate(where, expected):
    assert locate(Issue("X", "错误", "m", where)) == expected


@pytest.mark.parametrize("text, expected", [
    ("「自评表!E9」应填整数，现在是「3次」。请只填阿拉伯数字，如 3。",
     ("「自评表!E9」应填整数，现在是「3次」。", "请只填阿拉伯数字，如 3。")),
    ("未填写，按0计分。如有相关工作请补填。", ("未填写，按0计分。", "如有相关工作请补填。")),
    ("没有办法的事。", ("没有办法的事。", "")),
])
def test_split_message(text, expected):
    assert split_message(text) == expected


def test_problems_errors_first_without_receipt_notes():
    found = [issue("V010", "自评表!E9", cell="自评表!E9", label="", scored="0"),
             issue("L004", "a.xlsx", at="2022-05-28", deadline="2022-05-27"),
             issue("V001", "自评表!E10", cell="自评表!E10", label="", value="3次"),
             issue("V012", "自评表!E11", cell="自评表!E11", field="1.1", value="是")]
    assert [i.code for i in problems(found)] == ["V001", "V010"]


@pytest.fixture
def imported(camp, tmp_path):  # noqa: F811
    c, wbs, _ = camp
    unit = c.units[0]
    values = valid_values(c, 3)
    values["1.3"] = None  # a blank: 警告 V010
    src = fill(wbs[unit.code], tmp_path / "inbox" / "浉河区.xlsx", values, raw={"1.2": NASTY})
    (tmp_path / "inbox" / "坏.xlsx").write_bytes(b"PK\x03\x04" + b"\x00" * 50)
    res = import_paths(c.root, [tmp_path / "inbox"], jobs=2, now=ON_TIME)
    return c, unit, src, res


def test_issue_list_is_complete_printable_and_all_text(imported):
    c, unit, src, res = imported
    ret = next(r for r in res.returns if r.unit_code == unit.code)
    assert ret.status == "rejected"
    list_path = c.layout.feedback_dir / f"{unit.code}-{unit.name}-问题清单.xlsx"
    assert str(list_path) in ret.feedback and str(list_path) in res.feedback_files
    ws = openpyxl.load_workbook(list_path)["问题清单"]
    assert [c.value for c in ws[4]] == ["序号", "严重程度", "工作表", "单元格", "问题", "如何修改"]
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=5)]
    found = summarise(problems(ret.issues))  # errors each, warnings one line per kind
    assert len(rows) == len(found) and [r[1] for r in rows] == [i.severity for i in found]
    cells, _ = input_cells(openpyxl.load_workbook(src)["自评表"])
    v001 = next(r for r in rows if "应填整数" in r[4])
    assert not re.search(r"[（(][A-Z]\d{3}[）)]", "".join(str(r[4]) for r in rows))  # no codes
    assert v001[1:4] == ["错误", "自评表", cells["1.2"]] and NASTY in v001[4]
    assert v001[5].startswith("请")
    assert any(r[3] == cells["1.3"] and r[1] == "警告" for r in rows)  # the blank
    assert not [x for r in ws.iter_rows() for x in r if x.data_type == "f"]  # never a formula
    assert unit.name in ws["A1"].value and "退回" in ws["A2"].value
    assert ws.page_setup.orientation == "landscape" and ws.page_setup.paperSize == 9  # A4
    assert ws.sheet_properties.pageSetUpPr.fitToPage and ws.page_setup.fitToHeight == 0
    assert ws.print_title_rows == "$4:$4" and ws.freeze_panes == "A5"


def test_marked_copy_marks_cells_and_keeps_their_data(imported):
    c, unit, src, res = imported
    marked = c.layout.feedback_dir / f"{unit.code}-{unit.name}-标注.xlsx"
    ret = next(r for r in res.returns if r.unit_code == unit.code)
    assert str(marked) in ret.feedback
    orig, book = openpyxl.load_workbook(src), openpyxl.load_workbook(marked)
    assert book.sheetnames == orig.sheetnames
    assert book[META_SHEET].sheet_state == orig[META_SHEET].sheet_state == "veryHidden"
    for ws in orig.worksheets:  # every value and formula as they sent it
        assert [[x.value for x in r] for r in ws.iter_rows()] == \
            [[x.value for x in r] for r in book[ws.title].iter_rows()]
    assert verify_fingerprint(marked)
    cells, _ = input_cells(orig["自评表"])
    bad, blank = book["自评表"][cells["1.2"]], book["自评表"][cells["1.3"]]
    assert bad.fill.fgColor.rgb == ERROR_FILL and "V001" not in bad.comment.text
    assert "【错误】" in bad.comment.text and NASTY in bad.comment.text
    assert blank.fill.fgColor.rgb == WARNING_FILL and "【警告】" in blank.comment.text
    untouched = book["自评表"][cells["1.1"]]
    assert untouched.comment is None and untouched.fill.fgColor.rgb != ERROR_FILL
    assert book.active.title == "自评表"


def test_a_file_that_cannot_be_opened_gets_a_list_only(imported):
    c, _, _, res = imported
    bad = next(r for r in res.returns if r.name.endswith("坏.xlsx"))
    assert bad.status == "rejected" and bad.unit_code is None
    assert [p.rsplit("/", 1)[-1] for p in bad.feedback] == ["未识别-坏-问题清单.xlsx"]
    ws = openpyxl.load_workbook(bad.feedback[0])["问题清单"]
    assert ws["C5"].value == "（整个文件）" and ws["B5"].value == "错误"


def test_a_new_version_clears_the_old_feedback(imported, tmp_path):
    from returns_corpus import make_valid
    c, unit, _, _ = imported
    old = sorted(p.name for p in c.layout.feedback_dir.glob(f"{unit.code}-*"))
    assert old == [f"{unit.code}-{unit.name}-标注.xlsx", f"{unit.code}-{unit.name}-问题清单.xlsx"]
    src = c.layout.workbook_path(unit.code, unit.name)
    fixed = make_valid(src, tmp_path / "fixed" / "浉河区（改）.xlsx", c, seed=4)
    res = import_paths(c.root, [fixed], jobs=1, now=ON_TIME)
    assert res.returns[0].status == "accepted" and res.feedback_files == []
    assert list(c.layout.feedback_dir.glob(f"{unit.code}-*")) == []


def test_whole_file_problems_get_no_marked_copy(camp, tmp_path):  # noqa: F811
    from returns_corpus import CORPUS
    c, wbs, _ = camp
    path = CORPUS["unknown_unit"][0](wbs[c.units[0].code], tmp_path / "in" / "x.xlsx", c)
    [ret] = import_paths(c.root, [path], jobs=1, now=ON_TIME).returns
    assert "I004" in {i.code for i in ret.issues}
    assert [p.rsplit("/", 1)[-1] for p in ret.feedback] == ["未识别-x-问题清单.xlsx"]
    ws = openpyxl.load_workbook(ret.feedback[0])["问题清单"]
    assert "标注" not in ws["A3"].value


def test_earlier_feedback_is_indexed_by_stem_once_per_folder(tmp_path):
    from xlsx_workflow.feedback import _earlier_feedback
    names = ["411502-浉河区-问题清单.xlsx", "411502-浉河区-2-标注.xlsx",
             "411502-浉河区东-问题清单.xlsx", "411503-平桥区-联系人表-问题清单.xlsx",
             "说明.xlsx", "411504-罗山县-问题清单.xlsx.tmp"]
    for name in names:
        (tmp_path / name).write_bytes(b"")
    found = {stem: [p.name for p in paths] for stem, paths in _earlier_feedback(tmp_path).items()}
    assert found == {  # a numbered name (-2) counts for its unit's stem and for itself
        "411502-浉河区": ["411502-浉河区-2-标注.xlsx", "411502-浉河区-问题清单.xlsx"],
        "411502-浉河区-2": ["411502-浉河区-2-标注.xlsx"],
        "411502-浉河区东": ["411502-浉河区东-问题清单.xlsx"],
        "411503-平桥区-联系人表": ["411503-平桥区-联系人表-问题清单.xlsx"]}
    assert _earlier_feedback(tmp_path / "none") == {}
