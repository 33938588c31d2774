"""`mail`: .eml drafts with Chinese attachment names, the 发送清单, and delivery to a real SMTP
server (aiosmtpd) on 127.0.0.1 — once per unit, retried on a temporary failure."""
import json
import sqlite3
import ssl
from email import policy
from email.parser import BytesParser

import openpyxl
import pytest
from click.testing import CliRunner

from mailhelpers import camp, generated  # noqa: F401  (pytest fixtures)
from mailhelpers import (OFFICE, SMTP_PASSWORD, SMTP_USER, SmtpSink, free_port,
                         self_signed, start_smtp)
from xlsx_workflow.cli import main
from xlsx_workflow.layout import layout
from xlsx_workflow.mail import SmtpSettings, prepare_mail, send_mail
from xlsx_workflow.messages import WorkflowError


@pytest.fixture
def smtp():
    sink = SmtpSink()
    controller, port = start_smtp(sink)
    sink.port = port
    yield sink
    controller.stop()


def settings(port, **kw) -> SmtpSettings:
    base = dict(host="127.0.0.1", port=port, security="plain", user=SMTP_USER,
                password=SMTP_PASSWORD, pause=0, retries=2)
    return SmtpSettings(**{**base, **kw})


def parse(raw: bytes):
    return BytesParser(policy=policy.default).parsebytes(raw)


def codes(issues) -> list[str]:
    return [i.code for i in issues]


def mail_rows(camp) -> list[dict]:
    db = sqlite3.connect(layout(camp).ledger_file)
    db.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in db.execute("SELECT * FROM mail ORDER BY id")]
    finally:
        db.close()


def check_message(camp, msg, code, name, to):
    """Recipient, subject, decodable Chinese attachment names, bytes identical to generate/."""
    lay = layout(camp)
    assert msg["To"].addresses[0].addr_spec == to
    assert str(msg["From"].addresses[0].addr_spec) == OFFICE
    assert name in msg["Subject"] and "自评表" in msg["Subject"]
    body = msg.get_body(("plain",)).get_content()
    assert "2099年5月27日" in body and "0376-6312865" in body
    attached = {a.get_filename(): a.get_content() for a in msg.iter_attachments()}
    wb, cf = lay.workbook_path(code, name), lay.contact_form_path(code, name)
    assert attached == {wb.name: wb.read_bytes(), cf.name: cf.read_bytes()}
    assert f"{code}-{name}-自评表.xlsx" in attached


def check_attachment_names(raw: bytes, names: list[str]) -> None:
    """Each attachment name in both RFC 2231 and RFC 2047, read back by the modern parser and by
    the legacy compat32 one (get_filename, then decode_header as old scripts and clients do)."""
    import email
    from email.header import decode_header, make_header
    head = raw.split(b"\r\n\r\n--", 1)[1]
    assert head.count(b"filename*=utf-8''") == len(names)
    assert head.count(b'filename="=?utf-8?b?') == len(names)
    assert head.count(b'name="=?utf-8?b?') == 2 * len(names)  # Content-Type name= too
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    modern = email.message_from_bytes(raw, policy=policy.default)
    assert [a.get_filename() for a in modern.iter_attachments()] == names
    assert not any(a.defects for a in modern.iter_attachments())
    legacy = email.message_from_bytes(raw, policy=policy.compat32)
    parts = [p for p in legacy.walk() if p.get("Content-Disposition", "").startswith("attachment")]
    assert [str(make_header(decode_header(p.get_filename()))) for p in parts] == names
    assert [str(make_header(decode_header(p.get_param("name")))) for p in parts] == names


