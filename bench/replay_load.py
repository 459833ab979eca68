"""Replay throughput: generated events into the event store, then ``projections.replay``.

Events are written straight into the event-store table of a fresh local stack with
``EventStore.put_raw_items``, as records from ``events.to_record(Envelope.new(...))``:
per conversation a ``MessageReceived`` first, then a deterministic mix of
``MessageForwarded``, ``LeadScored``, ``FollowUpScheduled``, ``ReplyDelivered``,
``AcknowledgementSent``, follow-up ``MessageReceived``, ``ConversationUpdated``,
``ConversationStatusChanged``, ``AttachmentExtracted`` and ``FollowUpCancelled``.
Then the in-place replay rebuilds the conversations projection; its report gives
events/s and write calls. DynamoDB calls and request units during the replay are
counted too (``bench.calls``).

Two runs: on the local backend (the embedded engine: the events/s goal of issue 13,
``LOCAL_GOAL``) with every generated event, and on the aws adapters against
in-process moto with at most ``AWS_EVENTS`` of them, for the calls, request units and
cost per 1,000 events a replay makes on AWS (moto's speed is not DynamoDB's, so its
events/s is not a goal).
"""

from __future__ import annotations

import random
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench.calls import ApiCounter, Tally, merge, table_shapes
from events.base import utc_text
from events.streams import conversation_stream

EVENTS_PER_CONVERSATION = 10
LOCAL_GOAL = 20_000.0  # events/s into the local projection, at least
AWS_EVENTS = 20_000


def _events(conversation: int, count: int, rng: random.Random) -> Iterator[Any]:
    from events import (
        AcknowledgementSent,
        AttachmentExtracted,
        ConversationStatusChanged,
        ConversationUpdated,
        FollowUpCancelled,
        FollowUpScheduled,
        LeadScored,
        MessageForwarded,
        MessageReceived,
        ReplyDelivered,
    )

    cid = f"bench-contact-{conversation:06d}"
    contact = f"person{conversation}@company{conversation % 997}.test"
    start = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=17 * conversation)

    def at(step: int) -> str:
        return utc_text(start + timedelta(hours=step))

    def received(step: int) -> Any:
        return MessageReceived(
            conversation_id=cid,
            ses_message_id=f"ses-{conversation}-{step}",
            message_id=f"<m{conversation}.{step}@x>",
            bucket="crm-mail",
            raw_key=f"inbox/ses-{conversation}-{step}",
            received_at=at(step),
            from_address=contact,
            from_name=f"Person {conversation}",
            to=["hello@example.com"],
            recipients=["hello@example.com"],
            subject=f"Staff Engineer role at Company {conversation % 997}",
            contact=contact,
            contact_name=f"Person {conversation}",
            company=f"Company {conversation % 997}",
            title="Staff Engineer",
            source_channel=rng.choice(["direct", "linkedin", "referral"]),
            preview="Hello, I would like to talk about an opening on our platform team. " * 3,
        )

    def sent(cls: Any, step: int) -> Any:
        return cls(
            conversation_id=cid,
            cause_event_id=f"cause-{conversation}-{step}",
            to=[contact],
            subject="Re: Staff Engineer role",
            outbound_message_id=f"<out{conversation}.{step}@example.com>",
            ses_message_id=f"out-{conversation}-{step}",
        )

    makers: list[Callable[[int], Any]] = [
        lambda step: sent(MessageForwarded, step),
        lambda step: LeadScored(
            conversation_id=cid,
            score=rng.randint(0, 100),
            band=rng.choice(["hot", "warm", "cold"]),
            reasons=["recruiter", "title match"],
        ),
        lambda step: FollowUpScheduled(conversation_id=cid, due_at=at(step + 120), kind="followup", reason="no answer"),
        lambda step: sent(ReplyDelivered, step),
        lambda step: sent(AcknowledgementSent, step),
        received,
        lambda step: ConversationUpdated(conversation_id=cid, fields={"location": "Remote", "salary": "150-180k"}),
        lambda step: ConversationStatusChanged(conversation_id=cid, status=rng.choice(["interviewing", "closed"])),
        lambda step: AttachmentExtracted(
            conversation_id=cid,
            ses_message_id=f"ses-{conversation}-{step}",
            filename="cv.pdf",
            content_type="application/pdf",
            size=48_000,
            outcome="extracted",
            characters=5_000,
            key=f"attachments/{cid}/cv.pdf",
            text_key=f"attachments/{cid}/cv.txt",
            first_lines="Curriculum vitae",
        ),
        lambda step: FollowUpCancelled(conversation_id=cid, reason="they answered"),
    ]
    weights = [3, 2, 2, 2, 1, 2, 1, 1, 1, 1]
    yield received(0)
    for step in range(1, count):
        yield rng.choices(makers, weights)[0](step)


