"""`fetch`: replies pulled from a real IMAP server (Dovecot on 127.0.0.1) are saved with their
Chinese attachment names and imported; nothing is fetched twice; a sender who is not the unit's
registered contact is flagged. Saved .eml files can be imported directly."""
import base64
import hashlib
import json
import sqlite3
from datetime import datetime, timedelta, timezone
from email import policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from click.testing import CliRunner

from mailhelpers import camp, generated  # noqa: F401  (pytest fixtures)
from mailhelpers import (IMAP_PASSWORD, IMAP_USER, Dovecot, dovecot_or_skip, fill_contact_form,
                         free_port)
from xlsx_workflow.cli import main
from xlsx_workflow.contacts import contact_for
from xlsx_workflow.campaign import load_campaign
from xlsx_workflow.fetch import ImapSettings, expand_eml_paths, extract_eml, fetch_mail
from xlsx_workflow.importer import import_paths
from xlsx_workflow.layout import layout
from xlsx_workflow.messages import WorkflowError

XLSX = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@pytest.fixture
def imap():
    server = Dovecot(dovecot_or_skip())
    yield server
    server.stop()


def filled_form(camp, tmp_path, code, name, email):
    src = layout(camp).contact_form_path(code, name)
    return fill_contact_form(src, tmp_path / "filled" / f"{code}.xlsx",
                             [(f"{name}市场监督管理局", "张三", "科长", "0376-6312865",
                               "13812345678", "", email)])


def reply(sender, subject, files=(), msg_id=None, date="Mon, 16 May 2022 09:30:00 +0800",
          gbk_names=False) -> bytes:
    """A unit's reply; `gbk_names`: attachment names as RFC 2047 GBK encoded words, the way
    Foxmail and many Chinese webmail clients write them."""
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"], msg["To"], msg["Subject"] = sender, "xyszscqbh@163.com", subject
    msg["Date"] = date
    msg["Message-ID"] = msg_id or f"<{abs(hash((sender, subject)))}@county.example.cn>"
    msg.set_content("附件是我单位的报送材料，请查收。\n")
    for name, data in files:
        msg.add_attachment(data, maintype=XLSX[0], subtype=XLSX[1], filename=name)
        if gbk_names:
            part = msg.get_payload()[-1]
            encoded = "=?GBK?B?" + base64.b64encode(name.encode("gbk")).decode() + "?="
            del part["Content-Disposition"]
            part["Content-Disposition"] = f'attachment; filename="{encoded}"'
    return msg.as_bytes()


def raw_gbk_reply(sender, subject, name, data) -> bytes:
    """A reply whose attachment name is raw 8-bit GBK in both headers (no encoding at all), as
    older Outlook Express, Foxmail and some webmail clients on Chinese Windows send it."""
    raw = reply(sender, subject, [("PLACEHOLDER.xlsx", data)])
    gbk = name.encode("gbk")
    raw = raw.replace(b'filename="PLACEHOLDER.xlsx"', b'filename="' + gbk + b'"')
    return raw.replace(b"spreadsheetml.sheet\r\n", b'spreadsheetml.sheet; name="' + gbk + b'"\r\n', 1)


def settings(server, **kw):
    base = dict(host="127.0.0.1", user=IMAP_USER, password=IMAP_PASSWORD, port=server.port,
                ssl=False)
    return ImapSettings(**{**base, **kw})


def table(camp, sql):
    db = sqlite3.connect(layout(camp).ledger_file)
    db.row_factory = sqlite3.Row
    try:
        return [dict(r) for r in db.execute(sql)]
    finally:
        db.close()


