"""The mail loop, deadlines and settings in the console (issue 11 + 12): feedback, receipts,
reminders and results sent from the mail pages (dry run first, then a password typed once;
the ledger keeps anything from going twice), a unit's own deadline set on the status board,
the 考核设置 page writing campaign.yaml, and console wording instead of "重新运行 score".
Real console on 127.0.0.1, real Chromium, real SMTP (aiosmtpd) on 127.0.0.1."""
from __future__ import annotations

import email
import re
from datetime import date
from email import policy
from urllib.parse import quote

import pytest
import yaml

from consolehelpers import (filled_return, init_qinchuan, launch_browser, open_session, post,
                            shot, start_console, unit_list, wait_job)
from mailhelpers import SMTP_PASSWORD, SMTP_USER, SmtpSink, start_smtp
from xlsx_workflow.campaign import load_campaign
from xlsx_workflow.generate import generate_campaign
from xlsx_workflow.console.wording import CONSOLE_ADVICE, for_console
from xlsx_workflow.importer import import_paths
from xlsx_workflow.messages import CATALOGUE, Issue

KEY = "秦川市催报考核"


@pytest.fixture(scope="module")
def console(tmp_path_factory):
    """A campaign whose deadline (2022-05-27) has passed: 渭水县 sent a good return (late),
    秦岭区 one with a mistake, 终南县 and 灞河新区 (no e-mail address) nothing."""
    home = tmp_path_factory.mktemp("控制台")
    root = home / KEY
    init_qinchuan(root, "ip-protection-2021", unit_list(home.parent / "units.xlsx"), "2022-05-27")
    assert not generate_campaign(root, jobs=1).errors
    inbox = home.parent / "收件"
    gen = root / "generate"
    filled_return(root, gen / "619001-渭水县-自评表.xlsx", inbox / "渭水县.xlsx", "good")
    filled_return(root, gen / "619002-秦岭区-自评表.xlsx", inbox / "秦岭区.xlsx", "bad",
                  **{"1_2": "3次"})
    import_paths(root, [inbox], jobs=1)
    c = start_console(home)
    c.home, c.root = home, root
    yield c
    c.stop()


@pytest.fixture(scope="module")
def smtp():
    sink = SmtpSink()
    controller, port = start_smtp(sink)
    sink.port = port
    yield sink
    controller.stop()


@pytest.fixture(scope="module")
def page(console):
    from playwright.sync_api import sync_playwright
    with sync_playwright() as p:
        browser = launch_browser(p)
        context = browser.new_context(accept_downloads=True, locale="zh-CN",
                                      viewport={"width": 1400, "height": 900})
        pg = context.new_page()
        pg.set_default_timeout(30_000)
        pg.goto(console.start_url)
        yield pg
        browser.close()


def board_row(page, code: str) -> str:
    return page.inner_text(f"#board tr[data-unit='{code}']")


def send(page, smtp) -> str:
    """Fill the page's SMTP form, send, and return the job's summary."""
    page.fill("#send-form input[name=host]", "127.0.0.1")
    page.select_option("#send-form select[name=security]", "plain")
    page.fill("#send-form input[name=port]", str(smtp.port))
    page.fill("#send-form input[name=user]", SMTP_USER)
    page.fill("#send-form input[name=password]", SMTP_PASSWORD)
    page.fill("#send-form input[name=pause]", "0")
    page.click("#send-form button[type=submit]")
    page.wait_for_selector("#job[data-state]")
    assert page.get_attribute("#job", "data-state") == "done", page.inner_text("#job")
    assert page.input_value("#send-form input[name=password]") == ""
    return page.inner_text("#job-summary")


def received(smtp, since: int) -> list:
    return [email.message_from_bytes(raw, policy=policy.default) for _, _, raw in smtp.messages[since:]]


