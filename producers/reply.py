"""The reply Lambda: the owner's answer to a thread address becomes ``ReplyRouted``.

A reply is sent on only when (in this order) it is provably the owner's
(:mod:`producers.reply_policy`: one From, the private mailbox, the envelope sender
too, DMARC or aligned SPF/DKIM), it is not automatic (a vacation reply, anything
RFC 3834 marks: :mod:`producers.loops`), its thread token verifies and names the
forwarded message it answers, that message has a correspondent address we may
write to, and the reply has something to say. Anything else is ``ReplyRejected``
with its reason; when the owner's own mail went nowhere, ``notify_owner`` asks for
a notice so the owner knows.

The reply goes to the correspondent *of the message answered*, as recorded when it
was accepted (its Reply-To, else its From), never to whoever wrote last: anyone can
join a conversation (a forged From, a stranger quoting a Message-ID, our own
bounced acknowledgement), and none of them may receive the owner's answer.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import msgspec
from aws_lambda_powertools.metrics import MetricUnit

from bootstrap import lambda_handler
from events import (
    ConversationStatusChanged,
    ConversationUpdated,
    DomainEvent,
    Envelope,
    MessageReceived,
    ReplyRejected,
    ReplyRouted,
)
from events.catalogue import ReplyCommand
from events.streams import conversation_stream
from events.streams import reply_rejected_stream as rejected_stream
from mail.addresses import OwnAddresses, answer_address, domain_of, local_part
from mail.commands import parse_commands
from mail.message_ids import reply_message_id
from mail.parsing import ParsedMail
from mail.subjects import strip_reply_prefix
from mail.tokens import conversation_of, resolve
from observability import logger_for, metrics_for
from ports import Commit, Decision, Services
from producers.decision_keys import key_for
from producers.inbound import Outcome, fetch_raw, parse_bounded
from producers.loops import suppression_reason
from producers.receipt import Receipt, receipts_of
from producers.reply_policy import authenticate

logger = logger_for("reply")
metrics = metrics_for("reply")

MAX_THREAD_RECIPIENTS = 5  # a reply names one thread address; more is tried, not read without bound
_OPAQUE_TYPES = {"application/pkcs7-mime", "application/x-pkcs7-mime", "multipart/encrypted"}


class ReplyContext(msgspec.Struct, frozen=True):
    reply_domain: str
    private_mailbox: str
    keys: list[bytes]
    statuses: list[str]
    public_domain: str
    own: OwnAddresses = msgspec.field(default_factory=lambda: OwnAddresses.of([], []))


class Rejection(msgspec.Struct, frozen=True):
    code: str
    reason: str
    notify_owner: bool = False
    conversation_id: str | None = None


def thread_recipients(receipt: Receipt, ctx: ReplyContext) -> list[str]:
    return [r for r in receipt.recipients if domain_of(r) == ctx.reply_domain][:MAX_THREAD_RECIPIENTS]


def received_messages(history: Sequence[Envelope]) -> list[MessageReceived]:
    return [e.event for e in history if isinstance(e.event, MessageReceived)]


def answered_message(
    thread: list[str], history_of: Callable[[str], Sequence[Envelope]], ctx: ReplyContext
) -> MessageReceived | Rejection:
    """The message the owner answered, named by the first thread address that verifies."""
    for recipient in thread:
        token = local_part(recipient)
        conversation_id = conversation_of(token)
        if conversation_id is None:
            continue
        messages = received_messages(history_of(conversation_id))
        ref = resolve(token, ctx.keys, [m.ses_message_id for m in messages])
        if ref is None:
            continue
        if ref.message_ref is not None:
            return next(m for m in messages if m.ses_message_id == ref.message_ref)
        return _legacy_answer(conversation_id, messages, ctx)
    return Rejection("token", f"thread token of {thread[0]} does not verify", notify_owner=True)


def _legacy_answer(conversation_id: str, messages: list[MessageReceived], ctx: ReplyContext) -> MessageReceived | Rejection:
    """A conversation-only token (forwarded before tokens named the message): it may
    stand for the conversation only when one correspondent address could be meant."""
    theirs = [m for m in messages if not m.from_owner]
    answers = {a for a in (answer_address(m.reply_to, m.from_address, ctx.own) for m in theirs) if a}
    if len(answers) == 1:
        (only,) = answers
        return [m for m in theirs if answer_address(m.reply_to, m.from_address, ctx.own) == only][-1]
    if not answers:
        return Rejection(
            "no-recipient",
            f"conversation {conversation_id} has no message from a correspondent to answer",
            notify_owner=True,
            conversation_id=conversation_id,
        )
    return Rejection(
        "ambiguous",
        f"this thread address names conversation {conversation_id} but not the message "
        f"answered, and {len(answers)} addresses wrote in it ({', '.join(sorted(answers))}): "
        "answer from the forwarded copy of the message you mean",
        notify_owner=True,
        conversation_id=conversation_id,
    )


def nothing_to_send(mail: ParsedMail) -> str:
    opaque = mail.content_type in _OPAQUE_TYPES or any(a.content_type in _OPAQUE_TYPES for a in mail.attachments)
    if opaque:
        return (
            "the reply is encrypted or opaque-signed (S/MIME or PGP), so its text cannot be read and nothing "
            "was sent: send it again without encryption or opaque signing"
        )
    if mail.attachments:
        names = ", ".join(a.filename for a in mail.attachments[:5])
        return f"the reply has no text, only attachments ({names}), so nothing was sent: add a line and send it again"
    return "the reply is empty, so nothing was sent"


def _rejected(mail: ParsedMail, receipt: Receipt, rejection: Rejection, *, bucket: str, raw_key: str) -> Decision:
    event = ReplyRejected(
        ses_message_id=receipt.ses_message_id,
        reason=rejection.reason,
        bucket=bucket,
        raw_key=raw_key,
        from_address=mail.from_address,
        recipients=receipt.recipients,
        code=rejection.code,
        conversation_id=rejection.conversation_id,
        subject=mail.subject[:500],
        notify_owner=rejection.notify_owner,
    )
    return Decision(
        events=[(rejected_stream(receipt.ses_message_id), event)],
        outcome="rejected",
        reason=rejection.reason,
        conversation_id=rejection.conversation_id,
    )


def decide_reply(
    mail: ParsedMail,
    receipt: Receipt,
    history_of: Callable[[str], Sequence[Envelope]],
    ctx: ReplyContext,
    *,
    bucket: str,
    raw_key: str,
) -> Decision:
    """The owner's reply decided: accepted (sent), annotated (commands only) or rejected.
    ``history_of`` reads a conversation's events; it is called only once the owner is
    authenticated."""

    def reject(rejection: Rejection) -> Decision:
        return _rejected(mail, receipt, rejection, bucket=bucket, raw_key=raw_key)

    thread = thread_recipients(receipt, ctx)
    if not thread:
        return reject(Rejection("token", f"no recipient on the reply domain {ctx.reply_domain}"))
    problem = authenticate(mail, receipt, ctx.private_mailbox)
    if problem:
        return reject(Rejection("unauthenticated", problem))
    automatic = suppression_reason(mail, envelope_sender=receipt.envelope_sender, ack_to=ctx.private_mailbox)
    if automatic:
        # a vacation reply to a thread address must never reach the correspondent,
        # and a notice would only answer the owner's auto-responder
        return reject(Rejection("automatic", f"automatic mail from the owner's mailbox ({automatic})"))
    theirs = answered_message(thread, history_of, ctx)
    if isinstance(theirs, Rejection):
        return reject(theirs)
    conversation_id = theirs.conversation_id
    to = answer_address(theirs.reply_to, theirs.from_address, ctx.own)
    if to is None:
        tried = ", ".join([*theirs.reply_to, *([theirs.from_address] if theirs.from_address else [])]) or "none"
        return reject(
            Rejection(
                "no-recipient",
                f"the message answered ({theirs.subject!r}) has no address a reply "
                f"may go to (Reply-To/From: {tried}: our own or a mail daemon)",
                notify_owner=True,
                conversation_id=conversation_id,
            )
        )
    parsed = parse_commands(mail.text)
    if not parsed.remaining_text and not parsed.commands:
        return reject(Rejection("nothing-to-send", nothing_to_send(mail), notify_owner=True, conversation_id=conversation_id))
    fields, status, unknown = {}, None, list(parsed.unknown)
    for name, value in parsed.commands:
        if name == "status":
            if value.lower() in ctx.statuses:
                status = value.lower()
            else:
                unknown.append(f"[STATUS: {value}] (allowed: {', '.join(ctx.statuses)})")
        else:
            fields[name] = value
    subject = f"Re: {strip_reply_prefix(theirs.subject) or strip_reply_prefix(mail.subject)}"
    references = [*theirs.references, *([theirs.message_id] if theirs.message_id else [])][-20:]
    stream = conversation_stream(conversation_id)
    send = bool(parsed.remaining_text)
    planned: list[tuple[str, DomainEvent]] = [
        (
            stream,
            ReplyRouted(
                conversation_id=conversation_id,
                ses_message_id=receipt.ses_message_id,
                bucket=bucket,
                raw_key=raw_key,
                to=[to],
                subject=subject,
                in_reply_to=theirs.message_id,
                references=references,
                send=send,
                commands=[ReplyCommand(name=n, value=v) for n, v in parsed.commands],
                unknown_commands=unknown,
                strip_lines=parsed.lines,
                unsent_attachments=[] if send else [a.filename for a in mail.attachments[:20]],
            ),
        )
    ]
    if fields:
        planned.append((stream, ConversationUpdated(conversation_id=conversation_id, fields=fields)))
    if status:
        planned.append(
            (stream, ConversationStatusChanged(conversation_id=conversation_id, status=status, note="set from a reply"))
        )
    ids = {reply_message_id(receipt.ses_message_id, ctx.public_domain): conversation_id} if send else {}
    return Decision(events=planned, message_ids=ids, outcome="accepted" if send else "annotated", conversation_id=conversation_id)


def process(svc: Services, receipt: Receipt) -> Outcome:
    raw, bucket, key, _missing = fetch_raw(svc, receipt)
    mail = parse_bounded(svc, raw, receipt)
    s = svc.settings
    ctx = ReplyContext(s.reply_domain, s.private_mailbox, svc.token_keys(), s.statuses, s.domain, s.own_addresses)
    decisions: list[Decision] = []

    def plan() -> Decision:
        try:
            decision = decide_reply(
                mail, receipt, lambda c: svc.store.read(conversation_stream(c)), ctx, bucket=bucket, raw_key=key
            )
        except Exception as exc:
            if svc.is_infrastructure_error(exc):
                raise  # the store could not be read: retry, the mail is not at fault
            logger.exception("reply decision failed; rejecting", ses_message_id=receipt.ses_message_id)
            reason = f"unparseable: {type(exc).__name__}: {exc}"[:400]
            decision = Decision(
                events=[
                    (
                        rejected_stream(receipt.ses_message_id),
                        ReplyRejected(
                            ses_message_id=receipt.ses_message_id,
                            reason=reason,
                            bucket=bucket,
                            raw_key=key,
                            from_address=mail.from_address,
                            recipients=receipt.recipients[:50],
                        ),
                    )
                ],
                outcome="rejected",
                reason=reason,
            )
        decisions.append(decision)
        return decision

    commit = svc.recorder.record(
        plan, dedupe_key=key_for(svc.store, "reply", receipt.ses_message_id), correlation_id=receipt.ses_message_id
    )
    types = [e.type for e in commit.envelopes]
    decision = decisions[-1] if decisions and not commit.duplicate else recorded(commit)
    outcome, reason, conversation = decision.outcome, decision.reason, decision.conversation_id
    metrics.add_metric(name="RepliesRejected" if reason else "RepliesRouted", unit=MetricUnit.Count, value=1)
    (logger.warning if reason else logger.info)(
        "reply decision", ses_message_id=receipt.ses_message_id, outcome=outcome, reason=reason, events=types
    )
    return Outcome(receipt.ses_message_id, outcome, reason, conversation, types, commit.duplicate)


def recorded(commit: Commit) -> Decision:
    """The decision a duplicate delivery reports: the one recorded the first time."""
    first = commit.envelopes[0].event if commit.envelopes else None
    if isinstance(first, ReplyRejected):
        return Decision(events=[], outcome="rejected", reason=first.reason, conversation_id=first.conversation_id)
    if isinstance(first, ReplyRouted):
        return Decision(events=[], outcome="accepted" if first.send else "annotated", conversation_id=first.conversation_id)
    return Decision(events=[], outcome="accepted")


def invoke(svc: Services, event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"results": [process(svc, receipt).as_dict() for receipt in receipts_of(event)]}


handler = lambda_handler(invoke, logger, metrics)
