"""Checks of a zip package (.xlsx and look-alikes) before any XML parser sees a part.

Every member is looked at by what it holds, not by its name: a part that starts like XML is
decoded to its end (which also verifies the zip CRC), so a part cut short, bytes that are not
UTF-8, an encoding no Excel writes (UTF-32, UTF-7 …) or a DTD anywhere is found whatever the part
is called. Macros (VBA projects, Excel 4.0 macro sheets, Auto_Open names) and external links are
found through the content types, every relationship and the parts' root elements, so renaming
parts or moving workbook.xml hides nothing. Bounded: the declared sizes are capped first.
"""
from __future__ import annotations

import codecs
import re
import zipfile
from dataclasses import dataclass, field

from ..messages import Issue, issue

MB = 1024 * 1024
MAX_UNCOMPRESSED_BYTES = 100 * MB  # sum of the declared sizes in the central directory
MAX_RATIO = 200                    # declared ÷ compressed, for members above RATIO_FLOOR
RATIO_FLOOR = 1 * MB               # small parts of repeated XML compress very well and are harmless
MAX_MEMBERS = 10_000
CHUNK = 64 * 1024
KEEP_BYTES = 4 * MB                # structural parts kept as text for the macro and link checks
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
XML_SUFFIXES = (".xml", ".rels", ".vml")
DTD_MARKERS = ("<!DOCTYPE", "<!ENTITY")
OVERLAP = max(len(m) for m in DTD_MARKERS)
KEEP_ROOTS = {"Types", "Relationships", "workbook"}
VBA_STREAMS = {"PROJECT", "PROJECTwm", "VBA", "_VBA_PROJECT", "dir"}
AUTO_NAME = re.compile(r"<(?:\w+:)?definedName\b[^>]*\bname\s*=\s*[\"'](?:_xlnm\.)?"
                       r"(auto_(?:open|close|activate|deactivate)\w*)", re.IGNORECASE)
_ROOT = re.compile(r"\s*(?:<\?.*?\?>\s*|<!--.*?-->\s*)*<([A-Za-z_][\w.\-]*(?::[A-Za-z_][\w.\-]*)?)",
                   re.S)
_TRAILER = re.compile(r"(?:<!--.*?-->|<\?.*?\?>)\s*$", re.S)
_DECLARED = re.compile(r"\s*<\?xml[^>]*?encoding\s*=\s*[\"']([A-Za-z0-9._\-]+)", re.I)
_REL = re.compile(r"<(?:\w+:)?Relationship\b([^>]*)>")
_ATTR = re.compile(r"([\w:]+)\s*=\s*(?:\"([^\"]*)\"|'([^']*)')")


@dataclass
class Part:
    """What one member holds, as far as the checks need it."""
    name: str
    root: str = ""                # local name of the root element; "" when not XML
    text: str = ""                # the whole text of content types, relationships, workbooks
    ole: set = field(default_factory=set)  # stream names when it is an OLE compound file


def human_size(n: int) -> str:
    return f"{n / MB:.1f} MB" if n >= MB // 10 else f"{n / 1024:.1f} KB"


def check_open_package(zf: zipfile.ZipFile, keep: dict | None = None) -> list[Issue]:
    """All problems of an open zip that claims to be an .xlsx (first one of each kind). With
    `keep`, the bytes of every XML part decoded whole go into it by part name, so that the
    reader parses exactly the bytes checked here without decompressing them again."""
    infos = [i for i in zf.infolist() if not i.is_dir()]
    bomb = _bomb_detail(zf.infolist())
    if bomb:
        return [issue("F011", detail=bomb)]
    names = {i.filename.lower(): i for i in infos}
    kind_issue = _package_kind(zf, names)
    if kind_issue:
        return [kind_issue]
    parts = []
    for info in infos:
        if info.flag_bits & 0x1:
            return [issue("F007")]
        part, problem = scan_part(zf, info, keep)
        if problem:
            return [problem]
        parts.append(part)
    return _macro_issues(parts)[:1] + _external_link_issues(parts)[:1]


def _bomb_detail(infos: list[zipfile.ZipInfo]) -> str:
    if len(infos) > MAX_MEMBERS:
        return f"含 {len(infos)} 个部件，上限 {MAX_MEMBERS}"
    total = sum(i.file_size for i in infos)
    if total > MAX_UNCOMPRESSED_BYTES:
        return f"声明解压后共 {human_size(total)}，上限 {human_size(MAX_UNCOMPRESSED_BYTES)}"
    for i in infos:
        if i.file_size > RATIO_FLOOR and i.file_size > MAX_RATIO * max(i.compress_size, 1):
            ratio = i.file_size // max(i.compress_size, 1)
            return f"部件 {i.filename} 压缩比 {ratio}:1，上限 {MAX_RATIO}:1"
    return ""


