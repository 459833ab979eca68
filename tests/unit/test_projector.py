"""The projector converges on the in-order fold, whatever the deliveries do: on an
in-memory table and on the local backend's projection table (the port's conditional
write on the version)."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
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
from ports import VersionConflict as Conflict
from projections.catch_up import catch_up
from projections.conversations import fold

STREAM = "conversation#c1"


class FakeStore:
    def __init__(self) -> None:
        self.events: list[Envelope] = []
        self.reads = 0

    def read(self, stream_id: str, after_version: int = 0) -> list[Envelope]:
        self.reads += 1
        return [e for e in self.events if e.stream_id == stream_id and e.meta.version > after_version]


class FakeTable:
    """Conditional writes on the version, like the DynamoDB adapter; ``before_put`` lets a
    test slip a competing writer in between a read and a write."""

    def __init__(self) -> None:
        self.items: dict[str, dict[str, Any]] = {}
        self.before_put: Any = None
        self.gets = 0

    def item(self, item_id: str) -> dict[str, Any] | None:
        return self.items.get(item_id)

    def get(self, item_id: str) -> dict[str, Any] | None:
        self.gets += 1
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
            event = MessageReceived(
                conversation_id="c1",
                ses_message_id=f"s{version}",
                bucket="b",
                raw_key="k",
                received_at=at,
                from_address="jane@acme.com",
                contact="jane@acme.com",
                subject="Role",
                company="Acme",
            )
        elif kind == 1:
            event = MessageForwarded(
                conversation_id="c1", cause_event_id="x", to=["o@p"], outbound_message_id="m", ses_message_id="s"
            )
        elif kind == 2:
            event = LeadScored(conversation_id="c1", score=10 * version % 100, band="warm", reasons=["r"])
        elif kind == 3:
            event = ReplyDelivered(
                conversation_id="c1", cause_event_id="x", to=["jane@acme.com"], outbound_message_id="m", ses_message_id="s"
            )
        elif kind == 4:
            event = ConversationStatusChanged(conversation_id="c1", status="interviewing")
        elif kind == 5:
            event = FollowUpScheduled(conversation_id="c1", due_at=at, kind="nudge")
        else:
            event = ConversationUpdated(conversation_id="c1", fields={"title": f"Engineer {version}"})
        envelopes.append(
            Envelope.new(event, stream_id=STREAM, version=version, seed=f"e{version}", correlation_id="c", occurred_at=at)
        )
    return envelopes


class PortTable:
    """The local backend's projection table behind the same ``before_put`` hook."""

    def __init__(self, table: Any) -> None:
        self.table = table
        self.before_put: Any = None
        table.empty()

    def get(self, item_id: str) -> dict[str, Any] | None:
        found: dict[str, Any] | None = self.table.get(item_id)
        return found

    def put(self, item: dict[str, Any], expected_version: int | None) -> None:
        if self.before_put:
            hook, self.before_put = self.before_put, None
            hook()
        self.table.put(item, expected_version)

    def item(self, item_id: str) -> dict[str, Any] | None:
        return self.get(item_id)


