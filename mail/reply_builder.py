"""Build the owner's reply, re-sent to the correspondent from the public address.

Nothing ``build_reply`` returns carries the private mailbox or a thread address or
token, in any part or spelling (``mail.leaks``): text and HTML are rewritten, and a
reply whose other parts carry one raises ``PartsHeld`` naming them; a last check on
the serialised result raises it too. It never raises otherwise because of the mail.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from email.headerregistry import Address
from email.message import EmailMessage, Message, MIMEPart
from email.utils import format_datetime, formatdate
from typing import Any
from urllib.parse import quote

from mail.header_safety import (
    IN_POLICY,
    MAX_DEPTH,
    clean_display_name,
    clean_line,
    clean_subject,
    clear_headers,
    header_text,
    make_address,
    parse_bounded,
    serialise,
    set_header,
    set_message_id,
    thread_headers,
)
from mail.leaks import Finding, Guard, PartsHeld
from mail.limits import DEFAULT_LIMITS, MailLimits
from mail.mime_parts import (
    TOKEN,
    add_params,
    child_parts,
    disposition_of,
    filename_of,
    is_attachment,
    params_of,
    part_text,
    subtype_of,
    walk_no_nested,
    with_utf8_meta,
)
from mail.text import decode_bytes, fix_surrogates

# reply


_REPLY_DROP_TYPES = frozenset(
    {
        "application/pgp-keys",
        "application/pgp-signature",
        "application/pkcs7-signature",
        "application/x-pkcs7-signature",
    }
)
_NESTED_KEEP = ("from", "to", "cc", "date", "subject", "reply-to", "keywords", "comments")
_NBSP = r"(?:\s|&nbsp;|&#160;|&#xa0;)"
_HTML_CHAR = {
    "&": "(?:&amp;|&#38;|&)",
    "<": "(?:&lt;|&#60;)",
    ">": "(?:&gt;|&#62;)",
    '"': '(?:"|&quot;|&#34;)',
    "'": "(?:'|&#39;|&#x27;|&apos;)",
}


def _html_line_pattern(line: str) -> re.Pattern[str] | None:
    tokens = line.split()
    if not tokens:
        return None
    body = f"{_NBSP}+".join("".join(_HTML_CHAR.get(ch, re.escape(ch)) for ch in token) for token in tokens)
    return re.compile(
        rf"(?:(?<=>)|^)[ \t]*(?:&nbsp;)*{body}{_NBSP}*(?:<br\s*/?>)?(?=\s*<|\s*$)",
        re.IGNORECASE | re.MULTILINE,
    )


@dataclass
class _Reply:
    public_address: str
    public_domain: str
    message_id: str
    guard: Guard
    strip: frozenset[str]
    html_strip: list[re.Pattern[str]]
    cids: dict[str, str] = field(default_factory=dict)
    limits: MailLimits = DEFAULT_LIMITS
    held: list[Finding] = field(default_factory=list)

    def scrub(self, text: str, *, html: bool = False) -> str:
        """Every spelling of the private mailbox or a thread address becomes the public address."""
        return self.guard.rewrite(text, self.public_address, html=html) if text else text

    def leaks(self, text: str) -> bool:
        return bool(self.guard.found(text))

    def hold(self, part: Message, path: str) -> bool:
        """True (and the part remembered) when a part that cannot be rewritten carries a secret."""
        found = self.guard.part_findings(part, path, headers=False)
        self.held += found
        return bool(found)

    def cid(self, value: str) -> str:
        inner = value.strip().strip("<>").strip()
        if inner not in self.cids:
            digest = hashlib.sha256(f"{self.message_id}\0{inner}".encode("utf-8", "replace")).hexdigest()
            self.cids[inner] = f"part{len(self.cids) + 1}.{digest[:20]}@{self.public_domain}"
        return self.cids[inner]

    def cids_in_html(self, markup: str) -> str:
        for old, new in self.cids.items():
            replacement = ("cid:" + new).replace("\\", "\\\\")
            for form in {old, quote(old, safe="@")}:
                markup = re.sub(re.escape("cid:" + form), replacement, markup, flags=re.IGNORECASE)
        return markup


def _strip_plain(text: str, strip: frozenset[str]) -> str:
    if not strip:
        return text
    return "\n".join(line for line in text.split("\n") if line.strip() not in strip)


def _unflow(text: str, delsp: bool) -> str:
    """RFC 3676: join format=flowed soft line breaks, undo space-stuffing."""
    out: list[str] = []
    current: str | None = None
    current_depth = 0

    def emit(depth: int, content: str) -> None:
        out.append((">" * depth + " " + content) if depth else content)

    for raw_line in text.split("\n"):
        stripped = raw_line.lstrip(">")
        depth = len(raw_line) - len(stripped)
        line = stripped[1:] if stripped.startswith(" ") else stripped
        flowed = line.endswith(" ") and line != "-- "
        if flowed and delsp:
            line = line[:-1]
        if current is not None and depth != current_depth:
            emit(current_depth, current)
            current = None
        if current is None:
            current, current_depth = line, depth
        else:
            current += line
        if not flowed:
            emit(current_depth, current)
            current = None
    if current is not None:
        emit(current_depth, current)
    return "\n".join(out)


def _collect_cids(msg: Message, ctx: _Reply) -> None:
    for part in msg.walk():
        for key, value in part.raw_items():
            if key.lower() == "content-id":
                ctx.cid(header_text(key, value))


def _leaf_extras(part: Message, new: Message, ctx: _Reply) -> None:
    for key, value in part.raw_items():
        lower = key.lower()
        if lower == "content-id":
            set_header(new, "Content-ID", f"<{ctx.cid(header_text(key, value))}>")
        elif lower in ("content-language", "content-location", "content-description"):
            set_header(new, key, ctx.scrub(header_text(key, value)))


def _leaf_options(part: Message, ctx: _Reply, *, skip: Iterable[str] = ()) -> dict[str, Any]:
    name = filename_of(part)
    params = {key: ctx.scrub(value) for key, value in params_of(part, skip=("format", "delsp", *skip)).items()}
    return {
        "disposition": disposition_of(part),
        "filename": ctx.scrub(name) if name else None,
        "params": params or None,
    }


def _set_leaf(new: MIMEPart, content: Any, *args: Any, **options: Any) -> None:
    """``set_content`` with the parameters added in one write (see :func:`add_params`)."""
    params = options.pop("params", None)
    new.set_content(content, *args, **options)
    add_params(new, params)


def _reply_text(part: Message, ctx: _Reply, new: MIMEPart, path: str) -> MIMEPart | None:
    subtype = subtype_of(part, "plain") if part.get_content_maintype() == "text" else "plain"
    if subtype not in ("plain", "html") and ctx.hold(part, path):
        return None  # a calendar, a vCard, CSV ...: rewriting would change what it means
    text = part_text(part)
    if str(part.get_param("format", "") or "").lower() == "flowed":
        text = _unflow(text, str(part.get_param("delsp", "") or "").lower() == "yes")
    inline_body = not is_attachment(part) and subtype in ("plain", "html")
    if inline_body and subtype == "plain":
        text = _strip_plain(text, ctx.strip)
    elif inline_body:
        for pattern in ctx.html_strip:
            text = pattern.sub("", text)
        text = with_utf8_meta(ctx.cids_in_html(text))
    scrubbed = ctx.scrub(text, html=subtype == "html")
    options = _leaf_options(part, ctx)
    if not inline_body and scrubbed == text:
        # an unchanged text attachment keeps its exact bytes and charset
        data = part.get_payload(decode=True)
        if isinstance(data, bytes):
            charset = part.get_content_charset()
            if charset and TOKEN.fullmatch(charset):
                options["params"] = {**(options["params"] or {}), "charset": charset}
            _set_leaf(new, data, "text", subtype, **options)
            _leaf_extras(part, new, ctx)
            return new
    _set_leaf(new, scrubbed, subtype=subtype, **options)
    _leaf_extras(part, new, ctx)
    return new


def _nested_headers(inner: Message, new_inner: Message, ctx: _Reply) -> None:
    items = clear_headers(new_inner)
    seen: set[str] = set()
    for key, value in inner.raw_items():
        lower = key.lower()
        if lower not in _NESTED_KEEP or lower in seen:
            continue
        seen.add(lower)
        set_header(new_inner, key.title(), ctx.scrub(clean_line(header_text(key, value))))
    new_inner.set_raw("MIME-Version", "1.0")
    for key, value in items:
        if key.lower() != "mime-version":
            new_inner.set_raw(key, value)


def _reply_tree(part: Message, ctx: _Reply, depth: int, *, root: bool = False, path: str = "") -> MIMEPart | None:
    if depth > MAX_DEPTH:
        return None
    new: MIMEPart = EmailMessage(policy=IN_POLICY) if root else MIMEPart(policy=IN_POLICY)
    ctype = part.get_content_type()
    maintype = part.get_content_maintype()
    if maintype == "multipart" and child_parts(part):
        children = child_parts(part)
        if ctype == "multipart/signed":
            # the signature cannot survive the rewrite, and its certificate or key names the owner
            return _reply_tree(children[0], ctx, depth + 1, root=root, path=_sub_path(path, 1))
        built = [
            c
            for c in (_reply_tree(child, ctx, depth + 1, path=_sub_path(path, index)) for index, child in enumerate(children, 1))
            if c is not None
        ]
        if not built:
            return None
        new["Content-Type"] = "multipart/" + subtype_of(part, "mixed")
        params = {}
        for key, value in params_of(part).items():
            if key == "start":  # the Content-ID of the root part of a multipart/related
                value = "<" + ctx.cid(value) + ">"
            params[key] = ctx.scrub(value)
        add_params(new, params)
        for child in built:
            new.attach(child)
        return new
    if maintype == "message":
        children = child_parts(part)
        if ctype not in ("message/rfc822", "message/global") or not children:
            return None
        inner = children[0]
        new_inner = _reply_tree(inner, ctx, depth + 1, root=True, path=path)
        if new_inner is None:
            new_inner = EmailMessage(policy=IN_POLICY)
            new_inner.set_content("")
        _nested_headers(inner, new_inner, ctx)
        options = _leaf_options(part, ctx, skip=("name",))
        # the rebuilt mail is 7-bit clean: every part and header was encoded by us
        new.set_content(new_inner, cte="7bit", disposition=options["disposition"], filename=options["filename"])
        return new
    if maintype in ("text", "multipart"):
        return _reply_text(part, ctx, new, path)
    if ctype in _REPLY_DROP_TYPES or ctx.hold(part, path):
        return None
    data = part.get_payload(decode=True)
    if not isinstance(data, bytes):
        data = b""
    _set_leaf(new, data, maintype, subtype_of(part, "octet-stream"), **_leaf_options(part, ctx))
    _leaf_extras(part, new, ctx)
    return new


def _sub_path(path: str, index: int) -> str:
    return f"{path}.{index}" if path else str(index)


def _reply_fallback_body(raw: bytes, ctx: _Reply) -> EmailMessage:
    """The reply's text when the mail could not be rebuilt: its text parts, else the raw body."""
    found: list[str] = []
    try:
        for part in walk_no_nested(parse_bounded(raw, ctx.limits)):
            if part.get_content_type() == "text/plain" and not is_attachment(part):
                found.append(part_text(part))
    except Exception:
        found = []
    if found:
        body = "\n\n".join(found)
    else:
        text = decode_bytes(bytes(raw), None).replace("\r\n", "\n").replace("\r", "\n")
        body = text.split("\n\n", 1)[1] if "\n\n" in text else ""
    body = "".join(ch for ch in body if ch in "\t\n" or not (ord(ch) < 32 or ord(ch) == 127))
    msg = EmailMessage(policy=IN_POLICY)
    msg.set_content(ctx.scrub(_strip_plain(body, ctx.strip)))
    return msg


