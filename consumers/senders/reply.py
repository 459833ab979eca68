"""The reply sender: ``ReplyRouted`` → the owner's answer, from the public address,
to the correspondent, with nothing that reveals the private mailbox or a thread token.

``build_reply`` rewrites text and HTML; a part it cannot rewrite that carries the
private mailbox or a thread address (an attachment, a calendar, a vCard, an attached
mail ...) holds the reply, and so does anything a last check finds in the exact bytes
about to be sent. A held reply is never sent: it is recorded (``ReplyHeld``, naming
the parts) and the owner gets a notice, so they can resend without them.
"""

from __future__ import annotations

from typing import Any

from bootstrap import lambda_handler
from consumers.declaration import Consumer
from consumers.queue_batch import run_batch
from consumers.senders.sending import send_once
from events import Envelope, ReplyDelivered, ReplyHeld, ReplyRouted
from events.catalogue import HeldPart
from events.streams import conversation_stream
from mail.leaks import Finding, Guard, PartsHeld
from mail.message_ids import reply_message_id
from mail.notice_builder import build_notice
from mail.reply_builder import build_reply
from observability import logger_for, metrics_for
from ports import Outgoing, Plan, Services

CONSUMER = Consumer.of(
    "reply", f"{__name__}.handler", ReplyRouted, sources=("crm.reply",), data={"send": [True]}, reserved_concurrency=2
)
logger = logger_for("reply-sender")
metrics = metrics_for("reply-sender")


def leak_guard(svc: Services, raw: bytes) -> Guard:
    """The secrets a reply must not carry: the private mailbox, any address on the reply
    domain, and the thread tokens the owner's mail itself names."""
    s = svc.settings
    guard = Guard(s.private_mailbox, reply_domain=s.reply_domain, allowed=sorted(s.accepted_addresses))
    return guard.with_tokens(guard.tokens_in(raw))


def handle(svc: Services, envelope: Envelope, _body: dict[str, Any]) -> None:
    event = CONSUMER.accepted(envelope)
    if event is None or not event.to:
        return
    if svc.store.recorded(f"sent#reply#{envelope.event_id}"):
        return  # sent or held already
    s = svc.settings
    message_id = reply_message_id(event.ses_message_id, s.domain)
    raw = svc.blobs.get(event.raw_key, event.bucket)
    guard = leak_guard(svc, raw)
    try:
        data = build_reply(
            raw,
            public_address=s.public_address,
            public_name=s.public_name,
            private_mailbox=s.private_mailbox,
            to=event.to,
            subject=event.subject,
            in_reply_to=event.in_reply_to,
            references=event.references,
            message_id=message_id,
            strip=event.strip_lines,
            limits=s.mail_limits,
            reply_domain=s.reply_domain,
            tokens=sorted(guard.tokens),
        )
        findings = guard.findings(data)  # the last check, on the exact bytes handed to the mailer
    except PartsHeld as held:
        findings = held.findings
    if findings:
        hold(svc, envelope, event, findings)
        return

    def build() -> Outgoing:
        return Outgoing("reply", s.public_address, event.to, data, event.subject, message_id, event.conversation_id)

    send_once(
        svc,
        envelope,
        kind="reply",
        conversation_id=event.conversation_id,
        build=build,
        stream_id=conversation_stream(event.conversation_id),
        sent=ReplyDelivered,
    )


def notice_text(event: ReplyRouted, findings: list[Finding]) -> str:
    lines = "\n".join(f"  - {f.describe()}" for f in findings[:50])
    more = f"\n  … and {len(findings) - 50} more" if len(findings) > 50 else ""
    return (
        f'Your reply to {", ".join(event.to)} about "{event.subject}" (conversation {event.conversation_id}) '
        "was NOT sent.\n\n"
        "These parts carry your private address or a thread address, which a correspondent must never "
        f"receive, and only text and HTML can be rewritten:\n\n{lines}{more}\n\n"
        "Send your reply again without them (or with the address taken out of them). Text and HTML "
        "need nothing: the address is replaced by the public one there.\n"
    )


def hold(svc: Services, envelope: Envelope, event: ReplyRouted, findings: list[Finding]) -> None:
    """Record the held reply and tell the owner; each step at most once under redelivery."""
    s = svc.settings
    stream = conversation_stream(event.conversation_id)
    notice_id = f"<held.{event.ses_message_id}@{s.domain}>"
    subject = f'Not sent: your reply "{event.subject}"'
    raw = build_notice(
        public_address=s.public_address,
        public_name=s.public_name,
        private_mailbox=s.private_mailbox,
        subject=subject,
        text=notice_text(event, findings),
        message_id=notice_id,
    )
    send_once(
        svc,
        envelope,
        kind="notice:reply-held",
        conversation_id=event.conversation_id,
        stream_id=stream,
        build=lambda: Outgoing("notice", s.public_address, [s.private_mailbox], raw, subject, notice_id, event.conversation_id),
    )
    parts = [
        HeldPart(part=f.part, content_type=f.content_type, filename=f.filename, where=f.where, what=f.what)
        for f in findings[:100]
    ]
    reason = "; ".join(f.describe() for f in findings[:5])[:1000]
    held = ReplyHeld(
        conversation_id=event.conversation_id,
        cause_event_id=envelope.event_id,
        to=event.to,
        subject=event.subject,
        parts=parts,
        reason=reason,
        notice_message_id=notice_id,
    )
    svc.recorder.record(
        Plan(events=[(stream, held)]),
        dedupe_key=f"sent#reply#{envelope.event_id}",
        correlation_id=envelope.meta.correlation_id,
        causation_id=envelope.event_id,
    )
    logger.warning("reply held", conversation_id=event.conversation_id, parts=len(findings), reason=reason)


def invoke(svc: Services, event: dict[str, Any], context: Any) -> dict[str, Any]:
    return run_batch(svc, event, context, logger=logger, metrics=metrics, handle=handle, side_effects=CONSUMER.side_effects)


handler = lambda_handler(invoke, logger, metrics)
