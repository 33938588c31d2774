"""A corpus of bad received files, written from real bytes into a folder.

Most start from a good .xlsx made with openpyxl and mutate its zip; the OLE2 ones (.xls, .et,
encrypted .xlsx, .doc) are written by a small compound-file writer that follows MS-CFB, so the
sniffer reads a genuine directory. Each builder takes a folder and returns the file it wrote.
"""
from __future__ import annotations

import io
import math
import re
import struct
import zipfile
import zlib
from functools import lru_cache
from pathlib import Path

import openpyxl

MB = 1024 * 1024


@lru_cache(maxsize=1)
def good_xlsx_bytes() -> bytes:
    """A small return-like workbook: the 自评表 header the contract names, a few rows."""
    book = openpyxl.Workbook()
    ws = book.active
    ws.title = "自评表"
    ws.append(["编号", "指标", "填报值", "材料编号"])
    ws.append(["1.1", "是否成立知识产权保护工作领导小组", "是", "1"])
    ws.append(["1.2", "党委或政府会议研究知识产权工作次数", 3, "2"])
    book.create_sheet("材料清单").append(["材料编号", "文件名"])
    buf = io.BytesIO()
    book.save(buf)
    return buf.getvalue()


def write(folder: Path, name: str, data: bytes) -> Path:
    path = Path(folder) / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def rezip(base: bytes, *, drop=(), replace=None, add=None, stored=()) -> bytes:
    """Copy a zip member by member: drop some, replace or add others, store some uncompressed."""
    replace = {**(replace or {}), **(add or {})}  # adding an existing name replaces it
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(base)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            if info.filename in drop:
                continue
            data = replace.pop(info.filename, None) or src.read(info)
            method = zipfile.ZIP_STORED if info.filename in stored else zipfile.ZIP_DEFLATED
            dst.writestr(info.filename, data, compress_type=method)
        for name, data in replace.items():
            method = zipfile.ZIP_STORED if name in stored else zipfile.ZIP_DEFLATED
            dst.writestr(name, data, compress_type=method)
    return out.getvalue()


def member(data: bytes, name: str) -> bytes:
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return zf.read(name)


def set_declared_size(data: bytes, name: str, size: int) -> bytes:
    """Patch a member's uncompressed size in its local header and central directory entry."""
    buf, raw = bytearray(data), name.encode()
    for sig, size_at, name_len_at, name_at in ((b"PK\x03\x04", 22, 26, 30),
                                               (b"PK\x01\x02", 24, 28, 46)):
        pos = buf.find(sig)
        while pos >= 0:
            n, = struct.unpack_from("<H", buf, pos + name_len_at)
            if bytes(buf[pos + name_at:pos + name_at + n]) == raw:
                struct.pack_into("<I", buf, pos + size_at, size)
            pos = buf.find(sig, pos + 4)
    return bytes(buf)


# --- OLE2 compound files (MS-CFB version 3, 512-byte sectors) --------------------------------

FREE, END, FATSECT, NOSTREAM = 0xFFFFFFFF, 0xFFFFFFFE, 0xFFFFFFFD, 0xFFFFFFFF


def ole_file(streams: dict[str, bytes]) -> bytes:
    """A compound file with `streams` under the root (at most three, 60 KB in all).

    Streams are padded to 4096 bytes so they live in regular sectors and no mini stream is needed.
    Sector 0 holds the FAT, sector 1 the directory, the streams follow.
    """
    names = sorted(streams, key=lambda n: (len(n), n.upper()))  # CFB's sibling order
    fat, body, entries = [FATSECT, END], b"", []
    for i, name in enumerate(names):
        blob = streams[name].ljust(4096, b"\0")
        count = math.ceil(len(blob) / 512)
        start = len(fat)
        fat += list(range(start + 1, start + count)) + [END]
        body += blob.ljust(count * 512, b"\0")
        right = i + 2 if i + 1 < len(names) else NOSTREAM
        entries.append(_dir_entry(name, 2, right=right, start=start, size=len(blob)))
    assert len(fat) <= 128 and len(entries) <= 3
    root = _dir_entry("Root Entry", 5, child=1 if names else NOSTREAM)
    directory = b"".join([root, *entries]).ljust(512, b"\0")
    fat_sector = struct.pack("<128I", *(fat + [FREE] * (128 - len(fat))))
    header = struct.pack("<8s16sHHHHH6sIIIIIIIII", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1",
                         b"", 0x3E, 3, 0xFFFE, 9, 6, b"", 0, 1, 1, 0, 4096, END, 0, END, 0)
    header += struct.pack("<109I", 0, *[FREE] * 108)
    return header + fat_sector + directory + body


