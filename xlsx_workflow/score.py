"""Stage `score`: every unit's current self-assessment scored by the engine, as one cohort.

    ledger (current returns) + 市级核定数据 (params) + 审核表 (overrides) ─► engine.score_cohort
        ─► CampaignResult (results.py) ─► DIR/score/得分.json

Cohort clauses (averages, ranks) are computed over the units that are scored. A unit whose
returns were all rejected is listed as not scored, one with none as 未报送; neither is ranked.
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from .campaign import Campaign, deadline_for, load_campaign
from .engine import UnitInput, score_cohort, to_decimal
from .gcpause import gc_paused
from .ledger import Ledger, StoredReturn, counted, unit_timeliness
from .messages import Issue, WorkflowError, issue
from .params import read_params, unit_columns
from .results import (MISSING, NOT_SCORED, SCORED, STATE_LABELS, CampaignResult, UnitResult,
                      ranked)
from .review import (Flag, check_entries, ledger_reviews, overrides_of, read_review_entries,
                     reconcile, unconfirmed)
from .rubric.expr import format_number

SELF_SCORE_KEYS = ("self_scores", "_self_scores")   # where an import may keep cached 自评得分
META_KEYS = frozenset({*SELF_SCORE_KEYS, "inputs", "_meta"})


def inputs_of(stored: StoredReturn) -> dict:
    """The cleaned inputs of a recorded return, by field id: the one place that knows how the
    import pipeline stores them (`values` = the checks' cleaned inputs; a nested `inputs` dict
    or bookkeeping keys such as `self_scores` are allowed too)."""
    values = stored.values or {}
    if isinstance(values.get("inputs"), dict):
        return dict(values["inputs"])
    return {k: v for k, v in values.items() if k not in META_KEYS}


def self_scores_of(stored: StoredReturn) -> dict:
    """The unit's own cached 自评得分 per clause, when the import kept them ({} otherwise)."""
    for key in SELF_SCORE_KEYS:
        found = (stored.values or {}).get(key)
        if isinstance(found, dict):
            numbers = ((str(k), to_decimal(v)) for k, v in found.items())
            return {k: d for k, d in numbers if d is not None}
    return {}


@dataclass
class ScoreRun:
    """The scored campaign with everything said on the way (params, review, states)."""
    result: CampaignResult
    issues: list[Issue] = field(default_factory=list)
    files: list[Path] = field(default_factory=list)
    entries: dict = field(default_factory=dict)     # (code, clause) → review.ReviewEntry
    flags: list[Flag] = field(default_factory=list)

    @property
    def errors(self) -> list[Issue]:
        return [i for i in self.issues if i.severity == "错误"]


def score_campaign(campaign_dir) -> CampaignResult:
    """Score the campaign (recording review decisions, writing 得分.json)."""
    return run_score(campaign_dir).result


def run_score(campaign_dir, apply_review: bool = True, record: bool = True,
              write: bool = True) -> ScoreRun:
    """Score every unit; `apply_review=False` gives the system's own scores (for the 审核表)."""
    with gc_paused():  # it builds lasting objects only (gcpause.py): a third faster
        return _run_score(campaign_dir, apply_review, record, write)


def _run_score(campaign_dir, apply_review: bool, record: bool, write: bool) -> ScoreRun:
    camp = load_campaign(campaign_dir)
    issues = list(camp.warnings)
    per_unit, per_campaign, found = read_params(camp)
    issues += found
    entries, found = read_review_entries(camp)
    issues += found
    with Ledger(camp.layout.ledger_file, camp.deadlines.get("materials")) as led:
        every, current = led.returns_by_unit()
        history = {u.code: counted(every.get(u.code, [])) for u in camp.units}  # blank: not sent
        timing = {c: unit_timeliness(v, deadline_for(camp, c), led.tz)  # extensions included
                  for c, v in history.items()}
        valid, found = check_entries(camp, entries, set(current) & set(history))
        issues += found
        scores = _score(camp, current, per_unit, per_campaign,
                        overrides_of(valid) if apply_review else {})
        flags, found = reconcile(led, camp, entries, valid, scores,
                                 {c: r.id for c, r in current.items()}, record)
        issues += found
        # what the reviewer must see first: facts only the office can confirm, still open
        issues[:0] = unconfirmed(camp, scores, valid)
        reviews = ledger_reviews(led)
    units = _unit_results(camp, current, history, scores, flags, issues)
    for u in units:  # late: by the unit's first valid return (ledger.unit_timeliness)
        if u.code in timing:
            u.late, u.late_correction = timing[u.code].late, timing[u.code].late_correction
    result = CampaignResult(camp, ranked(units), reviews, datetime.now().astimezone())
    if not result.scored:
        issues.append(issue("S016", str(camp.layout.ledger_file)))
    run = ScoreRun(result, issues, [], entries, flags)
    if write:
        run.files.append(write_scores(result))
    return run


