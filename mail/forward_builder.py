"""Build the owner's forwarded copy of an inbound mail (``build_forward``).

Pure functions from bytes and plain values to bytes; no AWS. Parsing uses the standard
``email`` package with ``policy.default``; output is serialised with ``policy.SMTP``
(CRLF line ends, long headers folded) restricted to 7-bit, falling back to plain
``policy.SMTP`` when a broken part cannot be re-encoded.

``build_forward`` never raises because of the mail: a part that cannot be kept
degrades (re-decoded with replacement characters, dropped, or the whole mail
forwarded as text).
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage, Message, MIMEPart
from email.utils import format_datetime, formatdate
from typing import Any

import msgspec

from mail.header_safety import (
    IN_POLICY,
    MAX_DEPTH,
    append_raw,
    clean_display_name,
    clean_line,
    clean_subject,
    clear_headers,
    first_header,
    make_address,
    msgids,
    parse_bounded,
    sanitise_headers,
    serialise,
    set_header,
    set_ids,
    set_message_id,
)
from mail.limits import DEFAULT_LIMITS, MailLimits
from mail.mime_parts import (
    child_parts,
    filename_of,
    is_attachment,
    part_text,
    reset_text,
    walk_no_nested,
    with_utf8_meta,
)
from mail.text import decode_bytes, html_to_text

ATTACHMENTS_REMOVED = "Attachments were removed because the mail is larger than the sending limit"
TEXT_CUT = "The text was cut because the mail is larger than the sending limit"

_BODY_TAG = re.compile(r"<body\b[^>]*>", re.IGNORECASE)


_FORWARD_DROP = frozenset(
    {
        "dkim-signature",
        "domainkey-signature",
        "return-path",
        "sender",
        "received",
        "authentication-results",
        "received-spf",
        "feedback-id",
        "list-unsubscribe",
        "list-unsubscribe-post",
        "delivered-to",
        "bcc",
        "cc",
        "errors-to",
        "message-id",
        "reply-to",
        "from",
        "to",
        "subject",
        "date",
        "mime-version",
        "x-crm-forwarded",
        "disposition-notification-to",
        "return-receipt-to",
        "x-confirm-reading-to",
        "mail-followup-to",
        "mail-reply-to",
        "content-length",
        "lines",
        "status",
        "x-status",
        "x-uid",
        "x-keywords",
    }
)
_FORWARD_DROP_PREFIXES = ("arc-", "x-ses-", "resent-", "x-original-", "list-unsubscribe")


def _forward_keeps(name: str, *, content: bool) -> bool:
    key = name.lower()
    if key in _FORWARD_DROP or key.startswith(_FORWARD_DROP_PREFIXES):
        return False
    return content or not key.startswith("content-")


class _Forward(msgspec.Struct, frozen=True):
    public_address: str
    public_name: str
    private_mailbox: str
    reply_to: str
    correspondent_name: str | None
    correspondent_address: str | None
    message_id: str
    max_bytes: int
    raw_link: str | None
    limits: MailLimits = DEFAULT_LIMITS
    top: tuple[str, ...] = ()  # lines the owner must read first (authentication warnings, who a reply reaches)
    raw_link_until: str | None = None  # when the link stops working, as the mail states it


@dataclass
class _Original:
    from_: str = ""
    to: str = ""
    cc: str = ""
    date: str = ""
    message_id: str = ""
    subject: str = ""
    date_header: str | None = None
    kept: list[tuple[str, Any]] = field(default_factory=list)
    top: tuple[str, ...] = ()


def _original(msg: Message | None, fwd: _Forward) -> _Original:
    fallback_from = fwd.correspondent_address or ""
    name = clean_display_name(fwd.correspondent_name)
    if name and fallback_from:
        fallback_from = f"{name} <{fallback_from}>"
    top = tuple(clean_line(line) for line in fwd.top if line)
    if msg is None:
        return _Original(from_=clean_line(fallback_from), top=top)

    def get(key: str) -> str:
        return clean_line(first_header(msg, key) or "")

    info = _Original(
        from_=get("from") or clean_line(fallback_from),
        to=get("to"),
        cc=get("cc"),
        date=get("date"),
        message_id=get("message-id"),
        subject=clean_subject(first_header(msg, "subject")),
        top=top,
    )
    try:
        date = msg["date"]
        when = getattr(date, "datetime", None)
        info.date_header = format_datetime(when) if when is not None else None
    except Exception:
        info.date_header = None
    seen: set[str] = set()
    for key, value in msg.raw_items():
        if key.lower() in seen or not _forward_keeps(key, content=True):
            continue
        seen.add(key.lower())
        info.kept.append((key, value))
    return info


def _forward_headers(msg: Message, fwd: _Forward, orig: _Original, *, content: bool) -> None:
    who = clean_display_name(fwd.correspondent_name) or clean_display_name(fwd.correspondent_address)
    public_name = clean_display_name(fwd.public_name) or ""
    display = f"{who} via {public_name}" if who and public_name else (who or public_name)
    display = clean_display_name(display, limit=160) or ""
    set_header(msg, "From", make_address(fwd.public_address, display))
    set_header(msg, "To", make_address(fwd.private_mailbox))
    set_header(msg, "Reply-To", make_address(fwd.reply_to, display))
    if orig.subject:
        set_header(msg, "Subject", orig.subject)
    set_header(msg, "Date", orig.date_header or formatdate(usegmt=True))
    set_message_id(msg, fwd.message_id)
    for key, value in (
        ("X-Original-From", orig.from_),
        ("X-Original-To", orig.to),
        ("X-Original-Cc", orig.cc),
        ("X-Original-Date", orig.date),
    ):
        if value:
            set_header(msg, key, value)
    original_ids = msgids([orig.message_id])
    if original_ids:
        set_ids(msg, "X-Original-Message-ID", original_ids[:1])
    elif orig.message_id:
        set_header(msg, "X-Original-Message-ID", orig.message_id)
    set_header(msg, "X-CRM-Forwarded", "yes")
    set_header(msg, "MIME-Version", "1.0")
    for key, value in orig.kept:
        if content or not key.lower().startswith("content-"):
            append_raw(msg, key, value)


def _block_lines(orig: _Original, notes: Sequence[str]) -> list[str]:
    lines = [*orig.top, f"From: {orig.from_ or '(unknown)'}", f"To: {orig.to or '(unknown)'}"]
    if orig.cc:
        lines.append(f"Cc: {orig.cc}")
    lines.append(f"Date: {orig.date or '(unknown)'}")
    lines.append(f"Subject: {orig.subject or '(no subject)'}")
    lines.extend(notes)
    return lines


def _text_block(orig: _Original, notes: Sequence[str]) -> str:
    return "\n".join(_block_lines(orig, notes)) + "\n" + "-" * 40 + "\n\n"


def _html_block(orig: _Original, notes: Sequence[str], link: str | None = None) -> str:
    rows = []
    for line in _block_lines(orig, notes):
        if link and line.endswith(link) and line.startswith(ATTACHMENTS_REMOVED):
            href = html.escape(link)
            rows.append(f'{html.escape(line[: -len(link)])}<a href="{href}">{href}</a>')
        else:
            rows.append(html.escape(line))
    return (
        '<div style="font:13px/1.4 sans-serif;color:#555;border-bottom:1px solid #ccc;'
        'margin:0 0 12px 0;padding:0 0 8px 0">' + "<br>\n".join(rows) + "</div>\n"
    )


def _insert_html(markup: str, block: str) -> str:
    match = _BODY_TAG.search(markup)
    if match:
        return markup[: match.end()] + block + markup[match.end() :]
    return block + markup


def _bodies(msg: Message, *, through_signed: bool) -> tuple[MIMEPart | None, MIMEPart | None]:
    """The first inline text/plain and text/html parts, outside attached messages."""
    plain: MIMEPart | None = None
    markup: MIMEPart | None = None

    def visit(part: MIMEPart, depth: int) -> None:
        nonlocal plain, markup
        if depth > MAX_DEPTH or is_attachment(part):
            return
        ctype = part.get_content_type()
        if ctype == "text/plain" and plain is None:
            plain = part
        elif ctype == "text/html" and markup is None:
            markup = part
        elif part.get_content_maintype() == "multipart":
            if ctype == "multipart/encrypted" or (ctype == "multipart/signed" and not through_signed):
                return
            for child in child_parts(part):
                visit(child, depth + 1)

    if isinstance(msg, MIMEPart):
        visit(msg, 0)
    return plain, markup


def _has_protected(msg: Message) -> bool:
    return any(part.get_content_type() in ("multipart/signed", "multipart/encrypted") for part in walk_no_nested(msg))


def _attachment_names(msg: Message, keep: Sequence[Message | None]) -> list[str]:
    names: list[str] = []
    for part in walk_no_nested(msg):
        if any(part is k for k in keep) or part.get_content_maintype() == "multipart":
            continue
        names.append(filename_of(part) or part.get_content_type())
    return names


def _removed_note(fwd: _Forward, names: Sequence[str]) -> list[str]:
    link = clean_line(fwd.raw_link or "")
    until = clean_line(fwd.raw_link_until or "")
    where = f"the original (this link works until {until} at the latest)" if until else "the original"
    note = f"{ATTACHMENTS_REMOVED}; {where}: {link}" if link else f"{ATTACHMENTS_REMOVED}."
    lines = [note]
    if names:
        shown = ", ".join(names[:20]) + (f" and {len(names) - 20} more" if len(names) > 20 else "")
        lines.append(f"Removed: {shown}")
    return lines


def _fits(out: bytes, fwd: _Forward) -> bool:
    return fwd.max_bytes <= 0 or len(out) <= fwd.max_bytes


def _rewrap_long_lines(part: Message) -> None:
    """Re-encode a leaf as base64 if its encoded body has a line over RFC 5322's 998 characters."""
    payload = part.get_payload()
    if not isinstance(payload, str) or not any(len(line) > 998 for line in payload.splitlines()):
        return
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):
        return
    del part["Content-Transfer-Encoding"]
    part["Content-Transfer-Encoding"] = "base64"
    part.set_payload(base64.encodebytes(data).decode("ascii"))


