"""Checks of received returns over the corpus of bad returns (tests/returns_corpus.py): every kind
gives its message code, through `read_return` + `check_return`, with a cell address in it."""
import re
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from returns_corpus import (CONTACT_FORM_ONLY, CONTACT_KINDS, CORPUS, EVIDENCE_FILE_KINDS,
                            KindNotApplicable, Patch, add_evidence_row, evidence_dir, field_cell,
                            make_valid, valid_inputs)
from xlsx_workflow.campaign import init_campaign
from xlsx_workflow.checks import (IDENTITY_FLAG_CODES, check_contacts, check_return, clean_value,
                                  parse_numbers, unit_for)
from xlsx_workflow.engine import score_unit
from xlsx_workflow.generate import generate_campaign
from xlsx_workflow.messages import ERROR, WARNING
from xlsx_workflow.returns import ReturnData, read_return
from xlsx_workflow.rubric.model import Field

MINI = str(Path(__file__).parent / "data" / "mini.yaml")

# kind → the code it must produce (spelled out here so the message-catalogue test sees each code)
EXPECTED = {
    "text_in_count": "V001", "fraction_in_count": "V001", "text_in_amount": "V002",
    "negative_count": "V003", "judged_above_max": "V004", "bad_flag": "V005", "bad_option": "V005",
    "judged_not_step": "V006", "evidence_date_out_of_window": "V008", "huge_count": "V009",
    "blank_field": "V010", "evidence_number_missing": "E001", "evidence_not_in_list": "E002",
    "numbering_gap": "E003", "duplicate_number": "E004", "listed_file_missing": "E005",
    "unlisted_file": "E006", "evidence_number_unreadable": "E007", "deduction_without_row": "E008",
    "deduction_row_incomplete": "E009", "locked_cell_edited": "T001", "protection_removed": "T002",
    "row_inserted": "T003", "row_deleted": "V011", "cached_total_differs": "T004",
    "other_campaign": "I001", "outdated_rubric": "I003", "unknown_unit": "I004",
    "unit_mismatch": "I005", "meta_removed": "I006", "meta_removed_unknown": "I007",
    "sheet_renamed": "I008",
    "contact_mobile_bad": "K001", "contact_phone_no_area": "K002", "contact_fax_bad": "K003",
    "contact_email_bad": "K004", "contact_name_missing": "K005", "contact_title_missing": "K006",
    "contact_no_phone": "K008",
}


def _campaign(factory, rubric):
    root = factory.mktemp("camp")
    camp = init_campaign(root, rubric, deadline="2022-05-27")
    res = generate_campaign(root, jobs=1)
    return camp, Path(res.workbooks[0].path), Path(res.contact_forms[0].path), res


@pytest.fixture(scope="module")
def ip(tmp_path_factory):
    return _campaign(tmp_path_factory, "ip-protection-2021")


@pytest.fixture(scope="module")
def mini(tmp_path_factory):
    return _campaign(tmp_path_factory, MINI)


def run(path: Path, camp, evidence_files=None, engine_total=None):
    data = read_return(path, camp.rubric)
    unit = unit_for(data, camp)
    if evidence_files is None and evidence_dir(path).is_dir():
        evidence_files = sorted(p.name for p in evidence_dir(path).iterdir())
    cleaned, issues = check_return(data, camp, unit.type if unit else "", evidence_files, engine_total)
    return data, cleaned, issues


def test_registry_matches_the_expected_codes():
    assert {k: code for k, (_, code) in CORPUS.items()} == EXPECTED
    assert len(CORPUS) >= 25
    assert CONTACT_FORM_ONLY["contact_empty"][1] == "K007"


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_each_bad_return_gives_its_code(ip, tmp_path, kind):
    camp, workbook, _, _ = ip
    build, code = CORPUS[kind]
    dst = build(workbook, tmp_path / f"{kind}.xlsx", camp)
    _, _, issues = run(dst, camp)
    codes = [i.code for i in issues]
    assert code in codes, [str(i) for i in issues]
    # one thing broken → only that one problem (rows deleted also shows as moved rows)
    allowed = {code, "T003"} if kind == "row_deleted" else {code}
    assert set(codes) <= allowed, [str(i) for i in issues]
    hit = next(i for i in issues if i.code == code)
    if code[0] in "VE" and code not in ("V011", "E006"):
        assert re.fullmatch(r"[^!]+![A-Z]+\d+", hit.where), hit
        assert f"「{hit.where}」" in hit.message
    if code[0] == "K":
        assert hit.where.startswith("联系人!") and f"「{hit.where}」" in hit.message


