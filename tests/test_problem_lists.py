"""Warnings do not drown errors: 28 clauses without 材料编号 are one line in the 问题清单, the
反馈单 and the ranking's 问题清单, after the errors (each on its own line); the report says it in
公文 words; no codes, internal ids or cell references on the sheets a county or leader reads."""
from __future__ import annotations

import re

import openpyxl
import pytest

from tests.resultbuilder import build_result
from xlsx_workflow.feedback import FeedbackJob, problems, write_issue_list
from xlsx_workflow.messages import issue
from xlsx_workflow.report.build import write_all

CODE = re.compile(r"\b[A-Z]\d{3}\b|office|自评表!|![A-Z]+\d")


def many_warnings():
    e001 = [issue("E001", f"自评表!G{10 + n}", cell=f"自评表!G{10 + n}", clause=f"{n // 3 + 1}.{n % 3 + 1}")
            for n in range(28)]
    v001 = issue("V001", "自评表!E26", cell="自评表!E26", label="（填报项 5.3「交流活动次数」）", value="2次")
    e002 = issue("E002", "自评表!G63", cell="自评表!G63", number=17)
    return e001[:10] + [v001] + e001[10:] + [e002]


def sheet_text(path, name):
    ws = openpyxl.load_workbook(path)[name]
    return [[c.value for c in r] for r in ws.iter_rows()]


def test_issue_list_errors_first_one_line_per_warning_kind(tmp_path):
    job = FeedbackJob("411502 浉河区", "浉河区.xlsx", "退回", problems(many_warnings()), "",
                      str(tmp_path / "l.xlsx"), "")
    write_issue_list(job, tmp_path / "l.xlsx")
    rows = sheet_text(tmp_path / "l.xlsx", "问题清单")[4:]
    assert [r[1] for r in rows] == ["错误", "错误", "警告"]
    summary = rows[2]
    assert "共 28 处" in summary[4] and "细则 1.1、1.2" in summary[4] and "10.1" in summary[4]
    assert summary[2] == "自评表" and summary[3] == "共 28 处" and "所在单元格：G10、G11、" in summary[4]
    assert rows[1][4].startswith("材料编号 17") and "!" not in rows[0][4]
    assert "“材料编号”列" in summary[5]
    assert not re.search(r"[（(][A-Z]\d{3}[）)]", "".join(str(r[4]) for r in rows))


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    result = build_result(tmp_path_factory.mktemp("pl") / "c")
    unit = result.scored[0]
    unit.issues = many_warnings()
    write_all(result)
    return result, unit


def test_ranking_and_feedback_sheet_summarise(written):
    result, unit = written
    lay = result.campaign.layout
    rows = [r for r in sheet_text(lay.ranking_file, "问题清单")[1:] if r[0] == unit.name]
    assert [r[1] for r in rows] == ["错误", "错误", "警告"]
    assert "共 28 处" in rows[2][3]
    for r in rows:
        assert not CODE.search(" ".join(str(x) for x in r)), r
    fb = next(lay.unit_feedback_dir.glob(f"{unit.code}-*反馈单.xlsx"))
    text = sheet_text(fb, "反馈单")
    flat = "\n".join(str(x) for r in text for x in r if x is not None)
    after = flat[flat.index("待处理问题"):]
    assert after.count("警告") == 1 and after.count("错误") == 2
    assert not CODE.search(flat), [m.group() for m in CODE.finditer(flat)][:5]
    assert "填报项" not in after and "「交流活动次数」应填整数" in after  # no field ids


def test_report_speaks_plainly(written):
    result, _ = written
    md = (result.campaign.layout.ranking_file.parent / "考核情况报告.md").read_text(encoding="utf-8")
    part = md[md.index("报送材料不够规范"):md.index("报送不够及时")]
    assert "自评得分但未填写材料编号，涉及1个单位、共28处" in part
    assert part.index("材料编号在材料清单中没有对应材料") < part.index("自评得分但未填写材料编号")
    assert not re.search(r"!|\\!|[A-Z]\d{3}|「", part), part
