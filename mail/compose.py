"""Build the three kinds of outbound mail: the forwarded copy, the acknowledgement, the reply.

Pure functions from bytes and plain values to bytes; no AWS. Parsing uses the standard
``email`` package with ``policy.default``; output is serialised with ``policy.SMTP``
(CRLF line ends, long headers folded) restricted to 7-bit, falling back to plain
``policy.SMTP`` when a broken part cannot be re-encoded.

Three rules hold everywhere:

* nothing taken from a mail can add a header: every value is decoded (RFC 2047
  included), stripped of control characters and only then set, so ``Eve\\r\\nBcc: x``
  and ``=?utf-8?q?Eve=0D=0ABcc:_x?=`` stay inside the header they came in;
* ``build_forward`` and ``build_reply`` never raise because of the mail: a part that
  cannot be kept degrades (re-decoded with replacement characters, dropped, or the
  whole mail forwarded as text);
* nothing ``build_reply`` returns carries the private mailbox or a thread address or
  token, in any part or spelling (``mail.leaks``): text and HTML are rewritten, and a
  reply whose other parts carry one raises ``PartsHeld`` naming them; a last check on
  the serialised result raises it too.
"""

from __future__ import annotations

import base64
import hashlib
import html
import re
import string
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from email import policy
from email.header import decode_header
from email.headerregistry import Address
from email.message import EmailMessage, Message, MIMEPart
from email.utils import collapse_rfc2231_value, encode_rfc2231, format_datetime, formatdate, parseaddr
from email.utils import quote as quote_param
from typing import Any
from urllib.parse import quote

from mail.bounded import POLICY, parse_message
from mail.echo import NAME_LIMIT, SUBJECT_LIMIT, echo
from mail.leaks import Finding, Guard, PartsHeld
from mail.limits import DEFAULT_LIMITS, MailLimits, safe_charset
from mail.parsing import html_to_text

_IN = POLICY  # policy.default, each distinct header value parsed once
# refold_source="none": headers copied verbatim (References, In-Reply-To, ...) keep their
# own folding; re-folding them would turn long message ids into RFC 2047 encoded words.
_OUT = policy.SMTP.clone(cte_type="7bit", refold_source="none")
_OUT_8BIT = policy.SMTP.clone(refold_source="none")

_MAX_DEPTH = 40

ATTACHMENTS_REMOVED = "Attachments were removed because the mail is larger than the sending limit"
TEXT_CUT = "The text was cut because the mail is larger than the sending limit"

DEFAULT_ACK_SUBJECT = "Re: {subject}"
DEFAULT_ACK_TEXT = (
    "Hello {name},\n\n"
    'thank you for your message "{subject}". It has arrived, and you will get a personal '
    "answer as soon as possible.\n\n"
    "Reference: {conversation_id}\n\n"
    "{public_name}\n"
)
DEFAULT_ACK_HTML = (
    "<!DOCTYPE html>\n<html><body>\n"
    "<p>Hello {name},</p>\n"
    "<p>thank you for your message &ldquo;{subject}&rdquo;. It has arrived, and you will get a "
    "personal answer as soon as possible.</p>\n"
    "<p>Reference: {conversation_id}</p>\n"
    "<p>{public_name}</p>\n"
    "</body></html>\n"
)

# ---------------------------------------------------------------------------
# text helpers


_HEADER_NAME = re.compile(r"[!-9;-~]+")
_TOKEN = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+")
_SUBTYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]*")
_MSGID = re.compile(r"<[^<>\s]+>")
_FOLD = re.compile(r"\r?\n(?=[ \t])")
_FOLDED = re.compile(r"[^\r\n]*(?:\r?\n[ \t][^\r\n]*)*")
_RE_PREFIX = re.compile(r"^\s*(?:(?:re|aw|sv)\s*(?:\[\d+\]|\(\d+\))?\s*:\s*)+", re.IGNORECASE)
_BODY_TAG = re.compile(r"<body\b[^>]*>", re.IGNORECASE)
_META_CHARSET = re.compile(r"(<meta\b[^>]*?\bcharset\s*=\s*[\"']?)([A-Za-z0-9_.:-]+)", re.IGNORECASE)
_ZWJ = "\u200d"


def _fix_surrogates(value: str) -> str:
    """Turn the surrogate escapes of a mail's raw 8-bit bytes into real characters."""
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        pass
    try:
        data = value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return value.encode("utf-8", "replace").decode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace")


