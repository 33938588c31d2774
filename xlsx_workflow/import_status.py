"""What the office reads after `import` and from `status`: the import's result per file, the
per-unit state, and Chinese tables.

`campaign_status` reads the ledger (no write, no lock wait); the `*_table` functions turn an
import result or a status into fixed-width text tables (a Chinese character counts two columns).
"""
from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Optional

from .campaign import Campaign, deadline_for, load_campaign
from .contacts import contact_directory
from .ledger import (ACCEPTED, CONTACT_FORM, CORRECTED_LABEL, FLAGGED, LATE_LABEL, MISSING,
                     REJECTED, STATUS_LABELS, Ledger)
from .messages import ERROR, WARNING, Issue, issue

RECEIPT_CODES = frozenset({"L003", "L004", "L009"})  # facts of receipt (already imported, late,
                                             # corrected late), not problems in the file: not
                                             # counted as its warnings


@dataclass
class FileOutcome:
    """One received file and what became of it."""
    name: str                      # as the office knows it: "收件/a.zip!浉河区.xlsx"
    path: str                      # absolute original path; zip members "<zip>!<member>"
    archived: str                  # absolute path of the archive copy ("" if never written)
    sha256: str
    kind: str                      # ingest kind: workbook-like / evidence / archive / skipped
    source: str = ""               # file on disk that was examined (for the marked copy)
    size: int = 0
    relpath: str = ""              # inside the archive, as the ledger records it
    form: str = ""
    unit_code: Optional[str] = None
    unit_name: str = ""
    status: Optional[str] = None   # accepted / flagged / rejected; None: not a return
    late: bool = False
    late_correction: bool = False  # after the deadline, but the unit had sent on time (L009)
    total: Optional[Decimal] = None
    issues: list = field(default_factory=list)
    already_imported: bool = False
    feedback: list = field(default_factory=list)
    markable: bool = False         # openpyxl opened it: a marked copy can be made

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == ERROR]

    @property
    def warnings(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == WARNING and i.code not in RECEIPT_CODES]

    def to_json(self) -> dict:
        doc = {"path": self.path, "archived": self.archived, "name": self.name,
               "unit_code": self.unit_code, "unit_name": self.unit_name, "kind": self.form,
               "status": self.status, "late": self.late,
               "late_correction": self.late_correction, "total": _num(self.total),
               "already_imported": self.already_imported,
               "issues": [i.to_dict() for i in self.issues], "feedback": self.feedback}
        if self.status == REJECTED or (self.status is None and self.errors):
            doc["errors"] = [{"code": i.code, "message": i.message, "where": i.where}
                             for i in self.errors]
        return doc


@dataclass
class ImportResult:
    campaign: Campaign
    import_id: int
    files: list[FileOutcome]
    missing: list = field(default_factory=list)   # [Unit] with no self-assessment in force
    feedback_files: list[str] = field(default_factory=list)
    timings: dict = field(default_factory=dict)   # seconds per step (for `make bench`)

    @property
    def returns(self) -> list[FileOutcome]:
        return [f for f in self.files if f.status is not None]

    def by_status(self, status: str) -> list[FileOutcome]:
        return [f for f in self.returns if f.status == status]

    @property
    def refused(self) -> list[FileOutcome]:
        """Received files that are not returns and could not be taken in (corrupt zip …)."""
        return [f for f in self.files if f.status is None and f.errors]

    def to_json(self) -> dict:
        return {"campaign": self.campaign.id, "import_id": self.import_id,
                "accepted": [f.to_json() for f in self.by_status(ACCEPTED)],
                "flagged": [f.to_json() for f in self.by_status(FLAGGED)],
                "rejected": [f.to_json() for f in self.by_status(REJECTED) + self.refused],
                "received": [{"path": f.path, "archived": f.archived, "name": f.name,
                              "kind": f.kind, "sha256": f.sha256,
                              "issues": [i.to_dict() for i in f.issues]} for f in self.files],
                "missing": [u.code for u in self.missing],
                "files": list(self.feedback_files)}


