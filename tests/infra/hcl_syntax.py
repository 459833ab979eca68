"""HCL syntax: bodies, blocks, attributes, and expressions (templates, for-expressions,
conditionals, operators, function calls, ``...`` expansion) compiled to closures over an environment."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from .hcl_values import FUNCTIONS, Env, Expr, HclError, _attr, _binary, _index, _lazy_call, _lookup, _string


@dataclass
class Attribute:
    name: str
    expr: Expr
    source: str


@dataclass
class Block:
    type: str
    labels: list[str]
    body: Body


@dataclass
class Body:
    attributes: dict[str, Attribute] = field(default_factory=dict)
    blocks: list[Block] = field(default_factory=list)

    def all(self, kind: str) -> list[Block]:
        return [b for b in self.blocks if b.type == kind]


_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")
_NUMBER = re.compile(r"\d+(\.\d+)?([eE][+-]?\d+)?")
_OPERATORS = [("||",), ("&&",), ("==", "!="), ("<=", ">=", "<", ">"), ("+", "-"), ("*", "/", "%")]


class Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    # whitespace and comments; newlines matter only between attributes/elements
    def skip(self, newlines: bool = True) -> None:
        while self.pos < len(self.text):
            c = self.text[self.pos]
            if c in " \t\r" or (newlines and c == "\n"):
                self.pos += 1
            elif c == "#" or self.text.startswith("//", self.pos):
                end = self.text.find("\n", self.pos)
                self.pos = len(self.text) if end < 0 else end
            elif self.text.startswith("/*", self.pos):
                self.pos = self.text.index("*/", self.pos) + 2
            else:
                return

    def peek(self, token: str) -> bool:
        self.skip()
        return self.text.startswith(token, self.pos)

    def accept(self, token: str) -> bool:
        if self.peek(token):
            self.pos += len(token)
            return True
        return False

    def expect(self, token: str) -> None:
        if not self.accept(token):
            raise HclError(f"expected {token!r} at {self.where()}")

    def where(self) -> str:
        line = self.text.count("\n", 0, self.pos) + 1
        return f"line {line}: {self.text[self.pos : self.pos + 40]!r}"

    def ident(self) -> str:
        self.skip()
        match = _IDENT.match(self.text, self.pos)
        if not match:
            raise HclError(f"expected a name at {self.where()}")
        self.pos = match.end()
        return match.group()

    # body ---------------------------------------------------------------------------------

    def body(self, closing: str | None = None) -> Body:
        body = Body()
        while True:
            self.skip()
            if closing and self.accept(closing):
                return body
            if self.pos >= len(self.text):
                if closing:
                    raise HclError(f"missing {closing!r}")
                return body
            name = self.ident()
            self.skip(newlines=False)
            if self.text.startswith("=", self.pos) and not self.text.startswith("==", self.pos):
                self.pos += 1
                start = self.pos
                expr = self.expression()
                body.attributes[name] = Attribute(name, expr, self.text[start : self.pos].strip())
                continue
            labels = []
            while not self.peek("{"):
                labels.append(self.string_literal() if self.peek('"') else self.ident())
            self.expect("{")
            body.blocks.append(Block(name, labels, self.body("}")))

    def string_literal(self) -> str:
        expr = self.template()
        return str(expr({}))

    # expressions --------------------------------------------------------------------------

    def expression(self) -> Expr:
        condition = self.binary(0)
        if self.accept("?"):
            yes = self.expression()
            self.expect(":")
            no = self.expression()
            return lambda env: yes(env) if condition(env) else no(env)
        return condition

    def binary(self, level: int) -> Expr:
        if level == len(_OPERATORS):
            return self.unary()
        left = self.binary(level + 1)
        while True:
            self.skip()
            op = next((o for o in _OPERATORS[level] if self.text.startswith(o, self.pos)), None)
            if op is None or self.text.startswith(("=>", "//", "/*"), self.pos):
                return left
            self.pos += len(op)
            right = self.binary(level + 1)
            left = _binary(op, left, right)

    def unary(self) -> Expr:
        if self.accept("!"):
            inner = self.unary()
            return lambda env: not inner(env)
        if self.peek("-") and not _NUMBER.match(self.text, self.pos + 1):
            self.pos += 1
            inner = self.unary()
            return lambda env: -inner(env)
        return self.postfix(self.primary())

    def postfix(self, expr: Expr) -> Expr:
        while True:
            self.skip(newlines=False)
            if self.text.startswith(".", self.pos) and not self.text.startswith("...", self.pos):
                self.pos += 1
                if self.text.startswith("*", self.pos):
                    raise HclError("splat expressions are not supported")
                name = self.ident()
                expr = _attr(expr, name)
            elif self.text.startswith("[", self.pos):
                self.pos += 1
                key = self.expression()
                self.expect("]")
                expr = _index(expr, key)
            else:
                return expr

    def primary(self) -> Expr:
        self.skip()
        c = self.text[self.pos]
        if c == '"':
            return self.template()
        if c == "(":
            self.pos += 1
            inner = self.expression()
            self.expect(")")
            return inner
        if c == "[":
            return self.tuple()
        if c == "{":
            return self.object()
        match = _NUMBER.match(self.text, self.pos) or (_NUMBER.match(self.text, self.pos + 1) if c == "-" else None)
        if match:
            start = self.pos
            self.pos = match.end()
            text = self.text[start : self.pos]
            number = float(text) if any(ch in text for ch in ".eE") else int(text)
            return lambda env: number
        name = self.ident()
        if name in ("true", "false", "null"):
            constant = {"true": True, "false": False, "null": None}[name]
            return lambda env: constant
        if self.peek("("):
            return self.call(name)
        return lambda env: _lookup(env, name)

    def call(self, name: str) -> Expr:
        self.expect("(")
        args: list[Expr] = []
        expand = False
        while not self.accept(")"):
            args.append(self.expression())
            if self.accept("..."):
                expand = True
            self.accept(",")

        def run(env: Env) -> Any:
            function = FUNCTIONS.get(name)
            if function is None:
                raise HclError(f"function {name}() is not supported")
            values = [a(env) for a in args]
            if expand:
                values = [*values[:-1], *values[-1]]
            return function(*values)

        if name in ("try", "can"):
            return _lazy_call(name, args)
        return run

    def tuple(self) -> Expr:
        self.expect("[")
        if self.peek("for") and re.match(r"for\s", self.text[self.pos :]):
            return self.for_expression("]")
        items: list[Expr] = []
        while not self.accept("]"):
            items.append(self.expression())
            self.accept(",")
        return lambda env: [i(env) for i in items]

    def object(self) -> Expr:
        self.expect("{")
        if self.peek("for") and re.match(r"for\s", self.text[self.pos :]):
            return self.for_expression("}")
        items: list[tuple[Expr, Expr]] = []
        while not self.accept("}"):
            self.skip()
            match = _IDENT.match(self.text, self.pos)
            if (
                match
                and self.text[match.end() :].lstrip(" \t").startswith(("=", ":"))
                and not self.text[match.end() :].lstrip(" \t").startswith("==")
            ):
                name = match.group()
                self.pos = match.end()
                key: Expr = lambda env, n=name: n  # noqa: E731 - a bare name is a literal key
            else:
                key = self.expression()
            if not (self.accept("=") or self.accept(":")):
                raise HclError(f"expected = in an object at {self.where()}")
            items.append((key, self.expression()))
            self.accept(",")
        return lambda env: {str(k(env)): v(env) for k, v in items}

    def for_expression(self, closing: str) -> Expr:
        self.expect("for")
        names = [self.ident()]
        if self.accept(","):
            names.append(self.ident())
        self.expect("in")
        source = self.expression()
        self.expect(":")
        key_expr = self.expression()
        value_expr: Expr | None = None
        if closing == "}":
            self.expect("=>")
            value_expr = self.expression()
            self.accept("...")
        condition: Expr | None = None
        if self.peek("if") and re.match(r"if\s", self.text[self.pos :]):
            self.pos += 2
            condition = self.expression()
        self.expect(closing)

        def run(env: Env) -> Any:
            collection = source(env)
            pairs = collection.items() if isinstance(collection, dict) else enumerate(collection)
            out_list, out_map = [], {}
            for k, v in pairs:
                scope = {**env, names[-1]: v}
                if len(names) == 2:
                    scope[names[0]] = k
                if condition is not None and not condition(scope):
                    continue
                if value_expr is None:
                    out_list.append(key_expr(scope))
                else:
                    out_map[str(key_expr(scope))] = value_expr(scope)
            return out_list if value_expr is None else out_map

        return run

    def template(self) -> Expr:
        self.skip()
        self.expect('"')
        parts: list[Expr | str] = []
        literal: list[str] = []
        while True:
            c = self.text[self.pos]
            if c == '"':
                self.pos += 1
                break
            if c == "\\":
                escaped = self.text[self.pos + 1]
                literal.append({"n": "\n", "t": "\t", '"': '"', "\\": "\\"}.get(escaped, escaped))
                self.pos += 2
            elif self.text.startswith("$${", self.pos):
                literal.append("${")
                self.pos += 3
            elif self.text.startswith("${", self.pos):
                if literal:
                    parts.append("".join(literal))
                    literal = []
                self.pos += 2
                parts.append(self.expression())
                self.expect("}")
            else:
                literal.append(c)
                self.pos += 1
        if literal:
            parts.append("".join(literal))
        if len(parts) == 1 and not isinstance(parts[0], str):
            only = parts[0]
            return lambda env: only(env)  # "${x}" is x itself, not its string
        frozen = list(parts)
        return lambda env: "".join(p if isinstance(p, str) else _string(p(env)) for p in frozen)


@cache
def parse(text: str) -> Body:
    """The body of one file (cached by text: the mutation test renders the same files often; never mutated)."""
    return Parser(text).body()
