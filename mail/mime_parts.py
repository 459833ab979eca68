"""Reading and rewriting one MIME part safely: its text, parameters, file name, disposition."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping
from email.message import Message, MIMEPart
from email.utils import collapse_rfc2231_value, encode_rfc2231
from email.utils import quote as quote_param
from typing import Any

from mail.header_safety import (
    MAX_DEPTH,
    header_text,
    safe_text,
    set_header,
)
from mail.text import decode_bytes, fix_surrogates

TOKEN = re.compile(r"[A-Za-z0-9!#$%&'*+.^_`|~-]+")
_SUBTYPE = re.compile(r"[a-z0-9][a-z0-9!#$&^_.+-]*")
_META_CHARSET = re.compile(r"(<meta\b[^>]*?\bcharset\s*=\s*[\"']?)([A-Za-z0-9_.:-]+)", re.IGNORECASE)


def child_parts(part: Message) -> list[MIMEPart]:
    payload = part.get_payload()
    if isinstance(payload, list):
        return [p for p in payload if isinstance(p, MIMEPart)]
    return []


def is_attachment(part: Message) -> bool:
    try:
        return part.get_content_disposition() == "attachment"
    except Exception:
        return False


def part_text(part: Message) -> str:
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
    text = decode_bytes(data, charset)
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return _CONTROLS.sub("", text)


# control characters other than tab, newline and form feed (what a text part may keep)
_CONTROLS = re.compile("[\x00-\x08\x0b\x0d-\x1f\x7f]")


def params_of(part: Message, *, skip: Iterable[str] = ()) -> dict[str, str]:
    skipped = {"charset", "boundary", *(s.lower() for s in skip)}
    out: dict[str, str] = {}
    try:
        params = part.get_params() or []
    except Exception:
        return out
    for key, value in params[1:]:
        key = str(key).strip().lower()
        if not key or key in skipped or not TOKEN.fullmatch(key) or key in out:
            continue
        text = safe_text(fix_surrogates(collapse_rfc2231_value(value)), collapse=False)
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


def add_params(part: Message, params: Mapping[str, str] | None) -> None:
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


def filename_of(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except Exception:
        return None
    if not name:
        return None
    return safe_text(fix_surrogates(str(name)), collapse=False) or None


def disposition_of(part: Message) -> str | None:
    try:
        value = part.get_content_disposition()
    except Exception:
        return None
    return value if value in ("inline", "attachment") else None


def subtype_of(part: Message, default: str) -> str:
    sub = part.get_content_subtype()
    return sub if _SUBTYPE.fullmatch(sub) else default


def reset_text(part: MIMEPart, subtype: str, text: str, *, keep_flowed: bool) -> None:
    """Replace a text part's content, keeping its disposition, file name and ids."""
    extras = [
        (key, header_text(key, value))
        for key, value in part.raw_items()
        if key.lower() in ("content-id", "content-language", "content-location", "content-description")
    ]
    params = params_of(part, skip=() if keep_flowed else ("format", "delsp"))
    disposition = disposition_of(part)
    filename = filename_of(part)
    had_version = "MIME-Version" in part
    part.set_content(text, subtype=subtype, disposition=disposition, filename=filename)
    add_params(part, params)
    if not had_version:
        del part["MIME-Version"]  # parsed sub-parts are EmailMessage, which adds one
    for key, value in extras:
        set_header(part, key, value)


def with_utf8_meta(markup: str) -> str:
    return _META_CHARSET.sub(lambda m: m.group(1) + "utf-8", markup)


# ---------------------------------------------------------------------------
# forward


def walk_no_nested(part: Message, depth: int = 0) -> Iterator[Message]:
    """Parts in document order, not descending into attached messages."""
    if depth > MAX_DEPTH:
        return
    yield part
    if part.get_content_maintype() == "multipart":
        for child in child_parts(part):
            yield from walk_no_nested(child, depth + 1)
