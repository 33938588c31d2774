"""What the last read of the 审核表 found, kept beside the scores and used while the file is the same.

Reading a 3,000-unit 审核表 (138,000 rows) takes some 11 s, most of `score` and `report` at
national scale (issue 13), and the office runs `score`, then `report`, on the same file. So after a
read, its rows are written to score/审核表读取缓存.json under the file's SHA-256, and the next read
of a file with the same bytes replays them instead of parsing the sheet again. Any change to the
file (a reviewer's edit, a new `review`) changes the digest and the file is read in full; so does
a cache written by another version of this program, or one that cannot be read for any reason.

The rows are replayed in the order the read kept them, so the entries come back as the same dict
(same keys, same order, same values and types) a full read gives; tests/test_review_cache.py
compares the two field by field.
"""
from __future__ import annotations

import hashlib
import json
import os
import tempfile
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from pathlib import Path
from sys import intern
from typing import Callable, Optional

from . import __version__

FILE_NAME = "审核表读取缓存.json"
FORMAT = 1  # bump when ReviewEntry or the reading of the sheet changes


def file_key(path: Path) -> tuple[str, int, int]:
    """(SHA-256 of the bytes, size, mtime in ns) of `path`, read in 1 MiB blocks."""
    before = os.stat(path)
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest(), before.st_size, before.st_mtime_ns


def unchanged(path: Path, key: tuple[str, int, int]) -> bool:
    """The file still has the size and mtime it had when `key` was taken (not written since)."""
    try:
        st = os.stat(path)
    except OSError:
        return False
    return (st.st_size, st.st_mtime_ns) == key[1:]


def _head(digest: str) -> bytes:
    """How a cache file for `digest` begins (json.dump keeps the order of `store`'s keys)."""
    return (b'{"sha256":"' + digest.encode() + b'","stamp":')[:80]


def _stamp(columns: tuple) -> dict:
    return {"format": FORMAT, "program": __version__, "columns": list(columns)}


def load(cache: Path, digest: str, columns: tuple, make: Callable) -> Optional[dict]:
    """The entries kept for a 审核表 with SHA-256 `digest`, each built by `make(code, clause,
    row, raw, reason, reviewer, shown, sheet, letters)`; None when there are none to trust."""
    try:
        with open(cache, "rb") as f:
            if f.read(80) != _head(digest):  # another file's rows: not worth parsing
                return None
            f.seek(0)
            data = json.load(f)
        if data.get("sha256") != digest or data.get("stamp") != _stamp(columns):
            return None
        sheets = [(s["name"], s["letters"]) for s in data["sheets"]]
        if not all(isinstance(n, str) and isinstance(l, dict) for n, l in sheets):
            return None
        out: dict = {}
        for row in data["rows"]:
            k, code, cid, r = row[0], row[1], row[2], row[3]
            if not (isinstance(code, str) and isinstance(cid, str) and type(r) is int
                    and type(k) is int and k >= 0):
                return None
            name, letters = sheets[k]
            if len(row) == 4:  # a row nobody touched
                e = make(intern(code), intern(cid), r, None, "", "", None, name, letters)
            else:
                raw, reason, reviewer, shown = _decode(row[4]), row[5], row[6], row[7]
                if not (isinstance(reason, str) and isinstance(reviewer, str)):
                    return None
                e = make(intern(code), intern(cid), r, raw, reason, reviewer,
                         None if shown is None else Decimal(shown), name, letters)
            out[(e.unit_code, e.clause_id)] = e
        return out
    except Exception:  # missing, cut, foreign or from an older program: read the file instead
        return None


def store(cache: Path, digest: str, columns: tuple, entries: dict) -> None:
    """Keep `entries` (a full read's, before any check changed them) for the file `digest`, in
    their order: replayed, they give the same dict. Nothing is kept when a value has a type
    this format does not know, or the folder is read-only: the next read is then a full one."""
    sheets: list = []
    index: dict = {}  # (sheet name, id of its letters dict) → position in `sheets`
    rows: list = []
    try:
        for e in entries.values():
            k = index.get((e.sheet, id(e.letters)))
            if k is None:
                k = index[(e.sheet, id(e.letters))] = len(sheets)
                sheets.append({"name": e.sheet, "letters": e.letters})
            if e.raw_points is None and not e.reason and not e.reviewer and e.shown is None:
                rows.append([k, e.unit_code, e.clause_id, e.row])
            else:
                rows.append([k, e.unit_code, e.clause_id, e.row, _encode(e.raw_points),
                             e.reason, e.reviewer, None if e.shown is None else str(e.shown)])
    except TypeError:
        return
    data = {"sha256": digest, "stamp": _stamp(columns), "sheets": sheets, "rows": rows}
    tmp = None
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        # a name of its own: two reads at once (the console's threads) never share a file
        with tempfile.NamedTemporaryFile("w", encoding="utf-8", dir=cache.parent,
                                         prefix=f".{cache.name}.", suffix=".tmp",
                                         delete=False) as f:
            tmp = Path(f.name)
            json.dump(data, f, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
        os.replace(tmp, cache)
    except (OSError, ValueError):
        if tmp is not None:
            try:
                tmp.unlink()
            except OSError:
                pass


def _encode(v):
    if v is None or isinstance(v, (str, bool, int, float)):
        if isinstance(v, (int, float)) and type(v) not in (int, float, bool):
            raise TypeError(type(v))
        return v
    if type(v) is datetime and v.tzinfo is None:
        return {"datetime": v.isoformat()}
    if type(v) is date:
        return {"date": v.isoformat()}
    if type(v) is time and v.tzinfo is None:
        return {"time": v.isoformat()}
    if type(v) is timedelta:
        return {"timedelta": [v.days, v.seconds, v.microseconds]}
    raise TypeError(type(v))


def _decode(v):
    if not isinstance(v, dict):
        if v is not None and not isinstance(v, (str, bool, int, float)):
            raise TypeError(type(v))
        return v
    (kind, text), = v.items()
    if kind == "datetime":
        return datetime.fromisoformat(text)
    if kind == "date":
        return date.fromisoformat(text)
    if kind == "time":
        return time.fromisoformat(text)
    if kind == "timedelta":
        return timedelta(*text)
    raise TypeError(kind)
