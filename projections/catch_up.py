"""Bring one conversation item up to date with its stream. Idempotent and order-robust:
whatever event triggered it, duplicates and reordering converge on the in-order fold.

The events that triggered it (``delivered``: a projector's batch) are the stored events
themselves, so when they continue the item without a gap they are folded as they are and
the stream is not read; a gap, or nothing delivered, reads the stream from the store."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Protocol

from events import Envelope
from events.streams import conversation_of_stream
from projections.conversations import fold


class StreamReader(Protocol):
    def read(self, stream_id: str, after_version: int = 0) -> list[Envelope]: ...


class ItemTable(Protocol):
    def get(self, item_id: str) -> dict[str, Any] | None: ...

    def put(self, item: dict[str, Any], expected_version: int | None) -> None: ...


def following(delivered: Sequence[Envelope], stream_id: str, version: int) -> list[Envelope] | None:
    """The delivered events of ``stream_id`` that continue an item at ``version``, in order
    ([]: the item already holds every one), or None when they do not (none delivered, or a
    gap after ``version`` before the last one delivered): then only the store can say what
    is missing."""
    by_version = {e.meta.version: e for e in delivered if e.stream_id == stream_id}
    if not by_version:
        return None
    if max(by_version) <= version:
        return []
    run: list[Envelope] = []
    while version + 1 + len(run) in by_version:
        run.append(by_version[version + 1 + len(run)])
    if version + len(run) < max(by_version):
        return None  # a gap before a later delivered event: folding the run alone would drop it
    return run


def catch_up(
    table: ItemTable,
    store: StreamReader,
    stream_id: str,
    *,
    shards: int,
    conflict: type[Exception],
    attempts: int = 20,
    delivered: Sequence[Envelope] = (),
) -> dict[str, Any] | None:
    conversation_id = conversation_of_stream(stream_id)
    if conversation_id is None:
        return None
    # the stream's first event delivered: the item is most likely new, so write it without
    # reading (the put refuses if it exists, and the loop then reads as usual)
    fresh = following(delivered, stream_id, 0)
    for attempt in range(attempts):
        item = None if attempt == 0 and fresh else table.get(conversation_id)
        version = int(item["version"]) if item else 0
        missing = following(delivered, stream_id, version)
        if missing is None:
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
