"""The reply sender: ``ReplyRouted`` → the owner's answer, from the public address,
to the correspondent, with nothing that reveals the private mailbox."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from adapters.wiring import Services
from consumers.queue_batch import run_batch
from consumers.senders.sending import Outgoing, send_once
from events import Envelope, ReplyDelivered, ReplyRouted
from mail.compose import build_reply
from producers.decide import conversation_stream
from producers.observability import logger_for, metrics_for
from producers.reply import reply_message_id

logger = logger_for("reply-sender")
metrics = metrics_for("reply-sender")


def handle(svc: Services, envelope: Envelope, _body: dict[str, Any]) -> None:
    event = envelope.event
    if not isinstance(event, ReplyRouted) or not event.send or not event.to:
        return
    s = svc.settings
    message_id = reply_message_id(event.ses_message_id, s.domain)

    def build() -> Outgoing:
        raw = svc.blobs.get(event.raw_key, event.bucket)
        data = build_reply(raw, public_address=s.public_address, public_name=s.public_name,
                           private_mailbox=s.private_mailbox, to=event.to, subject=event.subject,
                           in_reply_to=event.in_reply_to, references=event.references, message_id=message_id,
                           strip=event.strip_lines, limits=s.mail_limits)
        return Outgoing("reply", s.public_address, event.to, data, event.subject, message_id, event.conversation_id)

    send_once(svc, envelope, kind="reply", conversation_id=event.conversation_id, build=build,
              stream_id=conversation_stream(event.conversation_id),
              sent_event=lambda r: ReplyDelivered(conversation_id=event.conversation_id,
                                                  cause_event_id=envelope.event_id, to=r["to"], subject=r["subject"],
                                                  outbound_message_id=message_id,
                                                  ses_message_id=r["ses_message_id"]))


@metrics.log_metrics
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return run_batch(event, context, logger=logger, metrics=metrics, handle=handle, side_effects=True)
