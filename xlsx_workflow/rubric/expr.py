"""A small Excel-subset expression tree: one scoring rule, two targets.

Every clause kind builds an `Expr`; `to_excel` writes it as an Excel 2007 formula for the
county's live preview and `evaluate` computes it exactly in Decimal for the authoritative score.
The evaluator follows Excel's semantics where they matter (blank is 0 or "", ROUND is half away
from zero, numbers compare before text) so that LibreOffice/Excel agree with the engine.
"""
from __future__ import annotations

from dataclasses import dataclass
import operator
from decimal import (ROUND_DOWN, ROUND_FLOOR, ROUND_HALF_UP, ROUND_UP, Context, Decimal,
                     InvalidOperation)
from typing import Callable, Mapping, Union

Value = Union[Decimal, str, bool, None]


class ExprError(ValueError):
    """An expression that cannot be parsed or evaluated (bad syntax, #VALUE!, #DIV/0!)."""


@dataclass(frozen=True)
class Num:
    value: Decimal


@dataclass(frozen=True)
class Text:
    value: str


@dataclass(frozen=True)
class Ref:
    """A named input: a field id, an office parameter, or a computed cell (clause result)."""
    name: str


@dataclass(frozen=True)
class Op:
    op: str  # + - * / = <> < <= > >=
    left: "Expr"
    right: "Expr"


@dataclass(frozen=True)
class Neg:
    operand: "Expr"


@dataclass(frozen=True)
class Call:
    func: str
    args: tuple


Expr = Union[Num, Text, Ref, Op, Neg, Call]

FUNCTIONS = ("IF", "AND", "OR", "NOT", "MIN", "MAX", "SUM", "ROUND", "ROUNDUP", "ROUNDDOWN",
             "INT", "ABS")


# --- construction helpers used by the clause kinds -------------------------------------------

def num(x) -> Num:
    return Num(Decimal(str(x)))


def call(func: str, *args: Expr) -> Call:
    return Call(func, tuple(args))


def if_(cond: Expr, then: Expr, other: Expr) -> Call:
    return call("IF", cond, then, other)


def refs(expr: Expr) -> set[str]:
    """Names an expression reads."""
    if isinstance(expr, Ref):
        return {expr.name}
    if isinstance(expr, Op):
        return refs(expr.left) | refs(expr.right)
    if isinstance(expr, Neg):
        return refs(expr.operand)
    if isinstance(expr, Call):
        out: set[str] = set()
        for a in expr.args:
            out |= refs(a)
        return out
    return set()


# --- Excel target ----------------------------------------------------------------------------

_PREC = {"=": 1, "<>": 1, "<": 1, "<=": 1, ">": 1, ">=": 1, "+": 2, "-": 2, "*": 3, "/": 3}


def format_number(d: Decimal) -> str:
    """A decimal as Excel writes it: no exponent, no trailing zeros."""
    s = format(d.normalize(), "f")
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return "0" if s in ("-0", "") else s


def to_excel(expr: Expr, cell_of: Callable[[str], str], parent_prec: int = 0,
             right_side: bool = False) -> str:
    """Render as formula text (without the leading '='); `cell_of` maps a name to a cell address."""
    if isinstance(expr, Num):
        s = format_number(expr.value)
        return f"({s})" if s.startswith("-") else s
    if isinstance(expr, Text):
        return '"' + expr.value.replace('"', '""') + '"'
    if isinstance(expr, Ref):
        return cell_of(expr.name)
    if isinstance(expr, Neg):
        return "-" + to_excel(expr.operand, cell_of, 4)
    if isinstance(expr, Call):
        args = [to_excel(a, cell_of) for a in expr.args]
        if expr.func in ("MIN", "MAX"):
            # Excel and LibreOffice skip a blank cell given to MIN/MAX (MIN(2,A1) is 2 when A1 is
            # empty); N() makes it 0, as the engine counts blank inputs (see _counted_as_zero).
            args = [f"N({t})" if _maybe_reference(a) else t for a, t in zip(expr.args, args)]
        return expr.func + "(" + ",".join(args) + ")"
    prec = _PREC[expr.op]
    text = (to_excel(expr.left, cell_of, prec) + expr.op
            + to_excel(expr.right, cell_of, prec, right_side=True))
    # Right operands of equal precedence need brackets: a-(b-c), a/(b*c).
    if prec < parent_prec or (right_side and prec == parent_prec):
        return "(" + text + ")"
    return text


