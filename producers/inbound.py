"""The inbound Lambda: SES receipt in, one recorded decision out per mail.

parse → spam stages → conversation → commit (event store) → publish (bus).
"""

from __future__ import annotations

from typing import Any

import msgspec
from aws_lambda_powertools.metrics import MetricUnit

from bootstrap import lambda_handler
from events import FirstContact, MessageReceived, SpamRejected
from mail.parsing import ParsedMail, headers_only, parse
from observability import logger_for, metrics_for
from ports import BlobNotFound, Commit, Decision, Services
from producers.decide import Inbound, Policy, decide, lookups, unparseable
from producers.decision_keys import key_for, legacy_key
from producers.receipt import INBOX_PREFIX, Receipt, receipts_of
from producers.spam_config import load_patterns

logger = logger_for("inbound")
metrics = metrics_for("inbound")


class Outcome(msgspec.Struct, frozen=True):
    ses_message_id: str
    outcome: str
    reason: str | None
    conversation_id: str | None
    events: list[str] = msgspec.field(default_factory=list)
    duplicate: bool = False

    def as_dict(self) -> dict[str, Any]:
        return {
            "ses_message_id": self.ses_message_id,
            "outcome": self.outcome,
            "reason": self.reason,
            "conversation_id": self.conversation_id,
            "events": self.events,
            "duplicate": self.duplicate,
        }


def policy_of(svc: Services) -> Policy:
    s = svc.settings
    return Policy(
        accepted_addresses=s.accepted_addresses,
        private_mailbox=s.private_mailbox,
        relay_domains=s.relay_domains,
        public_domain=s.domain,
        spam_threshold=s.spam_threshold,
        reply_domain=s.reply_domain,
        ack_cap_per_hour=s.ack_cap_per_hour,
    )


def fetch_raw(svc: Services, receipt: Receipt) -> tuple[bytes, str, str, list[str]]:
    """The raw mail, its bucket and key; headers alone (and a defect) if it is gone."""
    bucket = receipt.bucket or svc.settings.bucket
    key = receipt.object_key or f"{INBOX_PREFIX}{receipt.ses_message_id}"
    try:
        return svc.blobs.get(key, bucket), bucket, key, []
    except BlobNotFound:
        logger.warning("raw mail not in S3; recording from the SES headers", bucket=bucket, key=key)
        return headers_only(receipt.headers), bucket, key, [f"raw mail not found at s3://{bucket}/{key}"]


def parse_bounded(svc: Services, raw: bytes, receipt: Receipt) -> ParsedMail:
    """The mail within the configured limits; should the parser still fail, the SES
    headers alone, with the error as a defect: the decision goes on either way."""
    try:
        return parse(raw, scan_bytes=svc.settings.scan_kb * 1024, limits=svc.settings.mail_limits)
    except Exception as exc:
        logger.exception("mail did not parse; deciding on the SES headers", ses_message_id=receipt.ses_message_id)
        mail = parse(headers_only(receipt.headers), scan_bytes=1024)
        return msgspec.structs.replace(mail, defects=[f"unparseable: {type(exc).__name__}: {exc}"[:200], *mail.defects])


def recorded(commit: Commit) -> Decision:
    """The decision a duplicate delivery reports: the one recorded the first time (the
    decision made now may differ, the patterns may have changed since)."""
    for envelope in commit.envelopes:
        event = envelope.event
        if isinstance(event, SpamRejected):
            return Decision(events=[], outcome="rejected", reason=event.reason)
        if isinstance(event, MessageReceived):
            return Decision(events=[], outcome="accepted", conversation_id=event.conversation_id)
    return Decision(events=[], outcome="accepted")


def assume_new_conversation(decision: Decision) -> Decision:
    """A first mail of a new correspondent that names no earlier message opens its
    conversation: its stream is taken as new, so the commit reads no stream head. Where
    the stream exists after all, the commit conflicts and the retried plan (which makes
    no such guess) reads it."""
    if not any(isinstance(event, FirstContact) for _stream, event in decision.events):
        return decision
    opened = {stream for stream, event in decision.events if isinstance(event, MessageReceived)}
    return msgspec.structs.replace(decision, first_in_stream=decision.first_in_stream | opened)


def process(svc: Services, receipt: Receipt, *, skip_spam: bool = False, dedupe_key: str | None = None) -> Outcome:
    raw, bucket, key, missing = fetch_raw(svc, receipt)
    mail = parse_bounded(svc, raw, receipt)
    if missing:
        mail = msgspec.structs.replace(mail, defects=[*missing, *mail.defects])
    patterns = load_patterns(
        svc.parameters,
        svc.settings.patterns_parameter,
        ttl_seconds=svc.settings.patterns_ttl_seconds,
        match_limit=svc.settings.match_limit,
        logger=logger,
        metrics=metrics,
        blobs=svc.blobs,
    )
    decisions: list[Decision] = []
    policy = policy_of(svc)
    wanted = lookups(mail, policy)
    # everything the decision and its dedupe key may ask, in one read; a retried plan
    # (a stream taken by another writer meanwhile) reads the store afresh
    snapshots = [
        svc.store.snapshot(
            keys=[] if dedupe_key else [(legacy_key(receipt.ses_message_id), 0)],
            message_ids=wanted.message_ids,
            contacts=wanted.contacts,
            addresses=wanted.addresses,
        )
    ]
    first_read = snapshots[0]

    def plan() -> Decision:
        first = bool(snapshots)
        knowledge = snapshots.pop() if snapshots else svc.store
        try:
            inbound = Inbound(mail, receipt, bucket, key, skip_spam)
            decision = decide(inbound, policy=policy, patterns=patterns, knowledge=knowledge)
            if first and not wanted.message_ids:
                decision = assume_new_conversation(decision)
        except Exception as exc:
            if svc.is_infrastructure_error(exc):
                raise  # the store could not be read: retry, the mail is not at fault
            logger.exception("decision failed; quarantining", ses_message_id=receipt.ses_message_id)
            decision = unparseable(receipt, bucket=bucket, raw_key=key, error=exc, mail=mail)
        decisions.append(decision)
        if decision.quarantine_key:
            # copy first: the event that points at quarantine/ is only written once the copy exists
            svc.blobs.copy(key, decision.quarantine_key, source_bucket=bucket)
        return decision

    commit = svc.recorder.record(
        plan,
        dedupe_key=dedupe_key or key_for(first_read, "inbound", receipt.ses_message_id),
        correlation_id=receipt.ses_message_id,
    )
    decision = decisions[-1] if decisions and not commit.duplicate else recorded(commit)
    types = [e.type for e in commit.envelopes]
    outcome, reason, conversation = decision.outcome, decision.reason, decision.conversation_id
    metrics.add_metric(name="MailAccepted" if outcome == "accepted" else "MailRejected", unit=MetricUnit.Count, value=1)
    if any(isinstance(e.event, FirstContact) for e in commit.envelopes):
        metrics.add_metric(name="FirstContacts", unit=MetricUnit.Count, value=1)
    logger.info(
        "inbound decision",
        ses_message_id=receipt.ses_message_id,
        outcome=outcome,
        reason=reason,
        conversation_id=conversation,
        events=types,
        duplicate=commit.duplicate,
    )
    return Outcome(receipt.ses_message_id, outcome, reason, conversation, types, commit.duplicate)


def invoke(svc: Services, event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"results": [process(svc, receipt).as_dict() for receipt in receipts_of(event)]}


handler = lambda_handler(invoke, logger, metrics)
