"""Clause kinds: each turns a clause's YAML parameters into one `Expr` (the rule) plus an
explanation in Chinese. The Expr is the single definition used for both the Excel formula and
the Python score; explanations only describe inputs and results, they never decide points.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Callable

from .expr import Expr, Num, Op, Ref, Text, call, evaluate, format_number, if_, num, refs
from .model import FLAG_YES, Field
from .parse import parse


class SpecError(ValueError):
    """A clause's parameters do not fit its kind (message in Chinese, without location)."""


@dataclass
class Built:
    expr: Expr
    max: Decimal
    explain: Callable  # (value_of, points) -> str


def fmt(v) -> str:
    """A value for an explanation: at most 4 decimals, no trailing zeros."""
    if v is None or v == "":
        return "未填"
    if isinstance(v, Decimal):
        try:
            shown = v.quantize(Decimal("0.0001"))
        except InvalidOperation:  # 24 digits or more before the point (a slip): 1E+30
            return str(v.normalize())
        return format_number(v) if v == shown else "约" + format_number(shown)
    return str(v)


def dec(x, what: str) -> Decimal:
    try:
        return Decimal(str(x))
    except Exception:
        raise SpecError(f"{what}「{x}」不是数字")


COHORT_WORDS = {"cohort_rank": "{label}全市排名", "cohort_average": "{label}全市平均数",
                "cohort_count": "参评单位数"}


class Ctx:
    """What a kind may read: the clause's spec and fields, and the rubric's names."""

    def __init__(self, spec: dict, fields: list[Field], field_index: dict, params: dict):
        self.spec, self.fields = spec, fields
        self.field_index, self.params = field_index, params
        self.optional: set = set()  # params the office may leave blank (not 待市级核定)

    def get(self, key, default=None, required=False):
        if key not in self.spec:
            if required:
                raise SpecError(f"缺少参数 {key}")
            return default
        return self.spec[key]

    def number(self, key, default=None, required=False) -> Decimal:
        v = self.get(key, default, required)
        return None if v is None else dec(v, key)

    def field(self, key="field") -> Field:
        fid = self.spec.get(key)
        if fid is None:
            if len(self.fields) != 1:
                raise SpecError(f"有{len(self.fields)}个填报项，须用 {key} 指明读哪一个")
            return self.fields[0]
        fid = str(fid)
        if fid not in self.field_index:
            raise SpecError(f"{key} 引用的填报项 {fid} 不存在")
        return self.field_index[fid]

    def source(self, spec, default_field=True) -> tuple[Expr, str]:
        """A value source: number, {field}, {param}, {rate: [a, b]}, {cohort_rank},
        {cohort_average}, {cohort_count} (the number of units scored together)."""
        if spec is None and default_field:
            f = self.field()
            return Ref(f.id), f.label
        if isinstance(spec, (int, float, str)) and not isinstance(spec, bool):
            return num(dec(spec, "数值")), fmt(dec(spec, "数值"))
        if not isinstance(spec, dict) or len(spec) != 1:
            raise SpecError(f"取值来源「{spec}」应为数字或 {{field|param|rate|cohort_rank|cohort_average: …}}")
        (key, val), = spec.items()
        if key == "field":
            f = self.field_index.get(str(val))
            if f is None:
                raise SpecError(f"引用的填报项 {val} 不存在")
            return Ref(f.id), f.label
        if key == "param":
            if str(val) not in self.params:
                raise SpecError(f"引用的市级核定参数 {val} 未在 params 中声明")
            return Ref(str(val)), self.params[str(val)].label
        if key == "rate":
            (a, la), (b, lb) = (self.source({"field": x}) for x in val)
            return if_(Op("=", b, num(0)), num(1), Op("/", a, b)), f"{la}÷{lb}"
        if key in COHORT_WORDS:
            f = self.field_index.get(str(val))
            if f is None:
                raise SpecError(f"{key} 引用的填报项 {val} 不存在")
            return Ref(f"{key}:{f.id}"), COHORT_WORDS[key].format(label=f.label)
        raise SpecError(f"未知的取值来源 {key}")


def _times(k: Decimal, e: Expr) -> Expr:
    return e if k == 1 else Op("*", num(k), e)


def _is_yes(ref: Expr) -> Expr:
    return Op("=", ref, Text(FLAG_YES))


def flag(ctx: Ctx) -> Built:
    f, pts = ctx.field(), ctx.number("points", required=True)

    def explain(v, points):
        return f"{f.label}：{fmt(v(f.id))}，得{fmt(points)}分"
    return Built(if_(_is_yes(Ref(f.id)), num(pts), num(0)), pts, explain)


