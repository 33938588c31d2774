"""A campaign (one run of an assessment): campaign.yaml plus the unit list, in the folder layout.

`init_campaign` writes them; `load_campaign` reads them back with the rubric. The campaign id and
creation time are fixed once written (re-running init keeps them), so generated workbooks stay
deterministic and every returned file can be traced to its campaign.
"""
from __future__ import annotations

import csv
import re
import secrets
import shutil
import unicodedata
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path

import yaml

from .emails import valid_email
from .layout import Layout, layout
from .messages import ERROR, Issue, WorkflowError, issue
from .rubric import Rubric, Unit, builtin_ids, load_rubric, resolve

CONTACT_LEAD_DAYS = 9  # seed 000: contact form 05-18, materials 05-27
_PASSWORD_CHARS = "abcdefghjkmnpqrstuvwxyz23456789"
_COLUMNS = {  # unit-list column → accepted header words (compared without spaces, lower case)
    "code": ("代码", "单位代码", "编码", "单位编码", "行政区划代码", "区划代码", "行政区划编码",
             "区划编码", "行政代码", "code"),
    "name": ("名称", "单位名称", "单位", "县区", "县区名称", "单位全称", "name"),
    "type": ("类型", "单位类型", "类别", "单位类别", "type"),
    "email": ("邮箱", "电子邮箱", "邮件", "电子邮件", "联系邮箱", "邮箱地址", "电子邮箱地址",
              "邮件地址", "email", "e-mail", "mail"),
}
_HEADER_SCAN = 5  # the header may sit below a title row or two ("2022年考核单位名单")
_HEADER_WORDS = {"code": "代码", "name": "名称", "type": "类型", "email": "邮箱"}


@dataclass
class Office:
    """The issuing office and whom units contact."""
    name: str = ""
    people: str = ""
    phone: str = ""
    email: str = ""
    address: str = ""


@dataclass
class Campaign:
    root: Path
    id: str
    created: datetime
    rubric_source: str  # a built-in id or the absolute path of a YAML file
    rubric: Rubric
    year: int
    title: str
    deadlines: dict  # {"contact": date | None, "materials": date | None}
    office: Office
    password: str
    units: list[Unit]
    rubric_version: int = 0
    rubric_hash: str = ""
    warnings: list[Issue] = field(default_factory=list)
    extensions: dict = field(default_factory=dict)  # unit code → {"materials"/"contact": date}
    ranking: str = "auto"             # rank and grade by rate | points | auto (scoring_settings)
    not_applicable: dict = field(default_factory=dict)  # unit → its own 不适用 indicator ids

    @property
    def layout(self) -> Layout:
        return layout(self.root)


def init_campaign(dir, rubric: str, units_file=None, deadline=None, title=None) -> Campaign:
    """Create (or refresh) the campaign folder `dir`; raises WorkflowError on bad input."""
    from .extensions import extensions_lenient
    lay = layout(dir)
    if lay.root.exists() and not lay.root.is_dir():
        raise WorkflowError([issue("C006", path=str(lay.root))])
    rub = load_rubric(resolve(rubric))
    source = rubric if rubric in builtin_ids() and not Path(rubric).exists() else rub.path
    units, warnings = (read_units(units_file, rub) if units_file else (list(rub.units), []))
    if not units:
        raise WorkflowError([issue("C004", rubric=rub.id)])
    old = _read_yaml(lay) if lay.campaign_file.is_file() else {}
    created = _parse_time(old.get("created")) or datetime.now().astimezone().replace(microsecond=0)
    camp = Campaign(
        root=lay.root, id=str(old.get("id") or f"{rub.id}-{created:%Y%m%d}-{secrets.token_hex(3)}"),
        created=created, rubric_source=source, rubric=rub, year=int(rub.year or created.year),
        title=title or rub.title, deadlines=_deadlines(rub, deadline),
        office=_init_office(rub, title, old.get("office"), warnings,
                            bool(units_file) and not shares_rubric_units(units, rub)),
        password=str(old.get("sheet_password") or _password()), units=units,
        rubric_version=rub.version, rubric_hash=rub.content_hash, warnings=warnings,
        extensions=extensions_lenient(old.get("extensions")))
    _scoring_settings(camp, old, str(lay.campaign_file))  # kept when init runs again
    lay.root.mkdir(parents=True, exist_ok=True)
    _write_units(lay.units_file, units)
    _write_yaml(lay, camp)
    return camp


