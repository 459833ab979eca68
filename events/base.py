"""The envelope every event travels in, and the base class of every event.

Events are ``msgspec`` structs, not pydantic models: every Lambda handler imports
them, and pydantic's import alone is ~0.75× ``import boto3`` of a cold start
(issue 19), msgspec's ~0.05×. Data is validated where it enters: ``load`` (and the
codec) check types and constraints; a constructor call in our own code does not.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Annotated, Any, ClassVar, TypeVar

import msgspec

# A fixed namespace makes event ids a pure function of their seed: a retried
# Lambda derives the very same ids, which is what every consumer dedupes on.
_NAMESPACE = uuid.UUID("5b0f1f6e-8f1c-4a57-9d57-2a3c1b7e0c11")


def event_id(seed: str, event_type: str, *parts: str) -> str:
    """Deterministic event id from a seed (an SES message id, an event id) and a type."""
    return str(uuid.uuid5(_NAMESPACE, "\x1f".join((seed, event_type, *parts))))


def utc_text(moment: datetime | None = None, timespec: str = "seconds") -> str:
    """A UTC moment (default: now) as the ISO 8601 text every event and item holds.

    >>> utc_text(datetime(2026, 11, 20, 10, 5, tzinfo=UTC))
    '2026-11-20T10:05:00Z'
    """
    return (moment or datetime.now(UTC)).astimezone(UTC).isoformat(timespec=timespec).replace("+00:00", "Z")


def utcnow() -> str:
    return utc_text(timespec="milliseconds")


T = TypeVar("T")


class Record(msgspec.Struct, frozen=True, kw_only=True):
    """Base of every event and of the values inside one: frozen, keyword-only data;
    unknown fields are ignored when read (an older reader of a newer event)."""


R = TypeVar("R", bound=Record)


def load(cls: type[T], data: Any) -> T:
    """``data`` (JSON-like: dicts, lists, scalars) checked and built as ``cls``;
    ``msgspec.ValidationError`` names the field that is wrong."""
    return msgspec.convert(data, cls)


class InvalidEvent(ValueError):
    """An event built in code that a reader would refuse; the message names the field."""


def checked(event: R) -> R:
    """``event`` as a reader will read it (``load`` of its ``dump``): a constructor call
    checks nothing, so an event from code we do not type-check (a user's hook rule) is
    checked before it is stored, where a bad one would fail every reader after it."""
    try:
        data = dump(event)
    except TypeError as exc:  # a value that is not JSON at all; msgspec's message names no field
        field = next(f for f in event.__struct_fields__ if not _dumps(getattr(event, f)))
        raise InvalidEvent(f"{type(event).__name__} is not a valid event: {exc} - at `$.{field}`") from None
    try:
        return load(type(event), data)
    except msgspec.ValidationError as exc:  # its message ends "- at `$.field`"
        raise InvalidEvent(f"{type(event).__name__} is not a valid event: {exc}") from None


def _dumps(value: Any) -> bool:
    try:
        dump(value)
    except TypeError:
        return False
    return True


def dump(value: Any) -> Any:
    """A record (or anything holding records) as JSON-like data: dicts, lists, scalars."""
    return msgspec.to_builtins(value)


def replace(value: R, **changes: Any) -> R:
    """A copy of a record with some fields changed (not validated: our own values)."""
    return msgspec.structs.replace(value, **changes)


class DomainEvent(Record, frozen=True, kw_only=True):
    """Base of every event. Subclasses are plain data; ``schema_version`` is per class."""

    schema_version: ClassVar[int] = 1
    source: ClassVar[str] = "crm.core"

    @classmethod
    def type_name(cls) -> str:
        return cls.__name__

    @classmethod
    def upcast(cls, data: dict[str, Any], from_version: int) -> dict[str, Any]:
        """Bring data stored under an older schema to the current one. Override per class."""
        return data


class Meta(Record, frozen=True, kw_only=True):
    event_id: str
    stream_id: str
    version: Annotated[int, msgspec.Meta(ge=1)]
    occurred_at: str
    schema_version: int = 1
    correlation_id: str
    causation_id: str | None = None


class Envelope(Record, frozen=True, kw_only=True):
    """One event with its metadata, as stored and as published."""

    meta: Meta
    event: DomainEvent
    source: str

    @property
    def type(self) -> str:
        return type(self.event).__name__

    @property
    def event_id(self) -> str:
        return self.meta.event_id

    @property
    def stream_id(self) -> str:
        return self.meta.stream_id

    @classmethod
    def new(
        cls,
        event: DomainEvent,
        *,
        stream_id: str,
        version: int,
        seed: str,
        correlation_id: str,
        causation_id: str | None = None,
        occurred_at: str | None = None,
        source: str | None = None,
    ) -> Envelope:
        meta = Meta(
            event_id=event_id(seed, type(event).__name__),
            stream_id=stream_id,
            version=version,
            occurred_at=occurred_at or utcnow(),
            schema_version=type(event).schema_version,
            correlation_id=correlation_id,
            causation_id=causation_id,
        )
        return cls(meta=meta, event=event, source=source or type(event).source)

    def at(self, version: int) -> Envelope:
        """The same event placed at another version of its stream."""
        return replace(self, meta=replace(self.meta, version=version))

    def detail(self) -> dict[str, Any]:
        return {"meta": dump(self.meta), "data": dump(self.event)}