def _maybe_reference(e: Expr) -> bool:
    """True when Excel may see a cell reference here (a Ref, or an IF that can return one)."""
    if isinstance(e, Ref):
        return True
    return isinstance(e, Call) and e.func == "IF" and any(_maybe_reference(a) for a in e.args[1:])


# --- Python target ---------------------------------------------------------------------------

def _number(v: Value) -> Decimal:
    if type(v) is Decimal:
        return v
    if v is None or v == "":
        return Decimal(0)
    if isinstance(v, bool):
        return Decimal(int(v))
    if isinstance(v, Decimal):
        return v
    raise ExprError(f"#VALUE!: 「{v}」不是数字")


def _truth(v: Value) -> bool:
    if isinstance(v, str) and v != "":
        raise ExprError(f"#VALUE!: 「{v}」不是逻辑值")
    return bool(_number(v))


_COMPARISONS = {"=": operator.eq, "<>": operator.ne, "<": operator.lt, "<=": operator.le,
                ">": operator.gt, ">=": operator.ge}


def _key(v: Value):
    if v is None:
        return None
    if isinstance(v, str):
        return (1, v.lower())
    return (0, _number(v))


def _compare(op: str, a: Value, b: Value) -> bool:
    # Excel: blank equals 0 and ""; numbers sort before text; text compares case-insensitively.
    ka, kb = _key(a), _key(b)
    if ka is None:
        ka = (1, "") if kb is not None and kb[0] == 1 else (0, Decimal(0))
    if kb is None:
        kb = (1, "") if ka[0] == 1 else (0, Decimal(0))
    return _COMPARISONS[op](ka, kb)


def _counted_as_zero(args: tuple, vals: list) -> list:
    """MIN/MAX read a possible reference through N() (see to_excel): blank or text is 0."""
    return [Decimal(0) if _maybe_reference(a) and (v is None or isinstance(v, str)) else v
            for a, v in zip(args, vals)]


_ROUNDING = {"ROUND": ROUND_HALF_UP, "ROUNDUP": ROUND_UP, "ROUNDDOWN": ROUND_DOWN}


def _round(x: Decimal, places: Decimal, mode) -> Decimal:
    exp = Decimal(1).scaleb(-int(places))
    return quantize_exactly(x, exp, mode)


MAX_DIGITS = 400  # a rounded number may hold this many digits (Excel: 1E+30 to 2 places is 1E+30)


def quantize_exactly(x: Decimal, exp: Decimal, mode, limit: int = MAX_DIGITS) -> Decimal:
    """x rounded to the place of `exp`. A number too long for the default 28 digits at that
    place (a count of 1E+30 typed by mistake, rounded to 2 places) is rounded exactly with the
    digits it needs, as Excel does; beyond `limit` digits it is #NUM! (an error of the clause,
    not of the whole scoring run)."""
    try:
        return x.quantize(exp, rounding=mode)
    except InvalidOperation:
        digits = x.adjusted() - exp.adjusted() + 2 if x.is_finite() else 0
        if 28 < digits <= limit:
            return x.quantize(exp, rounding=mode, context=Context(prec=digits))
        raise ExprError(f"#NUM!: {x} 位数过多，无法取整") from None


def evaluate(expr: Expr, lookup: Mapping[str, Value] | Callable[[str], Value]) -> Value:
    """Evaluate exactly. `lookup` gives the value of every Ref (None for blank)."""
    get = lookup if callable(lookup) else lookup.get
    return compiled(expr)(get)


_COMPILED: dict[int, tuple] = {}  # id(expr) -> (expr, closure); the expr is held, so its id stays
_COMPILED_MAX = 20_000