def load_campaign(dir) -> Campaign:
    """Read campaign.yaml, its rubric and units.csv; raises WorkflowError (C…, U…, R…)."""
    lay = layout(dir)
    if not lay.campaign_file.is_file():
        raise WorkflowError([issue("C001", path=str(lay.root))])
    read_warnings: list[Issue] = []
    doc = _read_yaml(lay, read_warnings)
    try:
        rub_doc, office = doc["rubric"], doc.get("office") or {}
        deadlines = {k: _date(v) for k, v in (doc.get("deadlines") or {}).items()}
        rub = load_rubric(resolve(str(rub_doc["source"])))
        camp = Campaign(
            root=lay.root, id=str(doc["id"]), created=_parse_time(doc["created"]),
            rubric_source=str(rub_doc["source"]), rubric=rub, year=int(doc.get("year") or rub.year),
            title=str(doc.get("title") or rub.title),
            deadlines={"contact": deadlines.get("contact"), "materials": deadlines.get("materials")},
            office=Office(**{k: str(office.get(k) or "") for k in Office.__dataclass_fields__}),
            password=str(doc["sheet_password"]), units=[],
            rubric_version=int(rub_doc.get("version") or 0), rubric_hash=str(rub_doc.get("hash")))
    except (KeyError, TypeError, ValueError, AttributeError) as e:
        raise WorkflowError([issue("C002", str(lay.campaign_file), detail=f"缺少或无效的项 {e}")])
    if camp.created is None:
        raise WorkflowError([issue("C002", str(lay.campaign_file), detail="created 不是时间")])
    camp.units, camp.warnings = read_units(lay.units_file, rub)
    camp.warnings = read_warnings + camp.warnings
    from .extensions import read_extensions
    camp.extensions, found = read_extensions(doc.get("extensions"), camp, str(lay.campaign_file))
    camp.warnings += found
    _scoring_settings(camp, doc, str(lay.campaign_file))
    if rub.content_hash != camp.rubric_hash:
        camp.warnings.append(issue("C005", str(lay.campaign_file), old=camp.rubric_version,
                                   new=rub.version))
    return camp


# --- campaign.yaml ---------------------------------------------------------------------------

def _scoring_settings(camp: Campaign, doc: dict, where: str) -> None:
    """`ranking` and `not_applicable` (see scoring_settings.py); the units get their exemptions."""
    from .scoring_settings import apply_not_applicable, read_not_applicable, read_ranking
    camp.ranking = read_ranking(doc, where)
    camp.not_applicable = read_not_applicable(doc.get("not_applicable"), where)
    camp.units = apply_not_applicable(camp.units, camp.rubric, camp.not_applicable, where)


def _deadlines(rub: Rubric, deadline) -> dict:
    """--deadline sets materials and contact = 9 days before; else the rubric's campaign block."""
    given = (rub.campaign.get("deadlines") or {}) if deadline is None else {}
    materials = _date(deadline if deadline is not None else given.get("materials"))
    contact = _date(given.get("contact"))
    if contact is None and materials is not None:
        contact = materials - timedelta(days=CONTACT_LEAD_DAYS)
    return {"contact": contact, "materials": materials}


def _init_office(rub: Rubric, title, old, warnings: list, foreign: bool = False) -> Office:
    """The office init writes: the one already in campaign.yaml (re-running init keeps the
    office's own edits), else the rubric's — but only when the campaign is the rubric's own
    (same title, and its units among the rubric's). A campaign under its own title, or of
    units none of which the rubric lists (another city's), gets an empty office and a warning,
    so another city's office and contacts never carry over into its workbooks and report."""
    if isinstance(old, dict) and old.get("name"):
        return Office(**{k: str(old.get(k) or "") for k in Office.__dataclass_fields__})
    if title and title != rub.title:
        warnings.append(issue("C024", "campaign.yaml", title=title))
        return Office()
    own = _office(rub)
    if foreign and any(vars(own).values()):
        hint = "" if title else f"，并用 --title 或 campaign.yaml 的 title 给出本次考核的名称（现为细则的名称「{rub.title}」）"
        warnings.append(issue("C026", "campaign.yaml", office=own.name or "另一办公室",
                              title_hint=hint))
        return Office()
    return own


def shares_rubric_units(units, rub: Rubric) -> bool:
    """Whether any of `units` is one the rubric lists by default (a rubric without default
    units is everyone's own): no shared unit means another city's campaign."""
    own = {u.code for u in rub.units}
    return not own or any(u.code in own for u in units)


def _office(rub: Rubric) -> Office:
    c = rub.campaign.get("contact") or {}
    return Office(name=str(c.get("name") or rub.office), people=str(c.get("people") or ""),
                  phone=str(c.get("phone") or ""), email=str(c.get("email") or ""),
                  address=str(c.get("address") or ""))


