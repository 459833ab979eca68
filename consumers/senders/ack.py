"""The acknowledgement sender: ``FirstContact`` (acknowledge = true) → one ack mail.

Goes to the Reply-To/From the decision chose, never to the envelope sender
(backscatter) nor the owner's mailbox, and never to an address that bounced or
complained since.
"""

from __future__ import annotations

import json
from email import message_from_bytes, policy
from typing import Any

from bootstrap import lambda_handler
from consumers.declaration import INBOUND_SOURCES, Consumer
from consumers.queue_batch import run_batch
from consumers.senders.sending import send_once
from events import AcknowledgementSent, Envelope, FirstContact
from events.streams import conversation_stream
from mail.ack_builder import build_ack
from mail.message_ids import ack_message_id
from observability import logger_for, metrics_for
from ports import Outgoing, Services, StoreReads

CONSUMER = Consumer.of(
    "ack", f"{__name__}.handler", FirstContact, sources=INBOUND_SOURCES, data={"acknowledge": [True]}, reserved_concurrency=2
)
logger = logger_for("ack")
metrics = metrics_for("ack")


def templates(svc: Services) -> tuple[str, str, str]:
    """(subject, text, html): the SSM document where configured, else the settings. A
    document that does not parse is reported and the settings apply: acks keep flowing."""
    s = svc.settings
    chosen = [s.ack_subject, s.ack_text, s.ack_html]
    if s.ack_templates_parameter:
        try:
            document = json.loads(svc.parameters.get(s.ack_templates_parameter, ttl_seconds=s.patterns_ttl_seconds))
            for index, name in enumerate(("subject", "text", "html")):
                if isinstance(document.get(name), str) and document[name].strip():
                    chosen[index] = document[name]
        except Exception as exc:
            logger.error(
                "ack templates unreadable; using the configured defaults", parameter=s.ack_templates_parameter, error=str(exc)
            )
    return chosen[0], chosen[1], chosen[2]


def handle(svc: Services, envelope: Envelope, _body: dict[str, Any]) -> None:
    event = CONSUMER.accepted(envelope)
    if event is None or not event.ack_to:
        return
    s = svc.settings
    stream = conversation_stream(event.conversation_id)
    ack_to = event.ack_to
    message_id = ack_message_id(event.conversation_id, event.ses_message_id, s.domain)
    # a name that looks like an address is not a name: never echo an address (possibly
    # the owner's own) back to a correspondent
    name = event.name if event.name and "@" not in event.name else None

    def refuse(reads: StoreReads) -> str | None:
        # checked inside the send's guard: a refusal is its decision for good, so an ack
        # once refused is not sent on a redelivery after the address was unsuppressed
        blocked = reads.address_suppressed(ack_to)
        if blocked or ack_to == s.private_mailbox or ack_to in s.accepted_addresses:
            return f"not acknowledged: {blocked or f'{ack_to} is one of our own addresses'}"
        return None

    def build() -> Outgoing:
        subject_template, text_template, html_template = templates(svc)
        raw = build_ack(
            to=ack_to,
            name=name,
            subject=event.subject,
            conversation_id=event.conversation_id,
            in_reply_to=event.message_id,
            references=[event.message_id] if event.message_id else [],
            public_address=s.public_address,
            public_name=s.public_name,
            message_id=message_id,
            subject_template=subject_template,
            text_template=text_template,
            html_template=html_template,
        )
        subject = str(message_from_bytes(raw, policy=policy.default)["Subject"] or event.subject)
        return Outgoing("ack", s.public_address, [ack_to], raw, subject, message_id, event.conversation_id)

    send_once(
        svc,
        envelope,
        kind="ack",
        conversation_id=event.conversation_id,
        build=build,
        stream_id=stream,
        sent=AcknowledgementSent,
        addresses=[ack_to],
        refuse=refuse,
    )


def invoke(svc: Services, event: dict[str, Any], context: Any) -> dict[str, Any]:
    return run_batch(svc, event, context, logger=logger, metrics=metrics, handle=handle, side_effects=CONSUMER.side_effects)


handler = lambda_handler(invoke, logger, metrics)