def _score(camp: Campaign, current: dict, per_unit: dict, per_campaign: dict,
           overrides: dict) -> dict:
    office_fields = {c.id for c in unit_columns(camp.rubric) if c.is_field}
    cohort = []
    for u in camp.units:
        if u.code not in current:
            continue
        office = per_unit.get(u.code, {})
        inputs = {**inputs_of(current[u.code]),
                  **{k: v for k, v in office.items() if k in office_fields}}
        params = {k: v for k, v in office.items() if k not in office_fields}
        cohort.append(UnitInput(u.code, u.name, u.type, inputs, params,
                                overrides.get(u.code, {})))
    if not cohort:
        return {}
    return {s.unit_code: s for s in score_cohort(camp.rubric, cohort, per_campaign,
                                                 camp.ranking)}


def _unit_results(camp: Campaign, current: dict, history: dict, scores: dict, flags: list,
                  issues: list) -> list[UnitResult]:
    flagged, warned = {}, {}  # by unit, built once (not one scan of every flag per unit)
    for f in flags:
        flagged.setdefault(f.unit_code, []).append(f.clause_id)
        warned.setdefault(f.unit_code, []).append(f.issue)
    out = []
    for u in camp.units:
        ret, versions = current.get(u.code), history.get(u.code, [])
        if ret is not None and u.code in scores:
            mine = warned.get(u.code, [])
            out.append(UnitResult(u, SCORED, scores[u.code], ret.received_at, ret.late,
                                  len(versions), _issues(ret) + mine, self_scores_of(ret),
                                  flagged.get(u.code, [])))
        elif versions:
            last = versions[0]
            out.append(UnitResult(u, NOT_SCORED, None, last.received_at, last.late,
                                  len(versions), _issues(last)))
            issues.append(issue("S015", "", unit=f"{u.name}（{u.code}）",
                                count=len(versions),
                                at=last.received_at.strftime("%Y-%m-%d %H:%M")))
        else:
            out.append(UnitResult(u, MISSING))
    return out


def _issues(ret: StoredReturn) -> list[Issue]:
    return [i if isinstance(i, Issue) else
            Issue(str(i.get("code", "")), str(i.get("severity", "")), str(i.get("message", "")),
                  str(i.get("where", ""))) for i in ret.issues]


def write_scores(result: CampaignResult) -> Path:
    """DIR/score/得分.json: the `score --json` document (same scores → same bytes)."""
    path = result.campaign.layout.score_file
    path.parent.mkdir(parents=True, exist_ok=True)
    text = json.dumps(result.to_json(), ensure_ascii=False, indent=2) + "\n"
    try:
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)
    except OSError as e:
        raise WorkflowError([issue("S008", str(path), what="得分文件", path=path,
                                   detail=e)]) from e
    return path


def ranking_lines(result: CampaignResult) -> list[str]:
    """The ranking as Chinese text lines: scored units by rank, then the others."""
    dims = result.rubric.dimensions
    head = ["名次", "代码", "单位", "基础分", "加分", "扣分", "总分", "等级",
            *(d.name for d in dims)]
    lines = ["\t".join(head)]
    for u in result.scored:
        s = u.score
        cells = [str(s.rank), u.code, u.name, *(format_number(x) for x in
                                                 (s.base, s.bonus, s.deduction, s.total)),
                 s.grade, *(format_number(s.dimensions[d.id]) for d in dims)]
        if u.review_flags:
            cells.append("需重新审核：" + "、".join(u.review_flags))
        lines.append("\t".join(cells))
    for state in (NOT_SCORED, MISSING):
        rows = [u for u in result.units if u.state == state]
        if rows:
            lines.append(f"{STATE_LABELS[state]}（{len(rows)}个，不参加排名）："
                         + "、".join(f"{u.name}（{u.code}）" for u in rows))
    return lines


__all__ = ["ScoreRun", "inputs_of", "ranking_lines", "run_score", "score_campaign",
           "self_scores_of", "write_scores"]
