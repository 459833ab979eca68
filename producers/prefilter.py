"""Required literals: a cheap test that lets most rules skip the regex engine.

For a regex, :func:`required_literals` finds a set of ASCII strings such that every
match contains at least one of them (lower-cased), or None when it cannot say. A
text (lower-cased) that contains none of them cannot match, so the stage skips the
regex: the verdict is the same, only faster. With hundreds of rules (SpamAssassin's)
most rules need a word no given mail contains; this is what SpamAssassin's own
``sa-compile`` does with its "base strings".

The regex is read with Python's own regex parser (``re._parser``); a pattern it
does not read (PCRE-only syntax) simply has no prefilter.

>>> sorted(required_literals(r"\\b(?:cheap|discount)\\s+viagra", "i"))
['viagra']
>>> sorted(required_literals(r"(?:casino|jackpot)", ""))
['casino', 'jackpot']
>>> required_literals(r"\\d+", "") is None
True
"""

from __future__ import annotations

import re
from re import _constants as sre_constants  # type: ignore[attr-defined]  # the parser behind ``re`` (3.11+)
from re import _parser as sre_parse  # type: ignore[attr-defined]
from typing import Any

MIN_LENGTH = 3
MAX_LITERALS = 64
_LITERAL = sre_constants.LITERAL
_IN = sre_constants.IN
_BRANCH = sre_constants.BRANCH
_SUBPATTERN = sre_constants.SUBPATTERN
_REPEATS = {
    sre_constants.MAX_REPEAT,
    sre_constants.MIN_REPEAT,
    getattr(sre_constants, "POSSESSIVE_REPEAT", sre_constants.MAX_REPEAT),
}
_ATOMIC = getattr(sre_constants, "ATOMIC_GROUP", None)
_ZERO_WIDTH = {sre_constants.AT}
_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "x": re.VERBOSE}
_NAMED_GROUP = re.compile(r"\(\?<(?=[A-Za-z_])")
_Literals = frozenset[str]


def fold(text: str) -> str:
    """How texts are compared with literals: lower-cased, with the two non-ASCII
    letters that match an ASCII one caselessly (long s, Kelvin sign) made ASCII."""
    return text.lower().replace("\u017f", "s").replace("\u212a", "k")


def _char(code: int) -> str | None:
    if 32 <= code < 127:
        return chr(code).lower()
    return None


def _class_char(items: list[tuple[Any, Any]]) -> str | None:
    """The one ASCII letter a class like ``[vV]`` stands for, if it is one."""
    chars = set()
    for op, value in items:
        if op is not _LITERAL:
            return None
        char = _char(value)
        if char is None:
            return None
        chars.add(char)
    return chars.pop() if len(chars) == 1 else None


def _quality(literals: _Literals | None) -> int:
    return min((len(s) for s in literals), default=0) if literals else 0


def _sequence(items: Any) -> _Literals | None:
    """The best required-literal set of a sequence of regex nodes."""
    best: _Literals | None = None
    run: list[str] = []

    def close_run() -> None:
        nonlocal best
        if run:
            candidate = frozenset({"".join(run)})
            if _quality(candidate) > _quality(best):
                best = candidate
            run.clear()

    def consider(candidate: _Literals | None) -> None:
        nonlocal best
        if candidate and _quality(candidate) > _quality(best):
            best = candidate

    for op, value in items:
        if op is _LITERAL:
            char = _char(value)
            if char is None:
                close_run()
            else:
                run.append(char)
            continue
        if op is _IN:
            char = _class_char(value)
            if char is not None:
                run.append(char)
                continue
            close_run()
            continue
        if op in _ZERO_WIDTH:
            continue  # consumes nothing: the characters around it are still adjacent
        close_run()
        if op is _SUBPATTERN:
            consider(_sequence(value[-1]))
        elif _ATOMIC is not None and op is _ATOMIC:
            consider(_sequence(value))
        elif op is _BRANCH:
            consider(_branches(value[1]))
        elif op in _REPEATS:
            low, _high, inner = value
            if low >= 1:
                consider(_sequence(inner))
        # anything else (any char, classes, lookarounds, backreferences): no requirement
    close_run()
    return best


def _branches(branches: list[Any]) -> _Literals | None:
    union: set[str] = set()
    for branch in branches:
        literals = _sequence(branch)
        if not literals:
            return None
        union |= literals
    if len(union) > MAX_LITERALS:
        return None
    return frozenset(union)


def required_literals(pattern: str, flags: str = "") -> _Literals | None:
    """Strings (folded) of which every match of the regex contains one; None if unknown."""
    if "[:" in pattern or "[[" in pattern:  # POSIX classes read differently by Python's parser
        return None
    value = 0
    for letter in flags:
        value |= _FLAGS.get(letter, 0)
    source = _NAMED_GROUP.sub("(?P<", pattern).replace("\\z", "\\Z")
    try:
        parsed = sre_parse.parse(source, value)
    except (re.error, RecursionError, OverflowError, ValueError, TypeError, IndexError):
        return None
    try:
        literals = _sequence(parsed.data if hasattr(parsed, "data") else parsed)
    except RecursionError:
        return None
    if not literals or _quality(literals) < MIN_LENGTH:
        return None
    # a literal that is part of another is implied by it: keep the shorter one
    kept = frozenset(s for s in literals if not any(o != s and o in s for o in literals))
    return kept
