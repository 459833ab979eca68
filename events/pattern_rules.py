"""EventBridge's rules for what an event pattern may be, checked before a rule is registered.

Written from AWS's documentation of event patterns and content filtering (the
comparison-operator table, "Content filtering in Amazon EventBridge event patterns",
"Arrays in event patterns", the quotas page), so that a pattern EventBridge would
refuse at ``PutRule`` is refused here, when the rule is registered, with the place in
the pattern and the problem:

- a pattern, and every nested object in it, is a non-empty JSON object;
- a field's value is an object (a nested field) or a non-empty array of match values;
- a match value is a string, a number, ``true``, ``false``, ``null``, or an object with
  exactly one operator: ``prefix``, ``suffix``, ``equals-ignore-case``, ``wildcard``,
  ``anything-but``, ``numeric``, ``exists``, ``cidr`` (arrays inside the array are not
  allowed);
- ``prefix`` / ``suffix`` take a string or ``{"equals-ignore-case": string}``;
  ``equals-ignore-case`` a string; ``exists`` true or false; ``cidr`` an IPv4 or IPv6
  network with a prefix length; ``wildcard`` a string without consecutive ``*`` where
  a backslash escapes only ``*`` or ``\\``;
- ``anything-but`` takes a string, a number, a non-empty list of only strings or only
  numbers, or an object with one of ``prefix``, ``suffix``, ``equals-ignore-case``,
  ``wildcard``, each taking a string or a non-empty list of strings (prefixes and
  suffixes non-empty);
- ``numeric`` takes ``[op, n]`` (``op`` one of ``< <= = > >=``) or a range
  ``[">"|">=", low, "<"|"<=", high]`` with ``low < high``; numbers lie within
  +/-5.0e9 (the documented limit of numeric matching);
- ``$or`` takes a list of at least two non-empty patterns, inside which no field may be
  named like an operator (``prefix``, ``numeric``, ``<`` ...: EventBridge reserves them);
- the pattern's JSON is at most :data:`MAX_PATTERN_CHARS` characters, and its ``$or``
  branches expand to at most :data:`MAX_COMBINATIONS` alternatives (EventBridge
  refuses rules that are "too complex"; AWS does not publish the exact threshold, so
  this bound is ours and errs on the side of refusing).

>>> validate_pattern({"detail": {"n": [{"numeric": [">", 10, "<=", 5]}]}})
Traceback (most recent call last):
...
events.pattern_rules.InvalidPattern: pattern at 'detail.n[0].numeric': the range's lower bound 10 is not below its upper bound 5
"""

from __future__ import annotations

import ipaddress
import json
import math
from typing import Any

OPERATORS = ("prefix", "suffix", "equals-ignore-case", "wildcard", "anything-but", "numeric", "exists", "cidr")
ANYTHING_BUT_FORMS = ("prefix", "suffix", "equals-ignore-case", "wildcard")
NUMERIC_OPS = ("<", "<=", "=", ">", ">=")
LOWER_BOUNDS = (">", ">=")
UPPER_BOUNDS = ("<", "<=")
NUMERIC_LIMIT = 5.0e9
# field names EventBridge refuses inside an $or branch (its operators and comparisons)
RESERVED_IN_OR = frozenset((*OPERATORS, "exactly", *NUMERIC_OPS))
MAX_PATTERN_CHARS = 2048
MAX_COMBINATIONS = 1000


class InvalidPattern(ValueError):
    """A pattern EventBridge would refuse; ``path`` is where in the pattern, ``problem`` what."""

    def __init__(self, path: str, problem: str) -> None:
        self.path = path or "top"
        self.problem = problem
        super().__init__(f"pattern at {self.path!r}: {problem}")


def validate_pattern(pattern: Any) -> None:
    """Raise :class:`InvalidPattern` unless EventBridge would accept ``pattern``."""
    if not isinstance(pattern, dict):
        raise InvalidPattern("", f"a pattern is a JSON object, got {_kind(pattern)}")
    _object(pattern, "")
    size = len(json.dumps(pattern))
    if size > MAX_PATTERN_CHARS:
        raise InvalidPattern("", f"the pattern is {size} characters, over EventBridge's {MAX_PATTERN_CHARS}")
    combinations = _combinations(pattern)
    if combinations > MAX_COMBINATIONS:
        raise InvalidPattern(
            "", f"the pattern is too complex: its $or branches expand to {combinations} alternatives, over {MAX_COMBINATIONS}"
        )