def test_fetch_saves_imports_and_never_fetches_twice(camp, tmp_path, imap):
    form_a = filled_form(camp, tmp_path, "411502", "浉河区", "zhangsan@163.com")
    form_b = filled_form(camp, tmp_path, "411503", "平桥区", "lisi@163.com")
    arrived = datetime(2022, 5, 17, 10, 0, tzinfo=timezone(timedelta(hours=8)))
    imap.append(reply("浉河区 <shihe@county.example.cn>", "回复：浉河区联系人信息表",
                      [("浉河区联系人信息表.xlsx", form_a.read_bytes())], gbk_names=True),
                arrived=arrived)
    imap.append(reply("someone@qq.com", "平桥区报送", [("平桥区-联系人信息表.xlsx",
                                                      form_b.read_bytes())]))
    imap.append(reply("shihe@county.example.cn", "收到，谢谢", msg_id="<thanks@county.example.cn>"))

    result = fetch_mail(camp, settings(imap), jobs=1)
    assert len(result.messages) == 3 and result.seen == 0
    by_subject = {m.subject: m for m in result.messages}
    a = by_subject["回复：浉河区联系人信息表"]
    assert [p.name for p in a.files] == ["浉河区联系人信息表.xlsx"]  # GBK encoded word decoded
    assert a.files[0].read_bytes() == form_a.read_bytes()
    assert a.folder.parent == layout(camp).inbox_dir and a.folder.name.startswith("20220517-")
    assert a.eml.is_file() and a.units == ["411502"]
    b = by_subject["平桥区报送"]
    assert [p.name for p in b.files] == ["平桥区-联系人信息表.xlsx"] and b.units == ["411503"]
    thanks = by_subject["收到，谢谢"]
    assert thanks.files == [] and thanks.status == "no-attachment"

    warned = {w.code: w for w in result.warnings}
    assert sorted(warned) == ["M012", "M013"]
    assert "someone@qq.com" in warned["M012"].message
    assert "pingqiao@county.example.cn" in warned["M012"].message  # both addresses named
    assert "411503 平桥区" in warned["M012"].message
    assert "收到，谢谢" in warned["M013"].message

    returns = table(camp, "SELECT unit_code, kind, status, received_at FROM returns ORDER BY unit_code")
    assert [(r["unit_code"], r["kind"], r["status"]) for r in returns] == \
        [("411502", "contact_form", "accepted"), ("411503", "contact_form", "accepted")]
    # received = when the server got it (INTERNALDATE), not the sender's Date header (05-16)
    assert returns[0]["received_at"].startswith("2022-05-17T02:00:00")
    campaign = load_campaign(camp)
    assert contact_for(campaign, "411502").email == "zhangsan@163.com"  # the form now rules
    fetched = table(camp, "SELECT * FROM mail WHERE kind = 'fetched' ORDER BY id")
    assert len(fetched) == 3 and IMAP_PASSWORD not in json.dumps(fetched, ensure_ascii=False)

    # a second fetch changes nothing
    before = (table(camp, "SELECT count(*) n FROM imports"), sorted(layout(camp).inbox_dir.rglob("*")))
    again = fetch_mail(camp, settings(imap), jobs=1)
    assert again.messages == [] and again.seen == 3
    assert (table(camp, "SELECT count(*) n FROM imports"),
            sorted(layout(camp).inbox_dir.rglob("*"))) == before
    assert len(table(camp, "SELECT * FROM mail")) == 3

    # only a new message is taken the next time
    imap.append(reply("luoshan@county.example.cn", "罗山县", [("说明.txt", b"text")]))
    third = fetch_mail(camp, settings(imap), jobs=1)
    assert [m.subject for m in third.messages] == ["罗山县"] and third.seen == 3


def test_mailbox_errors_are_clear(camp, imap):
    with pytest.raises(WorkflowError) as err:
        fetch_mail(camp, settings(imap, password="登录密码"))
    assert [i.code for i in err.value.issues] == ["M006"]
    assert "授权码" in err.value.issues[0].message
    with pytest.raises(WorkflowError) as err:
        fetch_mail(camp, settings(imap, folder="县区回复"))
    assert [i.code for i in err.value.issues] == ["M011"]
    with pytest.raises(WorkflowError) as err:
        fetch_mail(camp, settings(imap, port=free_port()))
    assert [i.code for i in err.value.issues] == ["M010"]


