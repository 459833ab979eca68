"""Build a mail from the system to the owner (rule notices, follow-up reminders)."""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formatdate

from mail.header_safety import (
    IN_POLICY,
    clean_display_name,
    make_address,
    safe_text,
    serialise,
    set_header,
    set_message_id,
)


def build_notice(
    *, public_address: str, public_name: str, private_mailbox: str, subject: str, text: str, message_id: str
) -> bytes:
    """A mail from the system to the owner (rule notices, follow-up reminders).

    Subject and text come from rules and may quote mail content, so they go through
    the same guards as every other header here.
    """
    msg = EmailMessage(policy=IN_POLICY)
    set_header(msg, "From", make_address(public_address, clean_display_name(f"{public_name} CRM")))
    set_header(msg, "To", private_mailbox)
    set_header(msg, "Subject", safe_text(subject)[:200] or "(no subject)")
    set_header(msg, "Date", formatdate(localtime=False))
    set_message_id(msg, message_id)
    set_header(msg, "Auto-Submitted", "auto-generated")
    msg.set_content(text)
    return serialise(msg)
