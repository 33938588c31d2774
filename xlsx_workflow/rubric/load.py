"""Load a rubric YAML file into the model, collecting every problem before giving up."""
from __future__ import annotations

import hashlib
import re
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

import yaml

from ..messages import ERROR, Issue, WorkflowError, issue
from . import compile as compiler
from .model import (FIELD_TYPES, Dimension, Field, Grade, Group, Indicator, Param, Rubric, Unit)

BUILTIN_DIR = Path(__file__).parent / "builtin"
ROLES = ("base", "bonus", "deduction")


def builtin_ids() -> list[str]:
    return sorted(p.stem for p in BUILTIN_DIR.glob("*.yaml"))


def resolve(name_or_path: str) -> Path:
    """A built-in id or a file path → the YAML file."""
    p = Path(name_or_path)
    builtin = BUILTIN_DIR / f"{name_or_path}.yaml"
    if p.suffix in (".yaml", ".yml") or p.is_file() or (p.exists() and not builtin.is_file()):
        # A built-in id wins over a folder of the same name (e.g. a campaign folder
        # called ip-protection-2021 in the current directory).
        if not p.is_file():
            raise WorkflowError([issue("R001", name=name_or_path)])
        return p
    p = BUILTIN_DIR / f"{name_or_path}.yaml"
    if not p.is_file():
        raise WorkflowError([issue("R001", name=name_or_path)])
    return p


def builtin_rubric(rubric_id: str) -> Rubric:
    return load_rubric(resolve(rubric_id))


def load_rubric(path) -> Rubric:
    """Parse, validate and compile. Raises WorkflowError listing every error found."""
    rubric, issues = load_with_issues(path)
    errors = [i for i in issues if i.severity == ERROR]
    if errors:
        raise WorkflowError(errors)
    return rubric


