"""The scored campaign as the report stage reads it: one object, built by `score`, read by
`report` (ranking workbook, Word/Markdown report, per-unit 反馈单) and by `--json`.

Nothing here computes a score: the engine does (`engine.score_cohort`); this module only holds
its results together with what the ledger knows about each unit's returns and reviews.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Optional

from .engine import UnitScore
from .messages import Issue
from .rubric.model import Unit

SCORED, MISSING, NOT_SCORED = "scored", "missing", "not_scored"
STATE_LABELS = {SCORED: "已评分", MISSING: "未报送", NOT_SCORED: "未评分（有错误）"}


@dataclass
class UnitResult:
    """One unit of the campaign: its score when it has an accepted return, else why not."""
    unit: Unit
    state: str                                  # SCORED, MISSING or NOT_SCORED
    score: Optional[UnitScore] = None           # set when state == SCORED
    received_at: Optional[datetime] = None      # the current return's receipt time
    late: bool = False                          # by the first valid return (ledger.unit_timeliness)
    versions: int = 0                           # returns received from this unit
    issues: list[Issue] = field(default_factory=list)   # open issues of the current return
    self_scores: dict = field(default_factory=dict)     # clause id → the unit's own 自评得分
    review_flags: list[str] = field(default_factory=list)  # clause ids to review again
    late_correction: bool = False               # on time, corrected after the deadline: not late

    @property
    def code(self) -> str:
        return self.unit.code

    @property
    def name(self) -> str:
        return self.unit.name

    @property
    def errors(self) -> int:
        return sum(1 for i in self.issues if i.severity == "错误")

    @property
    def warnings(self) -> int:
        return sum(1 for i in self.issues if i.severity == "警告")


@dataclass
class ReviewRecord:
    """One reviewer change kept in the ledger: who, when, old → new, why."""
    unit_code: str
    clause_id: str
    old: Optional[Decimal]
    new: Optional[Decimal]
    reason: str
    reviewer: str
    at: datetime


@dataclass
class CampaignResult:
    """Everything the report stage needs. `units` is in ranking order: scored units by rank
    (ties keep unit-code order), then units that were not scored, then missing ones."""
    campaign: object                            # campaign.Campaign (title, rubric, office, deadlines…)
    units: list[UnitResult]
    reviews: list[ReviewRecord] = field(default_factory=list)
    scored_at: Optional[datetime] = None

    @property
    def rubric(self):
        return self.campaign.rubric

    @property
    def scored(self) -> list[UnitResult]:
        return [u for u in self.units if u.state == SCORED]

    @property
    def missing(self) -> list[UnitResult]:
        return [u for u in self.units if u.state == MISSING]

    @property
    def not_scored(self) -> list[UnitResult]:
        return [u for u in self.units if u.state == NOT_SCORED]

    def to_json(self) -> dict:
        """The DESIGN contract of `score --json`."""
        names = {d.id: d.name for d in self.rubric.dimensions}
        out = []
        for u in self.units:
            s = u.score
            out.append({
                "unit_code": u.code, "unit_name": u.name, "state": u.state,
                "total": _num(s.total) if s else None, "grade": s.grade if s else None,
                "rank": s.rank if s else None, "base": _num(s.base) if s else None,
                "bonus": _num(s.bonus) if s else None,
                "deduction": _num(s.deduction) if s else None,
                "rate": _num(s.rate) if s and s.rate is not None else None,
                "scaled": _num(s.scaled) if s and s.scaled is not None else None,
                "ranked_by": s.ranked_by if s else None,
                "dimensions": {names.get(d, d): _num(p) for d, p in s.dimensions.items()} if s else {},
                "late": u.late, "late_correction": u.late_correction,
                "errors": u.errors, "warnings": u.warnings,
                "review_flags": list(u.review_flags),
            })
        return {"campaign": getattr(self.campaign, "id", ""), "units": out}


def ranked(units: list[UnitResult]) -> list[UnitResult]:
    """Scored units by rank then code, then not-scored, then missing (each by code)."""
    order = {SCORED: 0, NOT_SCORED: 1, MISSING: 2}
    return sorted(units, key=lambda u: (order[u.state],
                                        u.score.rank if u.score and u.score.rank else 0, u.code))


def _num(d: Decimal):
    """Decimal → int or float for JSON, exactly as printed (2 places at most)."""
    return int(d) if d == d.to_integral_value() else float(d)
