"""The whole cycle through the real command line on both built-in rubrics: init → generate →
simulate (with the office's figures) → import → score → review round trip that changes a rank →
a re-import that puts a reviewed clause back for review → ties → report; and `run` in one go.

One campaign per rubric is built once (module fixture `cycle`, every step asserted as it goes);
the tests then check what each step left behind."""
from __future__ import annotations

import csv
import json
import random
import shutil
import subprocess
import zipfile
from pathlib import Path

import docx
import openpyxl
import pandas as pd
import pytest
from click.testing import CliRunner

from xlsx_workflow.campaign import load_campaign
from xlsx_workflow.cli import main
from xlsx_workflow.ledger import Ledger
from xlsx_workflow.params import FIRST_ROW, UNIT_SHEET
from xlsx_workflow.review import ledger_reviews
from xlsx_workflow.rubric import builtin_rubric
from xlsx_workflow.rubric.sample import full_marks_inputs
from xlsx_workflow.simulate import assign, evidence_bytes, simulate_params
from xlsx_workflow.simulate_fill import AVERAGE, as_cell, header, make_fill, write_workbook

RUBRICS = ["ip-protection-2021", "anti-counterfeit-2021"]
LINK = '=HYPERLINK("http://x","y")'
REVIEWER, REASON = "张审核", "经复核，佐证材料齐全，按满分核定"


def cli(*args) -> tuple[str, str]:
    """(stdout, stderr) of one command; it must succeed."""
    res = CliRunner().invoke(main, [str(a) for a in args])
    assert res.exit_code == 0, f"{args}: {res.output}\n{res.exception!r}"
    return res.stdout, res.stderr


def cli_json(*args) -> dict:
    return json.loads(cli(*args, "--json")[0])


def by_code(score: dict) -> dict:
    return {u["unit_code"]: u for u in score["units"]}


def scored(score: dict) -> list[dict]:
    return sorted((u for u in score["units"] if u["rank"] is not None),
                  key=lambda u: (u["rank"], u["unit_code"]))


# --- building the campaign --------------------------------------------------------------------

def write_units(path: Path, rubric) -> str:
    """The rubric's units with one plain unit (neither late, missing nor faulty) renamed to a
    formula-looking text; returns that unit's code."""
    roles, _ = assign(rubric.units, 0)
    link_code = next(u.code for u in rubric.units if not roles.get(u.code))
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["代码", "名称", "类型", "邮箱"])
        for u in rubric.units:
            w.writerow([u.code, LINK if u.code == link_code else u.name, u.type, u.email])
    return link_code


def review_table(path: Path) -> dict:
    """{(unit code, clause id): row as {header: value}} of 审核表.xlsx."""
    ws = openpyxl.load_workbook(path)["审核表"]
    head = [c.value for c in ws[1]]
    rows = (dict(zip(head, r)) for r in ws.iter_rows(min_row=2, values_only=True))
    return {(r["单位代码"], r["条款编号"]): r for r in rows}


def edit_review(path: Path, edits: dict) -> None:
    """Type 核定分, 核定理由 and 审核人 into the rows {(code, clause): points} as a reviewer does."""
    book = openpyxl.load_workbook(path)
    ws = book["审核表"]
    col = {c.value: c.column for c in ws[1]}
    for r in range(2, ws.max_row + 1):
        key = (ws.cell(r, col["单位代码"]).value, ws.cell(r, col["条款编号"]).value)
        if key in edits:
            ws.cell(r, col["核定分"]).value = edits[key]
            ws.cell(r, col["核定理由"]).value = REASON
            ws.cell(r, col["审核人"]).value = REVIEWER
    book.save(path)


def unit_clauses(rubric) -> dict:
    """Base clauses whose fields are all filled by the unit: clause id → Clause."""
    out = {}
    for ind in rubric.indicators:
        if rubric.group_of(ind.dimension).role != "base":
            continue
        for c in ind.clauses:
            if c.fields and all(f.source == "unit" for f in c.fields):
                out[c.id] = c
    return out