@pytest.mark.parametrize("implicit_tls", [True, False])
def test_fetch_over_tls(camp, tmp_path, monkeypatch, implicit_tls):
    from mailhelpers import self_signed
    cert, key = self_signed(tmp_path)
    server = Dovecot(dovecot_or_skip(), tls=(cert, key))
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # trust the test certificate
    try:
        server.append(reply("shihe@county.example.cn", "材料", [("说明.txt", b"text")]))
        port = server.imaps_port if implicit_tls else server.port  # else STARTTLS
        result = fetch_mail(camp, settings(server, ssl=implicit_tls, port=port), jobs=1)
    finally:
        server.stop()
    assert [p.name for m in result.messages for p in m.files] == ["说明.txt"]


def test_cli_fetch(camp, tmp_path, imap):
    form = filled_form(camp, tmp_path, "411502", "浉河区", "zhangsan@163.com")
    imap.append(reply("shihe@county.example.cn", "浉河区", [("联系人.xlsx", form.read_bytes())]))
    args = ["fetch", str(camp), "--imap", "127.0.0.1", "--port", str(imap.port), "--no-ssl",
            "--user", IMAP_USER, "--jobs", "1", "--json"]
    run = CliRunner().invoke(main, args, env={"XW_IMAP_PASSWORD": IMAP_PASSWORD})
    assert run.exit_code == 0, run.output
    doc = json.loads(run.stdout)
    assert [m["units"] for m in doc["messages"]] == [["411502"]]
    assert doc["imports"][0]["accepted"][0]["unit_code"] == "411502"
    assert all(p.startswith("/") for p in doc["files"])
    again = CliRunner().invoke(main, args[:-1], input=IMAP_PASSWORD + "\n",
                               env={"XW_IMAP_PASSWORD": ""})
    assert again.exit_code == 0, again.output
    assert "新邮件 0 封" in again.stdout and "此前已收取 1 封" in again.stdout


def test_cli_fetch_saves_a_raw_gbk_attachment_name(camp, tmp_path, imap):
    form = filled_form(camp, tmp_path, "411503", "平桥区", "lisi@163.com")
    name = "平桥区-联系人信息表（第二版）.xlsx"
    raw = raw_gbk_reply("pingqiao@county.example.cn", "平桥区", name, form.read_bytes())
    assert name.encode("gbk") in raw and name.encode("utf-8") not in raw
    from email import message_from_bytes
    assert "\ufffd" in message_from_bytes(raw, policy=policy.default).get_payload()[1].get_filename()
    imap.append(raw)
    args = ["fetch", str(camp), "--imap", "127.0.0.1", "--port", str(imap.port), "--no-ssl",
            "--user", IMAP_USER, "--jobs", "1", "--json"]
    run = CliRunner().invoke(main, args, env={"XW_IMAP_PASSWORD": IMAP_PASSWORD})
    assert run.exit_code == 0, run.output
    doc = json.loads(run.stdout)
    saved = [Path(p) for p in doc["messages"][0]["files"]]
    assert [p.name for p in saved] == [name]  # not “����” replacement characters
    assert saved[0].read_bytes() == form.read_bytes()
    assert doc["messages"][0]["units"] == ["411503"]


