"""Campaign folders: campaign.yaml, the unit list (default or the office's own file), the layout."""
import csv
import json
from datetime import date
from pathlib import Path

import openpyxl
import pytest
import yaml
from click.testing import CliRunner

from rubric_builder import BASE, write_doc
from xlsx_workflow.campaign import init_campaign, load_campaign, read_units
from xlsx_workflow.cli import main
from xlsx_workflow.layout import layout, sanitise, unit_file_name
from xlsx_workflow.messages import WorkflowError
from xlsx_workflow.rubric import load_rubric

MINI = Path(__file__).parent / "data" / "mini.yaml"


def codes(err: WorkflowError) -> list[str]:
    return [i.code for i in err.issues]


def write_csv(path: Path, rows: list[list], encoding="utf-8-sig") -> Path:
    with path.open("w", encoding=encoding, newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


def write_xlsx(path: Path, rows: list[list]) -> Path:
    book = openpyxl.Workbook()
    for r in rows:
        book.active.append(r)
    book.save(path)
    return path


# --- init with the rubric's default units ----------------------------------------------------

def test_init_with_default_units_writes_campaign_and_units(tmp_path):
    camp = init_campaign(tmp_path / "c", "ip-protection-2021")
    doc = yaml.safe_load((tmp_path / "c" / "campaign.yaml").read_text(encoding="utf-8"))
    assert doc["rubric"]["source"] == "ip-protection-2021" and doc["rubric"]["version"] == 1
    assert doc["rubric"]["hash"] == camp.rubric.content_hash and len(doc["rubric"]["hash"]) == 64
    assert doc["deadlines"] == {"contact": "2022-05-18", "materials": "2022-05-27"}  # the seed's
    assert doc["office"]["phone"].startswith("0376-6312865") and doc["year"] == 2021
    assert doc["title"] == "信阳市2021年知识产权保护工作检查考核"
    assert len(doc["sheet_password"]) >= 8 and doc["id"].startswith("ip-protection-2021-")
    with (tmp_path / "c" / "units.csv").open(encoding="utf-8-sig") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["代码", "名称", "类型", "邮箱"] and len(rows) == 11
    assert rows[1][:3] == ["411502", "浉河区", "县区"]


def test_deadline_option_sets_materials_and_contact_nine_days_earlier(tmp_path):
    camp = init_campaign(tmp_path / "c", "ip-protection-2021", deadline="2023-06-30", title="2022年考核")
    assert camp.deadlines == {"materials": date(2023, 6, 30), "contact": date(2023, 6, 21)}
    assert load_campaign(tmp_path / "c").title == "2022年考核"


def test_rubric_with_only_a_materials_deadline_gets_contact_nine_days_earlier(tmp_path):
    camp = init_campaign(tmp_path / "c", "anti-counterfeit-2021")
    assert camp.deadlines == {"materials": date(2022, 6, 2), "contact": date(2022, 5, 24)}


def test_load_round_trips_and_reinit_keeps_identity(tmp_path):
    first = init_campaign(tmp_path / "c", str(MINI), deadline="2022-05-27")
    loaded = load_campaign(tmp_path / "c")
    assert (loaded.id, loaded.created, loaded.password) == (first.id, first.created, first.password)
    assert [u.code for u in loaded.units] == ["1", "2"] and loaded.units[1].type == "功能区"
    assert loaded.rubric_source == str(MINI.resolve()) and loaded.warnings == []
    again = init_campaign(tmp_path / "c", str(MINI), deadline="2022-06-30")
    assert (again.id, again.created, again.password) == (first.id, first.created, first.password)
    assert load_campaign(tmp_path / "c").deadlines["materials"] == date(2022, 6, 30)


# --- the office's own unit files -------------------------------------------------------------

GOOD = [["代码", "名称", "类型", "邮箱"],
        ["411502", "浉河区", "县区", "a@example.cn"],
        ["", "", "", ""],  # blank rows are skipped
        ["411591", "羊山新区", "功能区", ""]]


@pytest.mark.parametrize("make", ["csv_utf8", "csv_gbk", "xlsx"])
def test_good_units_file(tmp_path, make):
    if make == "xlsx":
        rows = [GOOD[0], [411502, "浉河区", "县区", "a@example.cn"], GOOD[3]]  # a numeric code
        path = write_xlsx(tmp_path / "units.xlsx", rows)
    else:
        enc = "utf-8-sig" if make == "csv_utf8" else "gbk"  # Chinese Excel saves CSV as GBK
        path = write_csv(tmp_path / "units.csv", GOOD, enc)
    camp = init_campaign(tmp_path / "c", str(MINI), units_file=path)
    assert [(u.code, u.name, u.type) for u in camp.units] == [("411502", "浉河区", "县区"),
                                                               ("411591", "羊山新区", "功能区")]
    assert camp.units[0].email == "a@example.cn" and camp.warnings == []
    assert [u.code for u in load_campaign(tmp_path / "c").units] == ["411502", "411591"]


def test_english_headers_and_optional_columns(tmp_path):
    path = write_csv(tmp_path / "u.csv", [["Code", "Name"], ["9", "丙县"]])
    units, warnings = read_units(path)
    assert [(u.code, u.name, u.type) for u in units] == [("9", "丙县", "")] and warnings == []


BAD = [  # (rows, expected codes in order, text that must appear in the first message)
    ([["编号", "单位名称"], ["1", "甲县"]], ["U004"], "代码"),
    ([["代码", "类型"], ["1", "县区"]], ["U004"], "名称"),
    ([["代码", "名称", "类型"], ["1", "甲县", "县区"], ["1", "乙区", "功能区"]], ["U007"], "第3行"),
    ([["代码", "名称", "类型"], ["1", "", "县区"]], ["U006"], "第2行"),
    ([["代码", "名称", "类型"], ["", "甲县", "县区"]], ["U005"], "第2行"),
    ([["代码", "名称", "类型"]], ["U008"], "第1行"),
    ([["代码", "名称", "类型"], ["1", "", "县区"], ["1", "乙区", "县区"], ["", "丙县", "县区"]],
     ["U006", "U007", "U005"], "第2行"),
]


@pytest.mark.parametrize("rows,expected,text", BAD)
@pytest.mark.parametrize("ext", ["csv", "xlsx"])
def test_bad_units_files_are_clear_errors(tmp_path, rows, expected, text, ext):
    path = (write_csv(tmp_path / "u.csv", rows) if ext == "csv"
            else write_xlsx(tmp_path / "u.xlsx", rows))
    with pytest.raises(WorkflowError) as e:
        init_campaign(tmp_path / "c", str(MINI), units_file=path)
    assert codes(e.value) == expected
    assert text in e.value.issues[0].message
    assert not (tmp_path / "c" / "campaign.yaml").exists()  # nothing written


def test_a_unit_list_with_an_error_shows_its_warnings_too(tmp_path):
    """One round of fixes: the duplicate code (an error) and the bad address of another row (a
    warning) are both told, and the summary counts each kind."""
    path = write_csv(tmp_path / "u.csv", [["代码", "名称", "类型", "邮箱"], ["7", "甲县", "县区", "a@x"],
                                          ["8", "乙区", "县区", ""], ["7", "丙县", "县区", ""]])
    with pytest.raises(WorkflowError) as e:
        read_units(path)
    assert codes(e.value) == ["U010", "U007"]
    res = CliRunner().invoke(main, ["init", str(tmp_path / "c"), "--rubric", str(MINI),
                                    "--units", str(path)])
    assert res.exit_code != 0 and "[U010]" in res.output and "[U007]" in res.output
    assert "共 1 个错误（另有 1 条警告或提示），未完成。" in res.output
    assert not (tmp_path / "c" / "campaign.yaml").exists()


@pytest.mark.parametrize("cell", ["a@x.cn;b@x.cn", "a@x.cn； b@x.cn", "a@x.cn、b@x.cn、c@x.cn",
                                  "a@x.cn b@x.cn", "a@x.cn,b@x.cn"])
def test_several_addresses_in_one_cell_keep_the_first_and_say_so(tmp_path, cell):
    path = write_csv(tmp_path / "u.csv", [["代码", "名称", "邮箱"], ["7", "甲县", cell],
                                          ["8", "乙区", "b@x.cn;"]])  # one address: not this
    units, issues = read_units(path)
    assert [u.email for u in units] == ["a@x.cn", "b@x.cn;"]
    assert codes(WorkflowError(issues)) == ["U023", "U010"]
    assert f"「{cell}」，已按第一个「a@x.cn」读入" in issues[0].message and "第2行" in issues[0].message


def test_duplicate_code_message_names_both_rows(tmp_path):
    path = write_csv(tmp_path / "u.csv", [["代码", "名称"], ["7", "甲"], ["8", "乙"], ["7", "丙"]])
    with pytest.raises(WorkflowError) as e:
        read_units(path)
    assert "第4行" in str(e.value) and "第2行" in str(e.value)


@pytest.mark.parametrize("name,content,code", [
    ("u.xlsx", b"this is not a zip file", "U003"),
    ("u.csv", b"\x00\x01\x02\xff\xfe\x00", "U003"),
    ("u.xls", b"\xd0\xcf\x11\xe0", "U002"),
])
def test_unreadable_or_unsupported_units_file(tmp_path, name, content, code):
    path = tmp_path / name
    path.write_bytes(content)
    with pytest.raises(WorkflowError) as e:
        read_units(path)
    assert codes(e.value) == [code]


def test_missing_units_file(tmp_path):
    with pytest.raises(WorkflowError) as e:
        init_campaign(tmp_path / "c", str(MINI), units_file=tmp_path / "nope.csv")
    assert codes(e.value) == ["U001"]


def test_unknown_type_and_bad_email_are_warnings(tmp_path):
    path = write_csv(tmp_path / "u.csv", [["代码", "名称", "类型", "邮箱"],
                                          ["1", "甲县", "县 区", "no-at-sign"]])
    camp = init_campaign(tmp_path / "c", str(MINI), units_file=path)
    assert [w.code for w in camp.warnings] == ["U009", "U010"]
    assert "县 区" in camp.warnings[0].message and "功能区" in camp.warnings[0].message


# --- campaign errors -------------------------------------------------------------------------

def test_campaign_errors(tmp_path):
    with pytest.raises(WorkflowError) as e:
        load_campaign(tmp_path)
    assert codes(e.value) == ["C001"]
    (tmp_path / "campaign.yaml").write_text("id: [unclosed\n", encoding="utf-8")
    with pytest.raises(WorkflowError) as e:
        load_campaign(tmp_path)
    assert codes(e.value) == ["C002"]
    (tmp_path / "campaign.yaml").write_text("id: x\n", encoding="utf-8")
    with pytest.raises(WorkflowError) as e:
        load_campaign(tmp_path)
    assert codes(e.value) == ["C002"] and "rubric" in str(e.value)
    with pytest.raises(WorkflowError) as e:
        init_campaign(tmp_path / "d", str(MINI), deadline="2022/5/27")
    assert codes(e.value) == ["C003"]
    (tmp_path / "file").write_text("", encoding="utf-8")
    with pytest.raises(WorkflowError) as e:
        init_campaign(tmp_path / "file", str(MINI))
    assert codes(e.value) == ["C006"]


def test_rubric_without_units_needs_a_units_file(tmp_path):
    doc = {**BASE, "indicators": [{"id": "1", "name": "指标", "dimension": "D", "max": 2, "clauses": [
        {"id": "1.1", "text": "细则", "kind": "flag", "points": 2,
         "fields": [{"id": "1.1", "label": "是否", "type": "flag"}]}]}]}
    path = write_doc(tmp_path, doc, "nounits.yaml")
    load_rubric(path)
    with pytest.raises(WorkflowError) as e:
        init_campaign(tmp_path / "c", str(path))
    assert codes(e.value) == ["C004"]


def test_changed_rubric_is_a_warning_on_load(tmp_path):
    rub = tmp_path / "mine.yaml"
    rub.write_text(MINI.read_text(encoding="utf-8"), encoding="utf-8")
    init_campaign(tmp_path / "c", str(rub))
    rub.write_text(MINI.read_text(encoding="utf-8").replace("version: 1", "version: 2"),
                   encoding="utf-8")
    camp = load_campaign(tmp_path / "c")
    assert [w.code for w in camp.warnings] == ["C005"] and "第1版 → 第2版" in camp.warnings[0].message


# --- layout ----------------------------------------------------------------------------------

@pytest.mark.parametrize("raw,expected", [
    ("浉河区", "浉河区"),
    ('a<b>c:d"e/f\\g|h?i*j', "a_b_c_d_e_f_g_h_i_j"),
    ("名称. ", "名称"),
    ("CON", "_CON"),
    ("  两个   空格  ", "两个 空格"),
    ("", "_"),
])
def test_sanitise_for_windows(raw, expected):
    assert sanitise(raw) == expected


def test_unit_file_names_and_stage_folders(tmp_path):
    lay = layout(tmp_path)
    assert unit_file_name("411502", "浉河区", "自评表") == "411502-浉河区-自评表.xlsx"
    assert lay.workbook_path("1/2", "甲:县").name == "1_2-甲_县-自评表.xlsx"
    assert lay.contact_form_path("1", "甲县").name == "1-甲县-联系人信息表.xlsx"
    assert lay.generate_dir == tmp_path.resolve() / "generate"
    assert (lay.import_dir.name, lay.archive_dir.name, lay.ledger_file.name) == (
        "import", "archive", "ledger.sqlite")


# --- command line ----------------------------------------------------------------------------

def test_cli_init_json_and_errors(tmp_path):
    res = CliRunner().invoke(main, ["init", str(tmp_path / "c"), "--rubric", str(MINI), "--json"])
    assert res.exit_code == 0, res.output
    doc = json.loads(res.stdout)
    assert doc["units"] == 2 and Path(doc["campaign"]).is_absolute()
    assert all(Path(p).is_file() for p in doc["files"])
    bad = write_csv(tmp_path / "u.csv", [["代码", "名称"], ["1", ""]])
    res = CliRunner().invoke(main, ["init", str(tmp_path / "d"), "--rubric", str(MINI),
                                    "--units", str(bad)])
    assert res.exit_code != 0 and "U006" in res.output
