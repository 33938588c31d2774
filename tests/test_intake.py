"""What an office publishes about who sent what, through the real CLI (issue 10 items 1, 3, 8):
blank returns are refused and the unit stays 未报送; lateness is decided by the unit's first
valid return (a correction after the deadline is 截止后更正, not 逾期); contacts filled on the
自评表's own 联系人 sheet count as the unit's contact details.
"""
from __future__ import annotations

import json
import os
import shutil
from datetime import date, datetime, timezone
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from test_import import camp, fill, fill_contacts, input_cells, made, valid_values  # noqa: F401
from xlsx_workflow.campaign import init_campaign
from xlsx_workflow.cli import main
from xlsx_workflow.generate import generate_campaign
from xlsx_workflow.ledger import StoredReturn

runner = CliRunner()
PERSON = ["", "王敏", "科长", "0376-6312865", "13812345678", "", "wangmin@163.com"]
OTHER = ["", "李强", "副科长", "0376-6312866", "13912345678", "", "liqiang@163.com"]


def cli(*args: str) -> dict:
    """Run a command with --json; its JSON document."""
    r = runner.invoke(main, [*map(str, args), "--json"])
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout)


def received_on(path: Path, day: date) -> Path:
    """Give the file the modification time the import takes as its receipt time (noon)."""
    ts = datetime(day.year, day.month, day.day, 12, 0).timestamp()
    os.utime(path, (ts, ts))
    return path


def codes(doc: dict) -> list[str]:
    return [i["code"] for i in doc["issues"]]


def by_unit(doc: dict, key: str = "units") -> dict:
    return {u["unit_code"]: u for u in doc[key]}


def report_text(root: Path) -> str:
    files = cli("report", root)["files"]
    return Path(next(f for f in files if f.endswith(".md"))).read_text(encoding="utf-8")


def returns_sheet(root: Path) -> dict:
    """排名汇总.xlsx, sheet 报送情况: unit name → row as {header: value}."""
    ws = openpyxl.load_workbook(root / "report" / "排名汇总.xlsx")["报送情况"]
    rows = [[c.value for c in r] for r in ws.iter_rows()]
    top = next(k for k, r in enumerate(rows) if "是否逾期" in r)
    return {r[0]: dict(zip(rows[top], r)) for r in rows[top + 1:] if r[0]}


# --- item 1: blank and nearly blank returns ----------------------------------------------------

def flags(c) -> list[str]:
    return [f.id for f in c.rubric.unit_fields if f.type == "flag"]


def only_no_and_zero(c) -> dict:
    """Every field filled with the value a blank is scored as: “否” or 0 (choices left open)."""
    return {f.id: "否" if f.type == "flag" else 0
            for f in c.rubric.unit_fields if f.type != "choice"}


def test_blank_returns_are_refused_and_the_unit_stays_missing(camp, tmp_path):
    c, wbs, cfs = camp
    u = [x.code for x in c.units]
    inbox = tmp_path / "收件"
    inbox.mkdir()
    shutil.copy(wbs[u[0]], inbox / "untouched.xlsx")                        # nothing filled
    fill(wbs[u[1]], inbox / "one.xlsx", {flags(c)[0]: "是"})                 # 1 of 47 filled
    fill(wbs[u[2]], inbox / "defaults.xlsx", only_no_and_zero(c))           # only 否 / 0
    fill(wbs[u[3]], inbox / "five.xlsx", {f: "是" for f in flags(c)[:5]})    # a tenth: accepted
    for k, code in enumerate(u[4:], 4):
        fill(wbs[code], inbox / f"ok{k}.xlsx", valid_values(c, k))
    shutil.copy(cfs[u[0]], inbox / "contacts-untouched.xlsx")                # nothing filled
    fill_contacts(cfs[u[1]], inbox / "contacts-unit-only.xlsx", [["平桥区"], ["平桥区"]])

    doc = cli("import", c.root, inbox)
    rejected = {Path(r["path"]).name: r for r in doc["rejected"]}
    for name in ("untouched.xlsx", "one.xlsx", "defaults.xlsx"):
        assert [e["code"] for e in rejected[name]["errors"]] == ["V020"], name
        assert "V010" not in codes(rejected[name])  # one clear message, not 47 warnings
    assert "全部是“否”或 0" in rejected["defaults.xlsx"]["errors"][0]["message"]
    for name in ("contacts-untouched.xlsx", "contacts-unit-only.xlsx"):
        assert [e["code"] for e in rejected[name]["errors"]] == ["K007"], name
    assert "five.xlsx" in {Path(a["path"]).name for a in doc["accepted"]}
    assert doc["missing"] == u[:3]

    st = by_unit(cli("status", c.root))
    for code in u[:3]:
        assert (st[code]["status"], st[code]["received"], st[code]["versions"],
                st[code]["blank_returns"]) == ("missing", False, 0, 1), code
        assert st[code]["status_label"].startswith("未报送")
    for code in u[:2]:
        assert st[code]["contact_form"] == "missing"  # a blank contact form is not a contact form
    text = runner.invoke(main, ["status", str(c.root)]).stdout
    assert "空白表1份已退回" in text

    scores = by_unit(cli("score", c.root))
    assert [scores[code]["state"] for code in u[:4]] == ["missing"] * 3 + ["scored"]
    assert all(scores[code]["rank"] is None for code in u[:3])
    report = report_text(c.root)
    names = [x.name for x in c.units[:3]]
    assert "无未报送单位" not in report and f"3个单位未报送（{'、'.join(names)}）" in report
    assert all(returns_sheet(c.root)[n]["状态"] == "未报送" for n in names)


