"""What the read commands print: conversations, timelines, events, outbox, DLQs."""

from __future__ import annotations

import argparse
import base64
import json
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from crm.errors import UsageError
from events import ConversationStatusChanged, Envelope, MessageReceived, SendRetryApproved, SpamRejected
from events.base import utc_text
from events.streams import contact_stream, conversation_stream, quarantine_stream, stream_named
from ports import Plan, ProjectionTable, Services
from projections.pointer import current_table
from projections.queries import Filters, query

TIMELINE: dict[str, Callable[[dict[str, Any]], str]] = {
    "MessageReceived": lambda d: (
        f"← {d.get('from_name') or d.get('from_address')}: {d.get('subject')!r}"
        + (f"  [no ack: {d['auto_reply_reason']}]" if d.get("auto_reply_reason") else "")
    ),
    "FirstContact": lambda d: f"  first contact ({'acknowledged' if d.get('acknowledge') else 'not acknowledged'})",
    "AcknowledgementSent": lambda d: f"→ acknowledgement to {', '.join(d.get('to', []))}",
    "MessageForwarded": lambda d: f"→ forwarded to the owner{' (oversize: link only)' if d.get('oversize') else ''}",
    "ReplyRouted": lambda d: (
        f"  owner replied{'' if d.get('send') else ' (annotation only)'}"
        + (f"; commands {[c['name'] for c in d.get('commands', [])]}" if d.get("commands") else "")
    ),
    "ReplyDelivered": lambda d: f"→ reply to {', '.join(d.get('to', []))}: {d.get('subject')!r}",
    "SendFailed": lambda d: f"  ✗ {d.get('kind')} failed: {d.get('reason')}",
    "ReplyHeld": lambda d: f"  ✗ reply held (not sent): {d.get('reason')}",
    "SendInDoubt": lambda d: f"  ? {d.get('kind')} in doubt (attempt {d.get('attempt')}): {d.get('reason')}",
    "SendRetryApproved": lambda d: f"  {d.get('kind')} resend approved (after attempt {d.get('attempt')})",
    "MailSent": lambda d: f"→ {d.get('kind')} to {', '.join(d.get('to', []))}: {d.get('subject')!r}",
    "ConversationUpdated": lambda d: f"  updated {d.get('fields')}",
    "ConversationStatusChanged": lambda d: f"  status → {d.get('status')}" + (f" ({d['note']})" if d.get("note") else ""),
    "LeadScored": lambda d: f"  lead score {d.get('score')} ({d.get('band')}): {'; '.join(d.get('reasons', []))}",
    "FollowUpScheduled": lambda d: f"  {d.get('kind')} scheduled for {d.get('due_at')}",
    "FollowUpDue": lambda d: f"  {d.get('kind')} due ({d.get('due_at')})",
    "FollowUpCancelled": lambda d: "  follow-up cancelled",
    "AttachmentExtracted": lambda d: (
        f"  attachment {d.get('filename')} ({d.get('content_type')}, {d.get('size')} B): "
        f"{d.get('outcome')}"
        + (f" — {d.get('reason')}" if d.get("reason") else "")
        + (("\n      " + d["first_lines"].replace("\n", "\n      ")) if d.get("first_lines") else "")
    ),
    "DeliveryBounced": lambda d: f"  ✗ {d.get('feedback')} from {d.get('address')}: {d.get('detail')}",
    "SpamRejected": lambda d: f"  ✗ rejected at {d.get('stage')}: {d.get('reason')}",
}


def table(svc: Services) -> ProjectionTable:
    return svc.projections.table(current_table(svc))


# the page cursor is the CLI's (its own text, printed and read back); kept off the
# adapters so a local read does not import boto3
def encode_token(value: Any) -> str | None:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode() if value else None


def decode_token(token: str | None) -> Any:
    if not token:
        return None
    try:
        return json.loads(base64.urlsafe_b64decode(token.encode()))
    except ValueError:
        raise ValueError("--next-token is not a token this command printed") from None