def _forward_full(raw: bytes, fwd: _Forward) -> bytes:
    msg = parse_bounded(raw, fwd.limits)
    if msg.get_content_maintype() == "multipart" and not child_parts(msg):
        raise ValueError("multipart mail without parts")
    orig = _original(msg, fwd)
    for part in msg.walk():
        if part is not msg:
            sanitise_headers(part)
        _rewrap_long_lines(part)
    clear_headers(msg)
    _forward_headers(msg, fwd, orig, content=True)
    text_block, html_block = _text_block(orig, ()), _html_block(orig, ())
    plain, markup = (None, None) if _has_protected(msg) else _bodies(msg, through_signed=False)
    if plain is None and markup is None:
        # Nothing to write into without breaking it (signed, encrypted, attachment only):
        # the block becomes its own first part.
        if msg.get_content_type() != "multipart/mixed":
            msg.make_mixed()
        block = MIMEPart(policy=IN_POLICY)
        block.set_content(text_block, disposition="inline")
        payload = msg.get_payload()
        assert isinstance(payload, list)
        payload.insert(0, block)
    if plain is not None:
        keep_flowed = str(plain.get_param("format", "") or "").lower() == "flowed"
        reset_text(plain, "plain", text_block + part_text(plain), keep_flowed=keep_flowed)
    if markup is not None:
        reset_text(markup, "html", with_utf8_meta(_insert_html(part_text(markup), html_block)), keep_flowed=False)
    return serialise(msg)


