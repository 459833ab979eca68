"""`crm rules`: list the registered rules, validate a pattern, match one against an event,
test a rule against an event, export for OpenTofu.

Matching is :mod:`events.pattern_match` (EventBridge's semantics, in-process): the
same answer locally and for a deployed stack, with no AWS call."""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crm.errors import UsageError
from crm.settings import load_settings
from events import dump
from ports import Services

if TYPE_CHECKING:
    from consumers.rules.registry import Registry
    from events import Envelope


def delivered_form(data: dict[str, Any]) -> dict[str, Any]:
    """An event file as EventBridge would deliver it, from any of the shapes people keep:
    a delivered event, a PutEvents entry, or a rules-queue message."""
    if "rule" in data and "event" in data:
        data = data["event"]
    if "DetailType" in data:
        detail = data["Detail"]
        event = {
            "source": data["Source"],
            "detail-type": data["DetailType"],
            "detail": json.loads(detail) if isinstance(detail, str) else detail,
        }
        if "Resources" in data:
            event["resources"] = data["Resources"]
        if "Time" in data:
            event["time"] = str(data["Time"])
        return event
    if "detail-type" in data and "detail" in data:
        return data
    raise UsageError("the event file holds neither an EventBridge event nor a PutEvents entry")


def _json_file(path: str | None, what: str) -> Any:
    if not path:
        raise UsageError(f"usage: crm rules {what}")
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise UsageError(f"cannot read {path}: {exc}") from None


def _checked_pattern(path: str | None, what: str) -> Any:
    """The pattern in ``path``, or a UsageError (exit 2) saying why EventBridge would refuse it."""
    from events.pattern_rules import InvalidPattern, validate_pattern

    pattern = _json_file(path, what)
    try:
        validate_pattern(pattern)
    except InvalidPattern as exc:
        raise UsageError(f"{path}: invalid {exc}") from None
    return pattern


def check_registered(registry: Registry) -> None:
    """Refuse to export while a rule is refused: OpenTofu would fail at apply."""
    if registry.refused:
        raise UsageError("cannot export, refused rule(s): " + "; ".join(registry.refused.values()))


def rule_records(registry: Registry, envelopes: list[Envelope] | None = None, *, last: int = 5) -> list[dict[str, Any]]:
    """Each rule (name, pattern, description) and, given the event log, the last ``last``
    events its pattern matches (EventBridge's semantics, newest first); then the refused rules."""
    from events.pattern_match import matches

    delivered = [(e, {"source": e.source, "detail-type": e.type, "detail": e.detail()}) for e in envelopes or []]
    records: list[dict[str, Any]] = []
    for rule in registry.rules():
        record: dict[str, Any] = {"name": rule.name, "pattern": rule.pattern, "description": rule.description}
        if envelopes is not None:
            hits = [e for e, event in delivered if matches(rule.pattern, event)]
            record["matches"] = len(hits)
            record["last_matches"] = [
                {"event_id": e.event_id, "type": e.type, "stream_id": e.meta.stream_id, "occurred_at": e.meta.occurred_at}
                for e in sorted(hits, key=lambda e: e.meta.occurred_at, reverse=True)[:last]
            ]
        records.append(record)
    records += [{"name": name, "refused": reason} for name, reason in sorted(registry.refused.items())]
    return records


def rule_line(record: dict[str, Any]) -> str:
    if "refused" in record:
        return f"{record['name']}: REFUSED\n    {record['refused']}"
    line = f"{record['name']}: {json.dumps(record['pattern'])}\n    {record['description']}"
    if "matches" in record:
        line += f"\n    {record['matches']} matching event(s)" + "".join(
            f"\n      {m['occurred_at']}  {m['type']}  {m['stream_id']}" for m in record["last_matches"]
        )
    return line


def run(args: argparse.Namespace, stack: Callable[[argparse.Namespace], AbstractContextManager[Services]]) -> int:
    from bootstrap import rules as hook_rules

    if args.action == "validate":
        _checked_pattern(args.name, "validate PATTERN.json")
        print("valid")
        return 0
    if args.action == "match":
        from events.pattern_match import matches

        pattern = _checked_pattern(args.name, "match PATTERN.json EVENT.json")
        event = _json_file(args.event_file, "match PATTERN.json EVENT.json")
        if not isinstance(event, dict):
            raise UsageError(f"{args.event_file}: an event is a JSON object")
        print("match" if matches(pattern, event) else "no match")
        return 0
    registry = hook_rules(load_settings().rules_module)
    if args.action == "list":
        if args.matches:
            with stack(args) as svc:
                records = rule_records(registry, svc.store.all_events())
        else:
            records = rule_records(registry)
        for record in records:
            print(json.dumps(record, sort_keys=True) if args.json else rule_line(record))
        return 0
    if args.action == "export":
        from crm.infra_export import write_export

        check_registered(registry)
        write_export(Path(args.output))
        print(f"wrote {args.output}")
        return 0
    if not args.name or not args.event_file:
        raise UsageError("usage: crm rules test NAME EVENT.json")
    try:
        rule = registry.get(args.name)
    except KeyError as exc:
        raise UsageError(registry.refused.get(args.name) or str(exc.args[0])) from None
    data = _json_file(args.event_file, "test NAME EVENT.json")
    if not isinstance(data, dict):
        raise UsageError(f"{args.event_file}: an event is a JSON object")
    event = delivered_form(data)
    from consumers.hooks import ServiceContext, outputs_of
    from events import DecodeError, from_delivered
    from events.pattern_match import matches

    matched = matches(rule.pattern, event)
    outputs: list[dict[str, Any]] = []
    if matched:
        try:
            envelope = from_delivered(event)
        except DecodeError as exc:
            raise UsageError(str(exc)) from None
        with stack(args) as svc:
            # the function runs with the read-only context and nothing is recorded or sent
            new_events, mails = outputs_of(rule.function(envelope, ServiceContext(svc, envelope.meta.occurred_at)))
        outputs = [{"event": type(e).__name__, "data": dump(e)} for e in new_events]
        outputs += [{"mail": m.kind, "subject": m.subject, "text": m.text} for m in mails]
    if args.json:
        print(json.dumps({"rule": rule.name, "matches": matched, "outputs": outputs}, sort_keys=True))
    else:
        print(f"{rule.name}: pattern {'matches' if matched else 'does not match'}")
        for output in outputs:
            print(f"  would emit {json.dumps(output, sort_keys=True)}")
    return 0
