"""`mail DIR --feedback/--receipt/--remind/--results`: drafts and delivery of the follow-up
messages that followup.py plans.

As for the notice: a dry run writes one .eml draft per message (DIR/mail/草稿/<种类>/, drafts of
messages no longer due are removed) and a 发送清单 per kind (DIR/mail/发送清单-<种类>.xlsx);
`--send` delivers the drafts over SMTP. Every attempt is recorded in the ledger's `messages`
table under (unit, kind, ref); a message delivered once keeps its draft but is never sent again.
"""
from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Callable, Optional

from .campaign import Campaign, load_campaign
from .contacts import contact_directory, valid_email, write_table
from .followup import DEFAULT_DAYS, KINDS, FollowUp, plan
from .layout import sanitise
from .mail import (LIST_COLUMNS, MailResult, _ledger, _local, _message, _send_one, _template,
                   _write_atomic)
from .messages import Issue, WorkflowError, issue
from .mimenames import POLICY
from .transport import LOOPBACK, SmtpClient, SmtpSettings


@dataclass
class FollowUpResult:
    drafts: list[FollowUp] = field(default_factory=list)
    lists: list[Path] = field(default_factory=list)
    sent: list[dict] = field(default_factory=list)     # {"kind", "unit_code"} delivered now
    skipped: list[dict] = field(default_factory=list)  # delivered earlier
    failed: list[dict] = field(default_factory=list)
    warnings: list[Issue] = field(default_factory=list)
    errors: list[Issue] = field(default_factory=list)

    @property
    def pending(self) -> list[FollowUp]:
        """Drafts that a --send would deliver."""
        return [d for d in self.drafts if d.path and not d.delivered]

    def to_json(self) -> dict:
        files = [str(d.path) for d in self.drafts if d.path] + [str(p) for p in self.lists]
        return {"drafts": [d.to_json() for d in self.drafts], "lists": [str(p) for p in self.lists],
                "files": files, "sent": self.sent, "skipped": self.skipped, "failed": self.failed,
                "warnings": [w.to_dict() for w in self.warnings],
                "errors": [e.to_dict() for e in self.errors]}


def prepare_followups(dir, kinds: list[str], days: int = DEFAULT_DAYS,
                      today: Optional[date] = None) -> FollowUpResult:
    """Dry run: the drafts and 发送清单 of every follow-up due now; nothing is sent."""
    campaign = load_campaign(dir)
    with _ledger(campaign) as ledger:
        result = _drafts(campaign, ledger, kinds, days, today or date.today())
    result.lists = _write_lists(campaign, kinds, result.drafts)
    return result


def send_followups(dir, kinds: list[str], settings: SmtpSettings, days: int = DEFAULT_DAYS,
                   today: Optional[date] = None, sleep: Callable[[float], None] = time.sleep,
                   progress: Optional[Callable[[int, int], None]] = None) -> FollowUpResult:
    """Write the drafts, then deliver them one by one (pausing between), each outcome recorded
    at once. Raises WorkflowError when the server cannot be reached or refuses the login."""
    if settings.security == "plain" and settings.host not in LOOPBACK:
        raise WorkflowError([issue("M005", host=settings.host)])
    campaign = load_campaign(dir)
    smtp = SmtpClient(settings, sleep)
    try:
        with _ledger(campaign) as ledger:
            result = _drafts(campaign, ledger, kinds, days, today or date.today())
            todo = result.pending
            for n, draft in enumerate(todo):
                if n:
                    sleep(settings.pause)
                _deliver(campaign, smtp, ledger, draft, result)
                if progress:
                    progress(n + 1, len(todo))
    finally:
        smtp.close()
    result.lists = _write_lists(campaign, kinds, result.drafts)
    return result


def _deliver(campaign: Campaign, smtp: SmtpClient, ledger, d: FollowUp,
             result: FollowUpResult) -> None:
    one = MailResult()
    _send_one(campaign, smtp, ledger, d, one, lambda status, detail: ledger.record_message(
        d.unit_code, d.kind, d.ref, d.message_id, status, {**detail, "kind": d.kind}))
    key = {"kind": d.kind, "unit_code": d.unit_code}
    (result.sent if one.sent else result.failed).append(key)
    result.errors += one.errors


# --- drafts -----------------------------------------------------------------------------------

def _drafts(campaign: Campaign, ledger, kinds: list[str], days: int, today: date) -> FollowUpResult:
    """Plan each kind, then write a draft for every message not delivered before."""
    result = FollowUpResult(warnings=list(campaign.warnings))
    contacts = {c.unit_code: c for c in contact_directory(campaign)}
    if not valid_email(campaign.office.email):
        raise WorkflowError([issue("M003", str(campaign.layout.campaign_file))])
    for kind in kinds:
        planned, notes = plan(campaign, ledger, kind, today, days)
        result.warnings += [n for n in notes if n.severity != "错误"]
        result.errors += [n for n in notes if n.severity == "错误"]
        template = _template(campaign, KINDS[kind].template)
        folder = campaign.layout.followup_drafts_dir(KINDS[kind].label)
        written = set()
        for d in planned:
            result.drafts.append(d)
            path = _draft(campaign, ledger, template, contacts.get(d.unit_code), d, result)
            if path:
                written.add(path)
        for old in folder.glob("*.eml") if folder.is_dir() else []:
            if old not in written:  # no longer due (a newer return, a later deadline …)
                old.unlink()
    return result


def _draft(campaign: Campaign, ledger, template, contact, d: FollowUp,
           result: FollowUpResult) -> Optional[Path]:
    """Write one draft (and return its path) unless the unit has no address or already got it."""
    unit = f"{d.unit_code} {d.unit_name}"
    if contact is None or not contact.email:
        d.status = "缺少邮箱，未生成邮件"
        result.warnings.append(issue("M001", "联系人名录", unit=unit))
        return None
    digest = hashlib.sha256(f"{d.kind}\0{d.ref}\0".encode("utf-8"))
    for p in d.attachments:
        digest.update(p.name.encode("utf-8") + b"\0" + hashlib.sha256(p.read_bytes()).digest())
    d.digest = digest.hexdigest()
    msg = _message(campaign, template, contact, d, d.values)
    folder = campaign.layout.followup_drafts_dir(KINDS[d.kind].label)
    folder.mkdir(parents=True, exist_ok=True)
    d.path = folder / (sanitise(d.stem) + ".eml")
    _write_atomic(d.path, msg.as_bytes(policy=POLICY))
    d.status = "待发送"
    earlier = ledger.message_sent(d.unit_code, d.kind, d.ref)
    if earlier:
        at = _local(earlier["at"])
        d.delivered, d.status = True, f"已于{at}发送，不再重发"
        result.skipped.append({"kind": d.kind, "unit_code": d.unit_code})
        result.warnings.append(issue("M015", d.unit_code, unit=unit, what=KINDS[d.kind].label,
                                     at=at, to=earlier.get("to", d.to)))
    return d.path


def _write_lists(campaign: Campaign, kinds: list[str], drafts: list[FollowUp]) -> list[Path]:
    out = []
    for kind in kinds:
        rows = [[f"{d.unit_code} {d.unit_name}", d.to, d.subject,
                 "\n".join(p.name for p in d.attachments), d.status]
                for d in drafts if d.kind == kind]
        path = campaign.layout.followup_list_file(KINDS[kind].label)
        out.append(write_table(path, "发送清单", LIST_COLUMNS, rows, campaign,
                               f"{campaign.title}{KINDS[kind].label}邮件发送清单"))
    return out


__all__ = ["FollowUpResult", "prepare_followups", "send_followups"]
