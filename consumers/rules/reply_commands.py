"""Built-in rule: tell the owner which lines of their reply were not understood as commands."""

from __future__ import annotations

from collections.abc import Iterable

from consumers.rules.registry import OutboundMail, RuleContext, rule
from events import Envelope, ReplyRouted
from mail.commands import KNOWN_COMMANDS


def known_commands() -> list[str]:
    """One name per field a command sets (the first spelling of each), in the parser's order."""
    names: dict[str, str] = {}
    for name, field in KNOWN_COMMANDS.items():
        names.setdefault(field, name)
    return list(names.values())


@rule(
    "unknown-reply-commands",
    pattern={"source": ["crm.reply"], "detail-type": ["ReplyRouted"], "detail": {"data": {"has_unknown_commands": [True]}}},
)
def unknown_reply_commands(event: Envelope, context: RuleContext) -> Iterable[OutboundMail]:
    """Tell the owner which lines of their reply were not understood as commands."""
    data = event.event
    assert isinstance(data, ReplyRouted)
    lines = "\n".join(f"  {line}" for line in data.unknown_commands)
    return [
        OutboundMail(
            kind="notice",
            subject="Some commands in your reply were not understood",
            text=f"In your reply on conversation {data.conversation_id}, these lines were left as "
            f"they were:\n\n{lines}\n\nKnown: {', '.join(known_commands())}.\n",
            conversation_id=data.conversation_id,
        )
    ]