def _clean(value: str, *, collapse: bool = True) -> str:
    """One line of text: no control, line-separator or invisible formatting characters."""
    out: list[str] = []
    for ch in _fix_surrogates(value):
        category = unicodedata.category(ch)
        if category in ("Cc", "Zl", "Zp"):
            out.append(" ")
        elif category == "Cf" and ch != _ZWJ:
            continue
        else:
            out.append(ch)
    text = "".join(out)
    return " ".join(text.split()) if collapse else text.strip()


def _decode_bytes(data: bytes, charset: str | None) -> str:
    """Decode with the declared charset, else UTF-8, else with replacement characters."""
    declared_ok = False
    codec = safe_charset(charset)  # idna, punycode, rot13 ...: never decoded with
    if codec:
        try:
            return data.decode(codec)
        except UnicodeDecodeError:
            declared_ok = True
        except Exception:  # a stateful codec failing otherwise
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    if declared_ok and codec:
        try:
            return data.decode(codec, "replace")
        except Exception:
            pass
    return data.decode("cp1252", "replace")


def _decode_words(text: str) -> str:
    """Decode RFC 2047 encoded words; leave the text alone when that fails."""
    if "=?" not in text:
        return text
    try:
        chunks = decode_header(text)
    except Exception:
        return text
    out: list[str] = []
    for chunk, charset in chunks:
        if isinstance(chunk, str):
            out.append(chunk)
        elif charset is None:
            try:
                out.append(chunk.decode("raw-unicode-escape"))
            except UnicodeDecodeError:
                out.append(chunk.decode("latin-1"))
        else:
            out.append(_decode_bytes(chunk, charset))
    return "".join(out)


def _unfold(value: str) -> str:
    return _FOLD.sub("", value).replace("\r", " ").replace("\n", " ")


def _strip_re(subject: str) -> str:
    return _RE_PREFIX.sub("", subject, count=1).strip()


_html_to_text = html_to_text  # one HTML-to-text for parsing and building


def clean_display_name(name: str | None, limit: int = 78) -> str | None:
    """A display name that is safe in any header: one line, no quotes or angle brackets.

    RFC 2047 encoded words are decoded first (repeatedly, so nested encodings cannot
    smuggle a line break through), then CR, LF, U+2028, U+2029, other control and
    invisible formatting characters become spaces, quotes, backslashes and angle
    brackets are removed, whitespace is collapsed and the result cut to ``limit``.

    >>> clean_display_name('  "Eve"\\r\\nBcc: x@y ')
    'Eve Bcc: x@y'
    >>> clean_display_name("=?utf-8?q?evil=0D=0ABcc:_x@y?=")
    'evil Bcc: x@y'
    >>> clean_display_name("  ") is None
    True
    """
    if not name:
        return None
    text = _fix_surrogates(str(name))
    for _ in range(3):
        decoded = _decode_words(text)
        if decoded == text:
            break
        text = decoded
    text = _clean(text).replace("=?", "?")
    text = re.sub(r'["<>\\]', "", text)
    text = " ".join(text.split()).strip(" '")
    if limit > 0 and len(text) > limit:
        text = text[:limit].rstrip()
    return text or None


def _safe_text(value: str, *, collapse: bool = True) -> str:
    """A header or parameter value that no parser can decode into a line break.

    Python's header folding decodes RFC 2047 encoded words (even inside a word or a
    quoted parameter) and writes what they decode to, CR LF included. So encoded words
    are decoded here, as leniently as the header parser does, until nothing changes;
    control characters are then removed, and an ``=?`` still left is broken up.
    """
    text = _clean(value, collapse=collapse)
    for _ in range(4):
        if "=?" not in text:
            return text
        try:
            decoded = str(_IN.header_factory("x-decode", text))
        except Exception:
            decoded = _decode_words(text)
        decoded = _clean(_decode_words(decoded), collapse=collapse)
        if decoded == text:
            break
        text = decoded
    return text.replace("=?", "= ?")


def _clean_subject(value: str | None) -> str:
    if not value:
        return ""
    return _clean(_decode_words(value))[:500]


# ---------------------------------------------------------------------------
# message helpers


def _parse(raw: bytes, limits: MailLimits = DEFAULT_LIMITS) -> EmailMessage:
    """The mail within ``limits``: no parse of it recurses or slows down with its size."""
    return parse_message(bytes(raw), limits, _IN)[0]


def _serialise(msg: Message) -> bytes:
    error: Exception | None = None
    for pol in (_OUT, _OUT_8BIT):
        try:
            data = msg.as_bytes(policy=pol)
        except Exception as exc:  # a broken part the generator cannot re-encode
            error = exc
            continue
        _check_header_block(msg, data)
        return data
    assert error is not None
    raise error


