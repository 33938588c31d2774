"""What a county reads in the follow-up mail and which feedback files stay on disk, as a new
office meets them through the real CLI: the feedback of an older version never outlives the
newer one's; receipts tell a correction after the deadline from a late return; no message asks
for a return “before” a date already past; file names are the county's own, not the office's
inbox folders or zip!member paths; a blank return is called blank, not “有错误”."""
import email
import json
import os
import shutil
import zipfile
from datetime import date, datetime, timedelta
from email import policy
from pathlib import Path

import openpyxl
from click.testing import CliRunner

from mailhelpers import camp, generated  # noqa: F401  (pytest fixtures)
from returns_corpus import CORPUS, make_valid
from xlsx_workflow.cli import main
from xlsx_workflow.layout import layout

TODAY = date.today()
SHIHE = ("411502", "浉河区")


def cli(*args):
    run = CliRunner().invoke(main, [str(a) for a in args])
    assert run.exit_code == 0, run.output
    return run


def set_deadline(camp, day: date, contact: date | None = None) -> None:
    lay = layout(camp)
    text = lay.campaign_file.read_text(encoding="utf-8")
    text = text.replace("materials: '2099-05-27'", f"materials: '{day.isoformat()}'")
    if contact:
        text = text.replace("contact: '2099-05-18'", f"contact: '{contact.isoformat()}'")
    lay.campaign_file.write_text(text, encoding="utf-8")


def on(path, day: date, hour: int = 10):
    """Give the file the modification time the import takes as its receipt time."""
    ts = datetime(day.year, day.month, day.day, hour).timestamp()
    os.utime(path, (ts, ts))
    return path


def built(camp, dst, builder=make_valid, unit=SHIHE):
    return builder(layout(camp).workbook_path(*unit), dst)


def drafts(camp, *kinds) -> dict:
    """(kind, unit_code) → parsed draft of `mail --<kinds> --json` (a dry run)."""
    doc = json.loads(cli("mail", camp, *kinds, "--json").stdout)
    return {(d["kind"], d["unit_code"]): email.message_from_bytes(
        Path(d["path"]).read_bytes(), policy=policy.default) for d in doc["drafts"] if d["path"]}


def body(msg) -> str:
    return msg.get_body(("plain",)).get_content()


def feedback_files(camp) -> list[str]:
    folder = layout(camp).feedback_dir
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def listed_file(path) -> str:
    """The file a 问题清单 is about, as its header names it."""
    ws = openpyxl.load_workbook(path).active
    return "\n".join(str(c.value) for r in ws.iter_rows(max_row=4) for c in r if c.value)


def test_an_older_version_later_in_the_batch_leaves_no_feedback_behind(camp, tmp_path):
    inbox = tmp_path / "收件"
    # collected in name order: the corrected (newer) file first, the older one with a mistake after
    on(built(camp, inbox / "1-更正.xlsx"), TODAY - timedelta(days=1))
    on(built(camp, inbox / "2-原表.xlsx", CORPUS["text_in_count"][0]), TODAY - timedelta(days=3))
    cli("import", camp, inbox, "--jobs", "1")
    assert feedback_files(camp) == []  # the problems were fixed by the newer version
    assert ("feedback", "411502") not in drafts(camp, "--feedback")


def test_an_older_version_in_a_later_batch_keeps_the_newer_ones_feedback(camp, tmp_path):
    newer = on(built(camp, tmp_path / "a" / "浉河区-二稿.xlsx", CORPUS["bad_flag"][0]),
               TODAY - timedelta(days=1))
    cli("import", camp, newer, "--jobs", "1")
    older = on(built(camp, tmp_path / "b" / "浉河区-初稿.xlsx", CORPUS["text_in_count"][0]),
               TODAY - timedelta(days=4))
    cli("import", camp, older, "--jobs", "1")
    files = feedback_files(camp)
    assert files == ["411502-浉河区-标注.xlsx", "411502-浉河区-问题清单.xlsx"]
    about = listed_file(layout(camp).feedback_dir / "411502-浉河区-问题清单.xlsx")
    assert "二稿" in about and "初稿" not in about
    text = body(drafts(camp, "--feedback")[("feedback", "411502")])
    assert "浉河区-二稿.xlsx，第2版" in text


