"""EventBridge operations of the admin commands: asking EventBridge whether a pattern
matches, and archive replays restricted to chosen rules."""

from __future__ import annotations

import json
from contextlib import suppress
from datetime import datetime
from typing import Any

from adapters.aws import client

SCRATCH = "crm-rules-test"


def matches_on_scratch_bus(region: str, pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    """The embedded EventBridge decides (moto lacks TestEventPattern): a scratch bus with
    the rule and a queue target; the pattern matches when the event arrives."""
    events, sqs = client("events", region), client("sqs", region)
    with suppress(events.exceptions.ResourceAlreadyExistsException):
        events.create_event_bus(Name=SCRATCH)
    url = sqs.create_queue(QueueName=SCRATCH)["QueueUrl"]
    sqs.purge_queue(QueueUrl=url)
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name=SCRATCH, EventBusName=SCRATCH, EventPattern=json.dumps(pattern))
    events.put_targets(Rule=SCRATCH, EventBusName=SCRATCH, Targets=[{"Id": "q", "Arn": arn}])
    events.put_events(Entries=[{"Source": event["source"], "DetailType": event["detail-type"],
                                "Detail": json.dumps(event["detail"]), "EventBusName": SCRATCH}])
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, WaitTimeSeconds=0).get("Messages") or []
    return bool(received)


def test_event_pattern(region: str, endpoint_url: str | None, pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    """EventBridge's own TestEventPattern (a deployed stack)."""
    full = {"id": SCRATCH, "account": "000000000000", "time": "2026-01-01T00:00:00Z", "region": region,
            "resources": [], "version": "0", **event}
    result: bool = client("events", region, endpoint_url).test_event_pattern(
        EventPattern=json.dumps(pattern), Event=json.dumps(full))["Result"]
    return result


def start_archive_replay(region: str, endpoint_url: str | None, *, bus_name: str, archive_name: str,
                         rule_names: list[str], start: datetime, end: datetime, name: str) -> dict[str, Any]:
    """Replay the archive to ``rule_names`` only (``FilterArns``)."""
    events = client("events", region, endpoint_url)
    bus_arn = events.describe_event_bus(Name=bus_name)["Arn"]
    archive_arn = events.describe_archive(ArchiveName=archive_name)["ArchiveArn"]
    rule_arns = [events.describe_rule(Name=rule, EventBusName=bus_name)["Arn"] for rule in rule_names]
    response = events.start_replay(ReplayName=name, EventSourceArn=archive_arn, EventStartTime=start,
                                   EventEndTime=end, Destination={"Arn": bus_arn, "FilterArns": rule_arns})
    return {"replay": name, "state": response.get("State"), "rules": rule_arns}