def _check_header_block(msg: Message, data: bytes) -> None:
    """The written top-level headers are exactly the message's: nothing was injected."""
    block = data.split(b"\r\n\r\n", 1)[0]
    written: list[str] = []
    for line in block.split(b"\r\n"):
        if line[:1] in (b" ", b"\t"):
            continue
        name, colon, _ = line.partition(b":")
        if not colon or not _HEADER_NAME.fullmatch(name.decode("latin-1")):
            raise ValueError(f"malformed header line {line[:40]!r}")
        written.append(name.decode("ascii").lower())
    if sorted(written) != sorted(key.lower() for key, _ in msg.raw_items()):
        raise ValueError("the written headers differ from the message's")


def _header_text(name: str, value: Any) -> str:
    """The decoded text of a header value (raw source string or header object)."""
    if not isinstance(value, str):
        return _fix_surrogates(str(value))
    unfolded = _fix_surrogates(_unfold(value))  # raw 8-bit bytes: UTF-8, else windows-1252
    try:
        return _fix_surrogates(str(_IN.header_factory(name, unfolded)))
    except Exception:
        return _decode_words(unfolded)


def _first_header(msg: Message, name: str) -> str | None:
    wanted = name.lower()
    for key, value in msg.raw_items():
        if key.lower() == wanted:
            return _header_text(key, value)
    return None


def _set(msg: Message, name: str, value: Any) -> None:
    """Set a header; a value the header registry refuses is dropped, never raised."""
    if isinstance(value, str):
        value = _safe_text(value)
        if not value:
            return
    try:
        msg[name] = value
    except Exception:
        if isinstance(value, str):
            return
        try:
            msg[name] = _safe_text(str(value))
        except Exception:
            return


def _needs_rewrite(value: str, name: str = "") -> bool:
    """A raw header that must not be copied as it is."""
    if len(name) > 76:
        return True
    unfolded = _unfold(value)
    if any((ord(ch) < 32 and ch != "\t") or ord(ch) == 127 for ch in unfolded):
        return True  # e.g. \x0b, which the generator would turn into a line break
    if any(len(line) > 900 for line in value.splitlines()):
        return True  # RFC 5322 allows 998 characters a line
    return _fix_surrogates(unfolded) != unfolded  # raw 8-bit bytes


def _append_raw(msg: Message, name: str, value: Any) -> None:
    """Append a header copied from a parsed mail without letting it grow a new line."""
    if len(name) > 76 or not _HEADER_NAME.fullmatch(name):
        return  # not a header anyone wrote (a name must fit on a line with its value)
    if not isinstance(value, str):
        msg.set_raw(name, value)
        return
    unfolded = _unfold(value)
    if _needs_rewrite(value):
        cleaned = _clean(_fix_surrogates(unfolded), collapse=False)
        if cleaned:
            _set(msg, name, cleaned)
        return
    # keep the source's folding when every line break is a fold (CRLF + white space)
    msg.set_raw(name, value.strip() if _FOLDED.fullmatch(value) else unfolded.strip())


def _set_ids(msg: Message, name: str, ids: Sequence[str]) -> None:
    """Message-id headers are written as they are, one id per line, never re-encoded."""
    if ids:
        msg.set_raw(name, "\n ".join(ids))


def _clear_headers(msg: Message) -> list[tuple[str, Any]]:
    items = list(msg.raw_items())
    for name in {key.lower() for key, _ in items}:
        del msg[name]
    return items


def _sanitise_headers(msg: Message) -> None:
    """Re-add a part's headers if any carries a control character or raw 8-bit bytes."""
    items = list(msg.raw_items())
    if not any(isinstance(value, str) and _needs_rewrite(value, name) for name, value in items):
        return
    _clear_headers(msg)
    for name, value in items:
        _append_raw(msg, name, value)


def _address(addr: str, display: str | None = None) -> Address | str:
    parsed_name, spec = parseaddr(addr)
    spec = (spec or addr).strip()
    name = clean_display_name(display) if display is not None else clean_display_name(parsed_name)
    try:
        return Address(display_name=name or "", addr_spec=spec)
    except Exception:
        return _clean(spec)


def _children(part: Message) -> list[MIMEPart]:
    payload = part.get_payload()
    if isinstance(payload, list):
        return [p for p in payload if isinstance(p, MIMEPart)]
    return []


