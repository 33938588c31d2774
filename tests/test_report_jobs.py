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


def test_write_all_writes_the_ranking_while_the_workers_write_the_sheets(tmp_path):
    """write_all overlaps the ranking and report (this process) with the 反馈单 (the workers):
    the same files, with the same bytes for the sheets, as on one process."""
    from xlsx_workflow.report.build import write_all
    result = build_result(tmp_path / "c")
    lay = result.campaign.layout
    one = write_all(result, jobs=1)
    sheets_one = {p.name: p.read_bytes() for p in lay.unit_feedback_dir.glob("*.xlsx")}
    two = write_all(result, jobs=2)
    assert [p.name for p in one] == [p.name for p in two]
    assert lay.ranking_file.resolve() in two and lay.ranking_file.stat().st_size > 0
    assert any(p.suffix == ".docx" for p in two)
    assert {p.name: p.read_bytes() for p in lay.unit_feedback_dir.glob("*.xlsx")} == sheets_one
    assert len(sheets_one) == len(result.scored)


def test_a_ranking_that_cannot_be_saved_stops_the_sheets_with_X001(tmp_path):
    from xlsx_workflow.report.build import write_all
    result = build_result(tmp_path / "c")
    lay = result.campaign.layout
    lay.ranking_file.mkdir(parents=True)  # held open elsewhere: it cannot be written
    with pytest.raises(WorkflowError) as e:
        write_all(result, jobs=2)
    assert [i.code for i in e.value.issues] == ["X001"]
    assert lay.ranking_file.name in e.value.issues[0].message
