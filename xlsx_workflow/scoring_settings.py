"""The office's scoring settings in campaign.yaml: what rank and grade are decided by (`ranking`)
and the indicators that are 不适用 for single units (`not_applicable`).

    ranking: auto            # rate | points | auto (rate as soon as a unit has 不适用 indicators)
    not_applicable:          # unit code or name → indicator ids
      "411591": ["1.1.7", "2.2.1"]
      鸡公山管理区: 1.3.2、5.1.4

A unit's own exemptions ride on its type (`rubric.model.UnitType`), so the workbook, the import
checks and the engine treat them exactly like the rubric's rules for a unit type.
"""
from __future__ import annotations

import re
from dataclasses import replace

from .engine import AUTO, POINTS, RATE
from .messages import WorkflowError, issue
from .rubric.model import Rubric, Unit, UnitType

RANKINGS = (AUTO, RATE, POINTS)
_SEPARATORS = re.compile(r"[、,，;；\s]+")


def read_ranking(doc: dict, where: str) -> str:
    """campaign.yaml `ranking` (default auto); anything else is an error (C020)."""
    value = str(doc.get("ranking") or AUTO).strip().lower()
    if value not in RANKINGS:
        raise WorkflowError([issue("C020", where, value=doc.get("ranking"))])
    return value


def read_not_applicable(raw, where: str) -> dict:
    """The `not_applicable` map as {unit key: [indicator ids]} (C023 when it is not a map)."""
    if raw in (None, "", {}):
        return {}
    if not isinstance(raw, dict):
        raise WorkflowError([issue("C023", where, detail="应为“单位代码或名称: [指标编号, …]”")])
    out = {}
    for key, ids in raw.items():
        if isinstance(ids, (list, tuple)):
            items = [str(i).strip() for i in ids]
        elif ids in (None, ""):
            items = []
        elif isinstance(ids, (str, int, float)):
            items = _SEPARATORS.split(str(ids).strip())
        else:
            raise WorkflowError([issue("C023", where, detail=f"单位「{key}」的指标应写成列表")])
        out[str(key).strip()] = [i for i in items if i]
    return out


def apply_not_applicable(units: list[Unit], rubric: Rubric, marked: dict,
                         where: str) -> list[Unit]:
    """The units with their own 不适用 indicators; unknown units or ids are errors naming both
    (C021, C022), all of them at once."""
    by_key = {u.code: u for u in units} | {u.name: u for u in units if u.name}
    known = {i.id for i in rubric.indicators}
    errors, excluded = [], {}
    for key, ids in marked.items():
        unit = by_key.get(key)
        if unit is None:
            errors.append(issue("C021", where, unit=key))
            continue
        for iid in ids:
            if iid not in known:
                errors.append(issue("C022", where, unit=f"{unit.name}（{unit.code}）",
                                    indicator=iid))
        excluded.setdefault(unit.code, set()).update(i for i in ids if i in known)
    if errors:
        raise WorkflowError(errors)
    return [replace(u, type=UnitType(str(u.type), excluded[u.code])) if excluded.get(u.code)
            else u for u in units]


__all__ = ["RANKINGS", "apply_not_applicable", "read_not_applicable", "read_ranking"]
