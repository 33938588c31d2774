"""The follow-up messages that close the loop with the units after the notice — which unit gets
which message now (drafts and delivery: outbox.py):

    feedback  a unit whose latest return has problems: its 问题清单 and 标注 copy (import/反馈/)
    receipt   a unit whose return is in force (accepted): 收到时间, 版本, 总分 preview, next steps
    remind    a unit with nothing to score (no return, or only rejected ones): a reminder from
              N days before its own deadline (extensions counted), an overdue one after it
    results   a scored unit: its 反馈单 (report/反馈单/)

Each message has a `ref`, what it refers to: the return's sha256 (feedback, receipt), the
reminder's phase and deadline (remind), a digest of the unit's scores (results). The ledger
remembers each (unit, kind, ref) delivered, so a re-run sends nothing new while a new return, a
new deadline or a changed score gets its own message.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from .campaign import Campaign, deadline_for
from .feedback import LIST_SUFFIX, MARKED_SUFFIX, sent_name
from .import_status import RECEIPT_CODES
from .layout import CONTACT_FORM_SUFFIX, unit_file_name
from .ledger import (BLANK_CODES, CONTACT_FORM, REJECTED, SELF_ASSESSMENT, STATUS_LABELS,
                     StoredReturn, is_correction, unit_timeliness)
from .mail import Draft
from .messages import ERROR, WARNING, WorkflowError, issue
from .workbook.sheets import cn_date

FEEDBACK, RECEIPT, REMIND, RESULTS = "feedback", "receipt", "remind", "results"


@dataclass(frozen=True)
class Kind:
    label: str      # 发送清单 and draft folder name
    template: str   # in templates/mail/


KINDS = {FEEDBACK: Kind("问题反馈", "feedback.txt.j2"), RECEIPT: Kind("回执", "receipt.txt.j2"),
         REMIND: Kind("催报", "remind.txt.j2"), RESULTS: Kind("考核结果", "results.txt.j2")}
DEFAULT_DAYS = 3  # --remind: remind units this many days before their deadline
_FEEDBACK_FILE = re.compile(
    rf"^(?P<code>[^-]+)-.+?(?P<form>-{CONTACT_FORM_SUFFIX})?(?:-\d+)?-"
    rf"(?:{LIST_SUFFIX}|{MARKED_SUFFIX})\.xlsx$")


@dataclass
class FollowUp(Draft):
    """One follow-up message to one unit."""
    kind: str = ""
    ref: str = ""
    stem: str = ""                              # the draft's file name without .eml
    delivered: bool = False                     # sent before: the draft is kept, not sent again
    values: dict = field(default_factory=dict)  # what the template adds to the notice's values

    def to_json(self) -> dict:
        return {**super().to_json(), "kind": self.kind}


def plan(campaign: Campaign, ledger, kind: str, today: date, days: int) -> tuple[list, list]:
    """(the messages of `kind` due now, notes); raises WorkflowError when nothing can be
    planned (results before any report)."""
    if kind == FEEDBACK:
        planned, notes = plan_feedback(campaign, ledger), []
    elif kind == RECEIPT:
        planned, notes = plan_receipt(campaign, ledger), []
    elif kind == REMIND:
        planned, notes = plan_remind(campaign, ledger, today, days)
    else:
        planned, notes = plan_results(campaign)
    for d in planned:  # “请于…前重新报送” only while that date is still ahead
        form = d.values.pop("deadline_kind", "materials")
        deadline = deadline_for(campaign, d.unit_code, form)
        d.values["deadline_passed"] = bool(deadline and deadline < today)
        if form != "materials":  # a contact form's feedback: the contact form's own deadline
            d.values["deadline"] = cn_date(deadline)
    return planned, notes


def plan_feedback(campaign: Campaign, ledger) -> list[FollowUp]:
    """Per unit and form, the feedback files of its latest return (an import removes those of
    an earlier version), referring to that return."""
    folder, groups = campaign.layout.feedback_dir, {}
    for p in sorted(folder.glob("*.xlsx")) if folder.is_dir() else []:
        m = _FEEDBACK_FILE.match(p.name)
        if m:
            form = CONTACT_FORM if m["form"] else SELF_ASSESSMENT
            groups.setdefault((m["code"], form), []).append(p)
    out = []
    for unit in campaign.units:
        for form, suffix in ((SELF_ASSESSMENT, ""), (CONTACT_FORM, f"-{CONTACT_FORM_SUFFIX}")):
            files, history = groups.get((unit.code, form)), ledger.history(unit.code, form)
            if not files or not history or not problem_counts(history[0])[0]:
                continue  # files left from an older version (imported in the same batch)
            files.sort(key=lambda p: (MARKED_SUFFIX in p.name, p.name))  # the list first
            out.append(FollowUp(unit.code, unit.name, attachments=files, kind=FEEDBACK,
                                ref=history[0].sha256, stem=f"{unit.code}-{unit.name}{suffix}",
                                values={"form": "联系人信息表" if form == CONTACT_FORM else "自评表",
                                        "marked": any(MARKED_SUFFIX in p.name for p in files),
                                        "deadline_kind": "contact" if form == CONTACT_FORM
                                        else "materials",
                                        "return": return_values(history[0], history)}))
    return out


def plan_receipt(campaign: Campaign, ledger) -> list[FollowUp]:
    """Every unit's self-assessment in force (accepted, or accepted pending a check)."""
    current = {r.unit_code: r for r in ledger.current_returns()}
    out = []
    for unit in campaign.units:
        ret = current.get(unit.code)
        if ret is not None:
            history = ledger.history(unit.code)
            values = return_values(ret, history)
            # late as status says it: by the first valid return and the unit's own deadline
            timing = unit_timeliness(history, deadline_for(campaign, unit.code), ledger.tz)
            values["late"], values["correction"] = timing.late, is_correction(ret, timing)
            out.append(FollowUp(unit.code, unit.name, kind=RECEIPT, ref=ret.sha256,
                                stem=f"{unit.code}-{unit.name}", values={"return": values}))
    return out


