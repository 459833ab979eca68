"""The senders under faults: throttling, crashes between steps, poison messages, replays."""

from __future__ import annotations

import json
from typing import Any
from unittest import mock

import pytest

from crm.flows import drain_all
from crm.lambda_runtime import LocalContext
from crm.views import dlq_records, redrive
from ports import Outgoing, SendError, Sent
from tests.conftest import deliver, event_types, make_mail, outbox, shared_fixture


def kinds(stack: Any) -> list[str]:
    return sorted(m["kind"] for m in outbox(stack))


def test_a_real_sqs_batch_fails_only_the_records_that_are_not_ours(stack: Any) -> None:
    """The real SQS batch of the shared fixtures plus one of our events: the foreign bodies
    fail one by one (partial batch response), ours is processed."""
    from consumers.senders import forward
    from events import to_entry

    event = shared_fixture("sqs-events", "powertools-sqsEvent.json")
    foreign = {r["messageId"] for r in event["Records"]}
    deliver(stack, make_mail())
    envelope = next(e for e in stack.svc.store.all_events() if e.type == "MessageReceived")
    entry = to_entry(envelope, "crm")
    ours = dict(
        event["Records"][0],
        messageId="ours",
        body=json.dumps({"source": entry["Source"], "detail-type": entry["DetailType"], "detail": json.loads(entry["Detail"])}),
    )
    event["Records"].append(ours)
    response = forward.invoke(stack.svc, event, LocalContext("crm-forward"))
    assert {f["itemIdentifier"] for f in response["batchItemFailures"]} == foreign
    assert kinds(stack) == ["ack", "forward"]  # ours was already sent: the redelivery sent nothing


def test_with_ses_throttling_half_the_calls_every_mail_goes_out_exactly_once(stack: Any) -> None:
    real = stack.svc.mailer.send
    calls = {"n": 0}

    def throttled(mail: Outgoing, *, key: str | None = None) -> Sent:
        calls["n"] += 1
        if calls["n"] % 2:
            raise SendError("SES Throttling: Maximum sending rate exceeded", permanent=False, code="Throttling")
        return real(mail, key=key)

    with mock.patch.object(stack.svc.mailer, "send", throttled):
        for index in range(6):
            deliver(stack, make_mail(sender=f"Person {index} <p{index}@firm{index}.example>"), drain=False)
        drain_all(stack.svc)
    assert calls["n"] > 12  # throttled calls were retried
    assert kinds(stack) == ["ack"] * 6 + ["forward"] * 6
    assert event_types(stack).count("MessageForwarded") == 6
    assert all(r["count"] == 0 for r in dlq_records(stack.svc))


def test_a_commit_failing_after_the_send_keeps_the_answer_and_the_redelivery_records_it(stack: Any) -> None:
    real = stack.svc.recorder.record
    crashed = {"done": False}

    def crash_once(plan: Any, **kwargs: Any) -> Any:
        if kwargs["dedupe_key"].startswith("sent#forward#") and not crashed["done"]:
            crashed["done"] = True
            raise RuntimeError("DynamoDB throttled the outcome's commit after SES accepted the mail")
        return real(plan, **kwargs)

    with mock.patch.object(stack.svc.recorder, "record", crash_once):
        deliver(stack, make_mail())
    assert crashed["done"]
    assert kinds(stack) == ["ack", "forward"]  # the redelivery found SES's answer on the claim
    assert event_types(stack).count("MessageForwarded") == 1
    forwarded = next(e for e in stack.svc.store.all_events() if e.type == "MessageForwarded")
    sent = next(e for e in stack.svc.outbox.entries() if e["kind"] == "forward")
    assert forwarded.event.ses_message_id == sent["ses_message_id"]  # the answer of the one send


