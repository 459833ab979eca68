"""``crm audit``: check the system's invariants over the local stack or a deployed one.

1. every raw mail under ``inbox/`` has exactly one decision (``MessageReceived``,
   ``SpamRejected``, ``ReplyRouted`` or ``ReplyRejected``; a released spam mail has
   ``SpamRejected`` then ``MessageReceived(released=True)``, which counts as one);
2. every accepted mail (``MessageReceived``) is forwarded exactly once;
3. every ``FirstContact`` is acknowledged at most once, and never when loop
   protection suppressed the acknowledgement;
4. no dead-letter queue holds messages;
5. the conversations projection equals a fresh fold of the events;
6. nothing sent to a correspondent carries the private mailbox or a thread address or
   token (``crm.audit_leaks``; the local stack's outbox).
7. every mail in the outbox (the local stack's sent log) has exactly one recorded
   send, no cause was sent twice, and no send in doubt was sent again without the
   owner's approval.

The checks are pure functions over plain lists (raw keys, envelopes, projection
items, DLQ depths); :func:`read_snapshot` is the only code that reads AWS.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypedDict

from crm.audit_leaks import Outbox, check_leaks, outbox_of
from crm.settings import Settings
from events import (
    AcknowledgementSent,
    DomainEvent,
    Envelope,
    FirstContact,
    MailSent,
    MessageForwarded,
    MessageReceived,
    ReplyDelivered,
    ReplyRejected,
    ReplyRouted,
    SendFailed,
    SendInDoubt,
    SendRetryApproved,
    SpamRejected,
)
from events.streams import CONVERSATION_PREFIX
from ports import Services
from producers.receipt import INBOX_PREFIX

DECISIONS = (MessageReceived, SpamRejected, ReplyRouted, ReplyRejected)
SHOWN = 10  # offending ids listed per problem kind; the rest are counted


class Check(TypedDict):
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class Snapshot:
    """Everything the checks read, as plain values."""

    raw_keys: list[str]
    envelopes: list[Envelope]
    projection_items: list[dict[str, Any]]
    dlq_depths: dict[str, int]
    dlq_errors: dict[str, str] = field(default_factory=dict)
    outbox: list[dict[str, Any]] | None = None  # the local sent log; None where there is none (AWS)
    sent: Outbox | None = None  # what was sent, with its bytes, for the leak check (the local stack)


# --- helpers ---------------------------------------------------------------------------


def _listing(entries: Sequence[str], limit: int = SHOWN) -> str:
    shown = "; ".join(entries[:limit])
    return shown + (f"; … and {len(entries) - limit} more" if len(entries) > limit else "")


def _report(name: str, problems: list[tuple[str, list[str]]], ok_detail: str, notes: Sequence[str] = ()) -> Check:
    """A check from its problem kinds (title, offending entries); ok when every kind is empty."""
    failing = [(title, entries) for title, entries in problems if entries]
    detail = " | ".join(f"{len(entries)} {title}: {_listing(entries)}" for title, entries in failing) if failing else ok_detail
    if notes:
        detail += " | note: " + " | ".join(notes)
    return {"name": name, "ok": not failing, "detail": detail}


def _ses_id(raw_key: str) -> str | None:
    if not raw_key.startswith(INBOX_PREFIX) or raw_key.endswith("/"):
        return None
    return raw_key[len(INBOX_PREFIX) :] or None


def _conversation(envelope: Envelope) -> str:
    conversation_id = getattr(envelope.event, "conversation_id", None)
    return str(conversation_id) if conversation_id else envelope.stream_id


def _send_failures(envelopes: Iterable[Envelope], kind: str) -> dict[str, str]:
    """cause event id → reason of the last ``SendFailed`` of that kind."""
    return {e.event.cause_event_id: e.event.reason for e in envelopes if isinstance(e.event, SendFailed) and e.event.kind == kind}


def _short(value: Any, width: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= width else text[: width - 1] + "…"


# --- the pure checks ---------------------------------------------------------------------


def check_decisions(raw_keys: Iterable[str], envelopes: Iterable[Envelope]) -> Check:
    """Every raw mail under ``inbox/`` has exactly one decision event."""
    decisions: dict[str, list[Envelope]] = defaultdict(list)
    for envelope in envelopes:
        if isinstance(envelope.event, DECISIONS):
            decisions[envelope.event.ses_message_id].append(envelope)
    raw_ids = sorted({s for s in map(_ses_id, raw_keys) if s})
    undecided = [f"inbox/{s}" for s in raw_ids if not decisions.get(s)]
    multiple, released = [], 0
    for ses_id in sorted(decisions):
        found = decisions[ses_id]
        if len(found) == 1:
            continue
        if _is_release(found):
            released += 1
            continue
        types = Counter(e.type for e in found)
        where = sorted({_conversation(e) for e in found})
        multiple.append(f"{ses_id} has {', '.join(f'{n}×{t}' for t, n in sorted(types.items()))} (in {', '.join(where)})")
    raw = set(raw_ids)
    no_raw = sorted(s for s in decisions if s not in raw)
    notes = [f"{len(no_raw)} decision(s) whose raw mail is not under {INBOX_PREFIX}: {_listing(no_raw)}"] if no_raw else []
    counts = Counter(type(found[-1].event).__name__ for s, found in decisions.items() if s in raw)
    summary = ", ".join(f"{n} {t}" for t, n in sorted(counts.items())) or "no decisions"
    ok_detail = (
        f"{len(raw_ids)} raw mail(s), each with exactly one decision ({summary}"
        + (f"; {released} released from quarantine" if released else "")
        + ")"
    )
    return _report(
        "decisions",
        [
            ("raw mail(s) without a decision (the producer failed or never ran; re-deliver them)", undecided),
            ("mail(s) decided more than once", multiple),
        ],
        ok_detail,
        notes,
    )


def _is_release(found: list[Envelope]) -> bool:
    """SpamRejected, then MessageReceived(released=True): one decision, revised by the owner."""
    if len(found) != 2:
        return False
    rejected = [e for e in found if isinstance(e.event, SpamRejected)]
    received = [e for e in found if isinstance(e.event, MessageReceived) and e.event.released]
    return len(rejected) == 1 and len(received) == 1


def check_forwards(envelopes: Sequence[Envelope]) -> Check:
    """Every ``MessageReceived`` has exactly one ``MessageForwarded`` (matched on cause event id)."""
    received = {e.event_id: e for e in envelopes if isinstance(e.event, MessageReceived)}
    forwards = Counter(e.event.cause_event_id for e in envelopes if isinstance(e.event, MessageForwarded))
    failures = _send_failures(envelopes, "forward")
    missing, twice = [], []
    for event_id, envelope in received.items():
        assert isinstance(envelope.event, MessageReceived)
        what = f"mail {envelope.event.ses_message_id} in conversation {envelope.event.conversation_id} (event {event_id})"
        count = forwards.get(event_id, 0)
        if count == 0:
            failure = failures.get(event_id)
            missing.append(what + (f": send failed: {failure}" if failure else ""))
        elif count > 1:
            twice.append(f"{what} forwarded {count} times")
    orphans = sorted(f"cause {c} ({n}×)" for c, n in forwards.items() if c not in received)
    return _report(
        "forwards",
        [
            ("accepted mail(s) not forwarded (check the forward queue, its DLQ and SendFailed events)", missing),
            ("accepted mail(s) forwarded more than once", twice),
            ("MessageForwarded event(s) whose cause is no MessageReceived", orphans),
        ],
        f"{len(received)} accepted mail(s), each forwarded exactly once",
    )


def check_acks(envelopes: Sequence[Envelope]) -> Check:
    """Every ``FirstContact`` is acknowledged at most once, and only when not suppressed."""
    firsts = {e.event_id: e for e in envelopes if isinstance(e.event, FirstContact)}
    acks = Counter(e.event.cause_event_id for e in envelopes if isinstance(e.event, AcknowledgementSent))
    failures = _send_failures(envelopes, "ack")
    per_contact = Counter(e.event.contact for e in firsts.values() if isinstance(e.event, FirstContact))
    twice, suppressed, inconsistent, pending = [], [], [], []
    for event_id, envelope in firsts.items():
        event = envelope.event
        assert isinstance(event, FirstContact)
        what = f"{event.contact} in conversation {event.conversation_id} (mail {event.ses_message_id})"
        count = acks.get(event_id, 0)
        if count > 1:
            twice.append(f"{what} acknowledged {count} times")
        if not event.acknowledge and count:
            suppressed.append(f"{what} acknowledged although suppressed: {event.suppressed_reason or 'no reason'}")
        if event.acknowledge and event.suppressed_reason:
            inconsistent.append(f"{what} marked to acknowledge despite {event.suppressed_reason!r}")
        if event.acknowledge and not count:
            pending.append(what + (f" (send failed: {failures[event_id]})" if event_id in failures else ""))
    orphans = sorted(f"cause {c} ({n}×)" for c, n in acks.items() if c not in firsts)
    duplicated = sorted(f"{c} ({n} FirstContact events)" for c, n in per_contact.items() if n > 1)
    to_ack = sum(1 for e in firsts.values() if isinstance(e.event, FirstContact) and e.event.acknowledge)
    notes = (
        [f"{len(pending)} first contact(s) to acknowledge have no acknowledgement yet: {_listing(pending)}"] if pending else []
    )
    return _report(
        "acknowledgements",
        [
            ("first contact(s) acknowledged more than once", twice),
            ("first contact(s) acknowledged despite loop protection", suppressed),
            ("first contact(s) to acknowledge that carry a suppression reason", inconsistent),
            ("AcknowledgementSent event(s) whose cause is no FirstContact", orphans),
            ("contact(s) with more than one FirstContact", duplicated),
        ],
        f"{len(firsts)} first contact(s): {to_ack} to acknowledge, {sum(acks.values())} acknowledgement(s) sent, "
        f"none twice, none suppressed",
        notes,
    )


def check_dlqs(depths: Mapping[str, int], errors: Mapping[str, str] | None = None) -> Check:
    """No dead-letter queue holds messages (visible or in flight)."""
    full = [
        f"{name} holds {count} (`crm dlq list`, then `crm dlq redrive {name.removesuffix('-dlq')}`)"
        for name, count in sorted(depths.items())
        if count
    ]
    unreadable = [f"{name}: {error}" for name, error in sorted((errors or {}).items())]
    return _report(
        "dlqs",
        [
            ("dead-letter queue(s) not empty", full),
            ("dead-letter queue(s) not readable", unreadable),
        ],
        f"{len(depths)} dead-letter queue(s), all empty",
    )


SENT_KINDS: dict[type[DomainEvent], str] = {AcknowledgementSent: "ack", MessageForwarded: "forward", ReplyDelivered: "reply"}
SENDS = (AcknowledgementSent, MessageForwarded, ReplyDelivered, MailSent)


def _sent_kind(event: Any) -> str:
    return str(event.kind) if isinstance(event, MailSent) else SENT_KINDS[type(event)]


def check_sends(envelopes: Sequence[Envelope], outbox: Sequence[Mapping[str, Any]] | None) -> Check:
    """Each cause sent at most once; each outbox mail recorded exactly once; nothing in
    doubt sent again without the owner's approval."""
    sends = [e.event for e in envelopes if isinstance(e.event, SENDS)]
    by_cause: dict[tuple[str, str], list[Any]] = defaultdict(list)
    for event in sends:
        by_cause[(_sent_kind(event), event.cause_event_id)].append(event)
    twice = [
        f"{kind} of event {cause} sent {len(found)} times (SES ids {', '.join(e.ses_message_id for e in found)})"
        for (kind, cause), found in sorted(by_cause.items())
        if len(found) > 1
    ]
    doubts: dict[tuple[str, str], set[int]] = defaultdict(set)
    approved: dict[tuple[str, str], set[int]] = defaultdict(set)
    for envelope in envelopes:
        if isinstance(envelope.event, SendInDoubt):
            doubts[(envelope.event.kind, envelope.event.cause_event_id)].add(envelope.event.attempt)
        elif isinstance(envelope.event, SendRetryApproved):
            approved[(envelope.event.kind, envelope.event.cause_event_id)].add(envelope.event.attempt)
    unapproved = [
        f"{kind} of event {cause}: attempt(s) {sorted(attempts - approved[(kind, cause)])} in doubt, "
        f"sent again without `crm dlq redrive`"
        for (kind, cause), attempts in sorted(doubts.items())
        if (kind, cause) in by_cause and attempts - approved[(kind, cause)]
    ]
    waiting = sorted(f"{kind} of event {cause}" for (kind, cause) in doubts if (kind, cause) not in by_cause)
    notes = [f"{len(waiting)} send(s) in doubt, parked for the owner (`crm dlq list`): {_listing(waiting)}"] if waiting else []
    unrecorded: list[str] = []
    recorded_twice: list[str] = []
    repeated: list[str] = []
    if outbox is not None:
        recorded = Counter(e.ses_message_id for e in sends)
        for entry in outbox:
            what = f"{entry.get('kind')} to {', '.join(entry.get('to') or [])} ({entry.get('file')})"
            count = recorded.get(str(entry.get("ses_message_id") or ""), 0)
            if count == 0:
                unrecorded.append(f"{what}, SES id {entry.get('ses_message_id')}")
            elif count > 1:
                recorded_twice.append(f"{what} recorded {count} times")
        ids = Counter(str(entry.get("message_id")) for entry in outbox if entry.get("message_id"))
        repeated = sorted(f"{message_id} ({n}×)" for message_id, n in ids.items() if n > 1)
        in_outbox = {str(entry.get("ses_message_id")) for entry in outbox}
        missing = sorted(e.ses_message_id for e in sends if e.ses_message_id not in in_outbox)
        if missing:
            notes.append(f"{len(missing)} recorded send(s) not in the outbox: {_listing(missing)}")
    where = f"{len(outbox)} mail(s) in the outbox, each recorded once; " if outbox is not None else ""
    return _report(
        "sends",
        [
            ("cause(s) sent more than once", twice),
            ("send(s) in doubt sent again without the owner's approval", unapproved),
            ("outbox mail(s) with no recorded send", unrecorded),
            ("outbox mail(s) with more than one recorded send", recorded_twice),
            ("mail(s) in the outbox more than once (same Message-ID)", repeated),
        ],
        f"{where}{len(sends)} recorded send(s), no cause sent twice",
        notes,
    )


