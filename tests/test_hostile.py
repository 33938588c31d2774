"""The fuzzer's classes of hostile returns (issue 10 item 11), through the real CLI.

Each class was accepted (or dropped from the JSON, or ended the import) before: hostile zip
packages built from a valid return, row-structure edits, and file names that vanished. The last
test imports all of them in one batch and checks every verdict, and that every received file
and zip member is in the `import --json` result and in the archive.
"""
from __future__ import annotations

import hashlib
import json
import os
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from badfiles import HOSTILE_PACKAGES, legacy_zip, plain_zip, write
from returns_corpus import STRUCTURE_CORPUS, make_valid
from test_import import camp, made  # noqa: F401
from xlsx_workflow.cli import main


def run_import(root: Path, *paths: Path) -> dict:
    r = CliRunner().invoke(main, ["import", str(root), *map(str, paths), "--json"])
    assert r.exit_code == 0, (r.output, r.exception)
    return json.loads(r.stdout)


def verdicts(doc: dict) -> dict:
    """{name without the top folder: (section, {codes})} of every return in the JSON."""
    out = {}
    for section in ("accepted", "flagged", "rejected"):
        for f in doc[section]:
            out[f["name"].split("/", 1)[1]] = (section, {i["code"] for i in f["issues"]})
    return out


def _valid(c, wbs, tmp_path: Path, seed: int = 1) -> bytes:
    return make_valid(wbs[c.units[0].code], tmp_path / "valid.xlsx", c, seed=seed).read_bytes()


@pytest.mark.parametrize("kind", sorted(HOSTILE_PACKAGES))
def test_hostile_package_is_refused(camp, tmp_path, kind):  # noqa: F811
    c, wbs, _ = camp
    build, code = HOSTILE_PACKAGES[kind]
    write(tmp_path / "收件", f"{kind}.xlsx", build(_valid(c, wbs, tmp_path)))
    section, codes = verdicts(run_import(c.root, tmp_path / "收件"))[f"{kind}.xlsx"]
    assert section == "rejected" and code in codes, codes


@pytest.mark.parametrize("kind", sorted(STRUCTURE_CORPUS))
def test_row_structure_edit_is_refused(camp, tmp_path, kind):  # noqa: F811
    c, wbs, _ = camp
    build, code = STRUCTURE_CORPUS[kind]
    build(wbs[c.units[1].code], tmp_path / "收件" / f"{kind}.xlsx", c)
    doc = run_import(c.root, tmp_path / "收件")
    section, codes = verdicts(doc)[f"{kind}.xlsx"]
    assert section == "rejected" and code in codes and "T003" not in codes, codes


def test_duplicate_id_names_both_cells(camp, tmp_path):  # noqa: F811
    c, wbs, _ = camp
    STRUCTURE_CORPUS["duplicate_id"][0](wbs[c.units[1].code], tmp_path / "in" / "d.xlsx", c)
    [rej] = run_import(c.root, tmp_path / "in")["rejected"]
    [t006] = [e for e in rej["errors"] if e["code"] == "T006"]
    cells = [part.split("」")[0] for part in t006["message"].split("「")[1:3]]
    assert all(x.startswith("自评表!E") for x in cells) and cells[0] != cells[1], t006


def test_rows_inserted_without_edits_stay_a_warning(camp, tmp_path):  # noqa: F811
    """Inserted rows alone are still read (T003, accepted); Excel also renumbers the formulas
    below an inserted row, which the realigned fingerprint follows."""
    from returns_corpus import CORPUS
    from xlsx_workflow.integrity import fingerprint, realigned
    c, wbs, _ = camp
    CORPUS["row_inserted"][0](wbs[c.units[1].code], tmp_path / "in" / "r.xlsx", c)
    section, codes = verdicts(run_import(c.root, tmp_path / "in"))["r.xlsx"]
    assert section == "accepted" and "T003" in codes and "T005" not in codes
    records = [("自评表", 0, 0, "s:编号"), ("自评表", 1, 5, "f:IF(E2=\"是\",2,0)"),
               ("自评表", 2, 5, "f:SUM(F1:F2)")]
    shifted = [("自评表", 0, 0, "s:编号"), ("自评表", 2, 5, "f:IF(E3=\"是\",2,0)"),
               ("自评表", 3, 5, "f:SUM(F1:F3)")]  # a row inserted above row 2, as Excel does
    assert fingerprint(realigned(shifted, "自评表")) == fingerprint(records)


