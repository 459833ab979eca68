from __future__ import annotations

import json
import time

import pytest

from producers.patterns import DEFAULT_PATTERNS, PatternDocumentError, compile_patterns, first_match


def test_a_pattern_that_does_not_compile_is_reported_and_skipped() -> None:
    compiled = compile_patterns(
        json.dumps(
            [
                {"id": "broken", "pattern": "(unclosed", "fields": ["body"]},
                {"id": "pills", "pattern": r"\bviagra\b", "fields": ["body"], "flags": "i"},
                {"id": "badfield", "pattern": "x", "fields": ["headers"]},
                {"id": "badflag", "pattern": "x", "flags": "q"},
            ]
        )
    )
    assert [p.id for p in compiled.patterns] == ["pills"]
    problems = dict(compiled.errors)
    assert "does not compile" in problems["broken"]
    assert "unknown fields" in problems["badfield"]
    assert "unknown flag" in problems["badflag"]
    assert first_match(compiled, {"body": "VIAGRA here"}) is not None


def test_patterns_only_look_at_their_fields() -> None:
    compiled = compile_patterns([{"id": "s", "pattern": "casino", "fields": ["subject"]}])
    assert first_match(compiled, {"subject": "x", "body": "casino"}) is None
    hit = first_match(compiled, {"subject": "casino night", "body": ""})
    assert hit is not None and hit.field == "subject"


def test_a_catastrophic_pattern_hits_the_match_limit_instead_of_stalling() -> None:
    compiled = compile_patterns([{"id": "evil", "pattern": "(a+)+$", "fields": ["body"]}], match_limit=10_000)
    started = time.perf_counter()
    assert first_match(compiled, {"body": "a" * 5000 + "b"}) is None
    assert time.perf_counter() - started < 5


def test_a_document_that_is_not_a_list_is_an_error() -> None:
    with pytest.raises(PatternDocumentError):
        compile_patterns('{"id": "x"}')
    with pytest.raises(PatternDocumentError):
        compile_patterns("not json")


def test_shipped_patterns_compile_and_catch_obvious_spam_but_not_ham() -> None:
    compiled = compile_patterns(DEFAULT_PATTERNS)
    assert compiled.errors == []
    assert first_match(compiled, {"subject": "You WON a free iPhone", "body": ""}) is not None
    for ham in (
        "Staff Engineer role at Acme",
        "Can we talk about the casino-themed game engine? I won an award",
        "Invoice 2026-114 question",
    ):
        assert first_match(compiled, {"subject": ham, "body": ham}) is None, ham
