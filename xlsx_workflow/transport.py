"""The mail servers, as the mail and fetch stages use them: SMTP delivery with retries on
temporary failure, and an IMAP folder opened read-only.

Connections are always encrypted (implicit TLS, or STARTTLS) except to this computer
(127.0.0.1, for tests). Passwords are held in memory only. Non-ASCII passwords go through
AUTH/AUTHENTICATE PLAIN in UTF-8, since smtplib's and imaplib's LOGIN take ASCII only.
"""
from __future__ import annotations

import base64
import contextlib
import imaplib
import re
import smtplib
import socket
import ssl
import time
from dataclasses import dataclass
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from typing import Callable, Optional

from .messages import WorkflowError, issue

LOOPBACK = {"127.0.0.1", "::1", "localhost"}
MAX_MESSAGE = 200 * 1024 * 1024  # a message larger than this is not downloaded
_UID = re.compile(rb"UID (\d+)")


def _short(e: Exception) -> str:
    return f"{type(e).__name__}: {e}"[:300]


# --- SMTP -------------------------------------------------------------------------------------

@dataclass
class SmtpSettings:
    host: str
    port: Optional[int] = None
    security: str = "ssl"        # "ssl" (implicit TLS), "starttls", or "plain" (loopback only)
    user: Optional[str] = None
    password: Optional[str] = None
    pause: float = 5.0           # seconds between messages; retries wait pause × 2, × 4, …
    retries: int = 3             # further attempts after a temporary failure
    timeout: float = 60.0

    @property
    def port_or_default(self) -> int:
        return self.port or {"ssl": 465, "starttls": 587}.get(self.security, 25)


class SendFailure(Exception):
    """A message that could not be delivered (after its retries, when the failure was temporary)."""

    def __init__(self, detail: str, temporary: bool, attempts: int, never_connected: bool):
        super().__init__(detail)
        self.detail, self.temporary, self.attempts = detail, temporary, attempts
        self.never_connected = never_connected


class SmtpClient:
    """One SMTP connection, opened on first use and re-opened after a failure."""

    def __init__(self, settings: SmtpSettings, sleep: Callable[[float], None]):
        self.s, self.sleep = settings, sleep
        self.conn: Optional[smtplib.SMTP] = None
        self.connected_once = False

    def send(self, msg: EmailMessage, sender: str, recipients: list[str]) -> int:
        """Deliver with retries on temporary failure; returns the number of attempts."""
        for attempt in range(1, self.s.retries + 2):
            try:
                if self.conn is None:
                    self.conn = self._connect()
                self.conn.send_message(msg, sender, recipients)
                return attempt
            except smtplib.SMTPAuthenticationError as e:
                raise WorkflowError([issue("M006", host=self.s.host, detail=_smtp_text(e))])
            except (smtplib.SMTPException, OSError) as e:
                temporary = _temporary(e)
                self.close()
                if not temporary or attempt > self.s.retries:
                    raise SendFailure(_smtp_text(e), temporary, attempt, not self.connected_once)
                self.sleep(self.s.pause * 2 ** attempt)
        raise AssertionError("unreachable")

    def _connect(self) -> smtplib.SMTP:
        s = self.s
        context = ssl.create_default_context()
        if s.security == "ssl":
            conn = smtplib.SMTP_SSL(s.host, s.port_or_default, timeout=s.timeout, context=context)
        else:
            conn = smtplib.SMTP(s.host, s.port_or_default, timeout=s.timeout)
            if s.security == "starttls":
                conn.starttls(context=context)
        if s.user:
            _login(conn, s.user, s.password or "")
        self.connected_once = True
        return conn

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.quit()
            except (smtplib.SMTPException, OSError):
                self.conn.close()
            self.conn = None