def is_valid(pattern: Any) -> bool:
    try:
        validate_pattern(pattern)
    except InvalidPattern:
        return False
    return True


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _object(pattern: dict[str, Any], path: str, in_or: bool = False) -> None:
    if not pattern:
        raise InvalidPattern(path, "an empty object matches nothing; EventBridge refuses it")
    for key, value in pattern.items():
        if not isinstance(key, str):
            raise InvalidPattern(path, f"field names are strings, got {key!r}")
        here = f"{path}.{key}" if path else key
        if in_or and key in RESERVED_IN_OR:
            raise InvalidPattern(here, f"{key!r} is reserved by EventBridge and cannot name a field inside '$or'")
        if key == "$or":
            _or(value, here)
        elif isinstance(value, dict):
            _object(value, here, in_or)
        elif isinstance(value, list):
            _values(value, here)
        else:
            raise InvalidPattern(here, f"a field's value is an array of match values or an object, got {_kind(value)}")


def _or(value: Any, path: str) -> None:
    if not isinstance(value, list) or len(value) < 2:
        raise InvalidPattern(path, "'$or' takes a list of at least two patterns")
    for i, alternative in enumerate(value):
        if not isinstance(alternative, dict):
            raise InvalidPattern(f"{path}[{i}]", f"each '$or' alternative is a pattern object, got {_kind(alternative)}")
        _object(alternative, f"{path}[{i}]", in_or=True)


def _values(values: list[Any], path: str) -> None:
    if not values:
        raise InvalidPattern(path, "an empty array matches nothing; EventBridge refuses it")
    for i, value in enumerate(values):
        here = f"{path}[{i}]"
        if isinstance(value, dict):
            _operator(value, here)
        elif isinstance(value, list):
            raise InvalidPattern(here, "arrays are not allowed inside a field's array of match values")
        elif value is not None and not _is_number(value) and not isinstance(value, (str, bool)):
            raise InvalidPattern(here, f"{value!r} is not a JSON value EventBridge can match")


def _number(value: Any, path: str) -> None:
    if not math.isfinite(value) or abs(value) > NUMERIC_LIMIT:
        raise InvalidPattern(path, f"{value!r} is outside numeric matching's range (+/-{NUMERIC_LIMIT:.1e})")


def _operator(value: dict[str, Any], path: str) -> None:
    if len(value) != 1:
        names = ", ".join(repr(k) for k in value) or "none"
        raise InvalidPattern(path, f"a match object holds exactly one operator, got {names}")
    ((op, arg),) = value.items()
    here = f"{path}.{op}"
    if op in ("prefix", "suffix"):
        _affix(op, arg, here)
    elif op == "equals-ignore-case":
        _string(op, arg, here)
    elif op == "wildcard":
        _wildcard(arg, here)
    elif op == "exists":
        if not isinstance(arg, bool):
            raise InvalidPattern(here, f"'exists' takes true or false, got {_kind(arg)}")
    elif op == "cidr":
        _cidr(arg, here)
    elif op == "numeric":
        _numeric(arg, here)
    elif op == "anything-but":
        _anything_but(arg, here)
    else:
        raise InvalidPattern(path, f"unknown operator {op!r} (EventBridge knows: {', '.join(OPERATORS)})")


def _string(op: str, arg: Any, path: str) -> None:
    if not isinstance(arg, str):
        raise InvalidPattern(path, f"{op!r} takes a string, got {_kind(arg)}")


def _affix(op: str, arg: Any, path: str) -> None:
    if isinstance(arg, dict):
        if list(arg) != ["equals-ignore-case"]:
            raise InvalidPattern(
                path,
                f'{op!r} takes a string or {{"equals-ignore-case": string}}, '
                f"got an object with {', '.join(repr(k) for k in arg) or 'no keys'}",
            )
        _string(f"{op} equals-ignore-case", arg["equals-ignore-case"], f"{path}.equals-ignore-case")
    elif not isinstance(arg, str):
        raise InvalidPattern(path, f'{op!r} takes a string or {{"equals-ignore-case": string}}, got {_kind(arg)}')


