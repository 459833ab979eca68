"""Header safety: nothing taken from a mail can add a header or a line.

Every value is decoded (RFC 2047 included), stripped of control characters and only
then set, so ``Eve\\r\\nBcc: x`` and ``=?utf-8?q?Eve=0D=0ABcc:_x?=`` stay inside the
header they came in; the serialised header block is checked against the message's.
Shared by every builder (forward, ack, reply, notice).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Sequence
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage, Message
from email.utils import parseaddr
from typing import Any

from mail.bounded import POLICY, parse_message
from mail.limits import DEFAULT_LIMITS, MailLimits
from mail.message_ids import MESSAGE_ID
from mail.text import decode_words, fix_surrogates

IN_POLICY = POLICY  # policy.default, each distinct header value parsed once
# refold_source="none": headers copied verbatim (References, In-Reply-To, ...) keep their
# own folding; re-folding them would turn long message ids into RFC 2047 encoded words.
_OUT = policy.SMTP.clone(cte_type="7bit", refold_source="none")
_OUT_8BIT = policy.SMTP.clone(refold_source="none")

MAX_DEPTH = 40

_HEADER_NAME = re.compile(r"[!-9;-~]+")
_TOKEN = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+")
_SUBTYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]*")
_FOLD = re.compile(r"\r?\n(?=[ \t])")
_FOLDED = re.compile(r"[^\r\n]*(?:\r?\n[ \t][^\r\n]*)*")
_ZWJ = "\u200d"


def clean_line(value: str, *, collapse: bool = True) -> str:
    """One line of text: no control, line-separator or invisible formatting characters."""
    out: list[str] = []
    for ch in fix_surrogates(value):
        category = unicodedata.category(ch)
        if category in ("Cc", "Zl", "Zp"):
            out.append(" ")
        elif category == "Cf" and ch != _ZWJ:
            continue
        else:
            out.append(ch)
    text = "".join(out)
    return " ".join(text.split()) if collapse else text.strip()


def unfold(value: str) -> str:
    return _FOLD.sub("", value).replace("\r", " ").replace("\n", " ")


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
    text = fix_surrogates(str(name))
    for _ in range(3):
        decoded = decode_words(text)
        if decoded == text:
            break
        text = decoded
    text = clean_line(text).replace("=?", "?")
    text = re.sub(r'["<>\\]', "", text)
    text = " ".join(text.split()).strip(" '")
    if limit > 0 and len(text) > limit:
        text = text[:limit].rstrip()
    return text or None


def safe_text(value: str, *, collapse: bool = True) -> str:
    """A header or parameter value that no parser can decode into a line break.

    Python's header folding decodes RFC 2047 encoded words (even inside a word or a
    quoted parameter) and writes what they decode to, CR LF included. So encoded words
    are decoded here, as leniently as the header parser does, until nothing changes;
    control characters are then removed, and an ``=?`` still left is broken up.
    """
    text = clean_line(value, collapse=collapse)
    for _ in range(4):
        if "=?" not in text:
            return text
        try:
            decoded = str(IN_POLICY.header_factory("x-decode", text))
        except Exception:
            decoded = decode_words(text)
        decoded = clean_line(decode_words(decoded), collapse=collapse)
        if decoded == text:
            break
        text = decoded
    return text.replace("=?", "= ?")


def clean_subject(value: str | None) -> str:
    if not value:
        return ""
    return clean_line(decode_words(value))[:500]


# ---------------------------------------------------------------------------
# message helpers


def parse_bounded(raw: bytes, limits: MailLimits = DEFAULT_LIMITS) -> EmailMessage:
    """The mail within ``limits``: no parse of it recurses or slows down with its size."""
    return parse_message(bytes(raw), limits, IN_POLICY)[0]


def serialise(msg: Message) -> bytes:
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


def header_text(name: str, value: Any) -> str:
    """The decoded text of a header value (raw source string or header object)."""
    if not isinstance(value, str):
        return fix_surrogates(str(value))
    unfolded = fix_surrogates(unfold(value))  # raw 8-bit bytes: UTF-8, else windows-1252
    try:
        return fix_surrogates(str(IN_POLICY.header_factory(name, unfolded)))
    except Exception:
        return decode_words(unfolded)


def first_header(msg: Message, name: str) -> str | None:
    wanted = name.lower()
    for key, value in msg.raw_items():
        if key.lower() == wanted:
            return header_text(key, value)
    return None


def set_header(msg: Message, name: str, value: Any) -> None:
    """Set a header; a value the header registry refuses is dropped, never raised."""
    if isinstance(value, str):
        value = safe_text(value)
        if not value:
            return
    try:
        msg[name] = value
    except Exception:
        if isinstance(value, str):
            return
        try:
            msg[name] = safe_text(str(value))
        except Exception:
            return


def _needs_rewrite(value: str, name: str = "") -> bool:
    """A raw header that must not be copied as it is."""
    if len(name) > 76:
        return True
    unfolded = unfold(value)
    if any((ord(ch) < 32 and ch != "\t") or ord(ch) == 127 for ch in unfolded):
        return True  # e.g. \x0b, which the generator would turn into a line break
    if any(len(line) > 900 for line in value.splitlines()):
        return True  # RFC 5322 allows 998 characters a line
    return fix_surrogates(unfolded) != unfolded  # raw 8-bit bytes


def append_raw(msg: Message, name: str, value: Any) -> None:
    """Append a header copied from a parsed mail without letting it grow a new line."""
    if len(name) > 76 or not _HEADER_NAME.fullmatch(name):
        return  # not a header anyone wrote (a name must fit on a line with its value)
    if not isinstance(value, str):
        msg.set_raw(name, value)
        return
    unfolded = unfold(value)
    if _needs_rewrite(value):
        cleaned = clean_line(fix_surrogates(unfolded), collapse=False)
        if cleaned:
            set_header(msg, name, cleaned)
        return
    # keep the source's folding when every line break is a fold (CRLF + white space)
    msg.set_raw(name, value.strip() if _FOLDED.fullmatch(value) else unfolded.strip())


def set_ids(msg: Message, name: str, ids: Sequence[str]) -> None:
    """Message-id headers are written as they are, one id per line, never re-encoded."""
    if ids:
        msg.set_raw(name, "\n ".join(ids))


def clear_headers(msg: Message) -> list[tuple[str, Any]]:
    items = list(msg.raw_items())
    for name in {key.lower() for key, _ in items}:
        del msg[name]
    return items


def sanitise_headers(msg: Message) -> None:
    """Re-add a part's headers if any carries a control character or raw 8-bit bytes."""
    items = list(msg.raw_items())
    if not any(isinstance(value, str) and _needs_rewrite(value, name) for name, value in items):
        return
    clear_headers(msg)
    for name, value in items:
        append_raw(msg, name, value)