def _is_attachment(part: Message) -> bool:
    try:
        return part.get_content_disposition() == "attachment"
    except Exception:
        return False


def _part_text(part: Message) -> str:
    """A text part's content, whatever its charset and transfer encoding claim."""
    data: Any
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if not isinstance(data, bytes):
        payload = part.get_payload()
        data = payload.encode("utf-8", "surrogateescape") if isinstance(payload, str) else b""
    try:
        charset = part.get_content_charset()
    except Exception:
        charset = None
    text = _decode_bytes(data, charset)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROLS.sub("", text)


# control characters other than tab, newline and form feed (what a text part may keep)
_CONTROLS = re.compile("[\x00-\x08\x0b\x0d-\x1f\x7f]")


def _params(part: Message, *, skip: Iterable[str] = ()) -> dict[str, str]:
    skipped = {"charset", "boundary", *(s.lower() for s in skip)}
    out: dict[str, str] = {}
    try:
        params = part.get_params() or []
    except Exception:
        return out
    for key, value in params[1:]:
        key = str(key).strip().lower()
        if not key or key in skipped or not _TOKEN.fullmatch(key) or key in out:
            continue
        text = _safe_text(_fix_surrogates(collapse_rfc2231_value(value)), collapse=False)
        if text:
            out[key] = text
    return out


def _formatparam(key: str, value: str) -> str:
    """``key="value"``, or RFC 2231 ``key*=utf-8''...`` for non-ASCII (as ``set_param`` writes)."""
    if not value:
        return key
    if not value.isascii():
        return f"{key}*={encode_rfc2231(value, 'utf-8', '')}"
    return f'{key}="{quote_param(value)}"'


def _add_params(part: Message, params: Mapping[str, str] | None) -> None:
    """Add parameters to Content-Type in one header write: ``set_param`` (and
    ``set_content(params=...)``) re-parse the whole header once per parameter, which
    made a mail with 2,000 parameters take over a minute."""
    if not params:
        return
    existing = {str(k).lower() for k, _ in (part.get_params() or [])[1:]}
    for key in [k for k in params if k.lower() in existing]:
        part.set_param(key, params[key])  # a replacement (charset): one at most
    fresh = [_formatparam(k, v) for k, v in params.items() if k.lower() not in existing]
    if fresh:
        value = "; ".join([str(part.get("Content-Type", "text/plain")), *fresh])
        del part["Content-Type"]
        part["Content-Type"] = value


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except Exception:
        return None
    if not name:
        return None
    return _safe_text(_fix_surrogates(str(name)), collapse=False) or None


def _disposition(part: Message) -> str | None:
    try:
        value = part.get_content_disposition()
    except Exception:
        return None
    return value if value in ("inline", "attachment") else None


def _subtype(part: Message, default: str) -> str:
    sub = part.get_content_subtype()
    return sub if _SUBTYPE.fullmatch(sub) else default


def _reset_text(part: MIMEPart, subtype: str, text: str, *, keep_flowed: bool) -> None:
    """Replace a text part's content, keeping its disposition, file name and ids."""
    extras = [
        (key, _header_text(key, value))
        for key, value in part.raw_items()
        if key.lower() in ("content-id", "content-language", "content-location", "content-description")
    ]
    params = _params(part, skip=() if keep_flowed else ("format", "delsp"))
    disposition = _disposition(part)
    filename = _filename(part)
    had_version = "MIME-Version" in part
    part.set_content(text, subtype=subtype, disposition=disposition, filename=filename)
    _add_params(part, params)
    if not had_version:
        del part["MIME-Version"]  # parsed sub-parts are EmailMessage, which adds one
    for key, value in extras:
        _set(part, key, value)


def _with_utf8_meta(markup: str) -> str:
    return _META_CHARSET.sub(lambda m: m.group(1) + "utf-8", markup)


# ---------------------------------------------------------------------------
# forward


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


