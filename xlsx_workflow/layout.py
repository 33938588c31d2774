"""The campaign folder, defined once: which file and which stage folder lives where.

    DIR/campaign.yaml        the campaign (rubric, deadlines, office, sheet password)
    DIR/units.csv            the units (代码, 名称, 类型, 邮箱), editable by the office
    DIR/generate/            one 自评表 and one 联系人信息表 per unit
    DIR/import/ archive/ ledger.sqlite score/ review/ report/   later stages

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
    def archive_dir(self) -> Path:
        return self.root / ARCHIVE_DIR

    @property
    def ledger_file(self) -> Path:
        return self.root / LEDGER_FILE

    def workbook_path(self, code: str, name: str) -> Path:
        return self.generate_dir / unit_file_name(code, name, WORKBOOK_SUFFIX)

    def contact_form_path(self, code: str, name: str) -> Path:
        return self.generate_dir / unit_file_name(code, name, CONTACT_FORM_SUFFIX)


def layout(root) -> Layout:
    return Layout(Path(root).resolve())
