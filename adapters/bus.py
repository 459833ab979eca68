"""Publishing envelopes to the EventBridge bus, retrying entries that failed."""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from typing import Any

from adapters.aws import client
from events import Envelope, to_entry
from ports import PublishError

__all__ = ["BATCH", "EventBus", "PublishError"]

BATCH = 10  # PutEvents takes at most 10 entries


class EventBus:
    def __init__(
        self, bus_name: str, region: str, endpoint_url: str | None = None, *, attempts: int = 5, base_delay: float = 0.05
    ) -> None:
        self.bus_name = bus_name
        self._events = client("events", region, endpoint_url)
        self.attempts = attempts
        self.base_delay = base_delay

    def publish(self, envelopes: Sequence[Envelope]) -> None:
        entries = [to_entry(e, self.bus_name) for e in envelopes]
        for start in range(0, len(entries), BATCH):
            self._put(entries[start : start + BATCH])

    def _put(self, entries: list[dict[str, Any]]) -> None:
        pending = entries
        for attempt in range(self.attempts):
            response = self._events.put_events(Entries=pending)
            if not response.get("FailedEntryCount"):
                return
            # results are positional: keep exactly the entries that failed
            pending = [entry for entry, result in zip(pending, response["Entries"], strict=False) if result.get("ErrorCode")]
            time.sleep(random.uniform(0, self.base_delay * 2**attempt))
        raise PublishError(f"{len(pending)} of {len(entries)} events not published after {self.attempts} attempts")