def _dir_entry(name: str, kind: int, *, child=NOSTREAM, right=NOSTREAM, start=END,
               size=0) -> bytes:
    encoded = name.encode("utf-16-le") + b"\0\0"
    return struct.pack("<64sHBBIII16sIQQIQ", encoded, len(encoded), kind, 1, NOSTREAM, right,
                       child, b"", 0, 0, 0, start, size)


def biff8_workbook() -> bytes:
    """The smallest BIFF8 Workbook stream: a BOF record (workbook globals) and an EOF record."""
    bof = struct.pack("<HHHHHHII", 0x0809, 16, 0x0600, 0x0005, 0x0DBB, 0x07CC, 0x41, 0x06)
    return bof + struct.pack("<HH", 0x000A, 0)


def encrypted_xlsx() -> bytes:
    """What Excel writes for a password-protected .xlsx: agile EncryptionInfo + EncryptedPackage."""
    info = struct.pack("<HHI", 4, 4, 0x40) + (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\r\n'
        b'<encryption xmlns="http://schemas.microsoft.com/office/2006/encryption">'
        b'<keyData saltSize="16" blockSize="16" keyBits="256" hashSize="64" '
        b'cipherAlgorithm="AES" cipherChaining="ChainingModeCBC" hashAlgorithm="SHA512" '
        b'saltValue="AAAAAAAAAAAAAAAAAAAAAA=="/></encryption>')
    package = struct.pack("<Q", len(good_xlsx_bytes())) + bytes(range(256)) * 16
    return ole_file({"EncryptionInfo": info, "EncryptedPackage": package})


# --- other real formats -----------------------------------------------------------------------

def minimal_pdf() -> bytes:
    return (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n"
            b"2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
            b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 200 200]>>endobj\n"
            b"trailer<</Root 1 0 R>>\n%%EOF\n")


def minimal_png() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr)
            + chunk(b"IDAT", zlib.compress(b"\0\xff\x00\x00")) + chunk(b"IEND", b""))


def minimal_docx() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("[Content_Types].xml",
                   '<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/'
                   'package/2006/content-types"><Override PartName="/word/document.xml" '
                   'ContentType="application/vnd.openxmlformats-officedocument.'
                   'wordprocessingml.document.main+xml"/></Types>')
        z.writestr("word/document.xml", '<?xml version="1.0"?><w:document xmlns:w="http://'
                   'schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body><w:p><w:r>'
                   '<w:t>情况说明</w:t></w:r></w:p></w:body></w:document>')
    return out.getvalue()


