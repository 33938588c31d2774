"""`mail --feedback/--receipt/--remind/--results` and per-unit deadline extensions, through the
real CLI against a real SMTP server (aiosmtpd) on 127.0.0.1: every kind of message is sent once,
a re-run sends nothing new, a new return gets a new receipt; attachment names survive every
parser; late marking and reminders follow the unit's own (extended) deadline."""
import email
import json
import sqlite3
from datetime import date, timedelta
from email import policy
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from mailhelpers import camp, generated  # noqa: F401  (pytest fixtures)
from mailhelpers import SMTP_PASSWORD, SMTP_USER, SmtpSink, start_smtp
from returns_corpus import CORPUS, make_valid
from test_mail import check_attachment_names
from xlsx_workflow.cli import main
from xlsx_workflow.layout import layout
from xlsx_workflow.outbox import prepare_followups

PINGQIAO = "pingqiao@county.example.cn"  # 平桥区 in units.csv (its 自评表 is refused at first)
# the corpus names one contact (张伟) on every 自评表's 联系人 sheet: once a unit's 自评表 is in,
# that address beats units.csv (issue 10 item 8: the workbook's own contacts count)
SHEET_CONTACT = "zhangwei@163.com"
TODAY = date.today()


@pytest.fixture
def smtp():
    sink = SmtpSink()
    controller, port = start_smtp(sink)
    sink.port = port
    yield sink
    controller.stop()


def cli(*args, ok=True, **kw):
    run = CliRunner().invoke(main, [str(a) for a in args], **kw)
    if ok:
        assert run.exit_code == 0, run.output
    return run


def send_args(camp, smtp, *kinds):
    return ["mail", camp, *kinds, "--send", "--smtp", "127.0.0.1", "--port", smtp.port, "--plain",
            "--user", SMTP_USER, "--pause", "0", "--json"]


def set_deadline(camp, day: date) -> None:
    lay = layout(camp)
    text = lay.campaign_file.read_text(encoding="utf-8")
    lay.campaign_file.write_text(text.replace("materials: '2099-05-27'",
                                              f"materials: '{day.isoformat()}'"), encoding="utf-8")


def returns(camp, tmp_path, name, builder=make_valid, unit=("411502", "浉河区")):
    src = layout(camp).workbook_path(*unit)
    return builder(src, tmp_path / "收件" / name)


def parse(raw: bytes):
    return email.message_from_bytes(raw, policy=policy.default)


def delivered(smtp) -> list[tuple[str, str]]:
    """(recipient, subject) of every message the server accepted, in order."""
    return [(rcpts[0], parse(raw)["Subject"]) for _, rcpts, raw in smtp.messages]


def message_rows(camp) -> list[dict]:
    db = sqlite3.connect(layout(camp).ledger_file)
    db.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in db.execute("SELECT * FROM messages ORDER BY id")]
    finally:
        db.close()


