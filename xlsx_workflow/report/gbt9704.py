"""The GB/T 9704 page and styles for the Word report: A4, margins 37/28/35/26 mm, a line grid
of 22 lines with 28 condensed 3号 characters a line, 仿宋_GB2312 body, 方正小标宋简体 title, headings
黑体 / 楷体_GB2312 / 仿宋 bold, page numbers "— 1 —". Every style names its East Asian font, since
Word otherwise falls back to the theme font.
"""
from __future__ import annotations

from docx import Document
from docx.enum.text import WD_ALIGN_PARAGRAPH, WD_LINE_SPACING
from docx.oxml import OxmlElement
from docx.oxml.ns import qn
from docx.shared import Mm, Pt

FANGSONG, XIAOBIAOSONG, HEITI, KAITI, SONGTI = "仿宋_GB2312", "方正小标宋简体", "黑体", "楷体_GB2312", "宋体"
LATIN = "Times New Roman"
BODY_PT, TITLE_PT, TABLE_PT, PAGE_NO_PT = 16, 22, 14, 14   # 3号, 2号, 4号, 4号
LINE_PITCH = 579       # twips: (297 − 37 − 35) mm / 22 lines
CHAR_SPACE = -849      # 1/4096 pt: (210 − 28 − 26) mm / 28 chars = 15.79 pt, 16 pt − 0.21 pt
CONDENSE = -5          # twentieths of a point: 16 − 0.25 = 15.75 pt a character, 28 to a line
LINE = Pt(LINE_PITCH / 20)
TABLE_STYLE, TABLE_TEXT = "Table Grid", "表格文字"


def setup(doc: Document) -> None:
    """Page, styles, font table and page numbers of a new document."""
    _page_setup(doc)
    _styles(doc)
    _font_table(doc)
    _page_numbers(doc)


def _page_setup(doc: Document) -> None:
    sec = doc.sections[0]
    sec.page_width, sec.page_height = Mm(210), Mm(297)
    sec.top_margin, sec.bottom_margin = Mm(37), Mm(35)
    sec.left_margin, sec.right_margin = Mm(28), Mm(26)
    sec.header_distance, sec.footer_distance = Mm(15), Mm(23)  # 一字线 ≈ 7 mm below the text
    grid = sec._sectPr.find(qn("w:docGrid"))
    if grid is None:
        grid = OxmlElement("w:docGrid")
        sec._sectPr.append(grid)
    # A line grid, not "linesAndChars": LibreOffice puts a 16 pt glyph that is wider than a
    # 15.79 pt character cell into two cells (14 characters a line). 28 characters a line come
    # from the Normal style's condensed spacing instead; charSpace still says 28 for Word's
    # page set-up dialog, should an office switch the character grid on.
    grid.set(qn("w:type"), "lines")
    grid.set(qn("w:linePitch"), str(LINE_PITCH))
    grid.set(qn("w:charSpace"), str(CHAR_SPACE))


def _styles(doc: Document) -> None:
    """Body, title, three heading levels, table text, footer and the table style itself."""
    _doc_defaults(doc)
    st = doc.styles
    _style(st["Normal"], FANGSONG, BODY_PT, indent=True)
    spacing = OxmlElement("w:spacing")
    spacing.set(qn("w:val"), str(CONDENSE))
    _insert(st["Normal"].element.get_or_add_rPr(), spacing, _RPR_AFTER_SPACING)
    _style(st["Title"], XIAOBIAOSONG, TITLE_PT, align=WD_ALIGN_PARAGRAPH.CENTER, after=LINE)
    _no_snap(st["Title"])  # a 2号 line would take two grid lines
    _style(st["Heading 1"], HEITI, BODY_PT, indent=True, heading=True)
    _style(st["Heading 2"], KAITI, BODY_PT, indent=True, heading=True)
    _style(st["Heading 3"], FANGSONG, BODY_PT, bold=True, indent=True, heading=True)
    _style(st["Footer"], SONGTI, PAGE_NO_PT)
    _style(st[TABLE_STYLE], FANGSONG, TABLE_PT)
    text = st.add_style(TABLE_TEXT, 1)
    text.base_style = st["Normal"]
    _style(text, FANGSONG, TABLE_PT, align=WD_ALIGN_PARAGRAPH.CENTER, line=Pt(20))
    _no_snap(text)  # table rows as tall as their text, not a grid line


def _no_snap(style) -> None:
    snap = OxmlElement("w:snapToGrid")
    snap.set(qn("w:val"), "0")
    _insert(style.element.get_or_add_pPr(), snap, _PPR_AFTER_SNAP)


# Word rejects elements out of schema order; these are the siblings that must come after.
_RPR_AFTER_SPACING = ("w", "kern", "position", "sz", "szCs", "highlight", "u", "effect", "bdr",
                      "shd", "fitText", "vertAlign", "rtl", "cs", "em", "lang", "eastAsianLayout")
_PPR_AFTER_SNAP = ("spacing", "ind", "contextualSpacing", "mirrorIndents", "suppressOverlap", "jc",
                   "textDirection", "textAlignment", "textboxTightWrap", "outlineLvl", "divId",
                   "cnfStyle", "rPr", "sectPr", "pPrChange")