def _package_kind(zf: zipfile.ZipFile, names: dict) -> Issue | None:
    """An issue when the zip is not an .xlsx package at all (ODS, Word, a plain zip …) or lacks
    the parts every workbook has; the workbook part is the one _rels/.rels names."""
    if "mimetype" in names:
        mime = _read_small(zf, names["mimetype"])
        if b"opendocument.spreadsheet" in mime:
            return issue("F004")
        return issue("F001", kind="OpenDocument 文档")
    book = workbook_part(zf, names)
    if book.lower() not in names:
        if "word/document.xml" in names:
            return issue("F001", kind="Word 文档（.docx）")
        if "ppt/presentation.xml" in names:
            return issue("F001", kind="PowerPoint 演示文稿（.pptx）")
        if "[content_types].xml" not in names and not any(p.startswith("xl/") for p in names):
            return issue("F001", kind="ZIP 压缩包")
    for part in ("[Content_Types].xml", book):
        if part.lower() not in names:
            return issue("F009", part=part)
    return None


def workbook_part(zf: zipfile.ZipFile, names: dict) -> str:
    """The main workbook part as _rels/.rels names it (as the reader finds it), else the usual."""
    info = names.get("_rels/.rels")
    text = _read_small(zf, info).decode("utf-8", "replace") if info else ""
    for rel in relationships(text):
        if rel.get("Type", "").endswith("/officeDocument") and rel.get("Target"):
            return rel["Target"].lstrip("/")
    return "xl/workbook.xml"


def relationships(text: str) -> list[dict]:
    """The attributes of every <Relationship> in a .rels text."""
    return [{m.group(1): m.group(2) if m.group(2) is not None else m.group(3)
             for m in _ATTR.finditer(attrs)} for attrs in _REL.findall(text)]


def _read_small(zf: zipfile.ZipFile, info: zipfile.ZipInfo, limit: int = 64 * 1024) -> bytes:
    with zf.open(info) as stream:
        return stream.read(limit)


# --- one member -------------------------------------------------------------------------------

def scan_part(zf: zipfile.ZipFile, info: zipfile.ZipInfo,
              keep: dict | None = None) -> tuple[Part, Issue | None]:
    """Decode an XML-looking member to its end in bounded chunks; (what it holds, its problem).
    With `keep`, a part decoded whole without a problem is kept there: {name: its bytes}."""
    part = Part(info.filename)
    with zf.open(info) as stream:
        head = stream.read(CHUNK)
        encoding = xml_encoding(head)
        if encoding is None:
            if head.startswith(OLE_MAGIC):
                part.ole = _ole_names(head + stream.read())
            elif head.strip() and info.filename.lower().endswith(XML_SUFFIXES):
                return part, issue("F031", part=info.filename)
            return part, None
        bad = _bad_encoding(head, encoding)
        if bad:
            return part, issue("F033", part=info.filename, encoding=bad)
        raw = [] if keep is not None else None
        part, problem = _decode_all(part, stream, head, encoding, raw)
        if raw is not None and problem is None:
            keep[info.filename] = b"".join(raw)
        return part, problem


def xml_encoding(head: bytes) -> str | None:
    """The codec of a member that starts like XML (by its BOM or first bytes); None otherwise.
    UTF-32 is reported as "utf-32" (refused: no spreadsheet program writes it)."""
    if head.startswith((b"\xff\xfe\x00\x00", b"\x00\x00\xfe\xff")) or head[:4] in (
            b"<\0\0\0", b"\0\0\0<"):
        return "utf-32"
    if head.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "utf-16"
    if head[:2] == b"<\0":
        return "utf-16-le"
    if head[:2] == b"\0<":
        return "utf-16-be"
    return "utf-8" if head.lstrip(b" \t\r\n").startswith(b"<") else None


def _bad_encoding(head: bytes, encoding: str) -> str:
    """The encoding's name when OOXML does not allow it (only UTF-8 and UTF-16), else ""."""
    if encoding == "utf-32":
        return "UTF-32"
    text = head[:400].decode(encoding, "replace")
    m = _DECLARED.match(text.lstrip("\ufeff"))
    declared = (m.group(1) if m else "").lower().replace("_", "-")
    allowed = ("", "utf-8", "utf8", "us-ascii", "ascii") if encoding.startswith("utf-8") else (
        "", "utf-16", "utf-16le", "utf-16be", "utf16")
    return "" if declared in allowed else m.group(1)