@pytest.mark.browser
def test_a_units_own_deadline_is_set_and_removed_on_the_status_board(console, page):
    page.goto(f"{console.base}/c/{quote(KEY)}")
    assert "逾期" in board_row(page, "619001") and "2022-05-27" in board_row(page, "619001")
    row = page.locator("#board tr[data-unit='619001']")
    row.locator("details.extend summary").click()
    row.locator("input[name=day]").fill("2099-12-31")
    shot(page, "20-报送情况-填写延期")
    row.locator("button", has_text="保存").click()
    assert "已为 619001 渭水县 延期至 2099-12-31" in page.inner_text("p.saved")
    text = board_row(page, "619001")
    assert "2099-12-31" in text and "延期" in text
    assert page.locator("#board tr[data-unit='619001'] span.late").count() == 0
    assert "2022-05-27" in board_row(page, "619002")            # the others keep the common one
    assert load_campaign(console.root).extensions == {"619001": {"materials": date(2099, 12, 31)}}
    shot(page, "21-报送情况-延期")
    row.locator("details.extend summary").click()
    row.locator("button", has_text="取消延期").click()
    assert "已取消 619001 渭水县 的延期" in page.inner_text("p.saved")
    assert page.locator("#board tr[data-unit='619001'] span.late").count() == 1
    assert load_campaign(console.root).extensions == {}


@pytest.mark.browser
def test_feedback_goes_back_from_the_status_board_once(console, page, smtp):
    page.goto(f"{console.base}/c/{quote(KEY)}")
    assert page.locator("#board tr[data-unit='619001'] a.mail-link", has_text="邮件发回").count() == 0
    page.click("#board tr[data-unit='619002'] a.mail-link:has-text('邮件发回')")
    page.wait_for_url(re.compile(r"/mail/feedback#u-619002$"))
    rows = page.locator("#followups tbody tr[data-unit]")
    assert rows.count() == 1
    text = page.inner_text("#followups tr[data-unit='619002']")
    assert "qinling@qinchuan.example.cn" in text and "问题清单" in text and "待发送" in text
    shot(page, "22-邮件-发回问题清单-草稿")
    before = len(smtp.messages)
    assert "本次发出 1 封" in send(page, smtp)
    [msg] = received(smtp, before)
    names = [p.get_filename() for p in msg.iter_attachments()]
    assert names == ["619002-秦岭区-问题清单.xlsx", "619002-秦岭区-标注.xlsx"], names
    page.click("#job-link")                         # the page again, as the ledger now has it
    assert "不再重发" in page.inner_text("#followups tr[data-unit='619002']")
    assert page.locator("#send-form").count() == 0 and page.locator("#all-sent").count() == 1
    shot(page, "23-邮件-发回问题清单-已发送")
    stored = [p for p in console.root.rglob("*") if p.is_file() and SMTP_PASSWORD.encode() in p.read_bytes()]
    assert stored == []


@pytest.mark.browser
def test_receipts_reminders_and_results_each_sent_once(console, page, smtp):
    base = f"{console.base}/c/{quote(KEY)}/mail"
    page.goto(base)
    page.click("#mail-tabs >> text=发送回执")
    assert "619001 渭水县" in page.inner_text("#followups")
    before = len(smtp.messages)
    assert "本次发出 1 封" in send(page, smtp)           # to the contact the 自评表 names
    assert [m["To"].addresses[0].addr_spec for m in received(smtp, before)] == ["xw619001@163.com"]
    shot(page, "24-邮件-回执")

    page.click("#mail-tabs >> text=催报")
    assert "619003 终南县" in page.inner_text("#followups") and "缺少邮箱" in page.inner_text("#followups")
    shot(page, "25-邮件-催报")
    before = len(smtp.messages)
    assert "本次发出 2 封" in send(page, smtp)      # 秦岭区's only return was sent back
    to = sorted(m["To"].addresses[0].addr_spec for m in received(smtp, before))
    assert "zhongnan@qinchuan.example.cn" in to and len(to) == 2

    page.click("#mail-tabs >> text=发送考核结果")     # no `report` run first: the console does it
    assert "619001 渭水县" in page.inner_text("#followups") and "反馈单" in page.inner_text("#followups")
    shot(page, "26-邮件-考核结果")
    before = len(smtp.messages)
    assert "本次发出" in send(page, smtp)
    assert all(any("反馈单" in (p.get_filename() or "") for p in m.iter_attachments())
               for m in received(smtp, before))

    total = len(smtp.messages)               # a second round delivers nothing new
    session = open_session(console)
    for kind in ("feedback", "receipt", "remind", "results"):
        status, _, text = post(console, session, f"/c/{quote(KEY)}/mail/{kind}",
                               {"host": "127.0.0.1", "port": str(smtp.port), "security": "plain",
                                "user": SMTP_USER, "password": SMTP_PASSWORD, "pause": "0"},
                               extra={"Accept": "application/json"})
        assert status == 200, text
        job = wait_job(console, session, text)
        assert job["state"] == "done" and "本次发出 0 封" in job["summary"][0], job
    assert len(smtp.messages) == total