def copy_return(sim_unit: dict, dest: Path) -> Path:
    """The unit's final 自评表 with its evidence, copied (or unzipped) into `dest`; the copies get
    today's time, i.e. they are received after everything the simulation sent."""
    dest.mkdir(parents=True)
    book = sim_unit["workbook"]
    if "!" in book:
        archive, member = book.split("!", 1)
        with zipfile.ZipFile(archive) as zf:
            for name in zf.namelist():
                if name.startswith(member.rsplit("/", 1)[0] + "/") and not name.endswith("/"):
                    (dest / Path(name).name).write_bytes(zf.read(name))
        return dest / Path(member).name
    for f in sim_unit["files"]:
        if f["kind"] in ("workbook", "evidence") and f["version"] == sim_unit["versions"] \
                and Path(f["path"]).parent == Path(book).parent:
            shutil.copy(f["path"], dest / Path(f["path"]).name)
    return dest / Path(book).name


def set_values(book: Path, values: dict) -> None:
    """Change 填报值 of the fields {id: value} in a returned 自评表, as a county would in Excel."""
    wb = openpyxl.load_workbook(book)
    ws = wb["自评表"]
    top, cols = header(ws, ("编号", "填报值", "材料编号"))
    for r in range(top + 1, ws.max_row + 1):
        fid = str(ws.cell(r, cols["编号"]).value or "")
        if fid in values:
            ws.cell(r, cols["填报值"]).value = as_cell(values[fid])
            if not ws.cell(r, cols["材料编号"]).value:
                ws.cell(r, cols["材料编号"]).value = "1"
    wb.save(book)


def tie_return(camp, unit, dest: Path) -> None:
    """A new 自评表 for `unit` whose values are the same for every unit of the same type."""
    fill = make_fill(camp.rubric, unit, AVERAGE, random.Random("tie"), "")
    src = camp.layout.workbook_path(unit.code, unit.name)
    folder = dest / unit.code
    folder.mkdir(parents=True)
    write_workbook(src, folder / src.name, fill)
    for m in fill.materials:
        if m.sent:
            (folder / m.file_name).write_bytes(evidence_bytes(m, unit.code))


def same_params(path: Path, source: str, target: str) -> None:
    """Copy the office's per-unit figures of unit `source` onto unit `target`."""
    book = openpyxl.load_workbook(path)
    ws = book[UNIT_SHEET]
    rows = {str(ws.cell(r, 1).value): r for r in range(FIRST_ROW, ws.max_row + 1)}
    for c in range(3, ws.max_column + 1):
        ws.cell(rows[target], c).value = ws.cell(rows[source], c).value
    book.save(path)


def possible_gain(rubric, table: dict, unit: dict, edits: list) -> float:
    """Points the clauses `edits` (ids) can add to `unit`'s total at full marks, within the
    indicator and dimension maxima."""
    clause_ind = {c.id: ind for ind in rubric.indicators for c in ind.clauses}
    code, per_ind = unit["unit_code"], {}
    for cid in edits:
        r = table[(code, cid)]
        ind = clause_ind[cid]
        per_ind[ind.id] = per_ind.get(ind.id, 0) + float(r["满分"]) - float(r["系统计算分"])
    per_dim = {}
    for ind in rubric.indicators:
        if ind.id in per_ind:
            got = sum(float(table[(code, c.id)]["系统计算分"] or 0) for c in ind.clauses
                      if (code, c.id) in table)
            room = max(0.0, float(ind.max) - got)
            per_dim[ind.dimension] = per_dim.get(ind.dimension, 0) + min(room, per_ind[ind.id])
    names = {x.id: x for x in rubric.dimensions}
    return sum(min(gain, max(0.0, float(names[dim].max) - unit["dimensions"][names[dim].name]))
               for dim, gain in per_dim.items())


def pick_review(rubric, table: dict, ranked: list) -> tuple[dict, dict, dict]:
    """(unit above, unit below, {(code, clause): 满分}) for the first adjacent pair from the top
    where full marks on the lower unit's weakest clauses lift it clearly above the upper one."""
    clauses = unit_clauses(rubric)
    for top, second in zip(ranked, ranked[1:]):
        code = second["unit_code"]
        losses = sorted(((float(r["满分"]) - float(r["系统计算分"]), cid)
                         for (c, cid), r in table.items()
                         if c == code and cid in clauses and r["系统计算分"] is not None
                         and float(r["系统计算分"]) < float(r["满分"])), reverse=True)
        # ranks follow 折算得分 (= total unless a unit has 不适用 indicators; ranking: auto)
        gap, chosen = top["scaled"] - second["scaled"], []
        if gap <= 0:
            continue  # tied: not "passing"
        for _, cid in losses:
            chosen.append(cid)
            if possible_gain(rubric, table, second, chosen) > gap + 1:
                return top, second, {(code, cid): float(table[(code, cid)]["满分"])
                                     for cid in chosen}
    raise AssertionError("no unit can pass the one above it by review")


