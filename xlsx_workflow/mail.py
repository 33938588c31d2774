"""Stage `mail`: one .eml draft per unit (its workbook and contact form attached), a 发送清单,
and — with `send_mail` — delivery over SMTP recorded in the ledger.

Drafts are deterministic (fixed MIME boundary and Message-ID derived from the attachments), so a
re-run rewrites the same bytes. A unit is never mailed twice with the same attachments: every
delivery is recorded in the ledger's `mail` table (kind "send") with the attachments' digest, and
a later `--send` skips units whose digest was already delivered. The password is passed in by the
caller (environment variable or prompt) and never written anywhere.

The follow-up messages (mail --feedback/--receipt/--remind/--results) reuse the templates,
message building and delivery here; followup.py plans them, outbox.py drafts and sends them.
"""
from __future__ import annotations

import hashlib
import json
import re
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate
from pathlib import Path
from typing import Callable, Optional

from .campaign import Campaign, deadline_for, load_campaign
from .contacts import Contact, contact_directory, valid_email, write_table
from .layout import sanitise
from .messages import Issue, WorkflowError, issue
from .mimenames import POLICY, attach
from .transport import LOOPBACK, SendFailure, SmtpClient, SmtpSettings
from .workbook.sheets import cn_date

BUILTIN_TEMPLATES = Path(__file__).parent / "templates" / "mail"
TEMPLATE = "notice.txt.j2"
KIND_SEND = "send"
SENT, FAILED = "sent", "failed"
XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")
LIST_COLUMNS = [("单位", 20), ("收件人", 34), ("主题", 46), ("附件", 50), ("状态", 30)]


@dataclass
class Draft:
    unit_code: str
    unit_name: str
    to: str = ""                 # "姓名 <email>" or ""
    subject: str = ""
    path: Optional[Path] = None  # the .eml draft
    attachments: list = field(default_factory=list)  # [Path]
    digest: str = ""             # sha256 over the attachments' names and contents
    message_id: str = ""
    status: str = ""             # 发送清单's 状态, in Chinese

    def to_json(self) -> dict:
        return {"unit_code": self.unit_code, "unit_name": self.unit_name, "to": self.to,
                "subject": self.subject, "path": str(self.path) if self.path else None,
                "attachments": [str(p) for p in self.attachments], "status": self.status}


@dataclass
class MailResult:
    drafts: list[Draft] = field(default_factory=list)
    list_file: Optional[Path] = None
    sent: list[str] = field(default_factory=list)     # unit codes delivered in this run
    skipped: list[str] = field(default_factory=list)  # delivered earlier with these attachments
    failed: list[str] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    errors: list[Issue] = field(default_factory=list)

    @property
    def pending(self) -> list[Draft]:
        """Drafts that a --send would deliver."""
        return [d for d in self.drafts if d.path and d.unit_code not in self.skipped]

    def to_json(self) -> dict:
        files = [str(d.path) for d in self.drafts if d.path] + \
            ([str(self.list_file)] if self.list_file else [])
        return {"drafts": [d.to_json() for d in self.drafts], "list": str(self.list_file),
                "files": files, "sent": self.sent, "skipped": self.skipped, "failed": self.failed,
                "warnings": [w.to_dict() for w in self.warnings],
                "errors": [e.to_dict() for e in self.errors]}


# --- drafts -----------------------------------------------------------------------------------

def prepare_mail(dir) -> MailResult:
    """Dry run: write every unit's draft and the 发送清单; nothing is sent."""
    campaign = load_campaign(dir)
    result = _drafts(campaign)
    _mark_already_sent(campaign, result)
    result.list_file = _write_list(campaign, result.drafts)
    return result


def _drafts(campaign: Campaign) -> MailResult:
    if not valid_email(campaign.office.email):
        raise WorkflowError([issue("M003", str(campaign.layout.campaign_file))])
    template = _template(campaign)
    result = MailResult(warnings=list(campaign.warnings))
    out = campaign.layout.mail_drafts_dir
    out.mkdir(parents=True, exist_ok=True)
    for contact in contact_directory(campaign):
        draft = Draft(contact.unit_code, contact.unit_name)
        result.drafts.append(draft)
        if not contact.email:
            draft.status = "缺少邮箱，未生成邮件"
            result.warnings.append(issue("M001", "联系人名录",
                                         unit=f"{contact.unit_code} {contact.unit_name}"))
            continue
        missing = _attachments(campaign, contact, draft)
        if missing:
            result.errors += missing
            draft.status = "缺少附件，未生成邮件"
            continue
        message = _message(campaign, template, contact, draft)
        draft.path = out / (sanitise(f"{contact.unit_code}-{contact.unit_name}") + ".eml")
        _write_atomic(draft.path, message.as_bytes(policy=POLICY))
        draft.status = "待发送"
    return result


