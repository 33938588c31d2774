"""The 联系人名录: whom to write to for each unit, and the lookup the mail commands use.

Per unit, in this order: the latest accepted 联系人信息表 in the ledger (a flagged one only when no
accepted one exists and it has a well-formed email), or the 联系人 sheet of the unit's latest
自评表 that has one filled (same rule) — of these two the newer received wins (unless only the
older has an email); else the email in the unit list (units.csv); else nothing, and the unit is
listed as 缺少邮箱 (M001). The contact
person is the first row with a well-formed email (the first filled row when none has one); a
contact without any email keeps its person but takes the unit list's email. A rejected return is
never used. The 联系人 sheet of a 自评表 is known from the ledger's values (`_meta.contacts`, kept
since the import that stores it); self-assessments imported before are not re-read.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timezone
from pathlib import Path
from typing import Optional

from .campaign import Campaign, load_campaign
from .emails import valid_email  # noqa: F401  (the one e-mail rule; mail/outbox import it from here)
from .messages import Issue, issue

FROM_FORM, FROM_FORM_FLAGGED, FROM_UNITS, NONE = "联系人信息表", "联系人信息表（需人工确认）", "单位名单", ""
FROM_FORM_UNIT_EMAIL = "联系人信息表（邮箱取自单位名单）"
FROM_SHEET, FROM_SHEET_FLAGGED = "自评表联系人页", "自评表联系人页（需人工确认）"
UNIT_EMAIL_NOTE = "（邮箱取自单位名单）"
COLUMNS = [("单位代码", 10), ("单位名称", 18), ("姓名", 10), ("职务/职级", 14), ("电话", 15),
           ("手机", 14), ("传真", 15), ("邮箱", 26), ("来源", 22), ("收到时间", 17), ("备注", 24)]
XLSX_OPTIONS = {"strings_to_formulas": False, "strings_to_urls": False,
                "strings_to_numbers": False}


@dataclass
class Contact:
    """One unit's contact: who receives the unit's mail and where the address came from."""
    unit_code: str
    unit_name: str
    name: str = ""
    title: str = ""
    phone: str = ""
    mobile: str = ""
    fax: str = ""
    email: str = ""
    source: str = NONE
    received_at: str = ""
    others: list = field(default_factory=list)  # further people on the form ("姓名 邮箱")
    received_stamp: str = ""   # the ledger's UTC time of the return (sortable): newest wins

    @property
    def kind(self) -> str:
        """Where the details come from: contact_form, self_assessment, units or ''."""
        if self.source.startswith(FROM_SHEET):
            return "self_assessment"
        return "contact_form" if self.source.startswith(FROM_FORM) else \
            "units" if self.source == FROM_UNITS else ""

    @property
    def address(self) -> str:
        """`姓名 <email>` for a To header (just the email without a name)."""
        from email.headerregistry import Address
        return str(Address(self.name or "", addr_spec=self.email)) if self.email else ""

    def to_json(self) -> dict:
        return {k: getattr(self, k) for k in ("unit_code", "unit_name", "name", "title", "phone",
                                              "mobile", "fax", "email", "source", "received_at")}


@dataclass
class ContactsResult:
    contacts: list[Contact]
    path: Optional[Path] = None
    warnings: list[Issue] = field(default_factory=list)

    def to_json(self) -> dict:
        return {"contacts": [c.to_json() for c in self.contacts],
                "missing": [c.unit_code for c in self.contacts if not c.email],
                "files": [str(self.path)] if self.path else [],
                "warnings": [w.to_dict() for w in self.warnings]}


def contact_directory(campaign: Campaign) -> list[Contact]:
    """Every unit's contact, in unit-list order (pure: reads the ledger, writes nothing)."""
    forms = _contact_forms(campaign)
    sheets = _contact_forms(campaign, "self_assessment")
    out = []
    for unit in campaign.units:
        found = _newest(forms.get(unit.code), sheets.get(unit.code))
        if found is not None and not found.email and valid_email(unit.email):
            found.email, found.source = unit.email.strip(), found.source + UNIT_EMAIL_NOTE
        if found is None and valid_email(unit.email):
            found = Contact(unit.code, unit.name, email=unit.email.strip(), source=FROM_UNITS)
        out.append(found or Contact(unit.code, unit.name))
    return out


