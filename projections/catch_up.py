"""Bring one conversation item up to date with its stream. Idempotent and order-robust:
whatever event triggered it, duplicates and reordering converge on the in-order fold."""

from __future__ import annotations

from typing import Any, Protocol

from events import Envelope
from events.streams import conversation_of_stream
from projections.conversations import fold


class StreamReader(Protocol):
    def read(self, stream_id: str, after_version: int = 0) -> list[Envelope]: ...


class ItemTable(Protocol):
    def get(self, item_id: str) -> dict[str, Any] | None: ...

    def put(self, item: dict[str, Any], expected_version: int | None) -> None: ...


def catch_up(
    table: ItemTable, store: StreamReader, stream_id: str, *, shards: int, conflict: type[Exception], attempts: int = 20
) -> dict[str, Any] | None:
    conversation_id = conversation_of_stream(stream_id)
    if conversation_id is None:
        return None
    for _attempt in range(attempts):
        item = table.get(conversation_id)
        version = int(item["version"]) if item else 0
        missing = store.read(stream_id, after_version=version)
        if not missing:
            return item
        updated = fold(missing, item, shards=shards)
        if updated is None:
            return item
        try:
            table.put(updated, expected_version=version if item else None)
        except conflict:
            continue  # someone else advanced it: read again and apply what is still missing
        return updated
    raise RuntimeError(f"{stream_id}: projection still conflicting after {attempts} attempts")
