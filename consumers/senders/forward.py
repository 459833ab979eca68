"""The forward sender: ``MessageReceived`` → the copy in the owner's private mailbox,
with ``Reply-To`` on the copy's own signed thread address.

The address names the conversation and this message, so the owner's answer goes to
this message's correspondent and nobody who wrote later. The copy opens with who
that is, and with a warning when the mail failed SPF, DKIM or DMARC: a forged From
looks like anyone's."""

from __future__ import annotations

from typing import Any

from bootstrap import lambda_handler
from consumers.declaration import INBOUND_SOURCES, Consumer
from consumers.queue_batch import run_batch
from consumers.senders.sending import send_once
from events import Envelope, MessageForwarded, MessageReceived
from events.streams import conversation_stream
from mail.addresses import OwnAddresses, answer_address
from mail.forward_builder import build_forward
from mail.parsing import headers_only
from mail.tokens import message_thread_address
from observability import logger_for, metrics_for
from ports import BlobNotFound, Outgoing, Services

CONSUMER = Consumer.of("forward", f"{__name__}.handler", MessageReceived, sources=INBOUND_SOURCES, reserved_concurrency=2)
logger = logger_for("forward")
metrics = metrics_for("forward")
PRESIGNED_SECONDS = 7 * 24 * 3600


def forward_message_id(ses_message_id: str, domain: str) -> str:
    return f"<fwd.{ses_message_id}@{domain}>"


def forward_notes(event: MessageReceived, own: OwnAddresses) -> list[str]:
    """The lines above the original's headers: what the owner must know before answering."""
    v = event.verdicts
    failed = [f"{name} {status}" for name, status in (("SPF", v.spf), ("DKIM", v.dkim), ("DMARC", v.dmarc)) if status == "FAIL"]
    notes = []
    if failed:
        notes.append(
            f"WARNING: this mail failed authentication ({', '.join(failed)}); the sender may not be who it claims to be."
        )
    to = answer_address(event.reply_to, event.from_address, own)
    notes.append(
        f"Your reply goes to: {to}" if to else "Your reply cannot be sent: this mail names no address a reply may go to."
    )
    return notes


def handle(svc: Services, envelope: Envelope, _body: dict[str, Any]) -> None:
    event = CONSUMER.accepted(envelope)
    if event is None:
        return
    s = svc.settings
    message_id = forward_message_id(event.ses_message_id, s.domain)
    reply_to = message_thread_address(event.conversation_id, event.ses_message_id, svc.token_keys()[0], s.reply_domain)
    oversize: list[bool] = [False]

    def build() -> Outgoing:
        try:
            raw = svc.blobs.get(event.raw_key, event.bucket)
        except BlobNotFound:
            raw = headers_only([("From", event.from_address or ""), ("Subject", event.subject)])
        link = until = None
        if len(raw) > s.ses_max_bytes - 64 * 1024:
            oversize[0] = True
            # the mail states when the link stops working: the credentials may end it sooner than asked
            signed = svc.blobs.presigned_url(event.raw_key, PRESIGNED_SECONDS)
            link, until = signed.url, signed.expires_at.strftime("%Y-%m-%d %H:%M UTC")
        data = build_forward(
            raw,
            public_address=s.public_address,
            public_name=s.public_name,
            private_mailbox=s.private_mailbox,
            reply_to=reply_to,
            correspondent_name=event.from_name,
            correspondent_address=event.from_address,
            message_id=message_id,
            max_bytes=s.ses_max_bytes,
            raw_link=link,
            limits=s.mail_limits,
            top=forward_notes(event, s.own_addresses),
            raw_link_until=until,
        )
        return Outgoing("forward", s.public_address, [s.private_mailbox], data, event.subject, message_id, event.conversation_id)

    send_once(
        svc,
        envelope,
        kind="forward",
        conversation_id=event.conversation_id,
        build=build,
        stream_id=conversation_stream(event.conversation_id),
        sent=lambda **fields: MessageForwarded(**fields, oversize=oversize[0]),
    )


def invoke(svc: Services, event: dict[str, Any], context: Any) -> dict[str, Any]:
    return run_batch(svc, event, context, logger=logger, metrics=metrics, handle=handle, side_effects=CONSUMER.side_effects)


handler = lambda_handler(invoke, logger, metrics)
