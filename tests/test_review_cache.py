"""The 审核表 read cache (review_cache.py): a file read before gives exactly what a full read gives,
and any change to the file, or any doubt about the cache, means a full read."""
import json
import shutil
from datetime import datetime

import openpyxl
import pytest
from scorebuilder import edit_review, make_campaign, record_all, sample

import xlsx_workflow.review as review
from xlsx_workflow.review import CONFIRM_SHEET, SHEET, read_review_entries, write_review
from xlsx_workflow.score import run_score


def _fields(entries: dict) -> list:
    """Every field of every entry, in the dict's order, with the type of each value."""
    return [(key, [(f, getattr(e, f), type(getattr(e, f)).__name__)
                   for f in review.ReviewEntry.__slots__]) for key, e in entries.items()]


def _full_read(camp) -> dict:
    return review._read_entries(camp.layout.review_file)[0]


def _no_full_read(monkeypatch):
    def refuse(path):
        raise AssertionError("the 审核表 was read in full")
    monkeypatch.setattr(review, "_read_entries", refuse)


@pytest.fixture
def reviewed(tmp_path):
    """A campaign whose 审核表 has reviewer entries of every kind a cell can hold, on both
    sheets, and one (unit, clause) row repeated."""
    camp = make_campaign(tmp_path / "c", "anti-counterfeit-2021")  # it has a 市级确认 sheet
    record_all(camp, sample(camp))
    run_score(tmp_path / "c")
    path = write_review(tmp_path / "c").path
    a, b = camp.units[0].code, camp.units[1].code
    c = [x.id for x in camp.rubric.clauses if not x.office_review]
    confirm = next(x.id for x in camp.rubric.clauses if x.office_review)
    edit_review(path, {(a, c[0]): (0, "佐证材料不足", "张三"),
                       (a, c[1]): ("两分", "x", "张三"),            # text: S011 later
                       (a, c[2]): (1.5, None, None),
                       (b, c[0]): (None, "只写了理由", None),
                       (b, c[1]): (None, None, "只写了审核人"),
                       (b, c[2]): (True, "布尔", "李四"),
                       (b, c[3]): (datetime(2026, 3, 1, 8, 30), "日期", "李四"),
                       (a, confirm): (0, "核实无此情况", "赵六")})
    book = openpyxl.load_workbook(path)
    ws = book[SHEET]
    ws.append([cell.value for cell in ws[2]])                       # row 2 again at the end
    ws.cell(ws.max_row, 10).value = 0.25
    assert CONFIRM_SHEET in book.sheetnames
    book.save(path)
    return camp


def test_a_second_read_of_the_same_file_gives_the_same_entries(reviewed, monkeypatch):
    camp = reviewed
    cache = camp.layout.review_cache_file
    first, issues = read_review_entries(camp)
    assert not issues and cache.is_file()
    assert _fields(first) == _fields(_full_read(camp))
    touched = [e for e in first.values() if e.touched]
    assert {type(e.raw_points).__name__ for e in touched} >= {"int", "str", "float", "bool",
                                                               "datetime", "NoneType"}
    assert {e.sheet for e in first.values()} == {SHEET, CONFIRM_SHEET}
    with monkeypatch.context() as m:
        _no_full_read(m)
        second, issues = read_review_entries(camp)
    assert not issues
    assert _fields(second) == _fields(first)
    assert all(a is not b for a, b in zip(first.values(), second.values()))  # fresh objects


def test_scores_from_the_cache_are_the_scores_of_a_full_read(reviewed, monkeypatch):
    camp = reviewed
    shutil.copytree(camp.root, camp.root.parent / "copy")
    assert not (camp.root.parent / "copy" / "score" / "审核表读取缓存.json").exists()
    full = run_score(camp.root.parent / "copy", record=False, write=False)  # a full read
    read_review_entries(camp)  # kept
    with monkeypatch.context() as m:
        _no_full_read(m)
        kept = run_score(camp.root, record=False, write=False)
    assert [(u.code, u.score.total, u.score.rank, u.score.grade) for u in kept.result.scored] \
        == [(u.code, u.score.total, u.score.rank, u.score.grade) for u in full.result.scored]
    assert [str(i) for i in kept.issues] == [str(i).replace("/copy/", "/c/") for i in full.issues]
    assert {"S010", "S011"} & {i.code for i in kept.issues}


def test_an_edited_file_is_read_again(reviewed, monkeypatch):
    camp = reviewed
    read_review_entries(camp)
    code, cid = camp.units[2].code, camp.rubric.clauses[0].id
    edit_review(camp.layout.review_file, {(code, cid): (0, "现场核查不符", "王五")})
    entries, _ = read_review_entries(camp)
    e = entries[(code, cid)]
    assert (e.raw_points, e.reason, e.reviewer) == (0, "现场核查不符", "王五")
    assert _fields(entries) == _fields(_full_read(camp))
    with monkeypatch.context() as m:  # and the edited file is what is kept now
        _no_full_read(m)
        assert _fields(read_review_entries(camp)[0]) == _fields(entries)


@pytest.mark.parametrize("spoil", ["garbage", "cut", "other program", "bad type", "empty"])
def test_a_cache_in_doubt_is_ignored(reviewed, spoil):
    camp = reviewed
    read_review_entries(camp)
    cache = camp.layout.review_cache_file
    data = json.loads(cache.read_text(encoding="utf-8"))
    if spoil == "garbage":
        cache.write_bytes(b"\x00\xffnot json")
    elif spoil == "cut":
        cache.write_bytes(cache.read_bytes()[:-200])
    elif spoil == "other program":
        data["stamp"]["program"] = "0.0.0"
        cache.write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")
    elif spoil == "bad type":
        touched = next(r for r in data["rows"] if len(r) > 4)
        touched[4] = {"complex": "1+2j"}
        cache.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")),
                         encoding="utf-8")
    else:
        cache.write_bytes(b"")
    entries, issues = read_review_entries(camp)
    assert not issues
    assert _fields(entries) == _fields(_full_read(camp))


def test_a_sheet_with_problems_is_not_kept(tmp_path):
    camp = make_campaign(tmp_path / "c", "ip-protection-2021")
    record_all(camp, sample(camp))
    path = write_review(tmp_path / "c").path
    book = openpyxl.load_workbook(path)
    book[SHEET].cell(1, 10).value = "分数"  # the 核定分 header renamed: S009
    book.save(path)
    for _ in range(2):
        entries, issues = read_review_entries(camp)
        assert [i.code for i in issues] == ["S009"]
    assert not camp.layout.review_cache_file.exists()


def test_a_failed_write_leaves_no_cache_and_no_stray_file(reviewed, monkeypatch):
    camp = reviewed
    import xlsx_workflow.review_cache as review_cache
    def full_disk(*a, **k):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(review_cache.json, "dump", full_disk)
    entries, issues = read_review_entries(camp)
    assert not issues and entries
    folder = camp.layout.review_cache_file.parent
    assert sorted(p.name for p in folder.iterdir()) == ["得分.json"]
