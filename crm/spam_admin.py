"""`crm spam`: the quarantine (list, release) and the pattern list (list, add, remove, test)."""

from __future__ import annotations

import argparse
import json
from typing import Any

from adapters.recorder import Plan
from adapters.wiring import Services, services
from crm.errors import UsageError
from crm.local import local_running
from crm.settings import Settings
from events import SpamRejected, SpamReleased
from producers.decide import quarantine_stream
from producers.patterns import FIELDS, compile_one, compile_patterns, first_match, parse_document
from producers.receipt import Receipt
from producers.spam_config import default_document


def quarantined(svc: Services) -> list[dict[str, Any]]:
    records = []
    for stream in svc.store.streams("quarantine#"):
        envelopes = svc.store.read(stream)
        rejected = next((e for e in envelopes if isinstance(e.event, SpamRejected)), None)
        if rejected is None:
            continue
        data = rejected.event
        assert isinstance(data, SpamRejected)
        records.append({"id": data.ses_message_id, "stage": data.stage, "reason": data.reason,
                        "pattern_id": data.pattern_id, "from": data.from_address, "subject": data.subject,
                        "received_at": data.received_at, "quarantine_key": data.quarantine_key,
                        "released": any(isinstance(e.event, SpamReleased) for e in envelopes)})
    return sorted(records, key=lambda r: str(r["received_at"]))


def release(svc: Services, ses_message_id: str) -> dict[str, Any]:
    """Emit SpamReleased and continue the mail as accepted: exactly once, however often called."""
    from producers.inbound import process

    envelopes = svc.store.read(quarantine_stream(ses_message_id))
    rejected = next((e.event for e in envelopes if isinstance(e.event, SpamRejected)), None)
    if rejected is None:
        raise UsageError(f"no quarantined mail {ses_message_id!r} (see `crm spam list`)")
    svc.recorder.record(Plan(events=[(quarantine_stream(ses_message_id), SpamReleased(
        ses_message_id=ses_message_id, quarantine_key=rejected.quarantine_key))]),
        dedupe_key=f"release#{ses_message_id}", correlation_id=ses_message_id)
    # judged as it arrived: its own verdicts and envelope sender (a null one stays null: no ack to a bounce)
    receipt = Receipt(ses_message_id=ses_message_id, timestamp=rejected.received_at,
                      envelope_sender=rejected.envelope_sender,
                      recipients=rejected.recipients, verdicts=rejected.verdicts, bucket=rejected.bucket,
                      object_key=rejected.raw_key)
    outcome = process(svc, receipt, skip_spam=True, dedupe_key=f"released#{ses_message_id}")
    return outcome.as_dict()


def _document(svc: Services, settings: Settings) -> list[dict[str, Any]]:
    try:
        text = svc.parameters.get(settings.patterns_parameter, ttl_seconds=0)
    except Exception:
        text = default_document()
    return parse_document(text)


def _save(svc: Services, settings: Settings, entries: list[dict[str, Any]]) -> None:
    svc.parameters.put(settings.patterns_parameter, json.dumps(entries, indent=2))


def patterns(settings: Settings, words: list[str], args: argparse.Namespace) -> int:
    svc = services()
    action = words[0] if words else "list"
    entries = _document(svc, settings)
    if action == "list":
        compiled = compile_patterns(entries, settings.match_limit)
        broken = dict(compiled.errors)
        for entry in entries:
            problem = broken.get(str(entry.get("id")))
            record = {**entry, "error": problem}
            print(json.dumps(record, sort_keys=True) if args.json else
                  f"{entry.get('id')}: /{entry.get('pattern')}/{entry.get('flags', '')} on "
                  f"{','.join(entry.get('fields') or FIELDS)}" + (f"  ✗ {problem}" if problem else ""))
        return 0
    if action == "add":
        if len(words) != 3:
            raise UsageError("usage: crm spam patterns add ID PATTERN [--fields subject,from,body] [--flags i]")
        entry = {"id": words[1], "pattern": words[2], "fields": [f.strip() for f in args.fields.split(",") if f],
                 "flags": args.flags}
        try:
            compile_one(entry, settings.match_limit)
        except ValueError as exc:
            raise UsageError(f"pattern {words[1]!r} {exc}") from None
        entries = [e for e in entries if e.get("id") != words[1]] + [entry]
        _save(svc, settings, entries)
        print(f"added {words[1]} ({len(entries)} patterns)")
        return 0
    if action == "remove":
        if len(words) != 2:
            raise UsageError("usage: crm spam patterns remove ID")
        kept = [e for e in entries if e.get("id") != words[1]]
        if len(kept) == len(entries):
            raise UsageError(f"no pattern with id {words[1]!r}")
        _save(svc, settings, kept)
        print(f"removed {words[1]} ({len(kept)} patterns)")
        return 0
    if action == "test":
        if len(words) < 2:
            raise UsageError("usage: crm spam patterns test TEXT")
        text = " ".join(words[1:])
        compiled = compile_patterns(entries, settings.match_limit)
        hit = first_match(compiled, {"subject": text, "from": text, "body": text})
        if args.json:
            print(json.dumps({"match": hit.__dict__ if hit else None, "errors": compiled.errors}))
        else:
            print(f"spam: pattern {hit.pattern_id!r} matches ({hit.excerpt!r})" if hit else "not spam: no pattern matches")
            for pattern_id, problem in compiled.errors:
                print(f"  skipped {pattern_id}: {problem}")
        return 0
    raise UsageError(f"unknown patterns action {action!r} (list, add, remove, test)")


def run(settings: Settings, args: argparse.Namespace) -> int:
    words = list(args.words)
    svc = services()
    if words[0] == "list":
        records = quarantined(svc)
        for record in records:
            print(json.dumps(record, sort_keys=True) if args.json else
                  f"{record['id']}  {record['stage']:<10} {'released ' if record['released'] else ''}"
                  f"{record['from'] or '?'}: {record['subject']!r} — {record['reason']}")
        return 0
    if words[0] == "release":
        if len(words) != 2:
            raise UsageError("usage: crm spam release ID")
        result = release(svc, words[1])
        if local_running():
            from crm.flows import drain_all

            drain_all(settings)
        print(json.dumps(result, sort_keys=True) if args.json else
              f"released {words[1]}: {result['outcome']} → conversation {result['conversation_id']}")
        return 0
    if words[0] == "patterns":
        return patterns(settings, words[1:], args)
    raise UsageError(f"unknown spam action {words[0]!r} (list, release, patterns)")
