"""排名汇总.xlsx and the per-unit 反馈单, read back with pandas, openpyxl, the raw zip and
LibreOffice: ranks and totals equal the result, missing units are listed but never ranked, charts
exist with their series, and text from units stays text (never a formula or a link)."""
import re
import subprocess
import zipfile
from decimal import Decimal

import openpyxl
import pandas as pd
import pytest

from tests.resultbuilder import build_result
from xlsx_workflow.engine import OVERRIDDEN, PENDING, rank
from xlsx_workflow.issue_lines import is_number, numbered, plain, summarise
from xlsx_workflow.layout import unit_file_name
from xlsx_workflow.messages import Issue, WorkflowError
from xlsx_workflow.office import convert
from xlsx_workflow.report.feedback_sheet import FEEDBACK_SUFFIX, write_feedback_sheets
from xlsx_workflow.report.ranking import RANKING_SHEETS, shown_dimensions, write_ranking
from xlsx_workflow.results import MISSING, NOT_SCORED, SCORED, ranked

RUBRICS = ["ip-protection-2021", "anti-counterfeit-2021"]
NASTY = '=HYPERLINK("http://x","y")'


@pytest.fixture(params=RUBRICS)
def result(request, tmp_path):
    return build_result(tmp_path / "c", request.param)


def read(path):
    return pd.read_excel(path, sheet_name=None)


def test_sheets_ranks_and_totals_equal_the_result(result):
    path = write_ranking(result, result.campaign.layout.ranking_file)
    assert path.name == "排名汇总.xlsx" and path.parent.name == "report"
    book = read(path)
    assert tuple(book) == RANKING_SHEETS
    table = book["排名总表"]
    dims = [d.name for d in shown_dimensions(result.rubric)]
    assert list(table.columns) == ["名次", "单位代码", "单位", "基础分", "加分", "扣分", "总分",
                                   "得分率", "等级", *dims]
    assert len(table) == len(result.units)
    for (_, row), u in zip(table.iterrows(), result.units):
        assert str(row["单位代码"]) == u.code and row["单位"] == u.name
        if u.state == SCORED:
            s = u.score
            assert row["名次"] == s.rank
            assert Decimal(str(row["总分"])) == s.total
            assert Decimal(str(row["基础分"])) == s.base
            assert round(row["得分率"], 4) == float(s.rate)
            assert row["等级"] == s.grade
            for d in shown_dimensions(result.rubric):
                assert Decimal(str(row[d.name])) == s.dimensions[d.id]


def test_missing_units_are_listed_after_the_ranked_ones_unranked(result, tmp_path):
    table = read(write_ranking(result, tmp_path / "r.xlsx"))["排名总表"]
    missing = [u.code for u in result.units if u.state == MISSING]
    assert missing
    tail = table.tail(len(missing))
    assert [str(c) for c in tail["单位代码"]] == missing
    assert tail["名次"].isna().all() and tail["总分"].isna().all()
    assert set(tail["等级"]) == {"未报送"}
    head = table.head(len(table) - len(missing))
    assert list(head["名次"]) == sorted(head["名次"])


def test_unscored_unit_is_listed_unranked_and_gets_no_feedback(tmp_path):
    result = build_result(tmp_path / "c")
    bad = result.scored[1]
    bad.state, bad.score = NOT_SCORED, None
    rank([u.score for u in result.scored])
    result.units = ranked(result.units)
    table = read(write_ranking(result, tmp_path / "r.xlsx"))["排名总表"]
    row = table[table["单位代码"].astype(str) == bad.code].iloc[0]
    assert pd.isna(row["名次"]) and pd.isna(row["总分"]) and row["等级"] == "未评分（有错误）"
    assert row.name == len(result.scored)  # right after the ranked units, before the missing
    assert list(table["名次"].dropna()) == [u.score.rank for u in result.scored]
    names = [p.name for p in write_feedback_sheets(result, tmp_path / "fb")]
    assert len(names) == len(result.scored) and not any(bad.code in n for n in names)


