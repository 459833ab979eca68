"""Built-in rules: tell the owner when their reply, or part of it, went nowhere.

A reply the reply Lambda rejects is recorded as ``ReplyRejected``; when it was the
owner's own authenticated mail (``notify_owner``), the owner would otherwise believe
it was sent. The notice goes to the private mailbox only, like all rule mail, and
carries ``Auto-Submitted: auto-generated`` so no auto-responder answers it.
"""

from __future__ import annotations

from collections.abc import Iterable

from consumers.rules.registry import OutboundMail, RuleContext, rule
from events import Envelope, ReplyRejected, ReplyRouted


@rule(
    "reply-not-sent",
    pattern={"source": ["crm.reply"], "detail-type": ["ReplyRejected"], "detail": {"data": {"notify_owner": [True]}}},
)
def reply_not_sent(event: Envelope, context: RuleContext) -> Iterable[OutboundMail]:
    """The owner's reply was not sent: say why, so they can send it again."""
    data = event.event
    assert isinstance(data, ReplyRejected)
    subject = data.subject or "(no subject)"
    text = f'Your reply "{subject}" was not sent to anyone.\n\nWhy: {data.reason}\n'
    if data.conversation_id:
        text += f"\nConversation: {data.conversation_id}\n"
    text += f"Reference: {data.ses_message_id}\n"
    return [OutboundMail(kind="notice", subject=f"Not sent: {subject}"[:200], text=text, conversation_id=data.conversation_id)]


@rule(
    "reply-attachments-not-sent",
    pattern={"source": ["crm.reply"], "detail-type": ["ReplyRouted"], "detail": {"data": {"has_unsent_attachments": [True]}}},
)
def reply_attachments_not_sent(event: Envelope, context: RuleContext) -> Iterable[OutboundMail]:
    """A reply of commands only annotates and sends nothing: say so if it carried attachments."""
    data = event.event
    assert isinstance(data, ReplyRouted)
    names = "\n".join(f"  {name}" for name in data.unsent_attachments)
    text = (
        f"Your reply on conversation {data.conversation_id} held only commands, so it annotated the "
        f"conversation and nothing was sent. These attachments were not sent:\n\n{names}\n\n"
        "To send them, reply again with a line of text.\n"
    )
    return [
        OutboundMail(
            kind="notice", subject=f"Attachments not sent: {data.subject}"[:200], text=text, conversation_id=data.conversation_id
        )
    ]
