"""The Bus port's contract: EventBridge rules with SQS targets, on moto and as the local bus.

The same routes (pattern → queue, optionally wrapped with the rule's name as the rules
queue's input transformer does) must deliver the same events to the same queues, in
the form EventBridge delivers them.
"""

from __future__ import annotations

import json
import logging
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.local_bus import LocalBus, Route
from adapters.local_engine import LocalEngine
from adapters.local_queues import LocalQueues
from crm.topology import rule_input_template
from events import Envelope, FirstContact, MessageReceived
from ports import Bus, PublishError, Queues, QueueSpec
from tests.contracts.aws_moto import REGION, create_queues, mocked_aws

BUS = "crm-bus"
ROUTES = [
    Route("q-received", {"detail-type": ["MessageReceived"]}),
    Route("q-attachments", {"source": [{"prefix": "crm."}], "detail": {"data": {"attachment_count": [{"numeric": [">", 0]}]}}}),
    Route("q-rules", {"detail-type": ["FirstContact"]}, rule="welcome"),
    Route("q-rules", {"detail": {"data": {"from_address": [{"suffix": "@acme.com"}]}}}, rule="acme"),
    Route("q-none", {"source": ["crm.nowhere"]}),
]
QUEUE_NAMES = sorted({r.queue for r in ROUTES})


def received(n: int, sender: str, attachments: int) -> Envelope:
    event = MessageReceived(
        conversation_id=f"c{n}",
        ses_message_id=f"ses-{n}",
        bucket="b",
        raw_key=f"inbox/ses-{n}",
        received_at="2026-11-20T10:00:00Z",
        from_address=sender,
        subject="Hello",
        attachment_count=attachments,
    )
    return Envelope.new(event, stream_id=f"conversation#c{n}", version=1, seed=f"ses-{n}", correlation_id=f"ses-{n}")


def first_contact(n: int) -> Envelope:
    event = FirstContact(contact=f"jane{n}@acme.com", conversation_id=f"c{n}", ses_message_id=f"ses-{n}", acknowledge=True)
    return Envelope.new(event, stream_id=f"contact#jane{n}", version=1, seed=f"ses-{n}", correlation_id=f"ses-{n}")


ENVELOPES = [received(1, "jane@acme.com", 0), received(2, "bob@other.org", 2), first_contact(3), received(4, "ann@acme.com", 1)]


def delivered(queues: Queues, name: str) -> list[tuple[str | None, str, dict[str, Any]]]:
    """(rule, event id, event) of every message on ``name``."""
    out = []
    while batch := queues.receive(name, limit=10, visibility=60):
        for message in batch:
            body = json.loads(message["Body"])
            rule, event = (body["rule"], body["event"]) if "rule" in body else (None, body)
            out.append((rule, event["detail"]["meta"]["event_id"], event))
            queues.delete(name, message["ReceiptHandle"])
    return out


class BusContract(ABC):
    @abstractmethod
    def backend(self, tmp_path: Path, routes: list[Route]) -> AbstractContextManager[tuple[Bus, Queues]]: ...

    def test_every_matching_route_gets_the_event_as_eventbridge_delivers_it(self, tmp_path: Path) -> None:
        with self.backend(tmp_path, ROUTES) as (bus, queues):
            bus.publish(ENVELOPES)
            got = {name: sorted((rule or "", event_id) for rule, event_id, _e in delivered(queues, name)) for name in QUEUE_NAMES}
            ids = [e.event_id for e in ENVELOPES]
            assert got == {
                "q-received": sorted(("", ids[i]) for i in (0, 1, 3)),
                "q-attachments": sorted(("", ids[i]) for i in (1, 3)),
                "q-rules": sorted([("welcome", ids[2]), ("acme", ids[0]), ("acme", ids[3])]),
                "q-none": [],
            }

    def test_the_delivered_event_carries_the_whole_envelope(self, tmp_path: Path) -> None:
        with self.backend(tmp_path, ROUTES) as (bus, queues):
            bus.publish([ENVELOPES[2]])
            ((rule, _id, event),) = delivered(queues, "q-rules")
            assert rule == "welcome"
            assert event["detail-type"] == "FirstContact" and event["source"] == "crm.inbound"
            assert event["detail"] == json.loads(json.dumps(ENVELOPES[2].detail()))
            assert event["region"] == REGION
            assert {"version", "id", "time", "account", "resources"} <= set(event)


