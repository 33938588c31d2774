"""Console wording for library messages that tell the office to (re-)run a command.

In the console, scores, the 审核表 and the report are recomputed by themselves whenever an input
changes (fresh.py), so "请……后重新运行 score" is wrong advice there. The catalogue stays as it
is (the CLI and other tools use it); the console rewrites the last sentence of these messages
when it shows them."""
from __future__ import annotations

import re
from dataclasses import replace

from ..messages import Issue

AUTO = "保存后得分、排名和报告会自动重新计算。"
CONSOLE_ADVICE = {
    "S001": "请在“市级核定数据”页面填写（或下载 市级核定数据.xlsx 填好后上传）；" + AUTO,
    "S002": "请在“市级核定数据”页面填写该项（或在 市级核定数据.xlsx 的该单元格填写后上传）；" + AUTO,
    "S003": "请在“市级核定数据”页面填写这一列（或在 市级核定数据.xlsx 中填写后上传）；" + AUTO,
    "S004": "请在“市级核定数据”页面改正（或改正 市级核定数据.xlsx 后上传）；" + AUTO,
    "S010": "请在“审核”页面该条款的“核定理由”中填写（或在 审核表.xlsx 的 {cell} 单元格填写后上传）；" + AUTO,
    "S011": "请在“审核”页面改正该条款的核定分（或改正 审核表.xlsx 后上传）；" + AUTO,
    "S012": "请在“审核”页面复核该条款，修改核定分或核定理由（如注明“已复核”）后保存（审核表.xlsx 已自动更新）。",
    "S016": "请先在“收件导入”页面导入各单位报送的材料。",
    "G003": "请在“考核设置”页面填写后，回到“生成自评表”页面重新生成，再下发。",
    "G004": "请在“考核设置”页面修改考核名称后，回到“生成自评表”页面重新生成，再下发。",
}
_RERUN = re.compile(r"请[^。]*运行 [^。]*。?$")   # the last sentence: "请……（重新）运行 …"
_CELL = re.compile(r"请在 (\S+) 填写核定理由")


def for_console(i: Issue) -> Issue:
    """`i` with console-appropriate advice in place of "re-run score"; others unchanged."""
    advice = CONSOLE_ADVICE.get(i.code)
    if advice is None or "运行 " not in i.message:
        return i
    cell = _CELL.search(i.message)
    advice = advice.format(cell=cell.group(1).rsplit("!", 1)[-1] if cell else "核定理由列")
    text, n = _RERUN.subn(advice, i.message)
    if not n:   # the catalogue's wording changed: keep it, only drop the command
        text = i.message.replace("重新运行 score", "保存（控制台会自动重新计算）")
        text = re.sub(r"(?:重新)?运行 xlsx-workflow \w+ DIR", "在控制台的相应页面操作", text)
    return replace(i, message=text)


def console_issues(issues) -> list[Issue]:
    return [for_console(i) for i in issues or []]