def _attachments(campaign: Campaign, contact: Contact, draft: Draft) -> list[Issue]:
    lay, errors = campaign.layout, []
    for what, path in (("自评表", lay.workbook_path(contact.unit_code, contact.unit_name)),
                       ("联系人信息表", lay.contact_form_path(contact.unit_code, contact.unit_name))):
        if path.is_file():
            draft.attachments.append(path)
        else:
            errors.append(issue("M002", str(path.parent), unit=f"{contact.unit_code} "
                                f"{contact.unit_name}", what=what, path=path.name))
    digest = hashlib.sha256()
    for path in draft.attachments:
        digest.update(path.name.encode("utf-8") + b"\0" + hashlib.sha256(path.read_bytes()).digest())
    draft.digest = digest.hexdigest()
    return errors


def _template(campaign: Campaign, name: str = TEMPLATE):
    """The office's template (DIR/templates/mail/) when there is one, else the built-in."""
    import jinja2
    own = campaign.layout.mail_templates_dir
    folder = own if (own / name).is_file() else BUILTIN_TEMPLATES
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(folder)), autoescape=False,
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
    try:
        return env.get_template(name)
    except jinja2.TemplateError as e:
        raise WorkflowError([issue("M004", path=str(folder / name), detail=_short(e))])


def copy_template(dir, names: tuple = (TEMPLATE,)) -> list[Path]:
    """Put the built-in templates `names` into DIR/templates/mail/ for the office to edit (an
    existing copy is kept); returns their paths."""
    folder = load_campaign(dir).layout.mail_templates_dir
    out = []
    for name in names:
        target = folder / name
        if not target.is_file():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes((BUILTIN_TEMPLATES / name).read_bytes())
        out.append(target)
    return out


def render(campaign: Campaign, template, contact: Contact, names: list[str],
           extra: Optional[dict] = None) -> tuple[str, str]:
    """(subject, body) of one unit's mail; the template's first line is “主题：…”. `extra`:
    the values a follow-up message adds (receipt, reminder …)."""
    import jinja2
    office = campaign.office
    values = {"title": campaign.title, "year": campaign.year,
              "unit": {"name": contact.unit_name, "code": contact.unit_code},
              "contact": {"name": contact.name, "email": contact.email},
              "deadlines": {k: cn_date(v) for k, v in campaign.deadlines.items()},
              "deadline": cn_date(deadline_for(campaign, contact.unit_code)),
              "contact_deadline": cn_date(deadline_for(campaign, contact.unit_code, "contact")),
              "passed": _passed(campaign, contact.unit_code),
              "office": dict(office.__dict__), "attachments": names, **(extra or {})}
    try:
        text = template.render(**values)
    except jinja2.TemplateError as e:
        raise WorkflowError([issue("M004", path=str(template.filename), detail=_short(e))])
    lines = text.lstrip("\n").split("\n")
    head = re.match(r"^\s*(?:主题|Subject)\s*[:：]\s*(.*)$", lines[0])
    if not head or not head.group(1).strip():
        raise WorkflowError([issue("M004", path=str(template.filename),
                                   detail="第一行应为“主题：邮件主题”")])
    return head.group(1).strip(), "\n".join(lines[1:]).strip("\n") + "\n"


def _passed(campaign: Campaign, unit_code: str) -> dict:
    """Which of the unit's own deadlines are already past today (the notice then asks for the
    form “尽快”, not “before” a past date)."""
    from datetime import date
    today = date.today()
    days = {kind: deadline_for(campaign, unit_code, kind) for kind in ("materials", "contact")}
    return {kind: bool(day and day < today) for kind, day in days.items()}


def _message(campaign: Campaign, template, contact: Contact, draft: Draft,
             extra: Optional[dict] = None) -> EmailMessage:
    """The unit's message; `extra`: the follow-up values for the template (see followup.py)."""
    names = [p.name for p in draft.attachments]
    subject, body = render(campaign, template, contact, names, extra)
    office = campaign.office
    domain = office.email.rsplit("@", 1)[1]
    draft.subject, draft.to = subject, contact.address
    # short enough never to be folded; the digest covers the attachments, which carry the
    # campaign's identity
    draft.message_id = f"<xw.{_token(contact.unit_code)[:20]}.{draft.digest[:20]}@{domain}>"
    msg = EmailMessage(policy=policy.SMTP)
    msg["From"] = Address(office.name or "", addr_spec=office.email)
    msg["To"] = contact.address
    msg["Subject"] = subject
    msg["Message-ID"] = draft.message_id
    msg["X-Unsent"] = "1"  # Outlook opens the .eml as a draft ready to send, not as received mail
    msg.set_content(body, charset="utf-8")
    for path in draft.attachments:  # the Chinese name in RFC 2231 and RFC 2047 both
        attach(msg, path.read_bytes(), XLSX_TYPE[0], XLSX_TYPE[1], path.name)
    if msg.is_multipart():
        msg.set_boundary(f"==xw-{draft.digest[:32]}==")  # deterministic drafts
    return msg


def _token(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9-]", "-", text) or "x"


def _write_atomic(path: Path, data: bytes) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    tmp.replace(path)


def _write_list(campaign: Campaign, drafts: list[Draft]) -> Path:
    rows = [[f"{d.unit_code} {d.unit_name}", d.to, d.subject,
             "\n".join(p.name for p in d.attachments), d.status] for d in drafts]
    return write_table(campaign.layout.mail_list_file, "发送清单", LIST_COLUMNS, rows, campaign,
                       f"{campaign.title}邮件发送清单")


