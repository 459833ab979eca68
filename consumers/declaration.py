"""What a queue-fed consumer is, declared once in its handler module.

A handler module holds one :class:`Consumer` value: its name (queue suffix and
function name), the EventBridge patterns that feed its queue, whether it has side
effects (then archive replays never reach it), its batch size and timeout. The
topology (:func:`crm.topology.consumers`), the infra export, the local bus's routes
and the handler's own guard (:meth:`Consumer.accepted`) all read that value, so what
EventBridge delivers and what the handler acts on cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Generic, TypeVar

from events import DomainEvent, Envelope
from events.pattern_match import matches

E = TypeVar("E", bound=DomainEvent)

Pattern = dict[str, Any]
ALL_OUR_EVENTS: Pattern = {"source": [{"prefix": "crm."}]}
INBOUND_SOURCES = ("crm.inbound", "crm.admin")  # a mail decided now, or released from quarantine later
RULE_PREFIX = "crm-rule-"  # EventBridge rule name of a hook rule: prefix + the rule's name


def on(event: type[DomainEvent], sources: tuple[str, ...], data: Mapping[str, Any] | None = None) -> Pattern:
    """The EventBridge pattern for ``event`` from ``sources``, with ``data`` tests on its fields.

    >>> from events import ReplyRouted
    >>> on(ReplyRouted, ("crm.reply",), {"send": [True]})
    {'source': ['crm.reply'], 'detail-type': ['ReplyRouted'], 'detail': {'data': {'send': [True]}}}
    """
    pattern: Pattern = {"source": list(sources), "detail-type": [event.type_name()]}
    if data:
        pattern["detail"] = {"data": dict(data)}
    return pattern


def pattern_view(envelope: Envelope) -> dict[str, Any]:
    """The fields of the delivered event a pattern may test that the envelope decides."""
    return {"source": envelope.source, "detail-type": envelope.type, "detail": envelope.detail()}


@dataclass(frozen=True)
class Consumer(Generic[E]):
    name: str  # queue suffix and function name
    handler: str  # module:function Lambda calls
    event: type[E]  # the event class every pattern delivers (DomainEvent: any)
    patterns: Mapping[str, Pattern] = field(default_factory=dict)  # EventBridge rule name -> pattern
    timeout_seconds: int = 60
    side_effects: bool = True  # True: archive replays never reach it (they must not act twice)
    batch_size: int = 10
    # Lambda's MaximumBatchingWindowInSeconds: the trigger waits this long to fill a batch,
    # so events that follow each other (a decision, then its sends' outcomes) come in one
    batching_window_seconds: int = 0
    reserved_concurrency: int | None = None
    wraps_rule_name: bool = False  # target input carries the rule's name (rules queue)

    @classmethod
    def of(
        cls,
        name: str,
        handler: str,
        event: type[E],
        *,
        sources: tuple[str, ...],
        data: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> Consumer[E]:
        """A consumer fed by one rule, ``crm-<name>``: ``event`` from ``sources`` (see :func:`on`)."""
        return cls(name, handler, event, {f"crm-{name}": on(event, sources, data)}, **options)

    @property
    def replay_safe(self) -> bool:
        """May receive archive replays: what it does on a replay changes nothing outside the read models."""
        return not self.side_effects

    def with_rules(self, rule_patterns: Mapping[str, Pattern]) -> Consumer[E]:
        """This consumer fed by the given hook rules (the rules consumer's patterns are the registry's)."""
        return replace(self, patterns={f"{RULE_PREFIX}{n}": p for n, p in sorted(rule_patterns.items())})

    def rule_of(self, rule_name: str) -> str | None:
        """The name the target's input wraps the event with (None: the bare event)."""
        return rule_name.removeprefix(RULE_PREFIX) if self.wraps_rule_name else None

    def accepted(self, envelope: Envelope) -> E | None:
        """The event, when one of the patterns matches the envelope (what EventBridge would
        deliver to this consumer); else None, and the handler does nothing."""
        view = pattern_view(envelope)
        if not any(matches(pattern, view) for pattern in self.patterns.values()):
            return None
        event = envelope.event
        if not isinstance(event, self.event):
            raise TypeError(f"consumer {self.name}: its pattern delivers {type(event).__name__}, declared {self.event.__name__}")
        return event
