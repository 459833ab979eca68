"""Parse a raw mail into the facts the decisions need, whatever state it is in.

Everything here degrades instead of raising: a header that does not parse is
recorded as a defect and treated as absent; a body part that does not decode is
decoded with replacement characters. Only the first ``scan_bytes`` of decoded
text are kept, which bounds the pattern stage's work.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from email import policy
from email.message import EmailMessage, Message

import msgspec

from mail.addresses import all_addresses, normalise, printable, split_address
from mail.bounded import parse_for_decision, walk
from mail.limits import DEFAULT_LIMITS, MailLimits
from mail.message_ids import MESSAGE_ID
from mail.text import decode_bytes, html_to_text, part_bytes, part_charset

MAX_ID = 250  # longer Message-IDs exist only in hostile mail; DynamoDB keys stop at 2 KB
MAX_SUBJECT = 998
MAX_REFERENCES_CHARS = 4000
_WS = re.compile(r"[ \t\r\f\v]+")


class Attachment(msgspec.Struct, frozen=True):
    filename: str
    content_type: str
    size: int
    part: str


class FromField(msgspec.Struct, frozen=True):
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


_LEFT_OUT_OF_REPR = frozenset({"headers", "rawbody", "header_items"})


class ParsedMail(msgspec.Struct, frozen=True):
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
    headers: dict[str, list[str]]
    content_type: str = "text/plain"
    # what spam rules read besides ``text``: every text part decoded but unrendered
    # (HTML kept), and every header as sent (name as written, value unfolded, in order)
    rawbody: str = ""
    header_items: tuple[tuple[str, str], ...] = ()
    from_field: FromField = FromField()

    def __repr__(self) -> str:
        # the headers and every part's raw text would drown the mail in a log or a failed test
        shown = (f"{name}={getattr(self, name)!r}" for name in self.__struct_fields__ if name not in _LEFT_OUT_OF_REPR)
        return f"{type(self).__name__}({', '.join(shown)})"

    def header(self, name: str) -> str | None:
        values = self.headers.get(name.lower())
        return values[0] if values else None

    @property
    def is_delivery_report(self) -> bool:
        report = self.content_type == "multipart/report"
        return report and "delivery-status" in (self.header("content-type") or "").lower()


# Headers whose meaning the header registry's parse changes (addresses, dates, ids);
# any other value is read as it is unless it holds encoded words: the registry's
# parse costs about a millisecond per hundred words, which 1,000 fields multiply.
_STRUCTURED = frozenset(
    {"from", "sender", "reply-to", "to", "cc", "bcc", "date", "message-id", "content-type", "content-disposition"}
)
MAX_PARSED_HEADER = 4096  # longer values are read raw: only hostile mail has them
_FOLDING = re.compile(r"\r?\n|\r")


def _read_headers(message: Message, defects: list[str]) -> dict[str, list[str]]:
    """Every header of the message, lower-cased name → values, in one pass."""
    headers: dict[str, list[str]] = {}
    for key, value in message.raw_items():
        name = key.lower()
        text = value if isinstance(value, str) else str(value)
        if len(text) <= MAX_PARSED_HEADER and (name in _STRUCTURED or "=?" in text):
            try:
                text = str(message.policy.header_fetch_parse(key, value))
            except Exception as exc:
                defects.append(f"header {name}: {type(exc).__name__}: {exc}")
        headers.setdefault(name, []).append(printable(_FOLDING.sub("", text)).strip())
    return headers


def _decode_part(part: Message, defects: list[str]) -> str:
    try:
        content = part.get_content() if isinstance(part, EmailMessage) else None
        if isinstance(content, str):
            return content
        if isinstance(content, bytes):
            return content.decode("utf-8", errors="replace")
    except Exception as exc:
        defects.append(f"part {part.get_content_type()}: {type(exc).__name__}: {exc}")
    return decode_bytes(part_bytes(part), part_charset(part))


def walk_leaves(message: Message, max_depth: int = DEFAULT_LIMITS.depth) -> Iterator[tuple[Message, str]]:
    """(part, path) for every leaf part, iteratively; paths are ``1``, ``2.1`` ... and
    a single-part mail's body is ``1``."""
    for part, path, _depth in walk(message, max_depth):
        if not part.is_multipart():
            yield part, path or "1"


MAX_NAME = 200  # file names and content types longer than this are cut: they become event fields


