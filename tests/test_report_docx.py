"""考核情况报告.docx / .md: GB/T 9704 layout, fonts, content from the result, literal unit text,
templates an office can edit, and a real LibreOffice PDF render."""
import re
import shutil
import subprocess
from decimal import Decimal

import pytest
from docx import Document
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

from resultbuilder import build_result
from xlsx_workflow.messages import WorkflowError
from xlsx_workflow.office import convert
from xlsx_workflow.report.blocks import cn_numeral, md_escape
from xlsx_workflow.report.docx_report import copy_templates, title_lines, write_report

RUBRICS = ["ip-protection-2021", "anti-counterfeit-2021"]
NASTY = '=HYPERLINK("http://x","y") *_[]#<b>|'
MARKUP = re.compile(r"{{|}}|{%|%}|{#|#}")
SECTIONS = ["一、基本情况", "二、考核结果", "三、主要成效", "四、存在问题", "五、下一步工作建议"]


def _result(root, rubric_id, name=NASTY):
    result = build_result(root / "c", rubric_id)
    result.units[0].unit.name = name  # the first-ranked unit
    return result


@pytest.fixture(scope="module", params=RUBRICS)
def report(request, tmp_path_factory):
    root = tmp_path_factory.mktemp(request.param)
    result = _result(root, request.param)
    docx, md = write_report(result, root / "out")
    return result, Document(str(docx)), md.read_text(encoding="utf-8"), docx


def _all_text(doc) -> str:
    parts = [p.text for p in doc.paragraphs]
    parts += [c.text for t in doc.tables for row in t.rows for c in row.cells]
    sec = doc.sections[0]
    parts += [p.text for f in (sec.footer, sec.even_page_footer) for p in f.paragraphs]
    return "\n".join(parts)


def _section(doc, heading: str) -> str:
    """Text of the paragraphs under a level-1 heading, up to the next one."""
    out, inside = [], False
    for p in doc.paragraphs:
        if p.style.name == "Heading 1":
            inside = p.text == heading
        elif inside:
            out.append(p.text)
    return "\n".join(out)


def test_page_is_a4_with_gbt9704_margins(report):
    sec = report[1].sections[0]
    tol = Mm(0.1)
    for got, want in ((sec.page_width, Mm(210)), (sec.page_height, Mm(297)),
                      (sec.top_margin, Mm(37)), (sec.bottom_margin, Mm(35)),
                      (sec.left_margin, Mm(28)), (sec.right_margin, Mm(26))):
        assert abs(got - want) <= tol


