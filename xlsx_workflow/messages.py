"""The one catalogue of user-facing messages.

Every message has a code (tests assert on it), a severity and a Chinese text that says where,
what is wrong and how to fix it. Code elsewhere creates messages only through `issue()`.
"""
from __future__ import annotations

from dataclasses import dataclass

ERROR, WARNING, INFO = "错误", "警告", "提示"


@dataclass(frozen=True)
class Issue:
    code: str
    severity: str
    message: str
    where: str = ""

    def __str__(self) -> str:
        loc = f"{self.where}：" if self.where else ""
        return f"[{self.code}] {self.severity}：{loc}{self.message}"

    def to_dict(self) -> dict:
        return {"code": self.code, "severity": self.severity, "message": self.message,
                "where": self.where}


CATALOGUE: dict[str, tuple[str, str]] = {
    # Rubric files (R…)
    "R001": (ERROR, "找不到考核细则「{name}」。请用 `xlsx-workflow rubric list` 查看内置细则，或给出 YAML 文件路径。"),
    "R002": (ERROR, "不是有效的 YAML：{detail}。请检查缩进和冒号。"),
    "R003": (ERROR, "缺少必填项 {key}。请按 docs/rubric-format.md 补上。"),
    "R004": (ERROR, "{key} 的值「{value}」无效：{detail}。"),
    "R005": (ERROR, "编号 {id} 重复（另见 {other}）。每个编号只能用一次。"),
    "R006": (ERROR, "引用了不存在的{what}「{ref}」。请先在 {section} 中定义。"),
    "R007": (ERROR, "评分方式 kind「{kind}」未知。可用：{kinds}。"),
    "R008": (ERROR, "评分参数有误：{detail}。"),
    "R009": (ERROR, "填报项类型 type「{type}」未知。可用：{types}。"),
    "R010": (WARNING, "填报项 {field} 没有被任何评分细则读取，也不是日期或文字项。请确认是否多余。"),
    "R011": (WARNING, "下级满分合计 {children} 分，与声明的满分 {declared} 分不一致。"),
    "R012": (ERROR, "选项「{option}」不在填报项 {field} 的可选项中。"),
    "R013": (WARNING, "评分方式 {kind} 通常读取 {expected} 类型的填报项，而 {field} 是 {type}。"),
    "R014": (ERROR, "细则原文 text 为空。请照抄文件原文；若为重建内容，须在 note 中说明。"),
    # Received files (F…): sniffed before any XML parser runs
    # Ledger (L…): the campaign's import record
    # Campaign folder (C…)
    # Unit lists (U…): the office's own .xlsx/.csv
    # Generating workbooks (G…)
    # LibreOffice conversions (O…)
    "O001": (ERROR, "找不到 LibreOffice（soffice 命令）。请安装 LibreOffice（如 apt-get install libreoffice-calc-nogui）后重试。"),
    "O002": (ERROR, "LibreOffice 未能把 {src} 转换为 {fmt}（退出码 {rc}）：{stderr}"),
    "O003": (ERROR, "LibreOffice 转换 {src} 超过 {timeout} 秒仍未完成，已中止。请检查文件是否过大或损坏。"),
}


def issue(code: str, where: str = "", **values) -> Issue:
    severity, template = CATALOGUE[code]
    return Issue(code, severity, template.format(**values), where)


class WorkflowError(Exception):
    """A stage could not go on; carries the issues that say why."""

    def __init__(self, issues: list[Issue]):
        self.issues = list(issues)
        super().__init__("\n".join(str(i) for i in self.issues))