def minimal_ods() -> bytes:
    """An ODF spreadsheet package: `mimetype` first and stored, as the standard requires."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        z.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("META-INF/manifest.xml", '<?xml version="1.0"?><manifest:manifest '
                   'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0">'
                   '<manifest:file-entry manifest:full-path="/" manifest:media-type='
                   '"application/vnd.oasis.opendocument.spreadsheet"/></manifest:manifest>',
                   compress_type=zipfile.ZIP_DEFLATED)
        z.writestr("content.xml", '<?xml version="1.0"?><office:document-content xmlns:office='
                   '"urn:oasis:names:tc:opendocument:xmlns:office:1.0"><office:body>'
                   '<office:spreadsheet/></office:body></office:document-content>',
                   compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


def billion_laughs(base: bytes) -> bytes:
    """The classic entity bomb, declared in the first worksheet and used in a cell."""
    lols = b"".join(b'<!ENTITY lol%d "%s">' % (i, (b"&lol%d;" % (i - 1)) * 10)
                    for i in range(1, 10))
    dtd = b'<!DOCTYPE worksheet [<!ENTITY lol0 "lol">' + lols + b"]>"
    sheet = member(base, "xl/worksheets/sheet1.xml")
    declaration_end = sheet.index(b"?>") + 2 if sheet.startswith(b"<?xml") else 0
    sheet = sheet[:declaration_end] + dtd + sheet[declaration_end:]
    sheet = sheet.replace(b"</sheetData>", b'<row r="9"><c r="A9" t="inlineStr"><is><t>&lol9;'
                          b"</t></is></c></row></sheetData>")
    return rezip(base, replace={"xl/worksheets/sheet1.xml": sheet})


def set_encrypted_flag(data: bytes, name: str) -> bytes:
    """Mark a member as password-protected (general purpose flag bit 0), as WinZip would."""
    buf, raw = bytearray(data), name.encode()
    for sig, flag_at, name_len_at, name_at in ((b"PK\x03\x04", 6, 26, 30),
                                               (b"PK\x01\x02", 8, 28, 46)):
        pos = buf.find(sig)
        while pos >= 0:
            n, = struct.unpack_from("<H", buf, pos + name_len_at)
            if bytes(buf[pos + name_at:pos + name_at + n]) == raw:
                buf[pos + flag_at] |= 1
            pos = buf.find(sig, pos + 4)
    return bytes(buf)


def external_link(base: bytes) -> bytes:
    """A workbook whose formulas point into another file on a network share."""
    types = member(base, "[Content_Types].xml").replace(b"</Types>", (
        b'<Override PartName="/xl/externalLinks/externalLink1.xml" ContentType="application/'
        b'vnd.openxmlformats-officedocument.spreadsheetml.externalLink+xml"/></Types>'))
    workbook = member(base, "xl/workbook.xml").replace(b"</workbook>", (
        b'<externalReferences><externalReference r:id="rId99"/></externalReferences>'
        b'</workbook>'))
    rels = member(base, "xl/_rels/workbook.xml.rels").replace(b"</Relationships>", (
        b'<Relationship Id="rId99" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        b'relationships/externalLink" Target="externalLinks/externalLink1.xml"/>'
        b'</Relationships>'))
    link = (b'<?xml version="1.0"?><externalLink xmlns="http://schemas.openxmlformats.org/'
            b'spreadsheetml/2006/main"><externalBook xmlns:r="http://schemas.openxmlformats.org/'
            b'officeDocument/2006/relationships" r:id="rId1"/></externalLink>')
    link_rels = ('<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/'
                 'package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.'
                 'openxmlformats.org/officeDocument/2006/relationships/externalLinkPath" '
                 'Target="file:///\\\\县政府\\共享\\台账.xlsx" TargetMode="External"/>'
                 '</Relationships>').encode()
    return rezip(base, replace={"[Content_Types].xml": types, "xl/workbook.xml": workbook,
                                "xl/_rels/workbook.xml.rels": rels},
                 add={"xl/externalLinks/externalLink1.xml": link,
                      "xl/externalLinks/_rels/externalLink1.xml.rels": link_rels})


def macro_content_type(base: bytes) -> bytes:
    types = member(base, "[Content_Types].xml").replace(
        b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml",
        b"application/vnd.ms-excel.sheet.macroEnabled.main+xml")
    assert b"macroEnabled" in types
    return rezip(base, replace={"[Content_Types].xml": types})


def crc_mismatch(base: bytes) -> bytes:
    """Sheet XML stored uncompressed, then one byte of it changed: only the CRC can tell."""
    data = bytearray(rezip(base, stored={"xl/worksheets/sheet1.xml"}))
    at = data.find(b"<sheetData>")
    assert at > 0
    data[at + 1] = ord("S")
    return bytes(data)


def broken_central_directory(base: bytes) -> bytes:
    data = bytearray(base)
    at = data.find(b"PK\x01\x02")
    data[at:at + 4] = b"PK\x01\x09"
    return bytes(data)


def utf16_doctype(base: bytes) -> bytes:
    xml = ('<?xml version="1.0" encoding="UTF-16"?><!DOCTYPE x [<!ENTITY e SYSTEM '
           '"file:///etc/passwd">]><x>&e;</x>').encode("utf-16-le")
    return rezip(base, add={"customXml/item1.xml": b"\xff\xfe" + xml})


def deep_doctype(base: bytes) -> bytes:
    """An entity declaration placed across a 64 KB read boundary, deep inside a big part."""
    pad = b" " * (64 * 1024 - 4)
    return rezip(base, add={"xl/media/notes.xml": b"<x>" + pad + b'<!ENTITY a "b"></x>'})


def legacy_zip(entries: dict[str, bytes], encoding: str = "gbk") -> bytes:
    """A zip as Windows Explorer makes it on a Chinese system: GBK names, no UTF-8 flag.

    With encoding="utf-8": UTF-8 names without the flag, as some macOS and Linux tools write.
    """
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries.items():
            info = _LegacyInfo(name)
            info.encoding = encoding
            z.writestr(info, data, compress_type=zipfile.ZIP_DEFLATED)
    return out.getvalue()


class _LegacyInfo(zipfile.ZipInfo):
    encoding = "gbk"

    def _encodeFilenameFlags(self):  # zipfile would write UTF-8 with the flag set
        return self.filename.encode(self.encoding), self.flag_bits & ~0x800


def plain_zip(entries: dict[str, bytes], symlinks: dict[str, str] | None = None) -> bytes:
    """Names as given (`../x` and `/x` included); symlinks as Info-ZIP stores them on Unix."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, data in entries.items():
            z.writestr(name, data)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.create_system = 3
            info.external_attr = (0o120777 << 16)
            z.writestr(info, target)
    return out.getvalue()


