"""Wire forms of an envelope: the PutEvents entry, the event EventBridge delivers,
and the event-store record."""

from __future__ import annotations

import json
from typing import Any

from pydantic import ValidationError

from events.base import Envelope, Meta
from events.catalogue import event_class

# EventBridge refuses an entry over 256 KB; we keep a margin for the envelope.
MAX_ENTRY_BYTES = 256 * 1024


class DecodeError(ValueError):
    """An event that cannot be read back: unknown type or data that does not validate."""


def _build(detail_type: str, source: str, detail: dict[str, Any]) -> Envelope:
    try:
        cls = event_class(detail_type)
        meta = Meta.model_validate(detail["meta"])
        data = detail.get("data") or {}
        if meta.schema_version < cls.schema_version:
            data = cls.upcast(dict(data), meta.schema_version)
        event = cls.model_validate(data)
    except (KeyError, ValidationError, TypeError) as exc:
        raise DecodeError(f"cannot decode {detail_type!r} event: {exc}") from exc
    return Envelope(meta=meta, event=event, source=source)


def to_entry(envelope: Envelope, bus_name: str) -> dict[str, Any]:
    """The ``PutEvents`` entry for an envelope."""
    detail = json.dumps(envelope.detail(), separators=(",", ":"), sort_keys=True)
    entry = {
        "Source": envelope.source,
        "DetailType": envelope.type,
        "Detail": detail,
        "EventBusName": bus_name,
    }
    size = len(detail.encode()) + len(envelope.source) + len(envelope.type)
    if size > MAX_ENTRY_BYTES:
        raise ValueError(f"{envelope.type} {envelope.event_id} is {size} bytes, over EventBridge's 256 KB")
    return entry


def from_entry(entry: dict[str, Any]) -> Envelope:
    return _build(entry["DetailType"], entry["Source"], json.loads(entry["Detail"]))


def from_delivered(event: dict[str, Any] | str) -> Envelope:
    """The envelope inside an event as EventBridge delivers it (e.g. an SQS body)."""
    if isinstance(event, str):
        event = json.loads(event)
    assert isinstance(event, dict)
    try:
        return _build(event["detail-type"], event["source"], event["detail"])
    except KeyError as exc:
        raise DecodeError(f"not an EventBridge event: missing {exc}") from exc


def is_replay(event: dict[str, Any]) -> bool:
    """EventBridge stamps archive replays with ``replay-name``."""
    return bool(event.get("replay-name"))


def to_record(envelope: Envelope) -> dict[str, Any]:
    """The event-store item (plain Python types; the adapter serialises them)."""
    return {
        "pk": envelope.stream_id,
        "sk": envelope.meta.version,
        "event_id": envelope.event_id,
        "type": envelope.type,
        "source": envelope.source,
        "occurred_at": envelope.meta.occurred_at,
        "detail": json.dumps(envelope.detail(), separators=(",", ":"), sort_keys=True),
    }


def from_record(record: dict[str, Any]) -> Envelope:
    return _build(str(record["type"]), str(record["source"]), json.loads(str(record["detail"])))
