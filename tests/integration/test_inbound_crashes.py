"""Crashes at each step boundary of the inbound Lambda that ``test_inbound`` does not
cover, on the local backend (the crash injected into the port it hits) and on moto: a
retried delivery ends in one decision, one quarantine copy, one rejection."""

from __future__ import annotations

import copy
from typing import Any
from unittest import mock

import pytest

from crm.flows import drain_all
from crm.lambda_runtime import LocalContext
from producers import inbound
from producers.receipt import receipt_event
from tests.conftest import event_types, make_mail, outbox
from tests.integration.test_inbound import SPAM_BODY


def ses_event(stack: Any, ses_id: str, raw: bytes) -> dict[str, Any]:
    key = f"inbox/{ses_id}"
    stack.svc.blobs.put(key, raw)
    return receipt_event(
        ses_message_id=ses_id,
        recipients=["hello@example.com"],
        envelope_sender="sender@example.org",
        bucket=stack.settings.bucket,
        object_key=key,
        timestamp="2026-11-20T10:00:00.000Z",
    )


def invoke(stack: Any, event: dict[str, Any]) -> dict[str, Any]:
    result: dict[str, Any] = inbound.invoke(stack.svc, copy.deepcopy(event), LocalContext("crm-inbound"))["results"][0]
    return result


def test_a_crash_after_the_quarantine_copy_before_the_commit_quarantines_once(stack: Any) -> None:
    from ports import Plan

    real = stack.svc.recorder.record
    crashed: list[str] = []

    def crash_after_plan(plan: Any, **kwargs: Any) -> Any:
        current: Plan = plan() if callable(plan) else plan  # decides, and copies to quarantine/
        if any(type(e).__name__ == "SpamRejected" for _s, e in current.events):
            crashed.append(kwargs["dedupe_key"])
            raise RuntimeError("Lambda died after the quarantine copy, before the commit")
        return real(plan, **kwargs)

    event = ses_event(stack, "spam-crash-1", make_mail(body=SPAM_BODY, sender="x@spam.test"))
    with mock.patch.object(stack.svc.recorder, "record", crash_after_plan), pytest.raises(RuntimeError):
        invoke(stack, event)
    assert crashed == ["message#inbound#spam-crash-1"]
    assert stack.svc.blobs.exists("quarantine/spam-crash-1")  # the copy exists ...
    assert event_types(stack) == []  # ... and nothing points at it yet
    first = invoke(stack, event)  # Lambda's retry: the copy is made again (same key) and committed
    again = invoke(stack, event)  # and a late duplicate delivery changes nothing
    drain_all(stack.svc)
    assert first["outcome"] == again["outcome"] == "rejected" and again["duplicate"]
    assert event_types(stack).count("SpamRejected") == 1
    rejected = next(e.event for e in stack.svc.store.all_events() if e.type == "SpamRejected")
    assert rejected.quarantine_key == "quarantine/spam-crash-1"  # type: ignore[attr-defined]
    assert stack.svc.blobs.get("quarantine/spam-crash-1") == stack.svc.blobs.get("inbox/spam-crash-1")
    assert outbox(stack) == []
    from crm.audit import run_audit

    assert run_audit(stack.svc)["ok"]


def test_a_crash_during_the_quarantine_copy_is_retried_to_one_rejection(stack: Any) -> None:
    event = ses_event(stack, "spam-crash-2", make_mail(body=SPAM_BODY, sender="y@spam.test"))
    with (
        mock.patch.object(stack.svc.blobs, "copy", side_effect=RuntimeError("Lambda died during the copy")),
        pytest.raises(RuntimeError),
    ):
        invoke(stack, event)
    assert event_types(stack) == [] and not stack.svc.blobs.exists("quarantine/spam-crash-2")
    assert invoke(stack, event)["outcome"] == "rejected"
    assert event_types(stack).count("SpamRejected") == 1
    assert stack.svc.blobs.exists("quarantine/spam-crash-2")


class LambdaDied(BaseException):
    """The Lambda runtime ending an invocation mid-way."""


@pytest.mark.parametrize("step", ["producers.inbound.parse", "producers.inbound.load_patterns", "producers.inbound.decide"])
def test_a_crash_after_the_s3_fetch_before_the_decision_is_retried_to_one_decision(stack: Any, step: str) -> None:
    event = ses_event(stack, f"fetch-crash-{step.rsplit('.', 1)[1]}", make_mail())
    real_get = stack.svc.blobs.get
    fetched: list[str] = []

    def get(key: str, bucket: str | None = None) -> bytes:
        fetched.append(key)
        return real_get(key, bucket)

    # the runtime killing the process (a timeout, out of memory): no ``except Exception``
    # catches it, unlike an error of the decision, which is quarantined as unparseable
    with (
        mock.patch.object(stack.svc.blobs, "get", get),
        mock.patch(step, side_effect=LambdaDied(f"Lambda died in {step}")),
        pytest.raises(LambdaDied),
    ):
        invoke(stack, event)
    assert fetched  # the raw mail was fetched before the crash
    assert event_types(stack) == []
    drain_all(stack.svc)
    assert outbox(stack) == []
    result = invoke(stack, event)  # Lambda's retry
    assert result["outcome"] == "accepted" and not result["duplicate"]
    drain_all(stack.svc)
    assert event_types(stack).count("MessageReceived") == 1
    assert event_types(stack).count("FirstContact") == 1
    assert sorted(m["kind"] for m in outbox(stack)) == ["ack", "forward"]