@dataclass
class UnitRow:
    """One unit as `xlsx-workflow status` shows it."""
    unit_code: str
    unit_name: str
    received: bool
    received_at: Optional[datetime]
    versions: int
    late: bool
    errors: int
    warnings: int
    status: str
    total: object = None          # Decimal of the return in force (None: nothing scored)
    contact_form: str = MISSING   # the contact form's status
    in_force: bool = False        # a self-assessment is there to score (not only rejected ones)
    late_correction: bool = False  # sent on time, corrected after the deadline (not late)
    blank: int = 0                # blank self-assessments received (refused; not counted as sent)
    contact_source: str = ""      # where the contact details come from (contacts.Contact.kind)
    contact_sheet_only: bool = False  # no contact form in force: the 自评表's 联系人 sheet counts

    @property
    def timeliness(self) -> str:
        """逾期, 按时报送，截止后更正, or ''."""
        return LATE_LABEL if self.late else CORRECTED_LABEL if self.late_correction else ""

    @property
    def status_label(self) -> str:
        label = STATUS_LABELS[self.status]
        return f"{label}（空白表{self.blank}份已退回）" if self.blank and not self.received else label

    def to_json(self) -> dict:
        return {"unit_code": self.unit_code, "unit_name": self.unit_name,
                "received": self.received,
                "received_at": self.received_at.isoformat() if self.received_at else None,
                "versions": self.versions, "late": self.late,
                "late_correction": self.late_correction, "timeliness": self.timeliness,
                "blank_returns": self.blank, "errors": self.errors,
                "warnings": self.warnings, "status": self.status,
                "status_label": self.status_label, "total": _num(self.total),
                "contact_form": self.contact_form,
                "contact_form_label": self.contact_label,
                "contact_source": self.contact_source}

    @property
    def contact_label(self) -> str:
        """The contact form's status; contacts from the 自评表's 联系人 sheet count as received."""
        if self.contact_sheet_only:
            return "已接收（自评表联系人页）"
        return STATUS_LABELS[self.contact_form]


@dataclass
class CampaignStatus:
    campaign: Campaign
    units: list[UnitRow]

    @property
    def missing(self) -> list[UnitRow]:
        """Units with nothing to score (no return, or only rejected ones)."""
        return [u for u in self.units if not u.in_force]

    def missing_issues(self, today: Optional[date] = None) -> list[Issue]:
        """Per unit with nothing to score: sent back (B003), past its own deadline (B002, a
        warning), or not yet due or with no deadline (B004, for information only)."""
        today = today or date.today()
        out = []
        for u in self.missing:
            deadline = deadline_for(self.campaign, u.unit_code)
            unit = f"{u.unit_code} {u.unit_name}"
            if u.status == REJECTED:
                out.append(issue("B003", "", unit=unit, deadline=deadline or "未定"))
            elif deadline is not None and deadline < today:
                out.append(issue("B002", "", unit=unit, deadline=deadline,
                                 days=(today - deadline).days))
            else:
                left = ("未定" if deadline is None else "今天截止" if deadline == today
                        else f"还有{(deadline - today).days}天")
                out.append(issue("B004", "", unit=unit, deadline=deadline or "未定", left=left))
        return out

    def to_json(self) -> dict:
        return {"campaign": self.campaign.id, "units": [u.to_json() for u in self.units],
                "missing": [u.unit_code for u in self.missing],
                "files": [str(self.campaign.layout.ledger_file)]}


def campaign_status(campaign_dir) -> CampaignStatus:
    """Every unit of the campaign with the state of its returns, in the unit list's order."""
    campaign = load_campaign(campaign_dir)
    names = {u.code: u.name for u in campaign.units}
    codes = [u.code for u in campaign.units]
    with Ledger(campaign.layout.ledger_file, campaign.deadlines.get("materials")) as led:
        rows = led.status(codes, deadline_of=lambda c: deadline_for(campaign, c, "materials"))
        current = {r.id: r for r in led.current_returns()}
        contacts = {s.unit_code: s.status for s in led.status(
            codes, kind=CONTACT_FORM, deadline_of=lambda c: deadline_for(campaign, c, "contact"))}
    sources = {c.unit_code: c.kind for c in contact_directory(campaign)}
    out = []
    for s in rows:
        ret = current.get(s.current_id)
        out.append(UnitRow(s.unit_code, names.get(s.unit_code, "（不在单位名单中）"), s.received,
                           s.last_received_at, s.versions, s.late, s.errors, s.warnings,
                           s.status, ret.total if ret else None,
                           contacts.get(s.unit_code, MISSING), s.current_id is not None,
                           s.late_correction, s.blank, sources.get(s.unit_code, "")))
        row = out[-1]
        if row.contact_source == "self_assessment" and row.contact_form in (MISSING, REJECTED):
            row.contact_form, row.contact_sheet_only = ACCEPTED, True  # counts as contact details
    return CampaignStatus(campaign, out)


