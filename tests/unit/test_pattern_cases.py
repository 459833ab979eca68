"""The case table (``tests/eventbridge_cases.py``) against our validator and matcher."""

from __future__ import annotations

import pytest

from events.pattern_match import matches
from events.pattern_rules import InvalidPattern, validate_pattern
from tests.eventbridge_cases import CASES, DOCUMENTED_OPERATORS, INVALID, MATCH, NO_MATCH, Case


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_each_case_is_refused_or_matched_as_eventbridge_does(case: Case) -> None:
    if case.expected == INVALID:
        with pytest.raises(InvalidPattern):
            validate_pattern(case.pattern)
        return
    validate_pattern(case.pattern)
    assert matches(case.pattern, case.event) is (case.expected == MATCH)


def test_every_documented_operator_has_match_no_match_and_invalid_cases() -> None:
    for operator in DOCUMENTED_OPERATORS:
        outcomes = {c.expected for c in CASES if c.operator == operator}
        assert outcomes == {MATCH, NO_MATCH, INVALID}, f"{operator}: only {sorted(outcomes)}"


def test_case_ids_are_unique() -> None:
    ids = [c.id for c in CASES]
    assert len(ids) == len(set(ids))