def _decode_all(part: Part, stream, head: bytes, encoding: str,
                raw: list | None = None) -> tuple[Part, Issue | None]:
    decoder = codecs.getincrementaldecoder(encoding)("strict")
    kept, tail, first, chunk = [], "", None, head
    try:
        while chunk:
            if raw is not None:
                raw.append(chunk)
            text = decoder.decode(chunk)
            window = tail + text
            if any(marker in window for marker in DTD_MARKERS):
                return part, issue("F012", part=part.name)
            if first is None:
                first = text.lstrip("\ufeff")
                m = _ROOT.match(first)
                if m is None:
                    return part, issue("F031", part=part.name)
                qname, part.root = m.group(1), m.group(1).split(":")[-1]
            if part.root in KEEP_ROOTS and sum(map(len, kept)) < KEEP_BYTES:
                kept.append(text)
            tail = window[-1024:]
            chunk = stream.read(CHUNK)
        tail += decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return part, issue("F032", part=part.name)
    if first is None or not _ends_whole(tail, qname, first):
        return part, issue("F031", part=part.name)
    part.text = "".join(kept)
    return part, None


def _ends_whole(tail: str, qname: str, first: str) -> bool:
    """True when the text ends by closing its root element (a part cut short does not)."""
    tail = tail.rstrip()
    while (m := _TRAILER.search(tail)) is not None and m.start() > 0:
        tail = tail[:m.start()].rstrip()
    if re.search(rf"</{re.escape(qname)}\s*>$", tail):
        return True
    start = _ROOT.match(first)
    close = first.find(">", start.end())
    return close > 0 and first[close - 1] == "/" and tail.endswith("/>")


def _ole_names(data: bytes) -> set:
    from .sniff import ole_stream_names
    try:
        return ole_stream_names(data)
    except (ValueError, IndexError):
        return set()


# --- what the parts say -----------------------------------------------------------------------

def _texts(parts: list[Part], root: str) -> str:
    return "\n".join(p.text for p in parts if p.root == root)


def _rel_types(parts: list[Part]) -> list[dict]:
    return [r for p in parts if p.root == "Relationships" for r in relationships(p.text)]


def _macro_issues(parts: list[Part]) -> list[Issue]:
    types, rels = _texts(parts, "Types").lower(), _rel_types(parts)
    out = []
    for p in parts:
        if p.name.lower().endswith("vbaproject.bin") or p.ole & VBA_STREAMS:
            out.append(issue("F006", detail=f"含 {p.name}"))
    if "macroenabled" in types or "vbaproject" in types:
        out.append(issue("F006", detail="启用宏的工作簿 .xlsm"))
    out += [issue("F006", detail=f"含 {r.get('Target', '')}") for r in rels
            if r.get("Type", "").lower().endswith("/vbaproject")]
    sheets = [p.name for p in parts if p.root.lower() == "macrosheet"]
    sheets += [r.get("Target", "") for r in rels if "macrosheet" in r.get("Type", "").lower()]
    if sheets or "macrosheet" in types:
        out.append(issue("F034", detail=f"宏表 {sheets[0] if sheets else '（内容类型）'}"))
    auto = AUTO_NAME.search(_texts(parts, "workbook"))
    if auto:
        out.append(issue("F034", detail=f"打开时自动运行的名称 {auto.group(1)}"))
    return out


def _external_link_issues(parts: list[Part]) -> list[Issue]:
    # An error, not a warning: linked values cannot be verified, and opening the return in
    # Excel at the office would try to reach the county's paths (a UNC path leaks credentials).
    rels = _rel_types(parts)
    linked = [p.name for p in parts if p.root == "externalLink"]
    linked += [r.get("Target", "") for r in rels
               if r.get("Type", "").endswith(("/externalLink", "/externalLinkPath"))]
    if "externallink+xml" in _texts(parts, "Types").lower():
        linked.append("externalLink")
    if re.search(r"<(?:\w+:)?externalReference\b", _texts(parts, "workbook")):
        linked.append("externalReference")
    if not linked:
        return []
    paths = [r.get("Target", "") for r in rels if r.get("Type", "").endswith("/externalLinkPath")]
    return [issue("F013", target="、".join(paths[:3]) or linked[0])]
