"""`crm rules`: list the registered rules, test one against an event, export for OpenTofu."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from contextlib import AbstractContextManager
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
    from adapters.eventbridge_admin import matches_on_scratch_bus, test_event_pattern
    from adapters.wiring import services
    from consumers.hooks import ServiceContext, outputs_of
    from events import DecodeError, from_delivered

    with stack(args) as settings:
        if args.stack == "aws":
            matched = test_event_pattern(settings.region, settings.endpoint_url, rule.pattern, event)
        else:
            matched = matches_on_scratch_bus(settings.region, rule.pattern, event)
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