def _insert(parent, child, successors: tuple) -> None:
    """Insert `child` before the first of `successors` in `parent` (else at the end)."""
    tags = {qn(f"w:{t}") for t in successors}
    for k, el in enumerate(parent):
        if el.tag in tags:
            parent.insert(k, child)
            return
    parent.append(child)


def _doc_defaults(doc: Document) -> None:
    rpr = doc.styles.element.find(qn("w:docDefaults")).find(qn("w:rPrDefault")).find(qn("w:rPr"))
    _fonts(rpr, FANGSONG)
    for name in ("w:sz", "w:szCs"):
        rpr.find(qn(name)).set(qn("w:val"), str(BODY_PT * 2))
    # w:lang eastAsia stays as python-docx has it: with zh-CN, LibreOffice 7.4 hangs line-end
    # punctuation into the margin and, with the condensed spacing, does not draw it.


def _style(style, east_asia: str, size: int, bold=False, indent=False, heading=False,
           align=WD_ALIGN_PARAGRAPH.JUSTIFY, after=Pt(0), line=LINE) -> None:
    rpr = style.element.get_or_add_rPr()
    _fonts(rpr, east_asia)
    for tag in ("w:color", "w:spacing", "w:kern"):
        for el in rpr.findall(qn(tag)):
            rpr.remove(el)
    style.font.size, style.font.bold, style.font.italic = Pt(size), bold, False
    if style.type != 1:  # table styles take run properties only
        return
    ppr = style.element.get_or_add_pPr()
    for tag in ("w:pBdr", "w:contextualSpacing"):
        for el in ppr.findall(qn(tag)):
            ppr.remove(el)
    fmt = style.paragraph_format
    fmt.alignment, fmt.space_before, fmt.space_after = align, Pt(0), after
    fmt.line_spacing_rule, fmt.line_spacing = WD_LINE_SPACING.EXACTLY, line
    fmt.first_line_indent = Pt(2 * size) if indent else Pt(0)
    fmt.keep_with_next = heading or None
    if indent:  # two characters of the grid, as Word's "首行缩进 2 字符"
        ind = ppr.find(qn("w:ind"))
        ind.set(qn("w:firstLineChars"), "200")


def _font_table(doc: Document) -> None:
    """Declare the Chinese fonts with a fallback each (w:altName), GB2312 charset, so Word on a
    computer without 仿宋_GB2312 or 方正小标宋简体 uses 仿宋 / 宋体 rather than a Western font."""
    part = next(r.target_part for r in doc.part.rels.values() if r.reltype.endswith("/fontTable"))
    entries = "".join(
        f'<w:font w:name="{name}"><w:altName w:val="{alt}"/><w:charset w:val="86"/>'
        f'<w:family w:val="{family}"/><w:pitch w:val="variable"/></w:font>'
        for name, alt, family in ((FANGSONG, "仿宋", "modern"), (KAITI, "楷体", "modern"),
                                  (XIAOBIAOSONG, "宋体", "roman"), (HEITI, "SimHei", "modern"),
                                  (SONGTI, "SimSun", "auto")))
    part._blob = part.blob.replace(b"</w:fonts>", entries.encode("utf-8") + b"</w:fonts>")


def _fonts(rpr, east_asia: str) -> None:
    """Replace rFonts (theme fonts win over named ones, so they must go) with named fonts."""
    for el in rpr.findall(qn("w:rFonts")):
        rpr.remove(el)
    fonts = OxmlElement("w:rFonts")
    for attr, name in (("ascii", LATIN), ("hAnsi", LATIN), ("eastAsia", east_asia), ("cs", LATIN)):
        fonts.set(qn(f"w:{attr}"), name)
    rpr.insert(0, fonts)


def _page_numbers(doc: Document) -> None:
    """"— 1 —": odd pages right, even pages left, each one character in (GB/T 9704 7.5)."""
    doc.settings.odd_and_even_pages_header_footer = True
    sec = doc.sections[0]
    for footer, align in ((sec.footer, WD_ALIGN_PARAGRAPH.RIGHT),
                          (sec.even_page_footer, WD_ALIGN_PARAGRAPH.LEFT)):
        footer.is_linked_to_previous = False
        p = footer.paragraphs[0]
        p.style = doc.styles["Footer"]
        p.alignment = align
        fmt = p.paragraph_format
        fmt.right_indent, fmt.left_indent = ((Pt(PAGE_NO_PT), None) if align == WD_ALIGN_PARAGRAPH.RIGHT
                                             else (None, Pt(PAGE_NO_PT)))
        p.add_run("— ")
        _page_field(p)
        p.add_run(" —")


def _page_field(p) -> None:
    for kind, text in (("begin", None), (None, " PAGE "), ("separate", None), (None, "1"),
                       ("end", None)):
        run = p.add_run()
        if kind:
            fld = OxmlElement("w:fldChar")
            fld.set(qn("w:fldCharType"), kind)
            run._r.append(fld)
        elif text.strip() == "PAGE":
            instr = OxmlElement("w:instrText")
            instr.set(qn("xml:space"), "preserve")
            instr.text = text
            run._r.append(instr)
        else:
            run.text = text

