"""The 反馈单 written on a process pool (issue 13): the same bytes whatever the number of jobs,
and a sheet a worker cannot save still reports X001 (its issues come back from the worker)."""
import pytest

from tests.resultbuilder import build_result
from xlsx_workflow.layout import unit_file_name
from xlsx_workflow.messages import WorkflowError
from xlsx_workflow.report.feedback_sheet import FEEDBACK_SUFFIX, write_feedback_sheets


def test_feedback_sheets_are_identical_with_one_and_two_jobs(tmp_path):
    result = build_result(tmp_path / "c")
    one = write_feedback_sheets(result, tmp_path / "one", jobs=1)
    two = write_feedback_sheets(result, tmp_path / "two", jobs=2)
    assert len(one) == len(result.scored) > 1
    assert [p.name for p in one] == [p.name for p in two]
    assert [p.read_bytes() for p in one] == [p.read_bytes() for p in two]


def test_a_sheet_a_worker_cannot_save_is_reported_X001(tmp_path):
    result = build_result(tmp_path / "c")
    unit = result.scored[-1]
    blocked = tmp_path / "fb" / unit_file_name(unit.code, unit.name, FEEDBACK_SUFFIX)
    blocked.mkdir(parents=True)  # like a file held open in Excel: it cannot be written
    with pytest.raises(WorkflowError) as e:
        write_feedback_sheets(result, tmp_path / "fb", jobs=2)
    assert [i.code for i in e.value.issues] == ["X001"]
    assert blocked.name in e.value.issues[0].message
