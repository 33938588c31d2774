"""The 联系人名录: the latest accepted contact form per unit, else the unit list's email, else
listed as 缺少邮箱."""
import json
import shutil
from datetime import datetime, timezone

import openpyxl
import pytest
from click.testing import CliRunner

from mailhelpers import fill_contact_form, make_campaign
from xlsx_workflow.campaign import load_campaign
from xlsx_workflow.cli import main
from xlsx_workflow.contacts import build_contacts, contact_directory, contact_for
from xlsx_workflow.importer import import_paths
from xlsx_workflow.layout import layout


@pytest.fixture(scope="module")
def generated(tmp_path_factory):
    return make_campaign(tmp_path_factory.mktemp("contacts"))


@pytest.fixture
def camp(generated, tmp_path):
    dst = tmp_path / "考核"
    shutil.copytree(generated, dst)
    return dst


def send_form(camp, tmp_path, code, name, people, day):
    """The unit returns its contact form with `people`, received on 2022-05-`day`."""
    src = layout(camp).contact_form_path(code, name)
    filled = fill_contact_form(src, tmp_path / f"{code}-{day}" / f"{name}联系人.xlsx", people)
    when = datetime(2022, 5, day, 9, 0, tzinfo=timezone.utc)
    return import_paths(camp, [filled], jobs=1, now=when, feedback=False)


def rows(path):
    sheet = openpyxl.load_workbook(path).active
    return [[c.value for c in r] for r in sheet.iter_rows(min_row=2)]


def test_without_contact_forms_the_unit_list_is_used(camp):
    result = build_contacts(camp)
    got = {c.unit_code: (c.email, c.source) for c in result.contacts}
    assert got == {"411502": ("shihe@county.example.cn", "单位名单"),
                   "411503": ("pingqiao@county.example.cn", "单位名单"),
                   "411521": ("", "")}
    assert [w.code for w in result.warnings] == ["M001"] and "罗山县" in result.warnings[0].message
    table = rows(layout(camp).contacts_file)
    assert table[0][:8] == ["单位代码", "单位名称", "姓名", "职务/职级", "电话", "手机", "传真", "邮箱"]
    assert table[3][:2] == ["411521", "罗山县"] and table[3][10] == "缺少邮箱"
    assert contact_for(load_campaign(camp), "411521") is None


def test_the_latest_accepted_contact_form_wins(camp, tmp_path):
    person = ("浉河区市场监督管理局", "张三", "科长", "0376-6312865", "13812345678", "", "zhangsan@163.com")
    other = ("浉河区市场监督管理局", "王五", "科员", "", "13912345678", "", "wangwu@163.com")
    assert send_form(camp, tmp_path, "411502", "浉河区", [person, other], 16).returns[0].status == "accepted"
    c = contact_for(load_campaign(camp), "411502")
    assert (c.name, c.title, c.mobile, c.email, c.source) == \
        ("张三", "科长", "13812345678", "zhangsan@163.com", "联系人信息表")
    assert c.others == ["王五 wangwu@163.com"] and c.address == "张三 <zhangsan@163.com>"
    # a newer form replaces it; an older one received later in time order does not
    newer = ("浉河区市场监督管理局", "李四", "副科长", "0376-6312866", "13712345678", "", "lisi@126.com")
    send_form(camp, tmp_path, "411502", "浉河区", [newer], 20)
    older = ("浉河区市场监督管理局", "赵六", "科员", "0376-6312867", "13612345678", "", "zhao@126.com")
    send_form(camp, tmp_path, "411502", "浉河区", [older], 10)
    assert contact_for(load_campaign(camp), "411502").email == "lisi@126.com"
    # a rejected form (bad mobile number) is not used: the unit list's email stays
    bad = ("平桥区市场监督管理局", "孙七", "科长", "0376-6312865", "12345", "", "sun@163.com")
    result = send_form(camp, tmp_path, "411503", "平桥区", [bad], 16)
    assert result.returns[0].status == "rejected"
    assert "K001" in [i.code for i in result.returns[0].issues]
    assert contact_for(load_campaign(camp), "411503").email == "pingqiao@county.example.cn"


def test_a_form_without_email_keeps_the_unit_lists_email(camp, tmp_path):
    person = ("浉河区市场监督管理局", "张三", "科长", "0376-6312865", "13812345678", "", "")
    send_form(camp, tmp_path, "411502", "浉河区", [person], 16)
    c = next(c for c in contact_directory(load_campaign(camp)) if c.unit_code == "411502")
    assert (c.name, c.email, c.source) == ("张三", "shihe@county.example.cn",
                                           "联系人信息表（邮箱取自单位名单）")


def test_cli_contacts(camp):
    run = CliRunner().invoke(main, ["contacts", str(camp), "--json"])
    assert run.exit_code == 0, run.output
    doc = json.loads(run.stdout)
    assert doc["missing"] == ["411521"] and doc["files"] == [str(layout(camp).contacts_file)]
    plain = CliRunner().invoke(main, ["contacts", str(camp)])
    assert "2 个单位有邮箱，1 个缺少邮箱" in plain.stdout and "M001" in plain.output
