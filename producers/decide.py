"""The inbound decision: one mail in, exactly one outcome out. Pure.

Stages run in order and the first that rejects decides: SES verdicts, envelope
recipients, PCRE2 patterns. An accepted mail becomes ``MessageReceived`` on its
conversation stream, plus ``FirstContact`` as the first event of the contact stream
when the correspondent is new.
"""

from __future__ import annotations

from typing import Any, Protocol

import msgspec

from events import DomainEvent, FirstContact, MessageReceived, SpamRejected
from events.catalogue import AttachmentInfo, RuleScore
from events.streams import contact_stream, conversation_stream, quarantine_stream
from mail.addresses import OwnAddresses, normalise
from mail.message_ids import ack_message_id
from mail.parsing import ParsedMail
from ports import Decision
from producers import identity
from producers.ack_policy import ack_refusal
from producers.ack_quota import Slot, hour_of, quota_stream, take_slot
from producers.loops import suppression_reason
from producers.patterns import DEFAULT_THRESHOLD, CompiledPatterns, Verdict, score_texts
from producers.receipt import QUARANTINE_PREFIX, Receipt
from producers.spam_texts import MailTexts


class Policy(msgspec.Struct, frozen=True):
    """The part of the settings the decision reads."""

    accepted_addresses: frozenset[str]
    private_mailbox: str
    relay_domains: list[str]
    public_domain: str
    spam_threshold: float = DEFAULT_THRESHOLD
    reply_domain: str = ""
    ack_cap_per_hour: int = 100


class Knowledge(Protocol):
    """What the decision may look up (the event store, behind the handler)."""

    def conversation_for(self, message_ids: list[str]) -> str | None: ...

    def contact_known(self, contact: str) -> bool: ...

    def address_suppressed(self, address: str) -> str | None: ...

    def last_version(self, stream_id: str) -> int: ...


class Inbound(msgspec.Struct, frozen=True):
    """What the inbound decision is about: the mail, its receipt and where the raw mail is."""

    mail: ParsedMail
    receipt: Receipt
    bucket: str
    raw_key: str
    skip_spam: bool = False  # a release from quarantine: the spam stages already spoke


def _quarantined(event: SpamRejected) -> Decision:
    return Decision(
        events=[(quarantine_stream(event.ses_message_id), event)],
        outcome="rejected",
        reason=event.reason,
        quarantine_key=event.quarantine_key,
    )


def own_addresses(policy: Policy) -> OwnAddresses:
    # every address on the public domain is ours too: an ack there would only loop back
    return OwnAddresses.of([*policy.accepted_addresses, policy.private_mailbox], [policy.public_domain, policy.reply_domain])


def verdict_stage(receipt: Receipt) -> str | None:
    v = receipt.verdicts
    if v.virus == "FAIL":
        return "SES virus verdict FAIL"
    if v.spam == "FAIL":
        return "SES spam verdict FAIL"
    if v.dmarc == "FAIL" and (v.dmarc_policy or "").lower() == "reject":
        return "DMARC FAIL with the sender's policy p=reject"
    return None


def recipient_stage(receipt: Receipt, accepted: frozenset[str]) -> str | None:
    recipients = [normalise(r) for r in receipt.recipients]
    if any(r in accepted for r in recipients):
        return None
    shown = ", ".join(recipients) or "(none)"
    return f"recipient {shown} is not a public address of this system"


def pattern_stage(mail: ParsedMail, patterns: CompiledPatterns, threshold: float = DEFAULT_THRESHOLD) -> Verdict:
    """Every rule over the mail; the verdict says whether their scores reach the threshold."""
    return score_texts(patterns, MailTexts(mail), threshold=threshold)


def pattern_reason(verdict: Verdict) -> str:
    sure = verdict.sure
    if sure is not None:
        where = f" the {sure.field}" if sure.field else ""
        return f"pattern {sure.id!r} matched{where}: {sure.excerpt!r}"
    shown = ", ".join(f"{h.id} {h.score:+g}" for h in verdict.hits[:8] if h.score is not None)
    more = f" and {len(verdict.hits) - 8} more" if len(verdict.hits) > 8 else ""
    return f"pattern score {verdict.total:g} ≥ threshold {verdict.threshold:g}: {shown}{more}"


