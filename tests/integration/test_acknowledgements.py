"""Acknowledgements on the local stack (issue 11: findings 4, 6 and 7).

Forged first contacts get no ack and are still forwarded; a burst past the hourly
cap is recorded, not sent, however many deliveries race; a mail to the public
address with a thread address in Cc is handled by each producer for its own
recipients; a bounce with ``Return-Path: <>`` is not answered.
"""

from __future__ import annotations

from collections.abc import Iterator
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from crm.flows import drain_all
from crm.ingest import Delivery
from crm.ingest import deliver as deliver_one
from crm.lambda_runtime import LocalContext
from crm.verdicts import parse_flags
from events import AcknowledgementAllowed, FirstContact, MessageReceived, ReplyRejected
from producers import inbound
from producers.receipt import receipt_event
from tests.conftest import deliver, event_types, invoke_concurrently, make_mail, outbox

FORGED = parse_flags(["spf=FAIL", "dkim=FAIL", "dmarc=FAIL"], "none")


@pytest.fixture
def capped(tmp_path: Path) -> Iterator[Any]:
    from crm.local import local_stack
    from crm.settings import Settings

    with local_stack(Settings(ack_cap_per_hour=3), tmp_path / "state") as running:
        yield running


def _events_of(stack: Any, kind: type) -> list[Any]:
    return [e.event for e in stack.svc.store.all_events() if isinstance(e.event, kind)]


def test_forged_first_contacts_are_forwarded_and_never_acknowledged(stack: Any) -> None:
    """Finding 4 on the whole flow (the unit test runs the 100 of the issue through the decision)."""
    for n in range(25):
        raw = make_mail(
            sender=f"Buy now <victim{n}@victim.net>", subject=f"Buy now at http://x.example/{n}", body=f"Hello {n}, a message."
        )
        deliver_one(stack.svc, Delivery(f"forged-{n}", raw), [stack.settings.public_address], FORGED)
    drain_all(stack.svc)
    kinds = [m["kind"] for m in outbox(stack)]
    assert kinds.count("forward") == 25 and kinds.count("ack") == 0
    firsts = _events_of(stack, FirstContact)
    assert len(firsts) == 25 and not any(f.acknowledge for f in firsts)
    assert all("not authenticated" in (f.suppressed_reason or "") for f in firsts)


def test_forged_from_our_public_address_with_a_victims_reply_to_is_not_acknowledged(stack: Any) -> None:
    raw = make_mail(sender=f"Us <{stack.settings.public_address}>", headers={"Reply-To": "victim@victim.net"})
    deliver(stack, raw)
    assert [m["kind"] for m in outbox(stack)] == ["forward"]


def test_a_burst_past_the_cap_is_recorded_not_sent_even_when_deliveries_race(capped: Any) -> None:
    cap, extra = 3, 5
    events = []
    for n in range(cap + extra):
        key = f"inbox/burst-{n}"
        capped.svc.blobs.put(key, make_mail(sender=f"Person {n} <p{n}@company{n}.com>"))
        events.append(
            receipt_event(
                ses_message_id=f"burst-{n}",
                recipients=["hello@example.com"],
                envelope_sender=f"p{n}@company{n}.com",
                bucket=capped.settings.bucket,
                object_key=key,
                timestamp="2026-11-20T10:15:00.000Z",
            )
        )
    assert invoke_concurrently(partial(inbound.invoke, capped.svc), events, "crm-inbound") == []
    drain_all(capped.svc)
    allowed = _events_of(capped, AcknowledgementAllowed)
    assert sorted(a.slot for a in allowed) == [1, 2, 3]
    firsts = _events_of(capped, FirstContact)
    assert len(firsts) == cap + extra
    capped_out = [f for f in firsts if not f.acknowledge]
    assert len(capped_out) == extra
    assert all("hourly acknowledgement cap reached" in (f.suppressed_reason or "") for f in capped_out)
    kinds = [m["kind"] for m in outbox(capped)]
    assert kinds.count("ack") == cap and kinds.count("forward") == cap + extra


def test_a_public_mail_with_a_thread_address_in_cc_is_forwarded_once_and_the_reply_side_decides_too(stack: Any) -> None:
    """Finding 7: both producers used the key message#<SES id>; whichever committed first won."""
    thread = f"c1.deadbeef@{stack.settings.reply_domain}"
    raw = make_mail(headers={"Cc": thread})
    result = deliver(stack, raw, [stack.settings.public_address, thread])
    assert result["outcome"] == "accepted" and result["reply"]["outcome"] == "rejected"
    assert [m["kind"] for m in outbox(stack)].count("forward") == 1
    assert len(_events_of(stack, MessageReceived)) == 1
    rejected = _events_of(stack, ReplyRejected)
    assert len(rejected) == 1 and rejected[0].recipients == [thread]
    ses_id = result["ses_message_id"]
    store = stack.svc.store
    assert store.exists(f"message#inbound#{ses_id}") and store.exists(f"message#reply#{ses_id}")
    again = deliver(stack, raw, [stack.settings.public_address, thread])  # SES redelivers: nothing twice
    assert again["duplicate"] and again["reply"]["duplicate"]
    assert [m["kind"] for m in outbox(stack)].count("forward") == 1


def test_a_decision_under_the_old_shared_key_is_not_made_again(stack: Any) -> None:
    key = "inbox/legacy-1"
    stack.svc.blobs.put(key, make_mail())
    event = receipt_event(
        ses_message_id="legacy-1",
        recipients=["hello@example.com"],
        envelope_sender="jane.doe@acmerobotics.com",
        bucket=stack.settings.bucket,
        object_key=key,
        timestamp="2026-11-20T10:00:00.000Z",
    )
    receipt = inbound.receipts_of(event)[0]
    inbound.process(stack.svc, receipt, dedupe_key="message#legacy-1")  # as main recorded it before the split
    again = inbound.invoke(stack.svc, event, LocalContext("crm-inbound"))["results"][0]
    assert again["duplicate"]
    assert event_types(stack).count("MessageReceived") == 1


def test_a_bounce_with_a_null_return_path_is_not_acknowledged(stack: Any) -> None:
    """Finding 6: crm ingest turned Return-Path: <> into envelope sender = From."""
    raw = b"Return-Path: <>\r\n" + make_mail(sender="Jane Doe <jane.doe@acmerobotics.com>")
    deliver(stack, raw)
    first = _events_of(stack, FirstContact)[0]
    assert not first.acknowledge and first.suppressed_reason == "null envelope sender"
    assert [m["kind"] for m in outbox(stack)] == ["forward"]


def test_verdicts_from_the_amazonses_header_reach_the_decision(stack: Any) -> None:
    raw = (
        b"Authentication-Results: amazonses.com; spf=fail; dkim=fail; dmarc=fail (p=none) header.from=acme.com\r\n" + make_mail()
    )
    deliver(stack, raw)
    received = _events_of(stack, MessageReceived)[0]
    assert (received.verdicts.spf, received.verdicts.dkim, received.verdicts.dmarc) == ("FAIL", "FAIL", "FAIL")
    assert received.verdicts.dmarc_policy == "none"
    assert [m["kind"] for m in outbox(stack)] == ["forward"]
