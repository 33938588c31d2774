"""Which received files are the evidence sent with a return, for a whole batch at once.

A return's evidence is what lies in a folder beside it named after it (`浉河区自评表.xlsx` +
`浉河区自评表-材料/`; see `named_after`), and, when the return is the only self-assessment in
its folder or zip, every other file there (sub-folders included). The batch is indexed once
(folders sorted, each folder's files grouped by their first path part), so a batch of thousands
of returns in one folder is not scanned once per return.
"""
from __future__ import annotations

from bisect import bisect_left
from pathlib import PurePosixPath
from typing import Optional

from .collect import ARCHIVE, WORKBOOK, Received


def folder_of(name: str) -> str:
    """'a/b.zip!c/d.xlsx' → 'a/b.zip!c/'; a file given alone has no folder ('')."""
    cut = max(name.rfind("/"), name.rfind("!"))
    return name[:cut + 1]


def _is_evidence(r: Received) -> bool:
    return r.kind not in (WORKBOOK, ARCHIVE) and r.path is not None and not r.refused


def _is_return(r: Received) -> bool:
    return r.kind == WORKBOOK and "联系人" not in r.name


class EvidenceIndex:
    """The received files of one batch, indexed by folder."""

    def __init__(self, received: list[Received]):
        by_folder: dict[str, list[Received]] = {}
        for r in received:
            by_folder.setdefault(folder_of(r.name), []).append(r)
        self._folders = sorted(by_folder)
        self._direct = by_folder
        self._memo: dict[str, tuple] = {}
        self._stems: dict[str, list[str]] = {}  # folder → its returns' names, sorted

    def _under(self, folder: str) -> list[Received]:
        """Every file in `folder` or below it, in received order within each folder."""
        out: list[Received] = []
        k = bisect_left(self._folders, folder)
        while k < len(self._folders) and self._folders[k].startswith(folder):
            out.extend(self._direct[self._folders[k]])
            k += 1
        return out

    def _summary(self, folder: str) -> tuple:
        """(evidence under the folder, how many returns under it, the first path part below
        the folder of each nested piece of evidence, sorted, and those pieces in that order)."""
        if folder not in self._memo:
            under = self._under(folder)
            evidence = [r for r in under if _is_evidence(r)]
            nested = sorted(((r.name[len(folder):].split("/")[0], r) for r in evidence
                             if "/" in r.name[len(folder):]), key=lambda t: t[0])
            self._memo[folder] = (evidence, sum(1 for r in under if _is_return(r)),
                                  [part for part, _ in nested], [r for _, r in nested])
        return self._memo[folder]

    def _longer(self, folder: str, stem: str) -> list[str]:
        """The names (without extension) of the other returns directly in `folder` that begin
        with `stem` and are longer (sorted once per folder, then found by bisection)."""
        if folder not in self._stems:
            self._stems[folder] = sorted(_stem(r) for r in self._direct.get(folder, ())
                                         if _is_return(r))
        stems = self._stems[folder]
        k, out = bisect_left(stems, stem), []
        while k < len(stems) and stems[k].startswith(stem):
            if len(stems[k]) > len(stem):
                out.append(stems[k])
            k += 1
        return out

    def evidence_for(self, ret: Received) -> Optional[list[str]]:
        """Names of the files sent with `ret`; None when no files can be told to belong to it
        (the checks on sent files are then skipped)."""
        folder = folder_of(ret.name)
        if folder == "":
            return None
        evidence, returns, parts, nested = self._summary(folder)
        if returns == 1:
            chosen = evidence
        else:
            stem = _stem(ret)
            k = bisect_left(parts, stem)
            begin = []  # positions of the folders whose names begin with the return's
            while k < len(parts) and parts[k].startswith(stem):
                begin.append(k)
                k += 1
            # (most returns have no folder: the other returns' names are then not looked at)
            longer = self._longer(folder, stem) if begin else []
            chosen = [nested[k] for k in begin if named_after(parts[k], stem, longer)]
        if not chosen:  # nothing came with it: the evidence may follow by other means
            return None
        return sorted(PurePosixPath(r.name.split("!")[-1]).name for r in chosen)


def _stem(r: Received) -> str:
    return PurePosixPath(r.name.split("!")[-1]).stem


def named_after(part: str, stem: str, longer: tuple | list = ()) -> bool:
    """True when the folder `part` is named after the return `stem`: it begins with it
    (`浉河区自评表-材料`, `浉河区自评表材料`, `浉河区自评表`), the name does not go on with the
    same run of ASCII letters or digits (`12-材料` is not named after `1`), and no other return
    beside it has a longer name that the folder begins with (`浉河区自评表2-材料` belongs to
    `浉河区自评表2`, not to `浉河区自评表`)."""
    if not part.startswith(stem):
        return False
    rest = part[len(stem):]
    if stem and rest and _word(stem[-1]) and _word(rest[0]):
        return False
    return not any(named_after(part, t) for t in longer)


def _word(ch: str) -> bool:
    return ch.isascii() and ch.isalnum()


def evidence_for(ret: Received, received: list[Received]) -> Optional[list[str]]:
    """`EvidenceIndex(received).evidence_for(ret)`, for one return."""
    return EvidenceIndex(received).evidence_for(ret)