def list_conversations(svc: Services, args: argparse.Namespace) -> dict[str, Any]:
    filters = Filters(
        status=args.status,
        company=args.company,
        contact=args.contact,
        title=args.title,
        source=args.source,
        min_score=args.min_score,
        followup_due=args.followup_due,
        month=args.month,
    )
    return conversations_page(svc, filters, limit=args.limit, next_token=args.next_token)


def conversations_page(svc: Services, filters: Filters, *, limit: int = 50, next_token: str | None = None) -> dict[str, Any]:
    """A page of conversations (the GSI query the filters pick) and the next page's token:
    what `crm conversations` prints and the web view's pipeline shows."""
    if limit < 1 or limit > 1000:
        raise UsageError("--limit must be between 1 and 1000")
    if filters.followup_due == "now":
        filters = replace(filters, followup_due=utc_text())
    items, token = query(table(svc), filters, shards=svc.settings.status_shards, limit=limit, next_token=decode_token(next_token))
    return {"items": [public_item(i) for i in items], "next_token": encode_token(token)}


def status_counts(svc: Services) -> dict[str, int]:
    """How many conversations have each status (the by-status index, every shard)."""
    projection = table(svc)
    counts = {}
    for status in svc.settings.statuses:
        total, token = 0, None
        while True:
            items, token = query(
                projection, Filters(status=status), shards=svc.settings.status_shards, limit=1000, next_token=token
            )
            total += len(items)
            if not token:
                break
        counts[status] = total
    return counts


def public_item(item: dict[str, Any]) -> dict[str, Any]:
    """The item without its index plumbing."""
    hidden = {"status_shard", "company_key", "title_key", "followup_bucket", "owner_fields"}
    return {k: v for k, v in sorted(item.items()) if k not in hidden}


def conversation_line(item: dict[str, Any]) -> str:
    score = f"{item['lead_score']:>3} {item.get('score_band', ''):<4}" if "lead_score" in item else "  -     "
    who = item.get("contact_name") or item.get("contact", "")
    extra = ", ".join(f"{k}={item[k]}" for k in ("company", "title") if item.get(k))
    follow = f"  follow-up {item['followup_kind']} {item['followup_due']}" if item.get("followup_due") else ""
    return (
        f"{item.get('status', '?'):<15} {score} {item['id']:<40} {who} <{item.get('contact', '')}> "
        f"{item.get('messages_in', 0)}↓ {item.get('messages_out', 0)}↑  {item.get('subject', '')!r}"
        + (f"  [{extra}]" if extra else "")
        + follow
    )


def envelope_record(envelope: Envelope) -> dict[str, Any]:
    return {"type": envelope.type, "source": envelope.source, **envelope.detail()["meta"], "data": envelope.detail()["data"]}


def event_records(svc: Services, stream: str | None) -> list[dict[str, Any]]:
    store = svc.store
    envelopes = store.read(stream_named(stream)) if stream else store.all_events()
    return [envelope_record(e) for e in envelopes]


def event_line(record: dict[str, Any]) -> str:
    render = TIMELINE.get(record["type"])
    text = render(record["data"]).strip() if render else ""
    return f"{record['occurred_at']}  {record['stream_id']}@{record['version']}  {record['type']}  {text}"


def conversation_story(svc: Services, conversation_id: str) -> dict[str, Any]:
    """The conversation's item and its timeline: its own stream, the correspondent's
    (first contact, bounces) and the spam decisions on their mail, in time order."""
    store = svc.store
    envelopes = store.read(conversation_stream(conversation_id))
    item = table(svc).get(conversation_id)
    if not envelopes and item is None:
        raise FileNotFoundError(f"no conversation {conversation_id!r}")
    contact = (item or {}).get("contact")
    if contact:
        envelopes += store.read(contact_stream(contact))
        envelopes += [
            e
            for stream in store.streams("quarantine#")
            for e in store.read(stream)
            if isinstance(e.event, SpamRejected) and e.event.from_address == contact
        ]
        envelopes.sort(key=lambda e: e.meta.occurred_at)
    return {"conversation": public_item(item or {}), "timeline": [envelope_record(e) for e in envelopes]}