def test_a_death_between_the_send_and_its_record_parks_the_message_instead_of_resending(stack: Any) -> None:
    """Dead before the outcome was committed or kept (the claim's holder is this live
    process, so nothing takes it over): each redelivery finds the claim without an
    outcome and waits for one that never comes; what is asserted is where the message
    ends, not how long each wait is."""
    real = stack.svc.recorder.record

    def dies(plan: Any, **kwargs: Any) -> Any:
        if kwargs["dedupe_key"].startswith("sent#"):
            raise RuntimeError("died")
        return real(plan, **kwargs)

    with (
        mock.patch.object(stack.svc.recorder, "record", dies),
        mock.patch.object(stack.svc.store, "keep_outcome", side_effect=RuntimeError("died")),
        mock.patch("consumers.senders.sending.IN_PROGRESS_WAIT_SECONDS", 0.2),
    ):
        deliver(stack, make_mail())
    assert kinds(stack) == ["ack", "forward"]  # each sent once, never twice
    assert "MessageForwarded" not in event_types(stack)
    parked = {r["queue"]: r["count"] for r in dlq_records(stack.svc)}
    assert parked["crm-forward"] == 1 and parked["crm-ack"] == 1  # visible to a person, not lost


def test_a_poison_message_ends_in_the_dlq_and_is_redriven_once_the_fault_is_gone(stack: Any) -> None:
    with mock.patch.object(stack.svc.mailer, "send", side_effect=RuntimeError("SES endpoint misconfigured")):
        deliver(stack, make_mail())
    assert outbox(stack) == []
    parked = {r["queue"]: r["count"] for r in dlq_records(stack.svc)}
    assert parked["crm-forward"] == 1
    assert redrive(stack.svc, "forward") == 1
    assert redrive(stack.svc, "ack") == 1
    assert kinds(stack) == ["ack", "forward"]
    assert all(r["count"] == 0 for r in dlq_records(stack.svc))
    # redriving again finds nothing and sends nothing
    assert redrive(stack.svc, "forward") == 0
    assert kinds(stack) == ["ack", "forward"]


def test_a_permanent_ses_error_is_recorded_and_not_retried_forever(stack: Any) -> None:
    with mock.patch.object(
        stack.svc.mailer,
        "send",
        side_effect=SendError("SES MessageRejected: Email address is not verified", permanent=True, code="MessageRejected"),
    ):
        deliver(stack, make_mail())
    assert event_types(stack).count("SendFailed") == 2
    assert all(r["count"] == 0 for r in dlq_records(stack.svc))


@pytest.mark.parametrize("backend", ["local", "moto"])
def test_a_refused_send_stays_refused_when_its_cause_comes_again_and_ses_would_now_accept(
    request: pytest.FixtureRequest, backend: str
) -> None:
    """The claim is the send's one guard, so its record must hold refusals too:
    SES's (the forward) and our own (an ack to an address that complained after the
    decision to acknowledge it)."""
    from consumers.feedback import invoke as feedback

    stack = request.getfixturevalue("stack" if backend == "local" else "moto_stack")
    refusal = SendError("SES MessageRejected: Email address is not verified", permanent=True, code="MessageRejected")
    with mock.patch.object(stack.svc.mailer, "send", side_effect=refusal):
        deliver(stack, make_mail())
    deliver(stack, make_mail(sender="Gone <gone@firm.example>", subject="still there?"), drain=False)
    complaint = {"eventType": "Complaint", "mail": {"messageId": "ses-out-1"}}
    complaint["complaint"] = {"complainedRecipients": [{"emailAddress": "gone@firm.example"}]}
    feedback(stack.svc, {"detail": complaint}, LocalContext("crm-ses-feedback"))
    drain_all(stack.svc)
    before = event_types(stack)
    assert before.count("SendFailed") == 3  # the first mail's ack and forward, the second's ack
    sent = outbox(stack)
    assert [m["kind"] for m in sent] == ["forward"]
    # every decision delivered again (a second `crm spam release`, a lost delete), SES
    # healthy and the suppression lifted
    from adapters.commit_plan import StoreKnowledge  # every store's reading of suppressions

    with mock.patch.object(StoreKnowledge, "address_suppressed", return_value=None):
        stack.svc.bus.publish(stack.svc.store.all_events())
        drain_all(stack.svc)
    assert outbox(stack) == sent
    assert event_types(stack) == before


