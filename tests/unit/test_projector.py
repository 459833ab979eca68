"""The projector converges on the in-order fold, whatever the deliveries do."""

from __future__ import annotations

import copy
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from events import (
    ConversationStatusChanged,
    ConversationUpdated,
    DomainEvent,
    Envelope,
    FollowUpScheduled,
    LeadScored,
    MessageForwarded,
    MessageReceived,
    ReplyDelivered,
)
from projections.catch_up import catch_up
from projections.conversations import fold

STREAM = "conversation#c1"


class Conflict(Exception):
    pass


class FakeStore:
    def __init__(self) -> None:
        self.events: list[Envelope] = []

    def read(self, stream_id: str, after_version: int = 0) -> list[Envelope]:
        return [e for e in self.events if e.stream_id == stream_id and e.meta.version > after_version]


class FakeTable:
    """Conditional writes on the version, like the DynamoDB adapter; ``before_put`` lets a
    test slip a competing writer in between a read and a write."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}
        self.before_put: Any = None

    def get(self, item_id: str) -> dict[str, Any] | None:
        return copy.deepcopy(self.items.get(item_id))

    def put(self, item: dict[str, Any], expected_version: int | None) -> None:
        if self.before_put:
            hook, self.before_put = self.before_put, None
            hook()
        current = self.items.get(item["id"])
        if (current is None) != (expected_version is None) or (current and current["version"] != expected_version):
            raise Conflict(item["id"])
        self.items[item["id"]] = copy.deepcopy(item)


def history(kinds: list[int]) -> list[Envelope]:
    envelopes = []
    for version, kind in enumerate([0, *kinds], start=1):
        at = f"2026-11-{10 + version % 19:02d}T10:00:00Z"
        event: DomainEvent
        if kind == 0:
            event = MessageReceived(conversation_id="c1", ses_message_id=f"s{version}", bucket="b", raw_key="k",
                                    received_at=at, from_address="jane@acme.com", contact="jane@acme.com",
                                    subject="Role", company="Acme")
        elif kind == 1:
            event = MessageForwarded(conversation_id="c1", cause_event_id="x", to=["o@p"], outbound_message_id="m",
                                     ses_message_id="s")
        elif kind == 2:
            event = LeadScored(conversation_id="c1", score=10 * version % 100, band="warm", reasons=["r"])
        elif kind == 3:
            event = ReplyDelivered(conversation_id="c1", cause_event_id="x", to=["jane@acme.com"],
                                   outbound_message_id="m", ses_message_id="s")
        elif kind == 4:
            event = ConversationStatusChanged(conversation_id="c1", status="interviewing")
        elif kind == 5:
            event = FollowUpScheduled(conversation_id="c1", due_at=at, kind="nudge")
        else:
            event = ConversationUpdated(conversation_id="c1", fields={"title": f"Engineer {version}"})
        envelopes.append(Envelope.new(event, stream_id=STREAM, version=version, seed=f"e{version}",
                                      correlation_id="c", occurred_at=at))
    return envelopes


@settings(max_examples=150, deadline=None)
@given(kinds=st.lists(st.integers(0, 6), max_size=12), data=st.data())
def test_shuffled_and_duplicated_deliveries_converge_on_the_in_order_fold(kinds: list[int], data: Any) -> None:
    envelopes = history(kinds)
    store, table = FakeStore(), FakeTable()
    pending: list[int] = []  # deliveries waiting: indexes of appended events, duplicates allowed
    appended = 0
    while appended < len(envelopes) or pending:
        if appended < len(envelopes) and (not pending or data.draw(st.booleans())):
            store.events.append(envelopes[appended])
            pending.extend([appended] * data.draw(st.integers(1, 3)))  # at-least-once, maybe more
            appended += 1
        else:
            pending.pop(data.draw(st.integers(0, len(pending) - 1)))  # any order
            catch_up(table, store, STREAM, shards=4, conflict=Conflict)
    assert table.items["c1"] == fold(envelopes, shards=4)


def test_a_concurrent_writer_between_read_and_write_is_caught_up_not_overwritten() -> None:
    envelopes = history([1, 2, 3])
    store, table = FakeStore(), FakeTable()
    store.events.extend(envelopes[:2])
    catch_up(table, store, STREAM, shards=4, conflict=Conflict)
    store.events.extend(envelopes[2:])

    def competitor() -> None:
        catch_up(table, store, STREAM, shards=4, conflict=Conflict)

    table.before_put = competitor
    catch_up(table, store, STREAM, shards=4, conflict=Conflict)
    assert table.items["c1"] == fold(envelopes, shards=4)
    assert table.items["c1"]["version"] == 4


def test_lifecycle_new_awaiting_replied_and_owner_statuses_stick() -> None:
    item = fold(history([]))
    assert item and item["status"] == "new"
    item = fold(history([0]))
    assert item and item["status"] == "awaiting_reply"
    item = fold(history([0, 3]))
    assert item and item["status"] == "replied" and item["messages_out"] == 1
    item = fold(history([3, 0]))
    assert item and item["status"] == "awaiting_reply"
    item = fold(history([4, 0]))
    assert item and item["status"] == "interviewing"  # an owner's status is not overridden by mail


def test_owner_fields_win_over_extracted_ones_and_follow_ups_end_with_a_message() -> None:
    item = fold(history([6, 0, 5]))
    assert item and item["title"] == "Engineer 2" and item["followup_bucket"] == "open"
    item = fold(history([5, 0]))
    assert item and "followup_due" not in item and "followup_bucket" not in item
