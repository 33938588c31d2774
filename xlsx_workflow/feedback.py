"""Feedback to a unit whose return has problems, ready to email back (DIR/import/反馈/).

Two files per return: `<code>-<name>-问题清单.xlsx`, a print-ready list of every 错误 and 警告
with the sheet, the cell, what is wrong and how to fix it; and `<code>-<name>-标注.xlsx`, a copy
of their own workbook with each offending cell filled (red: 错误, yellow: 警告) and a comment
holding the message. Everything taken from a return is written as text, never as a formula.
"""
from __future__ import annotations

import os
import posixpath
import re
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .import_status import RECEIPT_CODES
from .issue_lines import summarise, without_refs
from .layout import CONTACT_FORM_SUFFIX, sanitise
from .ledger import CONTACT_FORM, STATUS_LABELS
from .messages import ERROR, WARNING, Issue

LIST_SUFFIX, MARKED_SUFFIX = "问题清单", "标注"
FONT = "宋体"
# Strong colours: the county's input cells are already light yellow (#FFF2CC).
ERROR_FILL, WARNING_FILL = "FFFF6666", "FFFFFF00"
_COLOR = {ERROR: "#FF6666", WARNING: "#FFFF00"}
COLUMNS = [("序号", 6), ("严重程度", 9), ("工作表", 10), ("单元格", 8), ("问题", 62),
           ("如何修改", 52)]
_CELL = re.compile(r"^'?(?P<sheet>[^!']+)'?!\$?(?P<col>[A-Z]{1,3})\$?(?P<row>\d+)$")
_FIX = re.compile(r"[。；;]\s*(?=请|可|须|如|应|确认|若)")


@dataclass
class FeedbackJob:
    """One return's feedback: what to write and where (picklable, for the pool)."""
    title: str           # "411502 浉河区"
    file_name: str       # the file as received
    status: str          # 退回 / 需人工确认 / 已接收
    issues: list         # [Issue], receipt notes left out
    source: str          # their workbook on disk ("" when it cannot be opened)
    list_path: str
    marked_path: str     # "" when no marked copy is made


def problems(issues: list) -> list[Issue]:
    """The 错误 and 警告 a unit can act on, errors first (the order within each kept)."""
    keep = [i for i in issues if i.severity in (ERROR, WARNING) and i.code not in RECEIPT_CODES]
    return [i for i in keep if i.severity == ERROR] + [i for i in keep if i.severity == WARNING]


def jobs_for(campaign, result) -> list[tuple]:
    """(outcome, FeedbackJob) for every return of this import that has problems (re-imported files get none:
    re-importing changes nothing)."""
    out, used = [], set()
    folder = campaign.layout.feedback_dir
    newest = _newest(campaign, result)
    earlier = _earlier_feedback(folder)
    for o in result.returns:
        if o.already_imported:
            continue
        if o.unit_code and newest.get((o.unit_code, o.form), o.sha256) != o.sha256:
            continue  # an older version than one in the ledger: its feedback would be stale
        stem = _stem(o)
        if o.unit_code:
            for stale in earlier.pop(stem, ()):  # a new version: the old feedback no longer applies
                stale.unlink(missing_ok=True)
        found = problems(o.issues)
        if not found:
            continue
        n, base = 1, stem
        while stem in used:  # two files of one unit in one batch
            n += 1
            stem = f"{base}-{n}"
        used.add(stem)
        cells = any(locate(i)[1] for i in found)
        marked = str(folder / f"{stem}-{MARKED_SUFFIX}.xlsx") if o.markable and cells else ""
        out.append((o, FeedbackJob(
            f"{o.unit_code} {o.unit_name}" if o.unit_code else "未识别单位", sent_name(o.name),
            STATUS_LABELS.get(o.status, o.status), found, o.source,
            str(folder / f"{stem}-{LIST_SUFFIX}.xlsx"), marked)))
    return out