def test_receipt_of_a_correction_after_the_deadline_is_not_called_late(camp, tmp_path):
    set_deadline(camp, TODAY - timedelta(days=2))
    first = on(built(camp, tmp_path / "收件" / "浉河区.xlsx"), TODAY - timedelta(days=3))
    cli("import", camp, first, "--jobs", "1")
    fixed = on(make_valid(layout(camp).workbook_path(*SHIHE), tmp_path / "收件2" / "浉河区（更正）.xlsx",
                          seed=3), TODAY - timedelta(days=1))
    cli("import", camp, fixed, "--jobs", "1")
    receipt = body(drafts(camp, "--receipt")[("receipt", "411502")])
    assert "截止后" in receipt or "更正版本" in receipt
    assert "逾期" not in receipt.replace("不算逾期", "")
    deadline = f"{TODAY - timedelta(days=2):%Y年%-m月%-d日}"
    assert f"{deadline}前如需修改" not in receipt  # that date is past


def test_no_message_asks_for_a_return_before_a_date_already_past(camp, tmp_path):
    set_deadline(camp, TODAY - timedelta(days=2))
    deadline = f"{TODAY - timedelta(days=2):%Y年%-m月%-d日}"
    bad = on(built(camp, tmp_path / "收件" / "浉河区.xlsx", CORPUS["text_in_count"][0]),
             TODAY - timedelta(days=3))
    good = on(built(camp, tmp_path / "收件" / "平桥区.xlsx", unit=("411503", "平桥区")),
              TODAY - timedelta(days=3))
    cli("import", camp, bad, good, "--jobs", "1")
    got = drafts(camp, "--feedback", "--receipt")
    feedback = body(got[("feedback", "411502")])
    assert f"于{deadline}前" not in feedback and "尽快" in feedback and "已过" in feedback
    assert f"{deadline}前如需修改" not in body(got[("receipt", "411503")])


def test_file_names_are_the_countys_own(camp, tmp_path):
    inbox = tmp_path / "收件"
    work = tmp_path / "zip"
    built(camp, work / "浉河区自评表.xlsx")
    (inbox / "浉河区").mkdir(parents=True)
    with zipfile.ZipFile(inbox / "浉河区" / "浉河区报送材料.zip", "w") as z:
        z.write(work / "浉河区自评表.xlsx", "浉河区自评表.xlsx")
    on(inbox / "浉河区" / "浉河区报送材料.zip", TODAY - timedelta(days=1))
    (inbox / "平桥区").mkdir()
    on(built(camp, inbox / "平桥区" / "平桥区自评表.xlsx", CORPUS["text_in_count"][0],
             ("411503", "平桥区")), TODAY - timedelta(days=1))
    cli("import", camp, inbox, "--jobs", "1")
    got = drafts(camp, "--feedback", "--receipt")
    receipt = body(got[("receipt", "411502")])
    assert "文件：浉河区自评表.xlsx（浉河区报送材料.zip 中）" in receipt
    assert "收件" not in receipt and "!" not in receipt
    feedback = body(got[("feedback", "411503")])
    assert "（平桥区自评表.xlsx，第1版）" in feedback and "收件" not in feedback
    header = listed_file(layout(camp).feedback_dir / "411503-平桥区-问题清单.xlsx")
    assert "文件：平桥区自评表.xlsx" in header and "收件" not in header  # the 问题清单 too


def test_a_blank_return_is_called_blank_in_feedback_and_reminder(camp, tmp_path):
    set_deadline(camp, TODAY + timedelta(days=2))
    blank = tmp_path / "收件" / "浉河区.xlsx"
    blank.parent.mkdir()
    shutil.copyfile(layout(camp).workbook_path(*SHIHE), blank)
    cli("import", camp, on(blank, TODAY - timedelta(days=1)), "--jobs", "1")
    got = drafts(camp, "--feedback", "--remind")
    feedback = body(got[("feedback", "411502")])
    assert "没有填写" in feedback and "有 1 处错误" not in feedback
    assert "标注" not in feedback  # no marked copy is attached
    assert [a.get_filename() for a in got[("feedback", "411502")].iter_attachments()] == \
        ["411502-浉河区-问题清单.xlsx"]
    remind = body(got[("remind", "411502")])
    assert "没有填写内容被退回" in remind and "因有错误" not in remind


def test_contact_form_feedback_gives_the_contact_forms_own_deadline(camp, tmp_path):
    set_deadline(camp, TODAY - timedelta(days=1), TODAY - timedelta(days=9))  # both passed
    contact_day = TODAY + timedelta(days=5)
    cli("extend", camp, "411502", contact_day, "--contact")
    form = CORPUS["contact_mobile_bad"][0](layout(camp).contact_form_path(*SHIHE),
                                            tmp_path / "收件" / "联系人信息表.xlsx")
    cli("import", camp, on(form, TODAY), "--jobs", "1")
    text = body(drafts(camp, "--feedback")[("feedback", "411502")])
    assert "联系人信息表" in text and f"于{contact_day:%Y年%-m月%-d日}前重新报送" in text
    assert "已过" not in text


