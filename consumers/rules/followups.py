"""Built-in rule: schedule follow-ups.

After the owner's reply is delivered, chase the correspondent if they have not
answered in ``followup_days``; after an inbound message, nudge the owner if they
have not answered in ``nudge_hours``. A newer message supersedes an older schedule
(the projection clears the follow-up on every message, then applies the new one).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from consumers.rules.registry import OutboundMail, RuleContext, rule
from events import Envelope, FollowUpDue, FollowUpScheduled, MessageReceived, ReplyDelivered
from events.base import utc_text


def _after(timestamp: str, delta: timedelta) -> str:
    moment = datetime.fromisoformat(timestamp.replace("Z", "+00:00")) + delta
    return utc_text(moment)


@rule("follow-up-after-reply", pattern={"source": ["crm.senders"], "detail-type": ["ReplyDelivered"]})
def follow_up_after_reply(event: Envelope, context: RuleContext) -> Iterable[FollowUpScheduled]:
    """The owner answered: chase the correspondent after N days of silence."""
    data = event.event
    assert isinstance(data, ReplyDelivered)
    days = float(context.setting("followup_days"))
    return [
        FollowUpScheduled(
            conversation_id=data.conversation_id,
            kind="followup",
            due_at=_after(event.meta.occurred_at, timedelta(days=days)),
            reason=f"no answer {days:g} days after your reply",
        )
    ]


@rule(
    "nudge-after-inbound",
    pattern={
        "source": ["crm.inbound", "crm.admin"],
        "detail-type": ["MessageReceived"],
        "detail": {"data": {"from_owner": [False], "auto_reply_reason": [None]}},
    },
)
def nudge_after_inbound(event: Envelope, context: RuleContext) -> Iterable[FollowUpScheduled]:
    """A person wrote: nudge the owner if it stays unanswered for M hours."""
    data = event.event
    assert isinstance(data, MessageReceived)
    hours = float(context.setting("nudge_hours"))
    return [
        FollowUpScheduled(
            conversation_id=data.conversation_id,
            kind="nudge",
            due_at=_after(event.meta.occurred_at, timedelta(hours=hours)),
            reason=f"unanswered {hours:g} hours after their message",
        )
    ]


@rule("follow-up-reminder", pattern={"source": ["crm.rules"], "detail-type": ["FollowUpDue"]})
def follow_up_reminder(event: Envelope, context: RuleContext) -> Iterable[OutboundMail]:
    """A follow-up fell due: remind the owner in their private mailbox."""
    data = event.event
    assert isinstance(data, FollowUpDue)
    item = context.conversation(data.conversation_id) or {}
    who = item.get("contact_name") or item.get("contact") or data.conversation_id
    if data.kind == "nudge":
        subject = f"Reminder: {who} is waiting for your answer"
        text = f'{who} wrote about "{item.get("subject", "")}" and has no answer yet.\n'
    else:
        subject = f"Reminder: follow up with {who}"
        text = f'You answered {who} about "{item.get("subject", "")}" and heard nothing back since.\n'
    text += f"\nConversation: {data.conversation_id}\nDue: {data.due_at}\n"
    return [OutboundMail(kind="reminder", subject=subject, text=text, conversation_id=data.conversation_id)]