def _date(value) -> date | None:
    if value is None or value == "" or (isinstance(value, date) and not isinstance(value, datetime)):
        return value or None
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        raise WorkflowError([issue("C003", value=value)])


def _parse_time(value) -> datetime | None:
    if isinstance(value, datetime):
        return value
    try:
        return datetime.fromisoformat(str(value)) if value else None
    except ValueError:
        return None


def _password() -> str:
    return "".join(secrets.choice(_PASSWORD_CHARS) for _ in range(10))


def _read_yaml(lay: Layout, warnings: list | None = None) -> dict:
    """campaign.yaml as a dict. UTF-8 (with or without BOM) or, as Notepad on Chinese Windows
    saves it, GBK — then a C025 warning goes to `warnings`. A YAML syntax error is C002 naming
    the line in Chinese; never a traceback."""
    raw = lay.campaign_file.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            text = raw.decode("gb18030")
        except UnicodeDecodeError:
            raise WorkflowError([issue("C002", str(lay.campaign_file),
                                       detail="文件编码既不是 UTF-8 也不是 GBK")])
        if warnings is not None:
            warnings.append(issue("C025", str(lay.campaign_file)))
    try:
        doc = yaml.safe_load(text)
    except yaml.YAMLError as e:
        raise WorkflowError([issue("C002", str(lay.campaign_file), detail=_yaml_problem(e))])
    if not isinstance(doc, dict):
        raise WorkflowError([issue("C002", str(lay.campaign_file), detail="顶层应为键值对")])
    return doc


_YAML_PROBLEMS = {  # PyYAML's problem texts → what the office should look for
    "mapping values are not allowed": "多了一个冒号，或上一行缩进不对",
    "could not find expected ':'": "缺少冒号（冒号要用英文“:”，后面加空格）",
    "expected <block end>": "缩进不一致（同一级的项要左对齐，只用空格不用 Tab）",
    "found character '\\t'": "用了 Tab 缩进（只能用空格）",
    "found unexpected end of stream": "引号或括号没有配对",
    "while scanning a quoted scalar": "引号没有配对",
    "expected ',' or ']'": "方括号 [ ] 没有配对",
    "expected ',' or '}'": "花括号 { } 没有配对",
    "found duplicate anchor": "重复的锚点",
}


def _yaml_problem(e: yaml.YAMLError) -> str:
    """A YAML syntax error in Chinese: the line (and column) and what is likely wrong."""
    mark = getattr(e, "problem_mark", None)
    text = f"{getattr(e, 'context', '') or ''} {getattr(e, 'problem', '') or ''}"
    what = next((zh for en, zh in _YAML_PROBLEMS.items() if en in text), "YAML 格式不对")
    if mark is None:
        return what
    return f"第{mark.line + 1}行第{mark.column + 1}列附近{what}"