def test_nobody_scored_yet(tmp_path):
    result = build_result(tmp_path / "c")
    for u in result.units:
        u.state, u.score = MISSING, None
    result.reviews = []
    book = read(write_ranking(result, tmp_path / "r.xlsx"))
    assert set(book["排名总表"]["等级"]) == {"未报送"} and book["排名总表"]["名次"].isna().all()
    assert chart_xml(tmp_path / "r.xlsx") == []
    assert write_feedback_sheets(result, tmp_path / "fb") == []


def test_ties_share_a_rank(tmp_path):
    result = build_result(tmp_path / "c")
    a, b, c = result.scored[:3]
    b.score.total = a.score.total
    rank([u.score for u in result.scored])
    table = read(write_ranking(result, tmp_path / "r.xlsx"))["排名总表"]
    ranks = dict(zip(table["单位代码"].astype(str), table["名次"]))
    assert ranks[a.code] == ranks[b.code] == 1
    assert ranks[c.code] == 3


def chart_xml(path):
    with zipfile.ZipFile(path) as z:
        names = sorted(n for n in z.namelist() if re.fullmatch(r"xl/charts/chart\d+\.xml", n))
        return [z.read(n).decode() for n in names]


def test_native_charts_totals_with_grade_lines_and_dimensions(result, tmp_path):
    charts = chart_xml(write_ranking(result, tmp_path / "r.xlsx"))
    assert len(charts) == 2
    totals, stacked = charts
    lines = [g for g in result.rubric.grades if g.min > 0]
    assert len(lines) == 2  # 优秀 90 and 良好 80 in both seeds
    assert "<c:barChart>" in totals and "<c:lineChart>" in totals
    assert totals.count("<c:ser>") == 1 + len(lines)
    base = [d for d in result.rubric.dimensions if result.rubric.group_of(d.id).role == "base"]
    assert stacked.count("<c:ser>") == len(base)
    assert '<c:grouping val="stacked"/>' in stacked
    data = read(tmp_path / "r.xlsx")["图表"]
    assert set(data["优秀线"]) == {90} and set(data["良好线"]) == {80}


@pytest.mark.parametrize("text", [NASTY, "=1+2", "http://example.com/x", "0123", "+SUM(A1)"])
def test_unit_text_is_written_as_plain_text(tmp_path, text):
    result = build_result(tmp_path / "c")
    first = result.scored[0]
    first.unit.name = text
    first.issues = [Issue("V001", "警告", text, text)]
    result.reviews[0].reason = text
    path = write_ranking(result, tmp_path / "r.xlsx")
    wb = openpyxl.load_workbook(path)
    cells = [wb["排名总表"]["C2"], wb["问题清单"]["A2"], wb["问题清单"]["D2"], wb["审核记录"]["E2"],
             wb["报送情况"].cell(1 + [u.code for u in result.campaign.units].index(first.code) + 1, 1)]
    for cell in cells:
        assert (cell.value, cell.data_type, cell.hyperlink) == (text, "s", None)
    with zipfile.ZipFile(path) as z:
        sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/")]
        xml = "".join(z.read(n).decode() for n in sheets)
        assert "<f>" not in xml and "<hyperlink" not in xml and "hyperlink" not in \
            "".join(z.read(n).decode() for n in sheets if n.endswith(".rels"))
    fb = write_feedback_sheets(result, tmp_path / "fb")
    ws = openpyxl.load_workbook(fb[0]).active
    texts = [c for row in ws.iter_rows() for c in row if c.value == text]
    assert texts and all(c.data_type == "s" and c.hyperlink is None for c in texts)


