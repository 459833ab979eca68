"""What every queue-fed consumer shares: Powertools batch processing with partial
failures, replay filtering, and backoff through the message's visibility timeout."""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord
from aws_lambda_powertools.utilities.typing import LambdaContext

from events import Envelope, from_delivered
from events.codec import is_replay
from ports import Services


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


def body_of(record: SQSRecord) -> dict[str, Any]:
    body = json.loads(record.body)
    if not isinstance(body, dict):
        raise ValueError("SQS body is not a JSON object")
    return body


def run_batch(
    svc: Services,
    event: dict[str, Any],
    context: LambdaContext | None,
    *,
    logger: Logger,
    metrics: Metrics,
    handle: Callable[[Services, Envelope, dict[str, Any]], None],
    side_effects: bool,
) -> dict[str, Any]:
    """Process an SQS batch; failed records are reported (and only they are retried)."""
    processor = BatchProcessor(event_type=EventType.SQS)

    def record_handler(record: SQSRecord) -> None:
        body = body_of(record)
        if side_effects and is_replay(body):
            # archive replays rebuild read models; they must never send mail again
            logger.info("ignoring replayed event", replay=body.get("replay-name"), id=body.get("id"))
            return
        envelope = from_delivered(body["event"] if "rule" in body and "event" in body else body)
        try:
            handle(svc, envelope, body)
        except Transient as exc:
            attempt = int(record.attributes.approximate_receive_count or 1)
            delay = full_jitter(attempt, svc.settings.backoff_base_seconds, svc.settings.backoff_cap_seconds)
            logger.warning("transient failure; backing off", event_id=envelope.event_id, attempt=attempt,
                           delay=delay, error=str(exc))
            svc.queues.delay(record.event_source_arn, record.receipt_handle, delay)
            raise
        except Parked as exc:
            # parked, then reported processed (so deleted from the source queue); a crash
            # in between parks it again on redelivery, and the consumer is idempotent
            dlq = svc.queues.park(record.event_source_arn, record.body, exc.attributes)
            logger.error("parked in the dead-letter queue; a person decides", event_id=envelope.event_id, dlq=dlq,
                         reason=str(exc))
            metrics.add_metric(name="RecordsParked", unit=MetricUnit.Count, value=1)

    response: dict[str, Any] = dict(process_partial_response(event=event, record_handler=record_handler, processor=processor,
                                             context=context))
    failures: list[Any] = list(response.get("batchItemFailures") or [])
    failed = len(failures)
    metrics.add_metric(name="RecordsProcessed", unit=MetricUnit.Count, value=len(event.get("Records") or []) - failed)
    if failed:
        metrics.add_metric(name="RecordsFailed", unit=MetricUnit.Count, value=failed)
    return response