@dataclass(frozen=True)
class _Forward:
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
    top = tuple(_clean(line) for line in fwd.top if line)
    if msg is None:
        return _Original(from_=_clean(fallback_from), top=top)

    def get(key: str) -> str:
        return _clean(_first_header(msg, key) or "")

    info = _Original(
        from_=get("from") or _clean(fallback_from),
        to=get("to"),
        cc=get("cc"),
        date=get("date"),
        message_id=get("message-id"),
        subject=_clean_subject(_first_header(msg, "subject")),
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
    _set(msg, "From", _address(fwd.public_address, display))
    _set(msg, "To", _address(fwd.private_mailbox))
    _set(msg, "Reply-To", _address(fwd.reply_to, display))
    if orig.subject:
        _set(msg, "Subject", orig.subject)
    _set(msg, "Date", orig.date_header or formatdate(usegmt=True))
    _set_message_id(msg, fwd.message_id)
    for key, value in (
        ("X-Original-From", orig.from_),
        ("X-Original-To", orig.to),
        ("X-Original-Cc", orig.cc),
        ("X-Original-Date", orig.date),
    ):
        if value:
            _set(msg, key, value)
    original_ids = _msgids([orig.message_id])
    if original_ids:
        _set_ids(msg, "X-Original-Message-ID", original_ids[:1])
    elif orig.message_id:
        _set(msg, "X-Original-Message-ID", orig.message_id)
    _set(msg, "X-CRM-Forwarded", "yes")
    _set(msg, "MIME-Version", "1.0")
    for key, value in orig.kept:
        if content or not key.lower().startswith("content-"):
            _append_raw(msg, key, value)


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


def _walk_no_nested(part: Message, depth: int = 0) -> Iterator[Message]:
    """Parts in document order, not descending into attached messages."""
    if depth > _MAX_DEPTH:
        return
    yield part
    if part.get_content_maintype() == "multipart":
        for child in _children(part):
            yield from _walk_no_nested(child, depth + 1)


def _bodies(msg: Message, *, through_signed: bool) -> tuple[MIMEPart | None, MIMEPart | None]:
    """The first inline text/plain and text/html parts, outside attached messages."""
    plain: MIMEPart | None = None
    markup: MIMEPart | None = None

    def visit(part: MIMEPart, depth: int) -> None:
        nonlocal plain, markup
        if depth > _MAX_DEPTH or _is_attachment(part):
            return
        ctype = part.get_content_type()
        if ctype == "text/plain" and plain is None:
            plain = part
        elif ctype == "text/html" and markup is None:
            markup = part
        elif part.get_content_maintype() == "multipart":
            if ctype == "multipart/encrypted" or (ctype == "multipart/signed" and not through_signed):
                return
            for child in _children(part):
                visit(child, depth + 1)

    if isinstance(msg, MIMEPart):
        visit(msg, 0)
    return plain, markup


def _has_protected(msg: Message) -> bool:
    return any(
        part.get_content_type() in ("multipart/signed", "multipart/encrypted") for part in _walk_no_nested(msg)
    )


def _attachment_names(msg: Message, keep: Sequence[Message | None]) -> list[str]:
    names: list[str] = []
    for part in _walk_no_nested(msg):
        if any(part is k for k in keep) or part.get_content_maintype() == "multipart":
            continue
        names.append(_filename(part) or part.get_content_type())
    return names


def _removed_note(fwd: _Forward, names: Sequence[str]) -> list[str]:
    link = _clean(fwd.raw_link or "")
    until = _clean(fwd.raw_link_until or "")
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
    msg = _parse(raw, fwd.limits)
    if msg.get_content_maintype() == "multipart" and not _children(msg):
        raise ValueError("multipart mail without parts")
    orig = _original(msg, fwd)
    for part in msg.walk():
        if part is not msg:
            _sanitise_headers(part)
        _rewrap_long_lines(part)
    _clear_headers(msg)
    _forward_headers(msg, fwd, orig, content=True)
    text_block, html_block = _text_block(orig, ()), _html_block(orig, ())
    plain, markup = (None, None) if _has_protected(msg) else _bodies(msg, through_signed=False)
    if plain is None and markup is None:
        # Nothing to write into without breaking it (signed, encrypted, attachment only):
        # the block becomes its own first part.
        if msg.get_content_type() != "multipart/mixed":
            msg.make_mixed()
        block = MIMEPart(policy=_IN)
        block.set_content(text_block, disposition="inline")
        payload = msg.get_payload()
        assert isinstance(payload, list)
        payload.insert(0, block)
    if plain is not None:
        keep_flowed = str(plain.get_param("format", "") or "").lower() == "flowed"
        _reset_text(plain, "plain", text_block + _part_text(plain), keep_flowed=keep_flowed)
    if markup is not None:
        _reset_text(markup, "html", _with_utf8_meta(_insert_html(_part_text(markup), html_block)), keep_flowed=False)
    return _serialise(msg)


def _forward_bodies_only(raw: bytes, fwd: _Forward) -> bytes:
    msg = _parse(raw, fwd.limits)
    orig = _original(msg, fwd)
    plain_part, html_part = _bodies(msg, through_signed=True)
    notes = _removed_note(fwd, _attachment_names(msg, (plain_part, html_part)))
    link = _clean(fwd.raw_link or "") or None
    plain = _part_text(plain_part) if plain_part is not None else None
    markup = _part_text(html_part) if html_part is not None else None
    out = EmailMessage(policy=_IN)
    _forward_headers(out, fwd, orig, content=False)
    if plain is None and markup is None:
        plain = ""
    if plain is not None:
        out.set_content(_text_block(orig, notes) + plain)
        if markup is not None:
            out.add_alternative(_with_utf8_meta(_insert_html(markup, _html_block(orig, notes, link))), subtype="html")
    elif markup is not None:
        out.set_content(_with_utf8_meta(_insert_html(markup, _html_block(orig, notes, link))), subtype="html")
    data = _serialise(out)
    if _fits(data, fwd):
        return data
    text = plain if plain is not None else _html_to_text(markup or "")
    return _forward_text(fwd, orig, text, notes)


def _forward_text(fwd: _Forward, orig: _Original, text: str, notes: Sequence[str]) -> bytes:
    """A text/plain forward, cut until it fits."""
    text = text.replace("\x00", "")
    current, used = text, list(notes)
    data = b""
    for _ in range(12):
        out = EmailMessage(policy=_IN)
        _forward_headers(out, fwd, orig, content=False)
        out.set_content(_text_block(orig, used) + current)
        data = _serialise(out)
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
        msg = _parse(raw, fwd.limits)
    except Exception:
        msg = None
    try:
        orig = _original(msg, fwd)
        orig.kept = [(k, v) for k, v in orig.kept if not k.lower().startswith("content-")]
    except Exception:
        orig = _original(None, fwd)
    text = _decode_bytes(bytes(raw), None).replace("\r\n", "\n")
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


# ---------------------------------------------------------------------------
# ack


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


def _msgids(values: Iterable[str | None]) -> list[str]:
    out: list[str] = []
    for value in values:
        if not value:
            continue
        text = _fix_surrogates(str(value))
        found = _MSGID.findall(text)
        if not found:
            bare = text.strip()
            if bare and not re.search(r"[\s<>]", bare):
                found = [f"<{bare}>"]
        for item in found:
            if item.isascii() and item not in out:
                out.append(item)
    return out


def _thread_headers(msg: Message, in_reply_to: str | None, references: Sequence[str]) -> None:
    parent = _msgids([in_reply_to])
    refs = _msgids([*references, *parent])
    if len(refs) > 20:
        refs = [refs[0], *refs[-19:]]
    _set_ids(msg, "In-Reply-To", parent[:1])
    _set_ids(msg, "References", refs)


def _set_message_id(msg: Message, message_id: str) -> None:
    ids = _msgids([message_id])
    if ids:
        _set_ids(msg, "Message-ID", ids[:1])
    else:
        _set(msg, "Message-ID", message_id)


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
    topic = echo(_strip_re(_clean_subject(subject)), SUBJECT_LIMIT) or "your message"
    values = {
        "name": clean_name,
        "subject": topic,
        "conversation_id": _clean(conversation_id),
        "public_name": clean_public,
    }
    escaped = {key: html.escape(value) for key, value in values.items()}
    title = _clean(_fill(subject_template, DEFAULT_ACK_SUBJECT, values)) or _clean(
        _fill(DEFAULT_ACK_SUBJECT, DEFAULT_ACK_SUBJECT, values)
    )
    try:
        text = _Fields().vformat(text_template, (), values)
        markup = _Fields().vformat(html_template, (), escaped)
    except _FORMAT_ERRORS:
        text = _Fields().vformat(DEFAULT_ACK_TEXT, (), values)
        markup = _Fields().vformat(DEFAULT_ACK_HTML, (), escaped)

    msg = EmailMessage(policy=_IN)
    _set(msg, "From", _address(public_address, clean_public))
    _set(msg, "To", _address(to, name or None))
    _set(msg, "Subject", title[:250])
    _set(msg, "Date", formatdate(usegmt=True))
    _set_message_id(msg, message_id)
    _thread_headers(msg, in_reply_to, references)
    _set(msg, "Auto-Submitted", "auto-replied")
    _set(msg, "X-Auto-Response-Suppress", "All")
    msg.set_content(text)
    msg.add_alternative(markup, subtype="html")
    return _serialise(msg)


# ---------------------------------------------------------------------------
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
                ctx.cid(_header_text(key, value))


def _leaf_extras(part: Message, new: Message, ctx: _Reply) -> None:
    for key, value in part.raw_items():
        lower = key.lower()
        if lower == "content-id":
            _set(new, "Content-ID", f"<{ctx.cid(_header_text(key, value))}>")
        elif lower in ("content-language", "content-location", "content-description"):
            _set(new, key, ctx.scrub(_header_text(key, value)))


def _leaf_options(part: Message, ctx: _Reply, *, skip: Iterable[str] = ()) -> dict[str, Any]:
    name = _filename(part)
    params = {key: ctx.scrub(value) for key, value in _params(part, skip=("format", "delsp", *skip)).items()}
    return {
        "disposition": _disposition(part),
        "filename": ctx.scrub(name) if name else None,
        "params": params or None,
    }


def _set_leaf(new: MIMEPart, content: Any, *args: Any, **options: Any) -> None:
    """``set_content`` with the parameters added in one write (see :func:`_add_params`)."""
    params = options.pop("params", None)
    new.set_content(content, *args, **options)
    _add_params(new, params)


def _reply_text(part: Message, ctx: _Reply, new: MIMEPart, path: str) -> MIMEPart | None:
    subtype = _subtype(part, "plain") if part.get_content_maintype() == "text" else "plain"
    if subtype not in ("plain", "html") and ctx.hold(part, path):
        return None  # a calendar, a vCard, CSV ...: rewriting would change what it means
    text = _part_text(part)
    if str(part.get_param("format", "") or "").lower() == "flowed":
        text = _unflow(text, str(part.get_param("delsp", "") or "").lower() == "yes")
    inline_body = not _is_attachment(part) and subtype in ("plain", "html")
    if inline_body and subtype == "plain":
        text = _strip_plain(text, ctx.strip)
    elif inline_body:
        for pattern in ctx.html_strip:
            text = pattern.sub("", text)
        text = _with_utf8_meta(ctx.cids_in_html(text))
    scrubbed = ctx.scrub(text, html=subtype == "html")
    options = _leaf_options(part, ctx)
    if not inline_body and scrubbed == text:
        # an unchanged text attachment keeps its exact bytes and charset
        data = part.get_payload(decode=True)
        if isinstance(data, bytes):
            charset = part.get_content_charset()
            if charset and _TOKEN.fullmatch(charset):
                options["params"] = {**(options["params"] or {}), "charset": charset}
            _set_leaf(new, data, "text", subtype, **options)
            _leaf_extras(part, new, ctx)
            return new
    _set_leaf(new, scrubbed, subtype=subtype, **options)
    _leaf_extras(part, new, ctx)
    return new


def _nested_headers(inner: Message, new_inner: Message, ctx: _Reply) -> None:
    items = _clear_headers(new_inner)
    seen: set[str] = set()
    for key, value in inner.raw_items():
        lower = key.lower()
        if lower not in _NESTED_KEEP or lower in seen:
            continue
        seen.add(lower)
        _set(new_inner, key.title(), ctx.scrub(_clean(_header_text(key, value))))
    new_inner.set_raw("MIME-Version", "1.0")
    for key, value in items:
        if key.lower() != "mime-version":
            new_inner.set_raw(key, value)


def _reply_tree(part: Message, ctx: _Reply, depth: int, *, root: bool = False, path: str = "") -> MIMEPart | None:
    if depth > _MAX_DEPTH:
        return None
    new: MIMEPart = EmailMessage(policy=_IN) if root else MIMEPart(policy=_IN)
    ctype = part.get_content_type()
    maintype = part.get_content_maintype()
    if maintype == "multipart" and _children(part):
        children = _children(part)
        if ctype == "multipart/signed":
            # the signature cannot survive the rewrite, and its certificate or key names the owner
            return _reply_tree(children[0], ctx, depth + 1, root=root, path=_sub_path(path, 1))
        built = [c for c in (_reply_tree(child, ctx, depth + 1, path=_sub_path(path, index))
                             for index, child in enumerate(children, 1)) if c is not None]
        if not built:
            return None
        new["Content-Type"] = "multipart/" + _subtype(part, "mixed")
        params = {}
        for key, value in _params(part).items():
            if key == "start":  # the Content-ID of the root part of a multipart/related
                value = "<" + ctx.cid(value) + ">"
            params[key] = ctx.scrub(value)
        _add_params(new, params)
        for child in built:
            new.attach(child)
        return new
    if maintype == "message":
        children = _children(part)
        if ctype not in ("message/rfc822", "message/global") or not children:
            return None
        inner = children[0]
        new_inner = _reply_tree(inner, ctx, depth + 1, root=True, path=path)
        if new_inner is None:
            new_inner = EmailMessage(policy=_IN)
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
    _set_leaf(new, data, maintype, _subtype(part, "octet-stream"), **_leaf_options(part, ctx))
    _leaf_extras(part, new, ctx)
    return new


def _sub_path(path: str, index: int) -> str:
    return f"{path}.{index}" if path else str(index)


def _reply_fallback_body(raw: bytes, ctx: _Reply) -> EmailMessage:
    """The reply's text when the mail could not be rebuilt: its text parts, else the raw body."""
    found: list[str] = []
    try:
        for part in _walk_no_nested(_parse(raw, ctx.limits)):
            if part.get_content_type() == "text/plain" and not _is_attachment(part):
                found.append(_part_text(part))
    except Exception:
        found = []
    if found:
        body = "\n\n".join(found)
    else:
        text = _decode_bytes(bytes(raw), None).replace("\r\n", "\n").replace("\r", "\n")
        body = text.split("\n\n", 1)[1] if "\n\n" in text else ""
    body = "".join(ch for ch in body if ch in "\t\n" or not (ord(ch) < 32 or ord(ch) == 127))
    msg = EmailMessage(policy=_IN)
    msg.set_content(ctx.scrub(_strip_plain(body, ctx.strip)))
    return msg


_ANGLE_ADDR = re.compile(r"^(?P<name>.*)<(?P<spec>[^<>]*)>\s*$", re.DOTALL)


def _recipient(entry: str, ctx: _Reply) -> Address | None:
    """``addr`` or ``Name <addr>``; a display name may hold anything (even an address)."""
    text = _fix_surrogates(entry)
    match = _ANGLE_ADDR.match(text)
    display, spec = (match.group("name"), match.group("spec")) if match else ("", text)
    spec = _clean(spec)
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
    content = [(k, v) for k, v in _clear_headers(body) if k.lower().startswith("content-")]
    _set(body, "From", _address(ctx.public_address, clean_display_name(public_name) or ""))
    recipients: list[Address] = []
    for entry in to:
        recipient = _recipient(str(entry), ctx)
        if recipient is not None and all(r.addr_spec.lower() != recipient.addr_spec.lower() for r in recipients):
            recipients.append(recipient)
    if recipients:
        _set(body, "To", recipients)
    title = ctx.scrub(_clean_subject(subject))
    if title:
        _set(body, "Subject", title)
    _set(body, "Date", date or formatdate(usegmt=True))
    _set_message_id(body, message_id)
    _thread_headers(body, ctx.scrub(in_reply_to) if in_reply_to else None, [ctx.scrub(r) for r in references])
    _set(body, "MIME-Version", "1.0")
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
        msg = _parse(raw, limits)
        try:
            when = getattr(msg["date"], "datetime", None)
            date = format_datetime(when) if when is not None else None
        except Exception:
            date = None
        _collect_cids(msg, ctx)
        body = _reply_tree(msg, ctx, 0, root=True)
        if body is None:
            body = EmailMessage(policy=_IN)
            body.set_content("")
        _reply_headers(body, ctx, date=date, **headers)
        data = _serialise(body)
    except Exception:
        if ctx.held:
            raise PartsHeld(ctx.held) from None
        body = _reply_fallback_body(raw, ctx)
        _reply_headers(body, ctx, date=date, **headers)
        data = _serialise(body)
    if ctx.held:
        raise PartsHeld(ctx.held)
    found = guard.findings(data)  # the last word, on the very bytes returned
    if found:
        raise PartsHeld(found)
    return data


def build_notice(*, public_address: str, public_name: str, private_mailbox: str, subject: str, text: str,
                 message_id: str) -> bytes:
    """A mail from the system to the owner (rule notices, follow-up reminders).

    Subject and text come from rules and may quote mail content, so they go through
    the same guards as every other header here.
    """
    msg = EmailMessage(policy=_IN)
    _set(msg, "From", _address(public_address, clean_display_name(f"{public_name} CRM")))
    _set(msg, "To", private_mailbox)
    _set(msg, "Subject", _safe_text(subject)[:200] or "(no subject)")
    _set(msg, "Date", formatdate(localtime=False))
    _set_message_id(msg, message_id)
    _set(msg, "Auto-Submitted", "auto-generated")
    msg.set_content(text)
    return _serialise(msg)