@pytest.fixture(scope="module")
def local_projections(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from bootstrap import bootstrap
    from crm.settings import Settings

    svc = bootstrap(Settings(), backend="local", state=Path(tmp_path_factory.mktemp("projector")) / "state")
    try:
        yield svc.projections
    finally:
        svc.close()


@pytest.fixture(params=["memory", "local"])
def make_table(request: pytest.FixtureRequest) -> Any:
    if request.param == "memory":
        return FakeTable
    projections = request.getfixturevalue("local_projections")
    return lambda: PortTable(projections.table("crm-conversations"))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(kinds=st.lists(st.integers(0, 6), max_size=12), data=st.data())
def test_shuffled_and_duplicated_deliveries_converge_on_the_in_order_fold(make_table: Any, kinds: list[int], data: Any) -> None:
    envelopes = history(kinds)
    store, table = FakeStore(), make_table()
    pending: list[int] = []  # deliveries waiting: indexes of appended events, duplicates allowed
    appended = 0
    while appended < len(envelopes) or pending:
        if appended < len(envelopes) and (not pending or data.draw(st.booleans())):
            store.events.append(envelopes[appended])
            pending.extend([appended] * data.draw(st.integers(1, 3)))  # at-least-once, maybe more
            appended += 1
        else:
            taken = pending.pop(data.draw(st.integers(0, len(pending) - 1)))  # any order
            # the batch it came in: itself and any other stored events, in any order, repeated
            others = data.draw(st.lists(st.integers(0, appended - 1), max_size=4))
            batch = [envelopes[i] for i in data.draw(st.permutations([taken, *others]))]
            catch_up(table, store, STREAM, shards=4, conflict=Conflict, delivered=batch)
    assert table.item("c1") == fold(envelopes, shards=4)


def test_a_concurrent_writer_between_read_and_write_is_caught_up_not_overwritten(make_table: Any) -> None:
    envelopes = history([1, 2, 3])
    store, table = FakeStore(), make_table()
    store.events.extend(envelopes[:2])
    catch_up(table, store, STREAM, shards=4, conflict=Conflict)
    store.events.extend(envelopes[2:])

    def competitor() -> None:
        catch_up(table, store, STREAM, shards=4, conflict=Conflict)

    table.before_put = competitor
    catch_up(table, store, STREAM, shards=4, conflict=Conflict)
    item = table.item("c1")
    assert item == fold(envelopes, shards=4)
    assert item is not None and item["version"] == 4


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


@given(kinds=st.lists(st.integers(0, 6), max_size=14), start=st.integers(0, 1), cut=st.integers(0, 15))
def test_the_fold_is_apply_event_by_event_and_leaves_its_input_alone(kinds: list[int], start: int, cut: int) -> None:
    """``fold`` changes one copy in place and hashes the status shard once at the end; the
    result must be what ``apply`` gives one event at a time, from any point of the stream
    (also a stream whose first event is not a message: the pending item)."""
    from projections.conversations import apply

    envelopes = history(kinds)[start:]
    stepped: dict[str, Any] | None = None
    for envelope in envelopes:
        stepped = apply(stepped, envelope, shards=4)
    assert fold(envelopes, shards=4) == stepped
    head = fold(envelopes[:cut], shards=4)
    before = copy.deepcopy(head)
    assert fold(envelopes[cut:], head, shards=4) == stepped
    assert head == before  # the item folded from is not changed


def test_delivered_events_that_continue_the_item_are_folded_without_reading_the_stream() -> None:
    envelopes = history([1, 2, 3, 4])
    store, table = FakeStore(), FakeTable()
    store.events.extend(envelopes)
    # a batch with the first three, shuffled and one repeated: no read of the stream
    batch = [envelopes[2], envelopes[0], envelopes[1], envelopes[0]]
    item = catch_up(table, store, STREAM, shards=4, conflict=Conflict, delivered=batch)
    assert store.reads == 0 and item == fold(envelopes[:3], shards=4)
    # events the item already holds: nothing to read, nothing written
    assert catch_up(table, store, STREAM, shards=4, conflict=Conflict, delivered=[envelopes[1]]) == item
    assert store.reads == 0
    # a gap after the item's version (4 is missing from the batch): the store says what is missing
    item = catch_up(table, store, STREAM, shards=4, conflict=Conflict, delivered=[envelopes[4]])
    assert store.reads == 1 and item == fold(envelopes, shards=4)


def test_a_batch_that_starts_the_stream_writes_the_new_item_without_reading_it() -> None:
    envelopes = history([1, 2])
    store, table = FakeStore(), FakeTable()
    store.events.extend(envelopes)
    item = catch_up(table, store, STREAM, shards=4, conflict=Conflict, delivered=envelopes[:2])
    assert (table.gets, store.reads) == (0, 0) and item == fold(envelopes[:2], shards=4)
    # the same batch again (a redelivery, a replay): the blind write is refused, the item is
    # read and nothing is lost or applied twice
    item = catch_up(table, store, STREAM, shards=4, conflict=Conflict, delivered=envelopes)
    assert table.gets == 1 and item == fold(envelopes, shards=4) == table.item("c1")
    assert catch_up(table, store, STREAM, shards=4, conflict=Conflict, delivered=envelopes[:1]) == item


def test_a_batch_with_a_gap_before_its_last_event_reads_the_stream_rather_than_drop_that_event() -> None:
    """The batch holds versions 1 and 3 (2 came in another batch, cut at the batch size):
    folding the run 1 alone and acknowledging 3 would leave 3 out until the next event."""
    envelopes = history([0, 0])
    store, table = FakeStore(), FakeTable()
    store.events.extend(envelopes)
    for batch in ([envelopes[2], envelopes[0]], [envelopes[0], envelopes[2]]):
        table.items.clear()
        item = catch_up(table, store, STREAM, shards=4, conflict=Conflict, delivered=batch)
        assert item == fold(envelopes, shards=4) == table.item("c1")
