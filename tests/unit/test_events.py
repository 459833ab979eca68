from __future__ import annotations

import contextlib
import json
from typing import Any

import pytest

from events import (
    CATALOGUE,
    ConversationStatusChanged,
    DecodeError,
    Envelope,
    FirstContact,
    MessageReceived,
    event_id,
    from_delivered,
    from_entry,
    from_record,
    load,
    to_entry,
    to_record,
)
from events.codec import MAX_ENTRY_BYTES
from events.schema import catalogue_schema


def received(**overrides: object) -> MessageReceived:
    values: dict[str, object] = {
        "conversation_id": "jane-acme-1",
        "ses_message_id": "ses-1",
        "bucket": "b",
        "raw_key": "inbox/ses-1",
        "received_at": "2026-11-20T10:00:00Z",
        "from_address": "jane@acme.com",
        "subject": "Hello",
    }
    values.update(overrides)
    return load(MessageReceived, values)


def envelope(event: object = None, version: int = 1) -> Envelope:
    return Envelope.new(
        event or received(), stream_id="conversation#jane-acme-1", version=version, seed="ses-1", correlation_id="ses-1"
    )


def test_event_ids_are_deterministic_per_seed_and_type() -> None:
    assert event_id("ses-1", "MessageReceived") == event_id("ses-1", "MessageReceived")
    assert event_id("ses-1", "MessageReceived") != event_id("ses-2", "MessageReceived")
    assert event_id("ses-1", "MessageReceived") != event_id("ses-1", "FirstContact")
    assert envelope().event_id == envelope().event_id


def test_putevents_entry_round_trip() -> None:
    original = envelope()
    entry = to_entry(original, "crm")
    assert entry["Source"] == "crm.inbound"
    assert entry["DetailType"] == "MessageReceived"
    assert entry["EventBusName"] == "crm"
    detail = json.loads(entry["Detail"])
    assert set(detail) == {"meta", "data"}
    assert set(detail["meta"]) == {
        "event_id",
        "stream_id",
        "version",
        "occurred_at",
        "schema_version",
        "correlation_id",
        "causation_id",
    }
    assert from_entry(entry) == original


def test_delivered_event_round_trip() -> None:
    original = envelope(
        FirstContact(contact="jane@acme.com", conversation_id="c", ses_message_id="s", acknowledge=True, ack_to="jane@acme.com")
    )
    entry = to_entry(original, "crm")
    delivered = {
        "version": "0",
        "id": "x",
        "detail-type": entry["DetailType"],
        "source": entry["Source"],
        "time": "2026-11-20T10:00:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": json.loads(entry["Detail"]),
    }
    assert from_delivered(json.dumps(delivered)) == original


def test_store_record_round_trip() -> None:
    original = envelope(version=3)
    record = to_record(original)
    assert (record["pk"], record["sk"]) == ("conversation#jane-acme-1", 3)
    assert from_record(record) == original


def test_unknown_type_and_bad_data_are_decode_errors() -> None:
    with pytest.raises(DecodeError, match="unknown event type"):
        from_delivered({"detail-type": "Nope", "source": "crm.x", "detail": {"meta": {}, "data": {}}})
    with pytest.raises(DecodeError):
        from_delivered({"source": "crm.x"})
    stored = to_record(envelope())
    with pytest.raises(DecodeError, match="unknown event type"):
        from_record({**stored, "type": "Nope"})


def test_schema_1_message_received_is_upcast_on_load() -> None:
    """A MessageReceived stored before ``source_channel`` existed still loads, with it derived."""
    record = to_record(envelope(received(from_address="inmail@linkedin.com")))
    detail = json.loads(record["detail"])
    detail["meta"]["schema_version"] = 1
    del detail["data"]["source_channel"]
    old = {**record, "detail": json.dumps(detail)}
    loaded = from_record(old)
    assert isinstance(loaded.event, MessageReceived)
    assert loaded.event.source_channel == "linkedin"


def test_an_entry_over_256_kb_is_refused_before_eventbridge_sees_it() -> None:
    huge = envelope(received(preview="x" * MAX_ENTRY_BYTES))
    with pytest.raises(ValueError, match="256 KB"):
        to_entry(huge, "crm")


def test_schema_lists_every_event_with_its_version() -> None:
    schema = catalogue_schema()
    assert set(schema["events"]) == set(CATALOGUE)
    assert schema["events"]["MessageReceived"]["schema_version"] == 2
    assert "conversation_id" in schema["events"]["MessageReceived"]["data"]["properties"]


@pytest.mark.parametrize(
    "change",
    [
        lambda d: {**d, "data": None},  # read as no data, as a delivered event's is
        lambda d: {**d, "meta": {**d["meta"], "extra": 1}},  # refused by Meta, said by name
        lambda d: {"meta": d["meta"]},
        "not json {",
    ],
    ids=["null-data", "extra-meta", "no-data", "not-json"],
)
def test_a_stored_detail_reads_as_the_delivered_form_would(change: Any) -> None:
    """``from_record`` reads the detail's text in one msgspec pass; what that pass refuses
    must come out exactly as the dict path (``from_delivered``) says: the envelope, or a
    DecodeError."""
    record = to_record(envelope(ConversationStatusChanged(conversation_id="c", status="closed")))
    detail = change if isinstance(change, str) else json.dumps(change(json.loads(record["detail"])))
    stored = {**record, "detail": detail}
    expected: Any = DecodeError  # not JSON at all: there is no delivered form to read either
    with contextlib.suppress(ValueError):  # DecodeError is one
        delivered = {"detail-type": record["type"], "source": record["source"], "detail": json.loads(detail)}
        expected = from_delivered(delivered)
    try:
        got: Any = from_record(stored)
    except DecodeError:
        got = DecodeError
    assert got == expected
