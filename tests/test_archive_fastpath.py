"""Re-import speed (issue 13): content the archive already holds is neither copied nor fsynced
again; a pipe (read once) still goes through the copy."""
from __future__ import annotations

import os
import threading

import pytest

import xlsx_workflow.archive as archive_mod
from xlsx_workflow.archive import archive_file, verify_archive


def test_known_content_is_not_copied_or_fsynced_again(tmp_path, monkeypatch):
    src = tmp_path / "浉河区自评表.xlsx"
    src.write_bytes(b"PK" + os.urandom(4096))
    first = archive_file(src, tmp_path / "archive")
    calls = []
    real_fsync = os.fsync
    monkeypatch.setattr(archive_mod.os, "fsync", lambda fd: (calls.append(fd), real_fsync(fd)))
    again = archive_file(src, tmp_path / "archive")
    assert (again.sha256, again.path, again.created) == (first.sha256, first.path, False)
    assert calls == [] and not list((tmp_path / "archive").glob(".*.part"))
    assert verify_archive(tmp_path / "archive") == []


def test_a_pipe_is_read_once_and_archived_whole(tmp_path):
    data = os.urandom(200_000)
    fifo = tmp_path / "管道.xlsx"
    os.mkfifo(fifo)
    feeder = threading.Thread(target=lambda: fifo.write_bytes(data))
    feeder.start()
    got = archive_file(fifo, tmp_path / "archive")
    feeder.join(10)
    assert got.size == len(data) and got.path.read_bytes() == data


def test_a_hash_taken_at_collection_is_not_taken_again(tmp_path, monkeypatch):
    import hashlib
    known, new = tmp_path / "旧.xlsx", tmp_path / "新.xlsx"
    known.write_bytes(b"PK" + os.urandom(4096))
    new.write_bytes(b"PK" + os.urandom(4096))
    first = archive_file(known, tmp_path / "archive")
    monkeypatch.setattr(archive_mod, "_sha256_of", lambda p: pytest.fail(f"{p} hashed again"))
    again = archive_file(known, tmp_path / "archive", first.sha256)
    assert (again.sha256, again.path, again.created) == (first.sha256, first.path, False)
    digest = hashlib.sha256(new.read_bytes()).hexdigest()
    got = archive_file(new, tmp_path / "archive", digest)  # new content: hashed by its copy only
    assert got.created and got.sha256 == digest and got.path.read_bytes() == new.read_bytes()
    monkeypatch.undo()
    assert verify_archive(tmp_path / "archive") == []
