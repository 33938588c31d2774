"""The report, ranking and 反馈单 speak for the campaign (campaign.yaml), never for the rubric's
built-in city: a campaign run by another office under its own title must not mention 信阳."""
from __future__ import annotations

import zipfile
from pathlib import Path

import docx
import openpyxl
import pytest
import yaml
from click.testing import CliRunner

from xlsx_workflow.cli import main

TITLE = "青州市2021年知识产权保护工作检查考核"
OFFICE = {"name": "青州市知识产权联席会议办公室", "people": "王青", "phone": "0536-1234567",
          "email": "qz-ip@example.cn", "address": "青州市云门山路1号"}


def cli(*args):
    res = CliRunner().invoke(main, [str(a) for a in args])
    assert res.exit_code == 0, f"{args}: {res.output}\n{res.exception!r}"
    return res


def book_text(path: Path) -> str:
    wb = openpyxl.load_workbook(path)
    parts = [wb.properties.title or "", wb.properties.subject or "", wb.properties.creator or ""]
    for ws in wb.worksheets:
        parts.append(ws.title)
        parts += [str(c.value) for row in ws.iter_rows() for c in row if c.value is not None]
        parts += [ws.oddHeader.center.text or "", ws.oddFooter.center.text or ""]
    return "\n".join(parts)


def docx_text(path: Path) -> str:
    with zipfile.ZipFile(path) as z:
        return "\n".join(z.read(n).decode("utf-8") for n in z.namelist()
                         if n.endswith(".xml"))


@pytest.fixture(scope="module")
def qingzhou(tmp_path_factory, monkeypatch_module):
    d = tmp_path_factory.mktemp("qz") / "camp"
    cli("init", d, "--rubric", "ip-protection-2021", "--title", TITLE, "--deadline", "2022-05-27")
    f = d / "campaign.yaml"
    doc = yaml.safe_load(f.read_text(encoding="utf-8"))
    doc["office"] = OFFICE
    f.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    cli("generate", d)
    cli("simulate", d)
    cli("run", d, d / "simulate" / "收件")
    return d


@pytest.fixture(scope="module")
def monkeypatch_module(tmp_path_factory):
    empty = tmp_path_factory.mktemp("nopath")  # simulate without LibreOffice: faster, same text
    with pytest.MonkeyPatch.context() as mp:
        import os
        mp.setenv("PATH", str(empty) + os.pathsep + os.path.dirname(os.sys.executable))
        yield mp


def test_init_with_own_title_does_not_copy_rubric_office(tmp_path):
    d = tmp_path / "camp"
    res = cli("init", d, "--rubric", "ip-protection-2021", "--title", TITLE)
    doc = yaml.safe_load((d / "campaign.yaml").read_text(encoding="utf-8"))
    assert "信阳" not in yaml.safe_dump(doc["office"], allow_unicode=True)
    assert "C024" in res.stderr


def test_another_citys_unit_list_does_not_take_the_rubrics_office_and_generate_says_so(tmp_path):
    """An office with its own unit list and no title of its own (the commonest first try):
    nothing of 信阳's office reaches its workbooks; init (C026) and generate (G003: no office;
    G004: the rubric's title over other units) say what to fill in before sending them out."""
    units = tmp_path / "名单.csv"
    units.write_text("代码,名称,类型,邮箱\n370781,青州市,县区,qz@example.cn\n"
                     "370702,潍城区,县区,wc@example.cn\n", encoding="utf-8")
    d = tmp_path / "camp"
    res = cli("init", d, "--rubric", "ip-protection-2021", "--units", units)
    assert "[C026]" in res.stderr and "--title" in res.stderr
    doc = yaml.safe_load((d / "campaign.yaml").read_text(encoding="utf-8"))
    assert not any(doc["office"].values())
    res = cli("generate", d)
    assert "[G003]" in res.stderr and "名称（name）、电话（phone）或邮箱（email）" in res.stderr
    assert "[G004]" in res.stderr
    [book] = (d / "generate").glob("370781-*自评表.xlsx")
    assert "信阳" not in book_text(book).replace(doc["title"], "")  # only the title, still

    doc["title"], doc["office"] = TITLE, {**OFFICE, "phone": ""}
    (d / "campaign.yaml").write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    res = cli("generate", d)
    assert "[G00" not in res.stderr  # an email is a way to reach the office
    [book] = (d / "generate").glob("370781-*自评表.xlsx")
    assert "信阳" not in book_text(book) and OFFICE["email"] in book_text(book)


def test_a_unit_list_sharing_the_rubrics_units_keeps_its_office(tmp_path):
    """信阳 itself, with one more 功能区 in its list: its rubric's office stays, no warning."""
    units = tmp_path / "名单.csv"
    units.write_text("代码,名称,类型\n411502,浉河区,县区\n411599,新区,功能区\n", encoding="utf-8")
    d = tmp_path / "camp"
    res = cli("init", d, "--rubric", "ip-protection-2021", "--units", units)
    assert "C026" not in res.stderr
    assert "信阳" in yaml.safe_load((d / "campaign.yaml").read_text(encoding="utf-8"))["office"]["name"]
    assert "[G00" not in cli("generate", d).stderr


def test_report_names_only_the_campaign(qingzhou):
    rep = qingzhou / "report"
    md = (rep / "考核情况报告.md").read_text(encoding="utf-8")
    assert TITLE in md and OFFICE["name"] in md
    assert "信阳" not in md
    body = "\n".join(p.text for p in docx.Document(rep / "考核情况报告.docx").paragraphs)
    assert TITLE in body and "信阳" not in body
    assert "信阳" not in docx_text(rep / "考核情况报告.docx")
    assert "信阳" not in book_text(rep / "排名汇总.xlsx")
    sheets = sorted(rep.rglob("*反馈单.xlsx"))
    assert sheets
    for s in sheets:
        assert "信阳" not in book_text(s), s.name