def _forward_bodies_only(raw: bytes, fwd: _Forward) -> bytes:
    msg = parse_bounded(raw, fwd.limits)
    orig = _original(msg, fwd)
    plain_part, html_part = _bodies(msg, through_signed=True)
    notes = _removed_note(fwd, _attachment_names(msg, (plain_part, html_part)))
    link = clean_line(fwd.raw_link or "") or None
    plain = part_text(plain_part) if plain_part is not None else None
    markup = part_text(html_part) if html_part is not None else None
    out = EmailMessage(policy=IN_POLICY)
    _forward_headers(out, fwd, orig, content=False)
    if plain is None and markup is None:
        plain = ""
    if plain is not None:
        out.set_content(_text_block(orig, notes) + plain)
        if markup is not None:
            out.add_alternative(with_utf8_meta(_insert_html(markup, _html_block(orig, notes, link))), subtype="html")
    elif markup is not None:
        out.set_content(with_utf8_meta(_insert_html(markup, _html_block(orig, notes, link))), subtype="html")
    data = serialise(out)
    if _fits(data, fwd):
        return data
    text = plain if plain is not None else html_to_text(markup or "")
    return _forward_text(fwd, orig, text, notes)


def _forward_text(fwd: _Forward, orig: _Original, text: str, notes: Sequence[str]) -> bytes:
    """A text/plain forward, cut until it fits."""
    text = text.replace("\x00", "")
    current, used = text, list(notes)
    data = b""
    for _ in range(12):
        out = EmailMessage(policy=IN_POLICY)
        _forward_headers(out, fwd, orig, content=False)
        out.set_content(_text_block(orig, used) + current)
        data = serialise(out)
        if _fits(data, fwd) or not current:
            return data
        # shrink in proportion to the excess (transfer encoding inflates unevenly), with margin
        keep = int(len(current) * fwd.max_bytes / len(data) * 0.9) - 256
        current = current[: max(0, keep)] + "\n[...]\n" if keep > 0 else ""
        used = [*notes, f"{TEXT_CUT}."]
    return data


