"""The local stack's hook-rule routing: EventBridge's matching, done in-process.

In AWS each hook rule is an EventBridge rule whose target wraps the event as
``{"rule": name, "event": ...}`` for the rules queue. On the local stack moto's
EventBridge is not trusted with user patterns (it does not validate them, matches
some operators its own way, and a pattern it cannot evaluate makes every
``PutEvents`` raise, which would stop all mail). So, when ``rule_matching`` is
``in-process``, the bus publishes to EventBridge as usual (built-in consumers keep
their EventBridge rules) and then delivers each event, in the form EventBridge
delivers it, to the rules queue once per hook rule whose pattern
:func:`events.pattern_match.matches`.

A rule's pattern that cannot be evaluated is logged and skipped: one bad rule never
stops the others or the mail flow.
"""

from __future__ import annotations

import json
import logging
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from adapters.aws import client
from adapters.bus import EventBus
from adapters.delivered import LOCAL_ACCOUNT, delivered_event
from adapters.queues import Queues
from events import Envelope
from events.pattern_match import matches

log = logging.getLogger("crm.rule_routing")

Patterns = Callable[[], Mapping[str, dict[str, Any]]]

# event ids this process routed itself, so a copy of the same event read back from
# the bus (outside-client watching) is not routed twice; bounded, and a miss only
# costs a duplicate that the hooks consumer dedupes anyway
_ROUTED: OrderedDict[str, None] = OrderedDict()
_ROUTED_LIMIT = 50_000


def _remember(event_id: str) -> None:
    _ROUTED[event_id] = None
    _ROUTED.move_to_end(event_id)
    while len(_ROUTED) > _ROUTED_LIMIT:
        _ROUTED.popitem(last=False)


def routed_here(event: Mapping[str, Any]) -> bool:
    detail = event.get("detail")
    meta = detail.get("meta") if isinstance(detail, dict) else None
    return isinstance(meta, dict) and meta.get("event_id") in _ROUTED


def route(events: Iterable[Mapping[str, Any]], patterns: Mapping[str, dict[str, Any]], queues: Queues, queue: str) -> int:
    """Send each event to ``queue`` once per rule whose pattern matches it; how many sent."""
    sent = 0
    for event in events:
        for name, pattern in patterns.items():
            try:
                hit = matches(pattern, dict(event))
            except Exception:  # never expected of a validated pattern; still, one rule never stops the rest
                log.exception("rule %s: its pattern could not be evaluated; skipped", name)
                continue
            if hit:
                queues.send(queue, json.dumps({"rule": name, "event": event}, separators=(",", ":")))
                sent += 1
    return sent


class RuleRoutingBus(EventBus):
    """:class:`EventBus` that also routes every published event to the matching hook rules."""

    def __init__(
        self, bus_name: str, region: str, endpoint_url: str | None = None, *, patterns: Patterns, rules_queue: str
    ) -> None:
        super().__init__(bus_name, region, endpoint_url)
        self.region = region
        self.patterns = patterns
        self.rules_queue = rules_queue
        self._queues = Queues(region, endpoint_url)

    def publish(self, envelopes: Sequence[Envelope]) -> None:
        for envelope in envelopes:
            _remember(envelope.event_id)
        super().publish(envelopes)
        # after PutEvents succeeded, as EventBridge delivers only what it accepted; if this
        # fails the invocation fails and is retried, and the hooks consumer dedupes
        route([delivered_event(e, self.region) for e in envelopes], self.patterns(), self._queues, self.rules_queue)


CATCH_ALL: dict[str, Any] = {"source": [{"prefix": ""}]}  # every event has a string source


class OutsideEvents:
    """Events other processes put on the local bus (``crm serve --aws-port``) reach the hook
    rules too: an EventBridge rule copies every event to ``queue``, and :meth:`forward`
    routes those this process did not publish (and route) itself."""

    def __init__(
        self, bus_name: str, region: str, endpoint_url: str | None = None, *, queue: str, rules_queue: str, patterns: Patterns
    ) -> None:
        self.queue, self.rules_queue, self.patterns = queue, rules_queue, patterns
        self._queues = Queues(region, endpoint_url)
        self._sqs = client("sqs", region, endpoint_url)
        events = client("events", region, endpoint_url)
        url = self._sqs.create_queue(QueueName=queue)["QueueUrl"]
        arn = self._sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        events.put_rule(Name=queue, EventBusName=bus_name, EventPattern=json.dumps(CATCH_ALL), State="ENABLED")
        events.put_targets(Rule=queue, EventBusName=bus_name, Targets=[{"Id": "outside", "Arn": arn}])

    def forward(self) -> int:
        """Route every waiting outside event; how many rule deliveries that made."""
        sent = 0
        while messages := self._queues.receive(self.queue, limit=10):
            events = []
            for message in messages:
                try:
                    event = json.loads(message["Body"])
                except ValueError:
                    event = None
                if isinstance(event, dict) and not routed_here(event):
                    event.setdefault("account", LOCAL_ACCOUNT)  # moto leaves it out
                    events.append(event)
            if events:
                sent += route(events, self.patterns(), self._queues, self.rules_queue)
            for message in messages:
                self._queues.delete(self.queue, message["ReceiptHandle"])
        return sent
