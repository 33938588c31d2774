"""The campaigns the console serves, and creating a new one from the page.

`serve DIR…`: each DIR is a campaign folder (it holds campaign.yaml) or a folder of campaigns.
New campaigns are created in the first folder that is not itself a campaign (the "home").
Pages name a campaign by a key (its folder name); no path from a request is ever used as one.
"""
from __future__ import annotations

import csv
import re
import shutil
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Optional

import yaml

from ..campaign import Campaign, init_campaign, load_campaign, read_units
from ..layout import CAMPAIGN_FILE, sanitise
from ..messages import ERROR, Issue, WorkflowError, issue
from ..rubric import builtin_ids, builtin_rubric, load_rubric, resolve

PREVIEW_ROWS = 1000
OFFICE_KEYS = ("name", "people", "phone", "email", "address")


class Registry:
    """Campaign key → folder, found again on every call (new folders appear at once)."""

    def __init__(self, dirs: list[Path], home: Path):
        self.dirs = [Path(d).resolve() for d in dirs]
        self.home = Path(home).resolve()

    def all(self) -> dict[str, Path]:
        found: dict[str, Path] = {}
        for d in self.dirs + [self.home]:
            for root in _campaign_folders(d):
                if root in found.values():
                    continue
                key, n = root.name, 2
                while key in found:
                    key, n = f"{root.name}-{n}", n + 1
                found[key] = root
        return found

    def get(self, key: str) -> Optional[Path]:
        return self.all().get(key)


def _campaign_folders(d: Path) -> list[Path]:
    if (d / CAMPAIGN_FILE).is_file():
        return [d]
    if not d.is_dir():
        return []
    return sorted(p.resolve() for p in d.iterdir()
                  if p.is_dir() and not p.name.startswith(".") and (p / CAMPAIGN_FILE).is_file())


def home_of(dirs: list[Path]) -> Path:
    """Where new campaigns go: the first given folder that is not a campaign, else beside the
    first campaign, else the current folder."""
    for d in dirs:
        if not (Path(d) / CAMPAIGN_FILE).is_file():
            return Path(d).resolve()
    return Path(dirs[0]).resolve().parent if dirs else Path.cwd().resolve()


def rubric_choices() -> list[tuple[str, str]]:
    return [(rid, builtin_rubric(rid).title) for rid in builtin_ids()]


@dataclass
class NewCampaign:
    """What the 新建考核 form says."""
    folder: str
    rubric: str                    # a built-in id, or the path of the uploaded YAML
    title: str = ""
    materials: str = ""            # deadlines, YYYY-MM-DD
    contact: str = ""
    office: dict = field(default_factory=dict)


def create(home: Path, new: NewCampaign, units_file: Optional[Path]) -> Campaign:
    """`xlsx-workflow init` with the form's values; the office and deadlines are then written
    into campaign.yaml (the fields the README says an office may edit there)."""
    root = new_folder(home, new.folder)
    init_campaign(root, new.rubric, units_file, new.materials.strip() or None,
                  new.title.strip() or None)
    set_office(root, new.office, new.contact.strip() or None)
    return load_campaign(root)


def new_folder(home: Path, name: str) -> Path:
    """The folder a new campaign called `name` goes to; refused when blank or already there."""
    folder = sanitise(name.strip()) if name.strip() else ""
    if not folder:
        raise WorkflowError([issue("W009", what="考核活动文件夹名称")])
    root = Path(home) / folder
    if (root / CAMPAIGN_FILE).exists():
        raise WorkflowError([issue("W008", name=folder)])
    return root


def keep_rubric(checked: Path, root: Path) -> str:
    """Copy an uploaded rubric (already checked) into the campaign folder; its path for init."""
    dest = root / "细则" / checked.name
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(checked, dest)
    return str(dest)


def set_office(root: Path, office: dict, contact_deadline: Optional[str]) -> None:
    """Write the office's contacts (and the contact-form deadline) into campaign.yaml."""
    path = Path(root) / CAMPAIGN_FILE
    text = path.read_text(encoding="utf-8")
    head = "".join(line + "\n" for line in text.splitlines() if line.startswith("#"))
    doc = yaml.safe_load(text)
    given = {k: str(v).strip() for k, v in office.items() if k in OFFICE_KEYS and str(v).strip()}
    doc["office"] = {**(doc.get("office") or {}), **given}
    if contact_deadline:
        try:
            date.fromisoformat(contact_deadline)
        except ValueError:
            raise WorkflowError([issue("C003", value=contact_deadline)])
        doc["deadlines"]["contact"] = contact_deadline
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(head + yaml.safe_dump(doc, allow_unicode=True, sort_keys=False),
                   encoding="utf-8")
    tmp.replace(path)


def load_uploaded_rubric(path: Path) -> str:
    """Check an uploaded rubric YAML as `rubric check` does; its path for init."""
    load_rubric(resolve(str(path)))
    return str(path)


@dataclass
class UnitPreview:
    """The unit list as the office uploaded it, with init's problems by row."""
    header: list[str]
    rows: list[tuple[int, list[str]]]       # (row number in the file, cells)
    problems: dict[int, list[Issue]]        # row number → issues (0: the whole file)
    ok: bool

    @property
    def errors(self) -> list[Issue]:
        return [i for items in self.problems.values() for i in items if i.severity == ERROR]


def preview_units(path: Path, rubric_source: str) -> UnitPreview:
    """Run init's own checks (`read_units`) on the file and lay its rows out for the page."""
    try:
        rubric = load_rubric(resolve(rubric_source))
        _, found = read_units(path, rubric)
        ok = True
    except WorkflowError as e:
        found, ok = e.issues, False
    problems: dict[int, list[Issue]] = {}
    for i in found:
        m = re.match(r"第(\d+)行", i.message)
        problems.setdefault(int(m.group(1)) if m else 0, []).append(i)
    table = _rows(path)
    header_at = next((n for n, r in table if any(r)), None)
    header = next((r for n, r in table if n == header_at), [])
    rows = [(n, r) for n, r in table if header_at is not None and n > header_at and any(r)]
    return UnitPreview(header, rows[:PREVIEW_ROWS], problems, ok)


def _rows(path: Path) -> list[tuple[int, list[str]]]:
    """The file's cells as text for display only (init reads it itself; unreadable → none)."""
    try:
        if path.suffix.lower() == ".csv":
            raw = path.read_bytes()
            for enc in ("utf-8-sig", "gb18030"):
                try:
                    text = raw.decode(enc)
                    break
                except UnicodeDecodeError:
                    text = ""
            return list(enumerate(([c.strip() for c in r] for r in csv.reader(text.splitlines())),
                                  1))
        import openpyxl
        book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        try:
            return [(n, ["" if v is None else str(v).strip() for v in r])
                    for n, r in enumerate(book.active.iter_rows(values_only=True), 1)]
        finally:
            book.close()
    except Exception:  # shown as "unreadable" by init's own message (U003)
        return []