def load_with_issues(path) -> tuple[Rubric | None, list[Issue]]:
    path = resolve(str(path))
    raw = path.read_bytes()
    where = path.name
    try:
        doc = _safe_load(raw.decode("utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as e:
        return None, [issue("R002", where, detail=str(e).splitlines()[0])]
    if not isinstance(doc, dict):
        return None, [issue("R002", where, detail="顶层应为键值对（mapping）")]
    reader = _Reader(where)
    rubric = reader.rubric(doc)
    rubric.path, rubric.content_hash = str(path.resolve()), hashlib.sha256(raw).hexdigest()
    if not reader.errors:
        compiler.compile_rubric(rubric, doc, reader)
    return rubric, reader.issues


def _safe_load(text: str):
    """yaml.safe_load, through libyaml when PyYAML was built with it (a rubric loads some ten
    times faster, and every command loads one); a text libyaml refuses is read again by the
    pure-Python parser, so that its error (R002) is worded as before."""
    loader = getattr(yaml, "CSafeLoader", None)
    if loader is not None:
        try:
            return yaml.load(text, Loader=loader)
        except yaml.YAMLError:
            pass
    return yaml.safe_load(text)


class _Reader:
    """Reads sections of the YAML document, recording issues with their location."""

    def __init__(self, file: str):
        self.file, self.issues = file, []

    @property
    def errors(self):
        return [i for i in self.issues if i.severity == ERROR]

    def add(self, code: str, item: str = "", **values):
        where = f"{self.file} {item}".strip()
        self.issues.append(issue(code, where, **values))

    def req(self, d: dict, key: str, item: str, default=None):
        if not isinstance(d, dict) or d.get(key) in (None, ""):
            self.add("R003", item, key=key)
            return default
        return d[key]

    def dec(self, d: dict, key: str, item: str, required=False, default=None):
        if not isinstance(d, dict) or d.get(key) is None:
            if required:
                self.add("R003", item, key=key)
            return default
        try:
            value = Decimal(str(d[key]))
            if not value.is_finite():
                raise InvalidOperation
            return value
        except (InvalidOperation, ValueError):
            self.add("R004", item, key=key, value=d[key], detail="应为数字")
            return default

    def items(self, doc: dict, key: str, required=True) -> list:
        v = doc.get(key)
        if v is None:
            if required:
                self.add("R003", "", key=key)
            return []
        if not isinstance(v, list):
            self.add("R004", "", key=key, value=type(v).__name__, detail="应为列表")
            return []
        return v

    def unique(self, ids: list[tuple[str, str]]):
        seen: dict[str, str] = {}
        for ident, item in ids:
            if ident in seen:
                self.add("R005", item, id=ident, other=seen[ident])
            seen.setdefault(ident, item)

    def rubric(self, doc: dict) -> Rubric:
        rid = str(self.req(doc, "id", "", ""))
        if rid and not re.fullmatch(r"[a-z0-9][a-z0-9-]*", rid):
            self.add("R004", "", key="id", value=rid, detail="只能用小写字母、数字和连字符")
        version = self.req(doc, "version", "", 1)
        if not isinstance(version, int) or isinstance(version, bool) or version < 1:
            self.add("R004", "", key="version", value=version, detail="应为正整数")
            version = 1
        rounding = doc.get("rounding") or {}
        places = rounding.get("places", 2) if isinstance(rounding, dict) else 2
        if not isinstance(places, int) or not 0 <= places <= 4:
            self.add("R004", "", key="rounding.places", value=places, detail="应为0至4的整数")
            places = 2
        if isinstance(rounding, dict) and rounding.get("mode", "half-up") != "half-up":
            self.add("R004", "", key="rounding.mode", value=rounding.get("mode"),
                     detail="目前只支持 half-up（四舍五入，与 Excel ROUND 一致）")
        r = Rubric(
            id=rid, version=version, title=str(self.req(doc, "title", "", "")),
            year=doc.get("year") or 0, office=str(doc.get("office") or ""), places=places,
            total_floor=self.dec(doc, "total_floor", "", default=Decimal(0)),
            grades=self.grades(doc), groups=self.groups(doc), dimensions=[], indicators=[],
            params=self.params(doc), units=self.units(doc),
            notes=[str(n) for n in doc.get("notes") or []],
            document=str(doc.get("document") or ""), source=str(doc.get("source") or ""),
            campaign=doc.get("campaign") if isinstance(doc.get("campaign"), dict) else {})
        r.dimensions = self.dimensions(doc, {g.id for g in r.groups})
        r.indicators = self.indicators(doc, {d.id for d in r.dimensions})
        return r

    def grades(self, doc) -> list[Grade]:
        out = []
        for n, g in enumerate(self.items(doc, "grades"), 1):
            item = f"grades 第{n}项"
            out.append(Grade(str(self.req(g, "name", item, "")),
                             self.dec(g, "min", item, required=True, default=Decimal(0))))
        return out

    def groups(self, doc) -> list[Group]:
        out = []
        for n, g in enumerate(self.items(doc, "groups"), 1):
            item = f"groups 第{n}项"
            role = self.req(g, "role", item, "base")
            if role not in ROLES:
                self.add("R004", item, key="role", value=role, detail="应为 base、bonus 或 deduction")
            out.append(Group(str(self.req(g, "id", item, "")), str(g.get("name") or g.get("id")),
                             role, self.dec(g, "max", item, required=True, default=Decimal(0))))
        self.unique([(g.id, f"group {g.id}") for g in out])
        return out

    def params(self, doc) -> list[Param]:
        out = []
        for n, p in enumerate(self.items(doc, "params", required=False), 1):
            item = f"params 第{n}项"
            scope = p.get("scope", "unit") if isinstance(p, dict) else "unit"
            if scope not in ("unit", "campaign"):
                self.add("R004", item, key="scope", value=scope, detail="应为 unit 或 campaign")
            out.append(Param(str(self.req(p, "id", item, "")), str(self.req(p, "label", item, "")),
                             scope, str(p.get("type", "number")), self.dec(p, "min", item),
                             self.dec(p, "max", item), str(p.get("unit") or "")))
        return out

    def units(self, doc) -> list[Unit]:
        out = []
        for n, u in enumerate(self.items(doc, "units", required=False), 1):
            item = f"units 第{n}项"
            out.append(Unit(str(self.req(u, "code", item, "")), str(self.req(u, "name", item, "")),
                            str(u.get("type") or ""), str(u.get("email") or "")))
        self.unique([(u.code, f"unit {u.name}") for u in out])
        return out

    def dimensions(self, doc, groups: set) -> list[Dimension]:
        out = []
        for n, d in enumerate(self.items(doc, "dimensions"), 1):
            item = f"dimensions 第{n}项"
            dim = Dimension(str(self.req(d, "id", item, "")), str(d.get("name") or d.get("id")),
                            str(self.req(d, "group", item, "")),
                            self.dec(d, "max", item, required=True, default=Decimal(0)))
            if dim.group and dim.group not in groups:
                self.add("R006", f"dimension {dim.id}", what="分组", ref=dim.group, section="groups")
            out.append(dim)
        self.unique([(d.id, f"dimension {d.id}") for d in out])
        return out

    def indicators(self, doc, dims: set) -> list[Indicator]:
        out = []
        for n, d in enumerate(self.items(doc, "indicators"), 1):
            if not isinstance(d, dict):
                self.add("R004", f"indicators 第{n}项", key="indicator", value=d, detail="应为键值对")
                continue
            iid = str(self.req(d, "id", f"indicators 第{n}项", ""))
            item = f"指标 {iid}"
            dim = str(self.req(d, "dimension", item, ""))
            if dim and dim not in dims:
                self.add("R006", item, what="考核维度", ref=dim, section="dimensions")
            window = d.get("window") or {}
            na = d.get("not_applicable") or []
            out.append(Indicator(
                iid, str(self.req(d, "name", item, "")), dim,
                self.dec(d, "max", item, required=True, default=Decimal(0)), clauses=[],
                evidence=str(d.get("evidence") or ""), window_from=self.date(window, "from", item),
                window_to=self.date(window, "to", item),
                not_applicable=tuple(str(x) for x in (na if isinstance(na, list) else [na])),
                note=str(d.get("note") or "")))
        self.unique([(i.id, f"指标 {i.id}") for i in out])
        return out

    def date(self, d, key, item):
        v = d.get(key) if isinstance(d, dict) else None
        if v is None or isinstance(v, date):
            return v
        try:
            return date.fromisoformat(str(v))
        except ValueError:
            self.add("R004", item, key=f"window.{key}", value=v, detail="日期应写成 YYYY-MM-DD")
            return None

    def field(self, f, item: str, clause_id: str, indicator_id: str, office: bool) -> Field | None:
        fid = str(self.req(f, "id", item, ""))
        ftype = str(self.req(f, "type", f"填报项 {fid}", ""))
        if ftype and ftype not in FIELD_TYPES:
            self.add("R009", f"填报项 {fid}", type=ftype, types="、".join(FIELD_TYPES))
        opts = f.get("options") or []
        return Field(
            id=fid, label=str(self.req(f, "label", f"填报项 {fid}", "")), type=ftype,
            clause_id=clause_id, indicator_id=indicator_id, unit=str(f.get("unit") or ""),
            min=self.dec(f, "min", f"填报项 {fid}"), max=self.dec(f, "max", f"填报项 {fid}"),
            options=tuple(str(o) for o in opts), step=self.dec(f, "step", f"填报项 {fid}"),
            source="office" if office or f.get("source") == "office" else "unit",
            note=str(f.get("note") or ""))
