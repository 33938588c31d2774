"""`xlsx-workflow report`: every report file of a scored campaign, in DIR/report/.

    report/排名汇总.xlsx           ranking, indicator detail, losses, returns, issues, reviews, charts
    report/考核情况报告.docx       GB/T 9704 official document (and the same text as .md)
    report/反馈单/<code>-<name>-反馈单.xlsx   one per scored unit

Feedback sheets of units that are no longer scored are removed, so the folder always matches
the ranking it sits beside.
"""
from __future__ import annotations

from pathlib import Path

from ..gcpause import gc_paused
from ..results import CampaignResult
from .docx_report import write_report
from .feedback_sheet import write_feedback_sheets
from .ranking import write_ranking


def write_all(result: CampaignResult, jobs: int = 2) -> list[Path]:
    """Write the ranking workbook, the Word and Markdown report and the 反馈单 (on `jobs`
    processes, while this one writes the ranking and the report); returns paths."""
    with gc_paused():  # this process makes one workbook and one document (gcpause.py)
        return _write_all(result, jobs)


def _write_all(result: CampaignResult, jobs: int) -> list[Path]:
    lay = result.campaign.layout
    files: list = []
    def ranking_and_report() -> None:
        files.append(write_ranking(result, lay.ranking_file))
        files.extend(write_report(result, lay.ranking_file.parent))
    sheets = write_feedback_sheets(result, lay.unit_feedback_dir, jobs,
                                   meanwhile=ranking_and_report)
    keep = {p.resolve() for p in sheets}
    if lay.unit_feedback_dir.is_dir():
        for old in lay.unit_feedback_dir.glob("*.xlsx"):
            if old.resolve() not in keep:
                old.unlink()
    return [Path(p).resolve() for p in files + sheets]
