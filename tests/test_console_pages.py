"""Console pages through real HTTP on 127.0.0.1 (no browser): the office's figures and the review
sheet kept in step between page and Excel, results recomputed when something changed outside
the page, sending mail with a password typed once, and the Chinese refusals of bad requests."""
from __future__ import annotations

import json
import random
import threading
import time
from datetime import datetime
from pathlib import Path
from urllib.parse import quote

import openpyxl
import pytest

from consolehelpers import (init_qinchuan, multipart, open_session, post, request, start_console,
                            unit_list, wait_job)
from mailhelpers import SMTP_PASSWORD, SMTP_USER, SmtpSink, start_smtp
from xlsx_workflow.campaign import load_campaign
from xlsx_workflow.console.jobs import Jobs
from xlsx_workflow.generate import generate_campaign
from xlsx_workflow.importer import import_paths
from xlsx_workflow.messages import WorkflowError
from xlsx_workflow.params import FIRST_ROW, UNIT_SHEET
from xlsx_workflow.simulate_fill import AVERAGE, make_fill, write_workbook

IP, AC, LATE = "知识产权考核", "打击侵权假冒考核", "去年的考核"


@pytest.fixture(scope="module")
def console(tmp_path_factory):
    home = tmp_path_factory.mktemp("控制台")
    units = unit_list(home.parent / "units.xlsx")
    for key, rubric, deadline in ((IP, "ip-protection-2021", "2030-05-27"),
                                  (AC, "anti-counterfeit-2021", "2030-05-27"),
                                  (LATE, "ip-protection-2021", "2022-05-27")):
        init_qinchuan(home / key, rubric, units, deadline)
        assert not generate_campaign(home / key, jobs=1).errors
    c = start_console(home)
    c.home = home
    yield c
    c.stop()


@pytest.fixture(scope="module")
def session(console):
    return open_session(console)


def get(console, session, path: str) -> str:
    status, _, text = request(console, "GET", path, headers={"Cookie": session[0]})
    assert status == 200, text
    return text


def send_return(root: Path, code: str, folder: Path) -> None:
    """A county's filled 自评表, imported the way the CLI's `import` does, not via the page."""
    camp = load_campaign(root)
    unit = next(u for u in camp.units if u.code == code)
    folder.mkdir(parents=True, exist_ok=True)
    blank = camp.layout.workbook_path(unit.code, unit.name)
    write_workbook(blank, folder / blank.name, make_fill(camp.rubric, unit, AVERAGE, random.Random(code), ""))
    import_paths(root, [folder], jobs=1)


def test_results_are_recomputed_when_a_return_arrives_outside_the_page(console, session, tmp_path):
    board = get(console, session, f"/c/{quote(IP)}")
    assert 'data-unit="619001" class="st-missing' in board
    send_return(console.home / IP, "619001", tmp_path / "收件")
    board = get(console, session, f"/c/{quote(IP)}")
    assert 'data-unit="619001" class="st-accepted' in board
    ranking = get(console, session, f"/c/{quote(IP)}/ranking")
    assert "渭水县" in ranking and (console.home / IP / "report" / "排名汇总.xlsx").is_file()


def test_the_files_own_time_decides_late_as_on_the_command_line(console, session, tmp_path):
    """The browser sends each file's modification time; saved from the mail on 2022-05-20 it is
    on time, one saved today (after the 2022-05-27 deadline) is 逾期."""
    root = console.home / LATE
    camp = load_campaign(root)
    books = []
    for unit, seed in zip(camp.units[:2], ("early", "late")):
        blank = camp.layout.workbook_path(unit.code, unit.name)
        write_workbook(blank, tmp_path / blank.name, make_fill(camp.rubric, unit, AVERAGE,
                                                                random.Random(seed), ""))
        books.append(("files", f"收件/{blank.name}", (tmp_path / blank.name).read_bytes()))
    may_20 = str(int(datetime(2022, 5, 20, 9, 30).timestamp() * 1000))
    now = str(int(time.time() * 1000))
    jar, token = session
    body, ctype = multipart([("csrf", token), ("mtime", may_20), ("mtime", now)], books)
    status, _, text = request(console, "POST", f"/c/{quote(LATE)}/inbox", body,
                              {"Cookie": jar, "Content-Type": ctype, "Origin": console.base,
                               "Content-Length": str(len(body)), "Accept": "application/json"})
    assert status == 200, text
    job = wait_job(console, session, text)
    assert [r["late"] for r in job["rows"]] == [False, True]
    board = get(console, session, f"/c/{quote(LATE)}?show=late")
    assert camp.units[1].name in board and camp.units[0].name not in board