def _rejection_details(verdict: Verdict) -> dict[str, Any]:
    rules = [
        RuleScore(id=h.id[:100], score=h.score, field=h.field, describe=h.describe[:120])
        for h in verdict.hits[: SpamRejected.MAX_RULES]
    ]
    deciding = verdict.sure or (verdict.hits[0] if verdict.hits else None)
    return {
        "pattern_id": deciding.id[:100] if deciding else None,
        "score": verdict.total,
        "threshold": verdict.threshold,
        "rules": rules,
        "rules_total": len(verdict.hits),
    }


def _short(value: str | None, limit: int = 200) -> str | None:
    return value[:limit] if value else value


class Lookups(msgspec.Struct, frozen=True):
    """What the decision of one mail may ask the store: read together, in one request."""

    message_ids: list[str]
    contacts: list[str]
    addresses: list[str]


# a hostile References header can name thousands: the first ones read together, the rest one by one
LOOKUP_MESSAGE_IDS = 20


def _correspondent(mail: ParsedMail, policy: Policy) -> tuple[identity.Identity, list[str], str | None]:
    """(who wrote, the Message-IDs that may name the conversation, newest first, where an ack would go)."""
    who = identity.identify(mail.from_address, mail.from_name, relay_domains=policy.relay_domains, owner=policy.private_mailbox)
    known_ids = [i for i in [mail.in_reply_to, *reversed(mail.references)] if i]
    ack_to = next((a for a in mail.reply_to if a), None) or mail.from_address
    return who, known_ids, ack_to


def lookups(mail: ParsedMail, policy: Policy) -> Lookups:
    who, known_ids, ack_to = _correspondent(mail, policy)
    return Lookups(known_ids[:LOOKUP_MESSAGE_IDS], [who.contact], [ack_to] if ack_to else [])


