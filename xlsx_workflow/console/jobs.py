"""Long actions (generate, import, send mail) run in a background thread; the page polls their
progress. One job at a time per campaign, so two imports never race for the ledger."""
from __future__ import annotations

import secrets
import threading
import traceback
from dataclasses import dataclass, field
from typing import Callable, Optional

from ..messages import Issue, WorkflowError, issue
from .wording import console_issues

RUNNING, DONE, FAILED = "running", "done", "failed"


@dataclass
class Job:
    """One background action and what the page shows of it."""
    id: str
    campaign: str                  # campaign key
    title: str                     # "生成自评表", "导入报送材料" …
    done: int = 0
    total: int = 0
    state: str = RUNNING
    summary: list[str] = field(default_factory=list)   # lines shown when finished
    issues: list[Issue] = field(default_factory=list)
    link: str = ""                 # where the page goes next (e.g. the status board)
    link_label: str = "查看结果"
    rows: list[dict] = field(default_factory=list)     # per-file outcome, for the table

    def progress(self, done: int, total: int) -> None:
        self.done, self.total = done, total

    def to_json(self) -> dict:
        return {"id": self.id, "title": self.title, "done": self.done, "total": self.total,
                "state": self.state, "summary": self.summary, "link": self.link,
                "link_label": self.link_label,
                "rows": self.rows,
                "issues": [i.to_dict() for i in console_issues(self.issues)]}


class Jobs:
    """The jobs of this console run (kept in memory; a restart forgets finished ones)."""

    def __init__(self):
        self._jobs: dict[str, Job] = {}
        self._lock = threading.Lock()

    def get(self, job_id: str) -> Optional[Job]:
        return self._jobs.get(job_id)

    def running(self, campaign: str) -> Optional[Job]:
        return next((j for j in self._jobs.values()
                     if j.campaign == campaign and j.state == RUNNING), None)

    def start(self, campaign: str, title: str, work: Callable[[Job], None], link: str = "",
              link_label: str = "查看结果") -> Job:
        """Run `work(job)` in a thread; raises WorkflowError (W007) while another job of the
        same campaign is still running."""
        with self._lock:
            busy = self.running(campaign)
            if busy is not None:
                raise WorkflowError([issue("W007", job=busy.title)])
            job = Job(secrets.token_hex(8), campaign, title, link=link, link_label=link_label)
            self._jobs[job.id] = job
        threading.Thread(target=self._run, args=(job, work), daemon=True,
                         name=f"xw-{title}").start()
        return job

    @staticmethod
    def _run(job: Job, work: Callable[[Job], None]) -> None:
        try:
            work(job)
            job.state = DONE
        except WorkflowError as e:
            job.issues.extend(e.issues)
            job.state = FAILED
        except Exception as e:  # the page must learn that it failed, never wait forever
            job.issues.append(issue("W013", what=job.title,
                                    detail=f"{type(e).__name__}: {e}"[:300]))
            traceback.print_exc()
            job.state = FAILED