def timeline_text(record: dict[str, Any]) -> str:
    """One timeline record as the CLI prints it (the type when it has no rendering)."""
    render = TIMELINE.get(record["type"])
    return render(record["data"]) if render else str(record["type"])


def show_conversation(svc: Services, conversation_id: str, *, as_json: bool) -> int:
    story = conversation_story(svc, conversation_id)
    if as_json:
        print(json.dumps(story, sort_keys=True, default=str))
        return 0
    item = story["conversation"]
    if item:
        print(conversation_line(item))
        for name in ("company", "title", "location", "salary", "job_id", "notes", "source"):
            if item.get(name):
                print(f"  {name}: {item[name]}")
    for record in story["timeline"]:
        print(f"{record['occurred_at']}  {timeline_text(record)}")
    return 0


def raw_mail(svc: Services, ses_message_id: str, conversation_id: str | None = None) -> bytes:
    """The raw mail as received, found through the event that recorded it (never an
    arbitrary bucket key): the conversation's MessageReceived, or without a conversation the quarantine's."""
    if conversation_id:
        for envelope in svc.store.read(conversation_stream(conversation_id)):
            event = envelope.event
            if isinstance(event, MessageReceived) and event.ses_message_id == ses_message_id:
                return svc.blobs.get(event.raw_key, event.bucket)
        raise FileNotFoundError(f"no mail {ses_message_id!r} in conversation {conversation_id!r}")
    for envelope in svc.store.read(quarantine_stream(ses_message_id)):
        event = envelope.event
        if isinstance(event, SpamRejected):
            for key in (event.quarantine_key, event.raw_key):
                if svc.blobs.exists(key):
                    return svc.blobs.get(key)
    raise FileNotFoundError(f"no quarantined mail {ses_message_id!r}")


def mail_parts(raw: bytes, *, max_chars: int = 100_000) -> dict[str, Any]:
    """The mail's headers and its text parts as text (an HTML part as its source, to be
    shown, never rendered), parsed with the same bounds as the inbound decision."""
    from mail.bounded import parse_for_decision, walk
    from mail.text import decode_bytes, part_bytes, part_charset

    message, _defects, _sizes = parse_for_decision(raw)
    parts = []
    for part, path, _depth in walk(message):
        if part.is_multipart() or part.get_content_maintype() != "text" or part.get_filename():
            continue
        text = decode_bytes(part_bytes(part), part_charset(part))  # the decoding the builders use: never raises
        parts.append(
            {"path": path or "1", "content_type": part.get_content_type(), "text": text[:max_chars], "cut": len(text) > max_chars}
        )
    headers = {name: str(message.get(name, "")) for name in ("From", "To", "Cc", "Subject", "Date", "Message-ID")}
    return {"headers": {k: v for k, v in headers.items() if v}, "parts": parts}


def change_status(svc: Services, conversation_id: str, status: str, note: str | None) -> dict[str, Any]:
    """Record ConversationStatusChanged, then let the consumers run (`settle`): what
    `crm conversations set-status` and the web view's status form do."""
    statuses = svc.settings.statuses
    if status not in statuses:
        raise UsageError(f"status {status!r} is not allowed; allowed: {', '.join(statuses)}")
    if not svc.store.last_version(conversation_stream(conversation_id)):
        raise FileNotFoundError(f"no conversation {conversation_id!r}")
    from crm.flows import settle

    event = ConversationStatusChanged(conversation_id=conversation_id, status=status, note=note or None)
    stamp = datetime.now(UTC).isoformat()
    svc.recorder.record(
        Plan(events=[(conversation_stream(conversation_id), event)]),
        dedupe_key=f"status#{conversation_id}#{stamp}",
        correlation_id=conversation_id,
    )
    settle(svc)
    return {"conversation_id": conversation_id, "status": status, "note": note or None}