def _wildcard(arg: Any, path: str) -> None:
    _string("wildcard", arg, path)
    i = 0
    while i < len(arg):
        char = arg[i]
        if char == "\\":
            if i + 1 >= len(arg) or arg[i + 1] not in "*\\":
                raise InvalidPattern(path, f"a backslash escapes only '*' or '\\' (at character {i} of {arg!r})")
            i += 2
            continue
        if char == "*" and i + 1 < len(arg) and arg[i + 1] == "*":
            raise InvalidPattern(path, f"consecutive wildcard characters are not allowed (at character {i} of {arg!r})")
        i += 1


def _cidr(arg: Any, path: str) -> None:
    _string("cidr", arg, path)
    if arg.count("/") != 1:
        raise InvalidPattern(path, f"'cidr' takes a network with a prefix length, like 10.0.0.0/24; got {arg!r}")
    try:
        ipaddress.ip_network(arg, strict=False)
    except ValueError:
        raise InvalidPattern(path, f"{arg!r} is not an IPv4 or IPv6 network") from None


def _numeric(arg: Any, path: str) -> None:
    if not isinstance(arg, list) or len(arg) not in (2, 4):
        raise InvalidPattern(path, "'numeric' takes [op, number] or a range [op, low, op, high]")
    for i in range(0, len(arg), 2):
        op, number = arg[i], arg[i + 1]
        if op not in NUMERIC_OPS:
            raise InvalidPattern(path, f"{op!r} is not a numeric comparison ({' '.join(NUMERIC_OPS)})")
        if not _is_number(number):
            raise InvalidPattern(path, f"{op!r} compares with a number, got {_kind(number)} {number!r}")
        _number(number, path)
    if len(arg) == 4:
        if arg[0] not in LOWER_BOUNDS or arg[2] not in UPPER_BOUNDS:
            raise InvalidPattern(
                path,
                "a numeric range is a lower bound ('>' or '>=') then an upper bound "
                f"('<' or '<='), got {arg[0]!r} then {arg[2]!r}",
            )
        if not arg[1] < arg[3]:
            raise InvalidPattern(path, f"the range's lower bound {arg[1]!r} is not below its upper bound {arg[3]!r}")


def _anything_but(arg: Any, path: str) -> None:
    if isinstance(arg, str):
        return
    if _is_number(arg):
        _number(arg, path)
        return
    if isinstance(arg, list):
        if not arg:
            raise InvalidPattern(path, "'anything-but' takes a non-empty list")
        if all(isinstance(v, str) for v in arg):
            return
        if all(_is_number(v) for v in arg):
            for v in arg:
                _number(v, path)
            return
        raise InvalidPattern(path, "an 'anything-but' list holds only strings or only numbers")
    if isinstance(arg, dict):
        if len(arg) != 1 or next(iter(arg)) not in ANYTHING_BUT_FORMS:
            raise InvalidPattern(
                path,
                f"'anything-but' takes an object with exactly one of "
                f"{', '.join(ANYTHING_BUT_FORMS)}; got {', '.join(map(repr, arg)) or 'none'}",
            )
        ((form, inner),) = arg.items()
        here = f"{path}.{form}"
        items = inner if isinstance(inner, list) else [inner]
        if not items:
            raise InvalidPattern(here, f"'anything-but' {form!r} takes a string or a non-empty list of strings")
        for item in items:
            if not isinstance(item, str):
                raise InvalidPattern(here, f"'anything-but' {form!r} takes strings, got {_kind(item)}")
            if form in ("prefix", "suffix") and not item:
                raise InvalidPattern(here, f"'anything-but' {form!r} takes non-empty strings")
            if form == "wildcard":
                _wildcard(item, here)
        return
    raise InvalidPattern(
        path,
        f"'anything-but' takes a string, a number, a list of strings or of numbers, or an "
        f"object ({', '.join(ANYTHING_BUT_FORMS)}); got {_kind(arg)}",
    )


def _combinations(pattern: dict[str, Any]) -> int:
    """How many plain (``$or``-free) patterns this one stands for."""
    total = 1
    for key, value in pattern.items():
        if key == "$or":
            total *= sum(_combinations(alternative) for alternative in value)
        elif isinstance(value, dict):
            total *= _combinations(value)
    return total
