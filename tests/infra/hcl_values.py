"""The values an HCL expression works with: the environment it is evaluated in, the errors,
the operators and built-in functions, and the lazy namespaces a module fills on first access."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Env = dict[str, Any]
Expr = Callable[[Env], Any]


class HclError(Exception):
    pass


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
        "==": lambda a, b: a == b,
        "!=": lambda a, b: a != b,
        "<": lambda a, b: a < b,
        ">": lambda a, b: a > b,
        "<=": lambda a, b: a <= b,
        ">=": lambda a, b: a >= b,
        "+": lambda a, b: a + b,
        "-": lambda a, b: a - b,
        "*": lambda a, b: a * b,
        "/": lambda a, b: a / b,
        "%": lambda a, b: a % b,
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
    "max": max,
    "min": min,
    "jsonencode": lambda v: json.dumps(v, separators=(",", ":")),
    "jsondecode": json.loads,
    "file": lambda path: Path(path).read_text(encoding="utf-8"),
    "split": lambda sep, s: s.split(sep),
    "join": lambda sep, items: sep.join(items),
    "compact": lambda items: [i for i in items if i not in (None, "")],
    "merge": _merge,
    "toset": _set,
    "tolist": list,
    "tomap": dict,
    "tostring": _string,
    "tonumber": float,
    "lookup": lambda m, k, default=None: m.get(k, default),
    "contains": lambda items, v: v in items,
    "keys": lambda m: sorted(m),
    "values": lambda m: [m[k] for k in sorted(m)],
    "lower": str.lower,
    "upper": str.upper,
    "flatten": lambda items: [x for i in items for x in (i if isinstance(i, list) else [i])],
    "distinct": lambda items: list(dict.fromkeys(items)),
    "replace": lambda s, a, b: s.replace(a, b),
    "startswith": str.startswith,
    "endswith": str.endswith,
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
