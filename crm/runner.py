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
    settings, queues = svc.settings, svc.queues
    wired = [(c, settings.queue_name(c.name)) for c in consumers if only is None or c.name in only]
    arns = {name: queues.arn(name) for _c, name in wired}
    report = DrainReport()
    deadline = time.monotonic() + timeout
    while True:
        progressed = False
        for consumer, name in wired:
            messages = queues.receive(name, limit=consumer.batch_size, visibility=consumer.timeout_seconds)
            if not messages:
                continue
            progressed = True
            invoke = load_invoke(consumer.handler)
            try:
                response: dict[str, Any] = (
                    invoke(
                        svc,
                        sqs_event(messages, arns[name], settings.region),
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
        if progressed:
            continue
        in_flight = sum(sum(queues.depth(name)) for _c, name in wired)
        if in_flight == 0:
            return report
        if time.monotonic() > deadline:
            raise DrainTimeout(f"queues still hold {in_flight} messages after {timeout:.0f} s")
        time.sleep(0.05)
