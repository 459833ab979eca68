"""Reliability under faults: AWS failing at a 20 % rate while distinct mails flow through
the whole stack (120 over four fresh stacks of 30, ``RELIABILITY_MAILS`` per stack for a
longer soak). The inbound Lambda's crash points are in ``test_inbound_crashes``.

Faults are injected at the botocore level, on the cached clients every adapter uses
(``adapters.aws.client``), so the code under test is unchanged:

* DynamoDB ``ProvisionedThroughputExceededException`` on PutItem, TransactWriteItems,
  Query and GetItem; S3 HTTP 500 ``InternalError`` on GetObject and PutObject; SES v2
  ``ThrottlingException`` / ``TooManyRequestsException`` on SendEmail;
* half of them are raised straight to our code (as if the SDK's retries were already
  spent), the other half are error responses on the wire for 1 to 5 consecutive
  attempts, which botocore's standard retry mode (5 attempts) absorbs, or not when
  all 5 attempts fail or its retry quota runs dry (SES sends are never retried by
  botocore: every SES fault reaches our code, which backs off);
* ``PutEvents`` answers with a partial failure: some entries come back with an
  ``ErrorCode``, the others are published.

That run is on moto (AWS's behaviour is its point). The same run goes through the local
backend with the faults injected into its ports (the store, the bus, the blobs, the
mailer).
"""

from __future__ import annotations

import io
import json
import os
import random
import re
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

import pytest
from botocore.awsrequest import AWSResponse
from botocore.exceptions import ClientError

from adapters.bus import PublishError
from crm.flows import drain_all
from crm.views import dlq_records, redrive
from tests.conftest import deliver, event_types, make_mail, outbox

# Distinct mails in the fault run. moto's DynamoDB costs grow with the table (every
# TransactWriteItems item deep-copies the whole table, every Query scans it), so the run is
# quadratic (each mail now records more: the acknowledgement quota, sends): 50 mails take
# about 150 s on 2 cores. So the mails run as four stacks of 30 with different fault
# sequences (seeds), which the test workers run in parallel, keeping the suite under 10
# minutes. RELIABILITY_MAILS=200 runs a longer soak per stack.
MAIL_COUNT = int(os.environ.get("RELIABILITY_MAILS", "30"))
SEEDS = (20261120, 20261121, 20261122, 20261123)
FAULT_RATE = 0.2
MAX_INVOCATIONS = 30  # SES/Lambda retry a failed delivery; a bound so a real bug cannot loop forever
MAX_ATTEMPTS = 5  # botocore standard mode, as adapters.aws configures it
MARK = "x-test-injected-fault"

# (service id, operation) -> (error code(s), HTTP status, message)
FAULTS: dict[tuple[str, str], tuple[tuple[str, ...], int, str]] = {
    **{
        ("dynamodb", op): (
            ("ProvisionedThroughputExceededException",),
            400,
            "The level of configured provisioned throughput for the table was exceeded.",
        )
        for op in ("PutItem", "TransactWriteItems", "Query", "GetItem")
    },
    **{
        ("s3", op): (("InternalError",), 500, "We encountered an internal error. Please try again.")
        for op in ("GetObject", "PutObject")
    },
    ("sesv2", "SendEmail"): (("ThrottlingException", "TooManyRequestsException"), 429, "Maximum sending rate exceeded."),
}

# scored patterns: several signs together reject, one keyword does not


def _text(value: str | bytes) -> str:
    return value.decode("ascii", "replace") if isinstance(value, bytes) else str(value)


class _Raw(io.BytesIO):
    def stream(self, **_kwargs: Any) -> Iterator[bytes]:
        yield self.read()


def _error_response(service: str, code: str, status: int, message: str, url: str) -> AWSResponse:
    if service == "s3":
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>{message}</Message>'
            f"<RequestId>injected</RequestId></Error>"
        ).encode()
        headers = {"Content-Type": "application/xml"}
    elif service == "dynamodb":
        body = json.dumps({"__type": f"com.amazonaws.dynamodb.v20120810#{code}", "message": message}).encode()
        headers = {"Content-Type": "application/x-amz-json-1.0"}
    else:  # rest-json (SES v2)
        body = json.dumps({"message": message}).encode()
        headers = {"Content-Type": "application/json", "x-amzn-ErrorType": code}
    return AWSResponse(url, status, headers, _Raw(body))


