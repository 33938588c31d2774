"""Report wording from jinja2 templates, as a list of blocks that Word and Markdown both render.

The body template (`report.j2`) writes one paragraph per line; a line starting with `#` is the
title, `##`/`###`/`####` are headings of level 1–3 (numbered here: 一、 （一） 1.), a line starting
with `>` is right-aligned (署名, 日期), and `{{ table("ranking") }}` alone on a line is a table.

Values never become structure: while the body renders, every `{{ value }}` is swapped for a
placeholder and put back only after the lines were parsed, so a unit named "# x" or
`=HYPERLINK(...)` stays literal text. The Markdown template (`report.md.j2`) renders the blocks
with every value Markdown-escaped. Templates run sandboxed; an office may edit copies of them.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import jinja2
from jinja2.sandbox import SandboxedEnvironment
from markupsafe import Markup

from ..messages import WorkflowError, issue

SHIPPED_TEMPLATES = Path(__file__).parent / "templates"
BODY_TEMPLATE, MARKDOWN_TEMPLATE = "report.j2", "report.md.j2"
TEMPLATE_FILES = (BODY_TEMPLATE, MARKDOWN_TEMPLATE)

_VALUE = re.compile("\ue000(\\d+)\ue001")
_TABLE = re.compile("^\ue002table:([A-Za-z_]+)\ue003$")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff\ue000-\ue003]")
_MD_SPECIAL = re.compile(r"([\\`*_\[\]{}<>|#~!()&])")
_MD_LINE_START = re.compile(r"^(\s*)([-+*=>]|\d+[.)](?=\s|$))")
_CN_DIGITS = "零一二三四五六七八九"


@dataclass
class Table:
    name: str
    columns: list[str]
    rows: list[list[str]]
    widths: list[int]  # column widths in millimetres (Word); Markdown ignores them


@dataclass
class Block:
    kind: str                  # title, heading, para, right, table
    text: str = ""
    level: int = 0             # heading level 1–3
    number: str = ""           # heading number: 一、 （一） 1.
    table: Table | None = field(default=None, repr=False)


def tables(ctx: dict) -> dict[str, Table]:
    """The tables a template may place with {{ table("name") }}."""
    ranking = Table("ranking", ["名次", "单位", "基础分", "加分", "扣分", "总分", "得分率", "等级"],
                    [[r["rank"], r["name"], r["base"], r["bonus"], r["deduction"], r["total"],
                      r["rate"], r["grade"]] for r in ctx["ranking"]],
                    [14, 36, 19, 16, 16, 17, 20, 16])
    grades = Table("grades", ["等级", "分数段", "单位数", "单位"],
                   [[g["name"], g["range"], str(g["count"]), "、".join(g["units"]) or "—"]
                    for g in ctx["grades"]], [16, 40, 20, 78])
    for t in (ranking, grades):  # unit text in cells: one line, no control characters
        t.rows = [[clean(v) for v in row] for row in t.rows]
    return {t.name: t for t in (ranking, grades)}


def clean(value) -> str:
    """A value as one line of plain text: no control characters, no line breaks."""
    text = "" if value is None else str(value)
    text = re.sub(r"\s*[\r\n\u2028\u2029]+\s*", " ", text)
    return _CONTROL.sub("", text)


def md_escape(value) -> str:
    """Markdown-escape a value so that it renders as the literal text it is."""
    text = _MD_SPECIAL.sub(r"\\\1", clean(value))
    text = _MD_LINE_START.sub(lambda m: m[1] + "".join("\\" + c if not c.isdigit() else c
                                                       for c in m[2]), text)
    return re.sub(r":(?=//)", r"\\:", text).replace("www.", "www\\.")


def render_blocks(ctx: dict, templates_dir: Path | None = None) -> list[Block]:
    """Render the body template with `ctx` and parse it into numbered blocks."""
    values: list[str] = []

    def capture(value):
        if isinstance(value, Markup):  # a table marker: structure, not a value
            return value
        values.append(clean(value))
        return f"\ue000{len(values) - 1}\ue001"

    known = tables(ctx)

    def table(name):
        if name not in known:
            raise WorkflowError([issue("D002", BODY_TEMPLATE, name=name,
                                       known="、".join(sorted(known)))])
        return Markup(f"\ue002table:{name}\ue003")

    text = _render(templates_dir, BODY_TEMPLATE, capture, dict(ctx, table=table))
    blocks = _parse(text, lambda s: _VALUE.sub(lambda m: values[int(m[1])], s), known)
    return _number(blocks)


def render_markdown(blocks: list[Block], ctx: dict, templates_dir: Path | None = None) -> str:
    """The report as Markdown: the Markdown template over the blocks, every value escaped."""
    def escape(value):
        return value if isinstance(value, Markup) else md_escape(value)
    text = _render(templates_dir, MARKDOWN_TEMPLATE, escape, dict(ctx, blocks=blocks))
    return re.sub(r"\n{3,}", "\n\n", text).strip() + "\n"


def _render(templates_dir, name: str, finalize, ctx: dict) -> str:
    loaders = [jinja2.FileSystemLoader(str(templates_dir))] if templates_dir else []
    env = SandboxedEnvironment(
        loader=jinja2.ChoiceLoader(loaders + [jinja2.FileSystemLoader(str(SHIPPED_TEMPLATES))]),
        undefined=jinja2.StrictUndefined, finalize=finalize, autoescape=False,
        trim_blocks=True, lstrip_blocks=True, keep_trailing_newline=True)
    try:
        template = env.get_template(name)
    except jinja2.TemplateSyntaxError as e:
        where = f"{e.filename or name} 第{e.lineno}行"
        raise WorkflowError([issue("D001", where, name=name, detail=f"语法错误（{e.message}）")]) from None
    try:
        return template.render(ctx)
    except (jinja2.TemplateError, TypeError, ValueError, ArithmeticError) as e:
        where = template.filename or name
        line = _template_line(e.__traceback__, where)
        where = f"{where} 第{line}行" if line else where
        raise WorkflowError([issue("D001", where, name=name, detail=_explain(e))]) from None


def _template_line(tb, filename: str) -> int | None:
    """The template line a render error happened on (jinja2 maps its frames to it)."""
    line = None
    while tb is not None:
        if tb.tb_frame.f_code.co_filename == filename:
            line = tb.tb_lineno
        tb = tb.tb_next
    return line


def _explain(e: Exception) -> str:
    """A jinja2 error in the office's words."""
    text = str(e)
    if m := re.search(r"'([^']+)' is undefined", text):
        return f"没有名为「{m[1]}」的变量（可用的变量见 report.j2 开头的说明）"
    if m := re.search(r"has no attribute '([^']+)'", text):
        return f"没有「{m[1]}」这一项（可用的项见 report.j2 开头的说明）"
    if m := re.search(r"access to attribute '([^']+)'", text):
        return f"模板不允许访问「{m[1]}」"
    return text


