from __future__ import annotations

import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bootstrap import rules as hook_rules
from consumers.rules.registry import PatternError, Registry


def noop(event: Any, context: Any) -> list[Any]:
    return []


@pytest.mark.parametrize(
    ("pattern", "path", "problem"),
    [
        ({"detail-type": "FirstContact"}, "detail-type", "an array of match values or an object"),
        ({"detail-type": []}, "detail-type", "empty array"),
        ({"detail": {"data": {"score": [{"numeric": [">", "ten"]}]}}}, "detail.data.score[0].numeric", "compares with a number"),
        ({"source": [{"startswith": "crm."}]}, "source[0]", "unknown operator 'startswith'"),
        ({"source": [{"exists": "yes"}]}, "source[0].exists", "'exists' takes true or false"),
        ({"$or": [{"source": ["a"]}]}, "$or", "at least two"),
        ({}, "top", "empty object"),
        ({"source": [{"anything-but": {"prefix": 123}}]}, "source[0].anything-but.prefix", "takes strings, got a number"),
    ],
)
def test_a_bad_pattern_is_refused_naming_the_rule_the_path_and_the_problem(
    pattern: dict[str, Any], path: str, problem: str
) -> None:
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
    Registry().rule(
        "ops",
        pattern={
            "source": [{"prefix": "crm."}],
            "detail-type": [{"anything-but": ["SpamRejected"]}],
            "detail": {
                "data": {
                    "score": [{"numeric": [">=", 10, "<", 90]}],
                    "x": [{"exists": True}],
                    "y": [{"suffix": ".com"}],
                    "z": [{"equals-ignore-case": "a"}],
                    "w": [{"wildcard": "*@acme.*"}],
                    "n": [None, True, 3],
                }
            },
            "$or": [{"source": ["a"]}, {"source": ["b"]}],
        },
    )(noop)


def test_the_builtin_rules_are_registered() -> None:
    names = {r.name for r in hook_rules().rules()}
    assert {"lead-scoring", "follow-up-after-reply", "nudge-after-inbound", "follow-up-reminder"} <= names


RULE_NAMES = st.from_regex(r"[a-z][a-z0-9-]{0,30}", fullmatch=True).filter(
    lambda n: n not in {r.name for r in hook_rules().rules()}
)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(names=st.lists(RULE_NAMES, min_size=1, max_size=4, unique=True), bad=st.booleans())
def test_a_registry_holds_only_what_its_build_collected(tmp_path: Path, names: list[str], bad: bool) -> None:
    """No registry lives in a module: the user's rules are in the registry built with
    them, and in no registry built without them, however often either is built."""
    folder = tmp_path / f"rules_{uuid.uuid4().hex}"
    folder.mkdir()
    lines = ["from consumers.rules import rule", ""]
    for index, name in enumerate(names):
        lines += [
            f"@rule({name!r}, pattern={{'source': ['crm.inbound']}})",
            f"def r{index}(event, context):",
            "    return []",
            "",
        ]
    if bad:
        lines += [
            "@rule('refused-one', pattern={'source': [{'exists': 1}]})",
            "def refused(event, context):",
            "    return []",
            "",
        ]
    (folder / f"m_{uuid.uuid4().hex}.py").write_text("\n".join(lines), encoding="utf-8")
    try:
        with_them = hook_rules(str(folder))
        assert set(names) <= {r.name for r in with_them.rules()}
        assert ("refused-one" in with_them.refused) is bad
        for _ in range(2):
            without = hook_rules()
            assert not set(names) & {r.name for r in without.rules()}
            assert not without.refused
        assert set(names) <= {r.name for r in hook_rules(str(folder)).rules()}  # built again: the same
    finally:
        for module in [m for m in sys.modules if m.startswith("crm_user_rules.m_")]:
            del sys.modules[module]