@pytest.mark.parametrize("header", [
    "filename*=gb18030''{gb18030}",          # RFC 2231 with a Chinese charset
    "filename*=GBK''{gbk}",
    'filename="=?GB18030?B?{b64}?="',         # RFC 2047, GB18030
    'filename="{utf8}"',                      # raw UTF-8 (RFC 6532)
])
def test_attachment_names_in_chinese_charsets_are_decoded(tmp_path, header):
    name = "浉河区-自评表.xlsx"
    values = {"gb18030": "".join(f"%{b:02X}" for b in name.encode("gb18030")),
              "gbk": "".join(f"%{b:02X}" for b in name.encode("gbk")),
              "b64": base64.b64encode(name.encode("gb18030")).decode(), "utf8": "@UTF8@"}
    disposition = ("Content-Disposition: attachment; " + header.format(**values)).encode()
    disposition = disposition.replace(b"@UTF8@", name.encode("utf-8"))
    raw = (b"From: a@b.cn\r\nSubject: x\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\n"
           b"Content-Type: text/plain\r\n\r\nhi\r\n--XX\r\n"
           b"Content-Type: application/octet-stream\r\n" + disposition +
           b"\r\nContent-Transfer-Encoding: base64\r\n\r\nZGF0YQ==\r\n--XX--\r\n")
    eml = tmp_path / "m.eml"
    eml.write_bytes(raw)
    saved = extract_eml(eml, tmp_path / "out")
    assert [p.name for p in saved] == [name] and saved[0].read_bytes() == b"data"


# --- saved .eml files (no server) ------------------------------------------------------------

def test_extract_eml_decodes_names_and_opens_forwarded_messages(tmp_path):
    inner = EmailMessage(policy=policy.SMTP)
    inner["From"], inner["Subject"] = "a@b.cn", "原邮件"
    inner.set_content("转发")
    inner.add_attachment(b"inner", maintype="application", subtype="octet-stream",
                         filename="转发的附件.xlsx")
    raw = reply("a@b.cn", "材料", [("自评表.xlsx", b"one"), ("自评表.xlsx", b"two"),
                                 ("..\\..\\证明材料/通知.pdf", b"pdf")], gbk_names=True)
    from email import message_from_bytes
    outer = message_from_bytes(raw, policy=policy.SMTP)
    outer.add_attachment(inner)  # a forwarded message (message/rfc822)
    eml = tmp_path / "回复.eml"
    eml.write_bytes(outer.as_bytes())
    saved = extract_eml(eml, tmp_path / "out")
    assert [p.name for p in saved] == ["自评表.xlsx", "自评表(2).xlsx", "通知.pdf", "转发的附件.xlsx"]
    assert [p.read_bytes() for p in saved] == [b"one", b"two", b"pdf", b"inner"]
    assert all(p.parent == tmp_path / "out" for p in saved)


def test_unreadable_eml_is_reported(tmp_path):
    bad = tmp_path / "坏.eml"
    bad.write_bytes(b"PK\x03\x04\x00\x00garbage")
    with pytest.raises(WorkflowError) as err:
        extract_eml(bad, tmp_path / "out")
    assert [i.code for i in err.value.issues] == ["M014"]


def test_saved_eml_can_be_imported(camp, tmp_path):
    form = filled_form(camp, tmp_path, "411503", "平桥区", "lisi@163.com")
    eml = tmp_path / "平桥区回复.eml"
    eml.write_bytes(reply("pingqiao@county.example.cn", "联系人", [("平桥区联系人信息表.xlsx",
                                                                  form.read_bytes())]))
    paths = expand_eml_paths([eml], tmp_path / "work")
    assert paths[0].name == "平桥区回复.eml"
    assert [p.name for p in paths[0].iterdir()] == ["平桥区联系人信息表.xlsx"]
    result = import_paths(camp, paths, jobs=1, feedback=False)
    assert [(f.unit_code, f.status) for f in result.returns] == [("411503", "accepted")]
    assert result.returns[0].name == "平桥区回复.eml/平桥区联系人信息表.xlsx"


