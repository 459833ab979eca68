"""`crm rules`: list the registered rules, test one against an event, export for OpenTofu."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from contextlib import AbstractContextManager, suppress
from pathlib import Path
from typing import Any

from crm.errors import UsageError
from crm.settings import Settings, load_settings


def delivered_form(data: dict[str, Any]) -> dict[str, Any]:
    """An event file as EventBridge would deliver it, from any of the shapes people keep:
    a delivered event, a PutEvents entry, or a rules-queue message."""
    if "rule" in data and "event" in data:
        data = data["event"]
    if "DetailType" in data:
        detail = data["Detail"]
        return {"source": data["Source"], "detail-type": data["DetailType"],
                "detail": json.loads(detail) if isinstance(detail, str) else detail}
    if "detail-type" in data and "detail" in data:
        return data
    raise UsageError("the event file holds neither an EventBridge event nor a PutEvents entry")


def matches_locally(settings: Settings, pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    """Ask the embedded EventBridge, not a matcher of ours: a scratch bus, the rule, a queue."""
    from adapters.aws import client

    events, sqs = client("events", settings.region), client("sqs", settings.region)
    bus = "crm-rules-test"
    with suppress(events.exceptions.ResourceAlreadyExistsException):
        events.create_event_bus(Name=bus)
    url = sqs.create_queue(QueueName="crm-rules-test")["QueueUrl"]
    sqs.purge_queue(QueueUrl=url)
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    events.put_rule(Name="crm-rules-test", EventBusName=bus, EventPattern=json.dumps(pattern))
    events.put_targets(Rule="crm-rules-test", EventBusName=bus, Targets=[{"Id": "q", "Arn": arn}])
    events.put_events(Entries=[{"Source": event["source"], "DetailType": event["detail-type"],
                                "Detail": json.dumps(event["detail"]), "EventBusName": bus}])
    received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=1, WaitTimeSeconds=0).get("Messages") or []
    return bool(received)


def matches_in_aws(settings: Settings, pattern: dict[str, Any], event: dict[str, Any]) -> bool:
    from adapters.aws import client

    full = {"id": "crm-rules-test", "account": "000000000000", "time": "2026-01-01T00:00:00Z",
            "region": settings.region, "resources": [], "version": "0", **event}
    result: bool = client("events", settings.region, settings.endpoint_url).test_event_pattern(
        EventPattern=json.dumps(pattern), Event=json.dumps(full))["Result"]
    return result


def run(args: argparse.Namespace, stack: Callable[[argparse.Namespace], AbstractContextManager[Settings]]) -> int:
    from consumers.rules.registry import default_registry

    registry = default_registry(load_settings().rules_module)
    if args.action == "list":
        for rule in registry.rules():
            if args.json:
                print(json.dumps({"name": rule.name, "pattern": rule.pattern, "description": rule.description}))
            else:
                print(f"{rule.name}: {json.dumps(rule.pattern)}\n    {rule.description}")
        return 0
    if args.action == "export":
        from crm.infra_export import write_export

        write_export(Path(args.output))
        print(f"wrote {args.output}")
        return 0
    if not args.name or not args.event_file:
        raise UsageError("usage: crm rules test NAME EVENT.json")
    try:
        rule = registry.get(args.name)
    except KeyError as exc:
        raise UsageError(str(exc.args[0])) from None
    try:
        event = delivered_form(json.loads(Path(args.event_file).read_text(encoding="utf-8")))
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read {args.event_file}: {exc}") from None
    from adapters.wiring import services
    from consumers.hooks import ServiceContext, outputs_of
    from events import DecodeError, from_delivered

    with stack(args) as settings:
        matched = (matches_in_aws if args.stack == "aws" else matches_locally)(settings, rule.pattern, event)
        try:
            envelope = from_delivered(event)
        except DecodeError as exc:
            raise UsageError(str(exc)) from None
        outputs: list[dict[str, Any]] = []
        if matched:
            # the function runs with the read-only context and nothing is recorded or sent
            new_events, mails = outputs_of(rule.function(envelope, ServiceContext(services(), envelope.meta.occurred_at)))
            outputs = [{"event": type(e).__name__, "data": e.model_dump(mode="json")} for e in new_events]
            outputs += [{"mail": m.kind, "subject": m.subject, "text": m.text} for m in mails]
    if args.json:
        print(json.dumps({"rule": rule.name, "matches": matched, "outputs": outputs}, sort_keys=True))
    else:
        print(f"{rule.name}: pattern {'matches' if matched else 'does not match'}")
        for output in outputs:
            print(f"  would emit {json.dumps(output, sort_keys=True)}")
    return 0