def test_every_follow_up_is_sent_once_and_a_new_return_gets_a_new_receipt(camp, tmp_path, smtp):
    set_deadline(camp, TODAY - timedelta(days=1))              # 浉河区's deadline has passed
    cli("extend", camp, "411503", TODAY + timedelta(days=2))   # 平桥区 has two more days
    good = returns(camp, tmp_path, "浉河区.xlsx")
    bad = returns(camp, tmp_path, "平桥区.xlsx", CORPUS["text_in_count"][0], ("411503", "平桥区"))
    cli("import", camp, good, bad, "--jobs", "1")
    status = {u["unit_code"]: u for u in json.loads(cli("status", camp, "--json").stdout)["units"]}
    assert status["411502"]["late"] is True and status["411503"]["status"] == "rejected"
    missing = cli("status", camp).output  # each unit by its own deadline and state
    assert f"[B003] 警告：411503 平桥区 报送的自评表均被退回（有错误，未计分），截止日期 " \
        f"{TODAY + timedelta(days=2)}。请把问题清单发回该单位" in missing
    assert f"[B002] 警告：411521 罗山县 尚未报送自评表，截止日期 {TODAY - timedelta(days=1)} 已过1天。" \
        "请催报。" in missing

    dry = json.loads(cli("mail", camp, "--feedback", "--receipt", "--remind", "--json").stdout)
    drafts = {(d["kind"], d["unit_code"]): d for d in dry["drafts"]}
    assert sorted(k for k, d in drafts.items() if d["path"]) == \
        [("feedback", "411503"), ("receipt", "411502"), ("remind", "411503")]
    assert drafts[("remind", "411521")]["path"] is None  # 罗山县 has no address: M001
    assert "M001" in [w["code"] for w in dry["warnings"]]
    assert [p.rsplit("/", 1)[-1] for p in dry["lists"]] == \
        ["发送清单-问题反馈.xlsx", "发送清单-回执.xlsx", "发送清单-催报.xlsx"]
    assert smtp.messages == [] and message_rows(camp) == []  # a dry run sends nothing
    feedback_names = ["411503-平桥区-问题清单.xlsx", "411503-平桥区-标注.xlsx"]
    check_attachment_names(Path(drafts[("feedback", "411503")]["path"]).read_bytes(), feedback_names)

    cli("report", camp)
    env = {"XW_SMTP_PASSWORD": SMTP_PASSWORD}
    sent = json.loads(cli(*send_args(camp, smtp, "--feedback", "--receipt", "--remind",
                                     "--results"), env=env).stdout)
    assert sorted((x["kind"], x["unit_code"]) for x in sent["sent"]) == \
        [("feedback", "411503"), ("receipt", "411502"), ("remind", "411503"), ("results", "411502")]
    got = {(to, subject.split("】")[1]): parse(raw) for (to, subject), (_, _, raw)
           in zip(delivered(smtp), smtp.messages)}
    assert sorted(got) == [(PINGQIAO, "平桥区自评表问题反馈（需修改后重新报送）"),
                           (PINGQIAO, f"请于{TODAY + timedelta(days=2):%Y年%-m月%-d日}前报送平桥区自评表"),
                           (SHEET_CONTACT, "浉河区考核结果反馈"), (SHEET_CONTACT, "浉河区自评表回执（第1版已收到）")]
    raws = {parse(raw)["Subject"]: raw for _, _, raw in smtp.messages}
    check_attachment_names(next(r for s, r in raws.items() if "问题反馈" in s), feedback_names)
    check_attachment_names(next(r for s, r in raws.items() if "考核结果" in s),
                           ["411502-浉河区-反馈单.xlsx"])
    receipt = got[(SHEET_CONTACT, "浉河区自评表回执（第1版已收到）")].get_body(("plain",)).get_content()
    assert "收到时间" in receipt and "第1版" in receipt and "系统计算总分" in receipt
    assert "已过截止日期" in receipt and "核定" in receipt
    assert [r["status"] for r in message_rows(camp)] == ["sent"] * 4
    assert SMTP_PASSWORD not in json.dumps(message_rows(camp), ensure_ascii=False)

    # the same command again sends nothing, asks for no password, and says why
    again = cli(*send_args(camp, smtp, "--feedback", "--receipt", "--remind", "--results"),
                env={"XW_SMTP_PASSWORD": ""})
    doc = json.loads(again.stdout)
    assert doc["sent"] == [] and len(doc["skipped"]) == 4 and len(smtp.messages) == 4
    assert [w["code"] for w in doc["warnings"]].count("M015") == 4 and "授权码" not in again.output
    assert all(d["path"] for d in doc["drafts"] if d["unit_code"] != "411521")  # drafts kept

    # 平桥区 sends a corrected workbook: it gets a receipt; the feedback and reminder are done
    fixed = returns(camp, tmp_path, "平桥区（改）.xlsx", unit=("411503", "平桥区"))
    cli("import", camp, fixed, "--jobs", "1")
    third = json.loads(cli(*send_args(camp, smtp, "--feedback", "--receipt", "--remind"),
                           env=env).stdout)
    assert third["sent"] == [{"kind": "receipt", "unit_code": "411503"}]
    assert delivered(smtp)[-1] == (SHEET_CONTACT, parse(smtp.messages[-1][2])["Subject"])
    assert "第2版" in parse(smtp.messages[-1][2])["Subject"]
    status = {u["unit_code"]: u for u in json.loads(cli("status", camp, "--json").stdout)["units"]}
    assert status["411503"]["late"] is False  # within its extension
    sheet = openpyxl.load_workbook(layout(camp).mail_dir / "发送清单-回执.xlsx").active
    rows = [[c.value for c in r] for r in sheet.iter_rows(min_row=3)]
    assert [r[0] for r in rows] == ["411502 浉河区", "411503 平桥区"]
    assert "不再重发" in rows[0][4] and rows[1][4].startswith("已于")