def test_import_takes_saved_eml_files_and_goes_past_a_broken_one(camp, tmp_path):
    form = filled_form(camp, tmp_path, "411503", "平桥区", "lisi@163.com")
    good = tmp_path / "平桥区回复.eml"
    good.write_bytes(reply("pingqiao@county.example.cn", "联系人", [("平桥区联系人信息表.xlsx",
                                                                   form.read_bytes())]))
    bad = tmp_path / "坏邮件.eml"
    bad.write_bytes(b"\x00\x01 not a mail")
    result = import_paths(camp, [good, bad], jobs=1, feedback=False)
    assert [(f.unit_code, f.status) for f in result.returns] == [("411503", "accepted")]
    refused = {f.name: [i.code for i in f.errors] for f in result.refused}
    assert refused == {"坏邮件.eml": ["M014"]}
    archived = {p.name.split(".")[0] for p in (Path(camp) / "archive").rglob("*") if p.is_file()}
    assert hashlib.sha256(good.read_bytes()).hexdigest() in archived
    assert hashlib.sha256(bad.read_bytes()).hexdigest() in archived


@pytest.mark.parametrize("disposition", [
    'filename="=?gb2312?B?{b64}?="',          # labelled gb2312, GBK bytes (浉 is not in GB2312)
    "filename*=gb2312''{pct}",               # the same in RFC 2231
    "filename==?GB2312?B?{b64}?=",           # an encoded word left unquoted
])
def test_cli_import_of_a_saved_reply_keeps_a_gbk_name_labelled_gb2312(camp, tmp_path, disposition):
    form = filled_form(camp, tmp_path, "411502", "浉河区", "lisi@163.com")
    name = "浉河区联系人信息表.xlsx"
    gbk = name.encode("gbk")
    header = disposition.format(b64=base64.b64encode(gbk).decode(),
                                pct="".join(f"%{b:02X}" for b in gbk))
    raw = (b"From: shihe@county.example.cn\r\nSubject: =?gb2312?B?u9i4tA==?=\r\n"
           b"Date: Mon, 16 May 2022 09:30:00 +0800\r\nMIME-Version: 1.0\r\n"
           b"Content-Type: multipart/mixed; boundary=XX\r\n\r\n--XX\r\n"
           b"Content-Type: text/plain\r\n\r\nhi\r\n--XX\r\n"
           b"Content-Type: application/octet-stream\r\nContent-Disposition: attachment; "
           + header.encode("ascii") + b"\r\nContent-Transfer-Encoding: base64\r\n\r\n"
           + base64.encodebytes(form.read_bytes()).replace(b"\n", b"\r\n") + b"--XX--\r\n")
    eml = tmp_path / "回复.eml"
    eml.write_bytes(raw)
    run = CliRunner().invoke(main, ["import", str(camp), str(eml), "--jobs", "1", "--json"])
    assert run.exit_code == 0, run.output
    doc = json.loads(run.stdout)
    assert [a["unit_code"] for a in doc["accepted"]] == ["411502"]
    assert doc["accepted"][0]["name"].endswith(name) and "\ufffd" not in run.stdout


def test_a_server_that_hangs_up_at_logout_leaves_no_open_socket():
    """A mail server that drops the line instead of answering LOGOUT (busy servers do): the
    mailbox still closes its own socket (a real IMAP greeting and CAPABILITY on 127.0.0.1)."""
    import socket
    import threading
    from xlsx_workflow.transport import ImapSettings as Settings, Mailbox
    server = socket.create_server(("127.0.0.1", 0))
    port = server.getsockname()[1]

    def serve():
        conn, _ = server.accept()
        with conn:
            conn.sendall(b"* OK ready\r\n")
            tag = conn.recv(1024).split(b" ", 1)[0]  # CAPABILITY
            conn.sendall(b"* CAPABILITY IMAP4rev1\r\n" + tag + b" OK done\r\n")
            conn.recv(1024)  # LOGOUT: hang up without a word
    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    box = Mailbox(Settings(host="127.0.0.1", port=port, user="u", password="p", ssl=False))
    box.conn = box._connect()
    sock = box.conn.sock
    box.close()
    thread.join(5)
    server.close()
    assert box.conn is None and sock.fileno() == -1
