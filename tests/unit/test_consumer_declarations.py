"""Each handler's declared patterns decide exactly what its guard acts on, for any
event of the catalogue from any source: what EventBridge (or the local bus) delivers
is what the handler handles, and the topology lists those very declarations."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.delivered import delivered_event
from bootstrap import rule_patterns
from consumers import attachments, hooks, projector
from consumers.declaration import Consumer
from consumers.senders import ack, forward, reply
from crm import topology
from events import CATALOGUE, Envelope
from events.pattern_match import matches
from events.streams import conversation_stream

MODULES = [ack, forward, reply, projector, attachments]
SOURCES = ["crm.inbound", "crm.admin", "crm.reply", "crm.senders", "crm.rules", "crm.core", "other.app"]


class Untouchable:
    """Services a handler must not touch: any use means the guard let the event through."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the handler used svc.{name} for an event its pattern does not match")


envelopes = st.builds(
    lambda event, source: Envelope.new(
        event, stream_id=conversation_stream("c1"), version=1, seed="s1", correlation_id="c1", source=source
    ),
    st.sampled_from(sorted(CATALOGUE)).flatmap(lambda name: st.builds(CATALOGUE[name])),
    st.sampled_from(SOURCES),
)


@pytest.mark.parametrize("module", MODULES, ids=lambda m: m.__name__)
@settings(max_examples=300, deadline=None)
@given(envelope=envelopes)
def test_the_declared_pattern_decides_what_the_guard_accepts(module: Any, envelope: Envelope) -> None:
    consumer: Consumer[Any] = module.CONSUMER
    delivered = any(matches(p, delivered_event(envelope, "eu-west-1")) for p in consumer.patterns.values())
    accepted = consumer.accepted(envelope)
    assert (accepted is not None) == delivered
    if accepted is not None:
        assert accepted is envelope.event
    else:
        module.handle(Untouchable(), envelope, {})  # returns before any work


def test_the_topology_lists_the_handlers_own_declarations() -> None:
    listed = {c.name: c for c in topology.consumers()}
    for module in MODULES:
        assert listed[module.CONSUMER.name] is module.CONSUMER
        assert module.CONSUMER.handler == f"{module.__name__}.handler"
    rules = listed[hooks.CONSUMER.name]
    assert rules.wraps_rule_name and set(rules.patterns) == {f"crm-rule-{n}" for n in rule_patterns()}
    exported = topology.export()["consumers"]
    for name, consumer in listed.items():
        assert exported[name]["side_effects"] == consumer.side_effects
        assert exported[name]["batch_size"] == consumer.batch_size
        assert exported[name]["timeout"] == consumer.timeout_seconds


def test_attachments_never_see_replays() -> None:
    # a replay would rewrite the files' blobs under events deduped on the first outcome
    assert attachments.CONSUMER.side_effects and not attachments.CONSUMER.replay_safe
    assert projector.CONSUMER.replay_safe