def _newest(campaign, result) -> dict:
    """(unit code, form) → sha256 of the unit's newest return in the ledger (by receipt time, as
    the mail's feedback picks it), for the units of this import."""
    from .ledger import Ledger
    keys = {(o.unit_code, o.form) for o in result.returns if o.unit_code and o.form}
    if not keys or not campaign.layout.ledger_file.is_file():
        return {}
    with Ledger(campaign.layout.ledger_file) as led:
        found = {key: led.newest_sha256(*key) for key in sorted(keys)}
    return {key: sha for key, sha in found.items() if sha}


_FEEDBACK_NAME = re.compile(rf"(?P<base>.+)-(?:{LIST_SUFFIX}|{MARKED_SUFFIX})\.xlsx")
_NUMBERED = re.compile(r"-\d+$")


def _earlier_feedback(folder: Path) -> dict:
    """{stem: [its feedback files]} of the folder, read once per import: `<stem>[-n]-问题清单.xlsx`
    and `<stem>[-n]-标注.xlsx` (a name ending in -n counts for both stems it may be)."""
    out: dict = {}
    if not folder.is_dir():
        return out
    for p in sorted(folder.iterdir()):
        m = _FEEDBACK_NAME.fullmatch(p.name)
        if m is None:
            continue
        base = m.group("base")
        for stem in dict.fromkeys((base, _NUMBERED.sub("", base))):
            out.setdefault(stem, []).append(p)
    return out


def _stem(o) -> str:
    form = f"-{CONTACT_FORM_SUFFIX}" if o.form == CONTACT_FORM else ""
    if o.unit_code:
        return sanitise(f"{o.unit_code}-{o.unit_name}{form}")
    return sanitise(f"未识别-{PurePosixPath(o.name.split('!')[-1]).stem}")


def sent_name(source_name: str) -> str:
    """The file's name as the unit sent it, without the office's own folders: `收件/县/表.xlsx`
    → `表.xlsx`; a zip member `收件/材料.zip!表.xlsx` → `表.xlsx（材料.zip 中）`; a mail's
    attachment keeps only its own name."""
    parts = [PurePosixPath(s.replace("\\", "/")).name for s in source_name.split("!") if s]
    if not parts:
        return source_name
    zips = [s for s in parts[:-1] if s.lower().endswith(".zip")]
    return f"{parts[-1]}（{zips[-1]} 中）" if zips else parts[-1]


