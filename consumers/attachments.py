"""The attachment extractor: ``MessageReceived`` with attachments → each file under
``attachments/<conversation>/<message>/`` and its text under ``extracted/``, with one
``AttachmentExtracted`` per file. Limits bound size, pages and time; whatever a file
holds, it gets a recorded outcome."""

from __future__ import annotations

import re
from email import message_from_bytes, policy
from email.message import Message
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from adapters.recorder import Plan
from adapters.wiring import Services
from consumers.extraction import Extraction, Limits, extract_text
from consumers.queue_batch import run_batch
from events import AttachmentExtracted, DomainEvent, Envelope, MessageReceived
from mail.parsing import walk_leaves
from producers.decide import conversation_stream
from producers.observability import logger_for, metrics_for

logger = logger_for("attachments")
metrics = metrics_for("attachments")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
LIMITS = Limits()


def safe_name(filename: str) -> str:
    """A file name that is a safe S3 key segment.

    >>> safe_name("../CV (final).pdf")
    'CV_final_.pdf'
    """
    cleaned = _UNSAFE.sub("_", filename.replace("..", "")).strip("._") or "attachment"
    return cleaned[:120]


def payload_of(part: Message) -> bytes:
    if part.get_content_type() == "message/rfc822":
        inner = part.get_payload()
        if isinstance(inner, list) and inner and isinstance(inner[0], Message):
            return bytes(inner[0].as_bytes())
    payload = part.get_payload(decode=True)
    return payload if isinstance(payload, bytes) else b""


def first_lines(text: str, count: int = 3) -> str:
    return "\n".join([line for line in text.splitlines() if line.strip()][:count])[:300]


def extract_all(raw: bytes, data: MessageReceived, limits: Limits = LIMITS) -> list[tuple[str, bytes, Extraction, Any]]:
    """(part path, bytes, extraction, attachment info) for each attachment of the event."""
    wanted = {a.part: a for a in data.attachments}
    message = message_from_bytes(raw, policy=policy.default)
    found = []
    for part, path in walk_leaves(message):
        info = wanted.get(path)
        if info is None:
            continue
        payload = payload_of(part)
        found.append((path, payload, extract_text(info.filename, info.content_type, payload, limits), info))
    return found


def handle(svc: Services, envelope: Envelope, _body: dict[str, Any]) -> None:
    data = envelope.event
    if not isinstance(data, MessageReceived) or not data.attachments:
        return
    raw = svc.blobs.get(data.raw_key, data.bucket)
    prefix = f"{data.conversation_id}/{data.ses_message_id}"
    events: list[DomainEvent] = []
    for path, payload, extraction, info in extract_all(raw, data):
        name = f"{path}-{safe_name(info.filename)}"
        key = f"attachments/{prefix}/{name}"
        svc.blobs.put(key, payload, info.content_type)
        text_key = None
        if extraction.text:
            text_key = f"extracted/{prefix}/{name}.txt"
            svc.blobs.put(text_key, extraction.text.encode("utf-8"), "text/plain; charset=utf-8")
        events.append(AttachmentExtracted(
            conversation_id=data.conversation_id, ses_message_id=data.ses_message_id, filename=info.filename,
            content_type=info.content_type, size=len(payload), outcome=extraction.outcome, reason=extraction.reason,
            characters=len(extraction.text), key=key, text_key=text_key, first_lines=first_lines(extraction.text),
        ))
    if events:
        stream = conversation_stream(data.conversation_id)
        svc.recorder.record(Plan(events=[(stream, e) for e in events]), dedupe_key=f"attachments#{envelope.event_id}",
                            correlation_id=envelope.meta.correlation_id, causation_id=envelope.event_id)


@metrics.log_metrics
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return run_batch(event, context, logger=logger, metrics=metrics, handle=handle, side_effects=False)