def test_drafts_have_chinese_attachment_names_and_a_send_list(camp):
    result = prepare_mail(camp)
    assert codes(result.warnings) == ["M001"] and "411521 罗山县" in result.warnings[0].message
    drafts = {d.unit_code: d for d in result.drafts}
    assert drafts["411521"].path is None and "缺少邮箱" in drafts["411521"].status
    for code, name, to in (("411502", "浉河区", "shihe@county.example.cn"),
                           ("411503", "平桥区", "pingqiao@county.example.cn")):
        raw = drafts[code].path.read_bytes()
        check_attachment_names(raw, [f"{code}-{name}-自评表.xlsx", f"{code}-{name}-联系人信息表.xlsx"])
        check_message(camp, parse(raw), code, name, to)
        assert parse(raw)["X-Unsent"] == "1"  # Outlook opens it as a draft
    assert drafts["411502"].path.parent == layout(camp).mail_drafts_dir
    sheet = openpyxl.load_workbook(layout(camp).mail_list_file).active
    rows = [[c.value for c in r] for r in sheet.iter_rows(min_row=2)]
    assert rows[0] == ["单位", "收件人", "主题", "附件", "状态"]
    assert rows[1][0] == "411502 浉河区" and rows[1][1] == "shihe@county.example.cn"
    assert "411502-浉河区-自评表.xlsx" in rows[1][3] and rows[1][4] == "待发送"
    assert rows[3][0] == "411521 罗山县" and "缺少邮箱" in rows[3][4]
    # deterministic: the same campaign gives the same drafts, byte for byte
    before = drafts["411502"].path.read_bytes()
    prepare_mail(camp)
    assert drafts["411502"].path.read_bytes() == before
    assert not layout(camp).ledger_file.exists() or mail_rows(camp) == []  # a dry run sends nothing


def test_office_template_in_the_campaign_is_used(camp):
    own = layout(camp).mail_templates_dir
    run = CliRunner().invoke(main, ["mail", str(camp), "--edit-template", "--json"])
    assert run.exit_code == 0, run.output
    assert json.loads(run.stdout)["files"] == [str(own / "notice.txt.j2")]
    assert "主题：" in (own / "notice.txt.j2").read_text(encoding="utf-8")
    (own / "notice.txt.j2").write_text("主题：请报送{{ unit.name }}材料\n\n{{ office.name }}提醒：{{ deadlines.materials }}前报送。\n",
                                      encoding="utf-8")
    draft = next(d for d in prepare_mail(camp).drafts if d.unit_code == "411502")
    msg = parse(draft.path.read_bytes())
    assert msg["Subject"] == "请报送浉河区材料"
    assert "2099年5月27日前报送" in msg.get_body(("plain",)).get_content()
    (own / "notice.txt.j2").write_text("主题：{{ unit.nmae }}\n", encoding="utf-8")
    with pytest.raises(WorkflowError) as err:
        prepare_mail(camp)
    assert codes(err.value.issues) == ["M004"]
    (own / "notice.txt.j2").write_text("没有主题行\n正文\n", encoding="utf-8")
    with pytest.raises(WorkflowError) as err:
        prepare_mail(camp)
    assert codes(err.value.issues) == ["M004"] and "主题" in err.value.issues[0].message


def test_missing_office_email_and_missing_files_are_reported(camp):
    lay = layout(camp)
    lay.workbook_path("411503", "平桥区").unlink()
    result = prepare_mail(camp)
    assert codes(result.errors) == ["M002"] and "平桥区" in result.errors[0].message
    assert next(d for d in result.drafts if d.unit_code == "411503").path is None
    text = lay.campaign_file.read_text(encoding="utf-8").replace(OFFICE, "")
    lay.campaign_file.write_text(text, encoding="utf-8")
    with pytest.raises(WorkflowError) as err:
        prepare_mail(camp)
    assert codes(err.value.issues) == ["M003"]