def attachment_of(part: Message, path: str, defects: list[str] | None = None) -> Attachment | None:
    """The attachment a leaf part is, or None for body text: the one rule the inbound
    decision and the extractor share, so both name the same parts."""
    content_type = part.get_content_type()[:MAX_NAME]
    filename = None
    try:
        disposition = (part.get_content_disposition() or "").lower()
        filename = part.get_filename()
    except Exception:
        disposition = ""
        if defects is not None:
            defects.append(f"part {path}: unreadable filename")
    if not (disposition == "attachment" or filename or not content_type.startswith("text/")):
        return None
    if not (content_type == "message/rfc822" or not (content_type.startswith("text/") and not filename)):
        return None
    try:
        payload = part.get_payload(decode=True)
    except Exception:
        payload = None
    size = len(payload) if isinstance(payload, bytes) else 0
    return Attachment(printable(filename)[:MAX_NAME] if filename else f"part-{path}", content_type, size, path)


def attachments_of(message: Message, limits: MailLimits = DEFAULT_LIMITS) -> Iterator[tuple[Message, Attachment]]:
    """(part, attachment) for every attachment of a parsed mail, in document order."""
    for part, path in walk_leaves(message, limits.depth):
        attachment = attachment_of(part, path)
        if attachment is not None:
            yield part, attachment


def parse(raw: bytes, scan_bytes: int = 64 * 1024, limits: MailLimits = DEFAULT_LIMITS) -> ParsedMail:
    """The facts of one mail, within ``limits`` (see :mod:`mail.bounded`). Never raises."""
    defects: list[str] = []
    if b"\x00" in raw:
        defects.append("NUL bytes in the raw mail")
    # bodies past 1 MB (and past the text scanned) are not read: only their sizes matter here
    message, bounded, sizes = parse_for_decision(raw, limits, keep_body=max(1024 * 1024, 4 * scan_bytes))
    defects.extend(bounded)

    headers = _read_headers(message, defects)

    def header(name: str) -> list[str]:
        return headers.get(name, [])

    from_values = header("from")
    from_name, from_address = split_address(from_values[0] if from_values else None)
    if from_address is None:
        defects.append("no usable From address")
    subject_values = header("subject")
    subject = _WS.sub(" ", (subject_values[0] if subject_values else "").replace("\n", " ")).strip()
    # ids become keys and event fields: one longer than a header line is not an id
    message_ids = [i for i in MESSAGE_ID.findall(" ".join(header("message-id"))) if len(i) <= MAX_ID]
    in_reply_to = [i for i in MESSAGE_ID.findall(" ".join(header("in-reply-to"))) if len(i) <= MAX_ID]
    references = [i for i in MESSAGE_ID.findall(" ".join(header("references"))) if len(i) <= MAX_ID]

    text_parts: list[str] = []
    html_parts: list[str] = []
    raw_parts: list[str] = []
    attachments: list[Attachment] = []
    budget = scan_bytes
    for part, path in walk_leaves(message, limits.depth):
        attachment = attachment_of(part, path, defects)
        if attachment is not None:
            if path in sizes:
                attachment = msgspec.structs.replace(attachment, size=sizes[path])
            attachments.append(attachment)
            continue
        if budget <= 0:
            continue
        content_type = part.get_content_type()
        text = _decode_part(part, defects)[:budget]
        budget -= len(text)
        (html_parts if content_type == "text/html" else text_parts).append(text)
        raw_parts.append(text)
    for msg_defect in message.defects:
        defects.append(type(msg_defect).__name__)
    for part, _path, _depth in walk(message, limits.depth):
        if part is not message:
            defects.extend(f"{type(d).__name__} in {part.get_content_type()}" for d in part.defects)

    text = "\n".join(text_parts).strip() or html_to_text("\n".join(html_parts))
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
        rawbody="\n".join(raw_parts).replace("\x00", "")[:scan_bytes],
        header_items=_header_items(message),
        from_field=_from_field(message),
    )


def _header_items(message: Message, limit: int = 200) -> tuple[tuple[str, str], ...]:
    """The first ``limit`` headers as written: name, then the value unfolded and printable."""
    items: list[tuple[str, str]] = []
    for name, value in message.raw_items() if hasattr(message, "raw_items") else []:
        if len(items) >= limit:
            break
        items.append((printable(str(name))[:100], printable(_WS.sub(" ", re.sub(r"\r?\n", " ", str(value))))[:2000]))
    return tuple(items)


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


__all__ = [
    "Attachment",
    "FromField",
    "ParsedMail",
    "attachment_of",
    "attachments_of",
    "headers_only",
    "normalise",
    "parse",
]
