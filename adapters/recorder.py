"""Record a decision: append to the event store, then publish to the bus.

The store is the source of truth; the bus is told afterwards. On AWS a crash between
the two leaves the events stored and unpublished, and the retried invocation finds the
dedupe item and publishes the stored events, so nothing is lost or decided twice. On
the local backend both happen in one SQLite transaction (``atomic``).
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from ports import Bus, Commit, EventStore, Plan, StreamConflict

__all__ = ["Plan", "Recorder"]


class Recorder:
    def __init__(
        self, store: EventStore, bus: Bus, attempts: int = 25, atomic: Callable[[], AbstractContextManager[Any]] = nullcontext
    ) -> None:
        self.store = store
        self.bus = bus
        self.attempts = attempts
        self.atomic = atomic

    def record(
        self,
        plan: Callable[[], Plan] | Plan,
        *,
        dedupe_key: str,
        correlation_id: str,
        causation_id: str | None = None,
        source: str | None = None,
    ) -> Commit:
        """Commit and publish. ``plan`` may be a function: it is called again after a
        concurrent writer won a stream, so the decision sees the new state."""
        for attempt in range(self.attempts):
            if attempt:
                # many writers on one stream: back off with jitter so they stop colliding
                time.sleep(random.uniform(0, min(0.5, 0.005 * 2**attempt)))
            current = plan() if callable(plan) else plan
            try:
                with self.atomic():
                    commit = self.store.commit(
                        current,
                        dedupe_key=dedupe_key,
                        correlation_id=correlation_id,
                        causation_id=causation_id,
                        source=source,
                    )
                    self.bus.publish(commit.envelopes)
            except StreamConflict:
                continue
            return commit
        raise StreamConflict(f"{dedupe_key}: still conflicting after {self.attempts} attempts")