@pytest.mark.browser
def test_settings_page_edits_campaign_yaml_with_the_librarys_rules(console, page):
    page.goto(f"{console.base}/c/{quote(KEY)}")
    page.click("nav >> text=考核设置")
    page.fill("input[name=title]", "秦川市2022年知识产权考核（补充）")
    page.fill("input[name=office_phone]", "029-12345678")
    page.fill("input[name=office_email]", "不是邮箱")
    page.click("#settings-form button[type=submit]")
    assert page.locator("#issues li[data-code=C010]").count() == 1
    assert "邮箱" in page.inner_text("#issues .where")
    assert "bad" in page.get_attribute("input[name=office_email]", "class")
    assert page.input_value("input[name=office_phone]") == "029-12345678"   # what was typed is kept
    shot(page, "27-考核设置-邮箱有误")
    assert "029-12345678" not in (console.root / "campaign.yaml").read_text(encoding="utf-8")
    page.fill("input[name=office_email]", "zscq@qinchuan.example.cn")
    page.fill("input[name=contact]", "2022-05-20")
    page.click("#settings-form button[type=submit]")
    assert "已保存" in page.inner_text("p.saved")
    shot(page, "28-考核设置-已保存")
    text = (console.root / "campaign.yaml").read_text(encoding="utf-8")
    assert text.startswith("# 考核活动（由 xlsx-workflow init 生成）")
    doc = yaml.safe_load(text)
    assert doc["title"] == "秦川市2022年知识产权考核（补充）"
    assert doc["office"]["phone"] == "029-12345678" and doc["office"]["email"] == "zscq@qinchuan.example.cn"
    assert doc["deadlines"] == {"contact": "2022-05-20", "materials": "2022-05-27"}
    assert "秦川市2022年知识产权考核（补充）" in page.inner_text("header.top")


def test_bad_settings_are_refused_in_chinese_and_nothing_saved(console):
    before = (console.root / "campaign.yaml").read_bytes()
    camp = load_campaign(console.root)
    session = open_session(console)
    for fields, code in (({"materials": "2022-13-40"}, "C003"), ({"title": " "}, "W009"),
                         ({"office_email": "a@b"}, "C010")):
        values = {"title": camp.title, "materials": "2022-05-27", "contact": "",
                  "office_email": camp.office.email, **fields}
        status, _, text = post(console, session, f"/c/{quote(KEY)}/settings", values)
        assert status == 400 and f'data-code="{code}"' in text, text
        assert (console.root / "campaign.yaml").read_bytes() == before


@pytest.mark.browser
def test_review_and_figure_messages_do_not_tell_the_office_to_run_score(console, page):
    page.goto(f"{console.base}/c/{quote(KEY)}/review?unit=619001")
    clause = next(r.get_attribute("data-clause") for r in page.query_selector_all("#review-form tr[data-clause]")
                  if r.query_selector("td.computed").inner_text().strip() not in ("", "0"))
    page.fill(f"#review-form input[name='points|{clause}']", "0")   # differs, and no reason given
    page.fill("#review-form input[name=reviewer]", "赵审核")
    page.click("#review-form button[type=submit]")
    issue = page.locator("#issues li[data-code=S010]")
    assert issue.count() == 1
    text = issue.inner_text()
    assert "运行 score" not in text and "自动重新计算" in text and "“审核”页面" in text
    shot(page, "29-审核-缺少核定理由")


class _Blank(dict):
    def __missing__(self, key):
        return f"<{key}>"


@pytest.mark.parametrize("code", sorted(CONSOLE_ADVICE))
def test_every_rerun_score_message_gets_console_wording(code):
    """The catalogue (used by the CLI) is unchanged; the console's copy says what to do there."""
    severity, template = CATALOGUE[code]
    original = Issue(code, severity, template.format_map(_Blank()), "某表")
    shown = for_console(original)
    assert "运行 " in original.message and "运行 " not in shown.message
    assert "页面" in shown.message and shown.where == "某表" and shown.code == code
    assert shown.message.split("。")[0] == original.message.split("。")[0]   # the finding kept
