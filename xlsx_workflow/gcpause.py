"""The cycle collector paused while a large graph of lasting objects is built (issue 13).

Python's cycle collector runs after every few hundred new container objects, and each run of an
older generation walks every object that has survived so far. Scoring 3,000 units builds some
140,000 review rows and as many clause results, all kept to the end, so the collector walked the
same growing graph again and again: a third of `run_score` (1.5 s → 1.0 s with it paused), a
sixth of what the report's own process does (ranking workbook, Word report), a twentieth of each
反馈单 worker. While paused, reference counting frees objects as usual; only reference cycles
wait for the collector, and a whole `run_score` leaves a few dozen of them.

`gc_paused()` nests and may be entered by several threads at once (the console scores in
threads): the collector is paused from the first entry to the last exit, then switched back on
only if it was on before the first. A forked worker that makes many short-lived cyclic objects
(xlsxwriter's workbooks) runs `worker_paused()` first and `collect_young()` after each piece.
"""
from __future__ import annotations

import gc
import threading
from contextlib import contextmanager
from typing import Iterator

_lock = threading.Lock()
_depth = 0
_resume = False


@contextmanager
def gc_paused() -> Iterator[None]:
    global _depth, _resume
    with _lock:
        if _depth == 0:
            _resume = gc.isenabled()
            gc.disable()
        _depth += 1
    try:
        yield
    finally:
        with _lock:
            _depth -= 1
            if _depth == 0 and _resume:
                gc.enable()


def worker_paused() -> None:
    """Initializer of a forked worker that makes many short-lived objects, some in cycles
    (xlsxwriter's workbooks): the collector is paused for the worker's whole life, and the
    worker calls `collect_young()` after each piece of work. That frees the piece's cycles by
    walking only what was made since the last call, never the graph inherited from the parent
    (walking it also copied its pages: fork shares them until they are written)."""
    global _lock, _depth, _resume
    _lock, _depth, _resume = threading.Lock(), 1, False  # a lock held by another thread at fork
    gc.disable()
    gc.freeze()  # what the parent made is never walked here, however young it was at the fork


def collect_young() -> None:
    """Collect the two young generations (what survived at most one earlier call)."""
    gc.collect(1)
