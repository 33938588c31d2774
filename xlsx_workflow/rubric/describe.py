"""A rubric as a plain document (the `rubric show --json` contract in DESIGN.md)."""
from __future__ import annotations

from ..rubric.expr import format_number
from .model import Field, Rubric


def _num(d):
    return None if d is None else float(format_number(d)) if "." in format_number(d) else int(d)


def describe_field(f: Field) -> dict:
    doc = {"id": f.id, "label": f.label, "type": f.type}
    if f.options:
        doc["options"] = list(f.options)
    if f.type == "judged" and f.max is not None:
        doc["max"] = _num(f.max)
    if f.unit:
        doc["unit"] = f.unit
    doc["indicator"] = f.indicator_id
    doc["clause"] = f.clause_id
    return doc


def describe_rubric(r: Rubric) -> dict:
    return {
        "id": r.id, "title": r.title, "version": r.version, "year": r.year, "office": r.office,
        "content_hash": r.content_hash,
        "fields": [describe_field(f) for f in r.unit_fields],
        "office_fields": [describe_field(f) for f in r.fields if f.source == "office"],
        "params": [{"id": p.id, "label": p.label, "scope": p.scope} for p in r.params],
        "grades": [{"name": g.name, "min": _num(g.min)} for g in r.grades],
        "groups": [{"id": g.id, "name": g.name, "role": g.role, "max": _num(g.max)} for g in r.groups],
        "dimensions": [{"id": d.id, "name": d.name, "group": d.group, "max": _num(d.max)}
                       for d in r.dimensions],
        "indicators": [{"id": i.id, "name": i.name, "dimension": i.dimension, "max": _num(i.max),
                        "clauses": [c.id for c in i.clauses]} for i in r.indicators],
        "units": [{"code": u.code, "name": u.name, "type": u.type} for u in r.units],
    }
