"""The campaign folder, defined once: which file and which stage folder lives where.

    DIR/campaign.yaml        the campaign (rubric, deadlines, office, sheet password)
    DIR/units.csv            the units (代码, 名称, 类型, 邮箱), editable by the office
    DIR/generate/            one 自评表 and one 联系人信息表 per unit
    DIR/import/ archive/ ledger.sqlite score/ review/ report/   later stages
    DIR/simulate/收件/        simulated returns (demo and tests), with received.json
    DIR/联系人名录.xlsx        whom to mail per unit (contacts)
    DIR/mail/草稿/ mail/发送清单.xlsx   .eml drafts and the send list (mail)
    DIR/mail/草稿/<种类>/ mail/发送清单-<种类>.xlsx   follow-ups: 问题反馈 回执 催报 考核结果
    DIR/inbox/               fetched messages (.eml) and their attachments (fetch)
    DIR/templates/mail/      the office's own mail template, if any

Stage folders are named after the stage word (the module and the CLI command).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

CAMPAIGN_FILE = "campaign.yaml"
UNITS_FILE = "units.csv"
GENERATE_DIR = "generate"
IMPORT_DIR = "import"
ARCHIVE_DIR = "archive"
LEDGER_FILE = "ledger.sqlite"
SCORE_DIR = "score"
REVIEW_DIR = "review"
REPORT_DIR = "report"
FEEDBACK_DIR = "反馈"      # under import/: per-unit 问题清单 and marked copies, to email back
UNPACK_DIR = ".unpacked"  # under import/: zips expanded during an import (archived, then removed)

SIMULATE_DIR = "simulate"     # xlsx-workflow simulate: returns as counties would send them
INBOX_DIR = "收件"             # under simulate/: what the office saved from its mailbox
RECEIVED_MANIFEST = "received.json"  # in the inbox: {relative file: ISO received time}

WORKBOOK_SUFFIX = "自评表"
CONTACT_FORM_SUFFIX = "联系人信息表"

# Windows forbids these characters and names; a file name is also kept well below MAX_PATH.
_FORBIDDEN = re.compile(r'[<>:"/\\|?*\x00-\x1f\x7f]')
_RESERVED = {"CON", "PRN", "AUX", "NUL", *(f"COM{i}" for i in range(1, 10)),
             *(f"LPT{i}" for i in range(1, 10))}
_MAX_STEM = 120


def sanitise(name: str) -> str:
    """A file-name part that is valid on Windows, macOS and Linux (forbidden characters → _)."""
    text = unicodedata.normalize("NFC", str(name))
    text = _FORBIDDEN.sub("_", text)
    text = re.sub(r"\s+", " ", text).strip().rstrip(". ")
    if text.split(".")[0].upper() in _RESERVED:
        text = "_" + text
    return text[:_MAX_STEM] or "_"


def unit_file_name(code: str, name: str, suffix: str) -> str:
    """`<code>-<name>-<suffix>.xlsx`, sanitised."""
    return sanitise(f"{code}-{name}-{suffix}") + ".xlsx"


@dataclass(frozen=True)
class Layout:
    """Paths inside one campaign folder."""
    root: Path

    @property
    def campaign_file(self) -> Path:
        return self.root / CAMPAIGN_FILE

    @property
    def units_file(self) -> Path:
        return self.root / UNITS_FILE

    def stage_dir(self, stage: str) -> Path:
        return self.root / stage

    @property
    def generate_dir(self) -> Path:
        return self.root / GENERATE_DIR

    @property
    def import_dir(self) -> Path:
        return self.root / IMPORT_DIR

    @property
    def feedback_dir(self) -> Path:
        return self.import_dir / FEEDBACK_DIR

    @property
    def unpack_dir(self) -> Path:
        return self.import_dir / UNPACK_DIR

    @property
    def archive_dir(self) -> Path:
        return self.root / ARCHIVE_DIR

    @property
    def ledger_file(self) -> Path:
        return self.root / LEDGER_FILE

    @property
    def report_templates_dir(self) -> Path:
        """The office's own copy of the report templates (xlsx-workflow report-templates DIR)."""
        return self.root / "templates" / "report"

    @property
    def contacts_file(self) -> Path:
        """联系人名录.xlsx: one row per unit's contact person (xlsx-workflow contacts DIR)."""
        return self.root / "联系人名录.xlsx"

    @property
    def mail_dir(self) -> Path:
        return self.root / "mail"

    @property
    def mail_drafts_dir(self) -> Path:
        """The .eml drafts written by `xlsx-workflow mail DIR` (one per unit)."""
        return self.mail_dir / "草稿"

    @property
    def mail_list_file(self) -> Path:
        return self.mail_dir / "发送清单.xlsx"

    @property
    def mail_templates_dir(self) -> Path:
        """The office's own copy of the mail template (used instead of the built-in one)."""
        return self.root / "templates" / "mail"

    def followup_drafts_dir(self, kind_label: str) -> Path:
        """The drafts of one kind of follow-up mail (问题反馈, 回执, 催报, 考核结果)."""
        return self.mail_drafts_dir / sanitise(kind_label)

    def followup_list_file(self, kind_label: str) -> Path:
        """发送清单-<种类>.xlsx: the send list of one kind of follow-up mail."""
        return self.mail_dir / f"发送清单-{sanitise(kind_label)}.xlsx"

    @property
    def inbox_dir(self) -> Path:
        """Attachments fetched from the mailbox, one folder per message (xlsx-workflow fetch)."""
        return self.root / "inbox"

    @property
    def params_file(self) -> Path:
        """市级核定数据.xlsx: the office's own figures per unit and for the campaign (params)."""
        return self.root / "params" / "市级核定数据.xlsx"

    @property
    def score_file(self) -> Path:
        """得分.json: the scored campaign as `score --json` prints it (deterministic)."""
        return self.root / SCORE_DIR / "得分.json"

    @property
    def review_file(self) -> Path:
        """审核表.xlsx: one row per unit and clause for the reviewers' 核定分 (review)."""
        return self.root / REVIEW_DIR / "审核表.xlsx"

    @property
    def review_cache_file(self) -> Path:
        """What the last read of 审核表.xlsx found, by its SHA-256 (review_cache.py)."""
        return self.root / SCORE_DIR / "审核表读取缓存.json"

    @property
    def ranking_file(self) -> Path:
        """排名汇总.xlsx: ranking, indicator detail, losses, returns, issues, reviews, charts."""
        return self.root / REPORT_DIR / "排名汇总.xlsx"

    @property
    def unit_feedback_dir(self) -> Path:
        """The per-unit 反馈单 of `report` (one `<code>-<name>-反馈单.xlsx` per scored unit)."""
        return self.root / REPORT_DIR / "反馈单"

    @property
    def simulate_inbox(self) -> Path:
        """DIR/simulate/收件/: simulated returns, as the office would save them from the mailbox."""
        return self.root / SIMULATE_DIR / INBOX_DIR

    def workbook_path(self, code: str, name: str) -> Path:
        return self.generate_dir / unit_file_name(code, name, WORKBOOK_SUFFIX)

    def contact_form_path(self, code: str, name: str) -> Path:
        return self.generate_dir / unit_file_name(code, name, CONTACT_FORM_SUFFIX)


def layout(root) -> Layout:
    return Layout(Path(root).resolve())