def test_a_newer_sheet_contact_without_email_does_not_hide_the_forms_address(camp, tmp_path):
    from mailhelpers import fill_contact_form
    form = fill_contact_form(layout(camp).contact_form_path(*SHIHE), tmp_path / "收件" / "联系人.xlsx",
                             [("浉河区市场监管局", "李强", "科长", "0376-6312865", "13812345678",
                               "", "liqiang@163.com")])
    on(form, TODAY - timedelta(days=5))
    sheet = tmp_path / "收件" / "自评表.xlsx"
    make_valid(layout(camp).workbook_path(*SHIHE), sheet)
    from returns_corpus import Patch, set_contact, VALID_CONTACT
    p = Patch(sheet)
    set_contact(p, 0, {**VALID_CONTACT, "姓名": "王五", "邮箱": None})  # no email on the sheet
    on(p.save(sheet), TODAY - timedelta(days=1))
    cli("import", camp, tmp_path / "收件", "--jobs", "1")
    doc = json.loads(cli("contacts", camp, "--json").stdout)
    shihe = next(c for c in doc["contacts"] if c["unit_code"] == "411502")
    assert shihe["email"] == "liqiang@163.com" and shihe["name"] == "李强"
    assert drafts(camp, "--receipt")[("receipt", "411502")]["To"].addresses[0].addr_spec == \
        "liqiang@163.com"


def test_status_shows_the_blank_return_note_in_full(camp, tmp_path):
    blank = tmp_path / "收件" / "浉河区.xlsx"
    blank.parent.mkdir()
    shutil.copyfile(layout(camp).workbook_path(*SHIHE), blank)
    cli("import", camp, on(blank, TODAY - timedelta(days=1)), "--jobs", "1")
    out = cli("status", camp).output
    assert "未报送（空白表1份已退回）" in out  # not cut to “未报送（空白表1份已退回…”


def test_the_notice_gives_a_units_extended_deadlines(camp):
    cli("extend", camp, "411503", "2099-06-03")
    cli("extend", camp, "411503", "2099-05-25", "--contact")
    doc = json.loads(cli("mail", camp, "--json").stdout)
    path = next(d["path"] for d in doc["drafts"] if d["unit_code"] == "411503")
    text = body(email.message_from_bytes(Path(path).read_bytes(), policy=policy.default))
    assert "请于2099年6月3日前填写《自评表》" in text
    assert "请于2099年5月25日前填写《联系人信息表》" in text
    other = next(d["path"] for d in doc["drafts"] if d["unit_code"] == "411502")
    assert "请于2099年5月27日前填写《自评表》" in body(
        email.message_from_bytes(Path(other).read_bytes(), policy=policy.default))


def test_a_line_break_typed_in_a_contact_name_does_not_stop_the_mail(camp, tmp_path):
    from returns_corpus import Patch, set_contact, VALID_CONTACT
    p = Patch(layout(camp).contact_form_path(*SHIHE))
    set_contact(p, 0, {**VALID_CONTACT, "姓名": "张伟\n（科长）", "邮箱": "zw@163.com"})  # Alt+Enter
    cli("import", camp, on(p.save(tmp_path / "收件" / "联系人.xlsx"), TODAY), "--jobs", "1")
    run = CliRunner().invoke(main, ["mail", str(camp), "--json"])
    assert run.exit_code == 0, run.output
    draft = next(d for d in json.loads(run.stdout)["drafts"] if d["unit_code"] == "411502")
    msg = email.message_from_bytes(Path(draft["path"]).read_bytes(), policy=policy.default)
    assert msg["To"].addresses[0].addr_spec == "zw@163.com"
    assert msg["To"].addresses[0].display_name == "张伟 （科长）"


def test_a_notice_sent_after_a_deadline_does_not_ask_for_the_form_before_it(camp):
    set_deadline(camp, TODAY + timedelta(days=3), TODAY - timedelta(days=2))
    doc = json.loads(cli("mail", camp, "--json").stdout)
    path = next(d["path"] for d in doc["drafts"] if d["unit_code"] == "411502")
    text = body(email.message_from_bytes(Path(path).read_bytes(), policy=policy.default))
    passed = f"{TODAY - timedelta(days=2):%Y年%-m月%-d日}"
    assert f"请于{passed}前" not in text and f"截止日期{passed}已过，请尽快填写" in text
    assert f"请于{TODAY + timedelta(days=3):%Y年%-m月%-d日}前填写《自评表》" in text