@pytest.fixture(scope="module", params=RUBRICS)
def cycle(request, tmp_path_factory) -> dict:
    rid = request.param
    rubric = builtin_rubric(rid)
    root = tmp_path_factory.mktemp(rid)
    d = root / "考核"
    units_csv = root / "units.csv"
    out = {"rubric": rubric, "dir": d, "link_code": write_units(units_csv, rubric)}

    cli("init", d, "--rubric", rid, "--units", units_csv, "--deadline", "2022-05-27")
    gen = cli_json("generate", d)
    assert len(gen["workbooks"]) == len(rubric.units)
    sim = cli_json("simulate", d, "--params")
    assert sim["params"]["filled"] == (len(rubric.units) * sum(p.scope != "campaign" for p in rubric.params)
                                      + sum(p.scope == "campaign" for p in rubric.params))
    out["sim"] = sim
    again = simulate_params(d)  # the office's figures once entered are kept
    assert again.filled == 0 and again.kept == sim["params"]["filled"]
    inbox = Path(sim["inbox"])
    shutil.copytree(d, root / "一次完成")  # the same campaign, for `run` in one go

    # import → score: the office's figures are read, nothing stays pending for want of them
    imp = cli_json("import", d, inbox)
    assert set(sim["missing"]) <= set(imp["missing"]) <= set(sim["missing"] + sim["expect_rejected"])
    out["score_first"] = first_score = cli_json("score", d)
    stdout, stderr = cli("score", d)
    assert "S002" not in stderr and "S003" not in stderr  # every office figure was filled
    ranked = scored(first_score)
    assert len(ranked) >= 5, stdout

    # review round trip: the unit ranked 2nd (or, where it cannot, the next one that can) gets
    # 核定分 = 满分 where it lost most, until it passes the unit just above it
    cli("review", d)
    table = review_table(d / "review" / "审核表.xlsx")
    assert {k[0] for k in table} == {u["unit_code"] for u in ranked}
    top, second, edits = pick_review(rubric, table, ranked)
    edit_review(d / "review" / "审核表.xlsx", edits)
    stdout, stderr = cli("score", d)
    assert "S014" in stderr  # each decision recorded in the ledger
    out["score_reviewed"] = cli_json("score", d)
    out.update(top=top["unit_code"], second=second["unit_code"], edits=edits)
    with Ledger(d / "ledger.sqlite") as led:
        out["reviews"] = ledger_reviews(led)

    # re-import after review: a new version of the 2nd's workbook changes a reviewed clause
    clauses = unit_clauses(rubric)
    plain = [cid for _, cid in edits if not clauses[cid].needs] or [cid for _, cid in edits]
    changed = plain[0]
    best = full_marks_inputs(rubric)
    sim_unit = next(u for u in sim["units"] if u["unit_code"] == second["unit_code"])
    book = copy_return(sim_unit, root / "第3次报送" / second["unit_code"])
    set_values(book, {f.id: best[f.id] for f in clauses[changed].fields if f.id in best})
    again = cli_json("import", d, book.parent)
    assert [f["unit_code"] for f in again["accepted"] if "自评表" in f["name"]] == \
        [second["unit_code"]], again
    stdout, stderr = cli("score", d)
    out.update(changed=changed, recheck_stderr=stderr, score_recheck=cli_json("score", d))
    cli("review", d)
    out["review_after"] = review_table(d / "review" / "审核表.xlsx")

    # ties: two other units of the same type send identical values (and get the same figures)
    pool = [u for u in scored(out["score_recheck"])
            if u["unit_code"] not in (out["top"], out["second"], out["link_code"])]
    types = {u.code: u.type for u in rubric.units}
    a, b = next((x, y) for i, x in enumerate(pool) for y in pool[i + 1:]
                if types[x["unit_code"]] == types[y["unit_code"]])
    tie_dir = root / "相同数据"
    camp = load_campaign(d)
    for u in (a, b):
        tie_return(camp, next(x for x in camp.units if x.code == u["unit_code"]), tie_dir)
    same_params(d / "params" / "市级核定数据.xlsx", a["unit_code"], b["unit_code"])
    tied = cli_json("import", d, tie_dir)
    assert len([f for f in tied["accepted"] if "自评表" in f["name"]]) == 2, tied
    out.update(tie=(a["unit_code"], b["unit_code"]), score_tied=cli_json("score", d))

    # report
    out["report"] = [Path(p) for p in cli_json("report", d)["files"]]
    out["score_final"] = cli_json("score", d)
    return out