_ANGLE_ADDR = re.compile(r"^(?P<name>.*)<(?P<spec>[^<>]*)>\s*$", re.DOTALL)


def _recipient(entry: str, ctx: _Reply) -> Address | None:
    """``addr`` or ``Name <addr>``; a display name may hold anything (even an address)."""
    text = fix_surrogates(entry)
    match = _ANGLE_ADDR.match(text)
    display, spec = (match.group("name"), match.group("spec")) if match else ("", text)
    spec = clean_line(spec)
    if not spec or " " in spec or ctx.leaks(spec):
        return None  # replies go to the correspondent only, never back to the owner
    name = ctx.scrub(clean_display_name(display) or "")
    try:
        return Address(display_name=name, addr_spec=spec)
    except Exception:
        return None


def _reply_headers(
    body: Message,
    ctx: _Reply,
    *,
    public_name: str,
    to: Sequence[str],
    subject: str,
    date: str | None,
    in_reply_to: str | None,
    references: Sequence[str],
    message_id: str,
) -> None:
    content = [(k, v) for k, v in clear_headers(body) if k.lower().startswith("content-")]
    set_header(body, "From", make_address(ctx.public_address, clean_display_name(public_name) or ""))
    recipients: list[Address] = []
    for entry in to:
        recipient = _recipient(str(entry), ctx)
        if recipient is not None and all(r.addr_spec.lower() != recipient.addr_spec.lower() for r in recipients):
            recipients.append(recipient)
    if recipients:
        set_header(body, "To", recipients)
    title = ctx.scrub(clean_subject(subject))
    if title:
        set_header(body, "Subject", title)
    set_header(body, "Date", date or formatdate(usegmt=True))
    set_message_id(body, message_id)
    thread_headers(body, ctx.scrub(in_reply_to) if in_reply_to else None, [ctx.scrub(r) for r in references])
    set_header(body, "MIME-Version", "1.0")
    for key, value in content:
        body.set_raw(key, value)


