"""Problem lists a county or a leader reads (问题清单, 反馈单, the ranking's 问题清单, the report):
errors first, each on its own line; warnings one line per kind, so 28 clauses without 材料编号
are one line listing the 28 clauses instead of 28 lines that bury the errors. Also the plain
wording these sheets use: no message codes, no cell references like 自评表!E12 in running text,
no internal field ids (填报项 5.3「…」 → 「…」).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from .messages import ERROR, KINDS, WARNING, Issue

_REF = re.compile(r"「'?[^「」!']+'?!\$?[A-Z]{1,3}\$?\d+(?::\$?[A-Z]{1,3}\$?\d+)?」")
_FIELD = re.compile(r"（?填报项 [\w.\-]+\s*(「[^」]*」)）?")
_CLAUSE = re.compile(r"细则 ([\w.\-]+)")
_WHERE = re.compile(r"^'?(?P<sheet>[^!']+)'?!\$?(?P<col>[A-Z]{1,3})\$?(?P<row>\d+)$")


@dataclass
class Line:
    """One line of a problem list: a single issue, or a summary of `count` warnings of one kind."""
    severity: str
    code: str
    message: str              # plain text, as printed
    count: int = 1
    wheres: list = field(default_factory=list)   # each issue's `where`, in order
    first: Issue | None = None


def without_refs(text: str) -> str:
    """A message without its cell references, for a row whose own columns name the cell."""
    text = re.sub(r"^[，、：的\s]+", "", _REF.sub("", text or ""))
    return re.sub(r"^（(填报项 [^（）]*)）", r"\1", text)


def plain(text: str) -> str:
    """A catalogue message without cell references and field ids, for running text."""
    text = _REF.sub("", text or "")
    text = _FIELD.sub(lambda m: m.group(1), text)
    return re.sub(r"^[，、：的\s]+", "", text).replace("“材料清单”列出", "“材料清单”中列出")


def is_number(id) -> bool:
    """True for the rubric's own numbering (1, 1.2, 1.1.1.a); False for internal ids (office.1)."""
    return bool(re.fullmatch(r"\d+(\.[0-9a-z]+)*", str(id)))


def numbered(id: str, text: str) -> str:
    """'1.2 text' when the id is the rubric's own numbering (digits and dots, as in the 自评表's
    编号 column); an internal id such as office.1 is left out."""
    return f"{id} {text}" if is_number(id) else text


def plain_where(where: str) -> str:
    """'自评表!E12' → '自评表 E12'; other places unchanged."""
    m = _WHERE.match((where or "").strip())
    return f"{m.group('sheet')} {m.group('col')}{m.group('row')}" if m else (where or "")


def places(line: Line) -> str:
    """Where a line is, in words: one issue's cell, or the sheets a summary covers."""
    if line.count == 1:
        return plain_where(line.wheres[0])
    return "、".join(dict.fromkeys(w.split("!")[0] for w in line.wheres if w))


def item(i: Issue) -> str:
    """What one warning of a summary names: its clause (细则 1.1), else its field's label, else
    its cell."""
    m = _CLAUSE.search(i.message)
    if m:
        return m.group(1)
    m = _FIELD.search(i.message)
    if m:
        return m.group(1).strip("「」")
    w = _WHERE.match((i.where or "").strip())
    return f"{w.group('col')}{w.group('row')}" if w else (i.where or "")


def summarise(issues: list) -> list[Line]:
    """Errors (each), then warnings grouped by code in the order first seen; other severities
    (提示) are left out."""
    errors = [Line(ERROR, i.code, i.message, 1, [i.where], i) for i in issues if i.severity == ERROR]
    groups: dict[str, list[Issue]] = {}
    for i in issues:
        if i.severity == WARNING:
            groups.setdefault(i.code, []).append(i)
    warnings = []
    for code, found in groups.items():
        if len(found) == 1:
            warnings.append(Line(WARNING, code, found[0].message, 1, [found[0].where], found[0]))
        else:
            warnings.append(Line(WARNING, code, summary_text(found), len(found),
                                 [i.where for i in found], found[0]))
    return errors + warnings


def summary_text(found: list[Issue]) -> str:
    """'自评得分但未填写材料编号，共 28 处（细则 1.1、1.2、…）。请……'"""
    first = found[0]
    kind = KINDS.get(first.code) or plain(first.message).split("。")[0]
    names = list(dict.fromkeys(item(i) for i in found))
    clauses = all(_CLAUSE.search(i.message) for i in found)
    listed = ("细则 " if clauses else "") + "、".join(n for n in names if n)
    fix = _fix(first.message).replace("填在此处", "填在各条的“材料编号”列")
    return f"{kind}，共 {len(found)} 处（{listed}）。{fix}"


def _fix(message: str) -> str:
    m = re.search(r"[。；]\s*(?=请|可|须|如有|确认)", message)
    return plain(message[m.end():]).strip() if m else ""
