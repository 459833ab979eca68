"""Stream ids of the event store: one function per kind of stream, used by everyone
who appends to or reads a stream (producers, consumers, projections, the CLI)."""

from __future__ import annotations

CONVERSATION_PREFIX = "conversation#"


def conversation_stream(conversation_id: str) -> str:
    return f"{CONVERSATION_PREFIX}{conversation_id}"


def conversation_of_stream(stream_id: str) -> str | None:
    """The conversation a ``conversation#`` stream is of; None for any other stream."""
    return stream_id.removeprefix(CONVERSATION_PREFIX) if stream_id.startswith(CONVERSATION_PREFIX) else None


def stream_named(name: str) -> str:
    """A stream id as a person writes it: a full id, or a bare conversation id."""
    return name if "#" in name else conversation_stream(name)


def contact_stream(contact: str) -> str:
    return f"contact#{contact}"


def quarantine_stream(ses_message_id: str) -> str:
    return f"quarantine#{ses_message_id}"


def reply_rejected_stream(ses_message_id: str) -> str:
    return f"reply-rejected#{ses_message_id}"
