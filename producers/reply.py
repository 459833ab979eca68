"""The reply Lambda: the owner's answer to a thread address becomes ``ReplyRouted``.

Accepted only when the token verifies, the envelope sender and ``From`` are the
private mailbox, and SES's SPF or DKIM verdict passes. Anything else is recorded
as ``ReplyRejected`` and never sent on: an unsigned or unchecked thread address
would let anyone mail the owner's contacts from the public domain.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from adapters.aws import AwsError, is_transient
from adapters.recorder import Plan
from adapters.wiring import Services, services
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
from mail.addresses import domain_of, local_part, normalise
from mail.commands import parse_commands
from mail.parsing import ParsedMail
from mail.tokens import verify
from producers.decide import conversation_stream
from producers.identity import strip_reply_prefix
from producers.inbound import Outcome, fetch_raw, parse_bounded
from producers.observability import logger_for, metrics_for
from producers.receipt import Receipt, receipts_of

logger = logger_for("reply")
metrics = metrics_for("reply")


@dataclass(frozen=True)
class ReplyContext:
    reply_domain: str
    private_mailbox: str
    keys: list[bytes]
    statuses: list[str]
    public_domain: str


def reply_message_id(ses_message_id: str, domain: str) -> str:
    return f"<reply.{ses_message_id}@{domain}>"


def rejected_stream(ses_message_id: str) -> str:
    return f"reply-rejected#{ses_message_id}"


def last_inbound(history: list[Envelope]) -> MessageReceived | None:
    inbound = [e.event for e in history if isinstance(e.event, MessageReceived) and not e.event.from_owner]
    return inbound[-1] if inbound else None


def authorise(mail: ParsedMail, receipt: Receipt, ctx: ReplyContext) -> tuple[str | None, str | None]:
    """(conversation id, None) when the reply may be routed, else (None, reason)."""
    thread = [r for r in receipt.recipients if domain_of(r) == ctx.reply_domain]
    if not thread:
        return None, f"no recipient on the reply domain {ctx.reply_domain}"
    conversation_id = next((c for c in (verify(local_part(r), ctx.keys) for r in thread) if c), None)
    if conversation_id is None:
        return None, f"thread token of {thread[0]} does not verify"
    if normalise(receipt.envelope_sender) != ctx.private_mailbox:
        return None, f"envelope sender {receipt.envelope_sender or '<>'} is not the owner's mailbox"
    if mail.from_address != ctx.private_mailbox:
        return None, f"From {mail.from_address} is not the owner's mailbox"
    if "PASS" not in (receipt.verdicts.spf, receipt.verdicts.dkim):
        return None, f"neither SPF ({receipt.verdicts.spf}) nor DKIM ({receipt.verdicts.dkim}) passed"
    return conversation_id, None


def decide_reply(mail: ParsedMail, receipt: Receipt, history: list[Envelope], ctx: ReplyContext, *, bucket: str,
                 raw_key: str) -> tuple[str, list[tuple[str, DomainEvent]], dict[str, str]]:
    """(outcome, planned events, message ids → conversation). Pure."""
    conversation_id, reason = authorise(mail, receipt, ctx)
    theirs = last_inbound(history) if conversation_id else None
    if conversation_id and theirs is None:
        reason = f"conversation {conversation_id} has no message from a correspondent to answer"
    if reason or conversation_id is None or theirs is None:
        event = ReplyRejected(ses_message_id=receipt.ses_message_id, reason=reason or "rejected", bucket=bucket,
                              raw_key=raw_key, from_address=mail.from_address, recipients=receipt.recipients)
        return "rejected", [(rejected_stream(receipt.ses_message_id), event)], {}
    parsed = parse_commands(mail.text)
    fields, status, unknown = {}, None, list(parsed.unknown)
    for name, value in parsed.commands:
        if name == "status":
            if value.lower() in ctx.statuses:
                status = value.lower()
            else:
                unknown.append(f"[STATUS: {value}] (allowed: {', '.join(ctx.statuses)})")
        else:
            fields[name] = value
    to = theirs.reply_to[:1] or ([theirs.from_address] if theirs.from_address else [])
    subject = f"Re: {strip_reply_prefix(theirs.subject) or strip_reply_prefix(mail.subject)}"
    references = [*theirs.references, *([theirs.message_id] if theirs.message_id else [])][-20:]
    stream = conversation_stream(conversation_id)
    send = bool(parsed.remaining_text)
    planned: list[tuple[str, DomainEvent]] = [(stream, ReplyRouted(
        conversation_id=conversation_id, ses_message_id=receipt.ses_message_id, bucket=bucket, raw_key=raw_key,
        to=to, subject=subject, in_reply_to=theirs.message_id, references=references, send=send and bool(to),
        commands=[ReplyCommand(name=n, value=v) for n, v in parsed.commands], unknown_commands=unknown,
        strip_lines=parsed.lines,
    ))]
    if fields:
        planned.append((stream, ConversationUpdated(conversation_id=conversation_id, fields=fields)))
    if status:
        planned.append((stream, ConversationStatusChanged(conversation_id=conversation_id, status=status,
                                                          note="set from a reply")))
    ids = {reply_message_id(receipt.ses_message_id, ctx.public_domain): conversation_id} if send else {}
    return ("accepted" if send else "annotated"), planned, ids


def process(svc: Services, receipt: Receipt) -> Outcome:
    raw, bucket, key, _missing = fetch_raw(svc, receipt)
    mail = parse_bounded(svc, raw, receipt)
    s = svc.settings
    ctx = ReplyContext(s.reply_domain, s.private_mailbox, svc.token_keys(), s.statuses, s.domain)
    outcomes: list[str] = []

    def plan() -> Plan:
        try:
            conversation_id, _ = authorise(mail, receipt, ctx)
            history = svc.store.read(conversation_stream(conversation_id)) if conversation_id else []
            outcome, events, ids = decide_reply(mail, receipt, history, ctx, bucket=bucket, raw_key=key)
        except Exception as exc:
            if isinstance(exc, AwsError) or is_transient(exc):
                raise  # the store could not be read: retry, the mail is not at fault
            logger.exception("reply decision failed; rejecting", ses_message_id=receipt.ses_message_id)
            outcome, events, ids = "rejected", [(rejected_stream(receipt.ses_message_id), ReplyRejected(
                ses_message_id=receipt.ses_message_id, reason=f"unparseable: {type(exc).__name__}: {exc}"[:400],
                bucket=bucket, raw_key=key, from_address=mail.from_address, recipients=receipt.recipients[:50],
            ))], {}
        outcomes.append(outcome)
        return Plan(events=events, message_ids=ids)

    commit = svc.recorder.record(plan, dedupe_key=f"message#{receipt.ses_message_id}",
                                 correlation_id=receipt.ses_message_id)
    types = [e.type for e in commit.envelopes]
    first = commit.envelopes[0].event if commit.envelopes else None
    reason = first.reason if isinstance(first, ReplyRejected) else None
    conversation = first.conversation_id if isinstance(first, ReplyRouted) else None
    outcome = "rejected" if isinstance(first, ReplyRejected) else "accepted"
    metrics.add_metric(name="RepliesRejected" if reason else "RepliesRouted", unit=MetricUnit.Count, value=1)
    (logger.warning if reason else logger.info)("reply decision", ses_message_id=receipt.ses_message_id,
                                                outcome=outcomes[-1] if outcomes else outcome, reason=reason,
                                                events=types)
    return Outcome(receipt.ses_message_id, outcome, reason, conversation, types, commit.duplicate)


@metrics.log_metrics
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    svc = services()
    return {"results": [process(svc, receipt).as_dict() for receipt in receipts_of(event)]}