def test_a_review_sheet_filled_in_excel_and_uploaded_counts_on_the_page(console, session, tmp_path):
    root = console.home / IP
    if not (root / "review" / "审核表.xlsx").exists():
        send_return(root, "619001", tmp_path / "收件")
    page = get(console, session, f"/c/{quote(IP)}/review?unit=619001")
    before = float(page.split('id="unit-total">')[1].split("<")[0])
    book = openpyxl.load_workbook(root / "review" / "审核表.xlsx")
    ws = book["审核表"]
    head = {c.value: c.column for c in ws[1]}
    row = next(r for r in range(2, ws.max_row + 1) if ws.cell(r, head["单位代码"]).value == "619001"
               and ws.cell(r, head["系统计算分"]).value)
    clause = ws.cell(row, head["条款编号"]).value
    ws.cell(row, head["核定分"]).value = 0
    ws.cell(row, head["核定理由"]).value = "材料不实，不得分"
    ws.cell(row, head["审核人"]).value = "赵审核"
    book.save(tmp_path / "审核表.xlsx")
    status, _, text = post(console, session, f"/c/{quote(IP)}/review",
                           files=[("sheet", "审核表.xlsx", (tmp_path / "审核表.xlsx").read_bytes())])
    assert status == 200 and "已上传审核表" in text
    page = get(console, session, f"/c/{quote(IP)}/review?unit=619001")
    assert float(page.split('id="unit-total">')[1].split("<")[0]) < before
    assert f'name="reason|{clause}" value="材料不实，不得分"' in page


def test_figures_typed_in_the_page_go_into_the_params_workbook_and_back(console, session, tmp_path):
    root = console.home / AC
    get(console, session, f"/c/{quote(AC)}/params")
    status, _, text = post(console, session, f"/c/{quote(AC)}/params",
                           {"u|619001|执法单位数": "7", "c|专利侵权纠纷全省平均数": "12.5"})
    assert status == 200 and "已保存 2 项" in text
    book = openpyxl.load_workbook(root / "params" / "市级核定数据.xlsx")
    ws = book[UNIT_SHEET]
    col = next(c for c in range(3, ws.max_column + 1) if ws.cell(2, c).value == "执法单位数")
    row = next(r for r in range(FIRST_ROW, ws.max_row + 1) if ws.cell(r, 1).value == "619001")
    assert ws.cell(row, col).value == 7
    ws.cell(row + 1, col).value = 9                  # the office types the next unit in Excel
    book.save(tmp_path / "市级核定数据.xlsx")
    status, _, text = post(console, session, f"/c/{quote(AC)}/params",
                           files=[("sheet", "市级核定数据.xlsx", (tmp_path / "市级核定数据.xlsx").read_bytes())])
    assert status == 200 and "已上传市级核定数据表" in text
    assert 'name="u|619002|执法单位数" value="9"' in text and 'name="u|619001|执法单位数" value="7"' in text


def test_mail_is_sent_with_a_password_typed_once_and_never_stored(console, session):
    sink = SmtpSink()
    controller, port = start_smtp(sink)
    try:
        status, _, text = post(console, session, f"/c/{quote(IP)}/mail",
                               {"host": "127.0.0.1", "port": str(port), "security": "plain",
                                "user": SMTP_USER, "password": SMTP_PASSWORD, "pause": "0"},
                               extra={"Accept": "application/json"})
        assert status == 200, text
        job = wait_job(console, session, text)
    finally:
        controller.stop()
    assert job["state"] == "done", job
    assert len(sink.messages) == 3 and sink.logins == [(SMTP_USER, SMTP_PASSWORD)] * 1
    stored = [p for p in (console.home / IP).rglob("*") if p.is_file()
              and SMTP_PASSWORD.encode() in p.read_bytes()]
    assert stored == []
    assert "本次发出 3 封" in " ".join(job["summary"])


