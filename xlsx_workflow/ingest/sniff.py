"""Cheap checks on a received file before any XML parser sees it.

`sniff(path)` looks at the size, the magic bytes, the OLE2 directory or the zip package (every
member decoded in bounded chunks, see package.py). It returns issues (empty list = safe to open with openpyxl).
"""
from __future__ import annotations

import struct
import zipfile
import zlib
from pathlib import Path

from ..messages import Issue, WorkflowError, issue
from .package import MB, check_open_package, human_size

MAX_FILE_BYTES = 20 * MB           # a return is well under 1 MB; photos belong in separate files
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06", b"PK\x07\x08")
FOREIGN_MAGICS = [  # (magic, what a person would call it)
    (b"%PDF", "PDF 文档"), (b"\xff\xd8\xff", "JPEG 图片"), (b"\x89PNG", "PNG 图片"),
    (b"GIF8", "GIF 图片"), (b"Rar!", "RAR 压缩包"), (b"7z\xbc\xaf\x27\x1c", "7z 压缩包"),
    (b"{\\rtf", "RTF 文档"), (b"\x1f\x8b", "gzip 压缩包"), (b"II*\x00", "TIFF 图片"),
    (b"MM\x00*", "TIFF 图片"), (b"BM", "BMP 图片"),
]


def sniff(path: Path, keep: dict | None = None) -> list[Issue]:
    """All file-level problems of one received file, found without parsing its XML. With
    `keep` (a dict), a zip package's XML parts, as checked, are left there for the reader."""
    path = Path(path)
    size = path.stat().st_size
    if size == 0:
        return [issue("F014")]
    if size > MAX_FILE_BYTES:
        return [issue("F010", size=human_size(size), limit=human_size(MAX_FILE_BYTES))]
    with path.open("rb") as f:
        head = f.read(4096)
    ext = path.suffix.lower()
    if head.startswith(ZIP_MAGICS):
        return _check_package(path, keep)
    if head.startswith(OLE_MAGIC):
        return _check_ole(path, ext)
    for magic, kind in FOREIGN_MAGICS:
        if head.startswith(magic):
            return [issue("F001", kind=kind)]
    return _check_text(head, ext)


def assert_safe_xml() -> None:
    """Refuse to go on unless openpyxl parses through defusedxml (entity attacks stay inert)."""
    try:
        import defusedxml  # noqa: F401
    except ImportError:
        raise WorkflowError([issue("F030", detail="未安装 defusedxml")]) from None
    import openpyxl.xml
    import openpyxl.xml.functions as xml_functions
    if openpyxl.xml.DEFUSEDXML is not True:
        raise WorkflowError([issue("F030", detail="openpyxl 未启用 defusedxml")])
    if not xml_functions.iterparse.__module__.startswith("defusedxml"):
        raise WorkflowError([issue("F030", detail="openpyxl 的 XML 解析器不是 defusedxml")])


# --- text files: CSV, or HTML / XML spreadsheets saved under an .xls name ---------------------

def _check_text(head: bytes, ext: str) -> list[Issue]:
    text = _decode_text(head)
    if text is None:
        return [issue("F001", kind="无法识别的格式")]
    start = text.lstrip("\ufeff \r\n\t").lower()
    if start.startswith(("<html", "<!doctype html", "<table", "<meta")):
        return [issue("F002", form="网页格式的 .xls")]
    if start.startswith("<?xml") and "urn:schemas-microsoft-com:office:spreadsheet" in start:
        return [issue("F002", form="XML 电子表格 2003")]
    if ext == ".csv" or _looks_delimited(text):
        return [issue("F005")]
    return [issue("F001", kind="纯文本")]


def _decode_text(head: bytes) -> str | None:
    if b"\x00" in head:
        return None
    for enc in ("utf-8", "gb18030"):
        try:
            return head.decode(enc)
        except UnicodeDecodeError as e:  # a multi-byte char cut at the end of head is fine
            if e.start >= len(head) - 4:
                return head[:e.start].decode(enc)
    return None


def _looks_delimited(text: str) -> bool:
    lines = [ln for ln in text.splitlines()[:20] if ln.strip()]
    return bool(lines) and any(all(sep in ln for ln in lines) for sep in (",", "\t", "，"))


# --- OLE2 compound files: .xls, .et, encrypted .xlsx, .doc ----------------------------------

def _check_ole(path: Path, ext: str) -> list[Issue]:
    try:
        names = ole_stream_names(path.read_bytes())
    except ValueError as e:
        return [issue("F008", detail=f"OLE 复合文件结构损坏：{e}")]
    if names & {"EncryptionInfo", "EncryptedPackage"}:
        return [issue("F007")]
    if names & {"Workbook", "Book"}:
        if ext in (".et", ".ett") or "ETExtData" in names:
            return [issue("F003")]
        return [issue("F002", form="Excel 97-2003 .xls")]
    if "WordDocument" in names:
        return [issue("F001", kind="Word 97-2003 文档（.doc/.wps）")]
    if "PowerPoint Document" in names:
        return [issue("F001", kind="PowerPoint 97-2003 演示文稿")]
    return [issue("F001", kind="OLE 复合文档")]


def ole_stream_names(data: bytes) -> set[str]:
    """Names of all entries in a compound file's directory (MS-CFB), read by hand, bounded."""
    if len(data) < 512 or not data.startswith(OLE_MAGIC):
        raise ValueError("文件头不完整")
    shift, = struct.unpack_from("<H", data, 0x1E)
    if shift not in (9, 12):
        raise ValueError(f"扇区大小无效 {shift}")
    ssize = 1 << shift
    n_fat, first_dir = struct.unpack_from("<II", data, 0x2C)
    fat_sectors = list(struct.unpack_from("<109I", data, 0x4C))[:min(n_fat, 109)]
    fat: list[int] = []
    for sid in fat_sectors:
        fat.extend(struct.unpack("<%dI" % (ssize // 4), _sector(data, sid, ssize)))
    names, sid, seen = set(), first_dir, set()
    while sid < 0xFFFFFFFA:
        if sid in seen or sid >= len(fat):
            raise ValueError("目录链断裂")
        seen.add(sid)
        sector = _sector(data, sid, ssize)
        for off in range(0, ssize, 128):
            name_len, kind = struct.unpack_from("<HB", sector, off + 64)
            if kind in (1, 2, 5) and 2 <= name_len <= 64:
                names.add(sector[off:off + name_len - 2].decode("utf-16-le", "replace"))
        sid = fat[sid]
    return names


def _sector(data: bytes, sid: int, ssize: int) -> bytes:
    start = (sid + 1) * ssize
    if start + ssize > len(data):
        raise ValueError(f"扇区 {sid} 超出文件末尾")
    return data[start:start + ssize]


# --- zip packages: .xlsx and look-alikes (see package.py) ------------------------------------

def _check_package(path: Path, keep: dict | None = None) -> list[Issue]:
    try:
        with zipfile.ZipFile(path) as zf:
            return check_open_package(zf, keep)
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError,
            NotImplementedError, RuntimeError) as e:
        return [issue("F008", detail=_zip_error_text(e))]


def _zip_error_text(e: Exception) -> str:
    text = str(e)
    if "CRC" in text:
        return "校验值不符"
    if isinstance(e, zlib.error) or "decompress" in text.lower():
        return "压缩数据损坏"
    if isinstance(e, EOFError) or "not a zip file" in text or "Truncated" in text:
        return "文件被截断或目录区损坏"
    return "ZIP 结构损坏"