def test_document_grid_gives_22_lines_of_28_characters(report):
    doc = report[1]
    sec = doc.sections[0]
    grid = sec._sectPr.find(qn("w:docGrid"))
    pitch_pt = int(grid.get(qn("w:linePitch"))) / 20
    height_pt = (sec.page_height - sec.top_margin - sec.bottom_margin) / 12700
    width_pt = (sec.page_width - sec.left_margin - sec.right_margin) / 12700
    assert int(height_pt // pitch_pt) == 22
    char_pt = 16 + int(grid.get(qn("w:charSpace"))) / 4096
    assert int(width_pt / char_pt + 0.01) == 28
    # what actually gives 28 characters a line: the Normal style's condensed 3号 characters
    spacing = doc.styles["Normal"].element.rPr.find(qn("w:spacing"))
    advance = 16 + int(spacing.get(qn("w:val"))) / 20
    assert int(width_pt // advance) == 28
    normal = doc.styles["Normal"].paragraph_format
    assert normal.line_spacing == Pt(pitch_pt)


EXPECTED_FONTS = {"Normal": ("仿宋_GB2312", 16, False), "Title": ("方正小标宋简体", 22, False),
                  "Heading 1": ("黑体", 16, False), "Heading 2": ("楷体_GB2312", 16, False),
                  "Heading 3": ("仿宋_GB2312", 16, True), "Table Grid": ("仿宋_GB2312", 14, False),
                  "表格文字": ("仿宋_GB2312", 14, False), "Footer": ("宋体", 14, False)}


def test_every_style_used_names_its_east_asian_font(report):
    doc = report[1]
    for name, (font, size, bold) in EXPECTED_FONTS.items():
        style = doc.styles[name]
        fonts = style.element.rPr.find(qn("w:rFonts"))
        assert fonts.get(qn("w:eastAsia")) == font, name
        assert not any("Theme" in k for k in fonts.attrib), name  # a theme font would win
        assert style.font.size == Pt(size), name
        assert bool(style.font.bold) == bold, name
    used = {p.style.name for p in doc.paragraphs}
    used |= {p.style.name for t in doc.tables for r in t.rows for c in r.cells for p in c.paragraphs}
    used |= {t.style.name for t in doc.tables}
    assert used <= set(EXPECTED_FONTS)
    assert doc.styles["Title"].paragraph_format.alignment == 1  # centred
    defaults = doc.styles.element.find(qn("w:docDefaults"))
    assert defaults.find(".//" + qn("w:rFonts")).get(qn("w:eastAsia")) == "仿宋_GB2312"


def test_headings_are_numbered_and_title_first(report):
    result, doc = report[0], report[1]
    assert doc.paragraphs[0].style.name == "Title"
    assert doc.paragraphs[0].text.replace("\n", "") == f"{result.campaign.title}情况报告"
    assert [p.text for p in doc.paragraphs if p.style.name == "Heading 1"] == SECTIONS
    level2 = [p.text for p in doc.paragraphs if p.style.name == "Heading 2"]
    assert level2[:2] == ["（一）总体得分情况", "（二）等级分布情况"]
    assert level2[2] == "（一）部分指标失分较多"  # numbering restarts under a new level 1


def test_footer_page_number_between_em_dashes(report):
    doc = report[1]
    sec = doc.sections[0]
    assert doc.settings.odd_and_even_pages_header_footer
    for footer, align in ((sec.footer, 2), (sec.even_page_footer, 0)):  # right, left
        p = footer.paragraphs[0]
        assert p.text == "— 1 —"
        assert p.alignment == align
        instr = [e.text for e in p._p.iter(qn("w:instrText"))]
        assert instr == [" PAGE "]
        assert len(list(p._p.iter(qn("w:fldChar")))) == 3


def test_ranking_table_is_the_scored_units_in_rank_order(report):
    result, doc = report[0], report[1]
    table = doc.tables[0]
    rows = [[c.text for c in r.cells] for r in table.rows]
    assert rows[0] == ["名次", "单位", "基础分", "加分", "扣分", "总分", "得分率", "等级"]
    assert len(rows) - 1 == len(result.scored)
    for row, unit in zip(rows[1:], result.scored):
        s = unit.score
        assert row[0] == str(s.rank) and row[1] == unit.name
        assert Decimal(row[5]) == s.total and Decimal(row[2]) == s.base
        assert Decimal(row[3]) == s.bonus and Decimal(row[4]) == s.deduction
        assert row[7] == s.grade
    assert [int(r[0]) for r in rows[1:]] == sorted(int(r[0]) for r in rows[1:])
    assert table.rows[0]._tr.trPr.find(qn("w:tblHeader")) is not None


def test_problems_name_missing_and_late_units_and_lost_indicators(report):
    result, doc = report[0], report[1]
    problems = _section(doc, "四、存在问题")
    assert result.missing
    for u in result.missing + [u for u in result.units if u.late]:
        assert u.name in problems
    ctx_lost = [i.name for i in result.rubric.indicators]
    assert any(name in problems for name in ctx_lost)
    assert "失分" in problems
    basics = _section(doc, "一、基本情况")
    assert f"涉及{len(result.units)}个单位" in basics
    grades = "\n".join(p.text for p in doc.paragraphs if p.text.startswith("“"))
    for g in result.rubric.grades:
        n = sum(1 for u in result.scored if u.score.grade == g.name)
        assert f"“{g.name}”等次" in grades and f"）{n}个" in grades


def test_no_template_markup_left_in_docx_or_markdown(report):
    doc, md = report[1], report[2]
    assert not MARKUP.search(_all_text(doc))
    assert not MARKUP.search(md)
    assert "\ue000" not in _all_text(doc) + md  # no value placeholder leaked


def test_unit_text_stays_literal_in_docx_and_markdown(report):
    result, doc, md, path = report
    assert doc.tables[0].rows[1].cells[1].text == NASTY
    assert NASTY in _all_text(doc)
    # no field, hyperlink or other markup came from the unit text: only the footer PAGE field
    import zipfile
    with zipfile.ZipFile(path) as z:
        body = z.read("word/document.xml").decode("utf-8")
    assert "instrText" not in body and "fldSimple" not in body and "hyperlink" not in body
    # Markdown: escaped where it appears, and unescaping gives the unit's text back
    escaped = md_escape(NASTY)
    assert escaped in md and "*_" not in md.replace(escaped, "")
    assert re.sub(r"\\(.)", r"\1", escaped) == NASTY


def test_a_unit_name_is_never_rendered_as_a_template(tmp_path):
    result = _result(tmp_path, RUBRICS[0], name="{{ 7*7 }}\n# 伪标题")
    docx, md = write_report(result, tmp_path / "out")
    doc = Document(str(docx))
    assert doc.tables[0].rows[1].cells[1].text == "{{ 7*7 }} # 伪标题"
    assert "伪标题" not in [p.text for p in doc.paragraphs if p.style.name.startswith("Heading")]
    assert "49" not in doc.tables[0].rows[1].cells[1].text
    assert r"\{\{ 7\*7 \}\} \# 伪标题" in md.read_text(encoding="utf-8")


def test_markdown_is_the_same_report(report):
    result, md = report[0], report[2]
    assert md.startswith("# ")
    for h in SECTIONS:
        assert f"\n## {h}\n" in md
    table = [line for line in md.splitlines() if line.startswith("|")]
    assert table[0] == "| 名次 | 单位 | 基础分 | 加分 | 扣分 | 总分 | 得分率 | 等级 |"
    assert len(table) == 2 + len(result.scored)  # the ranking table only
    for u in result.missing:
        assert md_escape(u.name) in md


def test_same_result_gives_the_same_bytes(tmp_path):
    result = _result(tmp_path, RUBRICS[0])
    a = write_report(result, tmp_path / "a")
    b = write_report(result, tmp_path / "b")
    assert a[0].read_bytes() == b[0].read_bytes()
    assert a[1].read_text(encoding="utf-8") == b[1].read_text(encoding="utf-8")


def test_campaign_copy_of_templates_is_used(tmp_path):
    result = _result(tmp_path, RUBRICS[0])
    folder = copy_templates(result.campaign.root)
    assert folder == result.campaign.layout.report_templates_dir
    assert sorted(p.name for p in folder.iterdir()) == ["report.j2", "report.md.j2"]
    body = folder / "report.j2"
    body.write_text(body.read_text(encoding="utf-8").replace("## 主要成效", "## 工作亮点"),
                    encoding="utf-8")
    (folder / "report.md.j2").unlink()  # a file the office did not copy comes from the package
    copy_templates(result.campaign.root)  # never overwrites the office's edits
    (folder / "report.md.j2").unlink()
    docx, md = write_report(result, tmp_path / "out")
    headings = [p.text for p in Document(str(docx)).paragraphs if p.style.name == "Heading 1"]
    assert headings[2] == "三、工作亮点"
    assert "## 三、工作亮点" in md.read_text(encoding="utf-8")


@pytest.mark.parametrize("edit, code, says", [
    ("{% if %}", "D001", "report.j2 第2行"),               # syntax error, named with its line
    ("{{ no_such_value }}", "D001", "「no_such_value」"),  # undefined value
    ("\n{{ ranking[0].nme }}", "D001", "report.j2 第3行"),  # no such item, with its line
    ("{{ table('chart') }}", "D002", "ranking"),           # unknown table; lists the known ones
    ("{{ ''.__class__.__mro__ }}", "D001", "「__class__」"),  # the sandbox refuses internals
])
def test_template_errors_name_the_template_and_the_problem(tmp_path, edit, code, says):
    result = _result(tmp_path, RUBRICS[0])
    templates = tmp_path / "t"
    templates.mkdir()
    (templates / "report.j2").write_text(f"# 标题\n{edit}\n", encoding="utf-8")
    with pytest.raises(WorkflowError) as err:
        write_report(result, tmp_path / "out", templates)
    issue = err.value.issues[0]
    assert issue.code == code
    assert says in issue.message + issue.where


@pytest.mark.parametrize("value, escaped", [
    ("浉河区", "浉河区"),
    ("48.6", "48.6"),
    ("*粗体*", r"\*粗体\*"),
    ("a_b[c](d)", r"a\_b\[c\]\(d\)"),
    ("# 标题", r"\# 标题"),
    ("- 列表", r"\- 列表"),
    ("1. 列表", r"1\. 列表"),
    ("<b>x</b>", r"\<b\>x\</b\>"),
    ("a|b", r"a\|b"),
    ("http://x", r"http\://x"),
    ("第一行\n第二行", "第一行 第二行"),
])
def test_md_escape(value, escaped):
    assert md_escape(value) == escaped


@pytest.mark.parametrize("n, text", [(1, "一"), (9, "九"), (10, "十"), (11, "十一"), (20, "二十"),
                                     (35, "三十五")])
def test_chinese_numerals(n, text):
    assert cn_numeral(n) == text


@pytest.mark.parametrize("title, lines", [
    ("短标题情况报告", ["短标题情况报告"]),
    ("信阳市2021年知识产权保护工作检查考核情况报告", ["信阳市2021年知识产权保护工作", "检查考核情况报告"]),
    ("2021年度信阳市打击侵权假冒绩效考核情况报告", ["2021年度信阳市", "打击侵权假冒绩效考核情况报告"]),
])
def test_long_titles_break_between_words(title, lines):
    assert title_lines(title) == lines


@pytest.mark.libreoffice
@pytest.mark.parametrize("rubric_id", RUBRICS)
def test_libreoffice_renders_the_report_to_pdf(tmp_path, rubric_id):
    result = _result(tmp_path, rubric_id)
    docx, _ = write_report(result, tmp_path / "out")
    pdf = convert(docx, "pdf", tmp_path / "pdf", profile=tmp_path / "profile")
    assert pdf.stat().st_size > 0
    if not shutil.which("pdftotext"):
        assert pdf.read_bytes().count(b"/Type /Page") >= 1 or b"/Type/Page" in pdf.read_bytes()
        return
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True,
                          check=True).stdout
    flat = re.sub(r"\s+", "", text)
    assert re.sub(r"\s+", "", f"{result.campaign.title}情况报告") in flat
    for h in SECTIONS:
        assert h in flat
    assert "— 1 —" in text or "—1—" in flat
    assert not MARKUP.search(text)
    for u in result.missing:
        assert u.name in flat


def test_cli_report_templates_copies_into_the_campaign(tmp_path):
    import json

    from click.testing import CliRunner

    from xlsx_workflow.cli import main
    result = _result(tmp_path, RUBRICS[0])
    run = CliRunner().invoke(main, ["report-templates", str(result.campaign.root), "--json"])
    assert run.exit_code == 0, run.output
    doc = json.loads(run.output)
    assert doc["dir"] == str(result.campaign.layout.report_templates_dir)
    assert [p.rsplit("/", 1)[1] for p in doc["files"]] == ["report.j2", "report.md.j2"]
    missing = CliRunner().invoke(main, ["report-templates", str(tmp_path / "nowhere")])
    assert missing.exit_code != 0 and "C001" in missing.output


def test_a_campaign_without_scored_units_still_reports(tmp_path):
    from xlsx_workflow.results import MISSING, NOT_SCORED, UnitResult
    result = _result(tmp_path, RUBRICS[1])
    units = result.units
    result.units = [UnitResult(u.unit, MISSING) for u in units[:-1]]
    result.units.append(UnitResult(units[-1].unit, NOT_SCORED))
    docx, md = write_report(result, tmp_path / "out")
    doc = Document(str(docx))
    assert doc.tables == []
    assert "尚无单位计分" in _section(doc, "二、考核结果")
    assert "均取得满分" not in _all_text(doc)
    assert units[-1].name in _section(doc, "一、基本情况")  # not scored, named
    assert all(u.name in _section(doc, "四、存在问题") for u in units[:-1])


def test_table_rows_written_as_xml_are_the_rows_python_docx_writes(tmp_path):
    """`_table` writes plain body rows as XML of its own and the others through python-docx:
    the document is the same byte for byte as one written wholly through python-docx."""
    rows = [["1", "测试单位<甲>&\"乙\"", "82.00", "良好"],
            ["2", "", "4.50", "合格"],                      # an empty cell
            ["3", " 前后空格 ", "0.00", "不合格"],            # blanks at the ends
            ["4", "一行\n两行", "1", "制表\t符"],             # break and tab
            ["5", "全角　空格　", "2", "优秀"],
            *[[str(k), f"单位{k}", f"{k}.5", "良好"] for k in range(6, 40)]]
    assert table_document_xml(rows, fast=True) == table_document_xml(rows, fast=False)
    assert table_document_xml(rows[5:], fast=True) == table_document_xml(rows[5:], fast=False)
    with pytest.raises(ValueError):  # a control character is refused as python-docx refuses it
        table_document_xml([["1", "坏\x01字符", "2", "良好"]], fast=True)


def table_document_xml(rows: list, fast: bool) -> bytes:
    """One table by report.docx_report._table; the document part's bytes."""
    import io
    import zipfile
    from xlsx_workflow.report.blocks import Table
    from xlsx_workflow.report.docx_report import _table
    from xlsx_workflow.report.gbt9704 import setup
    doc = Document()
    setup(doc)
    _table(doc, Table("排名", ["名次", "单位", "总分", "等级"], rows, [14, 36, 19, 16]), fast)
    buf = io.BytesIO()
    doc.save(buf)
    with zipfile.ZipFile(buf) as z:
        return z.read("word/document.xml")