@pytest.mark.parametrize("path, fields, code", [
    ("/new", {"folder": ""}, "W009"),
    ("/new", {"folder": IP}, "W008"),
    (f"/c/{quote(IP)}/mail", {"host": "smtp.163.com", "password": ""}, "W014"),
    (f"/c/{quote(IP)}/mail", {"host": "", "password": "x"}, "W009"),
    (f"/c/{quote(IP)}/inbox", {}, "W011"),
])
def test_incomplete_forms_are_answered_in_chinese(console, session, path, fields, code):
    status, _, text = post(console, session, path, fields)
    assert status == 400 and code in text


def test_an_uploaded_file_that_is_not_the_sheet_is_refused(console, session, tmp_path):
    other = tmp_path / "别的表.xlsx"
    openpyxl.Workbook().save(other)
    for page, what in (("review", "审核表"), ("params", "市级核定数据表")):
        status, _, text = post(console, session, f"/c/{quote(IP)}/{page}",
                               files=[("sheet", "照片.xlsx", b"\x89PNG not a workbook")])
        assert status == 400 and "W010" in text and what in text and "不是 .xlsx 工作簿" in text
        status, _, text = post(console, session, f"/c/{quote(IP)}/{page}",
                               files=[("sheet", "别的表.xlsx", other.read_bytes())])
        assert status == 400 and "W010" in text and "工作表" in text


def test_an_unexpected_failure_in_a_job_is_reported_not_hung(console, session):
    root = console.home / AC
    (root / "generate").rename(root / "generate.old")
    (root / "generate").write_text("不是文件夹", encoding="utf-8")
    try:
        status, _, text = post(console, session, f"/c/{quote(AC)}/generate",
                               extra={"Accept": "application/json"})
        job = wait_job(console, session, text)
    finally:
        (root / "generate").unlink()
        (root / "generate.old").rename(root / "generate")
    assert job["state"] == "failed" and job["issues"][0]["code"] == "W013"


def test_one_job_at_a_time_per_campaign():
    jobs, release = Jobs(), threading.Event()
    first = jobs.start("考核", "导入报送材料", lambda job: release.wait(10))
    with pytest.raises(WorkflowError) as e:
        jobs.start("考核", "生成自评表", lambda job: None)
    assert e.value.issues[0].code == "W007" and "导入报送材料" in e.value.issues[0].message
    other = jobs.start("另一个考核", "生成自评表", lambda job: None)
    release.set()
    assert json.dumps(first.to_json(), ensure_ascii=False) and other.id != first.id


def test_a_campaign_with_the_offices_own_rubric_file(console, session):
    """The rubric picker also takes an uploaded YAML, checked as `rubric check` does."""
    mini = (Path(__file__).parent / "data" / "mini.yaml").read_bytes()
    status, headers, _ = post(console, session, "/new", {"folder": "自定细则考核", "title": "自定细则"},
                              files=[("rubric_file", "本办细则.yaml", mini)])
    assert status == 303 and headers["location"].endswith("/units?created=1")
    camp = load_campaign(console.home / "自定细则考核")
    assert camp.rubric.id == "mini" and [u.name for u in camp.units] == ["甲县", "乙区"]
    assert (console.home / "自定细则考核" / "细则" / "本办细则.yaml").read_bytes() == mini
    status, _, text = post(console, session, "/new", {"folder": "坏细则考核"},
                           files=[("rubric_file", "坏.yaml", b"id: [unclosed")])
    assert status == 400 and "R002" in text
    assert not (console.home / "坏细则考核").exists()
