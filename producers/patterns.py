"""Stage 3 of the spam filter: PCRE2 patterns from a JSON document.

The document is a list of entries ``{"id", "pattern", "fields", "flags"}`` where
``fields`` is any of ``subject``, ``from``, ``body`` and ``flags`` any of
``i`` (caseless), ``m`` (multiline), ``s`` (dotall), ``x`` (extended). Patterns
compile once per container with JIT on; each carries a PCRE2 match limit, and
only the first N KB of text reach them, so a hostile pattern or body cannot stall
the Lambda. A pattern that does not compile is reported and skipped.

>>> compiled = compile_patterns('[{"id": "pills", "pattern": "viagra", "fields": ["body"], "flags": "i"}]')
>>> compiled.errors
[]
>>> first_match(compiled, {"subject": "hi", "from": "a@b.c", "body": "Cheap VIAGRA"}).pattern_id
'pills'
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

import pcre2

FIELDS = ("subject", "from", "body")
_FLAGS = {"i": pcre2.IGNORECASE, "m": pcre2.MULTILINE, "s": pcre2.DOTALL, "x": pcre2.VERBOSE}

DEFAULT_PATTERNS: list[dict[str, Any]] = [
    {"id": "pharma", "pattern": r"\b(viagra|cialis|levitra|tramadol|xanax)\b", "fields": ["subject", "body"],
     "flags": "i"},
    {"id": "casino", "pattern": r"\b(online casino|casino bonus|free spins|jackpot)\b", "fields": ["subject", "body"],
     "flags": "i"},
    {"id": "prize", "pattern": r"\b(you (have )?won|claim your (prize|reward)|bitcoin prize|free iphone|lottery winner)\b",
     "fields": ["subject", "body"], "flags": "i"},
    {"id": "crypto-giveaway", "pattern": r"\b(crypto giveaway|double your (bitcoin|btc|crypto))\b",
     "fields": ["subject", "body"], "flags": "i"},
]


class PatternDocumentError(ValueError):
    """The pattern document as a whole is unusable (not JSON, not a list)."""


@dataclass(frozen=True)
class CompiledPattern:
    id: str
    fields: tuple[str, ...]
    regex: Any  # pcre2.Pattern


@dataclass(frozen=True)
class CompiledPatterns:
    patterns: tuple[CompiledPattern, ...]
    errors: list[tuple[str, str]] = field(default_factory=list)  # (pattern id, problem)


@dataclass(frozen=True)
class PatternHit:
    pattern_id: str
    field: str
    excerpt: str


def parse_document(document: str | list[Any]) -> list[dict[str, Any]]:
    try:
        entries = json.loads(document) if isinstance(document, str) else document
    except json.JSONDecodeError as exc:
        raise PatternDocumentError(f"pattern list is not JSON: {exc}") from None
    if not isinstance(entries, list):
        raise PatternDocumentError("pattern list must be a JSON array of {id, pattern, fields, flags}")
    return entries


def compile_one(entry: Any, match_limit: int = 1_000_000) -> CompiledPattern:
    """Compile one entry or raise ValueError naming what is wrong with it."""
    if not isinstance(entry, dict):
        raise ValueError("entry is not an object")
    pattern = entry.get("pattern")
    if not isinstance(pattern, str) or not pattern:
        raise ValueError("'pattern' must be a non-empty string")
    fields = tuple(entry.get("fields") or FIELDS)
    unknown = [f for f in fields if f not in FIELDS]
    if unknown:
        raise ValueError(f"unknown fields {unknown} (known: {', '.join(FIELDS)})")
    flags = 0
    for letter in str(entry.get("flags") or ""):
        if letter not in _FLAGS:
            raise ValueError(f"unknown flag {letter!r} (known: {''.join(_FLAGS)})")
        flags |= _FLAGS[letter]
    # The inline limit bounds backtracking per match attempt, interpreted or JIT.
    try:
        regex = pcre2.compile(f"(*LIMIT_MATCH={int(match_limit)}){pattern}", flags, jit=True)
    except pcre2.PatternError as exc:
        raise ValueError(f"does not compile: {exc}") from None
    return CompiledPattern(str(entry.get("id") or pattern[:30]), fields, regex)


def compile_patterns(document: str | list[Any], match_limit: int = 1_000_000) -> CompiledPatterns:
    compiled, errors = [], []
    for index, entry in enumerate(parse_document(document)):
        pattern_id = str(entry.get("id")) if isinstance(entry, dict) and entry.get("id") else f"#{index}"
        try:
            compiled.append(compile_one(entry, match_limit))
        except ValueError as exc:
            errors.append((pattern_id, str(exc)))
    return CompiledPatterns(tuple(compiled), errors)


def first_match(compiled: CompiledPatterns, texts: dict[str, str]) -> PatternHit | None:
    """The first pattern that matches one of its fields. A pattern that hits its
    match limit counts as not matching (and never as spam): mail keeps flowing."""
    for pattern in compiled.patterns:
        for name in pattern.fields:
            text = texts.get(name) or ""
            try:
                match = pattern.regex.search(text)
            except pcre2.LibraryError:
                continue
            if match is not None:
                start = max(match.start() - 20, 0)
                return PatternHit(pattern.id, name, text[start : match.end() + 20])
    return None
