"""What the pattern stage reads of a mail: one text per field, built on first use.

``body`` follows SpamAssassin's definition of a body rule's text: the subject, then
the rendered text body (HTML turned into text), whitespace collapsed, one paragraph
a line. ``rawbody`` is every text part decoded but not rendered (HTML tags kept).
``uri`` is the mail's links, one a line. ``header:NAME`` is every value of the
header, one a line, or None when the mail has no such header.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping

from mail.addresses import all_addresses, split_address
from mail.parsing import ParsedMail

_PARAGRAPH = re.compile(r"\n[ \t\r\f\v]*\n\s*")
_SPACE = re.compile(r"\s+")
_URI = re.compile(r"""(?i)\b(?:(?:https?|ftp)://|www\.|mailto:)[^\s<>"'()\[\]{}]+""")
_HREF = re.compile(r"""(?i)\b(?:href|src|action)\s*=\s*["']?([^"'\s>]+)""")
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

    def __getitem__(self, name: str) -> str | None:
        if name not in self._cache:
            self._cache[name] = self._build(name)
        return self._cache[name]

    def __iter__(self) -> Iterator[str]:
        return iter(("subject", "from", "body", "rawbody", "uri"))

    def __len__(self) -> int:
        return 5

    def _values(self, header: str) -> list[str] | None:
        mail = self._mail
        lowered = header.lower()
        if lowered == "tocc":
            values = [*(mail.headers.get("to") or []), *(mail.headers.get("cc") or [])]
        elif lowered == "messageid":
            values = [v for h in ("message-id", "resent-message-id", "x-message-id") for v in mail.headers.get(h) or []]
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