def test_senders_ignore_archive_replays(stack: Any) -> None:
    from crm.runner import drain
    from crm.topology import consumers
    from events import to_entry

    deliver(stack, make_mail())
    forwarded = len(outbox(stack))
    envelope = next(e for e in stack.svc.store.all_events() if e.type == "MessageReceived")
    entry = to_entry(envelope, "crm")
    replayed = {
        "version": "0",
        "id": "r1",
        "source": entry["Source"],
        "detail-type": entry["DetailType"],
        "detail": json.loads(entry["Detail"]),
        "replay-name": "crm-replay-1",
    }
    # a fresh id would defeat the event-id guard if the replay filter were missing
    replayed["detail"]["meta"]["event_id"] = "00000000-0000-0000-0000-000000000000"
    stack.svc.queues.send("crm-forward", json.dumps(replayed))
    drain(stack.svc, [c for c in consumers() if c.name == "forward"])
    assert len(outbox(stack)) == forwarded


@pytest.mark.parametrize("bounce", ["bounce", "complaint"])
def test_an_address_that_bounced_or_complained_is_never_acknowledged_again(stack: Any, bounce: str) -> None:
    from consumers.feedback import invoke as feedback

    address = "gone@firm.example"
    detail: dict[str, Any] = {
        "eventType": "Bounce",
        "mail": {"messageId": "ses-out-1"},
        "bounce": {"bounceType": "Permanent", "bouncedRecipients": [{"emailAddress": address}]},
    }
    if bounce == "complaint":
        detail = {
            "eventType": "Complaint",
            "mail": {"messageId": "ses-out-1"},
            "complaint": {"complainedRecipients": [{"emailAddress": address}]},
        }
    assert feedback(stack.svc, {"detail": detail}, LocalContext("crm-ses-feedback")) == {"suppressed": 1}
    deliver(stack, make_mail(sender=f"Gone <{address}>"))
    assert kinds(stack) == ["forward"]
    assert "DeliveryBounced" in event_types(stack, f"contact#{address}")


def test_a_bounce_of_our_send_becomes_an_event_of_its_conversation(stack: Any) -> None:
    from consumers.feedback import invoke as feedback
    from crm.views import table

    result = deliver(stack, make_mail(sender="Jane <jane@bouncy.example>"))
    conversation = result["conversation_id"]
    detail = {
        "eventType": "Bounce",
        "mail": {"messageId": "ses-ack-1", "tags": {"conversation": [conversation], "kind": ["ack"]}},
        "bounce": {
            "bounceType": "Permanent",
            "bouncedRecipients": [{"emailAddress": "jane@bouncy.example", "diagnosticCode": "550 5.1.1 user unknown"}],
        },
    }
    feedback(stack.svc, {"detail": detail}, LocalContext("crm-ses-feedback"))
    drain_all(stack.svc)
    assert "DeliveryBounced" in event_types(stack, f"conversation#{conversation}")
    item = table(stack.svc).get(conversation)
    assert item and "550 5.1.1" in item["last_delivery_problem"]
    deliver(stack, make_mail(sender="Jane <jane@bouncy.example>", subject="Again"))
    assert kinds(stack).count("ack") == 1  # never acknowledged again


