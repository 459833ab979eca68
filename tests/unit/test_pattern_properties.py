"""Properties of the validator and the matcher over generated patterns and events."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from events.pattern_match import matches
from events.pattern_rules import OPERATORS, InvalidPattern, validate_pattern

scalars = st.one_of(st.none(), st.booleans(), st.integers(-(10**12), 10**12), st.floats(allow_nan=False), st.text(max_size=8))
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from([*OPERATORS, "$or", "a", "b", "detail", ""]) | st.text(max_size=4), inner, max_size=4),
    ),
    max_leaves=20,
)
events = st.dictionaries(st.sampled_from(["source", "detail-type", "a", "b"]), json_values, max_size=4).map(
    lambda d: {**d, "detail": d.get("a", {})}
)


@settings(max_examples=200, deadline=None)
@given(json_values, events)
def test_any_json_is_either_refused_with_invalid_pattern_or_matched_without_error(pattern: Any, event: dict[str, Any]) -> None:
    try:
        validate_pattern(pattern)
    except InvalidPattern as exc:
        assert exc.path and exc.problem
        return
    assert isinstance(matches(pattern, event), bool)


leaf_events = st.dictionaries(
    st.text(min_size=1, max_size=6).filter(lambda k: k != "$or"),
    st.one_of(st.booleans(), st.integers(-(10**6), 10**6), st.text(max_size=8), st.none()),
    min_size=1,
    max_size=5,
)


@settings(max_examples=200, deadline=None)
@given(leaf_events, st.data())
def test_a_pattern_of_the_events_own_values_matches_and_excluding_one_does_not(
    detail: dict[str, Any], data: st.DataObject
) -> None:
    event = {"source": "crm.inbound", "detail-type": "MessageReceived", "detail": detail}
    pattern = {"source": ["crm.inbound"], "detail": {key: [value] for key, value in detail.items()}}
    validate_pattern(pattern)
    assert matches(pattern, event)
    key = data.draw(st.sampled_from(sorted(detail)))
    value = detail[key]
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        excluded = {**pattern, "detail": {**pattern["detail"], key: [{"anything-but": value}]}}
        validate_pattern(excluded)
        assert not matches(excluded, event)
    missing = {**pattern, "detail": {**pattern["detail"], key: [{"exists": False}]}}
    assert not matches(missing, event)
    assert matches({**pattern, "detail": {**pattern["detail"], key: [{"exists": True}]}}, event)