@pytest.fixture(scope="module")
def counterfeit(tmp_path_factory):
    root = tmp_path_factory.mktemp("ac") / "camp"
    camp = init_campaign(root, "anti-counterfeit-2021", deadline="2022-05-27")
    return camp, {w.unit_code: Path(w.path) for w in generate_campaign(root, jobs=1).workbooks}


def test_blank_anti_counterfeit_return_is_refused_not_scored_for_its_penalty_clauses(counterfeit):
    """Its “full unless misses” penalty clauses score while blank (18.45 with office data)."""
    c, wbs = counterfeit
    code = c.units[0].code
    [rej] = cli("import", c.root, wbs[code])["rejected"]
    assert [e["code"] for e in rej["errors"]] == ["V020"] and rej["total"] is None
    assert by_unit(cli("status", c.root))[code]["status"] == "missing"
    assert by_unit(cli("score", c.root))[code]["state"] == "missing"


# --- item 3: late is decided by the first valid return -----------------------------------------

def test_a_correction_after_the_deadline_is_not_late(camp, tmp_path):
    c, wbs, _ = camp
    a, b, d = c.units[0], c.units[1], c.units[2]
    on_time, after = date(2022, 5, 20), date(2022, 6, 2)
    first = received_on(fill(wbs[a.code], tmp_path / "1" / "a.xlsx", valid_values(c, 1)), on_time)
    bad = received_on(fill(wbs[d.code], tmp_path / "1" / "d.xlsx", valid_values(c, 3),
                           raw={flags(c)[0]: "有"}), on_time)  # refused: not a valid return
    cli("import", c.root, first, bad)
    fixed = received_on(fill(wbs[a.code], tmp_path / "2" / "a.xlsx", valid_values(c, 2)), after)
    late = received_on(fill(wbs[b.code], tmp_path / "2" / "b.xlsx", valid_values(c, 4)), after)
    d_ok = received_on(fill(wbs[d.code], tmp_path / "2" / "d.xlsx", valid_values(c, 5)), after)
    doc = cli("import", c.root, fixed, late, d_ok)
    got = {Path(f["path"]).parent.name + Path(f["path"]).name: f for f in doc["accepted"]}
    assert got["2a.xlsx"]["late"] is False and got["2a.xlsx"]["late_correction"] is True
    assert "L009" in codes(got["2a.xlsx"]) and "L004" not in codes(got["2a.xlsx"])
    assert got["2b.xlsx"]["late"] and "L004" in codes(got["2b.xlsx"])
    assert got["2d.xlsx"]["late"]  # its on-time return was refused: the first valid one is late

    st = by_unit(cli("status", c.root))
    assert st[a.code]["late"] is False
    assert (st[a.code]["late"], st[a.code]["late_correction"], st[a.code]["timeliness"]) == \
        (False, True, "按时报送，截止后更正")
    assert st[a.code]["versions"] == 2
    assert (st[b.code]["late"], st[b.code]["timeliness"]) == (True, "逾期")
    assert (st[d.code]["late"], st[d.code]["timeliness"]) == (True, "逾期")
    text = runner.invoke(main, ["status", str(c.root)]).stdout
    row = next(line for line in text.splitlines() if line.startswith(a.code))
    assert "截止后更正" in row and "第一份有效" in text

    scores = by_unit(cli("score", c.root))
    assert (scores[a.code]["late"], scores[a.code]["late_correction"]) == (False, True)
    report = report_text(c.root)
    assert f"2个单位逾期报送（{d.name}、{b.name}）" in report or \
        f"2个单位逾期报送（{b.name}、{d.name}）" in report
    assert f"{a.name}按时报送后于截止日后报送了更正材料" in report
    sheet = returns_sheet(c.root)
    assert sheet[a.name]["是否逾期"] == "否（按时报送，截止后更正）"
    assert sheet[b.name]["是否逾期"] == "是"


