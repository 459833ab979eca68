"""The conversations table: GSI queries with pagination, upcasting on replay."""

from __future__ import annotations

import json
from typing import Any

import pytest

from crm.views import table
from events import Envelope, MessageReceived, to_record
from projections.queries import Filters, query
from projections.replay import replay
from tests.conftest import deliver, make_mail


def test_every_filter_pages_through_newest_first(stack: Any) -> None:
    for index in range(7):
        deliver(stack, make_mail(sender=f"Person {index} <p{index}@acmerobotics.com>", subject=f"Role {index}"))
    settings, projection = stack.settings, table(stack.svc)
    seen, token = [], None
    while True:
        page, token = query(projection, Filters(status="new"), shards=settings.status_shards, limit=3, next_token=token)
        assert len(page) <= 3
        seen.extend(page)
        if token is None:
            break
    assert len(seen) == 7 and len({i["id"] for i in seen}) == 7
    stamps = [i["last_activity"] for i in seen]
    assert stamps == sorted(stamps, reverse=True)
    by_company, _ = query(projection, Filters(company="ACME robotics"), shards=4, limit=50)
    assert len(by_company) == 7
    combined, _ = query(projection, Filters(company="Acme Robotics", contact="p3@acmerobotics.com"), shards=4, limit=50)
    assert [i["contact"] for i in combined] == ["p3@acmerobotics.com"]
    by_score, _ = query(projection, Filters(min_score=1), shards=4, limit=50)
    assert by_score and all(i["lead_score"] >= 1 for i in by_score)
    month = seen[0]["month"]
    by_month, _ = query(projection, Filters(month=month), shards=4, limit=50)
    assert len(by_month) == 7


def test_events_stored_under_an_older_schema_replay_into_the_new_projection(stack: Any) -> None:
    """A MessageReceived written before schema 2 (no ``source_channel``) still builds the
    item, with the source derived by the upcaster."""
    event = MessageReceived(
        conversation_id="old-1",
        ses_message_id="old-ses",
        bucket="b",
        raw_key="inbox/old",
        received_at="2025-01-05T09:00:00Z",
        from_address="someone@linkedin.com",
        contact="someone@linkedin.com",
        subject="An old message",
    )
    envelope = Envelope.new(event, stream_id="conversation#old-1", version=1, seed="old", correlation_id="old")
    record = to_record(envelope)
    detail = json.loads(record["detail"])
    detail["meta"]["schema_version"] = 1
    del detail["data"]["source_channel"]
    stack.svc.store.put_raw_items([{**record, "detail": json.dumps(detail)}])
    report = replay(stack.svc, quiet=True)
    assert report.events >= 1
    item = table(stack.svc).get("old-1")
    assert item is not None and item["source"] == "linkedin" and item["month"] == "2025-01"


@pytest.mark.parametrize("mails", [1, 3])
def test_a_decision_and_its_sends_outcomes_reach_the_projector_in_one_batch(
    stack: Any, monkeypatch: pytest.MonkeyPatch, mails: int
) -> None:
    """The projector's batching window: while the senders and the hooks are still making
    events, it waits (as its Lambda trigger does for 5 s), so each conversation is written
    once for the whole flow of a mail, not once per event; a full batch goes at once."""
    import consumers.projector as projector
    from crm.flows import drain_all

    batches: list[list[str]] = []
    real = projector.invoke

    def counted(svc: Any, event: dict[str, Any], context: Any) -> dict[str, Any]:
        batches.append([json.loads(r["body"])["detail-type"] for r in event["Records"]])
        return real(svc, event, context)

    monkeypatch.setattr(projector, "invoke", counted)
    for n in range(mails):
        deliver(stack, make_mail(sender=f"Person {n} <p{n}@firm{n}.example>", subject=f"Role {n}"), drain=False)
    drain_all(stack.svc)
    delivered = [t for batch in batches for t in batch]
    # every event of the flow reached it, in as few batches as the batch size allows
    assert {"MessageReceived", "FirstContact", "AcknowledgementSent", "MessageForwarded", "LeadScored"} <= set(delivered)
    assert len(batches) == -(-len(delivered) // projector.CONSUMER.batch_size)
    assert all(len(b) == projector.CONSUMER.batch_size for b in batches[:-1])
    rows = table(stack.svc).scan()
    assert len(rows) == mails and all(r["messages_in"] == 1 and r["acknowledged_at"] for r in rows)
