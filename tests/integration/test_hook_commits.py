"""The hooks' commits: the rules of one event write one conversation one after the other,
so each appends after the head the previous one left instead of reading the stream; a
writer in between is caught up, never overwritten."""

from __future__ import annotations

from typing import Any

import pytest

from crm.runner import drain
from crm.topology import consumers
from events import ConversationStatusChanged, MessageReceived
from events.streams import conversation_stream
from ports import Plan
from tests.conftest import deliver, make_mail


def _rules_consumer() -> Any:
    return [c for c in consumers() if c.name == "rules"]


@pytest.mark.parametrize("interloper", [False, True])
def test_the_rules_of_one_event_read_the_stream_head_once_and_a_writer_in_between_loses_nothing(
    stack: Any, monkeypatch: pytest.MonkeyPatch, interloper: bool
) -> None:
    deliver(stack, make_mail(), drain=False)
    received = next(e for e in stack.svc.store.all_events() if isinstance(e.event, MessageReceived))
    stream = conversation_stream(received.event.conversation_id)
    store = stack.svc.store
    heads: list[str] = []
    real_head, real_record = store.last_version, stack.svc.recorder.record
    records = {"n": 0}

    def head(stream_id: str) -> int:
        heads.append(stream_id)
        return real_head(stream_id)

    def record(plan: Any, **kwargs: Any) -> Any:
        if kwargs["dedupe_key"].startswith("rule#"):
            records["n"] += 1
            if interloper and records["n"] == 2:  # another writer appends between the two rules
                other = ConversationStatusChanged(conversation_id=received.event.conversation_id, status="interviewing")
                store.commit(Plan([(stream, other)]), dedupe_key="interloper", correlation_id="c")
        return real_record(plan, **kwargs)

    monkeypatch.setattr(store, "last_version", head)
    monkeypatch.setattr(stack.svc.recorder, "record", record)
    before = [e.meta.version for e in store.read(stream)]
    report = drain(stack.svc, _rules_consumer())
    assert report.failed == 0  # the interloper is caught up within the invocation, not by a redelivery
    envelopes = store.read(stream)
    rule_events = [e for e in envelopes if e.meta.version > len(before) and e.meta.causation_id == received.event_id]
    # both rules that match a first mail (lead scoring, the nudge) wrote their events, once each
    assert {e.type for e in rule_events} >= {"LeadScored", "FollowUpScheduled"}
    assert len({e.meta.correlation_id for e in rule_events}) == 1
    assert [e.meta.version for e in envelopes] == list(range(1, len(envelopes) + 1))  # nothing overwritten
    assert ("ConversationStatusChanged" in [e.type for e in envelopes]) is interloper
    # one read of the head for the batch; with the interloper, its own commit reads one and the
    # second rule's conflict one more (its retry)
    assert heads.count(stream) == (3 if interloper else 1)