def plan_remind(campaign: Campaign, ledger, today: date, days: int) -> tuple[list, list]:
    """Units with nothing to score whose deadline is at most `days` away or past; one
    reminder before the deadline and one after it, per deadline (an extension starts anew)."""
    missing = set(ledger.missing_units([u.code for u in campaign.units]))
    out, notes = [], []
    for unit in (u for u in campaign.units if u.code in missing):
        deadline = deadline_for(campaign, unit.code)
        left = (deadline - today).days if deadline else None
        if left is not None and left > days:
            notes.append(issue("M018", unit.code, unit=f"{unit.code} {unit.name}",
                               deadline=deadline, left=left, days=days))
            continue
        phase = "open" if deadline is None else "overdue" if left < 0 else "due"
        rejected = [r for r in ledger.history(unit.code) if r.status == REJECTED]
        out.append(FollowUp(unit.code, unit.name, kind=REMIND,
                            ref=f"{phase}:{deadline.isoformat() if deadline else '-'}",
                            stem=f"{unit.code}-{unit.name}", values={
                                "overdue": phase == "overdue",
                                "days_left": left, "days_late": -left if left and left < 0 else 0,
                                "rejected": return_values(rejected[0], rejected)
                                if rejected else None}))
    return out, notes


def plan_results(campaign: Campaign) -> tuple[list, list]:
    """Every scored unit of the last `report` (score/得分.json) with its 反馈单."""
    lay = campaign.layout
    if not lay.score_file.is_file():
        raise WorkflowError([issue("M016", path=str(lay.score_file))])
    try:
        units = json.loads(lay.score_file.read_text(encoding="utf-8"))["units"]
    except (ValueError, KeyError, TypeError) as e:
        raise WorkflowError([issue("M016", path=str(lay.score_file))]) from e
    scored = [u for u in units if u.get("state") == "scored"]
    out, errors = [], []
    for u in scored:
        sheet = lay.unit_feedback_dir / unit_file_name(u["unit_code"], u["unit_name"], "反馈单")
        if not sheet.is_file():
            errors.append(issue("M017", str(sheet.parent), unit=f"{u['unit_code']} "
                                f"{u['unit_name']}", path=sheet.name))
            continue
        ref = hashlib.sha256(json.dumps(u, ensure_ascii=False, sort_keys=True)
                             .encode("utf-8")).hexdigest()
        out.append(FollowUp(u["unit_code"], u["unit_name"], attachments=[sheet], kind=RESULTS,
                            ref=ref, stem=f"{u['unit_code']}-{u['unit_name']}", values={
                                "result": {"total": u["total"], "grade": u["grade"],
                                           "rank": u["rank"], "units": len(scored)}}))
    return out, errors


def return_values(ret: StoredReturn, history: list[StoredReturn]) -> dict:
    """What the templates say about one return; `history`: the unit's returns, newest first."""
    older = [h for h in history if (h.received_at, h.id) <= (ret.received_at, ret.id)]
    _, errors, warnings = problem_counts(ret)
    return {"file": sent_name(ret.source_name), "received": cn_time(ret.received_at),
            "status": STATUS_LABELS.get(ret.status, ret.status), "version": len(older),
            "errors": errors, "warnings": warnings, "late": ret.late, "total": number(ret.total),
            "blank": any(i.get("code") in BLANK_CODES for i in ret.issues)}


def problem_counts(ret: StoredReturn) -> tuple[int, int, int]:
    """(problems, errors, warnings) the unit can act on — what its 问题清单 lists (receipt
    notes such as “late” left out)."""
    severities = [i.get("severity") for i in ret.issues if i.get("code") not in RECEIPT_CODES]
    errors, warnings = severities.count(ERROR), severities.count(WARNING)
    return errors + warnings, errors, warnings


def cn_time(moment: datetime) -> str:
    return f"{cn_date(moment.date())} {moment:%H:%M}"


def number(d) -> str:
    """A Decimal as the office writes it (no trailing zeros); '' for none."""
    if d is None:
        return ""
    return format(Decimal(d).normalize(), "f")


def template_names(kinds) -> tuple:
    """The templates `mail --edit-template` copies: the notice's, or those of the kinds given."""
    from .mail import TEMPLATE
    return tuple(KINDS[k].template for k in kinds) or (TEMPLATE,)
