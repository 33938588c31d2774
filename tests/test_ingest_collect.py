"""Collecting received files: folders, zips (GBK names, traversal, bombs, nesting), once each."""
import hashlib
import io
import os
import random
import zipfile
from pathlib import Path

import pytest

from badfiles import (good_xlsx_bytes, legacy_zip, minimal_pdf, minimal_png, plain_zip,
                      set_declared_size, set_encrypted_flag, write, zeros_member)
from xlsx_workflow.ingest import ARCHIVE, EVIDENCE, SKIPPED, WORKBOOK, collect
from xlsx_workflow.ingest.collect import MAX_ARCHIVE_BYTES, member_name
from xlsx_workflow.messages import WorkflowError

GOOD = good_xlsx_bytes()
MB = 1024 * 1024


def _inbox(root: Path) -> Path:
    """What an office's attachment folder looks like after a week of email."""
    inbox = root / "收件"
    write(inbox, "浉河区.xlsx", GOOD)
    write(inbox, "浉河区材料/会议纪要.pdf", minimal_pdf())
    write(inbox, "~$浉河区.xlsx", b"\x06lockfile")
    write(inbox, ".tmp/旧版.xlsx", GOOD)
    write(inbox, "Thumbs.db", b"\0" * 10)
    write(inbox, "罗山县.rar", b"Rar!\x1a\x07\x00")
    write(inbox, "returns.zip", legacy_zip({
        "平桥区.xlsx": GOOD, "平桥区材料/现场照片.png": minimal_png(),
        "__MACOSX/._平桥区.xlsx": b"\0\x05\x16\x07"}))
    write(inbox, "evil.zip", plain_zip(
        {"../evil.xlsx": GOOD, "/tmp/abs-evil.xlsx": GOOD, "C:\\evil.xlsx": GOOD,
         "息县.xlsx": GOOD}, symlinks={"link.xlsx": "/etc/passwd"}))
    bomb = zipfile.ZipFile(io.BytesIO(zeros_member("bomb.xlsx", 3 * MB)))
    with zipfile.ZipFile(inbox / "bomb.zip", "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(bomb.infolist()[0], bomb.read("bomb.xlsx"))
        z.writestr("huge.pdf", b"%PDF-1.4 small")
        z.writestr("新县.xlsx", GOOD)
        z.writestr("secret.xlsx", GOOD)
    data = set_declared_size((inbox / "bomb.zip").read_bytes(), "huge.pdf", 60 * MB)
    (inbox / "bomb.zip").write_bytes(set_encrypted_flag(data, "secret.xlsx"))
    deeper = plain_zip({"b.xlsx": GOOD})
    inner = plain_zip({"a.xlsx": GOOD, "deeper.zip": deeper})
    write(inbox, "nested.zip", plain_zip({"inner.zip": inner, "top.xlsx": GOOD}))
    write(inbox, "corrupt.zip", plain_zip({"c.xlsx": GOOD})[:200])
    with zipfile.ZipFile(inbox / "damaged.zip", "w", zipfile.ZIP_STORED) as z:
        z.writestr("光山县.xlsx", GOOD)
        z.writestr("固始县.xlsx", GOOD)
    data = bytearray((inbox / "damaged.zip").read_bytes())
    data[data.find(GOOD) + 100] ^= 0xFF  # one bad byte in the first member: its CRC fails
    (inbox / "damaged.zip").write_bytes(bytes(data))
    return inbox


EXPECTED = [  # name as the user knows it,              kind,     codes
    ("收件/.tmp",                                       SKIPPED,  ["F020"]),
    ("收件/Thumbs.db",                                  SKIPPED,  ["F020"]),
    ("收件/bomb.zip",                                   ARCHIVE,  []),
    ("收件/bomb.zip!bomb.xlsx",                         WORKBOOK, ["F023"]),
    ("收件/bomb.zip!huge.pdf",                          EVIDENCE, ["F023"]),
    ("收件/bomb.zip!secret.xlsx",                       WORKBOOK, ["F027"]),
    ("收件/bomb.zip!新县.xlsx",                         WORKBOOK, []),
    ("收件/corrupt.zip",                                ARCHIVE,  ["F025"]),
    ("收件/damaged.zip",                                ARCHIVE,  []),
    ("收件/damaged.zip!光山县.xlsx",                     WORKBOOK, ["F025"]),
    ("收件/damaged.zip!固始县.xlsx",                     WORKBOOK, []),
    ("收件/evil.zip",                                   ARCHIVE,  []),
    ("收件/evil.zip!../evil.xlsx",                      WORKBOOK, ["F021"]),
    ("收件/evil.zip!/tmp/abs-evil.xlsx",                WORKBOOK, ["F021"]),
    ("收件/evil.zip!C:\\evil.xlsx",                     WORKBOOK, ["F021"]),
    ("收件/evil.zip!link.xlsx",                         WORKBOOK, ["F022"]),
    ("收件/evil.zip!息县.xlsx",                         WORKBOOK, []),
    ("收件/nested.zip",                                 ARCHIVE,  []),
    ("收件/nested.zip!inner.zip",                       ARCHIVE,  []),
    ("收件/nested.zip!inner.zip!a.xlsx",                WORKBOOK, []),
    ("收件/nested.zip!inner.zip!deeper.zip",            ARCHIVE,  ["F026"]),
    ("收件/nested.zip!top.xlsx",                        WORKBOOK, []),
    ("收件/returns.zip",                                ARCHIVE,  []),
    ("收件/returns.zip!__MACOSX/._平桥区.xlsx",          SKIPPED,  ["F020"]),
    ("收件/returns.zip!平桥区.xlsx",                     WORKBOOK, []),
    ("收件/returns.zip!平桥区材料/现场照片.png",          EVIDENCE, []),
    ("收件/~$浉河区.xlsx",                              SKIPPED,  ["F020"]),
    ("收件/浉河区.xlsx",                                WORKBOOK, []),
    ("收件/浉河区材料/会议纪要.pdf",                     EVIDENCE, []),
    ("收件/罗山县.rar",                                 EVIDENCE, ["F028"]),
]


@pytest.fixture
def collected(tmp_path):
    inbox = _inbox(tmp_path / "in")
    return collect([inbox], tmp_path / "work"), tmp_path


def test_every_file_is_reported_once_with_its_code(collected):
    received, _ = collected
    assert [(r.name, r.kind, [i.code for i in r.issues]) for r in received] == EXPECTED


def test_extracted_members_stay_in_work_dir_and_keep_their_bytes(collected):
    received, tmp_path = collected
    work = (tmp_path / "work").resolve()
    good_sha = hashlib.sha256(GOOD).hexdigest()
    on_disk = {r.name: r for r in received if r.path is not None}
    for name in ("收件/returns.zip!平桥区.xlsx", "收件/evil.zip!息县.xlsx",
                 "收件/nested.zip!inner.zip!a.xlsx", "收件/bomb.zip!新县.xlsx"):
        rec = on_disk[name]
        assert rec.path.resolve().is_relative_to(work)
        assert rec.sha256 == good_sha == hashlib.sha256(rec.path.read_bytes()).hexdigest()
        assert rec.size == len(GOOD)
        assert rec.container == name.rsplit("!", 1)[0]
    refused = [r for r in received if r.refused and r.kind != ARCHIVE]
    assert refused and all(r.path is None and r.sha256 == "" for r in refused)
    everything = [p.name for p in tmp_path.rglob("*")] + os.listdir("/tmp")
    assert "evil.xlsx" not in everything and "abs-evil.xlsx" not in everything
    assert not any(p.is_symlink() for p in work.rglob("*"))


def test_gbk_names_from_windows_zip_tools(tmp_path):
    data = legacy_zip({"浉河区.xlsx": GOOD, "材料/照片.png": minimal_png()})
    assert "浉河区".encode("gbk") in data and "浉河区".encode("utf-8") not in data
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert all(not i.flag_bits & 0x800 for i in z.infolist())
        assert "浉河区.xlsx" not in z.namelist()  # zipfile alone shows CP437 mojibake
    received = collect([write(tmp_path, "打包.zip", data)], tmp_path / "work")
    assert [r.name for r in received] == ["打包.zip", "打包.zip!材料/照片.png",
                                          "打包.zip!浉河区.xlsx"]
    assert received[2].path.name == "浉河区.xlsx"


def test_utf8_names_without_the_flag_and_plain_ascii(tmp_path):
    data = legacy_zip({"罗山县.xlsx": GOOD, "report.xlsx": GOOD}, encoding="utf-8")
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        assert sorted(member_name(i) for i in z.infolist()) == ["report.xlsx", "罗山县.xlsx"]


def test_archive_over_total_limit_is_not_opened(tmp_path):
    """Each member passes alone (45 MB, ratio < 200); together they exceed the archive limit."""
    rng = random.Random(4)
    with zipfile.ZipFile(tmp_path / "big.zip", "w", zipfile.ZIP_STORED) as z:
        for n in range(5):
            z.writestr(f"part{n}.xlsx", rng.randbytes(240 * 1024))
    data = (tmp_path / "big.zip").read_bytes()
    for n in range(5):
        data = set_declared_size(data, f"part{n}.xlsx", 45 * MB)
    (tmp_path / "big.zip").write_bytes(data)
    assert 5 * 45 * MB > MAX_ARCHIVE_BYTES
    received = collect([tmp_path / "big.zip"], tmp_path / "work")
    assert [(r.name, [i.code for i in r.issues]) for r in received] == [("big.zip", ["F024"])]
    assert not any((tmp_path / "work").rglob("*.xlsx"))


def test_batch_goes_on_and_order_is_deterministic(tmp_path):
    inbox = _inbox(tmp_path / "in")
    first = collect([inbox, inbox / "浉河区.xlsx"], tmp_path / "w1")
    second = collect([inbox], tmp_path / "w2")
    assert [(r.name, r.sha256) for r in first] == [(r.name, r.sha256) for r in second]
    assert sum(r.name.endswith("浉河区.xlsx") and r.kind == WORKBOOK for r in first) == 1
    good = [r for r in first if r.kind == WORKBOOK and not r.issues]
    assert len(good) == 7  # every good return arrived despite the bad files around it


def test_work_dir_inside_the_inbox_is_not_collected_again(tmp_path):
    inbox = tmp_path / "in"
    write(inbox, "a.zip", plain_zip({"a.xlsx": GOOD}))
    collect([inbox], inbox / "work")
    received = collect([inbox], inbox / "work")  # the work dir now exists, full of extractions
    assert [r.name for r in received] == ["in/a.zip", "in/a.zip!a.xlsx"]
    assert received[1].path.parents[2] == inbox / "work"  # work/zip-NNN/<member no.>/a.xlsx


def test_missing_path_is_a_usage_error(tmp_path):
    with pytest.raises(WorkflowError) as caught:
        collect([tmp_path / "没有这个文件夹"], tmp_path / "work")
    assert [i.code for i in caught.value.issues] == ["F029"]


def test_single_files_and_symlinks_on_disk(tmp_path):
    write(tmp_path / "in", "商城县.xlsx", GOOD)
    (tmp_path / "in" / "快捷方式.xlsx").symlink_to(tmp_path / "in" / "商城县.xlsx")
    received = collect([tmp_path / "in"], tmp_path / "work")
    assert [(r.name, r.kind, [i.code for i in r.issues]) for r in received] == [
        ("in/商城县.xlsx", WORKBOOK, []), ("in/快捷方式.xlsx", SKIPPED, ["F022"])]
    direct = collect([tmp_path / "in" / "商城县.xlsx"], tmp_path / "work")
    assert [(r.name, r.container, r.path) for r in direct] == [
        ("商城县.xlsx", "", tmp_path / "in" / "商城县.xlsx")]
