"""Built-in rule: tell the owner when their reply went nowhere.

A reply the reply Lambda rejects is recorded as ``ReplyRejected``; when it was the
owner's own authenticated mail (``notify_owner``), the owner would otherwise believe
it was sent. The notice goes to the private mailbox only, like all rule mail, and
carries ``Auto-Submitted: auto-generated`` so no auto-responder answers it.
"""

from __future__ import annotations

from collections.abc import Iterable

from consumers.rules.registry import OutboundMail, RuleContext, rule
from events import Envelope, ReplyRejected


@rule("reply-not-sent", pattern={"source": ["crm.reply"], "detail-type": ["ReplyRejected"],
                                 "detail": {"data": {"notify_owner": [True]}}})
def reply_not_sent(event: Envelope, context: RuleContext) -> Iterable[OutboundMail]:
    """The owner's reply was not sent: say why, so they can send it again."""
    data = event.event
    assert isinstance(data, ReplyRejected)
    subject = data.subject or "(no subject)"
    text = (f"Your reply \"{subject}\" was not sent to anyone.\n\n"
            f"Why: {data.reason}\n")
    if data.conversation_id:
        text += f"\nConversation: {data.conversation_id}\n"
    text += f"Reference: {data.ses_message_id}\n"
    return [OutboundMail(kind="notice", subject=f"Not sent: {subject}"[:200], text=text,
                         conversation_id=data.conversation_id)]