def zeros_member(name: str, size: int) -> bytes:
    """A zip with one member of `size` zero bytes: deflate squeezes it about 1000:1."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(name, bytes(size))
    return out.getvalue()


# --- hostile packages: the mutations a fuzzer found accepted (issue 10 item 11) -------------
#
# Each takes the bytes of a good .xlsx (a valid generated return in the import corpus) and keeps
# the zip itself valid: only what the parts say is wrong.

CT_MAIN = b"application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"
REL_DOC = b"http://schemas.openxmlformats.org/officeDocument/2006/relationships"
REL_MS = b"http://schemas.microsoft.com/office/2006/relationships"


def hidden_part(base: bytes) -> str:
    """A worksheet part the sheets list marks hidden (the 选项 sheet of a generated return), else
    docProps/app.xml: a part nothing reads for the values."""
    book = member(base, "xl/workbook.xml")
    rels = member(base, "xl/_rels/workbook.xml.rels")
    for m in re.finditer(rb'<sheet\b[^>]*state="hidden"[^>]*r:id="(rId\d+)"', book):
        t = re.search(rb'Id="%s"[^>]*Target="([^"]+)"' % m.group(1), rels) or re.search(
            rb'Target="([^"]+)"[^>]*Id="%s"' % m.group(1), rels)
        return "xl/" + t.group(1).decode().lstrip("/").removeprefix("xl/")
    return "docProps/app.xml"


def cut_part(base: bytes, name: str | None = None) -> bytes:
    """One part cut short at two thirds (the zip around it stays valid, CRCs right)."""
    name = name or hidden_part(base)
    data = member(base, name)
    return rezip(base, replace={name: data[:len(data) * 2 // 3]})


def bad_utf8_part(base: bytes, name: str | None = None) -> bytes:
    """Bytes that are not UTF-8 (GBK 乱码 and a lone 0xFF) inside a text of one part."""
    name = name or hidden_part(base)
    data = member(base, name)
    at = data.rindex(b"</")
    return rezip(base, replace={name: data[:at] + "<!--说明-->".encode("gbk") + b"\xff"
                                + data[at:]})


def utf32_doctype(base: bytes) -> bytes:
    """An entity declaration in a UTF-32 custom XML part (invisible to a UTF-8/16 byte scan)."""
    xml = ('<?xml version="1.0" encoding="UTF-32"?><!DOCTYPE x [<!ENTITY e SYSTEM '
           '"file:///etc/passwd">]><x>&e;</x>').encode("utf-32")
    return rezip(base, add={"customXml/item1.xml": xml})


def doctype_in_odd_part(base: bytes) -> bytes:
    """A DTD in a member whose name does not end in .xml (any member is parsed by someone)."""
    xml = b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>'
    return rezip(base, add={"customXml/item1.dat": xml})


def _add_to(base: bytes, part: str, before: bytes, text: bytes) -> bytes:
    data = member(base, part)
    assert before in data, (part, before)
    return data.replace(before, text + before, 1)


def xlm_macro_sheet(base: bytes) -> bytes:
    """An Excel 4.0 (XLM) macro sheet run on open: xl/macrosheets/, an Auto_Open name."""
    sheet = (b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
             b'<xm:macrosheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
             b'xmlns:xm="http://schemas.microsoft.com/office/excel/2006/main"><sheetData>'
             b'<row r="1"><c r="A1"><f>EXEC("calc.exe")</f></c></row>'
             b'<row r="2"><c r="A2"><f>HALT()</f></c></row></sheetData></xm:macrosheet>')
    types = _add_to(base, "[Content_Types].xml", b"</Types>", (
        b'<Override PartName="/xl/macrosheets/sheet1.xml" '
        b'ContentType="application/vnd.ms-excel.macrosheet+xml"/>'))
    rels = _add_to(base, "xl/_rels/workbook.xml.rels", b"</Relationships>", (
        b'<Relationship Id="rId90" Type="' + REL_MS + b'/xlMacrosheet" '
        b'Target="macrosheets/sheet1.xml"/>'))
    book = member(base, "xl/workbook.xml")
    book = book.replace(b"</sheets>", b'<sheet name="Macro1" sheetId="90" state="hidden" '
                        b'r:id="rId90"/></sheets>', 1)
    name = b'<definedName name="_xlnm.Auto_Open" hidden="1">Macro1!$A$1</definedName>'
    book = (book.replace(b"<definedNames>", b"<definedNames>" + name, 1)
            if b"<definedNames>" in book else
            book.replace(b"</sheets>", b"</sheets><definedNames>" + name + b"</definedNames>", 1))
    return rezip(base, replace={"[Content_Types].xml": types, "xl/_rels/workbook.xml.rels": rels,
                                "xl/workbook.xml": book},
                 add={"xl/macrosheets/sheet1.xml": sheet})


def renamed_vba_project(base: bytes) -> bytes:
    """A VBA project stored as xl/media/image9.png: no .bin name, no vba content type."""
    project = ole_file({"PROJECT": b'ID="{00000000-0000-0000-0000-000000000000}"\r\n',
                        "dir": b"\x01\x00" * 16})
    rels = _add_to(base, "xl/_rels/workbook.xml.rels", b"</Relationships>", (
        b'<Relationship Id="rId91" Type="' + REL_MS + b'/vbaProject" '
        b'Target="media/image9.png"/>'))
    types = member(base, "[Content_Types].xml")
    if b'Extension="png"' not in types:
        types = types.replace(b"<Default ", b'<Default Extension="png" ContentType="image/png"/>'
                              b"<Default ", 1)
    return rezip(base, replace={"xl/_rels/workbook.xml.rels": rels, "[Content_Types].xml": types},
                 add={"xl/media/image9.png": project})


def moved_workbook_with_link(base: bytes) -> bytes:
    """The real workbook moved to xl/main.xml (found through _rels/.rels) with an external link
    stored under a harmless name; a clean decoy stays at xl/workbook.xml."""
    linked = external_link(base)
    real = member(linked, "xl/workbook.xml")
    link = member(linked, "xl/externalLinks/externalLink1.xml")
    link_rels = member(linked, "xl/externalLinks/_rels/externalLink1.xml.rels")
    rels = member(linked, "xl/_rels/workbook.xml.rels").replace(
        b"externalLinks/externalLink1.xml", b"media/data1.xml")
    top = member(base, "_rels/.rels").replace(b'Target="xl/workbook.xml"', b'Target="xl/main.xml"')
    top = top.replace(b'Target="/xl/workbook.xml"', b'Target="/xl/main.xml"')
    types = member(base, "[Content_Types].xml").replace(b"/xl/workbook.xml", b"/xl/main.xml")
    types = types.replace(b"</Types>", (
        b'<Override PartName="/xl/media/data1.xml" ContentType="application/vnd.openxmlformats-'
        b'officedocument.spreadsheetml.externalLink+xml"/></Types>'))
    return rezip(base, replace={"_rels/.rels": top, "[Content_Types].xml": types,
                                "xl/_rels/main.xml.rels": rels},
                 drop={"xl/_rels/workbook.xml.rels"},
                 add={"xl/main.xml": real, "xl/media/data1.xml": link,
                      "xl/media/_rels/data1.xml.rels": link_rels})


def _with(**changes):
    return lambda: rezip(good_xlsx_bytes(), **changes)


# kind → (file name as received, bytes). Expected codes live beside the assertions in the tests.
BAD_FILES = {
    "empty": ("浉河区.xlsx", lambda: b""),
    "pdf-renamed": ("浉河区.xlsx", minimal_pdf),
    "png-renamed": ("浉河区.xlsx", minimal_png),
    "docx-renamed": ("浉河区.xlsx", minimal_docx),
    "doc-renamed": ("浉河区.xlsx", lambda: ole_file({"WordDocument": b"\xec\xa5" + bytes(510)})),
    "random-bytes": ("浉河区.xlsx", lambda: bytes(range(7, 256)) * 8),
    "plain-text": ("浉河区.xlsx", lambda: "请见附件说明。\n".encode("gbk")),
    "xls": ("浉河区.xls", lambda: ole_file({"Workbook": biff8_workbook()})),
    "xls-renamed": ("浉河区.xlsx", lambda: ole_file({"Workbook": biff8_workbook()})),
    "html-xls": ("浉河区.xls", lambda: "<html><body><table><tr><td>编号</td></tr></table>"
                 "</body></html>".encode("utf-8")),
    "wps-et": ("浉河区.et", lambda: ole_file({"Workbook": biff8_workbook(),
                                            "ETExtData": b"\0" * 64})),
    "ods": ("浉河区.ods", minimal_ods),
    "csv": ("浉河区.csv", lambda: "编号,填报值\n1.1,是\n1.2,3\n".encode("gbk")),
    "csv-renamed": ("浉河区.xlsx", lambda: "编号\t填报值\n1.1\t是\n".encode("utf-8")),
    "xlsm-content-type": ("浉河区.xlsm", lambda: macro_content_type(good_xlsx_bytes())),
    "vba-project": ("浉河区.xlsx", _with(add={"xl/vbaProject.bin": ole_file(
        {"PROJECT": b'ID="{00000000-0000-0000-0000-000000000000}"\r\n'})})),
    "encrypted": ("浉河区.xlsx", encrypted_xlsx),
    "truncated": ("浉河区.xlsx", lambda: good_xlsx_bytes()[:len(good_xlsx_bytes()) // 2]),
    "crc-mismatch": ("浉河区.xlsx", lambda: crc_mismatch(good_xlsx_bytes())),
    "broken-central-directory": ("浉河区.xlsx",
                                 lambda: broken_central_directory(good_xlsx_bytes())),
    "no-content-types": ("浉河区.xlsx", _with(drop={"[Content_Types].xml"})),
    "no-workbook-part": ("浉河区.xlsx", _with(drop={"xl/workbook.xml"})),
    "oversize": ("浉河区.xlsx", _with(add={"xl/media/image1.bmp": bytes(21 * MB)},
                                     stored={"xl/media/image1.bmp"})),
    "bomb-ratio": ("浉河区.xlsx", _with(add={"xl/media/image1.bmp": bytes(8 * MB)})),
    "bomb-declared": ("浉河区.xlsx", lambda: set_declared_size(
        rezip(good_xlsx_bytes(), add={"xl/media/image1.bmp": b"\0" * 1000}),
        "xl/media/image1.bmp", 150 * MB)),
    "billion-laughs": ("浉河区.xlsx", lambda: billion_laughs(good_xlsx_bytes())),
    "utf16-doctype": ("浉河区.xlsx", lambda: utf16_doctype(good_xlsx_bytes())),
    "doctype-across-chunks": ("浉河区.xlsx", lambda: deep_doctype(good_xlsx_bytes())),
    "external-link": ("浉河区.xlsx", lambda: external_link(good_xlsx_bytes())),
    "zip-of-returns-renamed": ("浉河区.xlsx", lambda: plain_zip({"a.txt": b"x"})),
}
# The fuzzer's classes (issue 10): builders over a good package's bytes, so that the import
# corpus can apply them to a valid generated return. kind → (builder, expected code).
HOSTILE_PACKAGES = {
    "part-cut-short": (cut_part, "F031"),
    "sheet-cut-short": (lambda b: cut_part(b, "xl/worksheets/sheet1.xml"), "F031"),
    "invalid-utf8": (bad_utf8_part, "F032"),
    "utf32-doctype": (utf32_doctype, "F033"),
    "doctype-odd-name": (doctype_in_odd_part, "F012"),
    "xlm-macro-sheet": (xlm_macro_sheet, "F034"),
    "renamed-vba-project": (renamed_vba_project, "F006"),
    "moved-workbook-link": (moved_workbook_with_link, "F013"),
}
BAD_FILES.update({kind: ("浉河区.xlsx", (lambda b=build: b(good_xlsx_bytes())))
                  for kind, (build, _) in HOSTILE_PACKAGES.items()})


def write_bad(folder: Path, kind: str) -> Path:
    """Write one kind of bad file from BAD_FILES into `folder`/`kind`/ and return its path."""
    name, build = BAD_FILES[kind]
    return write(Path(folder) / kind, name, build())