def test_send_delivers_each_unit_once(camp, smtp):
    result = send_mail(camp, settings(smtp.port))
    assert result.sent == ["411502", "411503"] and not result.failed
    assert smtp.logins == [(SMTP_USER, SMTP_PASSWORD)]
    got = {rcpts[0]: parse(raw) for _, rcpts, raw in smtp.messages}
    assert sorted(got) == ["pingqiao@county.example.cn", "shihe@county.example.cn"]
    check_message(camp, got["shihe@county.example.cn"], "411502", "浉河区", "shihe@county.example.cn")
    check_attachment_names(next(raw for _, r, raw in smtp.messages if r == ["shihe@county.example.cn"]),
                           ["411502-浉河区-自评表.xlsx", "411502-浉河区-联系人信息表.xlsx"])
    check_message(camp, got["pingqiao@county.example.cn"], "411503", "平桥区",
                  "pingqiao@county.example.cn")
    assert all(f == OFFICE for f, _, _ in smtp.messages)
    assert got["shihe@county.example.cn"]["Date"] is not None
    assert got["shihe@county.example.cn"]["X-Unsent"] is None
    rows = mail_rows(camp)
    assert [(r["unit_code"], r["kind"], r["status"]) for r in rows] == \
        [("411502", "send", "sent"), ("411503", "send", "sent")]
    assert rows[0]["message_id"] == got["shihe@county.example.cn"]["Message-ID"]
    assert SMTP_PASSWORD not in json.dumps(rows, ensure_ascii=False)
    # the second run sends nothing
    again = send_mail(camp, settings(smtp.port))
    assert again.sent == [] and again.skipped == ["411502", "411503"]
    assert codes(again.warnings).count("M009") == 2
    assert len(smtp.messages) == 2 and len(mail_rows(camp)) == 2
    sheet = openpyxl.load_workbook(layout(camp).mail_list_file).active
    assert "不再重发" in sheet["E3"].value
    # a regenerated workbook (new attachment bytes) is mailed again
    wb = layout(camp).workbook_path("411502", "浉河区")
    wb.write_bytes(wb.read_bytes() + b"\0")
    third = send_mail(camp, settings(smtp.port))
    assert third.sent == ["411502"] and len(smtp.messages) == 3


def test_temporary_failure_is_retried(camp, smtp):
    smtp.fail_first = 1  # the first DATA gets “451 try again later”
    waits = []
    result = send_mail(camp, settings(smtp.port, pause=0.5), sleep=waits.append)
    assert result.sent == ["411502", "411503"] and len(smtp.messages) == 2
    assert smtp.data_commands == 3
    assert waits == [1.0, 0.5]  # retry back-off (pause × 2), then the pause between messages
    detail = json.loads(mail_rows(camp)[0]["detail"])
    assert detail["attempts"] == 2


def test_temporary_failures_give_up_after_retries(camp, smtp):
    smtp.fail_first = 100
    result = send_mail(camp, settings(smtp.port, retries=1))
    assert result.failed == ["411502", "411503"] and codes(result.errors) == ["M007", "M007"]
    assert "451" in result.errors[0].message
    assert [r["status"] for r in mail_rows(camp)] == ["failed", "failed"]
    smtp.fail_first = 0
    assert send_mail(camp, settings(smtp.port)).sent == ["411502", "411503"]  # failures retried


def test_refused_recipient_is_a_permanent_failure(camp, smtp):
    smtp.refuse = {"shihe@county.example.cn"}
    result = send_mail(camp, settings(smtp.port))
    assert result.failed == ["411502"] and result.sent == ["411503"]
    assert codes(result.errors) == ["M008"] and "550" in result.errors[0].message
    assert smtp.data_commands == 1  # a 5xx is not retried


def test_wrong_password_stops_with_a_hint_about_the_authorisation_code(camp, smtp):
    with pytest.raises(WorkflowError) as err:
        send_mail(camp, settings(smtp.port, password="登录密码"))
    assert codes(err.value.issues) == ["M006"] and "授权码" in err.value.issues[0].message
    assert smtp.messages == []


def test_plain_text_only_to_loopback_and_unreachable_server(camp):
    with pytest.raises(WorkflowError) as err:
        send_mail(camp, settings(25, host="smtp.163.com"))
    assert codes(err.value.issues) == ["M005"]
    with pytest.raises(WorkflowError) as err:
        send_mail(camp, settings(free_port(), retries=1), sleep=lambda s: None)
    assert codes(err.value.issues) == ["M010"]
    assert [r["status"] for r in mail_rows(camp)] == ["failed"]


