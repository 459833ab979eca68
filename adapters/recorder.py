"""Record a decision: append to the event store, then publish to the bus.

The store is the source of truth; the bus is told afterwards. A crash between the
two leaves the events stored and unpublished, and the retried invocation finds the
dedupe item and publishes the stored events, so nothing is lost or decided twice.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from adapters.bus import EventBus
from adapters.event_store import Commit, EventStore, StreamConflict
from events import DomainEvent


@dataclass(frozen=True)
class Plan:
    events: list[tuple[str, DomainEvent]]
    message_ids: dict[str, str] = field(default_factory=dict)
    markers: dict[str, dict[str, Any]] = field(default_factory=dict)
    first_in_stream: frozenset[str] = frozenset()
    expected_versions: dict[str, int] = field(default_factory=dict)


class Recorder:
    def __init__(self, store: EventStore, bus: EventBus, attempts: int = 25) -> None:
        self.store = store
        self.bus = bus
        self.attempts = attempts

    def record(self, plan: Callable[[], Plan] | Plan, *, dedupe_key: str, correlation_id: str,
               causation_id: str | None = None, source: str | None = None) -> Commit:
        """Commit and publish. ``plan`` may be a function: it is called again after a
        concurrent writer won a stream, so the decision sees the new state."""
        for attempt in range(self.attempts):
            if attempt:
                # many writers on one stream: back off with jitter so they stop colliding
                time.sleep(random.uniform(0, min(0.5, 0.005 * 2**attempt)))
            current = plan() if callable(plan) else plan
            try:
                commit = self.store.commit(current.events, dedupe_key=dedupe_key, correlation_id=correlation_id,
                                           causation_id=causation_id, message_ids=current.message_ids,
                                           markers=current.markers, first_in_stream=current.first_in_stream,
                                           source=source, expected_versions=current.expected_versions)
            except StreamConflict:
                continue
            self.bus.publish(commit.envelopes)
            return commit
        raise StreamConflict(f"{dedupe_key}: still conflicting after {self.attempts} attempts")