def test_indicator_detail_and_loss_analysis(result, tmp_path):
    book = read(write_ranking(result, tmp_path / "r.xlsx"))
    detail = book["指标明细"]
    rubric = result.rubric
    heads = [i.id if is_number(i.id) else "—" for i in rubric.indicators]  # no internal ids
    assert [str(c) for c in detail.columns[2:]] == heads
    maxima = detail.iloc[1, 2:]
    assert [Decimal(str(m)) for m in maxima] == [i.max for i in rubric.indicators]
    units = detail.iloc[2:]
    assert [str(int(c)) for c in units["单位代码"]] == [u.code for u in result.scored]
    loss = book["失分分析"]
    assert list(loss.columns) == ["指标", "满分", "平均得分", "失分合计", "满分单位数", "失分单位数"]
    assert list(loss["失分合计"]) == sorted(loss["失分合计"], reverse=True)
    top = loss.iloc[0]
    ind = next(i for i in rubric.indicators if top["指标"] == f"{i.id} {i.name}")
    got = [u.score.indicators[ind.id] for u in result.scored]
    got = [g.points for g in got if g.applicable]
    assert Decimal(str(top["失分合计"])) == sum(ind.max - p for p in got)
    assert top["满分单位数"] + top["失分单位数"] == len(got)


def test_returns_issues_and_reviews_sheets(tmp_path):
    result = build_result(tmp_path / "c")
    book = read(write_ranking(result, tmp_path / "r.xlsx"))
    returns = book["报送情况"].set_index("单位")
    assert list(book["报送情况"].columns) == ["单位", "报送时间", "版本数", "是否逾期", "错误数",
                                           "警告数", "状态"]
    for u in result.units:
        row = returns.loc[u.name]
        assert row["状态"] == {SCORED: "已评分", MISSING: "未报送"}[u.state]
        assert row["版本数"] == u.versions and row["警告数"] == u.warnings
        if u.received_at:
            assert row["报送时间"].to_pydatetime() == u.received_at
            assert row["是否逾期"] == ("是" if u.late else "否")
    issues = book["问题清单"]
    assert list(issues.columns) == ["单位", "严重程度", "位置", "问题"]  # no codes: leaders read it
    lines = [(u.name, line) for u in result.units for line in summarise(u.issues)]
    assert list(issues["问题"]) == [plain(line.message) for _, line in lines]
    reviews = book["审核记录"]
    assert list(reviews.columns) == ["单位", "条款", "原分", "核定分", "理由", "审核人", "时间"]
    r = result.reviews[0]
    assert reviews.loc[0, "理由"] == r.reason and reviews.loc[0, "审核人"] == r.reviewer
    assert reviews.loc[0, "条款"].startswith(r.clause_id + " ")
    assert Decimal(str(reviews.loc[0, "核定分"])) == r.new


def test_number_formats_and_print_setup(tmp_path):
    result = build_result(tmp_path / "c")
    wb = openpyxl.load_workbook(write_ranking(result, tmp_path / "r.xlsx"))
    ws = wb["排名总表"]
    assert ws["G2"].data_type == "n" and ws["G2"].number_format == "0.00"
    assert ws["H2"].number_format == "0.00%"
    for ws in wb.worksheets:
        assert ws.page_setup.paperSize == 9, ws.title
        assert result.campaign.title in ws.oddHeader.center.text
        assert "&P" in ws.oddFooter.center.text
    assert wb["排名总表"].page_setup.orientation == "landscape"
    assert wb["排名总表"].print_title_rows == "$1:$1" and wb["排名总表"].freeze_panes == "A2"
    assert wb["排名总表"].sheet_properties.pageSetUpPr.fitToPage
    # fitToWidth defaults to 1 (xlsxwriter leaves it out); fitToHeight 0 = as many pages as needed
    assert wb["排名总表"].page_setup.fitToWidth in (None, 1)
    assert wb["排名总表"].page_setup.fitToHeight == 0
    assert wb["指标明细"].print_title_rows == "$1:$3"
    assert wb.properties.created.replace(tzinfo=None) == result.scored_at


def test_output_is_deterministic(tmp_path):
    result = build_result(tmp_path / "c")
    a = write_ranking(result, tmp_path / "a" / "排名汇总.xlsx").read_bytes()
    b = write_ranking(result, tmp_path / "b" / "排名汇总.xlsx").read_bytes()
    assert a == b
    fa = write_feedback_sheets(result, tmp_path / "fa")[0].read_bytes()
    fb = write_feedback_sheets(result, tmp_path / "fb")[0].read_bytes()
    assert fa == fb