def test_a_valid_fill_has_no_issues_and_scores_its_inputs(ip, tmp_path):
    camp, workbook, _, _ = ip
    dst = make_valid(workbook, tmp_path / "valid.xlsx", camp, seed=3)
    data, cleaned, issues = run(dst, camp)
    assert issues == []
    unit = unit_for(data, camp)
    inputs = valid_inputs(camp, unit.type, seed=3)
    assert score_unit(camp.rubric, cleaned, unit_type=unit.type).total == \
        score_unit(camp.rubric, inputs, unit_type=unit.type).total
    assert cleaned == {k: v for k, v in inputs.items()}


@pytest.mark.parametrize("kind", sorted(CONTACT_KINDS))
def test_contact_kinds_on_the_contact_form(ip, tmp_path, kind):
    camp, _, form, _ = ip
    build, code = CORPUS[kind]
    _, _, issues = run(build(form, tmp_path / f"{kind}.xlsx", camp), camp)
    assert [i.code for i in issues] == [code]


def test_contact_form_valid_and_empty(ip, tmp_path):
    camp, _, form, _ = ip
    data, cleaned, issues = run(make_valid(form, tmp_path / "ok.xlsx", camp), camp)
    assert data.kind == "contact_form" and cleaned == {} and issues == []
    build, code = CONTACT_FORM_ONLY["contact_empty"]
    _, _, issues = run(build(form, tmp_path / "empty.xlsx", camp), camp)
    assert [i.code for i in issues] == ["K007"]


def test_other_rubric_in_identity_is_rejected(ip, tmp_path):
    camp, workbook, _, _ = ip
    p = Patch(make_valid(workbook, tmp_path / "v.xlsx", camp))
    p.set_identity(rubric_id="anti-counterfeit-2021")
    _, _, issues = run(p.save(tmp_path / "other.xlsx"), camp)
    assert [i.code for i in issues] == ["I002"]
    assert issues[0].severity == ERROR


def test_identity_flags_are_warnings():
    from xlsx_workflow.messages import CATALOGUE
    assert IDENTITY_FLAG_CODES == {"I005", "I006"}
    assert all(CATALOGUE[c][0] == WARNING and "需人工确认" in CATALOGUE[c][1] for c in IDENTITY_FLAG_CODES)


def test_engine_total_given_by_the_caller(ip, tmp_path):
    camp, workbook, _, _ = ip
    dst = make_valid(workbook, tmp_path / "v.xlsx", camp)
    data, cleaned, _ = run(dst, camp)
    _, _, issues = run(dst, camp, engine_total=Decimal(data.cached_total) + Decimal("0.5"))
    assert [i.code for i in issues] == ["T004"]
    assert str(data.total_cell) in issues[0].message


def test_evidence_date_not_a_date(ip, tmp_path):
    camp, workbook, _, _ = ip
    p = Patch(make_valid(workbook, tmp_path / "v.xlsx", camp))
    add_evidence_row(p, 1, "会议纪要", "1 纳入党委和政府重要议事日程情况", "1-材料.pdf", "上个月", 2)
    _, _, issues = run(p.save(tmp_path / "d.xlsx"), camp)
    assert [(i.code, i.where) for i in issues] == [("V007", "材料清单!E5")]


def test_not_applicable_indicator_is_ignored(mini, tmp_path):
    """乙区 is a 功能区: indicator 3 does not apply; a value forced into it is ignored (V012)."""
    camp, _, _, res = mini
    src = next(Path(w.path) for w in res.workbooks if w.unit_code == "2")
    p = Patch(make_valid(src, tmp_path / "v.xlsx", camp))
    p.set_cell("自评表", field_cell(camp, "3.1"), 30)
    data, cleaned, issues = run(p.save(tmp_path / "na.xlsx"), camp)
    assert "3.1" not in cleaned
    assert [i.code for i in issues if i.code != "T001"] == ["V012"]


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_corpus_on_the_mini_rubric(mini, tmp_path, kind):
    camp, workbook, _, _ = mini
    build, code = CORPUS[kind]
    try:
        dst = build(workbook, tmp_path / f"{kind}.xlsx", camp)
    except KindNotApplicable:
        pytest.skip("nothing of this kind in the mini rubric")
    assert code in [i.code for i in run(dst, camp)[2]]


# --- single values, table-driven ------------------------------------------------------------

COUNT = Field("1.2", "会议次数", "count", min=Decimal(0), max=Decimal(50))
JUDGED = Field("14.1", "自评分", "judged", max=Decimal(8), step=Decimal("0.5"))
AMOUNT = Field("9.1.1", "资金", "amount", min=Decimal(0))
FLAG = Field("1.1", "已开会", "flag")
CHOICE = Field("2.3", "印发", "choice", options=("甲", "乙"))
DATE = Field("x.1", "会议日期", "date")