def test_ack_templates_come_from_ssm_and_a_broken_document_falls_back(stack: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from email import message_from_bytes, policy
    from pathlib import Path

    stack.svc.parameters.put("/crm/ack-templates", json.dumps({"subject": "Thanks! ({subject})", "text": None}))
    monkeypatch.setattr(stack.svc.settings, "ack_templates_parameter", "/crm/ack-templates")
    monkeypatch.setattr(stack.svc.settings, "patterns_ttl_seconds", 0)
    deliver(stack, make_mail(sender="A <a@one.example>", subject="Hello there"))
    stack.svc.parameters.put("/crm/ack-templates", "{not json")
    deliver(stack, make_mail(sender="B <b@two.example>", subject="Hi again"))
    subjects = [
        str(message_from_bytes(Path(m["file"]).read_bytes(), policy=policy.default)["Subject"])
        for m in outbox(stack)
        if m["kind"] == "ack"
    ]
    assert subjects == ["Thanks! (Hello there)", "Re: Hi again"]


def test_a_reply_to_the_id_ses_gave_our_mail_finds_the_conversation(stack: Any) -> None:
    result = deliver(stack, make_mail())
    sent = next(e.event for e in stack.svc.store.all_events() if e.type == "AcknowledgementSent")
    ses_id = f"<{sent.ses_message_id}@email.amazonses.com>"  # type: ignore[attr-defined]
    follow = deliver(stack, make_mail(sender="Colleague <tom@other.example>", headers={"In-Reply-To": ses_id}))
    assert follow["conversation_id"] == result["conversation_id"]


def test_a_transient_failure_backs_off_through_the_visibility_timeout(stack: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(stack.svc.settings, "backoff_base_seconds", 2.0)
    delays: list[int] = []
    real_delay = stack.svc.queues.delay

    def recording_delay(queue_arn: str, receipt_handle: str, seconds: int) -> None:
        delays.append(seconds)
        real_delay(queue_arn, receipt_handle, 0)  # keep the test fast; the value is what matters

    throttles = [SendError("SES Throttling", permanent=False, code="Throttling") for _ in range(3)]
    real_send = stack.svc.mailer.send

    def throttled_three_times(mail: Outgoing, *, key: str | None = None) -> Sent:
        if throttles:
            raise throttles.pop()
        return real_send(mail, key=key)

    with (
        mock.patch.object(stack.svc.queues, "delay", recording_delay),
        mock.patch.object(stack.svc.mailer, "send", throttled_three_times),
    ):
        deliver(stack, make_mail())
    assert len(delays) == 3
    # full jitter: uniform in [0, base * 2^(attempt-1)], attempts 1, 2, 3 of one message or spread over two
    assert all(0 <= d <= 8 for d in delays)
    assert kinds(stack) == ["ack", "forward"] and event_types(stack).count("MessageForwarded") == 1


@pytest.mark.parametrize("backend", ["stack", "moto_stack"])
def test_the_backoff_finds_the_queue_of_its_arn_and_hides_the_message(request: pytest.FixtureRequest, backend: str) -> None:
    """Regression: the queue URL was asked with a parameter boto3 does not know
    (``QueueOwnerAccountId``), so every backoff failed and retries came at once
    (the aws adapter on moto; the local backend's queues keep the same promise)."""
    stack = request.getfixturevalue(backend)
    queues = stack.svc.queues
    name = stack.settings.queue_name("forward")
    queues.send(name, json.dumps({"probe": 1}))
    message = queues.receive(name, visibility=0)[0]
    queues.delay(queues.arn(name), message["ReceiptHandle"], 600)
    assert queues.receive(name, visibility=0) == []  # hidden for the backoff
    assert queues.depth(name) == (0, 1)


@pytest.mark.parametrize("kind", ["ack", "forward"])
def test_a_duplicate_delivered_while_the_first_is_sending_waits_for_it_and_sends_nothing(stack: Any, kind: str) -> None:
    """Two concurrent releases of one mail each publish its decision: the duplicate message
    is taken while the first invocation is still inside SES's call. It must neither send
    again nor burn its receives into the DLQ (CI once showed the ack DLQ holding one)."""
    import threading

    from bootstrap import topology
    from crm.runner import drain

    deliver(stack, make_mail(sender="Ada <ada@firm.example>"), drain=False)
    decided = [e for e in stack.svc.store.all_events() if e.type in {"FirstContact", "MessageReceived"}]
    real = stack.svc.mailer.send
    inside, release = threading.Event(), threading.Event()

    def slow_first(mail: Outgoing, *, key: str | None = None) -> Sent:
        if mail.kind == kind and not inside.is_set():
            inside.set()
            release.wait(10)  # held inside "SES" until the duplicate has been taken
        return real(mail, key=key)

    consumers = [c for c in topology(stack.settings) if c.name == kind]
    with mock.patch.object(stack.svc.mailer, "send", slow_first):
        first = threading.Thread(target=drain, args=(stack.svc, consumers))
        first.start()
        assert inside.wait(10)
        stack.svc.bus.publish(decided)  # the republish of a duplicate commit: a second message per queue
        timer = threading.Timer(1.0, release.set)  # the duplicate is retried meanwhile
        timer.start()
        drain(stack.svc, consumers)
        first.join(30)
    drain_all(stack.svc)
    assert kinds(stack).count(kind) == 1
    assert all(r["count"] == 0 for r in dlq_records(stack.svc)), dlq_records(stack.svc)