class Faults:
    """Seeded fault injection on botocore's ``before-send`` and PutEvents' answer."""

    def __init__(self, rate: float, seed: int, boost: dict[str, float] | None = None) -> None:
        self.rate = rate
        self.boost = boost or {}  # port.method -> times the rate, for methods the flow calls rarely
        self.rng = random.Random(seed)
        self.on = False
        self.injected: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()  # error answers and raised errors, per attempt
        self.surfaced: Counter[str] = Counter()  # errors our code saw (not absorbed by botocore)
        self.absorbed: Counter[str] = Counter()  # calls botocore retried to success
        self.partial_entries = 0  # PutEvents entries answered with an ErrorCode
        self.partial_calls = 0
        self._wire: dict[str, int] = {}  # invocation id -> attempts still to fail on the wire
        self._faulted: set[str] = set()

    @staticmethod
    def kind(service: str, operation: str) -> str:
        return f"{service}:{operation}"

    def before_send(self, request: Any, event_name: str, **_kwargs: Any) -> AWSResponse | None:
        if not self.on:
            return None
        _, service, operation = event_name.split(".", 2)
        fault = FAULTS.get((service, operation))
        if fault is None:
            return None
        codes, status, message = fault
        code = self.rng.choice(codes)
        kind = self.kind(service, operation)
        invocation = _text(request.headers.get("amz-sdk-invocation-id", ""))
        found = re.search(r"attempt=(\d+)", _text(request.headers.get("amz-sdk-request", "attempt=1")))
        attempt = int(found.group(1)) if found else 1
        if attempt == 1:
            roll = self.rng.random()
            if roll < self.rate / 2:
                # raised before the request is sent: botocore does not retry it, our code sees it
                self.injected[kind] += 1
                self.surfaced[kind] += 1
                raise ClientError(
                    {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}}, operation
                )
            if roll < self.rate:
                self._wire[invocation] = self.rng.randint(1, MAX_ATTEMPTS)  # consecutive failing attempts
        remaining = self._wire.get(invocation, 0)
        if remaining <= 0:
            return None
        self._wire[invocation] = remaining - 1
        self._faulted.add(invocation)
        self.injected[kind] += 1
        request.headers[MARK] = "1"  # moto must not execute it: the call failed before it happened
        return _error_response(service, code, status, message, request.url)

    def after_call(self, http_response: Any, context: dict[str, Any], model: Any, **_kwargs: Any) -> None:
        invocation = str((context.get("retries") or {}).get("invocation-id", ""))
        if invocation not in self._faulted:
            return
        self._faulted.discard(invocation)
        self._wire.pop(invocation, None)
        kind = self.kind(model.service_model.service_id.hyphenize(), model.name)
        if http_response.status_code >= 300:
            self.surfaced[kind] += 1  # every attempt failed, or the retry quota ran dry
        else:
            self.absorbed[kind] += 1

    def put_events(self, real: Any) -> Any:
        def partial(**kwargs: Any) -> dict[str, Any]:
            entries = kwargs["Entries"]
            if not self.on:
                return dict(real(**kwargs))
            failing = [self.rng.random() < self.rate for _ in entries]
            if not any(failing):
                return dict(real(**kwargs))
            self.partial_calls += 1
            self.partial_entries += sum(failing)
            sent = [e for e, fail in zip(entries, failing, strict=True) if not fail]
            answers = iter(real(**{**kwargs, "Entries": sent})["Entries"] if sent else [])
            results = [
                {"ErrorCode": "InternalFailure", "ErrorMessage": "injected partial failure"} if fail else next(answers)
                for fail in failing
            ]
            return {"FailedEntryCount": sum(failing), "Entries": results}

        return partial


@contextmanager
def injected_faults(monkeypatch: pytest.MonkeyPatch, region: str, rate: float, seed: int) -> Iterator[Faults]:
    from moto.core.botocore_stubber import BotocoreStubber

    from adapters.aws import client, send_client

    faults = Faults(rate, seed)
    original_call = BotocoreStubber.__call__

    def stubber(self: Any, event_name: str, request: Any, **kwargs: Any) -> Any:
        if request.headers.get(MARK):
            return None  # the injected error answer stands; moto never sees the request
        return original_call(self, event_name, request, **kwargs)

    monkeypatch.setattr(BotocoreStubber, "__call__", stubber)
    # botocore's own backoff (1 s base for throttling) would make the test take minutes;
    # the retries still happen, only without the sleep
    monkeypatch.setattr("botocore.retries.standard.ExponentialBackoff.delay_amount", lambda self, context: 0)
    # SES sends go through their own client, which never retries by itself (a retried
    # send whose answer was lost is a second mail): its wire faults all reach our code
    clients = [client("dynamodb", region, None), client("s3", region, None), send_client("sesv2", region, None)]
    for each in clients:
        each.meta.events.register_first("before-send", faults.before_send, unique_id="test-faults-send")
        each.meta.events.register("after-call", faults.after_call, unique_id="test-faults-after")
    events = client("events", region, None)
    try:
        with mock.patch.object(events, "put_events", side_effect=faults.put_events(events.put_events)):
            yield faults
    finally:
        faults.on = False
        for each in clients:
            each.meta.events.unregister("before-send", unique_id="test-faults-send")
            each.meta.events.unregister("after-call", unique_id="test-faults-after")