def _newest(form: Optional[Contact], sheet: Optional[Contact]) -> Optional[Contact]:
    """Of a contact form and a 自评表 联系人 sheet, the one received later (the form on a tie);
    one without an email never hides the other's address (it would fall back to units.csv)."""
    if form is None or sheet is None:
        return form or sheet
    newer, older = (sheet, form) if sheet.received_stamp > form.received_stamp else (form, sheet)
    return older if older.email and not newer.email else newer


def contact_for(campaign: Campaign, unit_code: str) -> Optional[Contact]:
    """The contact of one unit (None: no email known)."""
    for c in contact_directory(campaign):
        if c.unit_code == unit_code:
            return c if c.email else None
    return None


def build_contacts(dir) -> ContactsResult:
    """Stage `contacts`: write DIR/联系人名录.xlsx; units without email are warned about (M001)."""
    campaign = load_campaign(dir)
    contacts = contact_directory(campaign)
    path = campaign.layout.contacts_file
    write_table(path, "联系人名录", COLUMNS, [_row(c) for c in contacts], campaign,
                f"{campaign.title}联系人名录")
    return ContactsResult(contacts, path, list(campaign.warnings) + missing_email(contacts))


def missing_email(contacts: list[Contact]) -> list[Issue]:
    return [issue("M001", "联系人名录", unit=f"{c.unit_code} {c.unit_name}")
            for c in contacts if not c.email]


def _row(c: Contact) -> list:
    note = "缺少邮箱" if not c.email else "；".join(c.others)
    return [c.unit_code, c.unit_name, c.name, c.title, c.phone, c.mobile, c.fax, c.email,
            c.source, c.received_at, note]


# --- reading contact forms from the ledger ---------------------------------------------------

def _contact_forms(campaign: Campaign, kind: str = "contact_form") -> dict[str, Contact]:
    """unit code → Contact from the unit's latest usable contact form in the ledger (or, with
    kind="self_assessment", from the 联系人 sheet of its latest usable 自评表 with one filled)."""
    lay = campaign.layout
    if not lay.ledger_file.is_file():
        return {}
    from .ledger import ACCEPTED, FLAGGED, Ledger
    names = {u.code: u.name for u in campaign.units}
    out: dict[str, Contact] = {}
    with Ledger(lay.ledger_file) as ledger:
        rows = ledger.db.execute(
            "SELECT r.unit_code, r.status, r.received_at, r.values_json, v.stored_as"
            " FROM returns r JOIN received v ON v.sha256 = r.sha256"
            " WHERE r.kind = ? AND r.unit_code IS NOT NULL AND r.status IN (?, ?)"
            " AND (r.kind = 'contact_form' OR r.values_json LIKE '%\"_meta\"%')"  # sheet filled
            " ORDER BY r.received_at DESC, r.id DESC", (kind, ACCEPTED, FLAGGED)).fetchall()
    labels = (FROM_FORM, FROM_FORM_FLAGGED) if kind == "contact_form" else \
        (FROM_SHEET, FROM_SHEET_FLAGGED)
    for status in (ACCEPTED, FLAGGED):  # accepted first; a flagged form only when none is
        for r in rows:
            code = r["unit_code"]
            if r["status"] != status or code in out or code not in names:
                continue
            contact = _from_form(campaign, r, names[code], kind == "contact_form")
            if contact and (status == ACCEPTED or contact.email):
                contact.source = labels[0] if status == ACCEPTED else labels[1]
                out[code] = contact
    return out


