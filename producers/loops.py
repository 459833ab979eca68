"""Loop protection: when an automatic acknowledgement must not be sent (RFC 3834).

The mail is still accepted and forwarded; only the auto-reply is suppressed. Our
own acknowledgements carry ``Auto-Submitted: auto-replied``, so two instances of
this system writing to each other stop after one message each.

>>> from mail.parsing import parse
>>> suppression_reason(parse(b"From: a@b.org\\nAuto-Submitted: auto-replied\\n\\nhi"), envelope_sender="a@b.org")
'Auto-Submitted: auto-replied'
>>> suppression_reason(parse(b"From: a@b.org\\nAuto-Submitted: no\\n\\nhi"), envelope_sender="a@b.org") is None
True
"""

from __future__ import annotations

from mail.addresses import is_noreply, local_part, normalise
from mail.parsing import ParsedMail

_BULK = {"bulk", "junk", "list"}
_DAEMONS = {"mailer-daemon", "postmaster"}


def suppression_reason(mail: ParsedMail, *, envelope_sender: str | None, ack_to: str | None = None) -> str | None:
    """Why no acknowledgement may go out for this mail, or None when one may."""
    auto = (mail.header("auto-submitted") or "").strip().lower()
    if auto and auto.split(";")[0].strip() != "no":
        return f"Auto-Submitted: {auto.split(';')[0].strip()}"
    precedence = (mail.header("precedence") or "").strip().lower()
    if precedence in _BULK:
        return f"Precedence: {precedence}"
    if mail.header("list-id"):
        return "List-Id present (mailing list)"
    if mail.header("list-unsubscribe"):
        return "List-Unsubscribe present (bulk sender)"
    if mail.header("x-auto-response-suppress") and "all" in (mail.header("x-auto-response-suppress") or "").lower():
        return "X-Auto-Response-Suppress: All"
    if mail.is_delivery_report:
        return "delivery status notification"
    sender = normalise(envelope_sender)
    if not sender or sender == "<>":
        return "null envelope sender"
    if local_part(sender).lower() in _DAEMONS:
        return f"envelope sender {sender}"
    target = ack_to or mail.from_address
    if not target:
        return "no address to answer"
    if local_part(target).lower() in _DAEMONS or is_noreply(target):
        return f"no-reply address {target}"
    return None
