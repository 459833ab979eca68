"""What every queue-fed consumer shares: batch processing with partial failures
(Lambda's ``ReportBatchItemFailures`` response), replay filtering, and backoff
through the message's visibility timeout.

The loop is ours rather than Powertools' ``BatchProcessor``: importing
``aws_lambda_powertools.utilities.batch`` loads its pydantic parser models and every
event data class (about 100 ms of each consumer's cold start, issue 19) for a loop of
a few lines. The contract is the same: each failed record is reported by its message
id, and a batch whose every record failed fails the invocation."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import msgspec
from aws_lambda_powertools.metrics import MetricUnit

from events import Envelope, from_delivered
from events.codec import is_replay
from ports import Services

if TYPE_CHECKING:
    from aws_lambda_powertools.logging import Logger
    from aws_lambda_powertools.metrics import Metrics


def full_jitter(attempt: int, base: float, cap: float) -> int:
    """Exponential backoff with full jitter (AWS Architecture Blog), in whole seconds.

    >>> 0 <= full_jitter(3, 2.0, 900.0) <= 16
    True
    """
    return int(random.uniform(0, min(cap, base * 2 ** max(attempt - 1, 0))))


class Transient(Exception):
    """A failure worth retrying later (throttling, 5xx, timeouts)."""


class Parked(Exception):
    """A message that must not be retried automatically (a send whose outcome is
    unknown): it goes to its queue's DLQ now, with ``attributes`` saying why, and
    leaves the source queue. Only a person redrives it."""

    def __init__(self, reason: str, attributes: dict[str, str]) -> None:
        super().__init__(reason)
        self.attributes = attributes


class BatchFailed(RuntimeError):
    """Every record of the batch failed: the invocation fails, and Lambda retries them all."""


class SQSRecord(msgspec.Struct, frozen=True):
    """The fields of one record of an SQS event that the consumers read."""

    message_id: str
    body: str
    receipt_handle: str
    event_source_arn: str
    receive_count: int

    @classmethod
    def of(cls, raw: dict[str, Any]) -> SQSRecord:
        return cls(
            message_id=str(raw["messageId"]),
            body=str(raw["body"]),
            receipt_handle=str(raw.get("receiptHandle", "")),
            event_source_arn=str(raw.get("eventSourceARN", "")),
            receive_count=int((raw.get("attributes") or {}).get("ApproximateReceiveCount") or 1),
        )


def body_of(record: SQSRecord) -> dict[str, Any]:
    body = json.loads(record.body)
    if not isinstance(body, dict):
        raise ValueError("SQS body is not a JSON object")
    return body


def envelope_of(body: dict[str, Any]) -> Envelope:
    """The envelope a record's body carries: the EventBridge event itself, or inside the
    ``{"rule", "event"}`` wrapper of a rule's delivery."""
    return from_delivered(body["event"] if "rule" in body and "event" in body else body)


def run_batch(
    svc: Services,
    event: dict[str, Any],
    context: Any,
    *,
    logger: Logger,
    metrics: Metrics,
    handle: Callable[[Services, Envelope, dict[str, Any]], None],
    side_effects: bool,
) -> dict[str, Any]:
    """Process an SQS batch; failed records are reported (and only they are retried)."""

    def record_handler(record: SQSRecord) -> None:
        body = body_of(record)
        if side_effects and is_replay(body):
            # archive replays rebuild read models; they must never send mail again
            logger.info("ignoring replayed event", replay=body.get("replay-name"), id=body.get("id"))
            return
        envelope = envelope_of(body)
        try:
            handle(svc, envelope, body)
        except Transient as exc:
            attempt = record.receive_count
            delay = full_jitter(attempt, svc.settings.backoff_base_seconds, svc.settings.backoff_cap_seconds)
            logger.warning(
                "transient failure; backing off", event_id=envelope.event_id, attempt=attempt, delay=delay, error=str(exc)
            )
            svc.queues.delay(record.event_source_arn, record.receipt_handle, delay)
            raise
        except Parked as exc:
            # parked, then reported processed (so deleted from the source queue); a crash
            # in between parks it again on redelivery, and the consumer is idempotent
            dlq = svc.queues.park(record.event_source_arn, record.body, exc.attributes)
            logger.error(
                "parked in the dead-letter queue; a person decides", event_id=envelope.event_id, dlq=dlq, reason=str(exc)
            )
            metrics.add_metric(name="RecordsParked", unit=MetricUnit.Count, value=1)

    records = list(event.get("Records") or [])
    if not records:
        raise ValueError("the SQS event has no Records")
    failures: list[dict[str, str]] = []
    for raw in records:
        record = SQSRecord.of(raw)
        try:
            record_handler(record)
        except Exception:
            logger.exception("record failed; reported for retry", message_id=record.message_id)
            failures.append({"itemIdentifier": record.message_id})
    failed = len(failures)
    if failed == len(records):
        raise BatchFailed(f"all {failed} records of the batch failed")
    metrics.add_metric(name="RecordsProcessed", unit=MetricUnit.Count, value=len(records) - failed)
    if failed:
        metrics.add_metric(name="RecordsFailed", unit=MetricUnit.Count, value=failed)
    return {"batchItemFailures": failures}
