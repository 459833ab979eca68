"""The conversations read model: a pure fold of a conversation stream into one item.

Status lifecycle: ``new`` (first message) → ``awaiting_reply`` (they wrote again) →
``replied`` (the owner answered) → ``closed``; the owner may set any configured
status, and a later message only moves the lifecycle statuses, never an owner's.

>>> from events import Envelope, MessageReceived
>>> from events.streams import conversation_stream
>>> e = Envelope.new(MessageReceived(conversation_id="c1", ses_message_id="s", bucket="b", raw_key="k",
...     received_at="2026-11-20T10:00:00Z", from_address="jane@acme.com", subject="Hi", contact="jane@acme.com"),
...     stream_id=conversation_stream("c1"), version=1, seed="s", correlation_id="s")
>>> item = fold([e])
>>> item["status"], item["messages_in"], item["version"], item["month"]
('new', 1, 1, '2026-11')
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from typing import Any

from events import (
    AcknowledgementSent,
    AttachmentExtracted,
    ConversationStatusChanged,
    ConversationUpdated,
    DeliveryBounced,
    Envelope,
    FollowUpCancelled,
    FollowUpDue,
    FollowUpScheduled,
    LeadScored,
    MessageForwarded,
    MessageReceived,
    ReplyDelivered,
    ReplyRouted,
    SendFailed,
)

LIFECYCLE = ("new", "awaiting_reply", "replied", "closed")
FOLLOWUP_BUCKET = "open"
NAME = "conversations"
Item = dict[str, Any]


def shard_of(conversation_id: str, shards: int) -> int:
    return int(hashlib.sha256(conversation_id.encode()).hexdigest()[:8], 16) % max(shards, 1)


def _key(text: str | None) -> str | None:
    return " ".join(text.lower().split()) if text else None


def _set(item: Item, **values: Any) -> None:
    for name, value in values.items():
        if value is None or value == "":
            item.pop(name, None)
        else:
            item[name] = value


def apply(item: Item | None, envelope: Envelope, *, shards: int = 4) -> Item | None:
    """The item after one more event of its stream. Events must come in version order."""
    event = envelope.event
    conversation_id = getattr(event, "conversation_id", None)
    if conversation_id is None:
        return item
    if item is None:
        if not isinstance(event, MessageReceived):
            # a conversation begins with a message; anything else alone is not a conversation yet
            return {"id": conversation_id, "version": envelope.meta.version, "pending": True}
        item = {"id": conversation_id, "messages_in": 0, "messages_out": 0, "owner_fields": []}
    item = dict(item)
    item.pop("pending", None) if isinstance(event, MessageReceived) else None
    item.setdefault("messages_in", 0)
    item.setdefault("messages_out", 0)
    item.setdefault("owner_fields", [])
    at = envelope.meta.occurred_at
    owner_fields = set(item["owner_fields"])

    if isinstance(event, MessageReceived):
        at = event.received_at or at
        first = "first_activity" not in item
        if first:
            _set(item, first_activity=at, month=at[:7], contact=event.contact, contact_name=event.contact_name,
                 email_domain=(event.from_address or "").rpartition("@")[2] or None, subject=event.subject,
                 source=event.source_channel)
        for name, value in (("company", event.company), ("title", event.title)):
            if value and name not in owner_fields and not item.get(name):
                _set(item, **{name: value, f"{name}_key": _key(value)})
        if not event.from_owner:
            item["messages_in"] = int(item["messages_in"]) + 1
            status = item.get("status")
            if status is None:
                status = "new"
            elif status in ("replied", "closed") or (status == "new" and not first):
                status = "awaiting_reply"
            _set(item, status=status, last_inbound=at, last_message_id=event.message_id)
        if event.attachments:
            names = list(item.get("attachments") or [])
            names.extend(a.filename for a in event.attachments if a.filename not in names)
            item["attachments"] = names[:200]
        _set(item, followup_due=None, followup_kind=None, followup_bucket=None)
        _set(item, last_activity=max(at, item.get("last_activity") or at))
    elif isinstance(event, ReplyDelivered):
        item["messages_out"] = int(item["messages_out"]) + 1
        if item.get("status") in LIFECYCLE or item.get("status") is None:
            item["status"] = "replied"
        _set(item, followup_due=None, followup_kind=None, followup_bucket=None, last_outbound=at)
        _set(item, last_activity=max(at, item.get("last_activity") or at))
    elif isinstance(event, AcknowledgementSent):
        _set(item, acknowledged_at=at)
    elif isinstance(event, MessageForwarded):
        item["forwarded"] = int(item.get("forwarded", 0)) + 1
    elif isinstance(event, ReplyRouted):
        item["replies_routed"] = int(item.get("replies_routed", 0)) + 1
    elif isinstance(event, DeliveryBounced):
        _set(item, last_delivery_problem=f"{event.feedback} from {event.address}: {event.detail}"[:500])
    elif isinstance(event, SendFailed):
        _set(item, last_send_failure=f"{event.kind}: {event.reason}"[:500])
    elif isinstance(event, ConversationUpdated):
        for name, value in event.fields.items():
            _set(item, **{name: value})
            if name in ("company", "title"):
                _set(item, **{f"{name}_key": _key(value)})
            owner_fields.add(name)
        item["owner_fields"] = sorted(owner_fields)
    elif isinstance(event, ConversationStatusChanged):
        _set(item, status=event.status, status_note=event.note)
    elif isinstance(event, LeadScored):
        _set(item, lead_score=event.score, score_band=event.band, score_reasons=event.reasons)
    elif isinstance(event, FollowUpScheduled):
        _set(item, followup_due=event.due_at, followup_kind=event.kind, followup_bucket=FOLLOWUP_BUCKET)
    elif isinstance(event, (FollowUpCancelled, FollowUpDue)):
        _set(item, followup_due=None, followup_kind=None, followup_bucket=None)
    elif isinstance(event, AttachmentExtracted):
        extracted = list(item.get("extracted") or [])
        extracted.append({"filename": event.filename, "outcome": event.outcome, "characters": event.characters})
        item["extracted"] = extracted[-200:]

    item["version"] = envelope.meta.version
    if item.get("status"):
        item["status_shard"] = f"{item['status']}#{shard_of(item['id'], shards)}"
    return item


def fold(envelopes: Iterable[Envelope], item: Item | None = None, *, shards: int = 4) -> Item | None:
    for envelope in envelopes:
        item = apply(item, envelope, shards=shards)
    return item
