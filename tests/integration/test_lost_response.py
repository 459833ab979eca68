"""A send whose outcome is unknown is parked, never retried blindly.

The fault is injected where it happens in AWS: on the wire of the SES client, after
(or before) the local SES (moto) has processed the request. The truth of what SES
accepted is moto's own log of sent messages, which counts a mail our code never
heard back about; our outbox only records the mails SES answered for.
"""

from __future__ import annotations

import io
import json
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, message_from_string, policy
from pathlib import Path
from typing import Any

import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import (
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from crm.flows import drain_all
from crm.views import dlq_records, redrive
from ports import Outgoing
from tests.conftest import deliver, event_types, make_mail, outbox

OWNER = "owner@private.example.net"


class _Raw(io.BytesIO):
    def stream(self, **_kwargs: Any) -> Iterator[bytes]:
        yield self.read()


def _answer(url: str, status: int, code: str, message: str) -> AWSResponse:
    return AWSResponse(
        url,
        status,
        {"Content-Type": "application/json", "x-amzn-ErrorType": code},
        _Raw(json.dumps({"message": message}).encode()),
    )


# How a send can fail: (SES processed the request first?, what the client then sees)
LOST: dict[str, tuple[bool, Callable[[Any], Any]]] = {
    "read-timeout": (True, lambda r: ReadTimeoutError(endpoint_url=r.url)),
    "connection-reset": (True, lambda r: ConnectionClosedError(endpoint_url=r.url)),
    "500-after-accepting": (True, lambda r: _answer(r.url, 500, "InternalFailure", "internal error")),
    "503-before-accepting": (False, lambda r: _answer(r.url, 503, "ServiceUnavailable", "unavailable")),
}
SAFE: dict[str, tuple[bool, Callable[[Any], Any]]] = {
    "connect-timeout": (False, lambda r: ConnectTimeoutError(endpoint_url=r.url)),
    "endpoint-unreachable": (False, lambda r: EndpointConnectionError(endpoint_url=r.url)),
    "throttled-429": (False, lambda r: _answer(r.url, 429, "TooManyRequestsException", "Maximum sending rate exceeded.")),
    "throttled-400": (False, lambda r: _answer(r.url, 400, "Throttling", "Maximum sending rate exceeded.")),
}


@dataclass
class Wire:
    """Fails the first ``times`` SES SendEmail requests whose ``kind`` tag starts with ``kind``."""

    kind: str
    processed_first: bool
    fault: Callable[[Any], Any]
    times: int = 1
    failed: list[str] = field(default_factory=list)

    def matches(self, event_name: str, request: Any) -> bool:
        if event_name != "before-send.sesv2.SendEmail" or len(self.failed) >= self.times:
            return False
        tags = {t["Name"]: t["Value"] for t in json.loads(request.body).get("EmailTags", [])}
        if not tags.get("kind", "").startswith(self.kind):
            return False
        self.failed.append(tags["kind"])
        return True


@contextmanager
def wire_fault(kind: str, processed_first: bool, fault: Callable[[Any], Any], times: int = 1) -> Iterator[Wire]:
    """Wraps moto's request handler, the local SES's front door: a matching request is
    processed (or not) by SES, then its answer is replaced by the fault."""
    from moto.core.botocore_stubber import BotocoreStubber

    wire = Wire(kind, processed_first, fault, times)
    original = BotocoreStubber.__call__

    def front_door(self: Any, event_name: str, request: Any, **kwargs: Any) -> Any:
        if not wire.matches(event_name, request):
            return original(self, event_name, request, **kwargs)
        if wire.processed_first:
            original(self, event_name, request, **kwargs)  # SES accepts the mail ...
        outcome = wire.fault(request)  # ... and the client never learns it
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(BotocoreStubber, "__call__", front_door)
        yield wire


def accepted_by_ses(stack: Any) -> Counter[str]:
    """Message-ID → how many times the local SES accepted that mail."""
    from moto.core import DEFAULT_ACCOUNT_ID
    from moto.ses.models import ses_backends

    sent = ses_backends[DEFAULT_ACCOUNT_ID][stack.settings.region].sent_messages
    return Counter(str(message_from_string(m.raw_data, policy=policy.default)["Message-ID"]) for m in sent)


def thread_of_forward(stack: Any) -> str:
    forward = next(m for m in outbox(stack) if m["kind"] == "forward")
    reply_to = message_from_bytes(Path(forward["file"]).read_bytes(), policy=policy.default)["Reply-To"]
    return str(reply_to.addresses[0].addr_spec)


def owner_replies(stack: Any) -> None:
    from crm.lambda_runtime import LocalContext
    from producers import reply
    from producers.receipt import receipt_event

    thread = thread_of_forward(stack)
    raw = make_mail(
        sender=f"Owner <{OWNER}>", to=thread, subject="Re: Staff Platform Engineer role", body="Thanks Jane, Thursday works.\n"
    )
    stack.svc.blobs.put("inbox/owner-reply-1", raw)
    event = receipt_event(
        ses_message_id="owner-reply-1",
        recipients=[thread],
        envelope_sender=OWNER,
        bucket=stack.settings.bucket,
        object_key="inbox/owner-reply-1",
        timestamp="2026-11-21T10:00:00.000Z",
    )
    assert reply.invoke(stack.svc, event, LocalContext("crm-reply"))["results"][0]["outcome"] == "accepted"
    drain_all(stack.svc)


def reminder_due(stack: Any) -> None:
    from consumers.followups_schedule import run_due

    assert run_due(stack.svc, "2099-01-01T00:00:00Z"), "no follow-up was due"
    drain_all(stack.svc)


# (kind tag the fault matches, the queue that parks it, the steps that reach that send)
SENDERS: dict[str, tuple[str, str, list[Callable[[Any], None]]]] = {
    "ack": ("ack", "ack", []),
    "forward": ("forward", "forward", []),
    "reply": ("reply", "reply", [owner_replies]),
    "reminder": ("reminder", "rules", [owner_replies, reminder_due]),
}


def run_to(stack: Any, steps: list[Callable[[Any], None]]) -> None:
    deliver(stack, make_mail())
    for step in steps:
        step(stack)


def in_doubt(stack: Any, kind: str) -> list[Any]:
    return [e.event for e in stack.svc.store.all_events() if e.type == "SendInDoubt" and e.event.kind.startswith(kind)]  # type: ignore[attr-defined]


def parked(stack: Any, queue: str) -> list[dict[str, Any]]:
    record = next(r for r in dlq_records(stack.svc) if r["queue"] == stack.settings.queue_name(queue))
    return list(record["in_doubt"])


# Each sender meets a different way of losing the answer (the classification of every
# kind of failure is tested in tests/unit/test_send_errors.py); a stack costs seconds.
PAIRS = [
    ("ack", "read-timeout"),
    ("forward", "500-after-accepting"),
    ("reply", "connection-reset"),
    ("reminder", "503-before-accepting"),
]
assert {s for s, _ in PAIRS} == set(SENDERS) and {lost for _, lost in PAIRS} == set(LOST)


@pytest.mark.parametrize(("sender", "lost"), PAIRS)
def test_a_lost_ses_answer_never_sends_twice_and_is_parked_until_the_owner_redrives(
    moto_stack: Any, sender: str, lost: str
) -> None:
    stack = moto_stack
    kind, queue, steps = SENDERS[sender]
    processed_first, fault = LOST[lost]
    with wire_fault(kind, processed_first, fault) as wire:
        run_to(stack, steps)
        assert wire.failed, f"no {kind} send was attempted"
        drain_all(stack.svc)  # nothing left to retry: it is parked, not waiting
    accepted = accepted_by_ses(stack)
    assert set(accepted.values()) == {1}, f"a mail was sent twice: {accepted}"  # the defect: 2 on old main
    doubts = in_doubt(stack, kind)
    assert len(doubts) == 1 and doubts[0].attempt == 1
    assert any(word in doubts[0].reason for word in ("ReadTimeout", "ConnectionClosed", "HTTP 5"))
    shown = parked(stack, queue)
    assert [(p["kind"], p["attempt"]) for p in shown] == [(doubts[0].kind, 1)]
    assert shown[0]["reason"] == doubts[0].reason
    assert kind not in {m["kind"].split(":")[0] for m in outbox(stack)}  # SES never answered for it

    # a blind move of the parked message (console redrive, a script) parks it again, sends nothing
    queue_name = stack.settings.queue_name(queue)
    assert stack.svc.queues.redrive(f"{queue_name}-dlq", queue_name) == 1
    drain_all(stack.svc)
    assert accepted_by_ses(stack) == accepted
    assert len(parked(stack, queue)) == 1

    # the owner's word: sent once more, recorded once
    assert redrive(stack.svc, queue) == 1
    after = accepted_by_ses(stack)
    assert sum(after.values()) == sum(accepted.values()) + 1
    assert max(after.values()) == (2 if processed_first else 1)  # the owner chose to risk a copy
    assert len([m for m in outbox(stack) if m["kind"].startswith(kind)]) == 1
    assert event_types(stack).count("SendRetryApproved") == 1
    assert parked(stack, queue) == []
    assert redrive(stack.svc, queue) == 0
    assert accepted_by_ses(stack) == after

    from crm.audit import run_audit

    report = run_audit(stack.svc)
    assert report["ok"], [c for c in report["checks"] if not c["ok"]]


@pytest.mark.parametrize("safe", ["connect-timeout", "throttled-429"])
def test_a_send_that_never_reached_ses_is_retried_with_backoff_and_sent_once(moto_stack: Any, safe: str) -> None:
    stack = moto_stack
    processed_first, fault = SAFE[safe]
    with wire_fault("forward", processed_first, fault, times=2) as wire:
        deliver(stack, make_mail())
    assert len(wire.failed) == 2
    accepted = accepted_by_ses(stack)
    assert sorted(accepted.values()) == [1, 1]  # the ack and the forward
    assert sorted(m["kind"] for m in outbox(stack)) == ["ack", "forward"]
    assert "SendInDoubt" not in event_types(stack)
    assert all(r["count"] == 0 for r in dlq_records(stack.svc))


def test_on_the_command_line_the_send_in_doubt_survives_restarts_until_the_owner_redrives(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Each ``crm --stack moto`` call starts the stack from the state folder: the parked
    message and why it is parked must survive that, or it could never be approved. (The
    answer is lost on moto's wire, so this runs the aws adapters: ``--stack moto``.)"""
    from crm.cli import main

    def run(*argv: str) -> tuple[int, str]:
        code = main(["--stack", "moto", "--state", str(tmp_path / "state"), *argv])
        return code, capsys.readouterr().out

    mail = tmp_path / "first.eml"
    mail.write_bytes(make_mail())
    with wire_fault("forward", True, LOST["read-timeout"][1]) as wire:
        assert run("ingest", str(mail))[0] == 0
    assert wire.failed == ["forward"]
    code, text = run("dlq", "list")
    assert code == 0 and "crm-forward: 1 message(s)" in text and "IN DOUBT" in text and "ReadTimeoutError" in text
    code, out = run("dlq", "list", "--json")
    forward = next(r for r in map(json.loads, out.splitlines()) if r["queue"] == "crm-forward")
    assert forward["in_doubt"][0]["kind"] == "forward" and "Read timeout" in forward["in_doubt"][0]["reason"]
    code, text = run("audit")
    assert code == 1 and "crm-forward-dlq holds 1" in text and "in doubt, parked for the owner" in text
    assert [r["kind"] for r in map(json.loads, run("outbox", "--json")[1].splitlines())] == ["ack"]
    assert run("dlq", "redrive", "forward") == (0, "redrove 1 message(s) from forward-dlq to forward\n")
    assert sorted(r["kind"] for r in map(json.loads, run("outbox", "--json")[1].splitlines())) == ["ack", "forward"]
    code, text = run("audit")
    assert code == 0, text


def test_the_audit_on_the_moto_stack_names_a_mail_of_the_outbox_sent_twice_or_unrecorded(moto_stack: Any) -> None:
    """The moto stack's outbox is an index file beside the .eml files: a line nobody
    recorded (a mail sent twice) is named by the audit."""
    from crm.audit import run_audit

    stack = moto_stack
    deliver(stack, make_mail())
    assert run_audit(stack.svc)["ok"]
    index = stack.outbox / "index.jsonl"
    lines = index.read_text(encoding="utf-8").splitlines()
    forward = json.loads(next(line for line in lines if json.loads(line)["kind"] == "forward"))
    # the same mail again in the sent log, under a send nobody recorded
    index.write_text("\n".join([*lines, json.dumps({**forward, "ses_message_id": "unrecorded-1"})]) + "\n", encoding="utf-8")
    report = run_audit(stack.svc)
    sends = next(c for c in report["checks"] if c["name"] == "sends")
    assert not report["ok"] and not sends["ok"]
    assert "unrecorded-1" in sends["detail"] and forward["message_id"] in sends["detail"]


def test_on_the_local_backend_a_send_in_doubt_is_parked_until_the_owner_redrives(stack: Any) -> None:
    """The same promise on the local backend, the fault injected into its mailer port: the
    first forward's outcome is unknown (it never went out), so it is parked, a blind move
    of the DLQ parks it again, and only the owner's redrive sends it, once."""
    from unittest import mock

    from ports import SendError

    real = stack.svc.mailer.send
    failed: list[str] = []

    def lost(mail: Outgoing, *, key: str | None = None) -> Any:
        if mail.kind == "forward" and not failed:
            failed.append(mail.kind)
            raise SendError(
                "SES answer lost (ReadTimeoutError) after the request was sent",
                permanent=False,
                code="ReadTimeoutError",
                in_doubt=True,
            )
        return real(mail, key=key)

    with mock.patch.object(stack.svc.mailer, "send", lost):
        deliver(stack, make_mail())
        assert failed == ["forward"]
        doubts = in_doubt(stack, "forward")
        assert len(doubts) == 1 and doubts[0].attempt == 1 and "ReadTimeoutError" in doubts[0].reason
        shown = parked(stack, "forward")
        assert [(p["kind"], p["attempt"]) for p in shown] == [("forward", 1)]
        assert [m["kind"] for m in outbox(stack)] == ["ack"]

        queue_name = stack.settings.queue_name("forward")
        assert stack.svc.queues.redrive(f"{queue_name}-dlq", queue_name) == 1  # a blind move
        drain_all(stack.svc)
        assert [m["kind"] for m in outbox(stack)] == ["ack"] and len(parked(stack, "forward")) == 1

        assert redrive(stack.svc, "forward") == 1  # the owner's word
    assert sorted(m["kind"] for m in outbox(stack)) == ["ack", "forward"]
    assert event_types(stack).count("SendRetryApproved") == 1 and parked(stack, "forward") == []
    assert redrive(stack.svc, "forward") == 0
    assert sorted(m["kind"] for m in outbox(stack)) == ["ack", "forward"]
    from crm.audit import run_audit

    report = run_audit(stack.svc)
    assert report["ok"], [c for c in report["checks"] if not c["ok"]]