@pytest.mark.parametrize("field,raw,value,codes", [
    (COUNT, 3, 3, []),
    (COUNT, 3.0, 3, []),                 # LibreOffice re-save: whole numbers come back as float
    (COUNT, "3", 3, []),                 # pasted as text
    (COUNT, "３", 3, []),                # full-width digit
    (COUNT, "3次", None, ["V001"]),
    (COUNT, 2.5, None, ["V001"]),
    (COUNT, -1, None, ["V003"]),
    (COUNT, 51, 51, ["V009"]),
    (JUDGED, 7.5, Decimal("7.5"), []),
    (JUDGED, "7.5", Decimal("7.5"), []),
    (JUDGED, 2.3, None, ["V006"]),
    (JUDGED, 8.5, None, ["V004"]),
    (JUDGED, -0.5, None, ["V003"]),
    (AMOUNT, 12.34, Decimal("12.34"), []),
    (AMOUNT, "1,200", Decimal("1200"), []),
    (AMOUNT, "12万元", None, ["V002"]),
    (FLAG, "是", "是", []),
    (FLAG, " 否 ", "否", []),
    (FLAG, True, "是", []),
    (FLAG, "Y", None, ["V005"]),
    (CHOICE, "乙", "乙", []),
    (CHOICE, "丙", None, ["V005"]),
    (DATE, datetime(2021, 3, 1), date(2021, 3, 1), []),
    (DATE, "2021年3月1日", date(2021, 3, 1), []),
    (DATE, "2021/13/1", None, ["V007"]),
])
def test_clean_value(field, raw, value, codes):
    got, issues = clean_value(field, raw, "自评表!E10")
    assert got == value and type(got) is type(value)
    assert [i.code for i in issues] == codes
    assert all("「自评表!E10」" in i.message and i.where == "自评表!E10" for i in issues)


def test_date_window():
    got, issues = clean_value(DATE, date(2019, 10, 31), "自评表!E3", (date(2019, 11, 1), None))
    assert got is None and [i.code for i in issues] == ["V008"] and "2019-11-01起" in issues[0].message


@pytest.mark.parametrize("text,numbers", [
    ("1", [1]), ("1、3、5", [1, 3, 5]), ("1,2；3", [1, 2, 3]), ("2-4", [2, 3, 4]), ("１、２", [1, 2]),
    ("见附件", None), ("1、a", None), ("", None),
])
def test_parse_numbers(text, numbers):
    assert parse_numbers(text) == numbers


@pytest.mark.parametrize("key,value,code", [
    ("手机", "13812345678", None), ("手机", 13812345678.0, None), ("手机", "138 1234 5678", None),
    ("手机", "+8613812345678", None), ("手机", "12812345678", "K001"), ("手机", "1381234567", "K001"),
    ("电话", "0376-6312865", None), ("电话", "（0376）6312865", None), ("电话", "037663128650", None),
    ("电话", "6312865", "K002"), ("电话", "0376-631", "K002"),
    ("传真", "0376-6312866", None), ("传真", "同电话", "K003"),
    ("邮箱", "a.b@gov.cn", None), ("邮箱", "ab@163", "K004"), ("邮箱", "a b@163.com", "K004"),
])
def test_contact_values(key, value, code):
    row = {"单位": "局", "姓名": "张伟", "职务/职级": "科长", "电话": None, "手机": "13812345678",
           "传真": None, "邮箱": None, "_row": 5, key: value}
    data = ReturnData(Path("x.xlsx"), "contact_form", None, None, contacts=[row])
    assert [i.code for i in check_contacts(data)] == ([code] if code else [])


def test_anti_counterfeit_valid_fills_for_both_unit_types(tmp_path_factory, tmp_path):
    """Seed 001: a county and a 功能区 (with its 不适用 indicators) both read back clean."""
    camp, _, _, res = _campaign(tmp_path_factory, "anti-counterfeit-2021")
    types = {u.code: u.type for u in camp.units}
    picks = {}
    for w in res.workbooks:
        picks.setdefault(types[w.unit_code], Path(w.path))
    assert set(picks) == {"县区", "功能区"}
    for unit_type, src in picks.items():
        data, cleaned, issues = run(make_valid(src, tmp_path / f"{unit_type}.xlsx", camp, seed=5), camp)
        assert issues == [], [str(i) for i in issues]
        assert cleaned == valid_inputs(camp, unit_type, seed=5)
        na = {f.id for i in camp.rubric.indicators if not i.applies_to(unit_type)
              for c in i.clauses for f in c.fields}
        assert (unit_type == "功能区") == bool(na) and not (na & set(cleaned))