def _login(conn: smtplib.SMTP, user: str, password: str) -> None:
    """smtplib's login only takes ASCII; AUTH PLAIN is UTF-8 (RFC 4616), so a non-ASCII
    password goes that way."""
    if (user + password).isascii():
        conn.login(user, password)
        return
    conn.ehlo_or_helo_if_needed()
    token = base64.b64encode(f"\0{user}\0{password}".encode("utf-8")).decode("ascii")
    code, resp = conn.docmd("AUTH", "PLAIN " + token)
    if code != 235:
        raise smtplib.SMTPAuthenticationError(code, resp)


def _temporary(e: Exception) -> bool:
    """4xx replies, dropped connections and timeouts are worth retrying; 5xx and TLS are not."""
    if isinstance(e, smtplib.SMTPRecipientsRefused):
        return all(400 <= code < 500 for code, _ in e.recipients.values())
    if isinstance(e, smtplib.SMTPResponseException):
        return 400 <= e.smtp_code < 500
    if isinstance(e, (ssl.SSLError, ssl.CertificateError)):
        return False
    return isinstance(e, (smtplib.SMTPServerDisconnected, ConnectionError, socket.timeout,
                          OSError))


def _smtp_text(e: Exception) -> str:
    if isinstance(e, smtplib.SMTPResponseException):
        text = e.smtp_error.decode("utf-8", "replace") if isinstance(e.smtp_error, bytes) \
            else str(e.smtp_error)
        return f"{e.smtp_code} {text}"[:300]
    if isinstance(e, smtplib.SMTPRecipientsRefused):
        return "; ".join(f"{a}: {c} {m.decode('utf-8', 'replace') if isinstance(m, bytes) else m}"
                         for a, (c, m) in e.recipients.items())[:300]
    return _short(e)


# --- IMAP -------------------------------------------------------------------------------------

@dataclass
class ImapSettings:
    host: str
    user: str
    password: str = ""
    port: Optional[int] = None
    ssl: bool = True          # False: STARTTLS, or plain text to 127.0.0.1 only
    folder: str = "INBOX"
    timeout: float = 60.0

    @property
    def port_or_default(self) -> int:
        return self.port or (993 if self.ssl else 143)