# --- the tests --------------------------------------------------------------------------------

def test_review_changes_the_rank_and_is_kept_in_the_ledger(cycle):
    before, after = by_code(cycle["score_first"]), by_code(cycle["score_reviewed"])
    top, second = cycle["top"], cycle["second"]
    above = before[top]["rank"]
    assert before[second]["rank"] == above + 1
    assert after[second]["rank"] == above and after[top]["rank"] == above + 1
    assert after[second]["scaled"] > after[top]["scaled"]
    assert after[top]["total"] == before[top]["total"]
    recorded = {(r.unit_code, r.clause_id): r for r in cycle["reviews"]}
    assert set(recorded) == set(cycle["edits"])
    for key, points in cycle["edits"].items():
        r = recorded[key]
        assert float(r.new) == points and r.reviewer == REVIEWER and r.reason == REASON
        assert r.old is not None and r.old < r.new


def test_reimport_after_review_flags_the_clause_again(cycle):
    second, changed = cycle["second"], cycle["changed"]
    unit = by_code(cycle["score_recheck"])[second]
    assert changed in unit["review_flags"]
    assert "S012" in cycle["recheck_stderr"] and f"条款 {changed} 需重新审核" in cycle["recheck_stderr"]
    row = cycle["review_after"][(second, changed)]
    assert "需重新审核" in (row["审核状态"] or "")
    # the reviewer's score stays in force until re-reviewed: the rank holds
    assert unit["rank"] == by_code(cycle["score_reviewed"])[second]["rank"]
    others = [k for k in cycle["edits"] if k[1] != changed]
    assert all("需重新审核" not in (cycle["review_after"][k]["审核状态"] or "") for k in others)


def test_units_with_identical_inputs_share_a_rank_and_the_next_rank_skips(cycle):
    a, b = cycle["tie"]
    units = by_code(cycle["score_tied"])
    assert units[a]["total"] == units[b]["total"]
    assert units[a]["rank"] == units[b]["rank"]
    shared = units[a]["rank"]
    ranks = sorted(u["rank"] for u in units.values() if u["rank"] is not None)
    assert ranks.count(shared) == 2 and shared + 1 not in ranks
    if max(ranks) > shared:
        assert shared + 2 in ranks


def test_report_agrees_with_score(cycle):
    files, final = cycle["report"], cycle["score_final"]
    names = {p.name for p in files}
    assert {"排名汇总.xlsx", "考核情况报告.docx", "考核情况报告.md"} <= names
    assert all(p.is_absolute() and p.is_file() for p in files)
    ranked = scored(final)
    assert {u["unit_code"]: (u["rank"], u["total"]) for u in ranked} == \
        {u["unit_code"]: (u["rank"], u["total"]) for u in scored(cycle["score_tied"])}

    ranking = next(p for p in files if p.name == "排名汇总.xlsx")
    df = pd.read_excel(ranking, sheet_name="排名总表", dtype={"单位代码": str})
    df = df[df["名次"].notna()]
    got = {row["单位代码"]: (int(row["名次"]), round(float(row["总分"]), 2)) for _, row in df.iterrows()}
    assert got == {u["unit_code"]: (u["rank"], u["total"]) for u in ranked}

    report = docx.Document(next(p for p in files if p.name == "考核情况报告.docx"))
    title = report.paragraphs[0].text.replace("\n", "")
    assert title == cycle["rubric"].title + "情况报告"  # the campaign's title (init without --title)
    table = next(t for t in report.tables if t.rows[0].cells[0].text == "名次")
    assert len(table.rows) - 1 == len(ranked)
    assert [r.cells[1].text for r in table.rows[1:]] == [u["unit_name"] for u in ranked]

    sheets = sorted(p.name.split("-")[0] for p in files if p.name.endswith("反馈单.xlsx"))
    assert sheets == sorted(u["unit_code"] for u in ranked)
    folder = cycle["dir"] / "report" / "反馈单"
    assert sorted(p.name.split("-")[0] for p in folder.iterdir()) == sheets