class TestAwsBus(BusContract):
    @contextmanager
    def backend(self, tmp_path: Path, routes: list[Route]) -> Iterator[tuple[Bus, Queues]]:
        from adapters.aws import client
        from adapters.bus import EventBus
        from adapters.queues import Queues as AwsQueues

        with mocked_aws():
            arns = create_queues([QueueSpec(name) for name in sorted({r.queue for r in routes})])
            events = client("events", REGION)
            events.create_event_bus(Name=BUS)
            for n, route in enumerate(routes):
                events.put_rule(Name=f"crm-rule-{n}", EventBusName=BUS, EventPattern=json.dumps(route.pattern))
                target: dict[str, Any] = {"Id": route.queue, "Arn": arns[route.queue]}
                if route.rule is not None:
                    target["InputTransformer"] = {"InputPathsMap": {}, "InputTemplate": rule_input_template(route.rule)}
                events.put_targets(Rule=f"crm-rule-{n}", EventBusName=BUS, Targets=[target])
            yield EventBus(BUS, REGION), AwsQueues(REGION)


class TestLocalBus(BusContract):
    @contextmanager
    def backend(self, tmp_path: Path, routes: list[Route]) -> Iterator[tuple[LocalBus, LocalQueues]]:
        engine = LocalEngine(":memory:")
        queues = LocalQueues(engine, REGION)
        queues.ensure([QueueSpec(name) for name in sorted({r.queue for r in routes})])
        try:
            yield LocalBus(engine, queues, lambda: routes, REGION), queues
        finally:
            engine.close()

    def test_a_pattern_that_cannot_be_evaluated_is_skipped_and_logged(
        self, tmp_path: Path, caplog: pytest.LogCaptureFixture
    ) -> None:
        broken = Route("q-rules", {"detail": {"meta": {"version": [{"numeric": ["bogus", 0]}]}}}, rule="broken")
        with self.backend(tmp_path, [broken, *ROUTES]) as (bus, queues), caplog.at_level(logging.ERROR):
            bus.publish([ENVELOPES[2]])
            assert [(rule, i) for rule, i, _e in delivered(queues, "q-rules")] == [("welcome", ENVELOPES[2].event_id)]
        assert "rule broken" in caplog.text

    def test_a_publish_is_all_or_nothing(self) -> None:
        engine = LocalEngine(":memory:")
        queues = LocalQueues(engine, REGION)
        queues.ensure([QueueSpec(name) for name in QUEUE_NAMES])  # q-missing is never created
        bus = LocalBus(engine, queues, lambda: [*ROUTES, Route("q-missing", {"source": ["crm.inbound"]})], REGION)
        with pytest.raises(PublishError, match="q-missing"):
            bus.publish(ENVELOPES)
        assert all(sum(queues.depth(name)) == 0 for name in QUEUE_NAMES)
        engine.close()

    def test_a_publish_joins_the_callers_transaction(self, tmp_path: Path) -> None:
        with self.backend(tmp_path, ROUTES) as (bus, queues):
            with pytest.raises(RuntimeError), queues.engine.write():
                bus.publish(ENVELOPES)
                raise RuntimeError("the decision failed after publishing")
            assert all(sum(queues.depth(name)) == 0 for name in QUEUE_NAMES)
            with queues.engine.write():
                bus.publish(ENVELOPES)
            assert sum(queues.depth("q-received")) == 3

    @settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
    @given(
        st.lists(
            st.tuples(st.sampled_from(["jane@acme.com", "x@y.org", "a@ACME.com"]), st.integers(0, 3), st.booleans()),
            min_size=1,
            max_size=8,
        )
    )
    def test_each_route_gets_one_message_per_matching_event_in_order(
        self, tmp_path: Path, mails: list[tuple[str, int, bool]]
    ) -> None:
        envelopes = [
            first_contact(n) if contact else received(n, sender, attachments)
            for n, (sender, attachments, contact) in enumerate(mails)
        ]
        with self.backend(tmp_path, ROUTES) as (bus, queues):
            bus.publish(envelopes)
            rules = [(rule, i) for rule, i, _e in delivered(queues, "q-rules")]
            expected = []
            for envelope in envelopes:
                if envelope.type == "FirstContact":
                    expected.append(("welcome", envelope.event_id))
                sender = envelope.detail()["data"].get("from_address") or ""
                if sender.endswith("@acme.com"):
                    expected.append(("acme", envelope.event_id))
            assert rules == expected
            assert [i for _r, i, _e in delivered(queues, "q-attachments")] == [
                e.event_id for e in envelopes if e.detail()["data"].get("attachment_count", 0) > 0
            ]