def test_reminders_follow_the_units_own_deadline(camp):
    set_deadline(camp, date(2022, 5, 27))
    cli("extend", camp, "411503", "2022-06-03")

    def remind(today, days=3):
        result = prepare_followups(camp, ["remind"], days, today)
        due = {d.unit_code: d for d in result.drafts if d.path}
        return due, [w.code for w in result.warnings]

    due, notes = remind(date(2022, 5, 20))  # a week ahead: nobody yet
    assert due == {} and notes.count("M018") == 3  # 罗山县 too (it has no address)
    due, _ = remind(date(2022, 5, 20), days=7)
    assert sorted(due) == ["411502"]
    body = parse(due["411502"].path.read_bytes()).get_body(("plain",)).get_content()
    assert "2022年5月27日" in body and "还有 7 天" in body
    due, notes = remind(date(2022, 5, 31))  # 浉河区 overdue, 平桥区 3 days before its extension
    assert sorted(due) == ["411502", "411503"]
    assert "逾期" in parse(due["411502"].path.read_bytes())["Subject"]
    assert "2022年6月3日" in parse(due["411503"].path.read_bytes())["Subject"]
    assert "还有 3 天" in parse(due["411503"].path.read_bytes()).get_body(("plain",)).get_content()
    due, notes = remind(date(2022, 5, 31), days=1)
    assert sorted(due) == ["411502"] and "M018" in notes  # 3 days left for 平桥区
    assert [p.name for p in (layout(camp).mail_drafts_dir / "催报").iterdir()] == \
        ["411502-浉河区.eml"]  # the draft no longer due is removed


def test_follow_up_templates_are_editable(camp, tmp_path):
    own = layout(camp).mail_templates_dir
    run = cli("mail", camp, "--edit-template", "--receipt", "--remind", "--json")
    assert json.loads(run.stdout)["files"] == [str(own / "receipt.txt.j2"), str(own / "remind.txt.j2")]
    (own / "remind.txt.j2").write_text("主题：{{ unit.name }}请报送\n\n截止{{ deadline }}。\n",
                                       encoding="utf-8")
    set_deadline(camp, TODAY)
    doc = json.loads(cli("mail", camp, "--remind", "--json").stdout)
    draft = next(d for d in doc["drafts"] if d["unit_code"] == "411502")
    msg = parse(Path(draft["path"]).read_bytes())
    assert msg["Subject"] == "浉河区请报送"
    assert msg.get_body(("plain",)).get_content().strip() == f"截止{TODAY.year}年{TODAY.month}月{TODAY.day}日。"
    (own / "remind.txt.j2").write_text("主题：{{ unit.nmae }}\n", encoding="utf-8")
    bad = cli("mail", camp, "--remind", ok=False)
    assert bad.exit_code != 0 and "[M004]" in bad.output


def test_results_need_a_report_first(camp):
    run = cli("mail", camp, "--results", ok=False)
    assert run.exit_code != 0 and "[M016]" in run.output and "report" in run.output


def test_missing_feedback_sheet_is_reported(camp, tmp_path):
    cli("import", camp, returns(camp, tmp_path, "浉河区.xlsx"), "--jobs", "1")
    cli("report", camp)
    for p in layout(camp).unit_feedback_dir.glob("*.xlsx"):
        p.unlink()
    run = cli("mail", camp, "--results", "--json", ok=False)
    assert run.exit_code == 1 and "M017" in [e["code"] for e in json.loads(run.stdout)["errors"]]


def test_extensions_in_campaign_yaml_are_checked(camp):
    lay = layout(camp)
    listed = json.loads(cli("extend", camp, "411502", "2099-06-03", "--json").stdout)
    assert listed["extensions"] == [{"unit_code": "411502", "unit_name": "浉河区",
                                     "materials": "2099-06-03", "contact": "2099-05-18"}]
    assert "'411502': '2099-06-03'" in lay.campaign_file.read_text(encoding="utf-8")
    cli("extend", camp, "411503", "2099-05-25", "--contact")
    early = cli("extend", camp, "411521", "2099-05-01")
    assert "[C009]" in early.output  # not later than the deadline: no effect
    unknown = cli("extend", camp, "999999", "2099-06-01", ok=False)
    assert "[C030]" in unknown.output and "999999" in unknown.output  # typed, not in campaign.yaml
    assert "campaign.yaml 的 extensions" not in unknown.output
    text = lay.campaign_file.read_text(encoding="utf-8")
    lay.campaign_file.write_text(text + "  '411522': 2099-06-01\n  '411521': 明天\n", encoding="utf-8")
    broken = cli("status", camp, ok=False)
    assert "[C007]" in broken.output and "[C008]" in broken.output
    lay.campaign_file.write_text(text, encoding="utf-8")
    cli("extend", camp, "411502", "--remove")
    doc = json.loads(cli("extend", camp, "--json").stdout)
    assert [e["unit_code"] for e in doc["extensions"]] == ["411503", "411521"]
    from xlsx_workflow.campaign import deadline_for, init_campaign, load_campaign
    c = load_campaign(camp)
    assert deadline_for(c, "411503", "contact") == date(2099, 5, 25)
    assert deadline_for(c, "411503") == date(2099, 5, 27) == deadline_for(c, "411521")
    init_campaign(camp, "ip-protection-2021", lay.units_file, "2099-05-27")  # re-init keeps them
    assert load_campaign(camp).extensions == c.extensions