def expected_items(envelopes: Iterable[Envelope], *, shards: int) -> dict[str, dict[str, Any]]:
    """conversation id → the fold of its ``conversation#`` stream, as DynamoDB would store it."""
    from adapters.projection_store import deserialise, serialise
    from projections.conversations import fold

    streams: dict[str, list[Envelope]] = defaultdict(list)
    for envelope in envelopes:
        if envelope.stream_id.startswith(CONVERSATION_PREFIX):
            streams[envelope.stream_id].append(envelope)
    expected: dict[str, dict[str, Any]] = {}
    for stream_id, stream in streams.items():
        item = fold(sorted(stream, key=lambda e: e.meta.version), shards=shards)
        if item is not None:
            # the round trip DynamoDB makes: absent Nones, numbers back from Decimal
            expected[str(item.get("id") or stream_id.removeprefix(CONVERSATION_PREFIX))] = deserialise(serialise(item))
    return expected


def check_projection(envelopes: Iterable[Envelope], items: Iterable[Mapping[str, Any]], *, shards: int) -> Check:
    """The stored conversations equal a fresh fold of the events, field by field."""
    expected = expected_items(envelopes, shards=shards)
    stored = {str(i.get("id")): dict(i) for i in items}
    missing = [
        f"{cid} (stream at version {item.get('version')}; `crm replay --stream {cid}`)"
        for cid, item in sorted(expected.items())
        if cid not in stored
    ]
    extra = [f"{cid} (version {item.get('version')})" for cid, item in sorted(stored.items()) if cid not in expected]
    differ = []
    for cid in sorted(set(expected) & set(stored)):
        want, have = expected[cid], stored[cid]
        fields = sorted(k for k in set(want) | set(have) if want.get(k) != have.get(k) or (k in want) != (k in have))
        if not fields:
            continue
        changes = ", ".join(
            f"{k}: stored {_short(have[k]) if k in have else '(absent)'} ≠ events {_short(want[k]) if k in want else '(absent)'}"
            for k in fields[:6]
        )
        more = f", … {len(fields) - 6} more field(s)" if len(fields) > 6 else ""
        lag = ""
        if isinstance(have.get("version"), int) and isinstance(want.get("version"), int) and have["version"] < want["version"]:
            lag = " [the projector is behind]"
        differ.append(f"{cid}: {changes}{more}{lag}")
    return _report(
        "projection",
        [
            ("conversation(s) missing from the projection", missing),
            ("projection item(s) without events", extra),
            ("conversation(s) that differ from a fresh fold (`crm replay` rebuilds them)", differ),
        ],
        f"{len(expected)} conversation(s), each equal to a fresh fold of its events",
    )


