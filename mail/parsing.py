"""Parse a raw mail into the facts the decisions need, whatever state it is in.

Everything here degrades instead of raising: a header that does not parse is
recorded as a defect and treated as absent; a body part that does not decode is
decoded with replacement characters. Only the first ``scan_bytes`` of decoded
text are kept, which bounds the pattern stage's work.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from html.parser import HTMLParser

from mail.addresses import all_addresses, normalise, printable, split_address

_MSGID = re.compile(r"<[^<>\s]+>")
MAX_ID = 250  # longer Message-IDs exist only in hostile mail; DynamoDB keys stop at 2 KB
MAX_SUBJECT = 998
MAX_REFERENCES_CHARS = 4000
_WS = re.compile(r"[ \t\r\f\v]+")


@dataclass(frozen=True)
class Attachment:
    filename: str
    content_type: str
    size: int
    part: str


@dataclass(frozen=True)
class FromField:
    """Every ``From`` header as written, for the checks that need exactly one author.

    ``ParsedMail.from_address`` is the first address of the first header, which is
    what a mail client shows; this is what an attacker could hide behind it.
    """

    headers: int = 0  # how many From header fields the mail has
    mailboxes: tuple[str, ...] = ()  # every addr-spec of every From header, normalised
    groups: tuple[str, ...] = ()  # display names of group syntax (``g: a@b;``)
    defects: tuple[str, ...] = ()
    # the address of each raw header value as a client shows it (a trailing <addr-spec> wins)
    shown: tuple[str | None, ...] = ()


def _from_field(message: Message) -> FromField:
    values = [v for k, v in message.raw_items() if k.lower() == "from"]
    mailboxes: list[str] = []
    groups: list[str] = []
    defects: list[str] = []
    shown: list[str | None] = []
    for value in values:
        shown.append(split_address(printable(value))[1])
        try:
            parsed = policy.default.header_factory("from", printable(value))
        except Exception as exc:
            defects.append(f"{type(exc).__name__}: {exc}"[:200])
            continue
        defects.extend(str(d)[:200] for d in getattr(parsed, "defects", ()))
        for group in getattr(parsed, "groups", ()):
            if group.display_name is not None:
                groups.append(printable(group.display_name)[:200])
            mailboxes.extend(normalise(a.addr_spec) for a in group.addresses)
    return FromField(len(values), tuple(mailboxes), tuple(groups), tuple(defects), tuple(shown))


@dataclass(frozen=True)
class ParsedMail:
    size: int
    from_address: str | None
    from_name: str | None
    reply_to: list[str]
    to: list[str]
    cc: list[str]
    subject: str
    date: str | None
    message_id: str | None
    in_reply_to: str | None
    references: list[str]
    text: str
    attachments: list[Attachment]
    defects: list[str]
    headers: dict[str, list[str]] = field(repr=False)
    content_type: str = "text/plain"
    from_field: FromField = FromField()

    def header(self, name: str) -> str | None:
        values = self.headers.get(name.lower())
        return values[0] if values else None

    @property
    def is_delivery_report(self) -> bool:
        report = self.content_type == "multipart/report"
        return report and "delivery-status" in (self.header("content-type") or "").lower()


class _TextOfHtml(HTMLParser):
    _BLOCK = {"p", "div", "br", "li", "tr", "h1", "h2", "h3", "h4", "h5", "h6", "table", "blockquote", "pre"}

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in {"script", "style", "head"}:
            self._skip += 1
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in {"script", "style", "head"} and self._skip:
            self._skip -= 1
        elif tag in self._BLOCK:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def html_to_text(markup: str) -> str:
    parser = _TextOfHtml()
    try:
        parser.feed(markup)
        parser.close()
    except Exception:
        return html.unescape(re.sub(r"<[^>]+>", " ", markup))
    lines = (_WS.sub(" ", line).strip() for line in "".join(parser.parts).splitlines())
    return "\n".join(line for line in lines if line)


def _safe_header(message: Message, name: str, defects: list[str]) -> list[str]:
    try:
        values = message.get_all(name) or []
        return [printable(v) for v in values]
    except Exception as exc:
        defects.append(f"header {name}: {type(exc).__name__}: {exc}")
        raw = [v for k, v in message.raw_items() if k.lower() == name.lower()] if hasattr(message, "raw_items") else []
        return [printable(v) for v in raw]


def _decode_part(part: Message, defects: list[str]) -> str:
    try:
        content = part.get_content() if isinstance(part, EmailMessage) else None
        if isinstance(content, str):
            return content
        if isinstance(content, bytes):
            return content.decode("utf-8", errors="replace")
    except Exception as exc:
        defects.append(f"part {part.get_content_type()}: {type(exc).__name__}: {exc}")
    payload = part.get_payload(decode=True)
    if isinstance(payload, bytes):
        charset = part.get_content_charset() or "utf-8"
        try:
            return payload.decode(charset, errors="replace")
        except LookupError:
            return payload.decode("latin-1", errors="replace")
    return ""


def walk_leaves(message: Message, path: str = "1", depth: int = 0) -> Iterator[tuple[Message, str]]:
    """(part, path) for every leaf part, depth-bounded against hostile nesting."""
    if depth > 30:
        return
    if message.is_multipart():
        payload = message.get_payload()
        if isinstance(payload, list):
            for index, child in enumerate(payload, start=1):
                yield from walk_leaves(child, f"{path}.{index}" if depth else str(index), depth + 1)
        return
    yield message, path


def parse(raw: bytes, scan_bytes: int = 64 * 1024) -> ParsedMail:
    defects: list[str] = []
    if b"\x00" in raw:
        defects.append("NUL bytes in the raw mail")
    message = message_from_bytes(raw, policy=policy.default)

    def header(name: str) -> list[str]:
        return _safe_header(message, name, defects)

    from_values = header("from")
    from_name, from_address = split_address(from_values[0] if from_values else None)
    if from_address is None:
        defects.append("no usable From address")
    subject_values = header("subject")
    subject = _WS.sub(" ", (subject_values[0] if subject_values else "").replace("\n", " ")).strip()
    # ids become keys and event fields: one longer than a header line is not an id
    message_ids = [i for i in _MSGID.findall(" ".join(header("message-id"))) if len(i) <= MAX_ID]
    in_reply_to = [i for i in _MSGID.findall(" ".join(header("in-reply-to"))) if len(i) <= MAX_ID]
    references = [i for i in _MSGID.findall(" ".join(header("references"))) if len(i) <= MAX_ID]

    text_parts: list[str] = []
    html_parts: list[str] = []
    attachments: list[Attachment] = []
    budget = scan_bytes
    for part, path in walk_leaves(message):
        content_type = part.get_content_type()
        disposition = (part.get_content_disposition() or "").lower()
        filename = None
        try:
            filename = part.get_filename()
        except Exception:
            defects.append(f"part {path}: unreadable filename")
        if disposition == "attachment" or filename or not content_type.startswith("text/"):
            payload = part.get_payload(decode=True)
            size = len(payload) if isinstance(payload, bytes) else 0
            if content_type == "message/rfc822" or not (content_type.startswith("text/") and not filename):
                attachments.append(Attachment(filename or f"part-{path}", content_type, size, path))
                continue
        if budget <= 0:
            continue
        text = _decode_part(part, defects)[:budget]
        budget -= len(text)
        (html_parts if content_type == "text/html" else text_parts).append(text)
    for msg_defect in message.defects:
        defects.append(type(msg_defect).__name__)
    for part in message.walk():
        if part is not message:
            defects.extend(f"{type(d).__name__} in {part.get_content_type()}" for d in part.defects)

    text = "\n".join(text_parts).strip() or html_to_text("\n".join(html_parts))
    headers: dict[str, list[str]] = {}
    for key in {k.lower() for k in message}:
        headers[key] = header(key)
    return ParsedMail(
        size=len(raw),
        from_address=from_address,
        from_name=from_name,
        reply_to=all_addresses(header("reply-to")),
        to=all_addresses(header("to")),
        cc=all_addresses(header("cc")),
        subject=subject[:MAX_SUBJECT],
        date=header("date")[0][:100] if header("date") else None,
        message_id=message_ids[0] if message_ids else None,
        in_reply_to=in_reply_to[0] if in_reply_to else None,
        references=_bounded_references(references),
        text=text.replace("\x00", "")[:scan_bytes],
        attachments=attachments,
        defects=[d[:200] for d in dict.fromkeys(defects)][:50],
        headers=headers,
        content_type=message.get_content_type(),
        from_field=_from_field(message),
    )


def _bounded_references(references: list[str]) -> list[str]:
    """The newest references that fit the budget: they thread a reply, nothing more."""
    kept: list[str] = []
    total = 0
    for reference in reversed(references[-20:]):
        total += len(reference)
        if total > MAX_REFERENCES_CHARS:
            break
        kept.append(reference)
    return kept[::-1]


def headers_only(header_pairs: list[tuple[str, str]]) -> bytes:
    """A raw mail made of headers alone: what is left when the body could not be fetched."""
    lines = [f"{name}: {value}" for name, value in header_pairs if "\n" not in value and "\r" not in value]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("utf-8", errors="replace")


__all__ = ["Attachment", "FromField", "ParsedMail", "headers_only", "html_to_text", "normalise", "parse"]
