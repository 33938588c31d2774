"""Build small rubrics inline in tests, so the reader sees the rule beside the assertion."""
from __future__ import annotations

import copy
from pathlib import Path

import yaml

from xlsx_workflow.rubric import load_rubric

BASE = {
    "id": "t", "version": 1, "title": "测试", "year": 2021,
    "rounding": {"places": 2, "mode": "half-up"},
    "grades": [{"name": "优秀", "min": 90}, {"name": "良好", "min": 80}, {"name": "一般", "min": 0}],
    "params": [{"id": "P", "label": "参数", "scope": "unit"},
               {"id": "L", "label": "上年度数", "scope": "unit"},
               {"id": "R", "label": "全省排名", "scope": "unit"},
               {"id": "N", "label": "参加排序的单位数", "scope": "unit"},
               {"id": "PN", "label": "全省参加排序的单位数", "scope": "unit"}],
    "groups": [{"id": "base", "name": "基础", "role": "base", "max": 100}],
    "dimensions": [{"id": "D", "name": "维度", "group": "base", "max": 100}],
}


def one_clause(tmp_path: Path, clause: dict, fields: list[dict], indicator_max=100, **top):
    """A rubric with one indicator holding one clause; returns the loaded Rubric."""
    doc = copy.deepcopy(BASE)
    doc.update(top)
    clause = {"id": "c", "text": "细则", **clause, "fields": fields}
    doc["indicators"] = [{"id": "1", "name": "指标", "dimension": "D", "max": indicator_max,
                          "clauses": [clause]}]
    path = tmp_path / "t.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return load_rubric(path)


def write_doc(tmp_path: Path, doc: dict, name="bad.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(doc, allow_unicode=True), encoding="utf-8")
    return path
