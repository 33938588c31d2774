"""Compile clauses: fields, the kind's expression, cap, floor and the declared rounding."""
from __future__ import annotations

from decimal import Decimal

from .expr import Ref, call, num, refs
from .kinds import EXPECTED_FIELD_TYPE, KINDS, Ctx, SpecError
from .model import Clause, Rubric

COMMON_KEYS = {"id", "text", "kind", "fields", "floor", "extra", "office_only", "office_review",
               "note"}


def compile_rubric(rubric: Rubric, doc: dict, reader) -> None:
    """Fill every indicator's clauses from the YAML document (reader records issues)."""
    raw_inds = [d for d in doc.get("indicators") or [] if isinstance(d, dict)]
    pending = []
    for ind, raw in zip(rubric.indicators, raw_inds):
        for n, c in enumerate(raw.get("clauses") or [], 1):
            clause = _clause_shell(c, ind, n, reader)
            if clause:
                ind.clauses.append(clause)
                pending.append(clause)
        if not ind.clauses:
            reader.add("R003", f"指标 {ind.id}", key="clauses")
    field_index = _field_index(rubric, reader)
    params = {p.id: p for p in rubric.params}
    reader.unique([(p.id, f"param {p.id}") for p in rubric.params]
                  + [(f.id, f"填报项 {f.id}") for f in rubric.fields])
    for clause in pending:
        _build(clause, rubric, field_index, params, reader)
    if not reader.errors:
        _unused_fields(rubric, reader)


def _clause_shell(c, ind, n, reader) -> Clause | None:
    if not isinstance(c, dict):
        reader.add("R004", f"指标 {ind.id} 第{n}条细则", key="clause", value=c, detail="应为键值对")
        return None
    cid = str(reader.req(c, "id", f"指标 {ind.id} 第{n}条细则", ""))
    item = f"细则 {cid}"
    if not str(c.get("text") or "").strip():
        reader.add("R014", item)
    office = bool(c.get("office_only"))
    fields = []
    for m, f in enumerate(c.get("fields") or [], 1):
        if isinstance(f, dict):
            fields.append(reader.field(f, f"{item} 第{m}个填报项", cid, ind.id, office))
    spec = {k: v for k, v in c.items() if k not in COMMON_KEYS}
    return Clause(id=cid, text=str(c.get("text") or ""), kind=str(reader.req(c, "kind", item, "")),
                  indicator_id=ind.id, fields=fields, spec=spec,
                  cap=reader.dec(c, "cap", item), floor=reader.dec(c, "floor", item, default=Decimal(0)),
                  extra=bool(c.get("extra")), office_only=office,
                  office_review=bool(c.get("office_review")), note=str(c.get("note") or ""))


def _field_index(rubric: Rubric, reader) -> dict:
    index = {}
    for f in rubric.fields:
        index.setdefault(f.id, f)
    return index


def _build(clause: Clause, rubric: Rubric, field_index, params, reader) -> None:
    item = f"细则 {clause.id}"
    kind = KINDS.get(clause.kind)
    if kind is None:
        if clause.kind:
            reader.add("R007", item, kind=clause.kind, kinds="、".join(KINDS))
        return
    if clause.kind == "choice":
        _fill_options(clause, reader)
    ctx = Ctx(clause.spec, clause.fields, field_index, params)
    try:
        built = kind(ctx)
    except SpecError as e:
        reader.add("R008", item, detail=str(e))
        return
    except (KeyError, TypeError, AttributeError) as e:
        reader.add("R008", item, detail=f"参数格式不对（{e}）")
        return
    expr = call("MAX", num(clause.floor), built.expr)
    top = built.max
    if clause.cap is not None:
        expr = call("MIN", num(clause.cap), expr)
        top = min(top, clause.cap)
    clause.raw_expr, clause.max, clause.explain = built.expr, top, built.explain
    if clause.kind == "judged":
        for f in clause.fields:
            f.max = f.max if f.max is not None else built.max
            f.step = f.step or Decimal(str(clause.spec.get("step", "0.5")))
    clause.expr = call("ROUND", expr, num(rubric.places))
    clause.optional = frozenset(ctx.optional)
    clause.needs = frozenset(n for n in refs(clause.expr)
                             if n not in field_index and n not in clause.optional)
    expected = EXPECTED_FIELD_TYPE.get(clause.kind)
    for f in clause.fields:
        if expected and f.type not in expected and Ref(f.id) in _refs_of(built.expr):
            reader.add("R013", item, kind=clause.kind, expected="/".join(expected),
                       field=f.id, type=f.type)


def _refs_of(expr):
    return {Ref(n) for n in refs(expr)}


def _fill_options(clause: Clause, reader) -> None:
    """A choice field's options come from the clause's options unless listed on the field."""
    texts = tuple(str(o.get("text")) for o in clause.spec.get("options") or [] if isinstance(o, dict))
    for f in clause.fields:
        if f.type != "choice":
            continue
        if not f.options:
            f.options = texts
        for t in texts:
            if t not in f.options:
                reader.add("R012", f"细则 {clause.id}", option=t, field=f.id)


def _unused_fields(rubric: Rubric, reader) -> None:
    used = set()
    for c in rubric.clauses:
        if c.expr is not None:
            # cohort_rank:F (and the other cohort values) read field F across units
            used |= {n.split(":", 1)[-1] for n in refs(c.expr)}
    for f in rubric.fields:
        if f.id not in used and f.type not in ("date", "text"):
            reader.add("R010", f"填报项 {f.id}", field=f.id)