def _odd_names(inbox: Path, data: bytes) -> dict:
    """Files and zips whose names made them vanish; {name: expected members}."""
    inbox.mkdir(parents=True, exist_ok=True)
    raw = os.fsencode(inbox) + b"/" + "光山县自评表".encode("gbk") + b".xlsx"
    Path(os.fsdecode(raw)).write_bytes(data)  # GBK bytes in a name on a Linux disk
    write(inbox, "浉河区\n自评表 (1).xlsx", data)
    write(inbox, "gbk.zip", legacy_zip({"罗山县/自评表.xlsx": data}, "gbk"))
    write(inbox, "latin1.zip", legacy_zip({"r\xe9sum\xe9.xlsx": data, "caf\xe9/\xfc.pdf": b"%PDF"},
                                          "latin-1"))
    write(inbox, "long.zip", plain_zip({"材料" * 60 + ".pdf": b"%PDF-1",
                                        "x/" + "y" * 300 + ".pdf": b"%PDF-2"}))
    write(inbox, "filedir.zip", plain_zip({"a": b"plain", "a/b.xlsx": data,
                                           "a/b.xlsx/c.pdf": b"%PDF-3"}))
    return {"gbk.zip": ["罗山县/自评表.xlsx"], "latin1.zip": ["résumé.xlsx", "café/ü.pdf"],
            "long.zip": ["材料" * 60 + ".pdf", "x/" + "y" * 300 + ".pdf"],
            "filedir.zip": ["a", "a/b.xlsx", "a/b.xlsx/c.pdf"]}


def _assert_all_received(doc: dict, inbox: Path, members: dict, archive: Path) -> None:
    names = {f["name"] for f in doc["received"]}
    top = inbox.name
    for p in inbox.rglob("*"):
        if p.is_file():
            shown = "/".join(_decoded(part) for part in p.relative_to(inbox).parts)
            assert f"{top}/{shown}" in names, shown
    for zname, expected in members.items():
        for m in expected:
            assert f"{top}/{zname}!{m}" in names, (zname, m)
    archived = {p.name.split(".")[0] for p in archive.glob("??/*")}
    digests = {hashlib.sha256(p.read_bytes()).hexdigest() for p in inbox.rglob("*") if p.is_file()}
    for z in inbox.glob("*.zip"):
        with zipfile.ZipFile(z) as zf:
            digests |= {hashlib.sha256(zf.read(i)).hexdigest() for i in zf.infolist()}
    assert digests <= archived


def _decoded(name: str) -> str:
    """A name component as the sender wrote it (GBK bytes on disk decoded)."""
    raw = os.fsencode(name)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return raw.decode("gbk")


def test_odd_names_never_vanish(camp, tmp_path):  # noqa: F811
    c, wbs, _ = camp
    inbox = tmp_path / "收件"
    inbox.mkdir()
    members = _odd_names(inbox, _valid(c, wbs, tmp_path))
    doc = run_import(c.root, inbox)
    _assert_all_received(doc, inbox, members, c.layout.archive_dir)
    v = verdicts(doc)
    assert v["光山县自评表.xlsx"][0] == "accepted"
    assert v["latin1.zip!résumé.xlsx"][0] in ("accepted", "flagged")
    assert v["filedir.zip!a/b.xlsx"][0] in ("accepted", "flagged")


def test_every_fuzzer_class_in_one_batch(camp, tmp_path):  # noqa: F811
    c, wbs, _ = camp
    inbox = tmp_path / "收件"
    data = _valid(c, wbs, tmp_path)
    expected = {}
    for kind, (build, code) in HOSTILE_PACKAGES.items():
        write(inbox / "包", f"{kind}.xlsx", build(data))
        expected[f"包/{kind}.xlsx"] = ("rejected", code)
    for n, (kind, (build, code)) in enumerate(sorted(STRUCTURE_CORPUS.items())):
        build(wbs[c.units[1 + n].code], inbox / "结构" / f"{kind}.xlsx", c)
        expected[f"结构/{kind}.xlsx"] = ("rejected", code)
    make_valid(wbs[c.units[4].code], inbox / "有效.xlsx", c, seed=4)
    expected["有效.xlsx"] = ("accepted", None)
    members = _odd_names(inbox / "名", data)
    doc = run_import(c.root, inbox)
    got = verdicts(doc)
    for name, (section, code) in expected.items():
        assert got[name][0] == section and (code is None or code in got[name][1]), (name, got[name])
    _assert_all_received(doc, inbox, {f"名/{z}": m for z, m in members.items()},
                         c.layout.archive_dir)