def _short(e: Exception) -> str:
    return f"{type(e).__name__}: {e}"[:300]


# --- the ledger's record of deliveries --------------------------------------------------------

def _ledger(campaign: Campaign):
    from .ledger import Ledger
    return Ledger(campaign.layout.ledger_file, campaign.deadlines.get("materials"))


def _delivered(ledger, unit_code: str, digest: str) -> Optional[dict]:
    """The earlier delivery of the same attachments to this unit, if any."""
    for row in ledger.db.execute("SELECT at, detail FROM mail WHERE unit_code = ? AND kind = ?"
                                 " AND status = ? ORDER BY id", (unit_code, KIND_SEND, SENT)):
        detail = json.loads(row["detail"] or "{}")
        if detail.get("digest") == digest:
            return {"at": row["at"], **detail}
    return None


def record(ledger, unit_code: str, kind: str, message_id: str, status: str, detail: dict) -> None:
    """One row of the ledger's mail table (its own transaction)."""
    ledger.db.execute(
        "INSERT INTO mail (unit_code, kind, message_id, status, at, detail)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (unit_code, kind, message_id, status,
         datetime.now(timezone.utc).isoformat(timespec="seconds"),
         json.dumps(detail, ensure_ascii=False, sort_keys=True)))


def _mark_already_sent(campaign: Campaign, result: MailResult) -> None:
    if not campaign.layout.ledger_file.is_file():
        return
    with _ledger(campaign) as ledger:
        for d in result.drafts:
            earlier = d.path and _delivered(ledger, d.unit_code, d.digest)
            if earlier:
                at = _local(earlier["at"])
                d.status = f"已于{at}发送，附件未变，不再重发"
                result.skipped.append(d.unit_code)
                result.warnings.append(issue("M009", d.unit_code, unit=f"{d.unit_code} "
                                             f"{d.unit_name}", at=at, to=earlier.get("to")))


def _local(stamp: str) -> str:
    try:
        return datetime.fromisoformat(stamp).astimezone().strftime("%Y-%m-%d %H:%M")
    except ValueError:
        return stamp


# --- sending ----------------------------------------------------------------------------------

def send_mail(dir, settings: SmtpSettings, sleep: Callable[[float], None] = time.sleep,
              progress: Optional[Callable[[int, int], None]] = None) -> MailResult:
    """Write the drafts, then deliver those not yet delivered, one by one, pausing between them;
    each outcome goes into the ledger at once. Raises WorkflowError when the server cannot be
    reached or refuses the login (nothing more could be sent)."""
    if settings.security == "plain" and settings.host not in LOOPBACK:
        raise WorkflowError([issue("M005", host=settings.host)])
    campaign = load_campaign(dir)
    result = _drafts(campaign)
    _mark_already_sent(campaign, result)
    todo = result.pending
    smtp = SmtpClient(settings, sleep)
    try:
        with _ledger(campaign) as ledger:
            for n, draft in enumerate(todo):
                if n:
                    sleep(settings.pause)
                _send_one(campaign, smtp, ledger, draft, result)
                if progress:
                    progress(n + 1, len(todo))
    finally:
        smtp.close()
        result.list_file = _write_list(campaign, result.drafts)
    return result


def _send_one(campaign: Campaign, smtp: SmtpClient, ledger, draft: Draft, result: MailResult,
              note: Optional[Callable[[str, dict], None]] = None) -> None:
    """Deliver one draft; `note(status, detail)` records the outcome (default: the mail table,
    kind "send"; follow-ups record into the messages table)."""
    from email import message_from_bytes
    note = note or (lambda status, detail: record(ledger, draft.unit_code, KIND_SEND,
                                                  draft.message_id, status, detail))
    msg = message_from_bytes(draft.path.read_bytes(), policy=POLICY)
    del msg["X-Unsent"], msg["Date"]
    msg["Date"] = formatdate(localtime=True)
    detail = {"to": draft.to, "subject": draft.subject, "digest": draft.digest,
              "attachments": [p.name for p in draft.attachments]}
    unit = f"{draft.unit_code} {draft.unit_name}"
    try:
        attempts = smtp.send(msg, campaign.office.email, [_addr(draft.to)])
    except SendFailure as f:
        note(FAILED, {**detail, "attempts": f.attempts, "error": f.detail})
        if f.never_connected and not result.sent:
            raise WorkflowError([issue("M010", host=smtp.s.host, port=smtp.s.port_or_default,
                                       detail=f.detail)])
        code = "M007" if f.temporary else "M008"
        result.errors.append(issue(code, draft.unit_code, unit=unit, to=draft.to,
                                   detail=f.detail, tries=f.attempts))
        result.failed.append(draft.unit_code)
        draft.status = f"发送失败：{f.detail}"
        return
    note(SENT, {**detail, "attempts": attempts})
    result.sent.append(draft.unit_code)
    draft.status = f"已于{datetime.now().strftime('%Y-%m-%d %H:%M')}发送"


def _addr(to: str) -> str:
    from email.utils import parseaddr
    return parseaddr(to)[1]