def _write_yaml(lay: Layout, c: Campaign) -> None:
    doc = {
        "id": c.id, "created": c.created.isoformat(),
        "rubric": {"source": c.rubric_source, "id": c.rubric.id, "version": c.rubric_version,
                   "hash": c.rubric_hash},
        "year": c.year, "title": c.title,
        "deadlines": {k: (v.isoformat() if v else None) for k, v in c.deadlines.items()},
        "office": dict(c.office.__dict__), "sheet_password": c.password,
        "units": lay.units_file.name,
        "ranking": c.ranking, "not_applicable": c.not_applicable,
    }
    if c.extensions:
        from .extensions import extensions_doc
        doc["extensions"] = extensions_doc(c.extensions)
    head = ("# 考核活动（由 xlsx-workflow init 生成）。title、deadlines、office、extensions（延期）可以修改；\n"
            "# id、created、rubric、sheet_password 请勿修改（已下发的自评表依据它们核对）。\n"
            "# ranking：排名和等次的依据，rate 按得分率（总分÷适用满分），points 按总分，\n"
            "#   auto（默认）有单位存在不适用指标时按得分率，否则按总分。\n"
            "# not_applicable：个别单位的不适用指标，如 {\"411591\": [\"1.1.7\", \"2.2.1\"]}（单位代码或名称:\n"
            "#   指标编号列表）；修改后重新运行 generate，已下发的自评表须重新下发。\n")
    tmp = lay.campaign_file.with_name(lay.campaign_file.name + ".tmp")
    tmp.write_text(head + yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    tmp.replace(lay.campaign_file)


def update_campaign(dir, title=None, office=None, deadlines=None) -> Campaign:
    """Change an existing campaign's title, office contacts and/or deadlines and save
    campaign.yaml the way init writes it (what the console's 考核设置 page calls). `office`:
    {name, people, phone, email, address}, given keys only; `deadlines`: {"materials",
    "contact"} as YYYY-MM-DD text ('' clears one). Raises WorkflowError listing every bad value,
    each `where` naming its campaign.yaml key (W009 blank title, C003 date, C010 e-mail);
    nothing is saved then."""
    camp = load_campaign(dir)
    errors, name = [], camp.layout.campaign_file.name
    if title is not None:
        if not str(title).strip():
            errors.append(issue("W009", f"{name} title", what="考核名称"))
        camp.title = str(title).strip()
    for key, value in (office or {}).items():
        if key in Office.__dataclass_fields__:
            setattr(camp.office, key, str(value or "").strip())
    if office and "email" in office and camp.office.email and not valid_email(camp.office.email):
        errors.append(issue("C010", f"{name} office.email", email=camp.office.email))
    for kind, value in (deadlines or {}).items():
        if kind in ("materials", "contact"):
            try:
                camp.deadlines[kind] = _date(str(value or "").strip() or None)
            except WorkflowError as e:
                errors += [replace(i, where=f"{name} deadlines.{kind}") for i in e.issues]
    if errors:
        raise WorkflowError(errors)
    _write_yaml(camp.layout, camp)
    return load_campaign(dir)


# --- per-unit deadline extensions -------------------------------------------------------------

def deadline_for(campaign: Campaign, unit_code, kind: str = "materials") -> date | None:
    """The deadline that applies to one unit: its extension when it has one (an extension
    never shortens the campaign's deadline), else the campaign's `kind` deadline. The one
    place that knows about extensions; late marking and reminders ask it."""
    common = campaign.deadlines.get(kind)
    extended = (campaign.extensions.get(str(unit_code)) or {}).get(kind) if unit_code else None
    if extended is None or (common is not None and extended <= common):
        return common
    return extended


# --- units -----------------------------------------------------------------------------------

def read_units(path, rubric: Rubric | None = None) -> tuple[list[Unit], list[Issue]]:
    """Units from an .xlsx/.csv (代码, 名称, 类型, 邮箱); raises WorkflowError listing all errors."""
    path = Path(path)
    where = path.name
    if not path.is_file():
        raise WorkflowError([issue("U001", where, path=str(path))])
    rows = _table(path)
    header_at = _header_row(rows)
    if header_at is None:
        raise WorkflowError([issue("U008", where, row=1)])
    cols = _columns(rows[header_at])
    missing = [_HEADER_WORDS[k] for k in ("code", "name") if k not in cols]
    if missing:
        raise WorkflowError([issue("U004", where, columns="”“".join(missing), row=header_at + 1,
                                   found="、".join(c for c in rows[header_at] if c) or "（空）")])
    units, seen = [], {}
    issues = _unknown_columns(rows[header_at], cols, header_at + 1, where)
    known = _known_types(rubric)
    for i in range(header_at + 1, len(rows)):
        get = (lambda k, r=rows[i]: r[cols[k]] if k in cols and cols[k] < len(r) else "")
        if not any(rows[i]):
            continue
        row = i + 1
        code, email = _normal(get("code")), _normal(get("email"))
        folded = [(get("code"), code, "单位代码")]
        several = _addresses(get("email"))
        if several:  # "a@x.cn; b@x.cn": the first one gets the mail, and it is said
            email = several[0]
            issues.append(issue("U023", where, row=row, raw=get("email"), n=len(several),
                                value=email))
        else:
            folded.append((get("email"), email, "邮箱"))
        for raw, clean, what in folded:
            if raw != clean:
                issues.append(issue("U021", where, row=row, what=what, raw=raw, value=clean))
        unit = Unit(code, get("name"), get("type"), email)
        issues += _check_unit(unit, row, seen, known, where)
        seen.setdefault(unit.code, row)
        units.append(unit)
    if not units:
        issues.append(issue("U008", where, row=header_at + 1))
    if any(x.severity == ERROR for x in issues):  # every problem at once, warnings included,
        raise WorkflowError(issues)                # so that one round of fixes is enough
    return units, issues


def _check_unit(u: Unit, row: int, seen: dict, known: set, where: str) -> list[Issue]:
    out = []
    if not u.code:
        out.append(issue("U005", where, row=row))
    elif u.code in seen:
        out.append(issue("U007", where, row=row, unit_code=u.code, other=seen[u.code]))
    if not u.name:
        out.append(issue("U006", where, row=row, unit_code=u.code or "（空）"))
    if known and u.type not in known:
        out.append(issue("U009", where, row=row, type=u.type or "（空）", known="、".join(sorted(known))))
    if u.email and not valid_email(u.email):
        out.append(issue("U010", where, row=row, email=u.email))
    return out


def _known_types(rubric: Rubric | None) -> set:
    if rubric is None:
        return set()
    used = {t for i in rubric.indicators for t in i.not_applicable}
    return ({u.type for u in rubric.units} | used) if used else set()


def _header_word(cell: str) -> str:
    """A header cell as compared: full-width folded, no spaces, stars, brackets or colon."""
    return re.sub(r"[\s*（）():：]", "", unicodedata.normalize("NFKC", cell)).lower()


def _columns(header: list[str]) -> dict:
    words = {w.lower(): k for k, ws in _COLUMNS.items() for w in ws}
    cols = {}
    for n, cell in enumerate(header):
        key = words.get(_header_word(cell))
        if key and key not in cols:
            cols[key] = n
    return cols


def _header_row(rows: list[list[str]]) -> int | None:
    """The header: the first of the first few non-empty rows that names 代码 and 名称 (a title
    row such as “2022年考核单位名单” may sit above it), else the first non-empty row."""
    filled = [i for i, r in enumerate(rows) if any(r)]
    for i in filled[:_HEADER_SCAN]:
        cols = _columns(rows[i])
        if "code" in cols and "name" in cols:
            return i
    return filled[0] if filled else None


def _unknown_columns(header: list[str], cols: dict, row: int, where: str) -> list[Issue]:
    """A U022 warning per header cell that is none of 代码/名称/类型/邮箱: its column is not read."""
    used = set(cols.values())
    return [issue("U022", where, row=row, column=cell, known="、".join(_HEADER_WORDS.values()))
            for n, cell in enumerate(header) if cell and n not in used]


def _addresses(value: str) -> list[str]:
    """The addresses of an e-mail cell that holds several (split at ; , 、 or spaces, full-width
    ones too); [] unless every part looks like an address."""
    parts = [p for p in re.split(r"[;,、\s]+", unicodedata.normalize("NFKC", value or "")) if p]
    return parts if len(parts) > 1 and all("@" in p for p in parts) else []


def _normal(value: str) -> str:
    """A code or e-mail as the office meant it: full-width digits/letters folded (０→0, ＠→@),
    spaces removed."""
    return re.sub(r"\s", "", unicodedata.normalize("NFKC", value)) if value else value


def _table(path: Path) -> list[list[str]]:
    ext = path.suffix.lower()
    try:
        if ext == ".csv":
            return _csv_rows(path)
        if ext == ".xlsx":
            return _xlsx_rows(path)
    except WorkflowError:
        raise
    except Exception as e:  # any parser failure is the same problem for the office: unreadable
        raise WorkflowError([issue("U003", path.name, detail=f"{type(e).__name__}: {e}"[:200])])
    raise WorkflowError([issue("U002", path.name, ext=ext or "（无扩展名）")])


def _csv_rows(path: Path) -> list[list[str]]:
    raw = path.read_bytes()
    for enc in ("utf-8-sig", "gb18030"):  # Excel in Chinese Windows saves CSV as GBK
        try:
            text = raw.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise WorkflowError([issue("U003", path.name, detail="文件编码既不是 UTF-8 也不是 GBK")])
    if "\x00" in text:
        raise WorkflowError([issue("U003", path.name, detail="不是文本文件")])
    dialect = csv.excel
    try:
        dialect = csv.Sniffer().sniff(text[:4096], delimiters=",\t;")
    except csv.Error:
        pass
    return [[c.strip() for c in r] for r in csv.reader(text.splitlines(), dialect)]


def _xlsx_rows(path: Path) -> list[list[str]]:
    import openpyxl
    book = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        return [[_text(v) for v in r] for r in book.active.iter_rows(values_only=True)]
    finally:
        book.close()


def _text(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, datetime):
        return v.date().isoformat()
    return str(v).strip()


def _write_units(path: Path, units: list[Unit]) -> None:
    tmp = path.with_name(path.name + ".tmp")
    with tmp.open("w", encoding="utf-8-sig", newline="") as fh:  # BOM: Excel opens it as UTF-8
        w = csv.writer(fh)
        w.writerow(["代码", "名称", "类型", "邮箱"])
        w.writerows([u.code, u.name, u.type, u.email] for u in units)
    shutil.move(str(tmp), str(path))
