"""Expand what the office hands to `import` — files, folders, .zip archives — into received files.

Nothing here parses a workbook. Zip members are extracted into a work folder only after their
path, type and declared sizes passed the checks below; every file, good or bad, comes back once
as a `Received` with the issues found while collecting, so the batch can go on past bad ones.
"""
from __future__ import annotations

import hashlib
import os
import re
import shutil
import stat
import struct
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from ..messages import ERROR, Issue, WorkflowError, issue
from .sniff import human_size

WORKBOOK, EVIDENCE, ARCHIVE, SKIPPED = "workbook-like", "evidence", "archive", "skipped"
WORKBOOK_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".et", ".ods", ".csv"}
ARCHIVE_SUFFIXES = {".zip"}
UNSUPPORTED_ARCHIVES = {".rar", ".7z", ".tar", ".gz", ".tgz", ".bz2", ".xz"}
JUNK_NAMES = {"__macosx", "thumbs.db", "desktop.ini"}  # made by Finder / Explorer, never by people

MB = 1024 * 1024
MAX_MEMBER_BYTES = 50 * MB
MAX_ARCHIVE_BYTES = 200 * MB   # per top-level archive, nested archives included
MAX_RATIO = 200                # declared ÷ compressed, checked for members above RATIO_FLOOR
RATIO_FLOOR = 1 * MB
MAX_MEMBERS = 10_000
MAX_NESTING = 1                # a zip inside a zip is opened; one level deeper is not
CHUNK = 256 * 1024
ZIP_READ_ERRORS = (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError,
                   RuntimeError)


@dataclass
class Received:
    """One file as received: where it is on disk now and the name the user knows it by."""
    path: Path | None           # None when the file was refused and never written to disk
    name: str                   # e.g. "收件/returns.zip!浉河区.xlsx"
    size: int
    sha256: str                 # "" when there are no bytes to hash (refused member, folder)
    container: str = ""         # name of the enclosing archive, "" for files from disk
    kind: str = EVIDENCE        # WORKBOOK, EVIDENCE, ARCHIVE or SKIPPED
    issues: list[Issue] = field(default_factory=list)

    @property
    def refused(self) -> bool:
        return any(i.severity == ERROR for i in self.issues)


def collect(paths: list[Path], work_dir: Path) -> list[Received]:
    """Every file under `paths`, zips expanded into `work_dir`, in a deterministic order.

    A path that does not exist is a usage error and stops the run before anything is read.
    """
    paths = [Path(p) for p in paths]
    missing = [p for p in paths if not p.exists() and not p.is_symlink()]
    if missing:
        raise WorkflowError([issue("F029", path=str(p)) for p in missing])
    collector = _Collector(Path(work_dir))
    for path in paths:
        if path.is_dir() and not path.is_symlink():
            collector.walk(path, shown_name(path.resolve().name))
        else:
            collector.add_file(path, shown_name(path.name))
    return collector.received


def shown_name(text: str) -> str:
    """A file name as the sender saw it. On Linux a name whose bytes are not UTF-8 (copied from a
    Chinese Windows share: GBK) comes as surrogate escapes, which SQLite and the JSON output cannot
    hold; decode those bytes as GBK (GB18030), else Latin-1, so the file is still listed."""
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        raw = os.fsencode(text)
    try:
        return raw.decode("gb18030")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def kind_of(name: str) -> str:
    suffix = PurePosixPath(name.replace("\\", "/")).suffix.lower()
    if suffix in WORKBOOK_SUFFIXES:
        return WORKBOOK
    return ARCHIVE if suffix in ARCHIVE_SUFFIXES else EVIDENCE


def is_hidden(name: str) -> bool:
    """Hidden files, Office lock files (~$…) and OS litter: not something a unit sent."""
    return name.startswith((".", "~$")) or name.lower() in JUNK_NAMES


class _Budget:
    """Bytes a top-level archive may still extract, shared with the archives nested in it."""

    def __init__(self, left: int = MAX_ARCHIVE_BYTES):
        self.left = left


