"""Every domain event of the system, as frozen ``msgspec`` structs (see ``events.base``).

Events carry facts and S3 keys, never mail bodies (claim check), so an entry stays
far below EventBridge's 256 KB whatever the mail's size.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

import msgspec

from events.base import DomainEvent, Record


class Verdicts(Record, frozen=True, kw_only=True):
    spam: str = "GRAY"
    virus: str = "GRAY"
    spf: str = "GRAY"
    dkim: str = "GRAY"
    dmarc: str = "GRAY"
    dmarc_policy: str | None = None


class AttachmentInfo(Record, frozen=True, kw_only=True):
    filename: str
    content_type: str
    size: int
    part: Annotated[str, msgspec.Meta(description="Position of the part in the MIME tree, e.g. '2.1'")]


# --- the inbound decision -------------------------------------------------------


class MessageReceived(DomainEvent, frozen=True, kw_only=True):
    """A mail was accepted for a conversation.

    Schema 2 added ``source`` (direct, linkedin, owner, a relay's name); a schema-1
    event is upcast by deriving it from the sender's domain.
    """

    schema_version: ClassVar[int] = 2
    source: ClassVar[str] = "crm.inbound"

    conversation_id: str
    ses_message_id: str
    message_id: str | None = None
    bucket: str
    raw_key: str
    received_at: str
    from_address: str | None = None
    from_name: str | None = None
    reply_to: list[str] = []
    to: list[str] = []
    cc: list[str] = []
    recipients: list[str] = []
    subject: str = ""
    date: str | None = None
    in_reply_to: str | None = None
    references: list[str] = []
    verdicts: Verdicts = Verdicts()
    defects: list[str] = []
    attachments: list[AttachmentInfo] = []
    attachment_count: int = 0
    size: int = 0
    contact: str | None = None
    contact_name: str | None = None
    company: str | None = None
    title: str | None = None
    source_channel: str = "direct"
    auto_reply_reason: str | None = None
    from_owner: bool = False
    preview: str = ""
    released: bool = False

    @classmethod
    def upcast(cls, data: dict[str, Any], from_version: int) -> dict[str, Any]:
        if from_version < 2 and "source_channel" not in data:
            sender = (data.get("from_address") or "").lower()
            data = {**data, "source_channel": "linkedin" if sender.endswith("linkedin.com") else "direct"}
        return data


class RuleScore(Record, frozen=True, kw_only=True):
    """One pattern rule that matched a rejected mail."""

    id: str
    score: Annotated[float | None, msgspec.Meta(description="What the rule added; null for a sure hit (rejects alone)")] = None
    field: Annotated[
        str | None, msgspec.Meta(description="Where it matched (subject, body, header:NAME…); null for a meta rule")
    ] = None
    describe: str = ""


class SpamRejected(DomainEvent, frozen=True, kw_only=True):
    """A mail was rejected by a spam stage and kept under ``quarantine/``.

    Schema 2 records the pattern stage's scoring: ``score`` (the sum of the matched
    rules' scores), ``threshold`` (in force then) and ``rules`` (every matched rule
    with its score, highest first, at most ``MAX_RULES``; ``rules_total`` counts them
    all). A schema-1 event is upcast: its ``pattern_id`` becomes the one rule, a sure hit.
    """

    schema_version: ClassVar[int] = 2
    source: ClassVar[str] = "crm.inbound"
    MAX_RULES: ClassVar[int] = 50

    ses_message_id: str
    stage: str  # verdicts | recipients | patterns | unparseable (deciding failed: see producers.decide.unparseable)
    reason: str
    pattern_id: str | None = None  # the deciding rule: the sure hit, else the highest score
    score: float | None = None
    threshold: float | None = None
    rules: list[RuleScore] = []
    rules_total: int = 0
    bucket: str
    raw_key: str
    quarantine_key: str
    from_address: str | None = None
    envelope_sender: str | None = None
    subject: str = ""
    recipients: list[str] = []
    received_at: str
    # SES's verdicts, so a released mail is judged as it arrived (events from before: GRAY, never acknowledged)
    verdicts: Verdicts = Verdicts()

    @classmethod
    def upcast(cls, data: dict[str, Any], from_version: int) -> dict[str, Any]:
        if from_version < 2 and "rules" not in data and data.get("pattern_id"):
            data = {**data, "rules": [{"id": data["pattern_id"], "score": None}], "rules_total": 1}
        return data


class FirstContact(DomainEvent, frozen=True, kw_only=True):
    """The first accepted mail of a correspondent: the first event of a contact stream."""

    source: ClassVar[str] = "crm.inbound"

    contact: str
    conversation_id: str
    name: str | None = None
    ses_message_id: str
    acknowledge: bool
    suppressed_reason: str | None = None
    ack_to: str | None = None
    subject: str = ""
    message_id: str | None = None


class AcknowledgementAllowed(DomainEvent, frozen=True, kw_only=True):
    """One acknowledgement of an hour's budget is spent (``ack_cap_per_hour``).

    The events of one hour form the stream ``ack-quota#<hour>``; an event's version
    is its place in the hour, written conditionally, so no more than the cap are
    ever allowed however many producers race. A first contact past the cap is
    recorded with ``acknowledge = false`` and the reason, and gets no mail.
    """

    source: ClassVar[str] = "crm.inbound"

    hour: str
    slot: int
    cap: int
    contact: str
    conversation_id: str
    ses_message_id: str


class SpamReleased(DomainEvent, frozen=True, kw_only=True):
    source: ClassVar[str] = "crm.admin"

    ses_message_id: str
    quarantine_key: str
    released_by: str = "owner"


# --- the reply path -------------------------------------------------------------


class ReplyCommand(Record, frozen=True, kw_only=True):
    name: str
    value: str


class ReplyRouted(DomainEvent, frozen=True, kw_only=True):
    source: ClassVar[str] = "crm.reply"

    conversation_id: str
    ses_message_id: str
    bucket: str
    raw_key: str
    to: list[str]
    subject: str
    in_reply_to: str | None = None
    references: list[str] = []
    send: bool = True
    commands: list[ReplyCommand] = []
    unknown_commands: list[str] = []
    has_unknown_commands: bool = False
    strip_lines: list[str] = []  # the command lines, removed from what the correspondent receives
    # a reply of commands only sends nothing: attachments it carried are named, and the owner told
    unsent_attachments: list[str] = []
    has_unsent_attachments: bool = False

    def __post_init__(self) -> None:
        # derived flags, for EventBridge patterns (which cannot test a list for emptiness)
        msgspec.structs.force_setattr(self, "has_unknown_commands", bool(self.unknown_commands))
        msgspec.structs.force_setattr(self, "has_unsent_attachments", bool(self.unsent_attachments))


class ReplyRejected(DomainEvent, frozen=True, kw_only=True):
    """Mail to a thread address that is not sent on, with why.

    ``code`` sorts the reasons (unauthenticated, token, automatic, no-recipient,
    ambiguous, nothing-to-send); ``notify_owner`` is set when the owner's own,
    authenticated mail went nowhere, so a notice tells them (never for strangers:
    that would let anyone flood the private mailbox).
    """

    source: ClassVar[str] = "crm.reply"

    ses_message_id: str
    reason: str
    bucket: str
    raw_key: str
    from_address: str | None = None
    recipients: list[str] = []
    code: str = "rejected"
    conversation_id: str | None = None
    subject: str = ""
    notify_owner: bool = False


# --- outcomes of sends ----------------------------------------------------------


class _Sent(DomainEvent, frozen=True, kw_only=True):
    source: ClassVar[str] = "crm.senders"

    conversation_id: str
    cause_event_id: str
    to: list[str]
    subject: str = ""
    outbound_message_id: str
    ses_message_id: str


class AcknowledgementSent(_Sent, frozen=True, kw_only=True):
    pass


class MessageForwarded(_Sent, frozen=True, kw_only=True):
    oversize: bool = False


class ReplyDelivered(_Sent, frozen=True, kw_only=True):
    pass


class HeldPart(Record, frozen=True, kw_only=True):
    part: Annotated[str, msgspec.Meta(description="Position of the part in the MIME tree, e.g. '2.1'; '' for the whole mail")]
    content_type: str
    filename: str | None = None
    where: str  # e.g. "the PDF metadata", "the attached mail's header Reply-To"
    what: str  # private mailbox | thread address | thread token | content that could not be checked


class ReplyHeld(DomainEvent, frozen=True, kw_only=True):
    """The owner's reply was not sent: parts that cannot be rewritten carry the private
    mailbox or a thread address/token. The owner got a notice naming them."""

    source: ClassVar[str] = "crm.senders"

    conversation_id: str
    cause_event_id: str
    to: list[str]
    subject: str = ""
    parts: list[HeldPart]
    reason: str
    notice_message_id: str | None = None


class MailSent(_Sent, frozen=True, kw_only=True):
    """A send with no more specific outcome event (a rule's notice or reminder to the
    owner): every mail that leaves is recorded with its SES message id."""

    kind: str


class SendInDoubt(DomainEvent, frozen=True, kw_only=True):
    """SES may or may not have accepted a mail: the request was sent and its answer
    lost (timeout, connection reset, 5xx). The message is parked in its DLQ and is not
    sent again until the owner approves (``crm dlq redrive``): a blind retry could
    send it twice. ``attempt`` counts the sends of this cause (1 for the first)."""

    source: ClassVar[str] = "crm.senders"

    conversation_id: str
    cause_event_id: str
    kind: str
    reason: str
    attempt: int = 1


class SendRetryApproved(DomainEvent, frozen=True, kw_only=True):
    """The owner looked at a send in doubt and asked for it to be sent again
    (``crm dlq redrive``): ``attempt`` is the in-doubt attempt this approval answers."""

    source: ClassVar[str] = "crm.admin"

    conversation_id: str
    cause_event_id: str
    kind: str
    attempt: int = 1


class SendFailed(DomainEvent, frozen=True, kw_only=True):
    source: ClassVar[str] = "crm.senders"

    conversation_id: str
    cause_event_id: str
    kind: str
    reason: str
    permanent: bool = True


class DeliveryBounced(DomainEvent, frozen=True, kw_only=True):
    """SES reported a hard bounce or a complaint: never acknowledge this address again."""

    source: ClassVar[str] = "crm.senders"

    address: str
    feedback: str  # bounce | complaint
    detail: str = ""
    ses_message_id: str | None = None
    conversation_id: str | None = None  # from the send's SES tag, when the send was ours


# --- the owner's annotations ----------------------------------------------------


class ConversationUpdated(DomainEvent, frozen=True, kw_only=True):
    source: ClassVar[str] = "crm.reply"

    conversation_id: str
    fields: dict[str, str]


class ConversationStatusChanged(DomainEvent, frozen=True, kw_only=True):
    source: ClassVar[str] = "crm.admin"

    conversation_id: str
    status: str
    note: str | None = None


# --- hooks ----------------------------------------------------------------------


class LeadScored(DomainEvent, frozen=True, kw_only=True):
    source: ClassVar[str] = "crm.rules"

    conversation_id: str
    score: int
    band: str
    reasons: list[str] = []


class FollowUpScheduled(DomainEvent, frozen=True, kw_only=True):
    source: ClassVar[str] = "crm.rules"

    conversation_id: str
    due_at: str
    kind: str  # followup (they owe an answer) | nudge (the owner does)
    reason: str = ""


class FollowUpCancelled(DomainEvent, frozen=True, kw_only=True):
    source: ClassVar[str] = "crm.rules"

    conversation_id: str
    reason: str = ""


class FollowUpDue(DomainEvent, frozen=True, kw_only=True):
    source: ClassVar[str] = "crm.rules"

    conversation_id: str
    due_at: str
    kind: str


class AttachmentExtracted(DomainEvent, frozen=True, kw_only=True):
    source: ClassVar[str] = "crm.attachments"

    conversation_id: str
    ses_message_id: str
    filename: str
    content_type: str
    size: int
    outcome: str  # extracted | skipped | failed
    reason: str | None = None
    characters: int = 0
    key: str | None = None
    text_key: str | None = None
    first_lines: str = ""


CATALOGUE: dict[str, type[DomainEvent]] = {
    cls.__name__: cls
    for cls in (
        MessageReceived,
        SpamRejected,
        FirstContact,
        AcknowledgementAllowed,
        SpamReleased,
        ReplyRouted,
        ReplyRejected,
        AcknowledgementSent,
        MessageForwarded,
        ReplyDelivered,
        ReplyHeld,
        SendFailed,
        MailSent,
        SendInDoubt,
        SendRetryApproved,
        DeliveryBounced,
        ConversationUpdated,
        ConversationStatusChanged,
        LeadScored,
        FollowUpScheduled,
        FollowUpCancelled,
        FollowUpDue,
        AttachmentExtracted,
    )
}


def event_class(name: str) -> type[DomainEvent]:
    try:
        return CATALOGUE[name]
    except KeyError:
        raise KeyError(f"unknown event type {name!r}; known: {', '.join(sorted(CATALOGUE))}") from None