def test_a_version_2_ledger_gains_the_messages_table(tmp_path):
    from xlsx_workflow.ledger import MIGRATIONS, Ledger
    path = tmp_path / "ledger.sqlite"
    db = sqlite3.connect(path)
    for statement in MIGRATIONS[1] + MIGRATIONS[2]:
        db.execute(statement)
    db.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
    db.executemany("INSERT INTO schema_version VALUES (?)", [(1,), (2,)])
    db.commit()
    db.close()
    with Ledger(path) as led:
        assert led.message_sent("411502", "receipt", "h") is None
        led.record_message("411502", "receipt", "h", "<m@x>", "failed", {"to": "a@b.cn"})
        assert led.message_sent("411502", "receipt", "h") is None  # a failure is retried
        led.record_message("411502", "receipt", "h", "<m@x>", "sent", {"to": "a@b.cn"})
        assert led.message_sent("411502", "receipt", "h")["to"] == "a@b.cn"
        assert led.message_sent("411502", "receipt", "other") is None


def test_a_refused_follow_up_is_recorded_and_sent_on_the_next_run(camp, tmp_path, smtp):
    from mailhelpers import free_port
    from xlsx_workflow.mail import SmtpSettings
    from xlsx_workflow.messages import WorkflowError
    from xlsx_workflow.outbox import send_followups
    cli("import", camp, returns(camp, tmp_path, "浉河区.xlsx"), "--jobs", "1")
    settings = SmtpSettings("127.0.0.1", smtp.port, "plain", SMTP_USER, SMTP_PASSWORD, 0, 0)
    smtp.refuse = {SHEET_CONTACT}
    first = send_followups(camp, ["receipt"], settings)
    assert first.failed == [{"kind": "receipt", "unit_code": "411502"}] and first.sent == []
    assert [e.code for e in first.errors] == ["M008"]
    assert [r["status"] for r in message_rows(camp)] == ["failed"]
    smtp.refuse = set()
    assert send_followups(camp, ["receipt"], settings).sent == [{"kind": "receipt",
                                                                 "unit_code": "411502"}]
    assert len(smtp.messages) == 1
    # nothing left to send: the server is not even contacted
    quiet = send_followups(camp, ["receipt"], SmtpSettings("127.0.0.1", free_port(), "plain"))
    assert quiet.sent == [] and quiet.skipped == [{"kind": "receipt", "unit_code": "411502"}]
    cli("import", camp, returns(camp, tmp_path, "平桥区.xlsx", unit=("411503", "平桥区")),
        "--jobs", "1")
    with pytest.raises(WorkflowError) as err:  # a message due and no server: stop, say where
        send_followups(camp, ["receipt"], SmtpSettings("127.0.0.1", free_port(), "plain",
                                                       pause=0, retries=0))
    assert [i.code for i in err.value.issues] == ["M010"]


def test_no_feedback_for_a_unit_whose_latest_version_is_fine(camp, tmp_path):
    import os
    bad = returns(camp, tmp_path, "第1次/浉河区.xlsx", CORPUS["text_in_count"][0])
    good = returns(camp, tmp_path, "第2次/浉河区.xlsx")
    os.utime(bad, (1653000000, 1653000000))    # 2022-05-20: the first version, rejected
    os.utime(good, (1653600000, 1653600000))   # 2022-05-27: the corrected one
    cli("import", camp, good, bad, "--jobs", "1")  # the older file comes later in the batch
    doc = json.loads(cli("mail", camp, "--feedback", "--receipt", "--json").stdout)
    assert [(d["kind"], d["unit_code"]) for d in doc["drafts"]] == [("receipt", "411502")]