def generate_records(total: int, per_conversation: int = EVENTS_PER_CONVERSATION, seed: int = 7) -> list[dict[str, Any]]:
    from events import Envelope, to_record

    rng = random.Random(seed)
    records: list[dict[str, Any]] = []
    conversation = 0
    while len(records) < total:
        count = min(per_conversation, total - len(records))
        stream = conversation_stream(f"bench-contact-{conversation:06d}")
        for version, event in enumerate(_events(conversation, count, rng), start=1):
            envelope = Envelope.new(
                event,
                stream_id=stream,
                version=version,
                seed=f"{stream}:{version}",
                correlation_id=f"bench-{conversation}",
                occurred_at=f"2026-01-01T00:00:{version:02d}.000Z",
            )
            records.append(to_record(envelope))
        conversation += 1
    return records


def _fold_only(records: list[dict[str, Any]], shards: int) -> float:
    """Seconds for the replay's own work without any I/O: decode every record, group
    by stream, fold each stream (what replay does between its scan and its writes)."""
    from collections import defaultdict

    from events import from_record
    from projections.conversations import fold

    started = time.perf_counter()
    grouped: dict[str, list[Any]] = defaultdict(list)
    for record in records:
        grouped[str(record["pk"])].append(from_record(record))
    for envelopes in grouped.values():
        envelopes.sort(key=lambda e: e.meta.version)
        fold(envelopes, shards=shards)
    return time.perf_counter() - started


def run_local(records: list[dict[str, Any]]) -> dict[str, Any]:
    """Replay on the embedded engine: load the events, then rebuild in place."""
    from crm.local import local_stack
    from crm.settings import load_settings
    from projections.replay import replay

    with (
        tempfile.TemporaryDirectory(prefix="crm-bench-") as folder,
        local_stack(load_settings(), Path(folder) / "state", fresh=True) as stack,
    ):
        t0 = time.perf_counter()
        for start in range(0, len(records), 5_000):
            stack.svc.store.put_raw_items(records[start : start + 5_000])
        loaded = time.perf_counter() - t0
        report = replay(stack.svc, quiet=True)
        items = len(stack.svc.projections.table(report.table).scan())
    rate = report.events_per_second
    return {
        "events": report.events,
        "streams": report.streams,
        "seconds": report.seconds,
        "events_per_second": rate,
        "load_events_per_second": len(records) / loaded if loaded else 0.0,
        "items_in_projection": items,
        "goal": {"goal": f">= {LOCAL_GOAL:,.0f} events/s", "value": rate, "met": rate >= LOCAL_GOAL},
    }


def run(total: int) -> dict[str, Any]:
    from crm.moto_stack import moto_stack
    from crm.settings import load_settings
    from projections.replay import replay
    from projections.tables import CONVERSATION_INDEXES

    settings = load_settings()
    t0 = time.perf_counter()
    all_records = generate_records(total)
    local = run_local(all_records)
    total = min(total, AWS_EVENTS)
    records = all_records[:total]
    del all_records
    with (
        tempfile.TemporaryDirectory(prefix="crm-bench-") as folder,
        moto_stack(settings, Path(folder) / "state", fresh=True, persist=False) as stack,
    ):
        s = stack.settings
        t1 = time.perf_counter()
        stack.svc.store.put_raw_items(records)
        t2 = time.perf_counter()
        conversations = len({r["pk"] for r in records})
        fold_seconds = _fold_only(records, s.status_shards)
        del records
        counter = ApiCounter(table_shapes(s.region), track_items=False, price_harness=True)
        tally = Tally("replay")
        with counter.installed(), counter.measuring(tally):
            report = replay(stack.svc, quiet=True)
        import boto3

        db = boto3.client("dynamodb", region_name=s.region)
        items, start = 0, None
        while True:  # the count is paginated like any scan (1 MB pages)
            kwargs: dict[str, Any] = {"TableName": report.table, "Select": "COUNT"}
            if start:
                kwargs["ExclusiveStartKey"] = start
            page = db.scan(**kwargs)
            items += page["Count"]
            start = page.get("LastEvaluatedKey")
            if not start:
                break
    merged = merge([tally])
    dynamodb = merged["calls"].get("(local harness)", {}).get("dynamodb", {})
    batch_writes = dynamodb.get("BatchWriteItem", 0)
    events = report.events
    return {
        "local": local,
        "requested_events": total,
        "conversations": conversations,
        "generate_seconds": t1 - t0,
        "load_seconds": t2 - t1,
        "load_events_per_second": total / (t2 - t1) if t2 > t1 else 0.0,
        "report": report.as_dict(),
        "events_per_second": report.events_per_second,
        "write_calls_per_event": report.write_calls / events if events else 0.0,
        "fold_only_seconds": fold_seconds,
        "fold_only_events_per_second": total / fold_seconds if fold_seconds else 0.0,
        "items_in_projection": items,
        "completed": events == total and items == conversations,
        "dynamodb_calls": dynamodb,
        "counted_batch_write_calls": batch_writes,
        "wru_per_event": merged["units"].get("dynamodb_wru", 0.0) / events if events else 0.0,
        "rru_per_event": merged["units"].get("dynamodb_rru", 0.0) / events if events else 0.0,
        "gsis": len(CONVERSATION_INDEXES),
    }