def audit(snapshot: Snapshot, *, shards: int) -> dict[str, Any]:
    """Every check over one snapshot: ``{"ok": bool, "checks": [Check, ...]}``."""
    checks = [
        check_decisions(snapshot.raw_keys, snapshot.envelopes),
        check_forwards(snapshot.envelopes),
        check_acks(snapshot.envelopes),
        check_dlqs(snapshot.dlq_depths, snapshot.dlq_errors),
        check_projection(snapshot.envelopes, snapshot.projection_items, shards=shards),
        check_leaks(snapshot.sent),
        check_sends(snapshot.envelopes, snapshot.outbox),
    ]
    return {"ok": all(c["ok"] for c in checks), "checks": checks}


# --- the adapter reads ------------------------------------------------------------------


def dlq_names(settings: Settings) -> list[str]:
    from bootstrap import topology

    return [settings.queue_name(c.name) + "-dlq" for c in topology(settings)]


def read_snapshot(svc: Services) -> Snapshot:
    """Read what the checks need. Raw keys first and events after, so a mail that
    arrives meanwhile is not reported undecided; projection items before events, so
    a projector that runs meanwhile shows as behind rather than ahead; the outbox
    before events, so a send meanwhile is not reported unrecorded."""
    from crm.views import table

    settings = svc.settings
    raw_keys = svc.blobs.keys(INBOX_PREFIX)
    items = table(svc).scan()
    # before the events: a send meanwhile is recorded, not unrecorded
    outbox = svc.outbox.entries() if svc.outbox is not None else None
    envelopes = svc.store.all_events()
    queues = svc.queues
    depths: dict[str, int] = {}
    errors: dict[str, str] = {}
    for name in dlq_names(settings):
        try:
            visible, in_flight = queues.depth(name)
        except Exception as exc:
            if not svc.is_infrastructure_error(exc):
                raise
            errors[name] = str(exc)
            continue
        depths[name] = visible + in_flight
    return Snapshot(raw_keys, envelopes, items, depths, errors, outbox=outbox, sent=outbox_of(settings, outbox))


def run_audit(svc: Services) -> dict[str, Any]:
    return audit(read_snapshot(svc), shards=svc.settings.status_shards)
