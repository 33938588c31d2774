"""Parser for the `formula` clause kind: Excel-subset text → `Expr`.

Grammar (Excel precedence): comparison < additive < multiplicative < unary minus < primary.
Fields and parameters are written in square brackets, e.g. `MIN(2, [5.3] * 1)`.
"""
from __future__ import annotations

import re
from decimal import Decimal

from .expr import FUNCTIONS, Call, Expr, ExprError, Neg, Num, Op, Ref, Text

_TOKEN = re.compile(r"""
    \s*(?:
      (?P<num>\d+(?:\.\d+)?)
    | (?P<ref>\[[^\]]+\])
    | (?P<str>"(?:[^"]|"")*")
    | (?P<name>[A-Za-z]+)
    | (?P<op><>|<=|>=|[-+*/=<>(),])
    )""", re.VERBOSE)


def tokenize(text: str) -> list[tuple[str, str]]:
    tokens, pos = [], 0
    text = text.strip()
    if text.startswith("="):
        text = text[1:]
    while pos < len(text):
        m = _TOKEN.match(text, pos)
        if not m or m.end() == pos:
            raise ExprError(f"第{pos + 1}个字符「{text[pos:pos + 5]}」无法识别")
        kind = m.lastgroup
        tokens.append((kind, m.group(kind)))
        pos = m.end()
        while pos < len(text) and text[pos].isspace():
            pos += 1
    return tokens


class _Parser:
    def __init__(self, tokens):
        self.tokens, self.i = tokens, 0

    def peek(self):
        return self.tokens[self.i] if self.i < len(self.tokens) else (None, None)

    def take(self, value=None):
        tok = self.peek()
        if tok[0] is None or (value is not None and tok[1] != value):
            raise ExprError(f"此处应为「{value}」，实际为「{tok[1] or '结尾'}」")
        self.i += 1
        return tok

    def expression(self) -> Expr:
        left = self.additive()
        while self.peek()[1] in ("=", "<>", "<", "<=", ">", ">="):
            op = self.take()[1]
            left = Op(op, left, self.additive())
        return left

    def additive(self) -> Expr:
        left = self.term()
        while self.peek()[1] in ("+", "-"):
            op = self.take()[1]
            left = Op(op, left, self.term())
        return left

    def term(self) -> Expr:
        left = self.unary()
        while self.peek()[1] in ("*", "/"):
            op = self.take()[1]
            left = Op(op, left, self.unary())
        return left

    def unary(self) -> Expr:
        if self.peek()[1] == "-":
            self.take()
            return Neg(self.unary())
        if self.peek()[1] == "+":
            self.take()
        return self.primary()

    def primary(self) -> Expr:
        kind, value = self.take()
        if kind == "num":
            return Num(Decimal(value))
        if kind == "str":
            return Text(value[1:-1].replace('""', '"'))
        if kind == "ref":
            return Ref(value[1:-1].strip())
        if kind == "name":
            return self.function(value.upper())
        if value == "(":
            inner = self.expression()
            self.take(")")
            return inner
        raise ExprError(f"此处不应出现「{value}」")

    def function(self, name: str) -> Expr:
        if name not in FUNCTIONS:
            raise ExprError(f"不支持的函数 {name}（可用：{'、'.join(FUNCTIONS)}）")
        self.take("(")
        args = []
        if self.peek()[1] != ")":
            args.append(self.expression())
            while self.peek()[1] == ",":
                self.take()
                args.append(self.expression())
        self.take(")")
        return Call(name, tuple(args))


def parse(text: str) -> Expr:
    """Parse an expression; raises ExprError with a Chinese message on bad syntax."""
    parser = _Parser(tokenize(text))
    expr = parser.expression()
    if parser.peek()[0] is not None:
        raise ExprError(f"多余的内容「{parser.peek()[1]}」")
    return expr
