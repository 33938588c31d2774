"""What the report says, as data: counts, ranking rows, strengths and weaknesses of the cohort.

`report_context(result)` turns a CampaignResult into plain values (numbers already formatted as
the report prints them) for the report templates; nothing here knows about Word or Markdown.
"""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime
from decimal import Decimal

from ..issue_lines import plain
from ..messages import ERROR, KINDS, WARNING
from ..results import CampaignResult, UnitResult
from ..rubric.expr import format_number

TOP = 5  # how many indicators / problems a list in the report names at most


def num(d) -> str:
    """A score as printed: 48.6, not 48.60."""
    return "—" if d is None else format_number(Decimal(d))


def pct(rate) -> str:
    """A rate (0.4860) as a percentage with one decimal (48.6%)."""
    return "—" if rate is None else f"{(Decimal(rate) * 100).quantize(Decimal('0.1'))}%"


def cn_date(d) -> str:
    """2022年5月27日 (GB/T 9704: Arabic numerals, no leading zeros)."""
    if d is None:
        return "（未定）"
    if isinstance(d, datetime):
        d = d.date()
    return f"{d.year}年{d.month}月{d.day}日"


def report_context(result: CampaignResult) -> dict:
    """Everything the report templates may print, keyed by the names the templates use."""
    camp, rub = result.campaign, result.rubric
    scored = result.scored
    # 平均/最高/最低分 compare like with like: units with 不适用 indicators are left out
    full = [u for u in scored if not u.score.partial]
    totals = [u.score.total for u in full]
    top, bottom = (max(totals), min(totals)) if totals else (None, None)
    ctx = {
        "title": camp.title, "year": camp.year, "office": camp.office.name,
        "rubric_title": rub.title, "rubric_id": rub.id, "rubric_version": rub.version,
        "deadline": cn_date(camp.deadlines.get("materials")),
        "contact_deadline": cn_date(camp.deadlines.get("contact")),
        "date": cn_date(result.scored_at or date.today()),
        "units_total": len(result.units), "received": len(scored) + len(result.not_scored),
        "scored": len(scored), "late": [u.name for u in result.units if u.late],
        "late_corrections": [u.name for u in result.units if u.late_correction],
        "missing": [u.name for u in result.missing],
        "not_scored": [u.name for u in result.not_scored],
        "reviews": len(result.reviews),
        "reviewed_units": len({r.unit_code for r in result.reviews}),
        "has_bonus": any(g.role == "bonus" for g in rub.groups),
        "has_deduction": any(g.role == "deduction" for g in rub.groups),
        "base_max": num(_base_max(rub)), "bonus_max": num(_group_max(rub, "bonus")),
        "deduction_max": num(_group_max(rub, "deduction")),
        "average": num(_mean(totals)), "highest": num(top), "lowest": num(bottom),
        # who has those scores (of the same units), and who ranks first when that is another
        # unit (ranked by 得分率, or a unit with 不适用 indicators ranked by points)
        "highest_units": _few([u.name for u in full if u.score.total == top]),
        "lowest_units": _few([u.name for u in full if u.score.total == bottom]),
        "first": _first(scored, {u.code for u in full if u.score.total == top}),
        "average_scope": _average_scope(len(scored), len(full)),
        "ranking": [_row(u, rub.places) for u in scored],
        "grades": _grades(result),
        "partial": [u.name for u in scored if u.score.applicable_max < _base_max(rub)],
        "bonus_units": sum(1 for u in scored if u.score.bonus > 0),
    }
    ctx.update(_indicator_findings(result))
    ctx["dimensions"] = _dimensions(result)
    ctx["problems"] = _problems(result.units)
    return ctx


def _first(scored: list[UnitResult], best: set) -> dict | None:
    """The units ranked first, and by what, when the report's 最高分 (units `best`) does not
    name them."""
    first = [u for u in scored if u.score.rank == 1]
    if not first or {u.code for u in first} <= best:
        return None
    by = "得分率（得分占适用满分的比例）" if first[0].score.ranked_by == "rate" else "总分"
    return {"names": _few([u.name for u in first]), "by": by}


def _few(names: list[str]) -> str:
    """'甲、乙', or '甲、乙、丙、丁、戊等12个单位' when more than TOP share a score."""
    if len(names) <= TOP:
        return "、".join(names)
    return "、".join(names[:TOP]) + f"等{len(names)}个单位"


def _row(u: UnitResult, places: int) -> dict:
    """One ranking row; scores with the rubric's decimal places, so a table column lines up."""
    s = u.score
    q = Decimal(1).scaleb(-places)
    fixed = {k: str(Decimal(getattr(s, k)).quantize(q)) for k in ("base", "bonus", "deduction", "total")}
    return {"rank": str(s.rank or ""), "name": u.name, **fixed, "rate": pct(s.rate),
            "grade": s.grade, "late": u.late}


