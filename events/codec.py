"""Wire forms of an envelope: the PutEvents entry, the event EventBridge delivers,
and the event-store record."""

from __future__ import annotations

import json
from functools import cache
from typing import Any, Generic, TypeVar

import msgspec

from events.base import DomainEvent, Envelope, Meta, load
from events.catalogue import event_class

# EventBridge refuses an entry over 256 KB; we keep a margin for the envelope.
MAX_ENTRY_BYTES = 256 * 1024

E = TypeVar("E", bound=DomainEvent)


class DecodeError(ValueError):
    """An event that cannot be read back: unknown type or data that does not validate."""


def _build(detail_type: str, source: str, detail: dict[str, Any]) -> Envelope:
    try:
        cls = event_class(detail_type)
        meta = load(Meta, detail["meta"])
        data = detail.get("data") or {}
        if meta.schema_version < cls.schema_version:
            data = cls.upcast(dict(data), meta.schema_version)
        event = load(cls, data)
    except (KeyError, msgspec.ValidationError, TypeError) as exc:
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


class _Detail(msgspec.Struct, Generic[E]):
    """A stored detail read in one pass (JSON parsed and validated by msgspec)."""

    meta: Meta
    data: E


@cache  # one decoder per event type in the catalogue
def _decoder(cls: type[DomainEvent]) -> msgspec.json.Decoder[_Detail[Any]]:
    return msgspec.json.Decoder(_Detail[cls])  # type: ignore[valid-type]


def _read_detail(detail_type: str, source: str, detail: str) -> Envelope:
    """``_build`` on the detail's JSON text. One msgspec pass parses and validates meta and
    data together (replay decodes every stored event: this is most of its time); a detail
    of an older schema (to upcast), of an unknown type, or one the pass refuses, takes
    ``_build``'s path, which upcasts or says what is wrong."""
    try:
        read = _decoder(event_class(detail_type)).decode(detail)
    except (KeyError, msgspec.DecodeError):  # not JSON, or JSON that does not validate (a subclass)
        read = None
    if read is None or read.meta.schema_version < type(read.data).schema_version:
        try:
            parsed = json.loads(detail)
        except ValueError as exc:
            raise DecodeError(f"cannot decode {detail_type!r} event: {exc}") from exc
        return _build(detail_type, source, parsed)
    return Envelope(meta=read.meta, event=read.data, source=source)


def from_record(record: dict[str, Any]) -> Envelope:
    return _read_detail(str(record["type"]), str(record["source"]), str(record["detail"]))
