"""Attachment names that every mail client shows, in both directions.

Outgoing: RFC 2231 (`filename*=utf-8''…`) is what standards-minded clients read, but Outlook,
Windows Mail and older QQ mail only read RFC 2047 encoded words (`filename="=?utf-8?b?…?="`,
`name=` in Content-Type) and otherwise show “AT00001.bin”. So every attachment carries both.
The header lines are written verbatim (`POLICY` never refolds them: Python's folder would merge
the two `filename` parameters into one).

Incoming: besides RFC 2231 and RFC 2047 (any charset, GBK and GB18030 included), many Chinese
clients put raw GBK bytes into the header; those are decoded from the bytes instead of becoming
replacement characters.
"""
from __future__ import annotations

import base64
import re
import urllib.parse
from email import policy
from email.message import EmailMessage

# the generator keeps headers given as text exactly as written (each line stays within 998)
POLICY = policy.SMTP.clone(refold_source="none")
_WORD_BYTES = 36      # base64 of 36 bytes + "=?utf-8?b??=" = 60 characters, well under RFC 2047's 75
_LONG_2231 = 900      # longer RFC 2231 values are split into filename*0*, filename*1*, …
_CHUNK_2231 = 60
_RAW_BYTES = re.compile(r"[\udc80-\udcff]")


# --- outgoing --------------------------------------------------------------------------------

def attach(msg: EmailMessage, data: bytes, maintype: str, subtype: str, name: str) -> None:
    """Add `data` as an attachment named `name`, with the name in both encodings."""
    msg.add_attachment(data, maintype=maintype, subtype=subtype, filename=name)
    part = msg.get_payload()[-1]
    del part["Content-Type"], part["Content-Disposition"]
    words = encoded_words(name)
    part.set_raw("Content-Type", f"{maintype}/{subtype};\r\n name={words}")
    part.set_raw("Content-Disposition", "attachment;\r\n filename=" + words + ";\r\n "
                 + ";\r\n ".join(rfc2231_params("filename", name)))


def encoded_words(text: str) -> str:
    """`text` as a quoted string of RFC 2047 base64 words, one per folded line, never
    splitting a character between words."""
    chunks, cur = [], b""
    for ch in text:
        b = ch.encode("utf-8")
        if cur and len(cur) + len(b) > _WORD_BYTES:
            chunks.append(cur)
            cur = b""
        cur += b
    chunks.append(cur)
    words = ["=?utf-8?b?" + base64.b64encode(c).decode("ascii") + "?=" for c in chunks]
    return '"' + "\r\n ".join(words) + '"'


def rfc2231_params(param: str, text: str) -> list[str]:
    """`filename*=utf-8''…` (RFC 2231), split into numbered sections only when very long."""
    quoted = urllib.parse.quote(text, safe="")
    if len(quoted) <= _LONG_2231:
        return [f"{param}*=utf-8''{quoted}"]
    parts, cur = [], ""
    for ch in text:
        q = urllib.parse.quote(ch, safe="")
        if cur and len(cur) + len(q) > _CHUNK_2231:
            parts.append(cur)
            cur = ""
        cur += q
    parts.append(cur)
    return [f"{param}*{n}*=" + ("utf-8''" if n == 0 else "") + p for n, p in enumerate(parts)]


# --- incoming --------------------------------------------------------------------------------

def attachment_name(part) -> str:
    """The attachment's name as the sender meant it ('' when it has none): RFC 2231, RFC 2047
    in any charset, and raw 8-bit GBK/GB18030 or UTF-8 bytes in the header."""
    name = _from_raw_bytes(part)
    if name is None:
        name = _from_legacy_params(part)
    if name is None:
        name = part.get_filename() or part.get_param("name", header="content-type") or ""
        if isinstance(name, tuple):  # an RFC 2231 value the parser left undecoded
            name = _decode_2231(name)
    name = str(name)
    if "=?" in name:
        from email.header import decode_header, make_header
        try:
            name = str(make_header(decode_header(name)))
        except (LookupError, ValueError, UnicodeError):
            return name  # an undecodable encoded word: the name as received
    return name


def _from_raw_bytes(part):
    """The name from a header holding raw 8-bit bytes (kept by the parser as surrogates),
    decoded as UTF-8 or else GB18030 (a superset of GBK); None when no header has such bytes."""
    for header, param in (("content-disposition", "filename"), ("content-type", "name")):
        raw = next((v for k, v in part.raw_items() if k.lower() == header), None)
        if not isinstance(raw, str) or not _RAW_BYTES.search(raw):
            continue
        data = raw.encode("ascii", "surrogateescape")
        for charset in ("utf-8", "gb18030"):
            try:
                text = data.decode(charset)
                break
            except UnicodeDecodeError:
                continue
        else:
            continue
        value = policy.default.header_factory(header, text).params.get(param)
        if value:
            return value
    return None


def _from_legacy_params(part):
    """The name from the header as written, read the lenient (compat32) way: an RFC 2047 value
    quoted or not (`filename==?gb2312?B?…?=`, as some Chinese clients write it) and RFC 2231
    values, each decoded with `_codec` (so GBK bytes labelled gb2312 survive); None when
    neither header has such a value."""
    from email.message import Message
    for header, param in (("content-disposition", "filename"), ("content-type", "name")):
        raw = next((v for k, v in part.raw_items() if k.lower() == header), None)
        if not isinstance(raw, str):
            continue
        legacy = Message()
        legacy[header] = raw
        value = legacy.get_param(param, header=header)
        if isinstance(value, tuple):
            return _decode_2231(value)
        if isinstance(value, str) and "=?" in value:
            return _decode_words(value)
        if value:
            return None  # a plain name: the parser's reading stands
    return None


def _decode_words(value: str) -> str:
    from email.header import decode_header
    try:
        pieces = decode_header(value)
    except (ValueError, UnicodeError):
        return value
    return "".join(p if isinstance(p, str) else p.decode(_codec(cs or "ascii"), "replace")
                   for p, cs in pieces)


def _codec(charset: str) -> str:
    """GB2312 and GBK labels decode as GB18030, their superset: Chinese clients label mail
    gb2312 while writing GBK characters such as 浉 (浉河区), which strict GB2312 rejects."""
    name = charset.strip().lower().replace("_", "-")
    return "gb18030" if name in _GB_LABELS else charset


_GB_LABELS = frozenset({"gb2312", "gb-2312", "gb-2312-80", "csgb2312", "euc-cn", "gbk", "cp936",
                        "x-gbk", "ms936", "windows-936"})


def _decode_2231(value: tuple) -> str:
    charset, _, text = value
    try:
        return text.encode("latin-1").decode(_codec(charset or "utf-8"))
    except (LookupError, UnicodeError):
        return text