def make_address(addr: str, display: str | None = None) -> Address | str:
    parsed_name, spec = parseaddr(addr)
    spec = (spec or addr).strip()
    name = clean_display_name(display) if display is not None else clean_display_name(parsed_name)
    try:
        return Address(display_name=name or "", addr_spec=spec)
    except Exception:
        return clean_line(spec)


def msgids(values: Iterable[str | None]) -> list[str]:
    out: list[str] = []
    for value in values:
        if not value:
            continue
        text = fix_surrogates(str(value))
        found = MESSAGE_ID.findall(text)
        if not found:
            bare = text.strip()
            if bare and not re.search(r"[\s<>]", bare):
                found = [f"<{bare}>"]
        for item in found:
            if item.isascii() and item not in out:
                out.append(item)
    return out


def thread_headers(msg: Message, in_reply_to: str | None, references: Sequence[str]) -> None:
    parent = msgids([in_reply_to])
    refs = msgids([*references, *parent])
    if len(refs) > 20:
        refs = [refs[0], *refs[-19:]]
    set_ids(msg, "In-Reply-To", parent[:1])
    set_ids(msg, "References", refs)


def set_message_id(msg: Message, message_id: str) -> None:
    ids = msgids([message_id])
    if ids:
        set_ids(msg, "Message-ID", ids[:1])
    else:
        set_header(msg, "Message-ID", message_id)
