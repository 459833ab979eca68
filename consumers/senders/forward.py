"""The forward sender: ``MessageReceived`` → the copy in the owner's private mailbox,
with ``Reply-To`` on the signed thread address."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from adapters.blobs import BlobNotFound
from adapters.wiring import Services
from consumers.queue_batch import run_batch
from consumers.senders.sending import Outgoing, send_once
from events import Envelope, MessageForwarded, MessageReceived
from mail.compose import build_forward
from mail.parsing import headers_only
from mail.tokens import thread_address
from producers.decide import conversation_stream
from producers.observability import logger_for, metrics_for

logger = logger_for("forward")
metrics = metrics_for("forward")
PRESIGNED_SECONDS = 7 * 24 * 3600


def forward_message_id(ses_message_id: str, domain: str) -> str:
    return f"<fwd.{ses_message_id}@{domain}>"


def handle(svc: Services, envelope: Envelope, _body: dict[str, Any]) -> None:
    event = envelope.event
    if not isinstance(event, MessageReceived):
        return
    s = svc.settings
    message_id = forward_message_id(event.ses_message_id, s.domain)
    reply_to = thread_address(event.conversation_id, svc.token_keys()[0], s.reply_domain)
    oversize: list[bool] = [False]

    def build() -> Outgoing:
        try:
            raw = svc.blobs.get(event.raw_key, event.bucket)
        except BlobNotFound:
            raw = headers_only([("From", event.from_address or ""), ("Subject", event.subject)])
        link = None
        if len(raw) > s.ses_max_bytes - 64 * 1024:
            oversize[0] = True
            link = svc.blobs.presigned_url(event.raw_key, PRESIGNED_SECONDS)
        data = build_forward(raw, public_address=s.public_address, public_name=s.public_name,
                             private_mailbox=s.private_mailbox, reply_to=reply_to,
                             correspondent_name=event.from_name, correspondent_address=event.from_address,
                             message_id=message_id, max_bytes=s.ses_max_bytes, raw_link=link,
                             limits=s.mail_limits)
        return Outgoing("forward", s.public_address, [s.private_mailbox], data, event.subject, message_id,
                        event.conversation_id)

    send_once(svc, envelope, kind="forward", conversation_id=event.conversation_id, build=build,
              stream_id=conversation_stream(event.conversation_id),
              sent_event=lambda r: MessageForwarded(conversation_id=event.conversation_id,
                                                    cause_event_id=envelope.event_id, to=r["to"],
                                                    subject=r["subject"], outbound_message_id=message_id,
                                                    ses_message_id=r["ses_message_id"], oversize=oversize[0]))


@metrics.log_metrics
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return run_batch(event, context, logger=logger, metrics=metrics, handle=handle, side_effects=True)
