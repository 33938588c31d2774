"""What the pages show, built from the library's results (no scoring here): status board rows,
review rows, the ranking with its bar charts, the report files."""
from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote

from ..campaign import Campaign, deadline_for
from ..engine import NOT_APPLICABLE, OVERRIDDEN, PENDING
from ..ledger import ACCEPTED, FLAGGED, MISSING, REJECTED
from ..rubric.expr import format_number
from ..results import SCORED

FILTERS = [("all", "全部"), ("missing", "未报送"), ("late", "逾期"), ("problems", "有错误或警告"),
           (REJECTED, "退回"), (FLAGGED, "需人工确认"), (ACCEPTED, "已接收")]


def num(value) -> str:
    return "" if value is None else format_number(Decimal(value))


def file_link(key: str, camp: Campaign, path: Path) -> dict:
    rel = Path(path).resolve().relative_to(camp.root.resolve()).as_posix()
    return {"name": Path(path).name, "url": f"/c/{quote(key)}/files/{quote(rel)}"}


def board_rows(key: str, camp: Campaign, st, fresh, show: str) -> list[dict]:
    """Status rows (status, late, errors, warnings, total after review, feedback files)."""
    scored = {u.code: u for u in fresh.run.result.units} if fresh.run else {}
    lay = camp.layout
    rows = []
    for u in st.units:
        res = scored.get(u.unit_code)
        score = res.score if res is not None and res.state == SCORED else None
        files = []
        for folder in (lay.feedback_dir, lay.unit_feedback_dir):
            if folder.is_dir():
                files += [file_link(key, camp, p)
                          for p in sorted(folder.glob(f"{u.unit_code}-*.xlsx"))]
        row = {"code": u.unit_code, "name": u.unit_name, "status": u.status,
               "received_at": u.received_at.strftime("%Y-%m-%d %H:%M") if u.received_at else "",
               "versions": u.versions, "late": u.late, "errors": u.errors,
               "warnings": u.warnings, "total": num(score.total) if score else "",
               "grade": score.grade if score else "", "rank": score.rank if score else "",
               "contact_form": u.contact_form, "files": files,
               "deadline": deadline_for(camp, u.unit_code),
               "extended": (camp.extensions.get(u.unit_code) or {}).get("materials")}
        if _shown(row, show):
            rows.append(row)
    return rows


def _shown(row: dict, show: str) -> bool:
    if show == "missing":
        return row["status"] == MISSING
    if show == "late":
        return row["late"]
    if show == "problems":
        return bool(row["errors"] or row["warnings"])
    if show in (REJECTED, FLAGGED, ACCEPTED):
        return row["status"] == show
    return True


def review_rows(camp: Campaign, fresh, unit) -> list[dict]:
    """One row per applicable clause of `unit`: self score, system score, the reviewer's entry."""
    entries = fresh.run.entries if fresh.run else {}
    flags = {f.clause_id: f for f in (fresh.run.flags if fresh.run else [])
             if f.unit_code == unit.code}
    names = {i.id: f"{i.id} {i.name}" for i in camp.rubric.indicators}
    rows, last = [], None
    for c in camp.rubric.clauses:
        res = unit.score.clauses[c.id]
        if res.status == NOT_APPLICABLE:
            continue
        e = entries.get((unit.code, c.id))
        state = ""
        if c.id in flags:
            state = "需重新审核"
        elif e is not None and e.problem:
            state = e.problem
        elif res.status == OVERRIDDEN:
            state = "已核定"
        elif res.status == PENDING:
            state = "待市级核定"
        group, last = (names[c.indicator_id] if c.indicator_id != last else ""), c.indicator_id
        self_score = unit.self_scores.get(c.id)
        rows.append({"id": c.id, "group": group, "text": c.text,
                     "differs": self_score is not None and res.computed is not None
                     and Decimal(self_score) != res.computed,
                     "max": num(c.max), "self": num(self_score),
                     "computed": num(res.computed), "points": num(res.points),
                     "explanation": res.explanation,
                     "entry": ("" if e is None or e.raw_points in (None, "")
                               else num_or_text(e.raw_points)),
                     "reason": e.reason if e else "", "reviewer": e.reviewer if e else "",
                     "state": state, "bad": bool(c.id in flags or (e is not None and e.problem))})
    return rows


def num_or_text(raw) -> str:
    try:
        return num(Decimal(str(raw)))
    except ArithmeticError:
        return str(raw)


@dataclass
class RankingView:
    units: list[dict] = field(default_factory=list)
    dimensions: list[dict] = field(default_factory=list)   # name, max, per-unit bars
    missing: list[str] = field(default_factory=list)
    not_scored: list[str] = field(default_factory=list)
    top: Decimal = Decimal(0)


def ranking_view(camp: Campaign, fresh) -> RankingView:
    """Ranked units and, per dimension, each unit's points as a share of the maximum (bars)."""
    view = RankingView()
    if not fresh.run:
        return view
    res = fresh.run.result
    top = max((u.score.total for u in res.scored), default=Decimal(0)) or Decimal(1)
    for u in res.scored:
        s = u.score
        view.units.append({"rank": s.rank, "code": u.code, "name": u.name, "base": num(s.base),
                           "bonus": num(s.bonus), "deduction": num(s.deduction),
                           "total": num(s.total), "grade": s.grade,
                           "rate": f"{s.rate * 100:.1f}%" if s.rate is not None else "",
                           "late": u.late, "bar": float(max(s.total, Decimal(0)) / top * 100)})
    for d in camp.rubric.dimensions:
        bars = [{"name": u.name, "points": num(u.score.dimensions.get(d.id, Decimal(0))),
                 "bar": float(Decimal(u.score.dimensions.get(d.id, Decimal(0))) / d.max * 100)
                 if d.max else 0.0} for u in res.scored]
        negative = camp.rubric.group_of(d.id).role == "deduction"
        view.dimensions.append({"name": d.name, "max": num(d.max), "bars": bars,
                                "negative": negative})
    view.missing = [f"{u.code} {u.name}" for u in res.missing]
    view.not_scored = [f"{u.code} {u.name}" for u in res.not_scored]
    view.top = top
    return view


def report_files(key: str, camp: Campaign, fresh) -> list[dict]:
    """The report's files as links (ranking, Word, Markdown, each unit's 反馈单)."""
    out = []
    for p in fresh.files:
        link = file_link(key, camp, p)
        link["kind"] = "反馈单" if "反馈单" in Path(p).parent.name else "报告"
        out.append(link)
    return out


__all__ = ["FILTERS", "board_rows", "ranking_view", "report_files", "review_rows"]