def set_status(svc: Services, conversation_id: str, status: str, note: str | None) -> int:
    change_status(svc, conversation_id, status, note)
    print(f"{conversation_id}: status {status}")
    return 0


def outbox_records(svc: Services) -> list[dict[str, Any]]:
    records = svc.outbox.entries() if svc.outbox is not None else []
    return [{"kind": r["kind"], "to": r["to"], "subject": r["subject"], "file": r["file"]} for r in records]


def dlq_records(svc: Services) -> list[dict[str, Any]]:
    from bootstrap import topology
    from consumers.senders.sending import ParkedSend  # only the send views need it

    settings, queues = svc.settings, svc.queues
    records = []
    for consumer in topology(settings):
        name = settings.queue_name(consumer.name) + "-dlq"
        messages = queues.peek(name, limit=100)
        summaries, in_doubt = [], []
        for message in messages:
            body = message["body"]
            inner = body.get("event", body) if isinstance(body, dict) else {}
            summary = (
                f"{inner.get('detail-type', '?')} {inner.get('detail', {}).get('meta', {}).get('event_id', '')}"
                if isinstance(inner, dict)
                else str(body)[:80]
            )
            parked = ParkedSend.from_attributes(message.get("attributes") or {})
            if parked is not None:
                summary += (
                    f" — {parked.kind} send IN DOUBT (attempt {parked.attempt}): {parked.reason} "
                    f"[SES may have sent it: check before `crm dlq redrive {consumer.name}` sends it again]"
                )
                in_doubt.append(
                    {
                        "kind": parked.kind,
                        "cause_event_id": parked.cause_event_id,
                        "attempt": parked.attempt,
                        "conversation_id": parked.conversation_id,
                        "reason": parked.reason,
                    }
                )
            summaries.append(summary)
        records.append(
            {
                "queue": settings.queue_name(consumer.name),
                "dlq": name,
                "count": len(messages),
                "summaries": summaries,
                "in_doubt": in_doubt,
            }
        )
    return records


def approve_resend(svc: Services, body: str, attributes: dict[str, str]) -> None:
    """A parked send in doubt is redriven on the owner's word: record that word, which
    is what lets the sender make its next attempt (a blind move of the message parks
    it again)."""
    from consumers.senders.sending import ParkedSend, approval_key  # only the send views need it

    parked = ParkedSend.from_attributes(attributes)
    if parked is None:
        return
    approval = SendRetryApproved(
        conversation_id=parked.conversation_id, cause_event_id=parked.cause_event_id, kind=parked.kind, attempt=parked.attempt
    )
    svc.recorder.record(
        Plan(events=[(parked.stream_id, approval)]),
        dedupe_key=approval_key(parked.kind, parked.cause_event_id, parked.attempt),
        correlation_id=parked.conversation_id or parked.cause_event_id,
        causation_id=parked.cause_event_id,
    )


def redrive(svc: Services, queue: str) -> int:
    from functools import partial

    from crm.flows import settle

    name = queue.removesuffix("-dlq")
    if not name.startswith(svc.settings.queue_prefix):
        name = svc.settings.queue_name(name)
    moved = svc.queues.redrive(f"{name}-dlq", name, before=partial(approve_resend, svc))
    settle(svc)
    return moved


def run_followups(svc: Services, now: str | None) -> list[dict[str, Any]]:
    from consumers.followups_schedule import run_due
    from crm.flows import settle

    fired = run_due(svc, now)
    settle(svc)
    return fired


def followups_due(svc: Services, now: str | None) -> list[dict[str, Any]]:
    from consumers.followups_schedule import due_items

    moment = now or utc_text()
    return [public_item(i) for i in due_items(svc, moment)]
