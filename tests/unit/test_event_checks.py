"""An event built in code is checked as a reader will check it (``events.checked``).

Events are msgspec structs: a constructor call checks nothing, so a hook rule (user
code nobody type-checks) could return an event that every reader after it refuses.
``checked`` runs on every event a commit is planned with (``adapters.commit_plan``,
both stores), so nothing is stored that a reader would refuse.
"""

from __future__ import annotations

from functools import partial
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.commit_plan import plan_commit
from events import (
    CATALOGUE,
    DecodeError,
    DomainEvent,
    Envelope,
    InvalidEvent,
    LeadScored,
    checked,
    from_record,
    replace,
    to_record,
)
from ports import Plan

# a value no event field accepts (not JSON at all), and one of the wrong JSON type per field
_NOT_JSON = object()


_CANDIDATES: tuple[Any, ...] = ("text", 12345, ["x"], {"k": [1]}, None)


def _wrong(kind: Any) -> Any:
    """A JSON value the field's type refuses (every field refuses one of these)."""
    for value in _CANDIDATES:
        try:
            msgspec.convert(value, kind)
        except msgspec.ValidationError:
            return value
    raise AssertionError(f"no wrong value for {kind!r}")


events = st.sampled_from(sorted(CATALOGUE)).flatmap(lambda name: st.builds(CATALOGUE[name]))


@settings(max_examples=150, deadline=None)
@given(event=events, data=st.data())
def test_a_valid_event_passes_unchanged_and_a_wrong_field_is_named(event: DomainEvent, data: st.DataObject) -> None:
    assert checked(event) == event
    fields = msgspec.structs.fields(type(event))
    if not fields:
        return
    field = data.draw(st.sampled_from(fields))
    value = data.draw(st.sampled_from([_NOT_JSON, _wrong(field.type)]))
    broken = replace(event, **{field.name: value})
    if getattr(broken, field.name) is not value:  # a derived field (ReplyRouted's flags): recomputed
        return
    with pytest.raises(InvalidEvent, match=rf"^{type(event).__name__} .* at `\$\.{field.name}[`.\[]"):
        checked(broken)
    # what the check protects: the broken event, stored, would be refused by every reader
    # (or could not even be written), while the valid one reads back as it was
    placed = partial(Envelope.new, stream_id="s", version=1, seed="x", correlation_id="c")
    with pytest.raises((DecodeError, TypeError)):
        from_record(to_record(placed(broken)))
    assert from_record(to_record(placed(event))).event == event


def test_a_commit_with_a_bad_event_is_refused_before_anything_is_stored() -> None:
    """As a hook rule's returned events are planned: a wrong field fails that rule's commit."""
    good = LeadScored(conversation_id="c1", score=3, band="warm")
    planned = plan_commit(Plan(events=[("s", good)]), last_version=lambda _s: 0, dedupe_key="d", correlation_id="c")
    assert [from_record(r).event for r in planned.records] == [good]
    bad = LeadScored(conversation_id="c1", score="high", band="warm")  # type: ignore[arg-type]
    with pytest.raises(InvalidEvent, match=r"score"):
        plan_commit(Plan(events=[("s", good), ("s", bad)]), last_version=lambda _s: 0, dedupe_key="d", correlation_id="c")


def test_checked_normalises_what_a_reader_would_read() -> None:
    event = LeadScored(conversation_id="c1", score=3, band="warm", reasons=("a", "b"))  # type: ignore[arg-type]
    assert checked(event).reasons == ["a", "b"]
    assert msgspec.json.encode(checked(event)) == msgspec.json.encode(event)
