"""What the pattern stage reads of a mail: one text per field, built on first use.

``body`` follows SpamAssassin's definition of a body rule's text: the subject, then
the rendered text body (HTML turned into text), whitespace collapsed, one paragraph
a line. ``rawbody`` is every text part decoded but not rendered (HTML tags kept).
``uri`` is the mail's links, one a line. ``header:NAME`` is every value of the
header, one a line, or None when the mail has no such header. ``derived:TEST`` is
``1`` or ``0``: a test no regex can express, computed here (SpamAssassin's
``eval:`` tests of the same name, see :data:`DERIVED`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

import pcre2

from mail.addresses import all_addresses, split_address
from mail.parsing import ParsedMail
from producers import sa_evals

_PARAGRAPH = re.compile(r"\n[ \t\r\f\v]*\n\s*")
_SPACE = re.compile(r"\s+")
# PCRE2 with JIT: these two scan every text part of every mail, several times faster than ``re``
_URI = pcre2.compile(r"""(?i)\b(?:(?:https?|ftp)://|www\.|mailto:)[^\s<>"'()\[\]{}]+""", jit=True)
_HREF = pcre2.compile(r"""(?i)\b(?:href|src|action)\s*=\s*["']?([^"'\s>]+)""", jit=True)
MAX_URIS = 500


def rendered_body(subject: str, text: str) -> str:
    paragraphs = [_SPACE.sub(" ", p).strip() for p in _PARAGRAPH.split(text)]
    return "\n".join([subject, *(p for p in paragraphs if p)])


def uris(*texts: str) -> str:
    found: dict[str, None] = {}
    for text in texts:
        for match in _HREF.finditer(text):
            found.setdefault(match.group(1), None)
        for match in _URI.finditer(text):
            found.setdefault(match.group(0).rstrip(".,;:!?"), None)
        if len(found) >= MAX_URIS:
            break
    canonical = (f"http://{u}" if u.lower().startswith("www.") else u for u in list(found)[:MAX_URIS])
    return "\n".join(canonical)


class MailTexts(Mapping[str, str | None]):
    """A field name → its text (None: an absent header). Unknown names read as None."""

    def __init__(self, mail: ParsedMail) -> None:
        self._mail = mail
        self._cache: dict[str, str | None] = {}
        self._relays: sa_evals.Relays | None = None

    def __getitem__(self, name: str) -> str | None:
        if name not in self._cache:
            self._cache[name] = self._build(name)
        return self._cache[name]

    def __iter__(self) -> Iterator[str]:
        return iter(("subject", "from", "body", "rawbody", "uri"))

    def __len__(self) -> int:
        return 5

    @property
    def relays(self) -> sa_evals.Relays:
        if self._relays is None:
            self._relays = sa_evals.relays(self._mail.headers.get("received") or [])
        return self._relays

    def _values(self, header: str) -> list[str] | None:
        mail = self._mail
        lowered = header.lower()
        if lowered.startswith("x-spam-relays-") and lowered[14:] in _RELAY_LISTS:
            # with trust inferred (no trusted_networks), internal is trusted: SpamAssassin's rule
            return [getattr(self.relays, _RELAY_LISTS[lowered[14:]])]
        if lowered == "tocc":
            values = [*(mail.headers.get("to") or []), *(mail.headers.get("cc") or [])]
        elif header == "MESSAGEID":  # SpamAssassin spells this pseudo-header in capitals only
            values = [
                v
                for h in ("x-message-id", "resent-message-id", "x-original-message-id", "message-id")
                for v in mail.headers.get(h) or []
            ]
        elif lowered == "envelopefrom":
            values = mail.headers.get("return-path") or []
        else:
            values = mail.headers.get(lowered) or []
        return values or None

    def _build(self, name: str) -> str | None:
        mail = self._mail
        if name == "subject":
            return mail.subject
        if name == "from":
            return " ".join(filter(None, [mail.from_name, mail.from_address]))
        if name == "body":
            return rendered_body(mail.subject, mail.text)
        if name == "rawbody":
            return mail.rawbody or mail.text
        if name == "uri":
            return uris(mail.rawbody, mail.text)
        if name.startswith("derived:"):
            return derived(mail, name.removeprefix("derived:"), self)
        if not name.startswith("header:"):
            return None
        header, _, modifier = name.removeprefix("header:").partition(":")
        if header == "ALL":
            return "\n".join(f"{k}: {v}" for k, v in mail.header_items) or None
        if modifier == "raw":
            raw = [v for k, v in mail.header_items if k.lower() == header.lower()]
            return "\n".join(raw) if raw else None
        values = self._values(header)
        if values is None:
            return None
        if modifier == "addr":
            return "\n".join(all_addresses(values))
        if modifier == "name":
            return "\n".join(filter(None, (split_address(v)[0] for v in values)))
        return "\n".join(values)


_REPLY_PREFIX = re.compile(r"^(?:(?:re|fwd|fw|aw|antwort|sv)\s*:\s*)+", re.IGNORECASE)


def subject_all_caps(mail: ParsedMail) -> bool:
    """SpamAssassin's ``subject_is_all_caps``: a subject of words, all capitals."""
    subject = _REPLY_PREFIX.sub("", mail.subject.strip())
    if " " not in subject or len(subject) < 10:
        return False
    letters = re.sub(r"[^a-zA-Z]", "", subject)
    return bool(letters) and letters == letters.upper()


_SHIFTED = re.compile(r"shifted_date\('?(-?\d+|undef)'?, ?'?(-?\d+|undef)'?\)")


def derived(mail: ParsedMail, test: str, texts: MailTexts | None = None) -> str | None:
    """``1``/``0`` for a test of :data:`DERIVED`; None for one unknown here."""
    received = mail.headers.get("received") or []
    if test == "subject_all_caps":
        found = subject_all_caps(mail)
    elif test == "all_trusted":
        found = (texts.relays if texts is not None else sa_evals.relays(received)).all_trusted
    elif test == "mime_html_only":
        found = mail.content_type == "text/html"
    elif test == "outlook_message_id":
        ids = [
            v
            for h in ("x-message-id", "resent-message-id", "x-original-message-id", "message-id")
            for v in mail.headers.get(h) or []
        ]
        found = sa_evals.outlook_message_id_invalid(ids[0] if ids else None, mail.date, received)
    elif (shifted := _SHIFTED.fullmatch(test)) is not None:
        found = sa_evals.shifted_date(sa_evals.date_diff(mail.date, received), shifted.group(1), shifted.group(2))
    else:
        return None
    return "1" if found else "0"


_RELAY_LISTS = {"trusted": "trusted", "internal": "trusted", "untrusted": "untrusted", "external": "untrusted"}
# SpamAssassin's eval: tests computed here (see producers.sa_evals); the others stay out
DERIVED = ("subject_all_caps", "all_trusted", "mime_html_only", "outlook_message_id", "shifted_date(LOW, HIGH)")