def _average_scope(scored: int, full: int) -> str:
    """Whose scores the average covers, in words (all scored units, or those without 不适用)."""
    if full == scored:
        return f"参加计分的{scored}个单位"
    return f"参加计分的{scored}个单位中指标全部适用的{full}个单位"


def _mean(values):
    return (sum(values, Decimal(0)) / len(values)).quantize(Decimal("0.01")) if values else None


def _base_max(rub) -> Decimal:
    return _group_max(rub, "base")


def _group_max(rub, role: str) -> Decimal:
    return sum((g.max for g in rub.groups if g.role == role), Decimal(0))


def _grades(result: CampaignResult) -> list[dict]:
    """Grade bands from the best down, with the units in each (in rank order)."""
    bands = sorted(result.rubric.grades, key=lambda g: g.min, reverse=True)
    out, upper = [], None
    for g in bands:
        names = [u.name for u in result.scored if u.score.grade == g.name]
        span = f"{num(g.min)}分及以上" if upper is None else (
            f"{num(g.min)}分至{num(upper)}分以下" if g.min > 0 else f"{num(upper)}分以下")
        out.append({"name": g.name, "range": span, "count": len(names), "units": names})
        upper = g.min
    return out


def _indicator_findings(result: CampaignResult) -> dict:
    """Indicators most units scored in full (成效) and those most points were lost on (问题)."""
    rub, scored = result.rubric, result.scored
    full, lost, deducted = [], [], []
    for ind in rub.indicators:
        role = rub.group_of(ind.dimension).role
        res = [u.score.indicators[ind.id] for u in scored if ind.id in u.score.indicators]
        res = [r for r in res if r.applicable]
        if not res:
            continue
        if role == "base":
            n_full = sum(1 for r in res if r.points >= r.max)
            gap = sum((r.max - r.points for r in res), Decimal(0))
            item = {"name": ind.name, "dimension": ind.dimension, "max": num(ind.max),
                    "applicable": len(res), "full": n_full, "lost_units": len(res) - n_full,
                    "lost": num(gap), "_gap": gap}
            if n_full * 2 > len(res):
                full.append(item)
            if gap > 0:
                lost.append(item)
        elif role == "deduction":
            hit = [r for r in res if r.points > 0]
            if hit:
                deducted.append({"name": ind.name, "units": len(hit),
                                 "points": num(sum((r.points for r in hit), Decimal(0)))})
    full.sort(key=lambda i: (-i["full"] / i["applicable"], -Decimal(i["max"])))
    lost.sort(key=lambda i: (-i["_gap"], -i["lost_units"]))
    return {"full_marks": full[:TOP], "full_marks_count": len(full), "lost": lost[:TOP],
            "deductions": deducted}


def _dimensions(result: CampaignResult) -> list[dict]:
    """Base dimensions by average rate, best first."""
    rub, scored = result.rubric, result.scored
    out = []
    for d in rub.dimensions:
        if rub.group_of(d.id).role != "base" or not scored or d.max <= 0:
            continue
        inds = [i.id for i in rub.indicators if i.dimension == d.id]
        whole = [u for u in scored if all(u.score.indicators[i].applicable for i in inds)]
        if not whole:
            continue
        avg = _mean([u.score.dimensions.get(d.id, Decimal(0)) for u in whole])
        out.append({"name": d.name, "max": num(d.max), "average": num(avg),
                    "rate": pct(avg / d.max), "_rate": avg / d.max})
    out.sort(key=lambda d: -d["_rate"])
    return out


def _problems(units: list[UnitResult]) -> list[dict]:
    """Open errors and warnings grouped by kind (code), errors first: how many units have each,
    in 公文 words (`kind`, the catalogue's phrase; `message`, an example without cell
    references or codes)."""
    units_by, count, example = defaultdict(set), Counter(), {}
    for u in units:
        for i in u.issues:
            if i.severity not in (ERROR, WARNING):
                continue
            units_by[i.code].add(u.name)
            count[i.code] += 1
            example.setdefault(i.code, (i.severity, plain(i.message), u.name))
    codes = sorted(count, key=lambda c: (example[c][0] != ERROR, -len(units_by[c]), -count[c], c))
    return [{"code": c, "severity": example[c][0], "message": example[c][1],
             "kind": KINDS.get(c) or example[c][1].split("。")[0],
             "example_unit": example[c][2], "units": len(units_by[c]), "count": count[c]}
            for c in codes[:TOP]]
