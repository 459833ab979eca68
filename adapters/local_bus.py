"""The local backend's bus: EventBridge's rule matching, in-process, enqueued atomically.

Each published envelope becomes the event EventBridge would deliver
(:func:`adapters.delivered.delivered_event`); every route whose pattern
:func:`events.pattern_match.matches` it gets a message, the event's JSON, or, for a
route that names a rule (the rules queue), ``{"rule": name, "event": ...}`` as the
rule's input transformer makes it in AWS (:func:`crm.topology.rule_input_template`).
All the messages of one publish are sent in one transaction, joined to the caller's
when there is one (the local recorder commits a decision's events and their
deliveries together): a publish is all or nothing.

A route whose pattern cannot be evaluated is logged and skipped: one bad rule never
stops the others or the mail flow.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from adapters.delivered import delivered_event
from adapters.local_engine import LocalEngine
from adapters.local_queues import LocalQueues, QueueNotFound
from events import Envelope, to_entry
from events.pattern_match import matches
from ports import PublishError

log = logging.getLogger("crm.local_bus")


@dataclass(frozen=True)
class Route:
    """One EventBridge rule → SQS target: ``queue`` gets what ``pattern`` matches;
    ``rule``: the name the target's input wraps the event with (None: the bare event)."""

    queue: str
    pattern: dict[str, Any]
    rule: str | None = None


class LocalBus:
    def __init__(self, engine: LocalEngine, queues: LocalQueues, routes: Callable[[], Sequence[Route]], region: str) -> None:
        self.engine, self.queues, self.routes, self.region = engine, queues, routes, region

    def publish(self, envelopes: Sequence[Envelope]) -> None:
        """Deliver to every route whose pattern matches; raises :class:`PublishError`."""
        for envelope in envelopes:
            to_entry(envelope, "local")  # what PutEvents refuses (over 256 KB), refused here too
        routes = list(self.routes())
        messages: list[tuple[str, str]] = []
        for envelope in envelopes:
            event = delivered_event(envelope, self.region, self.queues.account)
            body = json.dumps(event, separators=(",", ":"))
            for route in routes:
                try:
                    hit = matches(route.pattern, event)
                except Exception:  # never expected of a validated pattern; still, one rule never stops the rest
                    log.exception(
                        "rule %s (queue %s): its pattern could not be evaluated; skipped", route.rule or "-", route.queue
                    )
                    continue
                if hit:
                    messages.append(
                        (
                            route.queue,
                            body
                            if route.rule is None
                            else json.dumps({"rule": route.rule, "event": event}, separators=(",", ":")),
                        )
                    )
        if not messages:
            return
        try:
            with self.engine.write():
                self.queues.send_many(messages)
        except (sqlite3.Error, QueueNotFound) as exc:
            raise PublishError(f"{len(envelopes)} events not published: {exc}") from exc
