"""Stage 3 of the spam filter: scored PCRE2 rules from a JSON document.

The document is a list of rules, or ``{"threshold": 6.0, "patterns": [...]}``. A rule
is ``{"id", "pattern", "fields", "flags", "score", "describe", "negate", "if_unset"}``
or a meta rule ``{"id", "meta": "A && (B || !C)", "score", "describe"}``.

- ``fields``: any of ``subject``, ``from``, ``body`` (the rendered text, subject
  first, one paragraph a line), ``rawbody`` (decoded text parts, HTML unrendered),
  ``uri`` (the links of the mail, one a line) and ``header:NAME`` (every value of
  that header, one a line; ``header:NAME:addr`` its addresses, ``header:NAME:name``
  its display names; ``header:ALL`` every header as ``Name: value``).
- ``flags``: any of ``i`` (caseless), ``m`` (multiline), ``s`` (dotall), ``x`` (extended).
- ``score``: what the rule adds when it matches (negative for signs of ham). A rule
  without a score is a *sure hit*: it rejects by itself, as every rule did before
  scores existed. A rule with score 0 only feeds meta rules.
- ``negate``: the rule matches when the regex does *not* (SpamAssassin's ``!~``).
- ``meta``: a boolean/arithmetic expression over other rules' hits (1 or 0):
  ``&& || ! + - * / > < >= <= == !=`` and parentheses.

The stage sums the scores of every rule that matches and rejects at or above the
threshold. Rules compile once per document with JIT on and a PCRE2 match limit, and
only the first N KB of text reach them, so a hostile rule or body cannot stall the
Lambda. A rule that does not compile is reported and skipped; it never stops mail.

>>> compiled = compile_patterns('[{"id": "pills", "pattern": "viagra", "fields": ["body"], "flags": "i", "score": 3}]')
>>> verdict = score_texts(compiled, {"subject": "hi", "from": "a@b.c", "body": "Cheap VIAGRA"}, threshold=5)
>>> verdict.total, verdict.spam
(3.0, False)
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from functools import cached_property
from typing import Any

import ahocorasick
import msgspec
import pcre2

from producers.default_patterns import DEFAULT_PATTERNS, DEFAULT_THRESHOLD
from producers.meta_rules import MetaError, compile_meta
from producers.prefilter import fold, required_literals

FIELDS = ("subject", "from", "body")
TEXT_FIELDS = ("subject", "from", "body", "rawbody", "uri")
HEADER_MODIFIERS = ("addr", "name", "raw")
_HEADER_FIELD = re.compile(r"header:([!-9;-~]+)(?::(addr|name|raw))?")  # printable, no colon in the name
_DERIVED_FIELD = re.compile(r"derived:[a-z_]+(?:\([-0-9.,' a-z]*\))?")
_FLAGS = {"i": pcre2.IGNORECASE, "m": pcre2.MULTILINE, "s": pcre2.DOTALL, "x": pcre2.VERBOSE}
MAX_SCORE = 1000.0

__all__ = [
    "DEFAULT_PATTERNS",
    "DEFAULT_THRESHOLD",
    "FIELDS",
    "CompiledPatterns",
    "PatternDocumentError",
    "RuleHit",
    "Verdict",
    "compile_one",
    "compile_patterns",
    "first_match",
    "parse_container",
    "parse_document",
    "score_texts",
]


class PatternDocumentError(ValueError):
    """The pattern document as a whole is unusable (not JSON, not a list)."""


class CompiledPattern(msgspec.Struct, frozen=True):
    id: str
    fields: tuple[str, ...]
    regex: Any  # pcre2.Pattern
    score: float | None = None  # None: a sure hit
    describe: str = ""
    negate: bool = False
    if_unset: str | None = None
    literals: frozenset[str] | None = None  # every match contains one of these (folded); None: unknown


class CompiledMeta(msgspec.Struct, frozen=True):
    id: str
    expression: Callable[[Mapping[str, float]], float]
    references: tuple[str, ...]
    score: float | None = None
    describe: str = ""


class CompiledPatterns(msgspec.Struct, frozen=True, dict=True):
    patterns: tuple[CompiledPattern, ...]
    errors: list[tuple[str, str]] = msgspec.field(default_factory=list)  # (pattern id, problem)
    metas: tuple[CompiledMeta, ...] = ()  # in dependency order
    threshold: float | None = None  # the document's own threshold, if it sets one

    @cached_property
    def fields(self) -> frozenset[str]:
        """Every field some rule reads."""
        return frozenset(name for pattern in self.patterns for name in pattern.fields)

    @cached_property
    def prefilter(self) -> Prefilter:
        return Prefilter.build(self.patterns)


class Prefilter(msgspec.Struct, frozen=True):
    """Every rule's required literals in one Aho-Corasick automaton: one pass over a
    field's folded text tells which literals it holds, so only the rules one of whose
    literals is present (and those without literals, or negated) reach PCRE2."""

    automaton: Any  # ahocorasick.Automaton, or None when no rule has literals
    always: tuple[int, ...]  # rules that run whatever the text holds
    by_literal: Mapping[str, tuple[int, ...]]
    fields: frozenset[str]  # the fields some literal-carrying rule reads

    @classmethod
    def build(cls, patterns: tuple[CompiledPattern, ...]) -> Prefilter:
        always: list[int] = []
        by_literal: dict[str, list[int]] = {}
        fields: set[str] = set()
        for index, pattern in enumerate(patterns):
            # a negated rule holds where its regex fails, an if_unset text is not the mail's: always run
            if pattern.literals is None or pattern.negate or pattern.if_unset is not None:
                always.append(index)
                continue
            fields.update(pattern.fields)
            for literal in pattern.literals:
                by_literal.setdefault(literal, []).append(index)
        automaton = None
        if by_literal:
            automaton = ahocorasick.Automaton()
            for literal in by_literal:
                automaton.add_word(literal, literal)
            automaton.make_automaton()
        return cls(automaton, tuple(always), {k: tuple(v) for k, v in by_literal.items()}, frozenset(fields))

    def present(self, text: str) -> set[str]:
        """The literals the (unfolded) text holds."""
        if self.automaton is None or not text:
            return set()
        return {literal for _end, literal in self.automaton.iter(fold(text))}

    def candidates(self, present: Mapping[str, set[str]]) -> list[int]:
        """Rule indices that may match, in list order."""
        chosen = set(self.always)
        by_literal = self.by_literal
        for found in present.values():
            for literal in found:
                chosen.update(by_literal[literal])
        return sorted(chosen)


class PatternHit(msgspec.Struct, frozen=True):
    pattern_id: str
    field: str
    excerpt: str


class RuleHit(msgspec.Struct, frozen=True):
    id: str
    score: float | None
    field: str | None  # None for a meta rule
    excerpt: str
    describe: str = ""


class Verdict(msgspec.Struct, frozen=True):
    hits: tuple[RuleHit, ...]  # every scoring rule that matched, highest score first
    total: float  # the sum of their scores (sure hits count 0 here: they decide alone)
    threshold: float

    @property
    def sure(self) -> RuleHit | None:
        return next((h for h in self.hits if h.score is None), None)

    @property
    def spam(self) -> bool:
        return self.sure is not None or self.total >= self.threshold


def parse_container(document: str | list[Any] | dict[str, Any]) -> tuple[list[Any], float | None]:
    """The rules of a document and the threshold it sets (None: the setting's)."""
    try:
        value = json.loads(document) if isinstance(document, str) else document
    except json.JSONDecodeError as exc:
        raise PatternDocumentError(f"pattern list is not JSON: {exc}") from None
    threshold = None
    if isinstance(value, dict) and isinstance(value.get("patterns"), list):
        raw = value.get("threshold")
        if raw is not None:
            if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not -MAX_SCORE < raw < MAX_SCORE:
                raise PatternDocumentError(f"threshold must be a number, not {raw!r}")
            threshold = float(raw)
        value = value["patterns"]
    if not isinstance(value, list):
        raise PatternDocumentError(
            'pattern list must be a JSON array of {id, pattern, fields, flags, score} or {"threshold": N, "patterns": [...]}'
        )
    return value, threshold


def parse_document(document: str | list[Any] | dict[str, Any]) -> list[Any]:
    return parse_container(document)[0]


def _score(entry: dict[str, Any]) -> float | None:
    raw = entry.get("score")
    if raw is None:
        return None
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not -MAX_SCORE <= raw <= MAX_SCORE:
        raise ValueError(f"'score' must be a number between -{MAX_SCORE:g} and {MAX_SCORE:g}, not {raw!r}")
    return float(raw)


def check_field(name: str) -> None:
    if name in TEXT_FIELDS or _HEADER_FIELD.fullmatch(name):
        return
    raise ValueError(f"unknown fields [{name!r}] (known: {', '.join(TEXT_FIELDS)}, header:NAME[:addr|:name])")


def compile_one(entry: Any, match_limit: int = 1_000_000) -> CompiledPattern:
    """Compile one regex rule or raise ValueError naming what is wrong with it."""
    if not isinstance(entry, dict):
        raise ValueError("entry is not an object")
    pattern = entry.get("pattern")
    if not isinstance(pattern, str) or not pattern:
        raise ValueError("'pattern' must be a non-empty string")
    fields = tuple(entry.get("fields") or FIELDS)
    unknown = [
        f
        for f in fields
        if not isinstance(f, str) or not (f in TEXT_FIELDS or _HEADER_FIELD.fullmatch(f) or _DERIVED_FIELD.fullmatch(f))
    ]
    if unknown:
        raise ValueError(f"unknown fields {unknown} (known: {', '.join(TEXT_FIELDS)}, header:NAME[:addr|:name])")
    flags = 0
    for letter in str(entry.get("flags") or ""):
        if letter not in _FLAGS:
            raise ValueError(f"unknown flag {letter!r} (known: {''.join(_FLAGS)})")
        flags |= _FLAGS[letter]
    if_unset = entry.get("if_unset")
    if if_unset is not None and not isinstance(if_unset, str):
        raise ValueError("'if_unset' must be a string")
    score = _score(entry)
    # The inline limit bounds backtracking per match attempt, interpreted or JIT.
    try:
        regex = pcre2.compile(f"(*LIMIT_MATCH={int(match_limit)}){pattern}", flags, jit=True)
    except pcre2.PatternError as exc:
        raise ValueError(f"does not compile: {exc}") from None
    return CompiledPattern(
        str(entry.get("id") or pattern[:30]),
        fields,
        regex,
        score,
        str(entry.get("describe") or "")[:200],
        bool(entry.get("negate")),
        if_unset,
        required_literals(pattern, str(entry.get("flags") or "")),
    )


def _order_metas(
    metas: dict[str, tuple[dict[str, Any], CompiledMeta]], known: set[str], errors: list[tuple[str, str]]
) -> list[CompiledMeta]:
    """Metas in an order where each comes after the metas it reads; the others reported."""
    ordered: list[CompiledMeta] = []
    done: set[str] = set()
    state: dict[str, str] = {}

    def visit(name: str, chain: tuple[str, ...]) -> bool:
        if name in done:
            return True
        if name in known:
            return True
        if name not in metas:
            return False
        if state.get(name) == "visiting":
            raise MetaError(f"refers to itself through {' → '.join((*chain, name))}")
        if state.get(name) == "failed":
            return False
        state[name] = "visiting"
        meta = metas[name][1]
        missing = []
        for reference in meta.references:
            if not visit(reference, (*chain, name)):
                missing.append(reference)
        if missing:
            state[name] = "failed"
            errors.append((name, f"meta refers to unknown or skipped rules: {', '.join(sorted(set(missing)))}"))
            return False
        state[name] = "done"
        done.add(name)
        ordered.append(meta)
        return True

    for name in metas:
        try:
            visit(name, ())
        except MetaError as exc:
            state[name] = "failed"
            errors.append((name, f"meta {exc}"))
    return ordered


def compile_patterns(document: str | list[Any] | dict[str, Any], match_limit: int = 1_000_000) -> CompiledPatterns:
    entries, threshold = parse_container(document)
    compiled: list[CompiledPattern] = []
    errors: list[tuple[str, str]] = []
    metas: dict[str, tuple[dict[str, Any], CompiledMeta]] = {}
    for index, entry in enumerate(entries):
        pattern_id = str(entry.get("id")) if isinstance(entry, dict) and entry.get("id") else f"#{index}"
        try:
            if isinstance(entry, dict) and "meta" in entry:
                expression, references = compile_meta(str(entry.get("meta") or ""))
                metas[pattern_id] = (
                    entry,
                    CompiledMeta(pattern_id, expression, references, _score(entry), str(entry.get("describe") or "")[:200]),
                )
            else:
                compiled.append(compile_one(entry, match_limit))
        except (ValueError, MetaError) as exc:
            errors.append((pattern_id, str(exc)))
    ordered = _order_metas(metas, {p.id for p in compiled}, errors)
    return CompiledPatterns(tuple(compiled), errors, tuple(ordered), threshold)


def _excerpt(text: str, start: int, end: int) -> str:
    return text[max(start - 20, 0) : min(end + 20, start + 200)]


def _matches(pattern: CompiledPattern, name: str, text: str, present: Mapping[str, set[str]] | None) -> Any:
    # only rules the prefilter indexed may be ruled out by it: a negated or if_unset rule's
    # literals are not in the automaton, so their absence from ``present`` proves nothing
    if pattern.literals is not None and present is not None and not pattern.negate and pattern.if_unset is None:
        found = present.get(name)
        if found is not None and pattern.literals.isdisjoint(found):
            return None  # a literal every match contains is missing: the regex cannot match
    return pattern.regex.search(text)


def _search(
    pattern: CompiledPattern,
    texts: Mapping[str, str | None],
    absent_unknown: bool = False,
    present: Mapping[str, set[str]] | None = None,
) -> tuple[str, str] | None:
    """(field, excerpt) where the rule matches, or None. A regex that hits its match
    limit counts as not matching (and never as spam): mail keeps flowing.
    ``absent_unknown``: a field the texts lack is unknown (a bare text has no headers),
    so no rule on it matches, not even a negated one. ``present``: the literals each
    field's text holds (see :class:`Prefilter`)."""
    for name in pattern.fields:
        text = texts.get(name)
        if text is None and absent_unknown:
            continue
        cache = present
        if text is None:
            text = pattern.if_unset
            cache = None
            if text is None:
                if pattern.negate:  # SpamAssassin: an absent header does not match, so `!~` holds
                    return name, ""
                continue
        try:
            match = _matches(pattern, name, text, cache)
        except pcre2.LibraryError:
            continue
        if pattern.negate:
            if match is None:
                return name, ""
            continue
        if match is not None:
            return name, _excerpt(text, match.start(), match.end())
    return None


def score_texts(
    compiled: CompiledPatterns,
    texts: Mapping[str, str | None],
    *,
    threshold: float,
    absent_unknown: bool = False,
    prefilter: bool = True,
) -> Verdict:
    """Every rule over the texts; the scoring hits, their total, and the threshold
    in force (the document's own, else ``threshold``). ``prefilter=False`` runs every
    regex (the reference the prefilter must agree with)."""
    values: dict[str, float] = {}
    hits: list[RuleHit] = []
    # each field's text read once: a plain dict is much cheaper to consult per rule than a Mapping
    resolved = {name: texts.get(name) for name in compiled.fields}
    if absent_unknown:
        resolved = {k: v for k, v in resolved.items() if v is not None}
    patterns = compiled.patterns
    present: dict[str, set[str]] | None = None
    candidates: Iterable[int] = range(len(patterns))
    if prefilter:
        automaton = compiled.prefilter
        present = {
            name: automaton.present(text) for name, text in resolved.items() if text is not None and name in automaton.fields
        }
        candidates = automaton.candidates(present)  # the others cannot match: they stay 0
    for index in candidates:
        pattern = patterns[index]
        found = _search(pattern, resolved, absent_unknown, present)
        values[pattern.id] = 1.0 if found else 0.0
        if found and pattern.score != 0:
            hits.append(RuleHit(pattern.id, pattern.score, found[0], found[1], pattern.describe))
    for meta in compiled.metas:
        try:
            value = meta.expression(values)
        except (ArithmeticError, ValueError):
            value = 0.0
        values[meta.id] = 1.0 if value else 0.0
        if value and meta.score != 0:
            hits.append(RuleHit(meta.id, meta.score, None, "", meta.describe))
    hits.sort(key=lambda h: (h.score is not None, -(h.score or 0.0), h.id))
    total = round(sum(h.score for h in hits if h.score is not None), 3)
    return Verdict(tuple(hits), total, compiled.threshold if compiled.threshold is not None else threshold)


def first_match(compiled: CompiledPatterns, texts: Mapping[str, str | None]) -> PatternHit | None:
    """The first regex rule that matches one of its fields, whatever its score."""
    for pattern in compiled.patterns:
        found = _search(pattern, texts)
        if found:
            return PatternHit(pattern.id, found[0], found[1])
    return None