def _sender(index: int) -> tuple[str, str]:
    address = f"person{index:03d}@firm{index:03d}.example"
    return f"Person {index:03d} <{address}>", address


def _mails() -> tuple[list[str], list[bytes]]:
    subjects = [f"Question {i:03d} about the platform role" for i in range(MAIL_COUNT)]
    mails = [
        make_mail(
            sender=_sender(i)[0],
            subject=subjects[i],
            attachments=[(f"notes-{i}.txt", "text/plain", f"notes of mail {i}\n".encode())] if i % 10 == 0 else None,
        )
        for i in range(MAIL_COUNT)
    ]
    return subjects, mails


def _deliver_with_retries(stack: Any, mails: list[bytes], failures: tuple[type[BaseException], ...]) -> Counter[str]:
    """Each mail delivered until an invocation succeeds, as Lambda retries an async invocation."""
    invocations: Counter[str] = Counter()
    for raw in mails:
        for _ in range(MAX_INVOCATIONS):
            try:
                deliver(stack, raw, drain=False)
            except failures as exc:
                invocations[type(exc).__name__] += 1
                continue
            invocations["ok"] += 1
            break
        else:
            pytest.fail(f"a mail was still failing after {MAX_INVOCATIONS} invocations")
    return invocations


def _redrive_and_check_exactly_once(stack: Any, subjects: list[str]) -> dict[str, int]:
    """Under a 20 % rate some messages exhaust the 5 receives and are parked in a DLQ, as
    designed. We do not lower the rate: with the faults gone, we redrive every DLQ once
    (the operator's path, `crm dlq redrive`), and then everything must be exactly once."""
    parked = {r["queue"]: r["count"] for r in dlq_records(stack.svc) if r["count"]}
    for queue in parked:
        redrive(stack.svc, queue)
    drain_all(stack.svc)

    received = [e.event for e in stack.svc.store.all_events() if e.type == "MessageReceived"]
    per_mail = Counter(e.ses_message_id for e in received)  # type: ignore[attr-defined]
    assert len(per_mail) == MAIL_COUNT and set(per_mail.values()) == {1}
    assert event_types(stack).count("SpamRejected") == 0
    assert event_types(stack).count("AttachmentExtracted") == len(range(0, MAIL_COUNT, 10))

    sent = outbox(stack)
    forwards = Counter(m["subject"] for m in sent if m["kind"] == "forward")
    assert forwards == Counter(subjects), "not exactly one forward per mail"
    acks = Counter(tuple(m["to"]) for m in sent if m["kind"] == "ack")
    assert acks == Counter((_sender(i)[1],) for i in range(MAIL_COUNT)), "not exactly one ack per sender"
    assert len(sent) == 2 * MAIL_COUNT

    assert all(r["count"] == 0 for r in dlq_records(stack.svc))
    from crm.audit import run_audit

    audit = run_audit(stack.svc)
    assert audit["ok"], [c for c in audit["checks"] if not c["ok"]]
    return parked