def build_reply(
    raw: bytes,
    *,
    public_address: str,
    public_name: str,
    private_mailbox: str,
    to: list[str],
    subject: str,
    in_reply_to: str | None,
    references: list[str],
    message_id: str,
    strip: list[str],
    limits: MailLimits = DEFAULT_LIMITS,
    reply_domain: str | None = None,
    tokens: Sequence[str] = (),
) -> bytes:
    """The owner's reply, re-sent to the correspondent from the public address.

    A new mail is built from the body parts only (text, HTML, attachments, attached
    mails), so no header of the owner's client survives except the Date. Lines in
    ``strip`` (the reply commands) are removed from the text and HTML bodies, and
    every spelling of the private mailbox and of a thread address (any address on
    ``reply_domain``; ``tokens`` and the thread addresses the reply itself names are
    removed too) in any text or HTML part, file name or header becomes the public
    address. Any other part (attachment, calendar, vCard ... at any depth) that
    carries one raises ``PartsHeld`` naming it: it cannot be rewritten, so the reply
    must not leave. Signatures and key parts are dropped (they would name the owner),
    format=flowed text is unflowed, and Content-IDs are renamed onto the public domain.
    """
    guard = Guard(private_mailbox, reply_domain=reply_domain, tokens=tokens, allowed=[public_address])
    guard = guard.with_tokens(guard.tokens_in(bytes(raw)))
    ctx = _Reply(
        public_address=public_address,
        public_domain=public_address.rsplit("@", 1)[-1].strip(" >") or "localhost",
        message_id=message_id,
        guard=guard,
        strip=frozenset(s.strip() for s in strip if s and s.strip()),
        html_strip=[p for p in (_html_line_pattern(s) for s in strip if s) if p is not None],
        limits=limits,
    )
    headers: dict[str, Any] = {
        "public_name": public_name,
        "to": to,
        "subject": subject,
        "in_reply_to": in_reply_to,
        "references": references,
        "message_id": message_id,
    }
    body: Message | None
    date: str | None = None
    try:
        msg = parse_bounded(raw, limits)
        try:
            when = getattr(msg["date"], "datetime", None)
            date = format_datetime(when) if when is not None else None
        except Exception:
            date = None
        _collect_cids(msg, ctx)
        body = _reply_tree(msg, ctx, 0, root=True)
        if body is None:
            body = EmailMessage(policy=IN_POLICY)
            body.set_content("")
        _reply_headers(body, ctx, date=date, **headers)
        data = serialise(body)
    except Exception:
        if ctx.held:
            raise PartsHeld(ctx.held) from None
        body = _reply_fallback_body(raw, ctx)
        _reply_headers(body, ctx, date=date, **headers)
        data = serialise(body)
    if ctx.held:
        raise PartsHeld(ctx.held)
    found = guard.findings(data)  # the last word, on the very bytes returned
    if found:
        raise PartsHeld(found)
    return data
