"""Build the acknowledgement of a first message (``build_ack``) and its default wording."""

from __future__ import annotations

import html
import string
from collections.abc import Mapping, Sequence
from email.message import EmailMessage
from email.utils import formatdate
from typing import Any

from mail.echo import NAME_LIMIT, SUBJECT_LIMIT, echo
from mail.header_safety import (
    IN_POLICY,
    clean_display_name,
    clean_line,
    clean_subject,
    make_address,
    serialise,
    set_header,
    set_message_id,
    thread_headers,
)
from mail.subjects import strip_reply_prefix

# The default wording, used by the settings' defaults and as the fallback when a
# configured template does not format: one set, so the two can never differ.
DEFAULT_ACK_SUBJECT = "Re: {subject}"
DEFAULT_ACK_TEXT = (
    "Hello {name},\n\n"
    'thank you for your message about "{subject}". It has reached me and I will answer '
    "as soon as I can.\n\nReference: {conversation_id}\n\n-- \n{public_name}\n"
)
DEFAULT_ACK_HTML = (
    "<p>Hello {name},</p><p>thank you for your message about &quot;{subject}&quot;. It has "
    "reached me and I will answer as soon as I can.</p><p>Reference: {conversation_id}</p>"
    "<p>-- <br>{public_name}</p>"
)

# ---------------------------------------------------------------------------


class _Fields(string.Formatter):
    """str.format limited to plain field names: no attribute or index access."""

    def get_field(self, field_name: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
        if not field_name.isidentifier():
            raise KeyError(field_name)
        return super().get_field(field_name, args, kwargs)


_FORMAT_ERRORS = (KeyError, ValueError, IndexError, AttributeError, TypeError)


def _fill(template: str, default: str, values: Mapping[str, str]) -> str:
    try:
        return _Fields().vformat(template, (), dict(values))
    except _FORMAT_ERRORS:
        return _Fields().vformat(default, (), dict(values))


def build_ack(
    *,
    to: str,
    name: str | None,
    subject: str,
    conversation_id: str,
    in_reply_to: str | None,
    references: list[str],
    public_address: str,
    public_name: str,
    message_id: str,
    subject_template: str,
    text_template: str,
    html_template: str,
) -> bytes:
    """The acknowledgement of a first message (RFC 3834 ``Auto-Submitted: auto-replied``).

    Templates use ``{name}``, ``{subject}``, ``{conversation_id}`` and ``{public_name}``;
    a template that does not format falls back to the default wording. The text and
    HTML templates fall back together, so both alternatives always say the same thing.
    """
    # the sender's words go out under our DKIM signature: bounded, no links (mail.echo)
    clean_name = echo(clean_display_name(name), NAME_LIMIT) or "there"
    clean_public = clean_display_name(public_name) or ""
    topic = echo(strip_reply_prefix(clean_subject(subject)), SUBJECT_LIMIT) or "your message"
    values = {
        "name": clean_name,
        "subject": topic,
        "conversation_id": clean_line(conversation_id),
        "public_name": clean_public,
    }
    escaped = {key: html.escape(value) for key, value in values.items()}
    title = clean_line(_fill(subject_template, DEFAULT_ACK_SUBJECT, values)) or clean_line(
        _fill(DEFAULT_ACK_SUBJECT, DEFAULT_ACK_SUBJECT, values)
    )
    try:
        text = _Fields().vformat(text_template, (), values)
        markup = _Fields().vformat(html_template, (), escaped)
    except _FORMAT_ERRORS:
        text = _Fields().vformat(DEFAULT_ACK_TEXT, (), values)
        markup = _Fields().vformat(DEFAULT_ACK_HTML, (), escaped)

    msg = EmailMessage(policy=IN_POLICY)
    set_header(msg, "From", make_address(public_address, clean_public))
    set_header(msg, "To", make_address(to, name or None))
    set_header(msg, "Subject", title[:250])
    set_header(msg, "Date", formatdate(usegmt=True))
    set_message_id(msg, message_id)
    thread_headers(msg, in_reply_to, references)
    set_header(msg, "Auto-Submitted", "auto-replied")
    set_header(msg, "X-Auto-Response-Suppress", "All")
    msg.set_content(text)
    msg.add_alternative(markup, subtype="html")
    return serialise(msg)


# ---------------------------------------------------------------------------
