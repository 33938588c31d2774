"""A whole campaign through the office console in real headless Chromium: create it (with a
unit list of a made-up office, first with a mistake), generate and download the zip, drop
returns (a good one, a bad one, a zip), watch the status board change, fix a review entry with a
reason, download the ranking and the report and open them."""
from __future__ import annotations

import functools
import http.server
import re
import threading
import zipfile
from contextlib import contextmanager
from pathlib import Path

import openpyxl
import pytest
from docx import Document

from consolehelpers import (UNITS, filled_return, init_qinchuan, launch_browser, shot, start_console,
                            unit_list)

pytestmark = pytest.mark.browser
TITLE = "秦川市2021年知识产权保护工作考核"
FOLDER = "秦川市考核2021"


@pytest.fixture(scope="module")
def console(tmp_path_factory):
    home = tmp_path_factory.mktemp("控制台")
    c = start_console(home)
    c.home = home
    yield c
    c.stop()


@pytest.fixture(scope="module")
def page(console):
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = launch_browser(p)
        context = browser.new_context(accept_downloads=True, locale="zh-CN",
                                      viewport={"width": 1400, "height": 900})
        pg = context.new_page()
        pg.set_default_timeout(30_000)
        yield pg
        browser.close()


@contextmanager
def serve_folder(folder: Path):
    """A plain static web server for `folder` on another 127.0.0.1 port (a foreign page)."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/index.html"
    finally:
        server.shutdown()
        server.server_close()


def wait_job(page) -> None:
    page.wait_for_selector("#job[data-state]")
    assert page.get_attribute("#job", "data-state") == "done", page.inner_text("#job")


def download(page, selector: str, dest: Path) -> Path:
    with page.expect_download() as info:
        page.click(selector)
    info.value.save_as(dest)
    return dest


def board(page) -> dict:
    """{unit name: (status, errors, total)} from the status board."""
    out = {}
    for row in page.query_selector_all("#board tbody tr[data-unit]"):
        cell = {c.get_attribute("data-col"): c.inner_text().strip()
                for c in row.query_selector_all("td[data-col]")}
        out[cell["name"]] = (cell["status"], cell["errors"], cell["total"])
    return out


def test_whole_campaign_in_the_browser(console, page, tmp_path):
    page.goto(console.start_url)
    assert page.url == f"{console.base}/"            # the token swapped for the cookie
    shot(page, "01-考核活动")
    page.click("text=新建考核活动")

    # 1. create: a unit list with a duplicate code is shown with the row highlighted
    bad_units = unit_list(tmp_path / "单位名单-有错.xlsx", UNITS + [("619002", "重复区", "县区", "")])
    page.fill("input[name=folder]", FOLDER)
    page.fill("input[name=title]", TITLE)
    page.select_option("select[name=rubric]", "ip-protection-2021")
    page.fill("input[name=materials]", "2030-05-27")
    page.fill("input[name=office_name]", "秦川市知识产权局")
    page.fill("input[name=office_people]", "王敏")
    page.fill("input[name=office_phone]", "029-88886666")
    page.fill("input[name=office_email]", "zscq@qinchuan.example.cn")
    page.set_input_files("input[name=units]", str(bad_units))
    page.click("button[type=submit]")
    assert page.locator("#issues li[data-code=U007]").count() == 1
    assert "bad" in page.get_attribute("#units-table tbody tr:nth-child(5)", "class")
    shot(page, "02-新建-单位名单有错")
    page.set_input_files("input[name=units]", str(unit_list(tmp_path / "单位名单.xlsx")))
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r"/units\?created=1"))
    assert page.locator("#units-table tbody tr").count() == 4
    assert "灞河新区" in page.inner_text("#units-table")
    shot(page, "03-单位名单")
    root = console.home / FOLDER
    assert "秦川市知识产权局" in (root / "campaign.yaml").read_text(encoding="utf-8")

    # 2. generate with progress, download everything as one zip and open the workbooks
    page.click("nav >> text=生成自评表")
    page.click("#generate")
    wait_job(page)
    assert "已生成 4 份自评表" in page.inner_text("#job-summary")
    page.reload()
    shot(page, "04-生成自评表")
    zipped = download(page, "#zip", tmp_path / "自评表.zip")
    blanks = tmp_path / "下发"
    with zipfile.ZipFile(zipped) as z:
        names = sorted(z.namelist())
        z.extractall(blanks)
    assert len(names) == 8 and "619001-渭水县-自评表.xlsx" in names
    sheet = openpyxl.load_workbook(blanks / "619001-渭水县-自评表.xlsx")["自评表"]
    assert any("编号" == c.value for row in sheet.iter_rows(max_row=10) for c in row)

    # 3. drop returns: a good one, a bad one ("3次" in a count), and a zip with another good one
    page.click("nav >> text=报送情况")
    assert set(s for s, _, _ in board(page).values()) == {"未报送"}
    good = filled_return(root, blanks / "619001-渭水县-自评表.xlsx", tmp_path / "收件" / "渭水县自评表.xlsx", "good")
    bad = filled_return(root, blanks / "619002-秦岭区-自评表.xlsx", tmp_path / "收件" / "秦岭区自评表.xlsx", "bad",
                        **{"1_2": "3次"})
    inner = filled_return(root, blanks / "619003-终南县-自评表.xlsx", tmp_path / "z" / "终南县自评表.xlsx", "zip")
    packed = tmp_path / "收件" / "终南县报送材料.zip"
    with zipfile.ZipFile(packed, "w") as z:
        z.write(inner, "终南县/终南县自评表.xlsx")
    page.click("nav >> text=收件导入")
    shot(page, "05-收件导入")
    page.set_input_files("#files", [str(good), str(bad), str(packed)])
    assert page.locator("#queue li").count() == 3
    page.click("#upload")
    wait_job(page)
    assert "已接收 2 份" in page.inner_text("#job-summary")
    assert "退回 1 份" in page.inner_text("#job-summary")
    shot(page, "06-导入完成")
    page.click("#job-link")
    now = board(page)
    assert now["渭水县"][0] == "已接收" and now["终南县"][0] == "已接收"
    assert now["秦岭区"][0] == "退回" and int(now["秦岭区"][1]) >= 1
    assert now["灞河新区"][0] == "未报送"
    assert page.locator("tr[data-unit='619002'] a.file", has_text="问题清单").count() == 1
    shot(page, "07-报送情况")
    page.click(".filters a:has-text('未报送')")
    page.wait_for_url(re.compile(r"show=missing"))
    assert list(board(page)) == ["灞河新区"]

    # 4. review: a 核定分 without a reason is refused by the library's check; with one it counts
    page.click("nav >> text=审核")
    if page.input_value("select[name=unit]") != "619001":
        page.select_option("select[name=unit]", "619001")
        page.wait_for_url(re.compile(r"unit=619001"))
    before = float(page.inner_text("#unit-total"))
    row = page.locator("tr[data-clause='1.1']")
    computed = float(row.locator("td.computed").inner_text())
    assert computed > 0
    page.fill("input[name=reviewer]", "李审核")
    row.locator("input[name='points|1.1']").fill(str(computed - 1).rstrip("0").rstrip("."))
    page.click("#review-form button[type=submit]")
    assert page.locator("#issues li[data-code=S010]").count() == 1
    assert float(page.inner_text("#unit-total")) == before
    row = page.locator("tr[data-clause='1.1']")
    row.locator("input[name='reason|1.1']").fill("会议纪要未盖章，核减1分")
    page.fill("input[name=reviewer]", "李审核")
    page.click("#review-form button[type=submit]")
    assert page.locator("#issues li[data-code=S010]").count() == 0
    assert float(page.inner_text("#unit-total")) == before - 1
    assert "已核定" in page.locator("tr[data-clause='1.1'] td.state").inner_text()
    shot(page, "08-审核")
    sheet = openpyxl.load_workbook(download(page, "#review-download", tmp_path / "审核表.xlsx"))["审核表"]
    head = [c.value for c in sheet[1]]
    line = next(r for r in sheet.iter_rows(min_row=2, values_only=True)
                if r[head.index("单位代码")] == "619001" and r[head.index("条款编号")] == "1.1")
    assert line[head.index("核定理由")] == "会议纪要未盖章，核减1分"
    assert line[head.index("审核人")] == "李审核"

    # 5. ranking and report: downloaded and opened, with the reviewed total in them
    page.click("nav >> text=排名")
    assert page.locator("#ranking tbody tr").count() == 2
    shot(page, "09-排名")
    ranking = openpyxl.load_workbook(download(page, "#ranking-download", tmp_path / "排名汇总.xlsx"))
    cells = [str(c) for ws in ranking.worksheets for r in ws.iter_rows(values_only=True) for c in r if c]
    assert "渭水县" in cells and "终南县" in cells
    assert f"{before - 1:g}" in cells or any(c.startswith(f"{before - 1:g}") for c in cells)
    page.click("nav >> text=报告")
    shot(page, "10-报告")
    with page.expect_download() as info:
        page.click("#report-files a:has-text('考核情况报告.docx')")
    info.value.save_as(tmp_path / "报告.docx")
    text = "\n".join(p.text for p in Document(tmp_path / "报告.docx").paragraphs)
    assert "渭水县" in text
    assert page.locator("#feedback-sheets li").count() == 2


def test_figures_folders_mail_and_the_refusal_page(console, page, tmp_path):
    """anti-counterfeit-2021 (功能区 and 市级核定数据): figures typed in the page land in the
    workbook; a whole folder and a saved .eml are imported; mail drafts are listed; a browser
    without the start link sees the Chinese refusal."""
    from email.message import EmailMessage
    from xlsx_workflow.generate import generate_campaign
    root = console.home / "打击侵权假冒2021"
    init_qinchuan(root, "anti-counterfeit-2021", unit_list(tmp_path / "units.xlsx"), "2030-05-27")
    generate_campaign(root, jobs=1)
    page.goto(console.start_url)
    assert page.locator("#campaigns a", has_text="打击侵权假冒").count() == 1
    shot(page, "11-考核活动列表")
    page.click("#campaigns a:has-text('打击侵权假冒')")
    page.click("nav >> text=市级核定数据")
    page.fill("input[name='u|619001|执法单位数']", "6")
    page.click("#params-form button[type=submit]")
    assert "已保存 1 项" in page.inner_text("p.saved")
    assert page.input_value("input[name='u|619001|执法单位数']") == "6"
    shot(page, "12-市级核定数据")
    (tmp_path / "照片.xlsx").write_bytes(b"\x89PNG not a workbook")
    page.set_input_files("#params-upload input[name=sheet]", str(tmp_path / "照片.xlsx"))
    page.click("#params-upload button")
    assert page.locator("#issues li[data-code=W010]").count() == 1
    shot(page, "12b-上传的表有误")
    page.click("text=返回上一页")
    ws = openpyxl.load_workbook(root / "params" / "市级核定数据.xlsx")["各单位数据"]
    col = next(c for c in range(3, ws.max_column + 1) if ws.cell(2, c).value == "执法单位数")
    assert [ws.cell(r, col).value for r in range(3, 7)] == [6, None, None, None]

    folder = tmp_path / "邮件附件" / "渭水县"
    blank = root / "generate" / "619001-渭水县-自评表.xlsx"
    filled_return(root, blank, folder / "自评表（渭水县）.xlsx", "folder")
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "qinling@qinchuan.example.cn", "zscq@qinchuan.example.cn", "秦岭区报送"
    mail.set_content("附件为自评表。")
    mail.add_attachment(filled_return(root, root / "generate" / "619002-秦岭区-自评表.xlsx",
                                      tmp_path / "秦岭区.xlsx", "eml").read_bytes(),
                        maintype="application", subtype="octet-stream", filename="秦岭区自评表.xlsx")
    eml = tmp_path / "秦岭区报送.eml"
    eml.write_bytes(bytes(mail))
    page.click("nav >> text=收件导入")
    page.set_input_files("#folder", str(folder.parent))
    page.set_input_files("#files", str(eml))
    assert "渭水县/自评表（渭水县）.xlsx" in page.inner_text("#queue")
    page.click("#upload")
    wait_job(page)
    assert "已接收 2 份" in page.inner_text("#job-summary")
    page.click("#job-link")
    assert board(page)["渭水县"][0] == "已接收" and board(page)["秦岭区"][0] == "已接收"

    page.click("nav >> text=邮件")
    assert page.locator("#drafts tbody tr").count() == 4
    assert "缺少邮箱" in page.inner_text("#drafts")
    shot(page, "13-邮件")

    # a hostile page on another local port posts a form to the console in the same browser:
    # the cookie goes along (same site), but the Origin and the missing CSRF token give it away
    hostile = tmp_path / "hostile"
    hostile.mkdir()
    (hostile / "index.html").write_text(
        f"<form method=post action='{console.base}/c/{FOLDER}/generate'>"
        "<input type=hidden name=csrf value=guessed></form>"
        "<script>document.forms[0].submit()</script>", encoding="utf-8")
    with serve_folder(hostile) as url:
        page.goto(url)
        page.wait_for_url(f"{console.base}/**")
    assert "W002" in page.inner_text("body") and "请求被拒绝" in page.inner_text("body")
    shot(page, "15-跨站提交被拒绝")

    stranger = page.context.browser.new_context(locale="zh-CN")
    other = stranger.new_page()
    other.goto(f"{console.base}/c/{FOLDER}")
    assert "没有访问权限" in other.inner_text("body")
    shot(other, "14-没有访问权限")
    stranger.close()