@pytest.mark.parametrize("seed", SEEDS)
def test_hundreds_of_mails_under_injected_faults_end_delivered_exactly_once(
    moto_stack: Any, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    """AWS failing under the aws adapters (botocore's retries, SES throttling, partial
    PutEvents): the point is AWS's behaviour, so this runs on moto."""
    stack = moto_stack
    started = time.monotonic()
    subjects, mails = _mails()
    with injected_faults(monkeypatch, stack.settings.region, FAULT_RATE, seed=seed) as faults:
        faults.on = True
        invocations = _deliver_with_retries(stack, mails, (ClientError, PublishError))
        drain_all(stack.svc)
        faults.on = False
    faulty_seconds = time.monotonic() - started

    kinds = {f"{s}:{o}" for s, o in FAULTS}
    assert kinds <= set(faults.injected), f"never injected: {kinds - set(faults.injected)}"
    assert kinds <= set(faults.surfaced), f"never reached our code: {kinds - set(faults.surfaced)}"
    assert sum(faults.absorbed.values()) > 0  # botocore's configured retries absorbed some
    assert faults.partial_entries > 0
    assert invocations["ok"] == MAIL_COUNT and sum(invocations.values()) > MAIL_COUNT  # some invocations failed

    parked = _redrive_and_check_exactly_once(stack, subjects)
    print(
        f"\n{MAIL_COUNT} mails in {time.monotonic() - started:.1f} s ({faulty_seconds:.1f} s under faults); "
        f"invocations {dict(invocations)}; injected {sum(faults.injected.values())}, "
        f"surfaced {dict(faults.surfaced)}, absorbed by botocore {dict(faults.absorbed)}; "
        f"PutEvents partial failures {faults.partial_calls} calls / {faults.partial_entries} entries; "
        f"redriven {parked}"
    )


# --- the same run on the local backend, the faults injected into its ports ------------------


class PortFaults:
    """Seeded failures of the local backend's ports, each raised before the real call: a
    busy or failing database under the store and the bus (SQLite's ``OperationalError``),
    a failing disk under the blobs, SES-like throttling of the mailer."""

    PORTS: dict[str, tuple[str, ...]] = {
        "store": ("commit", "read", "get", "get_many", "exists", "conversation_for", "contact_known", "address_suppressed"),
        "bus": ("publish",),
        "blobs": ("get", "put", "copy"),
        "mailer": ("send",),
    }

    def __init__(self, rate: float, seed: int, boost: dict[str, float] | None = None) -> None:
        self.rate = rate
        self.boost = boost or {}  # port.method -> times the rate, for methods the flow calls rarely
        self.rng = random.Random(seed)
        self.on = False
        self.injected: Counter[str] = Counter()
        self.calls: Counter[str] = Counter()

    def error(self, port: str, method: str) -> BaseException:
        import sqlite3

        from ports import SendError

        if port == "mailer":
            return SendError("SES Throttling: Maximum sending rate exceeded", permanent=False, code="Throttling")
        if port == "blobs":
            return OSError(5, f"injected: input/output error in blobs.{method}")
        return sqlite3.OperationalError(f"injected: database is locked ({port}.{method})")

    def install(self, monkeypatch: pytest.MonkeyPatch, svc: Any) -> None:
        for port, methods in self.PORTS.items():
            target = getattr(svc, port)
            for method in methods:
                monkeypatch.setattr(target, method, self._faulty(port, method, getattr(target, method)))

    def _faulty(self, port: str, method: str, real: Any) -> Any:
        name = f"{port}.{method}"

        def call(*args: Any, **kwargs: Any) -> Any:
            self.calls[name] += self.on
            if self.on and self.rng.random() < self.rate * self.boost.get(name, 1.0):
                self.injected[name] += 1
                raise self.error(port, method)
            return real(*args, **kwargs)

        return call


@pytest.mark.parametrize("seed", SEEDS)
def test_hundreds_of_mails_under_port_faults_on_the_local_backend_end_delivered_exactly_once(
    stack: Any, monkeypatch: pytest.MonkeyPatch, seed: int
) -> None:
    import sqlite3

    from ports import PublishError as PortPublishError

    subjects, mails = _mails()
    # no client-side retries here (botocore absorbs some faults on moto): every injected fault
    # surfaces, and a mail needs ~15 port calls, so 20 % per call would almost never let one through
    # the projector reads a stream only when its batch leaves a gap, so a run makes a few
    # reads where it makes hundreds of other calls: they fail more often, to fail at all
    faults = PortFaults(FAULT_RATE / 4, seed, boost={"store.read": 40.0})
    faults.install(monkeypatch, stack.svc)
    faults.on = True
    invocations = _deliver_with_retries(stack, mails, (sqlite3.OperationalError, OSError, PortPublishError))
    drain_all(stack.svc)
    faults.on = False

    must = {"store.commit", "store.read", "store.get_many", "bus.publish", "blobs.get", "blobs.put", "mailer.send"}
    assert must <= set(faults.injected), f"never injected: {must - set(faults.injected)}"
    assert invocations["ok"] == MAIL_COUNT and sum(invocations.values()) > MAIL_COUNT  # some invocations failed
    _redrive_and_check_exactly_once(stack, subjects)
