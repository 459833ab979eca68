"""The event catalogue: typed domain events, their envelope and their wire forms.

>>> from events import MessageReceived, event_id
>>> MessageReceived.schema_version
2
>>> event_id("abc", "MessageReceived") == event_id("abc", "MessageReceived")
True
"""

from events.base import DomainEvent, Envelope, InvalidEvent, Meta, Record, checked, dump, event_id, load, replace
from events.catalogue import (
    CATALOGUE,
    AcknowledgementAllowed,
    AcknowledgementSent,
    AttachmentExtracted,
    ConversationStatusChanged,
    ConversationUpdated,
    DeliveryBounced,
    FirstContact,
    FollowUpCancelled,
    FollowUpDue,
    FollowUpScheduled,
    LeadScored,
    MailSent,
    MessageForwarded,
    MessageReceived,
    ReplyDelivered,
    ReplyHeld,
    ReplyRejected,
    ReplyRouted,
    SendFailed,
    SendInDoubt,
    SendRetryApproved,
    SpamRejected,
    SpamReleased,
    event_class,
)
from events.codec import (
    DecodeError,
    from_delivered,
    from_entry,
    from_record,
    to_entry,
    to_record,
)

__all__ = [
    "CATALOGUE",
    "AcknowledgementAllowed",
    "AcknowledgementSent",
    "AttachmentExtracted",
    "ConversationStatusChanged",
    "ConversationUpdated",
    "DecodeError",
    "DeliveryBounced",
    "DomainEvent",
    "Envelope",
    "FirstContact",
    "FollowUpCancelled",
    "FollowUpDue",
    "FollowUpScheduled",
    "InvalidEvent",
    "LeadScored",
    "MailSent",
    "MessageForwarded",
    "MessageReceived",
    "Meta",
    "Record",
    "ReplyDelivered",
    "ReplyHeld",
    "ReplyRejected",
    "ReplyRouted",
    "SendFailed",
    "SendInDoubt",
    "SendRetryApproved",
    "SpamRejected",
    "SpamReleased",
    "checked",
    "dump",
    "event_class",
    "event_id",
    "from_delivered",
    "from_entry",
    "from_record",
    "load",
    "replace",
    "to_entry",
    "to_record",
]