def _from_form(campaign: Campaign, row, unit_name: str, reread: bool = True) -> Optional[Contact]:
    people = _people(campaign, row, reread)
    filled = [p for p in people if any(str(p.get(k) or "").strip() for k in ("姓名", "邮箱"))]
    if not filled:
        return None
    with_email = [p for p in filled if valid_email(_s(p.get("邮箱")))]
    first = (with_email or filled)[0]
    c = Contact(row["unit_code"], unit_name, _s(first.get("姓名")), _s(first.get("职务/职级")),
                _s(first.get("电话")), _s(first.get("手机")), _s(first.get("传真")),
                _s(first.get("邮箱")) if valid_email(_s(first.get("邮箱"))) else "",
                received_at=_local_time(row["received_at"]), received_stamp=row["received_at"])
    c.others = [f"{_s(p.get('姓名'))} {_s(p.get('邮箱'))}".strip() for p in filled if p is not first]
    return c


def _people(campaign: Campaign, row, reread: bool = True) -> list[dict]:
    """The form's rows: from the ledger's values when the importer stored them (a 自评表's
    联系人 sheet under `_meta`), else re-read from the archived file when `reread`."""
    import json
    values = json.loads(row["values_json"] or "{}")
    meta = values.get("_meta") if isinstance(values.get("_meta"), dict) else {}
    for found in (values.get("contacts"), meta.get("contacts")):
        if isinstance(found, list):
            return [p for p in found if isinstance(p, dict)]
    path = campaign.layout.archive_dir / (row["stored_as"] or "")
    if not reread:
        return []
    if not row["stored_as"] or not path.is_file():
        return []
    from .returns import read_return
    try:
        return list(read_return(path, campaign.rubric).contacts)
    except Exception:  # an unreadable archived form is as good as none: fall back to units.csv
        return []


def _s(value) -> str:
    """A cell as one line of text: line breaks typed in a cell (Alt+Enter) and runs of spaces
    become one space, so a name can go into a mail header."""
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return " ".join(str(value).split())


def _local_time(stamp: str) -> str:
    from datetime import datetime
    try:
        moment = datetime.fromisoformat(stamp)
    except (TypeError, ValueError):
        return ""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.astimezone().strftime("%Y-%m-%d %H:%M")


# --- a plain table workbook ------------------------------------------------------------------

def write_table(path: Path, sheet_name: str, columns: list, rows: list[list], campaign: Campaign,
                title: str) -> Path:
    """A one-sheet .xlsx: title row, header, rows as text, frozen header, autofilter; written to
    a temp name and renamed. Document properties are fixed by the campaign (deterministic)."""
    import os

    import xlsxwriter
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.stem}.tmp.xlsx")
    wb = xlsxwriter.Workbook(str(tmp), XLSX_OPTIONS)
    created = campaign.created.astimezone(timezone.utc).replace(tzinfo=None)
    wb.set_properties({"title": title, "author": campaign.office.name or "xlsx-workflow",
                       "created": created})
    bold = wb.add_format({"bold": True, "border": 1, "bg_color": "#D9E1F2", "align": "center",
                          "valign": "vcenter", "text_wrap": True})
    head = wb.add_format({"bold": True, "font_size": 14})
    cell = wb.add_format({"border": 1, "valign": "vcenter", "text_wrap": True,
                          "num_format": "@"})
    ws = wb.add_worksheet(sheet_name)
    ws.write_string(0, 0, title, head)
    for col, (name, width) in enumerate(columns):
        ws.set_column(col, col, width)
        ws.write_string(1, col, name, bold)
    for r, values in enumerate(rows, start=2):
        for col, value in enumerate(values):
            ws.write_string(r, col, "" if value is None else str(value), cell)
    ws.freeze_panes(2, 0)
    ws.autofilter(1, 0, 1 + len(rows), len(columns) - 1)
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)
    ws.repeat_rows(1)
    wb.close()
    os.replace(tmp, path)
    return path
