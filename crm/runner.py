"""The local runner: drains every queue into its consumer, as the Lambda service would."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

from consumers.queue_batch import full_jitter
from crm.lambda_runtime import LocalContext, end_invocation, load_invoke, sqs_event
from crm.topology import Consumer
from ports import Services


@dataclass
class DrainReport:
    invocations: int = 0
    processed: int = 0
    failed: int = 0
    by_consumer: dict[str, int] = field(default_factory=dict)


class DrainTimeout(RuntimeError):
    pass


def drain(svc: Services, consumers: list[Consumer[Any]], *, timeout: float = 300.0, only: set[str] | None = None) -> DrainReport:
    """Invoke consumers until every queue is empty and nothing is in flight."""
    wired = wire(svc, consumers, only)
    report = DrainReport()
    deadline = time.monotonic() + timeout
    while True:
        if drain_pass(svc, wired, report):
            continue
        in_flight = sum(sum(svc.queues.depth(name)) for _c, name, _arn in wired)
        if in_flight == 0:
            return report
        if time.monotonic() > deadline:
            raise DrainTimeout(f"queues still hold {in_flight} messages after {timeout:.0f} s")
        time.sleep(0.05)


Wired = tuple[Consumer[Any], str, str]  # the consumer, its queue's name and ARN


def wire(svc: Services, consumers: list[Consumer[Any]], only: set[str] | None = None) -> list[Wired]:
    names = [(c, svc.settings.queue_name(c.name)) for c in consumers if only is None or c.name in only]
    return [(c, name, svc.queues.arn(name)) for c, name in names]


def drain_pass(svc: Services, wired: list[Wired], report: DrainReport) -> bool:
    """One batch from each wired queue that has messages; True if any had.

    A consumer with a batching window waits, as its Lambda trigger does, while the rest of
    the flow is still making events (here: while another consumer took a batch in this
    pass), unless a full batch is there already."""
    settings, queues = svc.settings, svc.queues
    progressed = False
    for consumer, name, arn in sorted(wired, key=lambda w: w[0].batching_window_seconds > 0):
        if consumer.batching_window_seconds and progressed and queues.depth(name)[0] < consumer.batch_size:
            continue
        messages = queues.receive(name, limit=consumer.batch_size, visibility=consumer.timeout_seconds)
        if not messages:
            continue
        progressed = True
        invoke = load_invoke(consumer.handler)
        try:
            response: dict[str, Any] = (
                invoke(
                    svc,
                    sqs_event(messages, arn, settings.region),
                    LocalContext(f"crm-{consumer.name}", timeout_seconds=consumer.timeout_seconds),
                )
                or {}
            )
            failed = {f["itemIdentifier"] for f in response.get("batchItemFailures") or []}
        except Exception:
            failed = {m["MessageId"] for m in messages}
        finally:
            end_invocation()
        report.invocations += 1
        for message in messages:
            if message["MessageId"] in failed:
                # Lambda would leave it invisible until the visibility timeout ends;
                # locally the retry comes after the configured backoff (0 s by default)
                count = int(message.get("Attributes", {}).get("ApproximateReceiveCount", "1"))
                queues.set_visibility(
                    name,
                    message["ReceiptHandle"],
                    full_jitter(count, settings.backoff_base_seconds, settings.backoff_cap_seconds),
                )
                report.failed += 1
            else:
                queues.delete(name, message["ReceiptHandle"])
                report.processed += 1
                report.by_consumer[consumer.name] = report.by_consumer.get(consumer.name, 0) + 1
    return progressed