def _terms(ctx: Ctx, key="per"):
    if "terms" in ctx.spec:
        return [(ctx.field_index[str(t["field"])] if str(t["field"]) in ctx.field_index
                 else _missing(t["field"]), dec(t[key], key)) for t in ctx.spec["terms"]]
    return [(ctx.field(), ctx.number(key, required=True))]


def _missing(fid):
    raise SpecError(f"terms 引用的填报项 {fid} 不存在")


def _sum(parts: list[Expr]) -> Expr:
    out = parts[0]
    for p in parts[1:]:
        out = Op("+", out, p)
    return out


def count(ctx: Ctx) -> Built:
    terms = _terms(ctx)
    cap = ctx.number("cap", required=True)
    expr = _sum([Op("*", Ref(f.id), num(per)) for f, per in terms])

    def explain(v, points):
        parts = [f"{f.label}{fmt(v(f.id))}{f.unit}×{fmt(per)}分" for f, per in terms]
        raw = evaluate(expr, v)
        return "＋".join(parts) + f"={fmt(raw)}分"
    return Built(expr, cap, explain)


def choice(ctx: Ctx) -> Built:
    f = ctx.field()
    options = [(str(o["text"]), dec(o["points"], "points")) for o in ctx.get("options", required=True)]
    expr: Expr = num(0)
    for text, pts in reversed(options):
        expr = if_(Op("=", Ref(f.id), Text(text)), num(pts), expr)

    def explain(v, points):
        return f"{f.label}：{fmt(v(f.id))}，得{fmt(points)}分"
    return Built(expr, max(p for _, p in options), explain)


def judged(ctx: Ctx) -> Built:
    f, top = ctx.field(), ctx.number("max", required=True)
    step = ctx.number("step", Decimal("0.5"))
    expr = call("MIN", num(top), call("MAX", num(0), Op("*", call("ROUNDDOWN", Op(
        "/", Ref(f.id), num(step)), num(0)), num(step))))

    def explain(v, points):
        return f"自评{fmt(v(f.id))}分（0至{fmt(top)}分，每档{fmt(step)}分），计{fmt(points)}分，待核定"
    return Built(expr, top, explain)


def ratio(ctx: Ctx) -> Built:
    top = ctx.number("cap", required=True)
    a, la = ctx.source(ctx.get("numerator"))
    b, lb = ctx.source(ctx.get("divisor", required=True), default_field=False)
    mult = ctx.number("multiplier", Decimal(1))
    q = Op("/", a, b) if mult == 1 else Op("*", Op("/", a, b), num(mult))
    expr = if_(Op("<=", b, num(0)), num(0), q)

    def explain(v, points):
        m = "" if mult == 1 else f"×{fmt(mult)}"
        return f"{la}{fmt(evaluate(a, v))}÷{lb}{fmt(evaluate(b, v))}{m}={fmt(evaluate(expr, v))}分"
    return Built(expr, top, explain)


def threshold_or_growth(ctx: Ctx) -> Built:
    f, pts = ctx.field(), ctx.number("points", required=True)
    val = Ref(f.id)
    conds, words = [], []
    if "at_least" in ctx.spec:
        n = ctx.number("at_least")
        conds.append(Op(">=", val, num(n)))
        words.append(f"不少于{fmt(n)}{f.unit}")
    if "last_year" in ctx.spec:
        last, ll = ctx.source({"param": ctx.get("last_year")})
        g = ctx.number("growth_over", Decimal(0))
        conds.append(Op(">", val, last if g == 0 else Op("*", last, num(1 + g))))
        words.append("比上年度有增长" if g == 0 else f"比上年度增长超过{fmt(g * 100)}%")
    if "rank" in ctx.spec:
        rank, _ = ctx.source(ctx.get("rank"), default_field=False)
        n = ctx.number("rank_at_most", required=True)
        conds.append(call("AND", Op(">", rank, num(0)), Op("<=", rank, num(n))))
        words.append(f"排名前{fmt(n)}")
    if not conds:
        raise SpecError("至少需要 at_least、last_year 或 rank 中的一个条件")
    expr = if_(call("OR", *conds) if len(conds) > 1 else conds[0], num(pts), num(0))

    def explain(v, points):
        hit = "符合" if points > 0 else "不符合"
        return f"{f.label}{fmt(v(f.id))}{f.unit}，{hit}「{'或'.join(words)}」，得{fmt(points)}分"
    return Built(expr, pts, explain)


