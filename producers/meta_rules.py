"""Meta rule expressions: a boolean and arithmetic language over other rules' hits.

The grammar is SpamAssassin's meta syntax (Perl precedence): ``||``, ``&&``,
comparisons, ``+ -``, ``* /``, unary ``!`` and ``-``, numbers, rule names and
parentheses. An expression compiles once into nested closures; nothing is ever
passed to ``eval``.

>>> expression, names = compile_meta("(A && !B) || C + D > 1")
>>> names
('A', 'B', 'C', 'D')
>>> expression({"A": 1, "B": 0, "C": 0, "D": 0}), expression({"A": 0, "B": 0, "C": 1, "D": 1})
(1.0, 1.0)
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping

Expression = Callable[[Mapping[str, float]], float]

# a rule name may hold inner hyphens (``make-money``): write subtraction with spaces
_TOKEN = re.compile(
    r"\s*(?:(\d+(?:\.\d+)?)|([A-Za-z_][A-Za-z0-9_]*(?:-[A-Za-z][A-Za-z0-9_]*)*)"
    r"|(&&|\|\||>=|<=|==|!=|[!()+\-*/<>]))"
)
MAX_LENGTH = 4000


class MetaError(ValueError):
    """A meta expression that does not parse; the message says where."""


def _tokens(text: str) -> list[str]:
    tokens: list[str] = []
    position = 0
    text = text.rstrip()
    while position < len(text):
        match = _TOKEN.match(text, position)
        if not match:
            raise MetaError(f"unexpected {text[position : position + 10]!r} at {position} in meta {text!r}")
        tokens.append(match.group(match.lastindex or 0))
        position = match.end()
    return tokens


_COMPARE: dict[str, Callable[[float, float], bool]] = {
    ">": lambda a, b: a > b,
    "<": lambda a, b: a < b,
    ">=": lambda a, b: a >= b,
    "<=": lambda a, b: a <= b,
    "==": lambda a, b: a == b,
    "!=": lambda a, b: a != b,
}


class _Parser:
    def __init__(self, tokens: list[str]) -> None:
        self.tokens = tokens
        self.position = 0
        self.names: list[str] = []

    def peek(self) -> str | None:
        return self.tokens[self.position] if self.position < len(self.tokens) else None

    def take(self) -> str:
        token = self.peek()
        if token is None:
            raise MetaError("meta expression ends too early")
        self.position += 1
        return token

    def parse(self) -> Expression:
        expression = self.either()
        if self.peek() is not None:
            raise MetaError(f"unexpected {self.peek()!r} in meta expression")
        return expression

    def either(self) -> Expression:
        left = self.both()
        while self.peek() == "||":
            self.take()
            right = self.both()
            left = (lambda a, b: lambda v: 1.0 if a(v) or b(v) else 0.0)(left, right)
        return left

    def both(self) -> Expression:
        left = self.comparison()
        while self.peek() == "&&":
            self.take()
            right = self.comparison()
            left = (lambda a, b: lambda v: 1.0 if a(v) and b(v) else 0.0)(left, right)
        return left

    def comparison(self) -> Expression:
        left = self.sum()
        token = self.peek()
        if token in _COMPARE:
            self.take()
            right = self.sum()
            compare = _COMPARE[token]
            return lambda v: 1.0 if compare(left(v), right(v)) else 0.0
        return left

    def sum(self) -> Expression:
        left = self.product()
        while self.peek() in ("+", "-"):
            op = self.take()
            right = self.product()
            left = ((lambda a, b: lambda v: a(v) + b(v)) if op == "+" else (lambda a, b: lambda v: a(v) - b(v)))(left, right)
        return left

    def product(self) -> Expression:
        left = self.unary()
        while self.peek() in ("*", "/"):
            op = self.take()
            right = self.unary()
            if op == "*":
                left = (lambda a, b: lambda v: a(v) * b(v))(left, right)
            else:
                left = (lambda a, b: lambda v: a(v) / b(v) if b(v) else 0.0)(left, right)
        return left

    def unary(self) -> Expression:
        token = self.peek()
        if token == "!":
            self.take()
            inner = self.unary()
            return lambda v: 0.0 if inner(v) else 1.0
        if token == "-":
            self.take()
            inner = self.unary()
            return lambda v: -inner(v)
        return self.primary()

    def primary(self) -> Expression:
        token = self.take()
        if token == "(":
            inner = self.either()
            if self.peek() != ")":
                raise MetaError("missing ')' in meta expression")
            self.take()
            return inner
        if token[0].isdigit():
            number = float(token)
            return lambda v: number
        if token[0].isalpha() or token[0] == "_":
            self.names.append(token)
            return lambda v: v.get(token, 0.0)
        raise MetaError(f"unexpected {token!r} in meta expression")


def compile_meta(text: str) -> tuple[Expression, tuple[str, ...]]:
    """The expression as a function of the rule values, and the rule names it reads."""
    if not text.strip():
        raise MetaError("'meta' must be a non-empty expression")
    if len(text) > MAX_LENGTH:
        raise MetaError(f"meta expression longer than {MAX_LENGTH} characters")
    parser = _Parser(_tokens(text))
    try:
        expression = parser.parse()
    except RecursionError:
        raise MetaError("meta expression nests too deeply") from None
    return expression, tuple(dict.fromkeys(parser.names))