def test_unwritable_file_is_reported_X001(tmp_path):
    result = build_result(tmp_path / "c")
    blocked = tmp_path / "排名汇总.xlsx"
    blocked.mkdir()  # like a file held open: the path cannot be written
    with pytest.raises(WorkflowError) as e:
        write_ranking(result, blocked)
    assert [i.code for i in e.value.issues] == ["X001"]
    assert "排名汇总.xlsx" in e.value.issues[0].message


def feedback_table(path):
    raw = pd.read_excel(path, header=None)
    head = raw.index[raw[1] == "条款"][0]
    table = pd.read_excel(path, header=head)
    end = table.index[table["指标"] == "待处理问题"][0]
    return raw, table.iloc[:end].dropna(subset=["条款"])


def test_feedback_sheet_per_scored_unit_with_every_clause(result):
    paths = write_feedback_sheets(result, result.campaign.layout.unit_feedback_dir)
    assert sorted(result.campaign.layout.unit_feedback_dir.iterdir()) == sorted(paths)
    assert [p.name for p in paths] == [unit_file_name(u.code, u.name, FEEDBACK_SUFFIX)
                                       for u in result.scored]
    assert not any(u.code in p.name for p in paths for u in result.units if u.state != SCORED)
    clause_ids = [c.id for c in result.rubric.clauses]
    for u, path in zip(result.scored, paths):
        raw, table = feedback_table(path)
        assert list(table.columns) == ["指标", "条款", "满分", "得分", "说明", "状态"]
        assert list(table["条款"]) == [numbered(c.id, c.text) for c in result.rubric.clauses]
        assert list(table["说明"]) == [u.score.clauses[c].explanation for c in clause_ids]
        assert f"{u.score.rank}/{len(result.scored)}" in raw.values
        assert u.name in raw.values and u.score.grade in raw.values
        assert float(u.score.total) in raw.values


def test_feedback_statuses_and_open_issues(tmp_path):
    result = build_result(tmp_path / "c")
    with_issue = next(u for u in result.scored if u.issues)
    review = result.reviews[0]
    reviewed = next(u for u in result.scored if u.code == review.unit_code)
    reviewed.score.clauses[review.clause_id].status = OVERRIDDEN
    other = result.rubric.clauses[1].id
    reviewed.score.clauses[other].status = PENDING
    reviewed.review_flags = [other]
    paths = dict(zip([u.code for u in result.scored], write_feedback_sheets(result, tmp_path / "fb")))
    _, table = feedback_table(paths[reviewed.code])
    status = dict(zip([t.split(" ", 1)[0] for t in table["条款"]], table["状态"]))
    assert status[review.clause_id] == f"已核定（{review.reviewer}：{review.reason}）"
    assert status[other] == "待核定，需重新核定"
    assert status[result.rubric.clauses[2].id] == "已评分"
    raw = pd.read_excel(paths[with_issue.code], header=None)
    assert with_issue.issues[0].message in raw.values
    raw = pd.read_excel(paths[reviewed.code], header=None)
    after = raw.index[raw[0] == "待处理问题"][0]
    assert raw.iloc[after + 1, 0] == "无"


def test_feedback_shows_deductions_negative_and_not_applicable(tmp_path):
    result = build_result(tmp_path / "c", "anti-counterfeit-2021")
    na = next(u for u in result.scored
              if any(not i.applicable for i in u.score.indicators.values()))
    path = write_feedback_sheets(result, tmp_path / "fb")[result.scored.index(na)]
    _, table = feedback_table(path)
    assert "不适用" in set(table["状态"])
    ws = openpyxl.load_workbook(path).worksheets[0]
    grey = [r for r in ws.iter_rows(min_row=7) if r[5].value == "不适用"]
    assert grey and all(r[2].font.color.rgb == "FF7F7F7F" for r in grey)
    # a 不适用 row's 满分 and 得分 read 5.00 and 0.00 as in every other row, only greyed
    assert {(r[2].number_format, r[3].number_format) for r in grey} == {("0.00", "0.00")}
    ip = build_result(tmp_path / "ip")
    unit = ip.scored[0]
    _, table = feedback_table(write_feedback_sheets(ip, tmp_path / "fb2")[0])
    row = table[table["条款"].str.startswith("22.1 ")].iloc[0]
    assert pd.isna(row["满分"])
    assert Decimal(str(row["得分"])) == -unit.score.clauses["22.1"].points