def growth(ctx: Ctx) -> Built:
    f, pts = ctx.field(), ctx.number("points", required=True)
    last, _ = ctx.source({"param": ctx.get("last_year", required=True)})
    target, step = ctx.number("target", Decimal(1)), ctx.number("step", required=True)
    deduct, floor = ctx.number("deduct", required=True), ctx.number("floor", Decimal(0))
    partial = str(ctx.get("partial_step", "whole"))
    if partial not in PARTIAL_STEP:
        raise SpecError(f"partial_step「{partial}」应为 whole（不足一档按一档计）或 none（不足一档不扣分）")
    val = Ref(f.id)
    # ROUND(…, 9) removes binary noise in Excel before rounding to whole steps: ROUNDUP when a
    # partial step counts whole (药品 "不足10%按照10%计算"), ROUNDDOWN when the rule says nothing
    # about a partial step (公安 "每低5个百分点，扣0.1分": only whole steps are deducted).
    steps = call("MAX", num(0), call("ROUNDUP" if partial == "whole" else "ROUNDDOWN", call(
        "ROUND", Op("/", Op("-", _times(target, last), val), Op("*", num(step), last)), num(9)),
        num(0)))
    expr = if_(Op("<=", last, num(0)), num(pts),
               call("MAX", num(floor), Op("-", num(pts), Op("*", num(deduct), steps))))

    def explain(v, points):
        lv = evaluate(last, v)
        if not lv:
            return f"{f.label}{fmt(v(f.id))}{f.unit}，上年度为0，得{fmt(pts)}分"
        n = evaluate(if_(Op("<=", last, num(0)), num(0), steps), v)
        basis = growth_basis(target)
        if n == 0 and evaluate(val, v) < target * lv:
            return (f"{f.label}{fmt(v(f.id))}{f.unit}，上年度{fmt(lv)}{f.unit}，未{basis}，"
                    f"差距不足一档（每档{step_text(target, step)}，{PARTIAL_STEP[partial]}），"
                    f"得{fmt(points)}分")
        if n == 0:
            return f"{f.label}{fmt(v(f.id))}{f.unit}，上年度{fmt(lv)}{f.unit}，{basis}，得{fmt(points)}分"
        return (f"{f.label}{fmt(v(f.id))}{f.unit}，上年度{fmt(lv)}{f.unit}，未{basis}，"
                f"差{fmt(n)}档（每档{step_text(target, step)}，{PARTIAL_STEP[partial]}），"
                f"扣{fmt(n * deduct)}分，得{fmt(points)}分")
    return Built(expr, pts, explain)


PARTIAL_STEP = {"whole": "不足一档按一档计", "none": "不足一档不扣分"}


def growth_basis(target: Decimal) -> str:
    """达到上年度 / 达到上年度的1.1倍: the level that keeps full points."""
    return "达到上年度" if target == 1 else f"达到上年度的{fmt(target)}倍"


def step_text(target: Decimal, step: Decimal) -> str:
    """One step below last year: 10% of it (药品), or 5个百分点 of the 1.1× target (公安)."""
    return f"{fmt(step * 100)}%" if target == 1 else f"{fmt(step * 100)}个百分点"


def relative(ctx: Ctx) -> Built:
    val, lv = ctx.source(ctx.get("value"))
    avg, la = ctx.source(ctx.get("average", required=True), default_field=False)
    at_avg, top = ctx.number("at_average", Decimal(1)), ctx.number("max", required=True)
    low = ctx.number("min", Decimal(0))
    expr = if_(Op("<=", avg, num(0)), if_(Op(">", val, num(0)), num(top), num(at_avg)),
               call("MIN", num(top), call("MAX", num(low), Op("/", _times(at_avg, val), avg))))

    def explain(v, points):
        return (f"{lv}{fmt(evaluate(val, v))}，{la}{fmt(evaluate(avg, v))}，"
                f"按平均数得{fmt(at_avg)}分比例折算（{fmt(low)}至{fmt(top)}分），得{fmt(points)}分")
    return Built(expr, top, explain)


def tiers(ctx: Ctx) -> Built:
    """Points by bands of one value; a band is at_most, at_least or last (the last n places of
    `count` ranked units). An `override` the office may enter replaces the source (and
    `override_count` the count): e.g. a province rank instead of the rank among assessed units."""
    src, plain = ctx.source(ctx.get("source"))
    count = ctx.source(ctx.get("count"), default_field=False)[0] if "count" in ctx.spec else None
    def label(v):  # what the explanation calls the value
        return plain
    if "override" in ctx.spec:
        src, label, count = _overridden(ctx, src, plain, count)
    other = ctx.number("otherwise", Decimal(0))
    rows = ctx.get("tiers", required=True)
    expr: Expr = num(other)
    for t in reversed(rows):
        expr = if_(_band(t, src, count), num(dec(t["points"], "points")), expr)
    top = max([other] + [dec(t["points"], "points") for t in rows])

    def explain(v, points):
        of = f"（共{fmt(evaluate(count, v))}个）" if count is not None else ""
        return f"{label(v)}为{fmt(evaluate(src, v))}{of}，按分档得{fmt(points)}分"
    return Built(expr, top, explain)


