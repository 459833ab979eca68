from __future__ import annotations

from typing import Any

import pytest

from bootstrap import rules as hook_rules
from consumers.rules.registry import PatternError, Registry


def noop(event: Any, context: Any) -> list[Any]:
    return []


@pytest.mark.parametrize(("pattern", "path", "problem"), [
    ({"detail-type": "FirstContact"}, "detail-type", "an array of match values or an object"),
    ({"detail-type": []}, "detail-type", "empty array"),
    ({"detail": {"data": {"score": [{"numeric": [">", "ten"]}]}}}, "detail.data.score[0].numeric",
     "compares with a number"),
    ({"source": [{"startswith": "crm."}]}, "source[0]", "unknown operator 'startswith'"),
    ({"source": [{"exists": "yes"}]}, "source[0].exists", "'exists' takes true or false"),
    ({"$or": [{"source": ["a"]}]}, "$or", "at least two"),
    ({}, "top", "empty object"),
    ({"source": [{"anything-but": {"prefix": 123}}]}, "source[0].anything-but.prefix", "takes strings, got a number"),
])
def test_a_bad_pattern_is_refused_naming_the_rule_the_path_and_the_problem(pattern: dict[str, Any], path: str,
                                                                          problem: str) -> None:
    registry = Registry()
    with pytest.raises(PatternError) as error:
        registry.rule("my-rule", pattern=pattern)(noop)
    assert str(error.value).startswith(f"rule 'my-rule': pattern at {path!r}: ")
    assert problem in str(error.value)
    assert registry.rules() == []


def test_bad_names_and_duplicates_are_refused() -> None:
    registry = Registry()
    with pytest.raises(PatternError, match="lowercase"):
        registry.rule("My Rule", pattern={"source": ["x"]})(noop)
    registry.rule("one", pattern={"source": ["x"]})(noop)
    with pytest.raises(PatternError, match="twice"):
        registry.rule("one", pattern={"source": ["y"]})(lambda e, c: [])


def test_every_eventbridge_operator_is_accepted() -> None:
    Registry().rule("ops", pattern={
        "source": [{"prefix": "crm."}], "detail-type": [{"anything-but": ["SpamRejected"]}],
        "detail": {"data": {"score": [{"numeric": [">=", 10, "<", 90]}], "x": [{"exists": True}],
                            "y": [{"suffix": ".com"}], "z": [{"equals-ignore-case": "a"}],
                            "w": [{"wildcard": "*@acme.*"}], "n": [None, True, 3]}},
        "$or": [{"source": ["a"]}, {"source": ["b"]}],
    })(noop)


def test_the_builtin_rules_are_registered() -> None:
    names = {r.name for r in hook_rules().rules()}
    assert {"lead-scoring", "follow-up-after-reply", "nudge-after-inbound", "follow-up-reminder"} <= names