@pytest.mark.libreoffice
def test_libreoffice_prints_and_resaves_the_ranking(soffice, tmp_path):
    result = build_result(tmp_path / "c", "anti-counterfeit-2021")
    result.scored[0].unit.name = NASTY
    path = write_ranking(result, tmp_path / "排名汇总.xlsx")
    fb = write_feedback_sheets(result, tmp_path / "fb")[0]
    pdf = convert(path, "pdf", tmp_path / "pdf")
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    assert result.campaign.title in text and NASTY in text
    assert "未报送" in text
    fb_pdf = convert(fb, "pdf", tmp_path / "pdf")
    assert result.rubric.clauses[-1].id in subprocess.run(
        ["pdftotext", str(fb_pdf), "-"], capture_output=True, text=True, check=True).stdout
    resaved = convert(path, "xlsx:Calc MS Excel 2007 XML", tmp_path / "lo")
    book = read(resaved)
    assert tuple(book) == RANKING_SHEETS
    table = book["排名总表"]
    scored = table.head(len(result.scored))
    assert list(scored["名次"]) == [u.score.rank for u in result.scored]
    assert [Decimal(str(t)).quantize(Decimal("0.01")) for t in scored["总分"]] == \
        [u.score.total for u in result.scored]
    assert table.loc[0, "单位"] == NASTY
    assert len(chart_xml(resaved)) == 2


def test_put_writes_each_value_by_its_type_with_its_column_style(tmp_path):
    """`put`, the cell writer of every report table, by value type × column kind × muted row
    (times go only to time columns, whose rows are never muted)."""
    from datetime import datetime, timedelta, timezone
    from pathlib import Path

    from xlsx_workflow.report.ranking import MAX_TEXT, ReportBook, put
    result = build_result(tmp_path / "c")
    when = datetime(2022, 5, 20, 9, 30, tzinfo=timezone(timedelta(hours=8)))
    values = ["浉河区", "x" * (MAX_TEXT + 50), "", None, 2.5, 3, Decimal("1.25"), True,
              NASTY, Path("a/b")]
    cases = [(k, m) for k in ("text", "num", "pct", "int", "center") for m in (False, True)]
    path = tmp_path / "put.xlsx"
    with ReportBook(path, result, "put") as b:
        sh = b.sheet("表")
        for r, v in enumerate(values):
            for c, (kind, muted) in enumerate(cases):
                put(sh, r, c, v, kind, muted)
        put(sh, len(values), 0, when, "time")
        put(sh, len(values), 1, when, "time", True)
    ws = openpyxl.load_workbook(path).worksheets[0]
    for r, v in enumerate(values, start=1):
        for c, (kind, muted) in enumerate(cases, start=1):
            cell = ws.cell(r, c)
            if v is None or v == "":
                assert cell.value is None, (v, kind)
            elif isinstance(v, (int, float, Decimal)) and not isinstance(v, bool):
                assert cell.value == float(v) and cell.data_type == "n", kind
            else:
                assert cell.value == str(v)[:MAX_TEXT] and cell.data_type == "s", (v, kind)
            grey = cell.font.color is not None and cell.font.color.rgb == "FF7F7F7F"
            assert grey == muted, (v, kind, muted)
            fmt = {"num": "0.00", "pct": "0.00%", "int": "0"}.get(kind, "General")
            assert cell.number_format == fmt, (v, kind, muted)  # grey rows keep the format too
            assert cell.alignment.horizontal == (None if kind == "text" else "center"), kind
    stamp = ws.cell(len(values) + 1, 1)
    assert stamp.value == datetime(2022, 5, 20, 9, 30)  # the wall-clock time, zone dropped
    assert stamp.number_format == "yyyy-mm-dd hh:mm"
    grey = ws.cell(len(values) + 1, 2)
    assert grey.value == stamp.value and grey.number_format == stamp.number_format
    assert grey.font.color.rgb == "FF7F7F7F"
