"""`crm spam`: the quarantine (list, release); the pattern list and threshold are in
:mod:`crm.spam_patterns`."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from crm.errors import UsageError
from events import SpamRejected, SpamReleased, dump
from events.streams import quarantine_stream
from ports import Plan, Services
from producers.receipt import Receipt


def quarantined(svc: Services) -> list[dict[str, Any]]:
    records = []
    for stream in svc.store.streams("quarantine#"):
        envelopes = svc.store.read(stream)
        rejected = next((e for e in envelopes if isinstance(e.event, SpamRejected)), None)
        if rejected is None:
            continue
        data = rejected.event
        assert isinstance(data, SpamRejected)
        records.append(
            {
                "id": data.ses_message_id,
                "stage": data.stage,
                "reason": data.reason,
                "pattern_id": data.pattern_id,
                "score": data.score,
                "threshold": data.threshold,
                "rules": dump(data.rules),
                "rules_total": data.rules_total,
                "from": data.from_address,
                "subject": data.subject,
                "received_at": data.received_at,
                "quarantine_key": data.quarantine_key,
                "released": any(isinstance(e.event, SpamReleased) for e in envelopes),
            }
        )
    return sorted(records, key=lambda r: str(r["received_at"]))


def release(svc: Services, ses_message_id: str) -> dict[str, Any]:
    """Emit SpamReleased and continue the mail as accepted: exactly once, however often called."""
    from producers.inbound import process

    envelopes = svc.store.read(quarantine_stream(ses_message_id))
    rejected = next((e.event for e in envelopes if isinstance(e.event, SpamRejected)), None)
    if rejected is None:
        raise UsageError(f"no quarantined mail {ses_message_id!r} (see `crm spam list`)")
    svc.recorder.record(
        Plan(
            events=[
                (
                    quarantine_stream(ses_message_id),
                    SpamReleased(ses_message_id=ses_message_id, quarantine_key=rejected.quarantine_key),
                )
            ]
        ),
        dedupe_key=f"release#{ses_message_id}",
        correlation_id=ses_message_id,
    )
    # judged as it arrived: its own verdicts and envelope sender (a null one stays null: no ack to a bounce)
    receipt = Receipt(
        ses_message_id=ses_message_id,
        timestamp=rejected.received_at,
        envelope_sender=rejected.envelope_sender,
        recipients=rejected.recipients,
        verdicts=rejected.verdicts,
        bucket=rejected.bucket,
        object_key=rejected.raw_key,
    )
    outcome = process(svc, receipt, skip_spam=True, dedupe_key=f"released#{ses_message_id}")
    return outcome.as_dict()


def release_and_settle(svc: Services, ses_message_id: str) -> dict[str, Any]:
    """:func:`release`, then every consumer runs (`settle`): what `crm spam release` and the web view do."""
    from crm.flows import settle

    result = release(svc, ses_message_id)
    settle(svc)
    return result


def run(svc: Services, args: argparse.Namespace) -> int:
    words = list(args.words)
    if words[0] == "list":
        records = quarantined(svc)
        for record in records:
            print(
                json.dumps(record, sort_keys=True)
                if args.json
                else f"{record['id']}  {record['stage']:<10} {'released ' if record['released'] else ''}"
                f"{record['from'] or '?'}: {record['subject']!r} — {record['reason']}"
            )
        return 0
    if words[0] == "release":
        if len(words) != 2:
            raise UsageError("usage: crm spam release ID")
        result = release_and_settle(svc, words[1])
        print(
            json.dumps(result, sort_keys=True)
            if args.json
            else f"released {words[1]}: {result['outcome']} → conversation {result['conversation_id']}"
        )
        return 0
    if words[0] == "raw":
        if len(words) != 2:
            raise UsageError("usage: crm spam raw ID")
        from crm.views import raw_mail

        sys.stdout.buffer.write(raw_mail(svc, words[1]))
        return 0
    if words[0] == "patterns":
        from crm.spam_patterns import patterns

        return patterns(svc, words[1:], args)
    if words[0] == "threshold":
        from crm.spam_patterns import threshold

        return threshold(svc, words[1:], args)
    raise UsageError(f"unknown spam action {words[0]!r} (list, release, raw, patterns, threshold)")