def test_an_extension_granted_after_import_decides_lateness_everywhere(camp, tmp_path):
    """The unit's own deadline (campaign.yaml extensions, `extend`) is what status and score
    judge by, also for returns imported before the extension was granted."""
    c, wbs, _ = camp
    b = c.units[1]
    late = received_on(fill(wbs[b.code], tmp_path / "b.xlsx", valid_values(c, 4)), date(2022, 6, 2))
    cli("import", c.root, late)
    assert by_unit(cli("status", c.root))[b.code]["late"] is True
    cli("extend", c.root, b.code, "2022-06-05")
    assert by_unit(cli("status", c.root))[b.code]["late"] is False
    assert by_unit(cli("score", c.root))[b.code]["late"] is False


def stored(n: int, day: int, status: str = "accepted") -> StoredReturn:
    at = datetime(2022, 5, day, 12, tzinfo=timezone.utc)
    return StoredReturn(n, 1, "A", f"{n}", f"{n}.xlsx", at, status, False, None, None, 0, 0, {}, [])


@pytest.mark.parametrize("versions, late, corrected", [
    ([], False, False),
    ([stored(1, 20)], False, False),
    ([stored(1, 28)], True, False),
    ([stored(1, 20), stored(2, 29)], False, True),           # on time, then corrected
    ([stored(2, 29), stored(1, 20)], False, True),           # any order
    ([stored(1, 20, "rejected"), stored(2, 29)], True, False),  # first valid is late
    ([stored(1, 20), stored(2, 29, "rejected")], False, False),  # refused correction
    ([stored(1, 20, "flagged"), stored(2, 29)], False, True),   # flagged counts as valid
    ([stored(1, 29, "rejected")], True, False),                # nothing valid, sent late
])
def test_unit_timeliness(versions, late, corrected):
    from xlsx_workflow.ledger import unit_timeliness
    t = unit_timeliness(versions, date(2022, 5, 27), timezone.utc)
    assert (t.late, t.late_correction) == (late, corrected)


# --- item 8: contacts on the 自评表's own 联系人 sheet -------------------------------------------

def with_sheet_contacts(src: Path, dst: Path, values: dict, people: list[list]) -> Path:
    """A filled 自评表 whose 联系人 sheet lists `people`."""
    fill(src, dst, values)
    return fill_contacts(dst, dst, people)


def test_contacts_on_the_workbooks_own_sheet_count_newest_wins(camp, tmp_path):
    c, wbs, cfs = camp
    a, b, d = c.units[0], c.units[1], c.units[2]
    sheet_a = received_on(with_sheet_contacts(wbs[a.code], tmp_path / "a.xlsx", valid_values(c, 1),
                                              [[a.name, *PERSON[1:]]]), date(2022, 5, 20))
    # b: contact form first, then its 自评表 naming someone else (newer wins)
    form_b = received_on(fill_contacts(cfs[b.code], tmp_path / "b-form.xlsx", [PERSON]),
                         date(2022, 5, 10))
    sheet_b = received_on(with_sheet_contacts(wbs[b.code], tmp_path / "b.xlsx", valid_values(c, 2),
                                              [OTHER]), date(2022, 5, 20))
    # d: 自评表 first, then a newer contact form (the form wins)
    sheet_d = received_on(with_sheet_contacts(wbs[d.code], tmp_path / "d.xlsx", valid_values(c, 3),
                                              [OTHER]), date(2022, 5, 12))
    form_d = received_on(fill_contacts(cfs[d.code], tmp_path / "d-form.xlsx", [PERSON]),
                         date(2022, 5, 15))
    cli("import", c.root, sheet_a, form_b, sheet_b, sheet_d, form_d)

    got = by_unit(cli("contacts", c.root), "contacts")
    assert (got[a.code]["name"], got[a.code]["email"], got[a.code]["source"]) == \
        ("王敏", "wangmin@163.com", "自评表联系人页")
    assert (got[b.code]["name"], got[b.code]["source"]) == ("李强", "自评表联系人页")
    assert (got[d.code]["name"], got[d.code]["source"]) == ("王敏", "联系人信息表")
    assert a.code not in cli("contacts", c.root)["missing"]
    book = openpyxl.load_workbook(c.root / "联系人名录.xlsx")["联系人名录"]
    assert any(r[0] == a.code and "wangmin@163.com" in r for r in book.iter_rows(values_only=True))

    st = by_unit(cli("status", c.root))
    assert (st[a.code]["contact_form"], st[a.code]["contact_source"]) == \
        ("accepted", "self_assessment")
    assert st[a.code]["contact_form_label"] == "已接收（自评表联系人页）"
    assert (st[b.code]["contact_source"], st[b.code]["contact_form_label"]) == \
        ("self_assessment", "已接收")  # its own form came in too
    assert st[d.code]["contact_source"] == "contact_form"
    assert st[c.units[3].code]["contact_form"] == "missing"
