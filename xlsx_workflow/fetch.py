"""Stage `fetch`: pull the units' replies from the office mailbox (IMAP) and import them.

Each new message (by Message-ID; the ledger's `mail` table, kind "fetched", remembers them) is
saved whole as `DIR/inbox/<date>-<hash>.eml` and its attachments into `DIR/inbox/<date>-<hash>/`
with their decoded Chinese names; the folder is then imported like any return, received at the
time the office's server received it. The mailbox is opened read-only (nothing is marked read or moved). When the
import identifies the unit, the sender is compared with the unit's registered email (M012).

`extract_eml` does the same for a saved .eml file, so `import` can take them directly.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import datetime
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from email.utils import parseaddr, parsedate_to_datetime
from pathlib import Path
from typing import Callable, Optional

from .campaign import Campaign, load_campaign
from .layout import sanitise
from .messages import Issue, WorkflowError, issue
from .mimenames import attachment_name
from .transport import ImapSettings, Mailbox

KIND_FETCHED = "fetched"
IMPORTED, NO_ATTACHMENT = "imported", "no-attachment"


@dataclass
class Fetched:
    """One new message and what became of it."""
    message_id: str
    sender: str
    subject: str
    date: Optional[datetime]
    eml: Optional[Path] = None
    folder: Optional[Path] = None
    files: list = field(default_factory=list)   # [Path] saved attachments
    units: list = field(default_factory=list)   # unit codes the import recognised
    status: str = IMPORTED

    def to_json(self) -> dict:
        return {"message_id": self.message_id, "sender": self.sender, "subject": self.subject,
                "date": self.date.isoformat() if self.date else None,
                "eml": str(self.eml) if self.eml else None,
                "folder": str(self.folder) if self.folder else None,
                "files": [str(p) for p in self.files], "units": self.units,
                "status": self.status}


@dataclass
class FetchResult:
    messages: list[Fetched] = field(default_factory=list)
    seen: int = 0                       # messages in the folder already fetched before
    imports: list = field(default_factory=list)  # ImportResult.to_json() per message
    warnings: list[Issue] = field(default_factory=list)

    def to_json(self) -> dict:
        files = [str(p) for m in self.messages for p in ([m.eml] if m.eml else []) + m.files]
        return {"messages": [m.to_json() for m in self.messages], "already_fetched": self.seen,
                "imports": self.imports, "files": files,
                "warnings": [w.to_dict() for w in self.warnings]}


# --- attachments ------------------------------------------------------------------------------

def parse_message(raw: bytes) -> EmailMessage:
    return BytesParser(policy=policy.default).parsebytes(raw)


def extract_eml(path, dest_dir) -> list[Path]:
    """Save the attachments of the saved message `path` into `dest_dir`; raises WorkflowError
    (M014) when the file is not a readable message."""
    path = Path(path)
    try:
        raw = path.read_bytes()
        msg = parse_message(raw)
    except (OSError, ValueError, LookupError) as e:
        raise WorkflowError([issue("M014", path=str(path), detail=f"{type(e).__name__}: {e}"[:200])])
    if not msg.keys():
        raise WorkflowError([issue("M014", path=str(path), detail="没有邮件头")])
    return save_attachments(msg, Path(dest_dir))


def expand_eml_paths(paths: list, work_dir) -> list[Path]:
    """`paths` with every .eml file replaced by a folder of its attachments under `work_dir`,
    named like the message (`回复.eml/附件.xlsx`, as a zip's members are); what `import` calls
    before collecting, so saved messages can be imported directly."""
    out = []
    for n, p in enumerate(Path(x) for x in paths):
        if p.is_file() and p.suffix.lower() == ".eml":
            dest = Path(work_dir) / f"{n:03d}" / sanitise(p.name)
            extract_eml(p, dest)
            out.append(dest)
        else:
            out.append(p)
    return out


def save_attachments(msg: EmailMessage, dest: Path) -> list[Path]:
    """Every attachment (forwarded messages opened too) under its decoded, sanitised name;
    a repeated name gets “(2)”."""
    dest.mkdir(parents=True, exist_ok=True)
    out: list[Path] = []
    for n, part in enumerate(_attachment_parts(msg), 1):
        data = part.get_payload(decode=True)
        if data is None:
            continue
        name = _unique(dest, sanitise(_filename(part, n)), out)
        target = dest / name
        tmp = dest / f".{name}.part"
        tmp.write_bytes(data)
        tmp.replace(target)
        out.append(target)
    return out


def _attachment_parts(msg: EmailMessage):
    for part in msg.iter_attachments() if msg.is_multipart() else []:
        if part.get_content_type() == "message/rfc822":  # a forwarded reply: its attachments
            inner = part.get_payload()
            for m in (inner if isinstance(inner, list) else [inner]):
                yield from _attachment_parts(m)
        elif part.is_multipart():
            yield from _attachment_parts(part)
        else:
            yield part
    if not msg.is_multipart() and msg.get_content_disposition() == "attachment":
        yield msg  # a message that is nothing but one attached file


def _filename(part, n: int) -> str:
    """The decoded name (mimenames.attachment_name), never a path; “附件n.ext” when it has none."""
    name = Path(attachment_name(part).replace("\\", "/")).name.strip()
    if not name:
        import mimetypes
        ext = mimetypes.guess_extension(part.get_content_type()) or ".bin"
        name = f"附件{n}{ext}"
    return name


def _unique(dest: Path, name: str, taken: list[Path]) -> str:
    stem, suffix = Path(name).stem, Path(name).suffix
    candidate, k = name, 1
    while (dest / candidate) in taken:
        k += 1
        candidate = f"{stem}({k}){suffix}"
    return candidate


# --- the mailbox ------------------------------------------------------------------------------

def fetch_mail(dir, settings: ImapSettings, jobs: int = 2,
               progress: Optional[Callable[[int, int], None]] = None) -> FetchResult:
    """Download the new messages of `settings.folder`, save and import their attachments, and
    remember their Message-IDs; a second run changes nothing."""
    campaign = load_campaign(dir)
    known = _known_ids(campaign)
    result = FetchResult(warnings=list(campaign.warnings))
    with Mailbox(settings) as box:
        uids = box.uids()
        ids = box.message_ids(uids)
        new = [u for u in uids if ids.get(u) is None or ids[u] not in known]
        result.seen = len(uids) - len(new)
        for n, uid in enumerate(new, 1):
            raw, received = box.message(uid)
            if not raw:  # vanished meanwhile, or larger than MAX_MESSAGE
                continue
            msg_id = ids.get(uid) or f"<sha256.{hashlib.sha256(raw).hexdigest()[:32]}@xw>"
            if msg_id in known:
                result.seen += 1
                continue
            _take(campaign, raw, msg_id, received, result, jobs)
            known.add(msg_id)
            if progress:
                progress(n, len(new))
    return result


def _take(campaign: Campaign, raw: bytes, msg_id: str, received: Optional[datetime],
          result: FetchResult, jobs: int) -> None:
    """Save, import and record one message (recorded last: a crash means fetching it again).
    Received = when the office's server got it (IMAP INTERNALDATE), which the sender cannot set;
    the Date header only when the server gives none."""
    msg = parse_message(raw)
    sender = parseaddr(str(msg.get("From", "")))[1].lower()
    subject = str(msg.get("Subject", "") or "")
    date = received or _date(msg)
    stem = f"{(date or datetime.now().astimezone()):%Y%m%d}-{hashlib.sha256(msg_id.encode()).hexdigest()[:10]}"
    inbox = campaign.layout.inbox_dir
    inbox.mkdir(parents=True, exist_ok=True)
    got = Fetched(msg_id, sender, subject, date, eml=inbox / f"{stem}.eml")
    tmp = inbox / f".{stem}.eml.part"
    tmp.write_bytes(raw)
    tmp.replace(got.eml)
    got.files = save_attachments(msg, inbox / stem)
    if got.files:
        got.folder = inbox / stem
        _import(campaign, got, result, jobs)
    else:
        got.status = NO_ATTACHMENT
        (inbox / stem).rmdir()
        result.warnings.append(issue("M013", got.eml.name, subject=subject or "（无主题）",
                                     sender=sender or "（未知）"))
    _record(campaign, got)
    result.messages.append(got)


def _import(campaign: Campaign, got: Fetched, result: FetchResult, jobs: int) -> None:
    from .contacts import contact_directory
    from .importer import import_paths
    # the contacts as known before this message: a contact form in it must not vouch for itself
    contacts = {c.unit_code: c for c in contact_directory(campaign)}
    imported = import_paths(campaign.root, [got.folder], jobs=jobs, now=got.date)
    result.imports.append(imported.to_json())
    got.units = sorted({f.unit_code for f in imported.returns if f.unit_code})
    for code in got.units:
        expected = _registered(campaign, contacts.get(code), code)
        if expected and got.sender and got.sender not in expected:
            unit = next((f"{u.code} {u.name}" for u in campaign.units if u.code == code), code)
            result.warnings.append(issue("M012", got.eml.name, sender=got.sender, unit=unit,
                                         expected="、".join(sorted(expected))))


def _registered(campaign: Campaign, contact, code: str) -> set[str]:
    """The addresses the unit is known by: its contact (form or unit list) and units.csv."""
    out = {contact.email.lower()} if contact and contact.email else set()
    out |= {u.email.strip().lower() for u in campaign.units if u.code == code and u.email}
    return out


def _date(msg: EmailMessage) -> Optional[datetime]:
    try:
        d = parsedate_to_datetime(str(msg.get("Date", "")))
    except (TypeError, ValueError, IndexError):
        return None
    return d if d.tzinfo else d.astimezone()


def _known_ids(campaign: Campaign) -> set[str]:
    if not campaign.layout.ledger_file.is_file():
        return set()
    from .ledger import Ledger
    with Ledger(campaign.layout.ledger_file) as led:
        return {r[0] for r in led.db.execute(
            "SELECT message_id FROM mail WHERE kind = ? AND message_id IS NOT NULL",
            (KIND_FETCHED,))}


def _record(campaign: Campaign, got: Fetched) -> None:
    from .ledger import Ledger
    from .mail import record
    detail = {"from": got.sender, "subject": got.subject, "eml": got.eml.name,
              "files": [p.name for p in got.files],
              "date": got.date.isoformat() if got.date else None}
    with Ledger(campaign.layout.ledger_file, campaign.deadlines.get("materials")) as led:
        record(led, ",".join(got.units), KIND_FETCHED, got.message_id, got.status,
               {**detail, "units": got.units})


__all__ = ["Fetched", "FetchResult", "ImapSettings", "expand_eml_paths", "extract_eml",
           "fetch_mail", "parse_message", "save_attachments"]