@pytest.mark.parametrize("security", ["ssl", "starttls"])
def test_send_over_tls(camp, tmp_path, monkeypatch, security):
    cert, key = self_signed(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    sink = SmtpSink()
    tls = {"ssl_context": context} if security == "ssl" else \
        {"tls_context": context, "require_starttls": True}
    controller, port = start_smtp(sink, **tls)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # trust the test certificate
    try:
        result = send_mail(camp, settings(port, security=security))
    finally:
        controller.stop()
    assert result.sent == ["411502", "411503"] and len(sink.messages) == 2
    assert sink.logins == [(SMTP_USER, SMTP_PASSWORD)]


def test_cli_mail_dry_run_and_send(camp, smtp):
    runner = CliRunner()
    dry = runner.invoke(main, ["mail", str(camp), "--json"])
    assert dry.exit_code == 0, dry.output
    doc = json.loads(dry.stdout)
    assert doc["list"].endswith("发送清单.xlsx") and len(doc["drafts"]) == 3
    assert all(p.startswith("/") for p in doc["files"])
    assert smtp.messages == []
    args = ["mail", str(camp), "--send", "--smtp", "127.0.0.1", "--port", str(smtp.port),
            "--plain", "--user", SMTP_USER, "--pause", "0", "--json"]
    prompted = runner.invoke(main, args, input=SMTP_PASSWORD + "\n", env={"XW_SMTP_PASSWORD": ""})
    assert prompted.exit_code == 0, prompted.output
    assert json.loads(prompted.stdout)["sent"] == ["411502", "411503"]
    assert "授权码" in prompted.output and SMTP_PASSWORD not in prompted.output  # hidden input
    again = runner.invoke(main, args, env={"XW_SMTP_PASSWORD": SMTP_PASSWORD})
    assert again.exit_code == 0, again.output
    assert json.loads(again.stdout)["skipped"] == ["411502", "411503"]
    assert len(smtp.messages) == 2
    # nothing left to send: no password is asked for
    quiet = runner.invoke(main, args, env={"XW_SMTP_PASSWORD": ""})
    assert quiet.exit_code == 0 and "授权码" not in quiet.output
    dry_again = json.loads(runner.invoke(main, ["mail", str(camp), "--json"]).stdout)
    assert dry_again["skipped"] == ["411502", "411503"]
    assert "不再重发" in dry_again["drafts"][0]["status"]


@pytest.mark.parametrize("name", [
    "说明.xlsx",
    "411502-浉河区-联系人信息表-问题清单.xlsx",
    "411502-" + "很长的单位名称" * 16 + "-标注.xlsx",  # RFC 2231 split into filename*0*, *1* …
])
def test_attachment_names_of_any_length_survive_every_parser(name):
    import email
    from email.header import decode_header, make_header
    from email.message import EmailMessage
    from xlsx_workflow.mimenames import POLICY, attach
    msg = EmailMessage(policy=policy.SMTP)
    msg["Subject"] = "附件"
    msg.set_content("正文")
    attach(msg, b"data", "application", "octet-stream", name)
    raw = msg.as_bytes(policy=POLICY)
    assert all(len(line) <= 998 for line in raw.split(b"\r\n"))
    words = [w for w in raw.split() if w.startswith((b'"=?utf-8?b?', b"=?utf-8?b?"))]
    assert words and all(len(w.strip(b'";')) <= 75 for w in words)  # RFC 2047's limit
    [part] = email.message_from_bytes(raw, policy=policy.default).iter_attachments()
    assert part.get_filename() == name and part.get_content() == b"data"
    legacy = email.message_from_bytes(raw, policy=policy.compat32).get_payload()[1]
    assert str(make_header(decode_header(legacy.get_filename()))) == name
    again = email.message_from_bytes(
        email.message_from_bytes(raw, policy=POLICY).as_bytes(policy=POLICY), policy=policy.default)
    assert [a.get_filename() for a in again.iter_attachments()] == [name]  # as --send re-reads it
