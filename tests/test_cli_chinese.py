"""What the office reads when it types a command wrong or saves campaign.yaml in Notepad:
click's usage errors and help in Chinese; campaign.yaml in GBK or with a BOM read (GBK with a
C025 warning); a YAML syntax error names the line; never a traceback."""
from __future__ import annotations

import re

import pytest
from click.testing import CliRunner

from xlsx_workflow.cli import main

ENGLISH = re.compile(r"Usage|Options|Commands|Missing|No such|Error|Try |Show this|\[OPTIONS\]|INTEGER")


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.mark.parametrize("args", [["import"], ["import", "x", "--bogus"], ["import", "--help"],
                                  ["--help"], ["rubric", "--help"], ["bogus"],
                                  ["generate", "x", "--jobs", "0"], ["init", "x"]])
def test_click_texts_in_chinese(args):
    res = run(*args)
    assert not ENGLISH.search(res.output), res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)


def test_click_headings():
    out = run("import", "--help").output
    assert out.startswith("用法：") and "选项：" in out
    assert "命令：" in run("--help").output
    assert "缺少参数" in run("import").output
    assert "没有选项 '--bogus'" in run("import", "x", "--bogus").output


@pytest.fixture
def camp(tmp_path):
    d = tmp_path / "camp"
    assert run("init", d, "--rubric", "ip-protection-2021").exit_code == 0
    return d


@pytest.mark.parametrize("encoding,warned", [("gbk", True), ("utf-8-sig", False)])
def test_campaign_yaml_in_gbk_or_bom(camp, encoding, warned):
    f = camp / "campaign.yaml"
    text = f.read_text(encoding="utf-8").replace("title: 信阳市", "title: 青州市")
    f.write_bytes(text.encode(encoding))
    res = run("contacts", camp)
    assert res.exit_code == 0, res.output
    assert ("C025" in res.stderr) == warned
    assert res.stderr.count("C025") <= 1
    from xlsx_workflow.campaign import load_campaign
    assert load_campaign(camp).title.startswith("青州市")


def test_campaign_yaml_syntax_error_names_the_line(camp):
    f = camp / "campaign.yaml"
    lines = f.read_text(encoding="utf-8").splitlines()
    n = next(i for i, s in enumerate(lines) if s.startswith("title:"))
    lines[n] = "title: 青州市考核\n  year 2021: x: y"
    f.write_text("\n".join(lines) + "\n", encoding="utf-8")
    res = run("contacts", camp)
    assert res.exit_code == 1 and "Traceback" not in res.output
    assert res.exception is None or isinstance(res.exception, SystemExit)
    assert "C002" in res.stderr and f"第{n + 2}行" in res.stderr, res.stderr
    assert "mapping values" not in res.stderr and "多了一个冒号" in res.stderr
