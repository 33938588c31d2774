"""Results that are never stale: before a page shows scores, the ranking or the report, the
console compares the inputs' fingerprint (ledger, 市级核定数据表, 审核表, campaign.yaml, unit list)
with the one of the last computation, and when anything changed runs the CLI's chain again:
`score` (records review decisions), `review` (the 审核表 with every scored unit) and `report`.
The office never has to remember to "run score again"."""
from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Optional

from ..layout import layout
from ..messages import Issue, WorkflowError
from ..report.build import write_all
from ..review import write_review
from ..score import ScoreRun, run_score


@dataclass
class Fresh:
    """The last computation of one campaign."""
    fingerprint: tuple = ()
    run: Optional[ScoreRun] = None
    files: list[Path] = field(default_factory=list)
    failure: list[Issue] = field(default_factory=list)   # a stage raised (e.g. S008 file open)

    @property
    def issues(self) -> list[Issue]:
        return self.failure + (self.run.issues if self.run else [])


def fingerprint(root: Path) -> tuple:
    """What the scores depend on, as (name, size, mtime) of each input file."""
    lay = layout(root)
    out = []
    for p in (lay.ledger_file, lay.params_file, lay.review_file, lay.campaign_file,
              lay.units_file):
        try:
            st = p.stat()
            out.append((p.name, st.st_size, st.st_mtime_ns))
        except OSError:
            out.append((p.name, None, None))
    return tuple(out)


class Results:
    """Per campaign folder: the current scores and report files, recomputed when stale."""

    def __init__(self):
        self._fresh: dict[Path, Fresh] = {}
        self._locks: dict[Path, threading.Lock] = {}
        self._guard = threading.Lock()

    def _lock(self, root: Path) -> threading.Lock:
        with self._guard:
            return self._locks.setdefault(root, threading.Lock())

    def current(self, root: Path) -> Fresh:
        """The campaign's results, recomputed first if any input changed since last time."""
        root = Path(root).resolve()
        with self._lock(root):
            old = self._fresh.get(root)
            if old is not None and old.fingerprint == fingerprint(root):
                return old
            new = compute(root)
            self._fresh[root] = new
            return new


def compute(root: Path) -> Fresh:
    """score → review → report, as `xlsx-workflow score`, `review` and `report` do them."""
    fresh = Fresh()
    try:
        fresh.run = run_score(root)
        if fresh.run.result.scored:
            write_review(root)
        # one process: forking the console (a threaded server) is unsafe, and Windows has no fork
        fresh.files = write_all(fresh.run.result, jobs=1)
    except WorkflowError as e:
        fresh.failure = list(e.issues)
    fresh.fingerprint = fingerprint(root)
    return fresh
