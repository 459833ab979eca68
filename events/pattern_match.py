"""EventBridge's matching of an event pattern against an event, as a pure function.

The event is the whole envelope as EventBridge delivers it (``version``, ``id``,
``detail-type``, ``source``, ``account``, ``time``, ``region``, ``resources``,
``detail``), so a pattern may test any of its fields. The semantics are AWS's
documented ones:

- every field named in the pattern must match (and); a field matches when any of its
  match values does (or); ``$or`` matches when any of its alternatives does;
- a nested pattern object descends into the event's object; when the event holds an
  array of objects there, one element must match the whole nested pattern;
- when the event's value is an array, the field matches when any element does;
- exact values are type-sensitive: ``"5"`` is not ``5``, ``5`` is ``5.0``;
  ``prefix``/``suffix``/``equals-ignore-case``/``wildcard``/``cidr`` only match
  strings, ``numeric`` only numbers;
- ``exists`` works on leaf values only: a field holding an object (or an empty array)
  does not exist for it; ``anything-but`` never matches a missing field, and matches any
  present value it does not exclude (a number is not excluded by a string form).

:func:`matches` assumes a pattern that :func:`events.pattern_rules.validate_pattern`
accepts (rules are validated when they are registered).

>>> event = {"source": "crm.inbound", "detail-type": "MessageReceived",
...          "detail": {"data": {"attachment_count": 2, "from_address": "jane@acme.com"}}}
>>> matches({"detail": {"data": {"attachment_count": [{"numeric": [">", 0]}]}}}, event)
True
>>> matches({"source": [{"anything-but": {"prefix": "crm."}}]}, event)
False
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterator
from functools import lru_cache
from typing import Any

from events.pattern_rules import validate_pattern

_MISSING = object()


def matches(pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    """True when EventBridge would deliver ``event`` to a rule with ``pattern``."""
    return _fields(pattern, event)


def validated_match(pattern: Any, event: dict[str, Any]) -> bool:
    """:func:`matches`, after refusing a pattern EventBridge would refuse (InvalidPattern)."""
    validate_pattern(pattern)
    return matches(pattern, event)


def _fields(pattern: dict[str, Any], obj: dict[str, Any]) -> bool:
    for key, expected in pattern.items():
        if key == "$or":
            if not any(_fields(alternative, obj) for alternative in expected):
                return False
        elif isinstance(expected, dict):
            if not _nested(expected, obj.get(key, _MISSING)):
                return False
        elif not _leaf(expected, obj.get(key, _MISSING)):
            return False
    return True


def _objects(value: Any) -> Iterator[dict[str, Any]]:
    if isinstance(value, dict):
        yield value
    elif isinstance(value, list):
        for item in value:
            yield from _objects(item)


def _nested(pattern: dict[str, Any], value: Any) -> bool:
    candidates = list(_objects(value))
    if not candidates:
        # nothing to descend into: every field below is missing (exists: false can still hold)
        return _fields(pattern, {})
    return any(_fields(pattern, candidate) for candidate in candidates)


def _leaves(value: Any) -> Iterator[Any]:
    if isinstance(value, list):
        for item in value:
            yield from _leaves(item)
    elif not isinstance(value, dict):
        yield value


def _leaf(matchers: list[Any], value: Any) -> bool:
    values = [] if value is _MISSING else list(_leaves(value))
    present = bool(values)
    for matcher in matchers:
        if isinstance(matcher, dict) and "exists" in matcher:
            if matcher["exists"] is present:
                return True
        elif any(_value(matcher, v) for v in values):
            return True
    return False


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _equal(expected: Any, value: Any) -> bool:
    """JSON equality, type-sensitive (``True`` is not ``1``, ``"5"`` is not ``5``)."""
    if _is_number(expected):
        return _is_number(value) and value == expected
    if isinstance(expected, bool) or expected is None:
        return value is expected
    return isinstance(value, str) and value == expected


def _value(matcher: Any, value: Any) -> bool:
    if not isinstance(matcher, dict):
        return _equal(matcher, value)
    ((op, arg),) = matcher.items()
    if op == "numeric":
        return _is_number(value) and _numeric(arg, value)
    if op == "anything-but":
        return _anything_but(arg, value)
    if not isinstance(value, str):
        return False
    if op == "prefix":
        return _affix(arg, value, str.startswith)
    if op == "suffix":
        return _affix(arg, value, str.endswith)
    if op == "equals-ignore-case":
        return value.lower() == str(arg).lower()
    if op == "wildcard":
        return _wildcard(arg).fullmatch(value) is not None
    if op == "cidr":
        return _in_network(arg, value)
    return False


def _affix(arg: Any, value: str, test: Callable[[str, str], bool]) -> bool:
    if isinstance(arg, dict):
        return bool(test(value.lower(), arg["equals-ignore-case"].lower()))
    return bool(test(value, arg))


_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    "=": lambda a, b: a == b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}


def _numeric(arg: list[Any], value: float) -> bool:
    return all(_COMPARE[arg[i]](value, arg[i + 1]) for i in range(0, len(arg), 2))


def _anything_but(arg: Any, value: Any) -> bool:
    if isinstance(arg, dict):
        ((form, inner),) = arg.items()
        if not isinstance(value, str):
            return True  # a number, true/false or null is none of the strings it excludes
        items = inner if isinstance(inner, list) else [inner]
        if form == "prefix":
            return not any(value.startswith(item) for item in items)
        if form == "suffix":
            return not any(value.endswith(item) for item in items)
        if form == "equals-ignore-case":
            return all(value.lower() != item.lower() for item in items)
        return all(_wildcard(item).fullmatch(value) is None for item in items)
    excluded = arg if isinstance(arg, list) else [arg]
    return not any(_equal(item, value) for item in excluded)


@lru_cache(maxsize=4096)
def _wildcard(pattern: str) -> re.Pattern[str]:
    parts, literal, i = [], [], 0
    while i < len(pattern):
        char = pattern[i]
        if char == "\\" and i + 1 < len(pattern):
            literal.append(pattern[i + 1])
            i += 2
            continue
        if char == "*":
            parts.append(re.escape("".join(literal)))
            parts.append(".*")
            literal = []
        else:
            literal.append(char)
        i += 1
    parts.append(re.escape("".join(literal)))
    return re.compile("".join(parts), re.DOTALL)


@lru_cache(maxsize=1024)
def _network(cidr: str) -> ipaddress.IPv4Network | ipaddress.IPv6Network:
    return ipaddress.ip_network(cidr, strict=False)


def _in_network(cidr: str, value: str) -> bool:
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return False
    network = _network(cidr)
    return address.version == network.version and address in network
