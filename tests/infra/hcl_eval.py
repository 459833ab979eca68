"""A small HCL evaluator: enough of OpenTofu's language to render ``infra/`` as a plan would.

It parses the HCL syntax itself (bodies, blocks, attributes, expressions with
templates, for-expressions, conditionals, operators, function calls, ``...``
expansion) and evaluates a module lazily: variables (inputs, then defaults),
locals, resources and data sources with ``count`` / ``for_each``, child modules,
outputs. Values known only after apply are synthesised the way AWS forms them:
a resource's ``arn`` from its name (see ``ARNS``), ``id`` = name.
``aws_iam_policy_document`` renders its (dynamic) statements to the JSON AWS
receives, which is what the IAM test evaluates.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

REGION = "us-east-1"
ACCOUNT = "123456789012"
PARTITION = "aws"

Env = dict[str, Any]
Expr = Callable[[Env], Any]


class HclError(Exception):
    pass


# --- syntax ------------------------------------------------------------------------------


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
        return f"line {line}: {self.text[self.pos:self.pos + 40]!r}"

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
                body.attributes[name] = Attribute(name, expr, self.text[start:self.pos].strip())
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
        match = _NUMBER.match(self.text, self.pos) or (
            _NUMBER.match(self.text, self.pos + 1) if c == "-" else None)
        if match:
            start = self.pos
            self.pos = match.end()
            text = self.text[start:self.pos]
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
        if self.peek("for") and re.match(r"for\s", self.text[self.pos:]):
            return self.for_expression("]")
        items: list[Expr] = []
        while not self.accept("]"):
            items.append(self.expression())
            self.accept(",")
        return lambda env: [i(env) for i in items]

    def object(self) -> Expr:
        self.expect("{")
        if self.peek("for") and re.match(r"for\s", self.text[self.pos:]):
            return self.for_expression("}")
        items: list[tuple[Expr, Expr]] = []
        while not self.accept("}"):
            self.skip()
            match = _IDENT.match(self.text, self.pos)
            if match and self.text[match.end():].lstrip(" \t").startswith(("=", ":")) and \
                    not self.text[match.end():].lstrip(" \t").startswith("=="):
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
        if self.peek("if") and re.match(r"if\s", self.text[self.pos:]):
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


# --- evaluation helpers ----------------------------------------------------------------------


def _string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        raise HclError("null in a string template")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _lookup(env: Env, name: str) -> Any:
    if name not in env:
        raise HclError(f"unknown name {name!r}")
    return env[name]


def _attr(expr: Expr, name: str) -> Expr:
    def get(env: Env) -> Any:
        value = expr(env)
        if isinstance(value, dict):
            if name not in value:
                raise HclError(f"no attribute {name!r} (has {sorted(value)[:20]})")
            return value[name]
        if isinstance(value, Lazy):
            return value[name]
        raise HclError(f"attribute {name!r} of {type(value).__name__}")

    return get


def _index(expr: Expr, key: Expr) -> Expr:
    def get(env: Env) -> Any:
        value, k = expr(env), key(env)
        if isinstance(value, list):
            return value[int(k)]
        return value[str(k)]

    return get


def _binary(op: str, left: Expr, right: Expr) -> Expr:
    if op == "&&":
        return lambda env: bool(left(env)) and bool(right(env))
    if op == "||":
        return lambda env: bool(left(env)) or bool(right(env))
    operations: dict[str, Callable[[Any, Any], Any]] = {
        "==": lambda a, b: a == b, "!=": lambda a, b: a != b, "<": lambda a, b: a < b, ">": lambda a, b: a > b,
        "<=": lambda a, b: a <= b, ">=": lambda a, b: a >= b, "+": lambda a, b: a + b, "-": lambda a, b: a - b,
        "*": lambda a, b: a * b, "/": lambda a, b: a / b, "%": lambda a, b: a % b,
    }
    operation = operations[op]
    return lambda env: operation(left(env), right(env))


def _lazy_call(name: str, args: list[Expr]) -> Expr:
    def run(env: Env) -> Any:
        for arg in args:
            try:
                value = arg(env)
                return True if name == "can" else value
            except (HclError, KeyError, IndexError, TypeError, ValueError):
                continue
        if name == "can":
            return False
        raise HclError("try(): no argument evaluated")

    return run


def _merge(*maps: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for m in maps:
        if m is not None:
            out.update(m)
    return out


def _set(values: Any) -> list[Any]:
    return sorted(dict.fromkeys(values), key=str)


FUNCTIONS: dict[str, Callable[..., Any]] = {
    "concat": lambda *lists: [x for lst in lists for x in lst],
    "length": len,
    "setintersection": lambda first, *others: [x for x in _set(first) if all(x in o for o in others)],
    "coalesce": lambda *values: next(v for v in values if v is not None and v != ""),
    "max": max, "min": min,
    "jsonencode": lambda v: json.dumps(v, separators=(",", ":")),
    "jsondecode": json.loads,
    "file": lambda path: Path(path).read_text(encoding="utf-8"),
    "split": lambda sep, s: s.split(sep),
    "join": lambda sep, items: sep.join(items),
    "compact": lambda items: [i for i in items if i not in (None, "")],
    "merge": _merge,
    "toset": _set, "tolist": list, "tomap": dict,
    "tostring": _string,
    "tonumber": float,
    "lookup": lambda m, k, default=None: m.get(k, default),
    "contains": lambda items, v: v in items,
    "keys": lambda m: sorted(m), "values": lambda m: [m[k] for k in sorted(m)],
    "lower": str.lower, "upper": str.upper,
    "flatten": lambda items: [x for i in items for x in (i if isinstance(i, list) else [i])],
    "distinct": lambda items: list(dict.fromkeys(items)),
    "replace": lambda s, a, b: s.replace(a, b),
    "startswith": str.startswith, "endswith": str.endswith,
    "sort": sorted,
    "format": lambda f, *a: re.sub(r"%[sd]", "{}", f).format(*a),
    "filebase64sha256": lambda path: "(sha256 of " + str(path) + ")",
    "abspath": lambda p: str(Path(p).resolve()),
}


@dataclass
class Thunk:
    expr: Expr
    scope: Env

    def __call__(self) -> Any:
        return self.expr(self.scope)


class Lazy:
    """A namespace whose entries are computed on first access (var, local, resources, ...)."""

    def __init__(self, compute: Callable[[str], Any], names: Callable[[], list[str]] | None = None) -> None:
        self._compute = compute
        self._names = names
        self._cache: dict[str, Any] = {}

    def __getitem__(self, name: str) -> Any:
        if name not in self._cache:
            self._cache[name] = self._compute(name)
        return self._cache[name]

    def items(self) -> list[tuple[str, Any]]:
        assert self._names is not None
        return [(n, self[n]) for n in self._names()]


# --- modules --------------------------------------------------------------------------------

# resource type -> (ARN template, attribute holding the name); {r} region, {a} account
ARNS: dict[str, tuple[str, str]] = {
    "aws_dynamodb_table": ("arn:aws:dynamodb:{r}:{a}:table/{n}", "name"),
    "aws_sqs_queue": ("arn:aws:sqs:{r}:{a}:{n}", "name"),
    "aws_ssm_parameter": ("arn:aws:ssm:{r}:{a}:parameter{n}", "name"),
    "aws_s3_bucket": ("arn:aws:s3:::{n}", "bucket"),
    "aws_cloudwatch_event_bus": ("arn:aws:events:{r}:{a}:event-bus/{n}", "name"),
    "aws_cloudwatch_event_rule": ("arn:aws:events:{r}:{a}:rule/{n}", "name"),
    "aws_cloudwatch_event_archive": ("arn:aws:events:{r}:{a}:archive/{n}", "name"),
    "aws_sesv2_email_identity": ("arn:aws:ses:{r}:{a}:identity/{n}", "email_identity"),
    "aws_sesv2_configuration_set": ("arn:aws:ses:{r}:{a}:configuration-set/{n}", "configuration_set_name"),
    "aws_cloudwatch_log_group": ("arn:aws:logs:{r}:{a}:log-group:{n}", "name"),
    "aws_sns_topic": ("arn:aws:sns:{r}:{a}:{n}", "name"),
    "aws_lambda_function": ("arn:aws:lambda:{r}:{a}:function:{n}", "function_name"),
    "aws_iam_role": ("arn:aws:iam::{a}:role/{n}", "name"),
    "aws_kms_key": ("arn:aws:kms:{r}:{a}:key/00000000-0000-4000-8000-000000000000", "description"),
}


def _queue_url(name: str) -> str:
    return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{name}"


def _statements(body: Body, env: Env) -> list[dict[str, Any]]:
    """Statements of an aws_iam_policy_document (static and dynamic), as AWS receives them."""
    out = []
    for kind, scope, block in _expand_blocks(body, "statement", env):
        del kind
        statement: dict[str, Any] = {}
        attrs = block.attributes
        if "sid" in attrs:
            statement["Sid"] = attrs["sid"].expr(scope)
        statement["Effect"] = attrs["effect"].expr(scope) if "effect" in attrs else "Allow"
        if "actions" in attrs:
            statement["Action"] = sorted(attrs["actions"].expr(scope))
        if "resources" in attrs:
            statement["Resource"] = sorted(attrs["resources"].expr(scope))
        conditions: dict[str, dict[str, list[str]]] = {}
        for _k, cscope, condition in _expand_blocks(block, "condition", scope):
            test = condition.attributes["test"].expr(cscope)
            variable = condition.attributes["variable"].expr(cscope)
            conditions.setdefault(test, {})[variable] = list(condition.attributes["values"].expr(cscope))
        if conditions:
            statement["Condition"] = conditions
        for principal in block.all("principals"):
            statement.setdefault("Principal", {})[principal.body.attributes["type"].expr(scope)] = \
                principal.body.attributes["identifiers"].expr(scope)
        out.append(statement)
    return out


def _expand_blocks(body: Body, kind: str, env: Env) -> list[tuple[str, Env, Body]]:
    found: list[tuple[str, Env, Body]] = [(kind, env, b.body) for b in body.all(kind)]
    for dynamic in body.all("dynamic"):
        if dynamic.labels != [kind]:
            continue
        iterator = dynamic.body.attributes.get("iterator")
        name = kind if iterator is None else iterator.source
        collection = dynamic.body.attributes["for_each"].expr(env)
        pairs = collection.items() if isinstance(collection, dict) else enumerate(collection)
        content = dynamic.body.all("content")[0].body
        for k, v in pairs:
            found.append((kind, {**env, name: {"key": k, "value": v}}, content))
    return found


class Module:
    def __init__(self, directory: Path, inputs: dict[str, Any], overrides: dict[str, str] | None = None) -> None:
        """``overrides``: file name -> text to use instead of the file (mutation tests)."""
        self.directory = directory
        self.inputs = inputs
        text = {p.name: p.read_text(encoding="utf-8") for p in sorted(directory.glob("*.tf"))}
        for key, replacement in (overrides or {}).items():
            folder, _, file = key.partition("/")
            if folder == directory.name:
                text[file] = replacement
        self.body = Body()
        for name in sorted(text):
            try:
                parsed = parse(text[name])
            except HclError as exc:
                raise HclError(f"{directory / name}: {exc}") from None
            self.body.attributes.update(parsed.attributes)
            self.body.blocks.extend(parsed.blocks)
        self.overrides = overrides or {}
        self.variables = {b.labels[0]: b.body for b in self.body.all("variable")}
        self.locals: dict[str, Attribute] = {}
        for block in self.body.all("locals"):
            self.locals.update(block.body.attributes)
        self.resources = {(b.labels[0], b.labels[1]): b.body for b in self.body.all("resource")}
        self.data = {(b.labels[0], b.labels[1]): b.body for b in self.body.all("data")}
        self.modules = {b.labels[0]: b.body for b in self.body.all("module")}
        self.outputs = {b.labels[0]: b.body for b in self.body.all("output")}
        self.env: Env = {
            "var": Lazy(self._var), "local": Lazy(self._local), "module": Lazy(self._module),
            "data": Lazy(lambda t: Lazy(lambda n: self._data(t, n))),
            "path": {"module": str(directory), "root": str(directory)},
        }
        for rtype in {t for t, _ in self.resources}:
            self.env[rtype] = Lazy(lambda n, t=rtype: self._resource(t, n))

    def _var(self, name: str) -> Any:
        if name in self.inputs:
            given = self.inputs[name]
            return given() if isinstance(given, Thunk) else given
        if name not in self.variables:
            raise HclError(f"{self.directory}: no variable {name!r}")
        default = self.variables[name].attributes.get("default")
        if default is None:
            raise HclError(f"{self.directory}: variable {name!r} has no value")
        return default.expr({})

    def _local(self, name: str) -> Any:
        return self.locals[name].expr(self.env)

    def _instances(self, body: Body) -> dict[str, Env] | None:
        """None: a single instance; else key -> scope with each/count."""
        if "for_each" in body.attributes:
            collection = body.attributes["for_each"].expr(self.env)
            if isinstance(collection, list):
                collection = {str(v): v for v in collection}
            return {str(k): {**self.env, "each": {"key": k, "value": v}} for k, v in dict(collection.items()).items()}
        if "count" in body.attributes:
            n = int(body.attributes["count"].expr(self.env))
            return {str(i): {**self.env, "count": {"index": i}} for i in range(n)}
        return None

    def _resource(self, rtype: str, name: str) -> Any:
        body = self.resources[(rtype, name)]
        instances = self._instances(body)
        if instances is None:
            return self._resource_instance(rtype, body, self.env)
        built = {k: self._resource_instance(rtype, body, scope) for k, scope in instances.items()}
        return built if "for_each" in body.attributes else [built[str(i)] for i in range(len(built))]

    def _resource_instance(self, rtype: str, body: Body, scope: Env) -> Lazy:
        def attribute(attr: str) -> Any:
            arn = ARNS.get(rtype)
            if attr in body.attributes:
                return body.attributes[attr].expr(scope)
            if attr == "arn" and arn:
                return arn[0].format(r=REGION, a=ACCOUNT, n=body.attributes[arn[1]].expr(scope))
            if attr in ("id", "name", "url") and arn and arn[1] in body.attributes:
                value = body.attributes[arn[1]].expr(scope)
                return _queue_url(value) if rtype == "aws_sqs_queue" and attr in ("id", "url") else value
            if attr == "key_id":
                return "00000000-0000-4000-8000-000000000000"
            raise HclError(f"{rtype}: attribute {attr!r} is known only after apply")

        return Lazy(attribute)

    def _data(self, dtype: str, name: str) -> Any:
        if dtype == "aws_region":
            return {"name": REGION, "region": REGION, "id": REGION}
        if dtype == "aws_caller_identity":
            return {"account_id": ACCOUNT}
        if dtype == "aws_partition":
            return {"partition": PARTITION, "dns_suffix": "amazonaws.com"}
        if dtype == "aws_iam_policy_document":
            body = self.data[(dtype, name)]
            document = {"Version": "2012-10-17", "Statement": _statements(body, self.env)}
            return {"json": json.dumps(document), "document": document}
        raise HclError(f"data source {dtype} is not supported")

    def _module(self, name: str) -> Any:
        body = self.modules[name]
        source = (self.directory / body.attributes["source"].expr({})).resolve()
        instances = self._instances(body)

        def build(scope: Env, key: str) -> Lazy:
            # inputs are evaluated when the child reads them: modules refer to each
            # other's outputs both ways (mail <-> producer), as OpenTofu's graph allows
            inputs = {k: Thunk(v.expr, scope) for k, v in body.attributes.items()
                      if k not in ("source", "for_each", "count", "depends_on", "providers", "version")}
            del key
            return Lazy(Module(source, inputs, self.overrides).output)

        if instances is None:
            return build(self.env, "")
        return {k: build(scope, k) for k, scope in instances.items()}

    def output(self, name: str) -> Any:
        return self.outputs[name].attributes["value"].expr(self.env)


def render_example(example: Path, tfvars: dict[str, Any], overrides: dict[str, str] | None = None) -> Module:
    """The root module ``example`` with ``tfvars``; ``overrides``: "<module dir name>/<file>" -> text."""
    return Module(example, tfvars, overrides)
