"""Every domain event of the system, as plain pydantic models.

Events carry facts and S3 keys, never mail bodies (claim check), so an entry stays
far below EventBridge's 256 KB whatever the mail's size.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field

from events.base import DomainEvent


class Verdicts(BaseModel):
    model_config = ConfigDict(frozen=True)

    spam: str = "GRAY"
    virus: str = "GRAY"
    spf: str = "GRAY"
    dkim: str = "GRAY"
    dmarc: str = "GRAY"
    dmarc_policy: str | None = None


class AttachmentInfo(BaseModel):
    model_config = ConfigDict(frozen=True)

    filename: str
    content_type: str
    size: int
    part: str = Field(description="Position of the part in the MIME tree, e.g. '2.1'")


# --- the inbound decision -------------------------------------------------------


class MessageReceived(DomainEvent):
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


class SpamRejected(DomainEvent):
    source: ClassVar[str] = "crm.inbound"

    ses_message_id: str
    stage: str  # verdicts | recipients | patterns | unparseable (deciding failed: see producers.decide.unparseable)
    reason: str
    pattern_id: str | None = None
    bucket: str
    raw_key: str
    quarantine_key: str
    from_address: str | None = None
    envelope_sender: str | None = None
    subject: str = ""
    recipients: list[str] = []
    received_at: str


class FirstContact(DomainEvent):
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


class SpamReleased(DomainEvent):
    source: ClassVar[str] = "crm.admin"

    ses_message_id: str
    quarantine_key: str
    released_by: str = "owner"


# --- the reply path -------------------------------------------------------------


class ReplyCommand(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str
    value: str


class ReplyRouted(DomainEvent):
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

    def model_post_init(self, __context: Any) -> None:
        object.__setattr__(self, "has_unknown_commands", bool(self.unknown_commands))


class ReplyRejected(DomainEvent):
    source: ClassVar[str] = "crm.reply"

    ses_message_id: str
    reason: str
    bucket: str
    raw_key: str
    from_address: str | None = None
    recipients: list[str] = []


# --- outcomes of sends ----------------------------------------------------------


class _Sent(DomainEvent):
    source: ClassVar[str] = "crm.senders"

    conversation_id: str
    cause_event_id: str
    to: list[str]
    subject: str = ""
    outbound_message_id: str
    ses_message_id: str


class AcknowledgementSent(_Sent):
    pass


class MessageForwarded(_Sent):
    oversize: bool = False


class ReplyDelivered(_Sent):
    pass


class SendFailed(DomainEvent):
    source: ClassVar[str] = "crm.senders"

    conversation_id: str
    cause_event_id: str
    kind: str
    reason: str
    permanent: bool = True


class DeliveryBounced(DomainEvent):
    """SES reported a hard bounce or a complaint: never acknowledge this address again."""

    source: ClassVar[str] = "crm.senders"

    address: str
    feedback: str  # bounce | complaint
    detail: str = ""
    ses_message_id: str | None = None
    conversation_id: str | None = None  # from the send's SES tag, when the send was ours


# --- the owner's annotations ----------------------------------------------------


class ConversationUpdated(DomainEvent):
    source: ClassVar[str] = "crm.reply"

    conversation_id: str
    fields: dict[str, str]


class ConversationStatusChanged(DomainEvent):
    source: ClassVar[str] = "crm.admin"

    conversation_id: str
    status: str
    note: str | None = None


# --- hooks ----------------------------------------------------------------------


class LeadScored(DomainEvent):
    source: ClassVar[str] = "crm.rules"

    conversation_id: str
    score: int
    band: str
    reasons: list[str] = []


class FollowUpScheduled(DomainEvent):
    source: ClassVar[str] = "crm.rules"

    conversation_id: str
    due_at: str
    kind: str  # followup (they owe an answer) | nudge (the owner does)
    reason: str = ""


class FollowUpCancelled(DomainEvent):
    source: ClassVar[str] = "crm.rules"

    conversation_id: str
    reason: str = ""


class FollowUpDue(DomainEvent):
    source: ClassVar[str] = "crm.rules"

    conversation_id: str
    due_at: str
    kind: str


class AttachmentExtracted(DomainEvent):
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
        SpamReleased,
        ReplyRouted,
        ReplyRejected,
        AcknowledgementSent,
        MessageForwarded,
        ReplyDelivered,
        SendFailed,
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
