"""Checks of a return's rows that the row-tolerant reader makes necessary.

The reader finds each field by its 编号, so a unit that inserted rows is still read. These checks
keep that tolerance from changing what is scored: locked content (rubric text, points, formulas,
the 编号 column) edited while rows moved (T005), and one 编号 given twice with two values (T006).
"""
from __future__ import annotations

from .integrity import SELF_ASSESSMENT, normalise_value
from .messages import Issue, issue
from .returns import MOVED, ReturnData
from .rubric.model import Rubric

REPLACED = frozenset({"T003"})  # the warning T005 replaces (its detail is carried over)


def check_structure(data: ReturnData, rubric: Rubric) -> list[Issue]:
    """T005 when rows moved and the locked content no longer matches its fingerprint (even with
    the inserted rows taken out); T006 for each 编号 that appears twice with different values."""
    from .checks import _moved_detail, _show
    if data.kind != SELF_ASSESSMENT:
        return []
    out = []
    if data.structure == MOVED and data.locked_ok is False:
        out.append(issue("T005", "自评表", detail=_moved_detail(data)))
    for fid, cell, value in data.duplicate_rows:
        first = data.values.get(fid)
        if normalise_value(first) == normalise_value(value):
            continue
        out.append(issue("T006", str(cell), field=fid, label=rubric.field(fid).label,
                         cell=str(data.cells[fid]), other=str(cell),
                         value="（空）" if first is None else _show(first),
                         other_value="（空）" if value is None else _show(value)))
    return out


def merge_structure_issues(issues: list[Issue], structure: list[Issue]) -> list[Issue]:
    """`issues` with the structure issues added; T003 dropped when T005 says it (and more)."""
    if any(i.code == "T005" for i in structure):
        issues = [i for i in issues if i.code not in REPLACED]
    return issues + structure
