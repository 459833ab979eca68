"""Bounding one header field of a raw mail: its list items, ids, parameters, nested
comments and charsets (what ``mail.bounded``'s scan applies to every field)."""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterable, Iterator
from functools import lru_cache

from mail.limits import safe_charset

ENCODED_WORD_CHARSET = re.compile(rb"=\?([^?\s*]+)((?:\*[^?\s]*)?)\?", re.ASCII)
CHARSET_PARAM = re.compile(rb"""(charset\s*=\s*["']?)([^"';\s]+)""", re.IGNORECASE)
MSG_ID = re.compile(rb"<[^<>]*>")
ADDRESS_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"?|\\.|[(),<>]|[^"\\(),<>]+', re.DOTALL)
PARAM_TOKENS = re.compile(rb'"(?:[^"\\]|\\.)*"?|\\.|;|[^"\\;]+', re.DOTALL)

ADDRESS_HEADERS = frozenset(
    {
        b"from",
        b"to",
        b"cc",
        b"bcc",
        b"reply-to",
        b"sender",
        b"resent-from",
        b"resent-to",
        b"resent-cc",
        b"resent-bcc",
        b"resent-sender",
        b"return-path",
        b"disposition-notification-to",
        b"mail-followup-to",
        b"mail-reply-to",
    }
)
ID_HEADERS = frozenset({b"references", b"in-reply-to"})
PARAM_HEADERS = frozenset({b"content-type", b"content-disposition"})
UNSTRUCTURED = frozenset({b"subject", b"comments", b"keywords"})  # parentheses there are text


@lru_cache(maxsize=1024)
def refused_charset(name: str) -> bool:
    """A charset Python knows but must not decode with (unknown ones the parser
    already decodes as replacement text)."""
    try:
        codecs.lookup(name.strip().strip("\"'"))
    except (LookupError, ValueError):
        return False
    return safe_charset(name) is None


def eol_of(data: bytes) -> bytes:
    if data.endswith(b"\r\n"):
        return b"\r\n"
    if data.endswith((b"\n", b"\r")):
        return data[-1:]
    return b"\r\n"


def _outside_deep_comments(tokens: Iterable[bytes], comment_depth: int) -> Iterator[tuple[bytes, int]]:
    """The tokens not inside a (comment) nested deeper than ``comment_depth``, each with
    the comment depth after it: one reading of nesting for every bounded field."""
    depth = 0
    for token in tokens:
        if token == b"(":
            depth += 1
            if depth > comment_depth:
                continue
        elif token == b")":
            if depth:
                depth -= 1
                if depth >= comment_depth:
                    continue
        elif depth > comment_depth:
            continue
        yield token, depth


def bound_list(field: bytes, items: int, comment_depth: int, tokens: re.Pattern[bytes], separator: bytes) -> bytes:
    """The field cut after ``items`` top-level separators, without comments nested deeper
    than ``comment_depth``; the same object when nothing had to change."""
    if field.count(separator) < items and field.count(b"(") <= comment_depth:
        return field
    head, colon, value = field.partition(b":")
    out = [head, colon]
    angle = seen = 0
    for token, depth in _outside_deep_comments((m.group() for m in tokens.finditer(value)), comment_depth):
        if depth == 0 and token == b"<":
            angle += 1
        elif depth == 0 and token == b">":
            angle = max(0, angle - 1)
        elif depth == 0 and angle == 0 and token == separator:
            seen += 1
            if seen >= items:
                break
        out.append(token)
    text = b"".join(out).rstrip(b"\r\n")
    return text + eol_of(field)


def flatten_comments(field: bytes, comment_depth: int) -> bytes:
    tokens = (m.group() for m in re.finditer(rb"[()]|[^()]+", field))
    out = b"".join(token for token, _ in _outside_deep_comments(tokens, comment_depth))
    return out if len(out) != len(field) else field