def _parse(text: str, restore, known: dict) -> list[Block]:
    blocks = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line:
            continue
        m = _TABLE.match(line)
        if m:
            blocks.append(Block("table", table=known[m[1]]))
        elif line.startswith("#"):
            hashes = len(line) - len(line.lstrip("#"))
            level = min(hashes, 4) - 1
            text = restore(line[hashes:].strip())
            blocks.append(Block("title", text) if level == 0 else Block("heading", text, level))
        elif line.startswith(">"):
            blocks.append(Block("right", restore(line[1:].strip())))
        else:
            blocks.append(Block("para", restore(line)))
    return blocks


def _number(blocks: list[Block]) -> list[Block]:
    """一、 for level 1, （一） for level 2, 1. for level 3; deeper counters restart."""
    counters = [0, 0, 0]
    for b in blocks:
        if b.kind != "heading":
            continue
        counters[b.level - 1] += 1
        counters[b.level:] = [0] * (3 - b.level)
        n = counters[b.level - 1]
        b.number = (f"{cn_numeral(n)}、", f"（{cn_numeral(n)}）", f"{n}.")[b.level - 1]
    return blocks


def cn_numeral(n: int) -> str:
    """1 → 一, 10 → 十, 12 → 十二, 20 → 二十, 99 → 九十九."""
    if n < 10:
        return _CN_DIGITS[n]
    tens, ones = divmod(n, 10)
    return (_CN_DIGITS[tens] if tens > 1 else "") + "十" + (_CN_DIGITS[ones] if ones else "")