class Mailbox:
    """An IMAP folder opened read-only (EXAMINE): nothing is flagged, moved or deleted."""

    def __init__(self, s: ImapSettings):
        self.s = s
        self.conn: Optional[imaplib.IMAP4] = None

    def __enter__(self) -> "Mailbox":
        s = self.s
        try:
            self.conn = self._connect()
        except (OSError, imaplib.IMAP4.error) as e:
            raise WorkflowError([issue("M010", host=s.host, port=s.port_or_default,
                                       detail=_text(e))])
        try:
            if (s.user + s.password).isascii():
                self.conn.login(s.user, s.password)
            else:  # LOGIN takes ASCII only; AUTHENTICATE PLAIN is UTF-8 (RFC 4616)
                token = f"\0{s.user}\0{s.password}".encode("utf-8")
                self.conn.authenticate("PLAIN", lambda _: token)
        except imaplib.IMAP4.error as e:
            self.close()
            raise WorkflowError([issue("M006", host=s.host, detail=_text(e))])
        self._identify()
        typ, data = self.conn.select(_quote(s.folder), readonly=True)
        if typ != "OK":
            self.close()
            raise WorkflowError([issue("M011", folder=s.folder, detail=_text(data))])
        return self

    def _connect(self) -> imaplib.IMAP4:
        s = self.s
        context = ssl.create_default_context()
        if s.ssl:
            return imaplib.IMAP4_SSL(s.host, s.port_or_default, ssl_context=context,
                                     timeout=s.timeout)
        conn = imaplib.IMAP4(s.host, s.port_or_default, timeout=s.timeout)
        if "STARTTLS" in conn.capabilities:
            try:
                conn.starttls(ssl_context=context)
            except (OSError, imaplib.IMAP4.error):  # e.g. a certificate refused: close, then say
                with contextlib.suppress(OSError):
                    conn.shutdown()
                raise
        elif s.host not in LOOPBACK:
            conn.shutdown()
            raise WorkflowError([issue("M005", host=s.host)])
        return conn

    def _identify(self) -> None:
        """IMAP ID (RFC 2971): 163/126 mail refuse SELECT (“Unsafe Login”) to clients that do
        not say who they are."""
        imaplib.Commands.setdefault("ID", ("NONAUTH", "AUTH", "SELECTED"))
        if "ID" in self.conn.capabilities:
            try:
                self.conn._simple_command("ID", '("name" "xlsx-workflow" "version" "1")')
            except imaplib.IMAP4.error:
                pass  # only a courtesy to the server

    def uids(self) -> list[bytes]:
        typ, data = self.conn.uid("SEARCH", None, "ALL")
        return data[0].split() if typ == "OK" and data and data[0] else []

    def message_ids(self, uids: list[bytes]) -> dict[bytes, Optional[str]]:
        """uid → Message-ID (None when the message has none), from the headers alone."""
        out: dict[bytes, Optional[str]] = {}
        for start in range(0, len(uids), 200):
            chunk = b",".join(uids[start:start + 200]).decode()
            typ, data = self.conn.uid("FETCH", chunk,
                                      "(UID BODY.PEEK[HEADER.FIELDS (MESSAGE-ID)])")
            for item in data if typ == "OK" else []:
                if isinstance(item, tuple) and (m := _UID.search(item[0])):
                    head = BytesParser(policy=policy.default).parsebytes(item[1])
                    mid = str(head.get("Message-ID", "") or "").strip()
                    out[m.group(1)] = mid or None
        return out

    def message(self, uid: bytes) -> tuple[bytes, Optional[datetime]]:
        """(the whole message, when the office's server received it); (b"", None) when it is
        gone or larger than MAX_MESSAGE (checked before downloading)."""
        typ, data = self.conn.uid("FETCH", uid.decode(), "(RFC822.SIZE INTERNALDATE)")
        head = next((x if isinstance(x, bytes) else x[0] for x in data or [] if x), b"") \
            if typ == "OK" else b""
        size = re.search(rb"RFC822\.SIZE (\d+)", head)
        if not size or int(size.group(1)) > MAX_MESSAGE:
            return b"", None
        arrived = imaplib.Internaldate2tuple(head)
        received = datetime.fromtimestamp(time.mktime(arrived)).astimezone() if arrived else None
        typ, data = self.conn.uid("FETCH", uid.decode(), "(BODY.PEEK[])")
        raw = next((x[1] for x in data or [] if isinstance(x, tuple)), b"") if typ == "OK" else b""
        return raw, received

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.logout()
            except (OSError, imaplib.IMAP4.error):  # the server went first: close our end
                with contextlib.suppress(OSError):
                    self.conn.shutdown()
            self.conn = None

    def __exit__(self, *exc) -> None:
        self.close()


def _quote(folder: str) -> str:
    """A mailbox name as IMAP wants it: modified UTF-7 (RFC 3501 5.1.3) for Chinese folder
    names such as “其他文件夹”, quoted."""
    out, run = [], ""
    for ch in folder + "\0":
        if 0x20 <= ord(ch) <= 0x7e or ch == "\0":
            if run:
                b64 = base64.b64encode(run.encode("utf-16-be")).decode().rstrip("=")
                out.append("&" + b64.replace("/", ",") + "-")
                run = ""
            out.append("&-" if ch == "&" else ch if ch != "\0" else "")
        else:
            run += ch
    text = "".join(out)
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _text(e) -> str:
    if isinstance(e, list):
        e = b" ".join(x for x in e if isinstance(x, bytes))
    if isinstance(e, bytes):
        return e.decode("utf-8", "replace")[:300]
    return f"{type(e).__name__}: {e}"[:300] if isinstance(e, Exception) else str(e)[:300]
