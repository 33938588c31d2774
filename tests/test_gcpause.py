"""The cycle collector paused while scoring and reporting build lasting objects (gcpause.py,
issue 13): it comes back on as it was, whatever happens, and the report's workbooks, which do
make cycles, free them as they go."""
import gc
import os
import threading

import pytest

from tests.resultbuilder import build_result
from tests.scorebuilder import make_campaign, record_all, sample
from xlsx_workflow import gcpause
from xlsx_workflow.gcpause import gc_paused


@pytest.fixture(autouse=True)
def _collector_on():
    was = gc.isenabled()
    gc.enable()
    yield
    (gc.enable if was else gc.disable)()


def test_the_collector_is_paused_inside_and_back_after_nesting_and_errors():
    with gc_paused():
        assert not gc.isenabled()
        with gc_paused():
            assert not gc.isenabled()
        assert not gc.isenabled()  # the outer pause still holds
    assert gc.isenabled()
    with pytest.raises(ZeroDivisionError):
        with gc_paused():
            1 / 0
    assert gc.isenabled()
    gc.disable()  # off before: it stays off
    with gc_paused():
        pass
    assert not gc.isenabled()


def test_threads_pausing_at_once_leave_the_collector_on():
    inside, go = threading.Barrier(3), threading.Event()
    def work():
        with gc_paused():
            inside.wait()
            go.wait()
    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    inside.wait()
    assert not gc.isenabled() and gcpause._depth == 2
    go.set()
    for t in threads:
        t.join()
    assert gc.isenabled() and gcpause._depth == 0


def test_scoring_runs_paused_and_gives_the_collector_back(tmp_path, monkeypatch):
    from xlsx_workflow import score
    seen = []
    real = score.score_cohort
    def spy(*a, **kw):
        seen.append(gc.isenabled())
        return real(*a, **kw)
    monkeypatch.setattr(score, "score_cohort", spy)
    camp = make_campaign(tmp_path / "c", "ip-protection-2021")
    record_all(camp, sample(camp))
    run = score.run_score(tmp_path / "c")
    assert seen == [False] and gc.isenabled()
    assert len(run.result.scored) == len(camp.units)
    monkeypatch.setattr(score, "score_cohort", lambda *a, **kw: 1 / 0)
    with pytest.raises(ZeroDivisionError):
        score.run_score(tmp_path / "c")
    assert gc.isenabled()


def test_sheets_written_while_paused_leave_no_cycles_behind(tmp_path):
    """Each xlsxwriter workbook leaves hundreds of objects in cycles; write_all pauses the
    collector, so every 反馈单 frees its own before the next (one process, as on Windows)."""
    from xlsx_workflow.report.feedback_sheet import write_feedback_sheets
    result = build_result(tmp_path / "c")
    gc.collect()
    with gc_paused():
        sheets = write_feedback_sheets(result, tmp_path / "fb", jobs=1)
        left = gc.collect()
    assert len(sheets) == len(result.scored) > 1
    assert left < 200, left  # without collect_young: some 600 per sheet


def test_a_worker_stays_paused_and_frozen(tmp_path):
    """In a forked worker the collector stays off and what the parent made is frozen: its
    young-generation collections never walk (and so never copy) the inherited result."""
    if "fork" not in __import__("multiprocessing").get_all_start_methods():
        pytest.skip("no fork on this system")
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report what worker_paused left, then leave at once
        try:
            gcpause.worker_paused()
            ok = (not gc.isenabled() and gc.get_freeze_count() > 0 and gcpause._depth == 1)
            gcpause.collect_young()
            os.write(w, b"1" if ok and not gc.isenabled() else b"0")
        finally:
            os._exit(0)
    os.close(w)
    answer = os.read(r, 1)
    os.close(r)
    os.waitpid(pid, 0)
    assert answer == b"1"
