"""`rubric check`: load issues plus the sums of children against each declared maximum."""
from __future__ import annotations

from decimal import Decimal

from ..messages import Issue, issue
from ..rubric.expr import format_number
from .load import load_with_issues
from .model import Rubric


def check_rubric(name_or_path: str) -> tuple[Rubric | None, list[Issue]]:
    rubric, issues = load_with_issues(name_or_path)
    if rubric is None or any(i.severity == "错误" for i in issues):
        return rubric, issues
    return rubric, issues + list(sum_mismatches(rubric))


def sum_mismatches(rubric: Rubric):
    """Children's maxima against the declared parent maximum (a warning naming both numbers)."""
    file = rubric.path.rsplit("/", 1)[-1]

    def warn(item, children, declared):
        if children != declared:
            return issue("R011", f"{file} {item}", children=format_number(children),
                         declared=format_number(declared))
    for ind in rubric.indicators:
        kids = sum((c.max for c in ind.clauses if not c.extra and not c.office_only), Decimal(0))
        extra = sum((c.max for c in ind.clauses if c.extra and not c.office_only), Decimal(0))
        if kids < ind.max <= kids + extra:
            continue  # extra points reach a cap above the base clauses (农资 0.7 + 0.3)
        if any(not c.office_only for c in ind.clauses):
            w = warn(f"指标 {ind.id}（{ind.name}）", kids, ind.max)
            if w:
                yield w
    for dim in rubric.dimensions:
        inds = [i for i in rubric.indicators if i.dimension == dim.id
                and not all(c.office_only for c in i.clauses)]
        w = warn(f"考核维度 {dim.name}", sum((i.max for i in inds), Decimal(0)), dim.max)
        if w:
            yield w
    for g in rubric.groups:
        dims = [d for d in rubric.dimensions if d.group == g.id]
        w = warn(f"分组 {g.name}", sum((d.max for d in dims), Decimal(0)), g.max)
        if w:
            yield w