class _Collector:
    def __init__(self, work_dir: Path):
        self.work_dir = work_dir
        self._work_real = Path(work_dir).resolve()  # once, not once per entry walked
        self.received: list[Received] = []
        self._seen: set[Path] = set()
        self._archives = 0

    def walk(self, folder: Path, shown: str) -> None:
        for entry in sorted(folder.iterdir(), key=lambda p: p.name):
            name = f"{shown}/{shown_name(entry.name)}"
            if entry.is_dir() and entry.resolve() == self._work_real:  # our own extractions
                continue
            if entry.is_symlink():
                self.received.append(Received(None, name, 0, "", kind=SKIPPED,
                                              issues=[issue("F022", member=name)]))
            elif is_hidden(entry.name):
                size, digest = _hash_file(entry) if entry.is_file() else (0, "")
                self.received.append(Received(entry, name, size, digest, kind=SKIPPED,
                                              issues=[issue("F020", name)]))
            elif entry.is_dir():
                self.walk(entry, name)
            else:
                self.add_file(entry, name)

    def add_file(self, path: Path, name: str) -> None:
        real = path.resolve()
        if real in self._seen:  # the same file named twice (a folder and a file in it)
            return
        self._seen.add(real)
        size, digest = _hash_file(path)
        self._register(Received(path, name, size, digest, kind=kind_of(name)), 0, _Budget())

    def _register(self, rec: Received, depth: int, budget: _Budget) -> None:
        self.received.append(rec)
        suffix = PurePosixPath(rec.name.replace("\\", "/")).suffix.lower()
        if suffix in UNSUPPORTED_ARCHIVES:
            rec.issues.append(issue("F028", rec.name, ext=suffix))
        elif rec.kind == ARCHIVE and depth > MAX_NESTING:
            rec.issues.append(issue("F026", rec.name, member=rec.name))
        elif rec.kind == ARCHIVE:
            self._expand(rec, depth, budget)

    def _expand(self, rec: Received, depth: int, budget: _Budget) -> None:
        try:
            with zipfile.ZipFile(rec.path) as zf:
                self._expand_open(zf, rec, depth, budget)
        except ZIP_READ_ERRORS as e:
            rec.issues.append(issue("F025", rec.name, detail=_error_text(e), what="其中的文件"))

    def _expand_open(self, zf: zipfile.ZipFile, rec: Received, depth: int,
                     budget: _Budget) -> None:
        members = sorted(((member_name(i), i) for i in zf.infolist() if not i.is_dir()),
                         key=lambda m: m[0])
        if len(members) > MAX_MEMBERS:
            rec.issues.append(issue("F024", rec.name,
                                    detail=f"{len(members)} 个文件，上限 {MAX_MEMBERS} 个"))
            return
        problems = {m: _member_problem(m, i) for m, i in members}
        total = sum(i.file_size for m, i in members if problems[m] is None)
        if total > budget.left:
            rec.issues.append(issue("F024", rec.name, detail=(
                f"{human_size(total)}，超过上限 {human_size(MAX_ARCHIVE_BYTES)}")))
            return
        budget.left -= total
        target = self._new_dir()
        for n, (member, info) in enumerate(members):
            name = f"{rec.name}!{member}"
            if problems[member] is not None:
                kind = SKIPPED if problems[member].code == "F020" else kind_of(member)
                self.received.append(Received(None, name, info.file_size, "", rec.name, kind,
                                              [problems[member]]))
            else:
                self._extract(zf, info, name, target / f"{n:05d}" / disk_name(member), rec,
                              depth, budget)

    def _extract(self, zf, info, name, dest, parent, depth, budget) -> None:
        try:
            size, digest = _copy_member(zf, info, dest)
        except ZIP_READ_ERRORS as e:
            dest.unlink(missing_ok=True)
            self.received.append(Received(None, name, info.file_size, "", parent.name,
                                          kind_of(name), [issue("F025", name, detail=(
                                              _error_text(e)), what=f"「{name}」")]))
            return
        self._register(Received(dest, name, size, digest, parent.name, kind_of(name)),
                       depth + 1, budget)

    def _new_dir(self) -> Path:
        self._archives += 1
        target = self.work_dir / f"zip-{self._archives:03d}"
        if target.exists():
            shutil.rmtree(target)
        target.mkdir(parents=True)
        return target


def member_name(info: zipfile.ZipInfo) -> str:
    """The member's name as the sender saw it.

    Windows zip tools (Explorer, old WinRAR/7-Zip) write names in the OEM code page — GBK on a
    Chinese system — without the UTF-8 flag; zipfile then decodes them as CP437 (mojibake).
    """
    if info.flag_bits & 0x800:
        return info.filename
    unicode_path = _unicode_path_field(info)
    if unicode_path:
        return unicode_path
    raw = info.filename.encode("cp437")  # undo zipfile's decoding: CP437 maps all 256 bytes
    if raw.isascii():
        return info.filename
    for encoding in ("utf-8", "gb18030", "cp1252"):  # cp1252: Western Windows ("Latin-1")
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            continue
    return raw.decode("latin-1")


