"""The rubric as loaded: indicators, clauses, fields, office parameters (all immutable once built)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Callable, Optional

from .expr import Expr

FIELD_TYPES = ("flag", "count", "amount", "number", "choice", "judged", "date", "text")
NUMERIC_TYPES = ("count", "amount", "number", "judged")
FLAG_YES, FLAG_NO = "是", "否"


@dataclass
class Field:
    """填报项: one input cell in the unit's workbook (or the office's, when source is office)."""
    id: str
    label: str
    type: str
    clause_id: str = ""
    indicator_id: str = ""
    unit: str = ""
    min: Optional[Decimal] = None
    max: Optional[Decimal] = None
    options: tuple = ()
    step: Optional[Decimal] = None
    source: str = "unit"
    note: str = ""


@dataclass
class Param:
    """市级核定数据: a figure the office enters (per unit or once for the campaign)."""
    id: str
    label: str
    scope: str = "unit"
    type: str = "number"
    min: Optional[Decimal] = None
    max: Optional[Decimal] = None
    unit: str = ""


@dataclass
class Clause:
    """评分细则: one scoring rule, compiled to an expression with its cap, floor and rounding."""
    id: str
    text: str
    kind: str
    indicator_id: str
    fields: list[Field]
    spec: dict
    expr: Expr = None
    raw_expr: Expr = None
    max: Decimal = Decimal(0)
    cap: Optional[Decimal] = None
    floor: Decimal = Decimal(0)
    extra: bool = False
    office_only: bool = False
    note: str = ""
    explain: Callable = None
    needs: frozenset = frozenset()  # names of params / cohort values it reads
    optional: frozenset = frozenset()  # params it reads that the office may leave blank
    office_review: bool = False  # facts the office knows better: the reviewer confirms each

    @property
    def needs_office(self) -> bool:
        """True when the unit's workbook cannot compute it (office data or the whole cohort)."""
        return bool(self.needs or self.optional) or self.office_only


@dataclass
class Indicator:
    """指标."""
    id: str
    name: str
    dimension: str
    max: Decimal
    clauses: list[Clause]
    evidence: str = ""
    window_from: Optional[date] = None
    window_to: Optional[date] = None
    not_applicable: tuple = ()
    note: str = ""

    def applies_to(self, unit_type: str) -> bool:
        """False for the unit types the rubric exempts, and for the indicators the office marked
        不适用 for one unit (campaign.yaml `not_applicable`, carried by a `UnitType`)."""
        return (unit_type not in self.not_applicable
                and self.id not in getattr(unit_type, "excluded", ()))


@dataclass
class Dimension:
    """考核维度 / 考核内容 (e.g. 研究部署 20分)."""
    id: str
    name: str
    group: str
    max: Decimal


@dataclass
class Group:
    """基础指标, 加分项 or 扣分项; role decides the sign in the total."""
    id: str
    name: str
    role: str
    max: Decimal


@dataclass
class Grade:
    name: str
    min: Decimal


class UnitType(str):
    """A unit's type as every stage passes it on (workbook, checks, engine), plus the indicator
    ids the office marked 不适用 for this unit alone. It is the type text itself (compares,
    prints and is written to units.csv as such), so the per-unit exemptions travel to every
    `Indicator.applies_to` call without each caller having to know about them."""
    excluded: frozenset = frozenset()

    def __new__(cls, text: str, excluded=()):
        obj = super().__new__(cls, text)
        obj.excluded = frozenset(excluded)
        return obj

    def __reduce__(self):  # keeps the exemptions across processes (generate --jobs)
        return UnitType, (str(self), tuple(sorted(self.excluded)))


@dataclass
class Unit:
    code: str
    name: str
    type: str = ""
    email: str = ""


@dataclass
class Rubric:
    id: str
    version: int
    title: str
    year: int
    office: str
    places: int
    total_floor: Decimal
    grades: list[Grade]
    groups: list[Group]
    dimensions: list[Dimension]
    indicators: list[Indicator]
    params: list[Param] = field(default_factory=list)
    units: list[Unit] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    document: str = ""
    source: str = ""
    path: str = ""
    content_hash: str = ""
    campaign: dict = field(default_factory=dict)  # defaults for `init`: deadlines, office contact

    @property
    def clauses(self) -> list[Clause]:
        return [c for ind in self.indicators for c in ind.clauses]

    @property
    def fields(self) -> list[Field]:
        return [f for c in self.clauses for f in c.fields]

    @property
    def unit_fields(self) -> list[Field]:
        """The fields a unit fills in its workbook."""
        return [f for f in self.fields if f.source == "unit"]

    def field(self, field_id: str) -> Field:
        return {f.id: f for f in self.fields}[field_id]

    def grade_for(self, total: Decimal) -> str:
        for g in sorted(self.grades, key=lambda g: g.min, reverse=True):
            if total >= g.min:
                return g.name
        return ""

    def group_of(self, dimension_id: str) -> Group:
        dim = next(d for d in self.dimensions if d.id == dimension_id)
        return next(g for g in self.groups if g.id == dim.group)