def decide(inbound: Inbound, *, policy: Policy, patterns: CompiledPatterns, knowledge: Knowledge) -> Decision:
    mail, receipt, bucket, raw_key, skip_spam = (
        inbound.mail,
        inbound.receipt,
        inbound.bucket,
        inbound.raw_key,
        inbound.skip_spam,
    )
    if not skip_spam:
        rejection: tuple[str, str, dict[str, Any]] | None = None
        reason = verdict_stage(receipt)
        if reason:
            rejection = ("verdicts", reason, {})
        elif reason := recipient_stage(receipt, policy.accepted_addresses):
            rejection = ("recipients", reason, {})
        elif (verdict := pattern_stage(mail, patterns, policy.spam_threshold)).spam:
            rejection = ("patterns", pattern_reason(verdict), _rejection_details(verdict))
        if rejection:
            stage, reason, details = rejection
            quarantine_key = f"{QUARANTINE_PREFIX}{receipt.ses_message_id}"
            event = SpamRejected(
                ses_message_id=receipt.ses_message_id,
                stage=stage,
                reason=reason,
                **details,
                bucket=bucket,
                raw_key=raw_key,
                quarantine_key=quarantine_key,
                from_address=mail.from_address,
                envelope_sender=receipt.envelope_sender,
                verdicts=receipt.verdicts,
                subject=mail.subject[:500],
                recipients=receipt.recipients,
                received_at=receipt.timestamp,
            )
            return _quarantined(event)

    from_owner = mail.from_address == policy.private_mailbox
    who, known_ids, ack_to = _correspondent(mail, policy)
    conversation_id = (knowledge.conversation_for(known_ids) if known_ids else None) or who.conversation_id
    suppressed = suppression_reason(mail, envelope_sender=receipt.envelope_sender, ack_to=ack_to)
    if suppressed is None:
        suppressed = ack_refusal(
            mail, verdicts=receipt.verdicts, envelope_sender=receipt.envelope_sender, ack_to=ack_to, own=own_addresses(policy)
        )
    if suppressed is None and ack_to:
        suppressed = knowledge.address_suppressed(ack_to)
    new_contact = not from_owner and not knowledge.contact_known(who.contact)
    slot: Slot | None = None
    if new_contact and suppressed is None:
        hour = hour_of(receipt.timestamp)
        taken = take_slot(
            taken=knowledge.last_version(quota_stream(hour)),
            cap=policy.ack_cap_per_hour,
            hour=hour,
            contact=who.contact,
            conversation_id=conversation_id,
            ses_message_id=receipt.ses_message_id,
        )
        slot, suppressed = (taken, None) if isinstance(taken, Slot) else (None, taken)

    received = MessageReceived(
        conversation_id=conversation_id,
        ses_message_id=receipt.ses_message_id,
        message_id=mail.message_id,
        bucket=bucket,
        raw_key=raw_key,
        received_at=receipt.timestamp,
        from_address=mail.from_address,
        from_name=who.name[:200] if who.name else None,
        reply_to=mail.reply_to[:10],
        to=mail.to[:50],
        cc=mail.cc[:50],
        recipients=receipt.recipients[:50],
        subject=mail.subject[:500],
        date=mail.date,
        in_reply_to=mail.in_reply_to,
        references=mail.references,
        verdicts=receipt.verdicts,
        defects=mail.defects,
        attachments=[
            AttachmentInfo(filename=a.filename[:200], content_type=a.content_type, size=a.size, part=a.part)
            for a in mail.attachments[:100]
        ],
        attachment_count=len(mail.attachments),
        size=mail.size,
        contact=who.contact,
        contact_name=_short(who.name),
        company=None
        if from_owner
        else _short(identity.extract_company(mail.subject, mail.text, mail.from_address, policy.relay_domains)),
        title=None if from_owner else _short(identity.extract_role(mail.subject, mail.text)),
        source_channel=identity.channel_for(who, mail.text),
        auto_reply_reason=suppressed,
        from_owner=from_owner,
        preview=mail.text[:300],
        released=skip_spam,
    )
    events: list[tuple[str, DomainEvent]] = [(conversation_stream(conversation_id), received)]
    # Message-IDs that will identify this conversation in later replies
    message_ids = [i for i in [mail.message_id] if i]
    # stream → the version its first event must follow (the hourly ack quota)
    expected: dict[str, int] = {}
    first_in_stream: frozenset[str] = frozenset()
    if new_contact:
        first_in_stream = frozenset([contact_stream(who.contact)])
        events.append(
            (
                contact_stream(who.contact),
                FirstContact(
                    contact=who.contact,
                    conversation_id=conversation_id,
                    name=_short(who.name),
                    ses_message_id=receipt.ses_message_id,
                    acknowledge=suppressed is None,
                    suppressed_reason=suppressed,
                    ack_to=ack_to if suppressed is None else None,
                    subject=mail.subject[:500],
                    message_id=mail.message_id,
                ),
            )
        )
        if suppressed is None:
            message_ids.append(ack_message_id(conversation_id, receipt.ses_message_id, policy.public_domain))
    if slot is not None:
        events.append((slot.stream_id, slot.event))
        expected[slot.stream_id] = slot.expected_version
    return Decision(
        events=events,
        message_ids=dict.fromkeys(message_ids, conversation_id),
        first_in_stream=first_in_stream,
        expected_versions=expected,
        outcome="accepted",
        reason=suppressed,
        conversation_id=conversation_id,
    )


def unparseable(receipt: Receipt, *, bucket: str, raw_key: str, error: BaseException, mail: ParsedMail | None = None) -> Decision:
    """The decision when deciding itself failed: the mail is quarantined with the
    error as its reason (it can be released), so it is never left without one."""
    reason = f"unparseable: {type(error).__name__}: {str(error)[:300]}"
    quarantine_key = f"{QUARANTINE_PREFIX}{receipt.ses_message_id}"
    event = SpamRejected(
        ses_message_id=receipt.ses_message_id,
        stage="unparseable",
        reason=reason,
        bucket=bucket,
        raw_key=raw_key,
        quarantine_key=quarantine_key,
        from_address=mail.from_address if mail else None,
        envelope_sender=receipt.envelope_sender,
        subject=mail.subject[:500] if mail else "",
        recipients=receipt.recipients[:50],
        received_at=receipt.timestamp,
        verdicts=receipt.verdicts,
    )
    return _quarantined(event)