def _band(t: dict, src: Expr, count: Expr | None) -> Expr:
    if "at_most" in t:
        return Op("<=", src, num(dec(t["at_most"], "at_most")))
    if "at_least" in t:
        return Op(">=", src, num(dec(t["at_least"], "at_least")))
    if "last" in t:
        if count is None:
            raise SpecError("“后n位”一档（last）须用 count 指明参加排序的单位数")
        # 后3位 of 15 ranked units: places 13, 14, 15 (a count of 0 means not known yet).
        return call("AND", Op(">", count, num(0)),
                    Op(">", src, Op("-", count, num(dec(t["last"], "last")))))
    raise SpecError("每一档须有 at_most、at_least 或 last")


def _overridden(ctx: Ctx, src, plain: str, count):
    over, over_label = ctx.source(ctx.get("override"), default_field=False)
    ctx.optional |= {r for r in refs(over) if r in ctx.params}
    given = Op(">", over, num(0))
    if count is not None:
        oc, _ = ctx.source(ctx.get("override_count", required=True), default_field=False)
        ctx.optional |= {r for r in refs(oc) if r in ctx.params}
        count = if_(given, oc, count)

    def label(v):
        return over_label if evaluate(given, v) else plain
    return if_(given, over, src), label, count


def checklist(ctx: Ctx) -> Built:
    items = _terms(ctx, "points") if "terms" in ctx.spec else [
        (ctx.field_index.get(str(i["field"])) or _missing(i["field"]), dec(i["points"], "points"))
        for i in ctx.get("items", required=True)]
    expr = _sum([if_(_is_yes(Ref(f.id)), num(p), num(0)) for f, p in items])
    total = sum((p for _, p in items), Decimal(0))

    def explain(v, points):
        done = [f"{f.label}{fmt(p)}分" for f, p in items if v(f.id) == FLAG_YES]
        return ("已完成：" + "；".join(done) if done else "各子项均未完成") + f"，合计{fmt(points)}分"
    return Built(expr, total, explain)


def penalty(ctx: Ctx) -> Built:
    terms, pts = _terms(ctx), ctx.number("points", required=True)
    floor = ctx.number("floor", Decimal(0))
    lost = _sum([Op("*", Ref(f.id), num(per)) for f, per in terms])
    expr = call("MAX", num(floor), Op("-", num(pts), lost))

    def explain(v, points):
        parts = "，".join(f"{f.label}{fmt(v(f.id))}{f.unit}×{fmt(per)}分" for f, per in terms)
        return f"满分{fmt(pts)}分，{parts}，扣{fmt(evaluate(lost, v))}分，得{fmt(points)}分"
    return Built(expr, pts, explain)


def formula(ctx: Ctx) -> Built:
    from .expr import ExprError, refs
    try:
        expr = parse(str(ctx.get("expr", required=True)))
    except ExprError as e:
        raise SpecError(f"公式有误：{e}")
    unknown = sorted(n for n in refs(expr) if n not in ctx.field_index and n not in ctx.params)
    if unknown:
        raise SpecError(f"公式引用了不存在的填报项或参数 {'、'.join(unknown)}")
    top = ctx.number("max", required=True)
    names = sorted(refs(expr))

    def explain(v, points):
        shown = "，".join(f"{_label(ctx, n)}为{fmt(v(n))}" for n in names)
        return f"{shown}，按公式计{fmt(points)}分"
    return Built(expr, top, explain)


def _label(ctx: Ctx, name: str) -> str:
    if name in ctx.field_index:
        return ctx.field_index[name].label
    return ctx.params[name].label


KINDS: dict[str, Callable[[Ctx], Built]] = {
    "flag": flag, "count": count, "choice": choice, "judged": judged, "ratio": ratio,
    "threshold_or_growth": threshold_or_growth, "growth": growth, "relative": relative,
    "tiers": tiers, "checklist": checklist, "penalty": penalty, "formula": formula,
}

# Field type a kind expects for the fields it reads by default (None: any numeric input).
EXPECTED_FIELD_TYPE = {"flag": ("flag",), "choice": ("choice",), "judged": ("judged",),
                       "checklist": ("flag",)}
