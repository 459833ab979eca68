"""The attachment extractor: ``MessageReceived`` with attachments → each file under
``attachments/<conversation>/<message>/`` and its text under ``extracted/``, with one
``AttachmentExtracted`` per file. Limits bound size, pages and time, per file and per
mail; whatever a file holds, it gets a recorded outcome.

The attachments are found in the raw mail with the same bounded parse and the same
rule as the inbound decision (the event lists at most 100). They are recorded in
batches of :data:`BATCH` events, each batch a transaction with its own dedupe item
``attachments#<event id>[#<n>]``: a mail with 1,000 files stays within DynamoDB's 100
items a transaction, and a redelivery still records each file once.
"""

from __future__ import annotations

import re
import time
from email.message import Message
from typing import Any

from bootstrap import lambda_handler
from consumers.declaration import INBOUND_SOURCES, Consumer
from consumers.queue_batch import run_batch
from events import AttachmentExtracted, DomainEvent, Envelope, MessageReceived
from events.streams import conversation_stream
from extraction import Extraction, Limits, extract_text
from mail.bounded import parse_message
from mail.limits import DEFAULT_LIMITS, MailLimits
from mail.parsing import Attachment, attachments_of
from observability import logger_for, metrics_for
from ports import Plan, Services

# Side effects: a replay would write the attachments' blobs again, with whatever the
# extractor and limits are by then, under events deduped on the first run's outcome.
CONSUMER = Consumer.of(
    "attachments",
    f"{__name__}.handler",
    MessageReceived,
    sources=INBOUND_SOURCES,
    data={"attachment_count": [{"numeric": [">", 0]}]},
    timeout_seconds=120,
    # one mail may use most of the timeout (Settings.attachments_budget_seconds)
    batch_size=1,
)
logger = logger_for("attachments")
metrics = metrics_for("attachments")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
LIMITS = Limits()
BATCH = 50  # events per transaction: 50 puts and the dedupe item, half DynamoDB's 100


def safe_name(filename: str) -> str:
    """A file name that is a safe S3 key segment.

    >>> safe_name("../CV (final).pdf")
    'CV_final_.pdf'
    """
    cleaned = _UNSAFE.sub("_", filename.replace("..", "")).strip("._") or "attachment"
    return cleaned[:120]


def payload_of(part: Message) -> bytes:
    try:
        if part.get_content_type() == "message/rfc822":
            inner = part.get_payload()
            if isinstance(inner, list) and inner and isinstance(inner[0], Message):
                return bytes(inner[0].as_bytes())
        payload = part.get_payload(decode=True)
    except Exception:
        return b""
    return payload if isinstance(payload, bytes) else b""


def first_lines(text: str, count: int = 3) -> str:
    return "\n".join([line for line in text.splitlines() if line.strip()][:count])[:300]


def extract_all(
    raw: bytes, limits: Limits = LIMITS, mail_limits: MailLimits = DEFAULT_LIMITS, budget_seconds: float | None = None
) -> list[tuple[str, bytes, Extraction, Attachment]]:
    """(part path, bytes, extraction, attachment) for each attachment of the mail.

    Past ``budget_seconds`` for the whole mail, the remaining files are not read: each
    is recorded as skipped, with the reason."""
    deadline = None if budget_seconds is None else time.monotonic() + budget_seconds
    message, _defects = parse_message(raw, mail_limits)
    found = []
    for part, info in attachments_of(message, mail_limits):
        payload = payload_of(part)
        if deadline is not None and time.monotonic() > deadline:
            extraction = Extraction("skipped", f"time budget of {budget_seconds:g} s for the mail used up", "", "unknown")
        else:
            extraction = extract_text(info.filename, info.content_type, payload, limits)
        found.append((info.part, payload, extraction, info))
    return found


def batches(events: list[DomainEvent], event_id: str, size: int = BATCH) -> list[tuple[str, list[DomainEvent]]]:
    """(dedupe key, events) per transaction; the first key is the one-batch key of old.

    >>> [k for k, _ in batches(list(range(120)), "e1")]
    ['attachments#e1', 'attachments#e1#1', 'attachments#e1#2']
    """
    return [
        (f"attachments#{event_id}" + (f"#{n}" if n else ""), events[start : start + size])
        for n, start in enumerate(range(0, len(events), size))
    ]


def handle(svc: Services, envelope: Envelope, _body: dict[str, Any]) -> None:
    data = CONSUMER.accepted(envelope)
    if data is None:
        return
    raw = svc.blobs.get(data.raw_key, data.bucket)
    prefix = f"{data.conversation_id}/{data.ses_message_id}"
    events: list[DomainEvent] = []
    found = extract_all(raw, LIMITS, svc.settings.mail_limits, svc.settings.attachments_budget_seconds)
    for path, payload, extraction, info in found:
        name = f"{path}-{safe_name(info.filename)}"
        key = f"attachments/{prefix}/{name}"
        svc.blobs.put(key, payload, info.content_type)
        text_key = None
        if extraction.text:
            text_key = f"extracted/{prefix}/{name}.txt"
            svc.blobs.put(text_key, extraction.text.encode("utf-8"), "text/plain; charset=utf-8")
        events.append(
            AttachmentExtracted(
                conversation_id=data.conversation_id,
                ses_message_id=data.ses_message_id,
                filename=info.filename,
                content_type=info.content_type,
                size=len(payload),
                outcome=extraction.outcome,
                reason=extraction.reason,
                characters=len(extraction.text),
                key=key,
                text_key=text_key,
                first_lines=first_lines(extraction.text),
            )
        )
    stream = conversation_stream(data.conversation_id)
    for dedupe_key, batch in batches(events, envelope.event_id):
        svc.recorder.record(
            Plan(events=[(stream, e) for e in batch]),
            dedupe_key=dedupe_key,
            correlation_id=envelope.meta.correlation_id,
            causation_id=envelope.event_id,
        )


def invoke(svc: Services, event: dict[str, Any], context: Any) -> dict[str, Any]:
    return run_batch(svc, event, context, logger=logger, metrics=metrics, handle=handle, side_effects=CONSUMER.side_effects)


handler = lambda_handler(invoke, logger, metrics)