def write_all(campaign, result, jobs: int = 2) -> list[str]:
    """Write every feedback file of an import (in a process pool); returns their paths."""
    pairs = jobs_for(campaign, result)
    todo = [job for _, job in pairs]
    if not todo:
        return []
    campaign.layout.feedback_dir.mkdir(parents=True, exist_ok=True)
    jobs = max(1, min(jobs, len(todo), os.cpu_count() or 1))
    if jobs == 1:
        written = list(map(write_feedback, todo))
    else:
        with ProcessPoolExecutor(jobs) as pool:
            written = list(pool.map(write_feedback, todo, chunksize=max(1, len(todo) // 16)))
    for (o, _), paths in zip(pairs, written):
        o.feedback = paths
    return [p for paths in written for p in paths]


def write_feedback(job: FeedbackJob) -> list[str]:
    """Both files of one return; the marked copy is skipped if their workbook cannot be
    rewritten (it stays only in the list)."""
    write_issue_list(job, Path(job.list_path))
    out = [job.list_path]
    if job.marked_path:
        try:
            write_marked_copy(Path(job.source), job.issues, Path(job.marked_path))
            out.append(job.marked_path)
        except Exception:  # openpyxl cannot round-trip some files; the list says everything
            Path(job.marked_path).unlink(missing_ok=True)
    return out


def locate(i: Issue) -> tuple[str, str]:
    """(sheet, cell) named by an issue's `where`, or ("", "") for the file as a whole."""
    where = (i.where or "").strip()
    m = _CELL.match(where)
    if m:
        return m.group("sheet"), f"{m.group('col')}{m.group('row')}"
    if where and "!" not in where and "." not in where and "/" not in where:
        return where, ""  # a whole sheet (e.g. rows inserted in 自评表)
    return "", ""


def split_message(text: str) -> tuple[str, str]:
    """'X 不对。请改成 Y。' → ('X 不对。', '请改成 Y。'): the catalogue's texts say the problem first
    and then how to fix it."""
    m = _FIX.search(text)
    if not m:
        return text, ""
    return text[:m.start() + 1], text[m.end():].strip()


# --- 问题清单 (xlsxwriter) -----------------------------------------------------------------------

def write_issue_list(job: FeedbackJob, path: Path) -> None:
    from .workbook.checked import FastWorkbook  # xlsxwriter's bytes, sooner
    tmp = path.with_name(f".{path.stem}.tmp")
    book = FastWorkbook(str(tmp), {"strings_to_formulas": False, "strings_to_urls": False,
                                   "in_memory": True})
    try:
        ws = book.add_worksheet("问题清单")
        f = _formats(book)
        last = len(COLUMNS) - 1
        for col, (_, width) in enumerate(COLUMNS):
            ws.set_column(col, col, width)
        ws.merge_range(0, 0, 0, last, "", f["title"])
        ws.write_string(0, 0, f"{job.title} 报送问题清单", f["title"])
        ws.merge_range(1, 0, 1, last, "", f["sub"])
        ws.write_string(1, 0, f"文件：{job.file_name}　　处理结果：{job.status}", f["sub"])
        errors = sum(i.severity == ERROR for i in job.issues)
        ws.merge_range(2, 0, 2, last, "", f["note"])
        ws.write_string(2, 0, _advice(errors, len(job.issues) - errors, bool(job.marked_path)),
                        f["note"])
        ws.set_row(0, 28)
        ws.set_row(2, 30)
        for col, (name, _) in enumerate(COLUMNS):
            ws.write_string(3, col, name, f["header"])
        for n, line in enumerate(summarise(job.issues), 1):
            if line.count == 1:
                _issue_row(ws, 3 + n, n, line.first, f)
            else:
                _summary_row(ws, 3 + n, n, line, f)
        ws.set_paper(9)
        ws.set_landscape()
        ws.fit_to_pages(1, 0)
        ws.repeat_rows(3)
        ws.freeze_panes(4, 0)
        ws.set_margins(left=0.4, right=0.4, top=0.75, bottom=0.6)
        ws.center_horizontally()
        ws.set_header("&C" + f"{job.title} 报送问题清单".replace("&", "&&")[:200])
        ws.set_footer("&C第 &P 页 共 &N 页")
    finally:
        book.close()
    os.replace(tmp, path)


def _advice(errors: int, warnings: int, marked: bool) -> str:
    parts = []
    if errors:
        parts.append(f"错误 {errors} 项：必须改正后重新报送，改正前不计分")
    if warnings:
        parts.append(f"警告 {warnings} 项：请逐项核实，确有问题的请改正后重新报送")
    text = "；".join(parts) + "。"
    if marked:
        text += "标注了问题单元格的工作簿副本随本清单一并发回（红色为错误，黄色为警告，批注为说明）。"
    return text


def _issue_row(ws, row: int, n: int, i: Issue, f: dict) -> None:
    sheet, cell = locate(i)
    problem, fix = split_message(i.message)
    if not fix:
        fix = "请改正后重新报送。" if i.severity == ERROR else "请核实；确认无误的可不修改。"
    if not cell and i.where and i.where not in problem:
        problem = f"{i.where}：{problem}"
    elif cell:  # the 工作表/单元格 columns say where; the text need not repeat 「自评表!E12」
        problem = without_refs(problem)
    ws.write_number(row, 0, n, f["center"])
    ws.write_string(row, 1, i.severity, f[i.severity])
    ws.write_string(row, 2, sheet or "（整个文件）", f["center"])
    ws.write_string(row, 3, cell, f["center"])
    ws.write_string(row, 4, problem, f["cell"])
    ws.write_string(row, 5, fix, f["cell"])
    ws.set_row(row, 14 * max(_lines(problem, COLUMNS[4][1]), _lines(fix, COLUMNS[5][1])) + 6)


def _summary_row(ws, row: int, n: int, line, f: dict) -> None:
    """One line for all warnings of one kind: the sheet(s) and every cell, then the summary."""
    places = [locate(Issue(line.code, line.severity, "", w)) for w in line.wheres]
    sheets = list(dict.fromkeys(s for s, _ in places if s))
    cells = [c for _, c in places if c]
    problem, fix = split_message(line.message)
    if len(cells) > 1:  # every cell in the text; the narrow 单元格 column gives the count
        problem += f"所在单元格：{'、'.join(cells)}。"
    cells = f"共 {len(cells)} 处" if len(cells) > 1 else "".join(cells)
    fix = fix or "请逐项核实；确认无误的可不修改。"
    ws.write_number(row, 0, n, f["center"])
    ws.write_string(row, 1, line.severity, f[line.severity])
    ws.write_string(row, 2, "、".join(sheets) or "（整个文件）", f["center"])
    ws.write_string(row, 3, cells, f["cell"])
    ws.write_string(row, 4, problem, f["cell"])
    ws.write_string(row, 5, fix, f["cell"])
    ws.set_row(row, 14 * max(_lines(problem, COLUMNS[4][1]), _lines(fix, COLUMNS[5][1]),
                             _lines(cells, COLUMNS[3][1])) + 6)


def _lines(text: str, width: int) -> int:
    """Printed lines of `text` in a column `width` characters wide (a Chinese character is two)."""
    units = sum(2 if ord(ch) > 0x2E80 else 1 for ch in text)
    return max(1, -(-units // max(1, width - 2)))


def _formats(book) -> dict:
    base = {"font_name": FONT, "font_size": 10, "valign": "vcenter", "text_wrap": True}
    box = {**base, "border": 1}
    return {
        "title": book.add_format({**base, "font_size": 16, "bold": True, "align": "center"}),
        "sub": book.add_format({**base, "font_size": 10, "align": "center"}),
        "note": book.add_format({**base, "font_size": 10, "font_color": "#7F0000"}),
        "header": book.add_format({**box, "bold": True, "align": "center",
                                   "bg_color": "#D9D9D9"}),
        "cell": book.add_format(box),
        "center": book.add_format({**box, "align": "center"}),
        ERROR: book.add_format({**box, "align": "center", "bold": True,
                                "bg_color": _COLOR[ERROR]}),
        WARNING: book.add_format({**box, "align": "center", "bg_color": _COLOR[WARNING]}),
    }


# --- marked copy ---------------------------------------------------------------------------------
#
# Their workbook is patched as a zip of XML parts: each marked cell gets a copy of its own cell
# format with the fill, a comment (comments part + VML shapes, written by openpyxl's own comment
# writer) is added to its sheet, and the first marked sheet and cell are selected. Every other
# part is copied byte for byte, so nothing of theirs is lost or rewritten. A workbook the patch
# does not handle (a marked sheet that already has comments or drawings of its own, a marked cell
# missing from the XML, strict OOXML…) is marked by an openpyxl load and save instead.

_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_M = "{%s}" % _NS
_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_DOC_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_CT = "http://schemas.openxmlformats.org/package/2006/content-types"
_COMMENTS_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.comments+xml"
_VML_TYPE = "application/vnd.openxmlformats-officedocument.vmlDrawing"
# CT_Worksheet children that come after <legacyDrawing>
_AFTER_LEGACY = ("legacyDrawingHF", "drawingHF", "picture", "oleObjects", "controls",
                 "webPublishItems", "tableParts", "extLst")


class _Unpatchable(Exception):
    """The workbook has something the XML patch does not handle: use openpyxl."""


def write_marked_copy(source: Path, issues: list, path: Path) -> None:
    """Their workbook with every cell an issue names filled and commented; all else unchanged."""
    marks: dict = {}
    for i in issues:
        sheet, cell = locate(i)
        if sheet and cell:
            marks.setdefault((sheet, cell), []).append(i)
    tmp = path.with_name(f".{path.stem}.tmp")
    try:
        try:
            _patch_marked_copy(Path(source), marks, tmp)
        except Exception:  # _Unpatchable, or a part the patch could not read: openpyxl's turn
            _marked_copy_openpyxl(Path(source), marks, tmp)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


def _comment(found: list):
    from openpyxl.comments import Comment
    text = "\n".join(f"【{i.severity}】{i.message}" for i in found)
    comment = Comment(text, "市级考核办")
    comment.width, comment.height = 320, min(400, 60 + 18 * (len(text) // 20 + len(found)))
    return comment


def _worst(found: list) -> str:
    return ERROR if any(i.severity == ERROR for i in found) else WARNING


def _xml(data: bytes):
    from .returns import parse_xml
    return parse_xml(data)


def _bytes(root) -> bytes:
    from lxml import etree
    return etree.tostring(root, xml_declaration=True, encoding="UTF-8", standalone=True)


def _rels_path(part: str) -> str:
    folder, name = posixpath.split(part)
    return posixpath.join(folder, "_rels", name + ".rels")


def _targets(parts: dict, part: str) -> dict:
    """Relationship id -> (type, part) of `part`."""
    rels = _rels_path(part)
    if rels not in parts:
        return {}
    out, folder = {}, posixpath.dirname(part)
    for r in _xml(parts[rels]).iter(f"{{{_PKG_REL}}}Relationship"):
        t = r.get("Target") or ""
        if r.get("TargetMode") != "External":
            t = t[1:] if t.startswith("/") else posixpath.normpath(posixpath.join(folder, t))
        out[r.get("Id")] = (r.get("Type") or "", t)
    return out


def _patch_marked_copy(source: Path, marks: dict, dst: Path) -> None:
    """Write `dst`: `source` with the cells of `marks` ({(sheet, cell): [Issue]}) marked."""
    import zipfile
    with zipfile.ZipFile(source) as z:
        order = [i.filename for i in z.infolist()]
        parts = {name: z.read(name) for name in order}
    book_part, book, sheets = _worksheets(parts)
    by_name = {name: part for name, part in sheets if part}
    per_sheet: dict = {}
    for (sheet, cell), found in marks.items():
        if sheet in by_name:
            per_sheet.setdefault(sheet, []).append((cell, found))
    styles = _Styles(parts)
    types = _xml(parts["[Content_Types].xml"])
    for sheet, cells in per_sheet.items():
        _comment_sheet(parts, by_name[sheet], sheet, cells, styles, types)
    if per_sheet:
        sheet, cells = next(iter(per_sheet.items()))
        _select(parts, book, sheets, (sheet, cells[0][0]))
    parts["xl/styles.xml"] = styles.finish()
    parts["[Content_Types].xml"] = _bytes(types)
    parts[book_part] = _bytes(book)
    with zipfile.ZipFile(dst, "w", zipfile.ZIP_DEFLATED) as out:
        for name in order + [n for n in parts if n not in set(order)]:
            value = parts[name]
            out.writestr(name, value if isinstance(value, bytes) else _bytes(value))


def _worksheets(parts: dict):
    """(workbook part, its tree, [(sheet name, worksheet part or None)] in tab order)."""
    book_part = next((t for k, t in _targets(parts, "").values()
                      if k.endswith("/officeDocument")), None)
    if book_part not in parts or "xl/styles.xml" not in parts:
        raise _Unpatchable("no workbook part or no styles")
    book = _xml(parts[book_part])
    if book.tag != _M + "workbook":
        raise _Unpatchable("not transitional SpreadsheetML")
    rels = _targets(parts, book_part)
    sheets = []  # chartsheets count as tabs too
    for el in book.iter(_M + "sheet"):
        kind, target = rels.get(el.get(f"{{{_DOC_REL}}}id"), ("", ""))
        sheets.append((el.get("name"), target if target in parts and "worksheet" in kind else None))
    return book_part, book, sheets


class _Styles:
    """styles.xml with one solid fill per severity and, per (cell format, severity), a copy of
    the cell format with that fill."""

    def __init__(self, parts: dict):
        self.root = _xml(parts["xl/styles.xml"])
        self.fills, self.xfs = self.root.find(_M + "fills"), self.root.find(_M + "cellXfs")
        if self.fills is None or self.xfs is None:
            raise _Unpatchable("no fills or cell formats")
        self.originals = self.xfs.findall(_M + "xf")
        self.fill_ids: dict = {}
        self.xf_ids: dict = {}

    def marked(self, style: int, worst: str) -> int:
        """The index of cell format `style` filled for `worst`."""
        import copy
        if (style, worst) not in self.xf_ids:
            if style >= len(self.originals):
                raise _Unpatchable("cell format out of range")
            xf = copy.deepcopy(self.originals[style])
            xf.set("fillId", str(self._fill(worst)))
            xf.set("applyFill", "1")
            self.xfs.append(xf)
            self.xf_ids[(style, worst)] = len(self.xfs.findall(_M + "xf")) - 1
        return self.xf_ids[(style, worst)]

    def _fill(self, worst: str) -> int:
        from lxml import etree
        if worst not in self.fill_ids:
            fill = etree.SubElement(self.fills, _M + "fill")
            pattern = etree.SubElement(fill, _M + "patternFill", patternType="solid")
            etree.SubElement(pattern, _M + "fgColor",
                             rgb=ERROR_FILL if worst == ERROR else WARNING_FILL)
            etree.SubElement(pattern, _M + "bgColor", rgb="00000000")
            self.fill_ids[worst] = len(self.fills.findall(_M + "fill")) - 1
        return self.fill_ids[worst]

    def finish(self) -> bytes:
        self.fills.set("count", str(len(self.fills.findall(_M + "fill"))))
        self.xfs.set("count", str(len(self.xfs.findall(_M + "xf"))))
        return _bytes(self.root)


def _comment_sheet(parts: dict, part: str, sheet: str, cells: list, styles: _Styles,
                   types) -> None:
    """Fill and comment `cells` ([(cell, [Issue])]) of one worksheet part: the comments part and
    its VML shapes (openpyxl's comment writer), the relationships, <legacyDrawing>."""
    from lxml import etree
    from openpyxl.comments.comment_sheet import CommentRecord, CommentSheet
    from openpyxl.utils.cell import coordinate_to_tuple
    from openpyxl.xml.functions import tostring
    root = _xml(parts[part])
    if root.find(_M + "legacyDrawing") is not None or any(
            k.endswith(("/comments", "/vmlDrawing")) for k, _ in _targets(parts, part).values()):
        raise _Unpatchable("the sheet has comments of its own")
    found_cells = {c.get("r"): c for c in root.iter(_M + "c")}
    records = []
    for cell, found in sorted(cells, key=lambda x: coordinate_to_tuple(x[0])):
        el = found_cells.get(cell)
        if el is None:
            raise _Unpatchable(f"{sheet}!{cell} is not in the sheet XML")
        el.set("s", str(styles.marked(int(el.get("s") or 0), _worst(found))))
        records.append(CommentRecord.from_cell(_Commented(cell, _comment(found))))
    n = 1
    while f"xl/comments/comment{n}.xml" in parts or f"xl/drawings/commentsDrawing{n}.vml" in parts:
        n += 1
    comments_part, vml_part = f"xl/comments/comment{n}.xml", f"xl/drawings/commentsDrawing{n}.vml"
    cs = CommentSheet.from_comments(records)
    parts[comments_part] = tostring(cs.to_tree())
    parts[vml_part] = cs.write_shapes(None)
    rels_part = _rels_path(part)
    rels = (_xml(parts[rels_part]) if rels_part in parts
            else etree.Element(f"{{{_PKG_REL}}}Relationships", nsmap={None: _PKG_REL}))
    ids = {r.get("Id") for r in rels}
    comments_id, vml_id = (next(f"{stem}{k}" for k in range(1, 1000) if f"{stem}{k}" not in ids)
                           for stem in ("xwComments", "xwVml"))
    etree.SubElement(rels, f"{{{_PKG_REL}}}Relationship", Id=comments_id,
                     Type=f"{_DOC_REL}/comments", Target="/" + comments_part)
    etree.SubElement(rels, f"{{{_PKG_REL}}}Relationship", Id=vml_id,
                     Type=f"{_DOC_REL}/vmlDrawing", Target="/" + vml_part)
    parts[rels_part] = _bytes(rels)
    legacy = etree.Element(_M + "legacyDrawing")
    legacy.set(f"{{{_DOC_REL}}}id", vml_id)
    after = next((c for c in root if isinstance(c.tag, str)
                  and c.tag.split("}")[-1] in _AFTER_LEGACY), None)
    if after is None:
        root.append(legacy)
    else:
        after.addprevious(legacy)
    parts[part] = root  # serialised at the end, after the selection is set
    etree.SubElement(types, f"{{{_CT}}}Override", PartName="/" + comments_part,
                     ContentType=_COMMENTS_TYPE)
    if not any((d.get("Extension") or "").lower() == "vml" for d in types.iter(f"{{{_CT}}}Default")):
        types.insert(0, etree.Element(f"{{{_CT}}}Default", Extension="vml", ContentType=_VML_TYPE))


@dataclass
class _Commented:
    """What openpyxl's CommentRecord.from_cell needs of a cell."""
    coordinate: str
    _comment: object


def _select(parts: dict, book, sheets: list, first: tuple) -> None:
    """Open at the first marked cell: its sheet is the active, selected tab, the cell selected."""
    from lxml import etree
    sheet, cell = first
    tab = next(n for n, (name, _) in enumerate(sheets) if name == sheet)
    views = book.find(_M + "bookViews")
    view = views.find(_M + "workbookView") if views is not None else None
    if view is None:
        raise _Unpatchable("no workbook view")
    view.set("activeTab", str(tab))
    if view.get("firstSheet") and int(view.get("firstSheet")) > tab:
        view.set("firstSheet", str(tab))
    for name, part in sheets:
        if not part:
            continue
        root = parts[part] if not isinstance(parts[part], bytes) else None
        if root is None:
            raw = parts[part]
            if name != sheet and b"tabSelected" not in raw:
                continue  # nothing to change: leave the part's bytes as they are
            root = _xml(raw)
            parts[part] = root
        sv = root.find(f"{_M}sheetViews/{_M}sheetView")
        if sv is None:
            if name != sheet:
                continue
            svs = root.find(_M + "sheetViews")
            if svs is None:
                raise _Unpatchable("no sheet views")
            sv = etree.SubElement(svs, _M + "sheetView", workbookViewId="0")
        if name == sheet:
            sv.set("tabSelected", "1")
            sel = sv.find(_M + "selection")
            if sel is None:
                sel = etree.SubElement(sv, _M + "selection")
            sel.set("activeCell", cell)
            sel.set("sqref", cell)
        elif sv.get("tabSelected") is not None:
            del sv.attrib["tabSelected"]


def _marked_copy_openpyxl(source: Path, marks: dict, dst: Path) -> None:
    import openpyxl
    from openpyxl.styles import PatternFill
    book = openpyxl.load_workbook(source, keep_links=False)
    first = None
    for (sheet, cell), found in marks.items():
        if sheet not in book.sheetnames:
            continue
        target = book[sheet][cell]
        worst = _worst(found)
        target.fill = PatternFill("solid", fgColor=ERROR_FILL if worst == ERROR else WARNING_FILL)
        target.comment = _comment(found)
        first = first or (sheet, cell)
    if first:
        book.active = book.sheetnames.index(first[0])
        for ws in book.worksheets:
            ws.sheet_view.tabSelected = ws.title == first[0]
        book[first[0]].sheet_view.selection[0].activeCell = first[1]
        book[first[0]].sheet_view.selection[0].sqref = first[1]
    book.save(dst)