def compiled(expr: Expr) -> Callable:
    """`expr` as a Python closure of `get`, made once per expression object (they are frozen).

    The closure computes what `_eval` computes, step for step and error for error; it only saves
    walking the tree and dispatching on node types at every evaluation (a rubric's clauses are
    evaluated for every unit).
    """
    hit = _COMPILED.get(id(expr))
    if hit is not None and hit[0] is expr:
        return hit[1]
    fn = compile_expr(expr)
    if len(_COMPILED) >= _COMPILED_MAX:
        _COMPILED.clear()
    _COMPILED[id(expr)] = (expr, fn)
    return fn


def compile_expr(e: Expr) -> Callable:
    """A closure `fn(get) -> Value` equal to `_eval(e, get)` (same values, same errors)."""
    if isinstance(e, (Num, Text)):
        value = e.value
        return lambda get: value
    if isinstance(e, Ref):
        name = e.name
        return lambda get: get(name)
    if isinstance(e, Neg):
        inner = compile_expr(e.operand)
        return lambda get: -_number(inner(get))
    if isinstance(e, Op):
        return _compile_op(e.op, compile_expr(e.left), compile_expr(e.right))
    return _compile_call(e)


def _compile_op(op: str, left: Callable, right: Callable) -> Callable:
    if op in _COMPARISONS:
        def compare(get):
            return _compare(op, left(get), right(get))
        return compare
    arith = {"+": operator.add, "-": operator.sub, "*": operator.mul}.get(op)
    if arith is not None:
        def arithmetic(get):
            a, b = left(get), right(get)
            return arith(_number(a), _number(b))
        return arithmetic

    def divide(get):
        a, b = left(get), right(get)
        x, y = _number(a), _number(b)
        if y == 0:
            raise ExprError("#DIV/0!: 除数为0")
        return x / y
    return divide


def _compile_call(e: Call) -> Callable:
    parts = [compile_expr(a) for a in e.args]
    if e.func == "IF" and len(parts) < 2:
        return lambda get: _call(e, get)  # malformed (the parser never makes it): as _eval fails
    if e.func == "IF":
        cond, then = parts[0], parts[1]
        other = parts[2] if len(parts) > 2 else None

        def if_then(get):
            if _truth(cond(get)):
                return then(get)
            return other(get) if other is not None else False
        return if_then
    func, args = e.func, e.args
    if func in ("MIN", "MAX", "SUM"):
        return _compile_aggregate(func, args, parts)
    if func in _ROUNDING and len(parts) == 2:
        x, places, mode = parts[0], parts[1], _ROUNDING[func]
        if isinstance(args[1], Num) and type(args[1].value) is Decimal:
            try:
                exp = Decimal(1).scaleb(-int(args[1].value))  # ROUND(x, 2): the 0.01 once
            except (ValueError, OverflowError, ArithmeticError):
                exp = None
            if exp is not None:
                def rounded_to(get):
                    return quantize_exactly(_number(x(get)), exp, mode)
                return rounded_to

        def rounded(get):
            a, b = x(get), places(get)
            return _round(_number(a), _number(b), mode)
        return rounded

    def apply(get):
        return _apply(func, args, [p(get) for p in parts])
    return apply


def _compile_aggregate(func: str, args: tuple, parts: list) -> Callable:
    """MIN, MAX and SUM as `_apply` computes them, with the N() positions worked out once."""
    zeroed = [func != "SUM" and _maybe_reference(a) for a in args]
    pick = {"MIN": min, "MAX": max}.get(func)
    if pick is None:  # SUM: a running total, added in the same order as sum() of the list
        return _compile_sum(args, parts)

    def aggregate(get):
        nums = []
        for part, zero in zip(parts, zeroed):
            v = part(get)
            if zero and (v is None or isinstance(v, str)):
                nums.append(Decimal(0))
            elif not isinstance(v, str):
                nums.append(_number(v))
        return pick(nums, default=Decimal(0))
    if len(parts) != 2 or any(zeroed):
        return aggregate
    return _two_numbers(func == "MIN", args, parts, aggregate)