def test_formula_looking_unit_name_stays_text(cycle):
    code = cycle["link_code"]
    final = by_code(cycle["score_final"])
    assert final[code]["unit_name"] == LINK and final[code]["rank"] is not None
    ranking = cycle["dir"] / "report" / "排名汇总.xlsx"
    book = openpyxl.load_workbook(ranking)
    found = []
    for ws in book.worksheets:
        assert not ws._hyperlinks, ws.title
        for row in ws.iter_rows():
            for c in row:
                if isinstance(c.value, str) and "HYPERLINK" in c.value:
                    found.append((ws.title, c.coordinate))
                    assert c.value == LINK and c.data_type == "s" and c.hyperlink is None
    assert any(title == "排名总表" for title, _ in found)
    report = cycle["dir"] / "report" / "考核情况报告.docx"
    doc = docx.Document(report)
    cells = [c.text for t in doc.tables for r in t.rows for c in r.cells]
    assert LINK in cells
    with zipfile.ZipFile(report) as zf:
        xml = zf.read("word/document.xml").decode("utf-8")
    assert "<w:hyperlink" not in xml and "instrText" not in xml.replace("PAGE", "")
    md = (cycle["dir"] / "report" / "考核情况报告.md").read_text(encoding="utf-8")
    assert "HYPERLINK" in md and "](http" not in md and "<http" not in md  # shown, not linked


def test_run_in_one_go_gives_the_same_scores(cycle):
    d = cycle["dir"].parent / "一次完成"
    doc = cli_json("run", d, d / "simulate" / "收件")
    assert {p.rsplit("/", 1)[-1] for p in doc["files"]} >= {"排名汇总.xlsx", "考核情况报告.docx"}
    assert [(u["unit_code"], u["state"], u["total"], u["rank"]) for u in doc["score"]["units"]] == \
        [(u["unit_code"], u["state"], u["total"], u["rank"]) for u in cycle["score_first"]["units"]]

    # as `score`, `run` exits with 1 when the office's workbook holds a bad figure (and says where)
    params = d / "params" / "市级核定数据.xlsx"
    book = openpyxl.load_workbook(params)
    ws = book[UNIT_SHEET]
    assert ws.cell(2, 3).value  # a per-unit column (ip-protection: 虚假报送或隐瞒 是/否)
    ws.cell(FIRST_ROW, 3).value = "很多"
    book.save(params)
    res = CliRunner().invoke(main, ["run", str(d)])
    assert res.exit_code == 1 and "S004" in res.stderr and "很多" in res.stderr, res.output
    assert "排名汇总.xlsx" in res.stdout  # the report is still written
    res = CliRunner().invoke(main, ["report", str(d)])
    assert res.exit_code == 1 and "S004" in res.stderr and "排名汇总.xlsx" in res.stdout, res.output


@pytest.mark.libreoffice
def test_report_renders_to_pdf_without_template_markup(cycle, soffice, tmp_path):
    from xlsx_workflow.office import convert
    title = cycle["rubric"].title
    for name in ("排名汇总.xlsx", "考核情况报告.docx"):
        pdf = convert(cycle["dir"] / "report" / name, "pdf", tmp_path)
        text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True,
                              text=True, check=True).stdout
        flat = "".join(text.split())
        assert "{{" not in flat and "{%" not in flat, name
        heading = title + ("排名汇总" if name.endswith(".xlsx") else "情况报告")
        assert heading in flat, (name, flat[:300])
        assert LINK in flat, name  # the unit name as typed, not a link text "y"
