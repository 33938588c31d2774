"""Malformed rubrics: every problem is reported with the file, the item and what is wrong."""
import copy

import pytest
import yaml

from rubric_builder import BASE, write_doc
from xlsx_workflow.messages import WorkflowError
from xlsx_workflow.rubric import load_rubric
from xlsx_workflow.rubric.check import check_rubric


def doc_with(clauses, fields_extra=None, **ind):
    doc = copy.deepcopy(BASE)
    doc["indicators"] = [{"id": "1", "name": "指标", "dimension": "D", "max": 10, "clauses": clauses, **ind}]
    return doc


def codes_of(tmp_path, doc):
    with pytest.raises(WorkflowError) as e:
        load_rubric(write_doc(tmp_path, doc))
    return e.value.issues


FLAG = {"id": "1.1", "text": "开会得2分", "kind": "flag", "points": 2,
        "fields": [{"id": "1.1", "label": "已开会", "type": "flag"}]}

BAD = [
    ("unknown kind", [{**FLAG, "kind": "magic"}], "R007", "细则 1.1"),
    ("missing points", [{k: v for k, v in FLAG.items() if k != "points"}], "R008", "细则 1.1"),
    ("duplicate clause field", [FLAG, {**FLAG, "id": "1.2"}], "R005", "1.1"),
    ("bad field type", [{**FLAG, "fields": [{"id": "1.1", "label": "x", "type": "bool"}]}], "R009", "填报项 1.1"),
    ("missing text", [{**FLAG, "text": ""}], "R014", "细则 1.1"),
    ("unknown param", [{"id": "1.1", "text": "t", "kind": "ratio", "divisor": {"param": "nope"}, "cap": 2,
                        "fields": [{"id": "1.1", "label": "x", "type": "count"}]}], "R008", "细则 1.1"),
    ("bad formula", [{"id": "1.1", "text": "t", "kind": "formula", "expr": "MIN(2,", "max": 2,
                      "fields": [{"id": "1.1", "label": "x", "type": "count"}]}], "R008", "细则 1.1"),
    ("formula unknown ref", [{"id": "1.1", "text": "t", "kind": "formula", "expr": "[zz]*2", "max": 2,
                              "fields": [{"id": "1.1", "label": "x", "type": "count"}]}], "R008", "细则 1.1"),
    ("option not offered", [{"id": "1.1", "text": "t", "kind": "choice",
                             "options": [{"text": "甲", "points": 2}, {"text": "乙", "points": 1}],
                             "fields": [{"id": "1.1", "label": "x", "type": "choice", "options": ["甲"]}]}],
     "R012", "细则 1.1"),
    ("non-number points", [{**FLAG, "points": "两分"}], "R008", "细则 1.1"),
]


@pytest.mark.parametrize("name,clauses,code,item", BAD, ids=[b[0] for b in BAD])
def test_bad_clause_is_reported_with_place(tmp_path, name, clauses, code, item):
    issues = codes_of(tmp_path, doc_with(clauses))
    hit = [i for i in issues if i.code == code]
    assert hit, [str(i) for i in issues]
    assert "bad.yaml" in hit[0].where and item in hit[0].where


def test_every_problem_is_reported_at_once(tmp_path):
    doc = doc_with([{**FLAG, "kind": "magic"}], dimension="nowhere")
    doc["version"] = "one"
    codes = {i.code for i in codes_of(tmp_path, doc)}
    assert {"R004", "R006"} <= codes


def test_not_yaml(tmp_path):
    p = tmp_path / "x.yaml"
    p.write_text("id: [unclosed", encoding="utf-8")
    with pytest.raises(WorkflowError) as e:
        load_rubric(p)
    assert e.value.issues[0].code == "R002"
    try:
        yaml.safe_load("id: [unclosed")
    except yaml.YAMLError as python_error:  # worded by the pure-Python parser, as always
        assert str(python_error).splitlines()[0] in e.value.issues[0].message


def test_rubrics_read_through_libyaml_are_what_pyyaml_reads():
    from xlsx_workflow.rubric.load import BUILTIN_DIR, _safe_load
    for path in sorted(BUILTIN_DIR.glob("*.yaml")):
        text = path.read_text(encoding="utf-8")
        assert _safe_load(text) == yaml.safe_load(text), path.name


def test_unknown_builtin(tmp_path):
    with pytest.raises(WorkflowError) as e:
        load_rubric("no-such-rubric")
    assert e.value.issues[0].code == "R001"


def test_check_warns_with_both_numbers(tmp_path):
    doc = doc_with([FLAG])  # clause max 2 under an indicator declared 10
    rubric, issues = check_rubric(str(write_doc(tmp_path, doc)))
    warn = [i for i in issues if i.code == "R011" and "指标 1" in i.where]
    assert warn and "2" in warn[0].message and "10" in warn[0].message


def test_unused_field_warns(tmp_path):
    clause = {**FLAG, "field": "1.1",
              "fields": FLAG["fields"] + [{"id": "x", "label": "多余", "type": "count"}]}
    _, issues = check_rubric(str(write_doc(tmp_path, doc_with([clause]))))
    assert any(i.code == "R010" for i in issues)


def test_kind_reading_a_field_of_another_type_warns(tmp_path):
    clause = {**FLAG, "fields": [{"id": "1.1", "label": "次数", "type": "count"}]}
    _, issues = check_rubric(str(write_doc(tmp_path, doc_with([clause]))))
    assert any(i.code == "R013" for i in issues)


def test_a_folder_named_like_a_builtin_does_not_shadow_it(tmp_path, monkeypatch):
    from xlsx_workflow.rubric import resolve
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ip-protection-2021").mkdir()
    assert resolve("ip-protection-2021").name == "ip-protection-2021.yaml"
    assert resolve("ip-protection-2021").is_file()
