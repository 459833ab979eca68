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
from collections.abc import Callable, Iterable
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


def _no_followup(item: Item) -> None:
    _set(item, followup_due=None, followup_kind=None, followup_bucket=None)


def _message_received(item: Item, event: MessageReceived, at: str, owner_fields: set[str]) -> None:
    at = event.received_at or at
    first = "first_activity" not in item
    if first:
        _set(
            item,
            first_activity=at,
            month=at[:7],
            contact=event.contact,
            contact_name=event.contact_name,
            email_domain=(event.from_address or "").rpartition("@")[2] or None,
            subject=event.subject,
            source=event.source_channel,
        )
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
    _no_followup(item)
    _set(item, last_activity=max(at, item.get("last_activity") or at))


def _reply_delivered(item: Item, _event: ReplyDelivered, at: str, _owner: set[str]) -> None:
    item["messages_out"] = int(item["messages_out"]) + 1
    if item.get("status") in LIFECYCLE or item.get("status") is None:
        item["status"] = "replied"
    _no_followup(item)
    _set(item, last_outbound=at, last_activity=max(at, item.get("last_activity") or at))


def _acknowledged(item: Item, _event: AcknowledgementSent, at: str, _owner: set[str]) -> None:
    _set(item, acknowledged_at=at)


def _forwarded(item: Item, _event: MessageForwarded, _at: str, _owner: set[str]) -> None:
    item["forwarded"] = int(item.get("forwarded", 0)) + 1


def _reply_routed(item: Item, _event: ReplyRouted, _at: str, _owner: set[str]) -> None:
    item["replies_routed"] = int(item.get("replies_routed", 0)) + 1


def _bounced(item: Item, event: DeliveryBounced, _at: str, _owner: set[str]) -> None:
    _set(item, last_delivery_problem=f"{event.feedback} from {event.address}: {event.detail}"[:500])


def _send_failed(item: Item, event: SendFailed, _at: str, _owner: set[str]) -> None:
    _set(item, last_send_failure=f"{event.kind}: {event.reason}"[:500])


def _updated(item: Item, event: ConversationUpdated, _at: str, owner_fields: set[str]) -> None:
    for name, value in event.fields.items():
        _set(item, **{name: value})
        if name in ("company", "title"):
            _set(item, **{f"{name}_key": _key(value)})
        owner_fields.add(name)
    item["owner_fields"] = sorted(owner_fields)


def _status_changed(item: Item, event: ConversationStatusChanged, _at: str, _owner: set[str]) -> None:
    _set(item, status=event.status, status_note=event.note)


def _scored(item: Item, event: LeadScored, _at: str, _owner: set[str]) -> None:
    _set(item, lead_score=event.score, score_band=event.band, score_reasons=event.reasons)


def _followup_scheduled(item: Item, event: FollowUpScheduled, _at: str, _owner: set[str]) -> None:
    _set(item, followup_due=event.due_at, followup_kind=event.kind, followup_bucket=FOLLOWUP_BUCKET)


def _followup_ended(item: Item, _event: FollowUpCancelled | FollowUpDue, _at: str, _owner: set[str]) -> None:
    _no_followup(item)


def _extracted(item: Item, event: AttachmentExtracted, _at: str, _owner: set[str]) -> None:
    extracted = list(item.get("extracted") or [])
    extracted.append({"filename": event.filename, "outcome": event.outcome, "characters": event.characters})
    item["extracted"] = extracted[-200:]


# What each event type does to the item (item, event, occurred_at, owner-set fields);
# a conversation's event of a type not listed only advances the version.
APPLIERS: dict[type[Any], Callable[[Item, Any, str, set[str]], None]] = {
    MessageReceived: _message_received,
    ReplyDelivered: _reply_delivered,
    AcknowledgementSent: _acknowledged,
    MessageForwarded: _forwarded,
    ReplyRouted: _reply_routed,
    DeliveryBounced: _bounced,
    SendFailed: _send_failed,
    ConversationUpdated: _updated,
    ConversationStatusChanged: _status_changed,
    LeadScored: _scored,
    FollowUpScheduled: _followup_scheduled,
    FollowUpCancelled: _followup_ended,
    FollowUpDue: _followup_ended,
    AttachmentExtracted: _extracted,
}


def _step(item: Item | None, envelope: Envelope) -> Item | None:
    """``item`` (this caller's own copy, changed in place) after one more event of its stream."""
    event = envelope.event
    conversation_id = getattr(event, "conversation_id", None)
    if conversation_id is None:
        return item
    received = isinstance(event, MessageReceived)
    if item is None:
        if not received:
            # a conversation begins with a message; anything else alone is not a conversation yet
            return {"id": conversation_id, "version": envelope.meta.version, "pending": True}
        item = {"id": conversation_id}
    if received:
        item.pop("pending", None)
    item.setdefault("messages_in", 0)
    item.setdefault("messages_out", 0)
    item.setdefault("owner_fields", [])
    applier = APPLIERS.get(type(event))
    if applier is not None:
        applier(item, event, envelope.meta.occurred_at, set(item["owner_fields"]))
    item["version"] = envelope.meta.version
    return item


def _sharded(item: Item | None, shards: int) -> Item | None:
    if item is not None and item.get("status"):
        item["status_shard"] = f"{item['status']}#{shard_of(item['id'], shards)}"
    return item


def _concerns(envelope: Envelope) -> bool:
    return getattr(envelope.event, "conversation_id", None) is not None


def apply(item: Item | None, envelope: Envelope, *, shards: int = 4) -> Item | None:
    """The item after one more event of its stream. Events must come in version order."""
    if not _concerns(envelope):
        return item
    return _sharded(_step(None if item is None else dict(item), envelope), shards)


def fold(envelopes: Iterable[Envelope], item: Item | None = None, *, shards: int = 4) -> Item | None:
    """``apply`` over ``envelopes``: one copy of ``item``, changed in place event by event,
    and the status shard (a hash) computed once at the end rather than after each event."""
    current, changed = None if item is None else dict(item), False
    for envelope in envelopes:
        if _concerns(envelope):
            current, changed = _step(current, envelope), True
    return _sharded(current, shards) if changed else item