def _unicode_path_field(info: zipfile.ZipInfo) -> str:
    """Info-ZIP Unicode Path extra field (0x7075), valid only if it matches the header name."""
    extra, pos = info.extra, 0
    while pos + 4 <= len(extra):
        tag, size = struct.unpack_from("<HH", extra, pos)
        data = extra[pos + 4:pos + 4 + size]
        if tag == 0x7075 and len(data) > 5 and data[0] == 1:
            crc, = struct.unpack_from("<I", data, 1)
            if crc == zlib.crc32(info.filename.encode("cp437")):
                return data[5:].decode("utf-8", "replace")
        pos += 4 + size
    return ""


def disk_name(member: str, limit: int = 100) -> str:
    """A name to extract a member under: its last component, cut to `limit` UTF-8 bytes with the
    extension kept. Each member gets its own numbered folder, so what the names say (a file and a
    folder of the same name, names too long for the disk, the same name twice) never stops one
    from being extracted; the name the sender used stays in `Received.name`."""
    leaf = safe_parts(member)[-1]
    suffix = PurePosixPath(leaf).suffix
    if len(suffix.encode("utf-8")) > 16:
        suffix = ""
    stem = leaf[:len(leaf) - len(suffix)] if suffix else leaf
    while len((stem + suffix).encode("utf-8")) > limit:
        stem = stem[:-1]
    return (stem + suffix) or "member"


def safe_parts(member: str) -> list[str] | None:
    """Path components to extract under, or None for absolute paths, `..` and NUL bytes."""
    norm = member.replace("\\", "/")
    if "\x00" in norm or norm.startswith("/") or re.match(r"^[A-Za-z]:", norm):
        return None
    parts = [p for p in norm.split("/") if p not in ("", ".")]
    return parts if parts and ".." not in parts else None


def _member_problem(member: str, info: zipfile.ZipInfo) -> Issue | None:
    """Why a member must not be extracted, decided from the central directory alone."""
    parts = safe_parts(member)
    if parts is None:
        return issue("F021", member, member=member)
    if any(is_hidden(p) for p in parts):
        return issue("F020", member)
    if stat.S_ISLNK(info.external_attr >> 16):
        return issue("F022", member, member=member)
    if info.flag_bits & 0x1:
        return issue("F027", member, member=member)
    size = human_size(info.file_size)
    if info.file_size > MAX_MEMBER_BYTES:
        return issue("F023", member, member=member, size=size,
                     detail=f"超过单个文件上限 {human_size(MAX_MEMBER_BYTES)}")
    ratio = info.file_size // max(info.compress_size, 1)
    if info.file_size > RATIO_FLOOR and ratio > MAX_RATIO:
        return issue("F023", member, member=member, size=size,
                     detail=f"压缩比 {ratio}:1 超过上限 {MAX_RATIO}:1，疑似“压缩炸弹”")
    return None


def _copy_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, dest: Path) -> tuple[int, str]:
    """Extract in chunks, hashing on the way; zipfile checks the CRC at the end."""
    digest, written = hashlib.sha256(), 0
    dest.parent.mkdir(parents=True, exist_ok=True)
    with zf.open(info) as src, dest.open("wb") as out:
        while chunk := src.read(CHUNK):
            written += len(chunk)
            if written > info.file_size:
                raise zipfile.BadZipFile("实际大小超过声明")
            digest.update(chunk)
            out.write(chunk)
    return written, digest.hexdigest()


def _hash_file(path: Path) -> tuple[int, str]:
    digest, size = hashlib.sha256(), 0
    with path.open("rb") as f:
        while chunk := f.read(CHUNK):
            size += len(chunk)
            digest.update(chunk)
    return size, digest.hexdigest()


def _error_text(e: Exception) -> str:
    text = str(e)
    if "CRC" in text:
        return "校验值不符"
    if isinstance(e, zlib.error):
        return "压缩数据损坏"
    if "not a zip file" in text or isinstance(e, EOFError):
        return "文件被截断或目录区损坏"
    return text[:80] or type(e).__name__