# --- text tables ----------------------------------------------------------------------------

def width(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def clip(text: str, limit: int) -> str:
    if width(text) <= limit:
        return text
    out = ""
    for ch in text:
        if width(out + ch) > limit - 1:
            return out + "…"
        out += ch
    return out


def table(headers: list[str], rows: list[list], limits: Optional[list[int]] = None) -> str:
    """A fixed-width text table; cells over their column's limit are cut with '…'."""
    limits = limits or [40] * len(headers)
    cells = [[clip("" if v is None else str(v), lim) for v, lim in zip(r, limits)] for r in rows]
    widths = [max([width(h)] + [width(r[n]) for r in cells]) for n, h in enumerate(headers)]
    line = lambda r: "  ".join(c + " " * (w - width(c)) for c, w in zip(r, widths)).rstrip()  # noqa: E731
    return "\n".join([line(headers), "  ".join("-" * w for w in widths)] + [line(r) for r in cells])


def import_table(result) -> str:
    """文件, 单位, 状态, 错误, 警告, 总分 — one row per return and per file that was refused."""
    rows = []
    for f in result.returns:
        label = STATUS_LABELS[f.status] + ("（已导入过）" if f.already_imported else "") \
            + ("（逾期）" if f.late else "（截止后更正）" if f.late_correction else "")
        unit = f"{f.unit_code} {f.unit_name}".strip() if f.unit_code else "（未识别）"
        total = "联系人表" if f.form == CONTACT_FORM else \
            "—" if f.total is None else _text_num(f.total)
        rows.append([f.name, unit, label, len(f.errors), len(f.warnings), total])
    for f in result.refused:
        rows.append([f.name, "—", "未能读取", len(f.errors), len(f.warnings), "—"])
    return table(["文件", "单位", "状态", "错误", "警告", "总分"], rows, [60, 20, 28, 4, 4, 8])


def import_summary(result) -> str:
    returns = result.returns
    counts = {s: sum(f.status == s for f in returns) for s in STATUS_LABELS}
    again = sum(f.already_imported for f in returns)
    head = (f"第 {result.import_id} 批导入：收到 {len(result.files)} 个文件，其中报送表 "
            f"{len(returns)} 份 — 已接收 {counts['accepted']}，需人工确认 {counts['flagged']}，"
            f"退回 {counts['rejected']}" + (f"（{again} 份以前已导入，未作改动）" if again else "")
            + "。")
    parts = [head, import_table(result)]
    if result.missing:
        parts.append(f"尚无可评分自评表的单位（{len(result.missing)} 个）："
                     + "、".join(f"{u.code} {u.name}" for u in result.missing))
    else:
        parts.append("所有单位都已报送自评表。")
    if result.feedback_files:
        parts.append(f"已为有问题的报送表写好反馈（问题清单和标注副本，共 "
                     f"{len(result.feedback_files)} 个文件）："
                     f"{Path(result.campaign.layout.feedback_dir)}")
    return "\n\n".join(parts)


def status_table(st: CampaignStatus) -> str:
    rows = []
    for u in st.units:
        rows.append([u.unit_code, u.unit_name, u.status_label,
                     u.received_at.strftime("%Y-%m-%d %H:%M") if u.received_at else "—",
                     u.versions, "是" if u.late else "截止后更正" if u.late_correction else "",
                     u.errors, u.warnings,
                     "—" if u.total is None else _text_num(u.total),
                     u.contact_label])
    text = table(["代码", "单位", "状态", "收到时间", "版本数", "逾期", "错误", "警告", "总分",
                  "联系人信息表"], rows, [12, 20, 28, 16, 6, 10, 4, 4, 6, 24])
    notes = []
    if any(u.late or u.late_correction for u in st.units):
        notes.append("是否逾期按各单位第一份有效（已接收或需人工确认）自评表的收到时间判断；"
                     "按时报送后在截止日后报送的更正版本记为“截止后更正”，不算逾期。")
    if any(u.blank for u in st.units):
        notes.append("空白（未填写）的自评表已退回，不算报送，该单位仍为“未报送”。")
    return "\n".join([text] + notes)


def _num(d):
    if d is None:
        return None
    return int(d) if d == d.to_integral_value() else float(d)


def _text_num(d) -> str:
    return str(_num(d))