def _forward_fallback(raw: bytes, fwd: _Forward) -> bytes:
    msg: Message | None
    try:
        msg = parse_bounded(raw, fwd.limits)
    except Exception:
        msg = None
    try:
        orig = _original(msg, fwd)
        orig.kept = [(k, v) for k, v in orig.kept if not k.lower().startswith("content-")]
    except Exception:
        orig = _original(None, fwd)
    text = decode_bytes(bytes(raw), None).replace("\r\n", "\n")
    return _forward_text(fwd, orig, text, ())


def build_forward(
    raw: bytes,
    *,
    public_address: str,
    public_name: str,
    private_mailbox: str,
    reply_to: str,
    correspondent_name: str | None,
    correspondent_address: str | None,
    message_id: str,
    max_bytes: int,
    raw_link: str | None = None,
    limits: MailLimits = DEFAULT_LIMITS,
    top: Sequence[str] = (),
    raw_link_until: str | None = None,
) -> bytes:
    """The copy of an inbound mail sent to the owner's private mailbox.

    The whole MIME structure is kept; only the top-level headers change (see the
    module's ``_FORWARD_DROP``), and a short block with the original From, To, Cc,
    Date and Subject is put at the top of the first text/plain and text/html parts.
    A signed or encrypted mail, or one without a text body, gets the block as a new
    first part instead. When the result would exceed ``max_bytes`` (0 or less: no
    limit) the attachments are dropped and the block says so, with ``raw_link`` (and
    ``raw_link_until``, when the link stops working).
    ``top`` lines open the block (an authentication warning, who a reply reaches).
    """
    fwd = _Forward(
        public_address=public_address,
        public_name=public_name,
        private_mailbox=private_mailbox,
        reply_to=reply_to,
        correspondent_name=correspondent_name,
        correspondent_address=correspondent_address,
        message_id=message_id,
        max_bytes=max_bytes,
        raw_link=raw_link,
        limits=limits,
        top=tuple(top),
        raw_link_until=raw_link_until,
    )
    try:
        data = _forward_full(raw, fwd)
        if _fits(data, fwd):
            return data
    except Exception:
        return _forward_fallback(raw, fwd)
    try:
        return _forward_bodies_only(raw, fwd)
    except Exception:
        return _forward_fallback(raw, fwd)
