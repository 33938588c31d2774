"""The office's own unit list through `init --units`: header synonyms, a title row above the
header, full-width digits and spaces in codes (normalised, U021), e-mail checked by the one rule
mail uses, unknown columns reported (U022)."""
from __future__ import annotations

import csv
import json

import openpyxl
from click.testing import CliRunner

from xlsx_workflow.campaign import load_campaign
from xlsx_workflow.cli import main
from xlsx_workflow.contacts import valid_email


def init(tmp_path, path):
    res = CliRunner().invoke(main, ["init", str(tmp_path / "c"), "--rubric", "ip-protection-2021",
                                    "--units", str(path), "--json"])
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout), load_campaign(tmp_path / "c")


def codes(doc):
    return [w["code"] for w in doc["warnings"]]


def write_csv(path, rows):
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh).writerows(rows)
    return path


def test_header_synonyms(tmp_path):
    path = write_csv(tmp_path / "u.csv", [["行政区划代码", "单位名称", "单位类型", "联系邮箱"],
                                          ["411502", "浉河区", "县区", "sh@example.cn"]])
    doc, camp = init(tmp_path, path)
    assert codes(doc) == []
    assert [(u.code, u.name, u.type, u.email) for u in camp.units] == [
        ("411502", "浉河区", "县区", "sh@example.cn")]


def test_more_synonyms_and_full_width_header(tmp_path):
    path = write_csv(tmp_path / "u.csv", [["区划代码", "名称", "类型", "Ｅ－ｍａｉｌ"],
                                          ["411503", "平桥区", "县区", "pq@example.cn"]])
    doc, camp = init(tmp_path, path)
    assert camp.units[0].email == "pq@example.cn" and codes(doc) == []


def test_title_row_above_header_in_xlsx(tmp_path):
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["2022年考核单位名单"])
    ws.merge_cells("A1:D1")
    ws.append([])
    ws.append(["单位代码", "单位名称", "单位类型", "电子邮箱"])
    ws.append(["411521", "罗山县", "县区", "ls@example.cn"])
    wb.save(tmp_path / "u.xlsx")
    doc, camp = init(tmp_path, tmp_path / "u.xlsx")
    assert [u.name for u in camp.units] == ["罗山县"] and codes(doc) == []


def test_full_width_digits_and_spaces_in_codes(tmp_path):
    path = write_csv(tmp_path / "u.csv", [["代码", "名称", "类型", "邮箱"],
                                          ["４１１５２２", "光山县", "县区", ""],
                                          ["411 523", "新县", "县区", ""]])
    doc, camp = init(tmp_path, path)
    assert [u.code for u in camp.units] == ["411522", "411523"]
    found = [w for w in doc["warnings"] if w["code"] == "U021"]
    assert len(found) == 2 and all(w["severity"] == "提示" for w in found)
    assert "第2行" in found[0]["message"] and "４１１５２２" in found[0]["message"]
    assert "第3行" in found[1]["message"]


def test_email_one_rule(tmp_path):
    bad = "张三@qq.com"  # init used to accept it; mail called it 缺少邮箱
    assert not valid_email(bad)
    path = write_csv(tmp_path / "u.csv", [["代码", "名称", "类型", "邮箱"],
                                          ["411524", "商城县", "县区", bad]])
    doc, _ = init(tmp_path, path)
    assert codes(doc) == ["U010"]


def test_unknown_columns_reported(tmp_path):
    path = write_csv(tmp_path / "u.csv", [["序号", "代码", "名称", "类型", "联系人", "邮箱"],
                                          ["1", "411525", "固始县", "县区", "王五", ""]])
    doc, camp = init(tmp_path, path)
    found = [w for w in doc["warnings"] if w["code"] == "U022"]
    assert ["序号" in found[0]["message"], "联系人" in found[1]["message"]] == [True, True]
    assert camp.units[0].code == "411525"
