"""The envelope every event travels in, and the base class of every event."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

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


class DomainEvent(BaseModel):
    """Base of every event. Subclasses are plain data; ``schema_version`` is per class."""

    model_config = ConfigDict(extra="ignore", frozen=True, defer_build=True)

    schema_version: ClassVar[int] = 1
    source: ClassVar[str] = "crm.core"

    @classmethod
    def type_name(cls) -> str:
        return cls.__name__

    @classmethod
    def upcast(cls, data: dict[str, Any], from_version: int) -> dict[str, Any]:
        """Bring data stored under an older schema to the current one. Override per class."""
        return data


class Meta(BaseModel):
    model_config = ConfigDict(frozen=True, defer_build=True)

    event_id: str
    stream_id: str
    version: int = Field(ge=1)
    occurred_at: str
    schema_version: int = 1
    correlation_id: str
    causation_id: str | None = None


class Envelope(BaseModel):
    """One event with its metadata, as stored and as published."""

    model_config = ConfigDict(frozen=True, arbitrary_types_allowed=True, defer_build=True)

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
        return self.model_copy(update={"meta": self.meta.model_copy(update={"version": version})})

    def detail(self) -> dict[str, Any]:
        return {"meta": self.meta.model_dump(), "data": self.event.model_dump(mode="json")}
