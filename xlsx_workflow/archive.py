"""The archive: every received file, kept by content hash before anything parses it.

A file lives at `<archive>/<first 2 hex>/<sha256><suffix>`. It is streamed once — hashed while it
is copied into a `.part` temp file in the archive folder — then fsynced and moved under its final
name with `os.replace`, so a killed process never leaves a half file under a final name (at most a
`.part` file, which `sweep_partials` removes). Being content-addressed, the archive needs no
transaction: files archived by an import that was killed before its ledger commit are simply
found again, and re-used, when the import is re-run.
"""
from __future__ import annotations

import hashlib
import os
import re
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

CHUNK = 1024 * 1024
PART_SUFFIX = ".part"
_SAFE_SUFFIX = re.compile(r"\.[a-z0-9]{1,10}")
_FINAL_NAME = re.compile(r"([0-9a-f]{64})(\.[a-z0-9]{1,10})?")


@dataclass(frozen=True)
class ArchivedFile:
    sha256: str
    path: Path
    size: int
    created: bool = True  # False when an identical file was already archived

    @property
    def relpath(self) -> str:
        """The path inside the archive folder, as the ledger records it."""
        return f"{self.path.parent.name}/{self.path.name}"


def archive_suffix(name: str) -> str:
    """The original extension, lower-cased; dropped when it is not a plain extension
    (mail clients produce names like `自评表.xlsx (1)`)."""
    suffix = Path(name).suffix.lower()
    return suffix if _SAFE_SUFFIX.fullmatch(suffix) else ""


def archive_path(archive_dir: Path, sha256: str, suffix: str) -> Path:
    return Path(archive_dir) / sha256[:2] / f"{sha256}{suffix}"


def archive_file(src: Path, archive_dir: Path, sha256: str = "") -> ArchivedFile:
    """Copy `src` into the archive under its SHA-256; identical content is never rewritten.
    `sha256`: the hash already taken of `src` (when it was collected), if any."""
    archive_dir = Path(archive_dir)
    archive_dir.mkdir(parents=True, exist_ok=True)
    # Hash first: a file archived before (a re-import) is neither copied nor fsynced again.
    # Only a regular file can be read twice (a pipe or device is read once, by the copy).
    # A hash taken when the file was collected is not taken again.
    if Path(src).is_file():
        size = Path(src).stat().st_size
        digest = sha256 or _sha256_of(Path(src))
        known = archive_path(archive_dir, digest, archive_suffix(Path(src).name))
        if known.is_file() and known.stat().st_size == size:
            return ArchivedFile(digest, known, size, created=False)
    fd, tmp_name = tempfile.mkstemp(dir=archive_dir, prefix=".", suffix=PART_SUFFIX)
    tmp = Path(tmp_name)
    try:
        digest, size = _copy_hashing(Path(src), fd)
        final = archive_path(archive_dir, digest, archive_suffix(Path(src).name))
        if final.is_file() and final.stat().st_size == size:
            tmp.unlink()
            return ArchivedFile(digest, final, size, created=False)
        final.parent.mkdir(exist_ok=True)
        os.replace(tmp, final)
        _fsync_dir(final.parent)
        return ArchivedFile(digest, final, size)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _copy_hashing(src: Path, fd: int) -> tuple[str, int]:
    """Stream `src` into the open temp file `fd` (then fsync and close it); return hash and size."""
    h, size = hashlib.sha256(), 0
    with open(fd, "wb") as out, open(src, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
            out.write(chunk)
            size += len(chunk)
        out.flush()
        os.fsync(out.fileno())
    return h.hexdigest(), size


def _fsync_dir(path: Path) -> None:
    """Make the rename itself durable (POSIX); Windows cannot open a directory and needs none."""
    try:
        fd = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def sweep_partials(archive_dir: Path, older_than_s: float = 3600) -> list[Path]:
    """Remove `.part` files left by a killed import (only old ones: a running import owns the
    young ones). Returns the removed paths."""
    cutoff = time.time() - older_than_s
    removed = []
    for p in Path(archive_dir).glob(f".*{PART_SUFFIX}"):
        if p.stat().st_mtime <= cutoff:
            p.unlink(missing_ok=True)
            removed.append(p)
    return removed


def verify_archive(archive_dir: Path) -> list[Path]:
    """Archived files whose content does not match their name (or that are misnamed/misplaced).
    An empty list means every file under a final name is whole."""
    bad = []
    for p in sorted(Path(archive_dir).glob("??/*")):
        m = _FINAL_NAME.fullmatch(p.name)
        if not m or p.parent.name != m.group(1)[:2] or _sha256_of(p) != m.group(1):
            bad.append(p)
    return bad


def _sha256_of(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            h.update(chunk)
    return h.hexdigest()