def _two_numbers(least: bool, args: tuple, parts: list, aggregate: Callable) -> Callable:
    """MIN(a, b) or MAX(a, b) of two numbers, as every subtotal's MAX(0, MIN(max, SUM(…))) is:
    `aggregate` of them without building a list. min() and max() keep the first of equal
    values (0 before 0.00), and so does this; any other value (blank, text, a logical value)
    goes to `aggregate`, which evaluates again from the start (a closure is a pure function of
    `get`), so values and errors stay those of `_eval`."""
    first, second = parts
    if isinstance(args[0], Num) and type(args[0].value) is Decimal:
        a = args[0].value

        def of_constant(get):
            b = second(get)
            if type(b) is Decimal:
                if least:
                    return b if b < a else a
                return b if b > a else a
            return aggregate(get)
        return of_constant

    def of_two(get):
        a = first(get)
        if type(a) is Decimal:
            b = second(get)
            if type(b) is Decimal:
                if least:
                    return b if b < a else a
                return b if b > a else a
        return aggregate(get)
    return of_two


def _compile_sum(args: tuple, parts: list) -> Callable:
    """SUM skips text and reads blank as 0. A subtotal is mostly SUM(ref, ref, …): its names
    are then looked up directly, without a closure call each (a third of scoring; issue 13)."""
    if all(isinstance(a, Ref) for a in args):
        names = [a.name for a in args]

        def sum_refs(get):
            total = Decimal(0)
            for name in names:
                v = get(name)
                if type(v) is Decimal:
                    total = total + v
                elif not isinstance(v, str):
                    total = total + _number(v)
            return total
        return sum_refs

    def sum_parts(get):
        total = Decimal(0)
        for part in parts:
            v = part(get)
            if type(v) is Decimal:
                total = total + v
            elif not isinstance(v, str):
                total = total + _number(v)
        return total
    return sum_parts


def _eval(e: Expr, get) -> Value:
    if isinstance(e, Num):
        return e.value
    if isinstance(e, Text):
        return e.value
    if isinstance(e, Ref):
        return get(e.name)
    if isinstance(e, Neg):
        return -_number(_eval(e.operand, get))
    if isinstance(e, Op):
        a, b = _eval(e.left, get), _eval(e.right, get)
        if e.op in ("=", "<>", "<", "<=", ">", ">="):
            return _compare(e.op, a, b)
        x, y = _number(a), _number(b)
        if e.op == "+":
            return x + y
        if e.op == "-":
            return x - y
        if e.op == "*":
            return x * y
        if y == 0:
            raise ExprError("#DIV/0!: 除数为0")
        return x / y
    return _call(e, get)


def _call(e: Call, get) -> Value:
    f, args = e.func, e.args
    if f == "IF":
        cond = _truth(_eval(args[0], get))
        if cond:
            return _eval(args[1], get)
        return _eval(args[2], get) if len(args) > 2 else False
    return _apply(f, args, [_eval(a, get) for a in args])


def _apply(f: str, args: tuple, vals: list) -> Value:
    """A function other than IF on its evaluated arguments (`args` tell MIN/MAX references)."""
    if f == "AND":
        return all(_truth(v) for v in vals)
    if f == "OR":
        return any(_truth(v) for v in vals)
    if f == "NOT":
        return not _truth(vals[0])
    if f in ("MIN", "MAX"):
        vals = _counted_as_zero(args, vals)
    if f in ("MIN", "MAX", "SUM"):
        # Like Excel with cell references: text (e.g. 待市级核定) is skipped.
        vals = [v for v in vals if not isinstance(v, str)]
    nums = [_number(v) for v in vals]
    if f == "MIN":
        return min(nums, default=Decimal(0))
    if f == "MAX":
        return max(nums, default=Decimal(0))
    if f == "SUM":
        return sum(nums, Decimal(0))
    if f == "ABS":
        return abs(nums[0])
    if f == "INT":
        return nums[0].to_integral_value(rounding=ROUND_FLOOR)
    if f in _ROUNDING:
        return _round(nums[0], nums[1], _ROUNDING[f])
    raise ExprError(f"不支持的函数 {f}")

