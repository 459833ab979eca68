"""The limits every parse of a mail works within, and the charsets it will decode with.

A public address receives whatever the internet sends. Each limit below bounds
the work one hostile mail can cause in the standard ``email`` parser and in our
own walks; what exceeds a limit is truncated and recorded as a defect, never
raised (see :mod:`mail.bounded`). The 37 real mails of the tests (tests/corpus,
examples, the shared fixtures) reach at most 21 header fields, a 2.6 KB field,
MIME depth 2, 5 parts and 2 parameters; the defaults leave room for what real mail
elsewhere carries (long Cc lists, digests, forwards of forwards) and stay far below
where the parser slows down or recurses (README, "Limits on hostile mail").

>>> safe_charset("UTF8"), safe_charset("latin_1"), safe_charset("idna"), safe_charset("rot13")
('utf-8', 'iso8859-1', None, None)
"""

from __future__ import annotations

import codecs
from dataclasses import dataclass
from functools import lru_cache


@dataclass(frozen=True)
class MailLimits:
    headers: int = 1000  # header fields kept per header block (the mail's and each part's)
    header_line: int = 8192  # bytes kept of one header field, its folded lines together (RFC 5322: 998 a line)
    header_bytes: int = 131_072  # bytes kept of one header block (the mail's, or a part's)
    addresses: int = 100  # addresses kept per address header (From, To, Cc, Reply-To, ...)
    references: int = 20  # newest message ids kept of References / In-Reply-To
    depth: int = 20  # MIME nesting (multipart and message/*) beyond which a part is opaque text
    parts: int = 1100  # MIME parts beyond which the rest of the mail is an unparsed epilogue
    params: int = 100  # parameters kept per Content-Type / Content-Disposition
    comment_depth: int = 20  # nested (comments) kept in structured headers

    def __post_init__(self) -> None:
        for name, value in self.__dict__.items():
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"mail limit {name} must be a positive integer, got {value!r}")


DEFAULT_LIMITS = MailLimits()

# Text codecs Python accepts by name that are not character sets of documents:
# idna raises on ordinary bytes whatever the error handler, punycode is quadratic,
# the escape codecs turn backslashes into any character, undefined always raises.
_REFUSED = frozenset({"idna", "punycode", "unicode-escape", "raw-unicode-escape", "undefined", "unicode-internal"})


@lru_cache(maxsize=1024)
def safe_charset(name: str | None) -> str | None:
    """The codec name to decode with, or None when the charset is unknown or refused
    (non-text codecs such as rot13, base64, zlib, and the ones in ``_REFUSED``)."""
    if not name:
        return None
    try:
        info = codecs.lookup(str(name).strip().strip("\"'"))
    except (LookupError, TypeError, ValueError):
        return None
    if not getattr(info, "_is_text_encoding", True) or info.name in _REFUSED:
        return None
    return info.name


__all__ = ["DEFAULT_LIMITS", "MailLimits", "safe_charset"]
