"""Bound a raw mail before the standard ``email`` parser sees it, and parse it safely.

The stdlib parser recurses once per MIME level (a mail nested 1,000 deep raises
``RecursionError``), re-parses a header per parameter, and its address and comment
parsers recurse and slow down with the size of a header. :func:`prepare` is one
linear pass over the bytes, boundary-aware like the parser's own, that rewrites
only what exceeds a :class:`~mail.limits.MailLimits`:

* header fields beyond ``headers`` or ``header_bytes`` per header block are dropped,
  physical header lines are cut at ``header_line`` bytes;
* address headers keep their first ``addresses`` addresses, References and
  In-Reply-To their newest ``references`` ids; Content-Type and Content-Disposition
  keep ``params`` parameters; (comments) nested deeper than ``comment_depth`` go;
* charsets that are not safe text codecs (``idna``, ``rot13``, ...) are renamed:
  ``unknown-8bit`` in encoded words (replacement text), ``iso-8859-1`` for bodies
  (every byte reads, and a forward can re-encode it 7-bit);
* a multipart or ``message/*`` part nested deeper than ``depth`` becomes opaque
  text, and after ``parts`` parts the rest of the mail becomes an epilogue.

Each rewrite is recorded as a defect; nothing raises. :func:`parse_message` then
runs the stdlib parser on the result, and if it still fails, parses the headers
alone with the body as text: every caller gets a message object.
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Iterator
from email import message_from_bytes
from email.headerregistry import HeaderRegistry
from email.message import EmailMessage, Message
from email.policy import EmailPolicy, Policy
from functools import lru_cache
from typing import Any

import msgspec

from mail.field_bounds import (
    ADDRESS_HEADERS,
    ADDRESS_TOKENS,
    CHARSET_PARAM,
    ENCODED_WORD_CHARSET,
    ID_HEADERS,
    MSG_ID,
    PARAM_HEADERS,
    PARAM_TOKENS,
    UNSTRUCTURED,
    bound_list,
    eol_of,
    flatten_comments,
    refused_charset,
)
from mail.limits import DEFAULT_LIMITS, MailLimits

_EOL = re.compile(rb"\r\n|\r|\n")
_LINESEP = re.compile(r"\r\n|\r|\n")
_HEADER_LINE = re.compile(rb"[\x21-\x39\x3b-\x7e]*:|[\t ]")  # the parser's headerRE (bar "From ")
# the first line that is no header line (blank, or body text): where a header block ends
_HEADER_END = re.compile(rb"(?:(?<=\n)|(?<=\r)(?!\n))(?![\t ]|[\x21-\x39\x3b-\x7e]*:)")


class _HeaderClasses(HeaderRegistry):
    """The standard header registry, but each header class is made once: the stdlib's
    makes a new class for every header it parses (``type(...)`` per call), which costs
    time per header and keeps a class alive per header value held in the cache below.
    At most one class per registered kind (plus the default), whatever names a mail uses."""

    def __init__(self) -> None:
        super().__init__()
        self._made: dict[type, type] = {}

    def __getitem__(self, name: str) -> type:
        kind = self.registry.get(name.lower(), self.default_class)
        made = self._made.get(kind)
        if made is None:
            made = self._made[kind] = type("_" + kind.__name__, (kind, self.base_class), {})
        return made


class BoundedPolicy(EmailPolicy):
    """``policy.default`` that parses each distinct short header value once: the parser
    alone reads a part's Content-Type five times, each a full header-registry parse."""

    def header_fetch_parse(self, name: str, value: Any) -> Any:
        if hasattr(value, "name"):
            return value
        value = "".join(_LINESEP.split(value))  # as EmailPolicy does
        if len(value) > 2048:  # long values are not worth the cache's memory
            return self.header_factory(name, value)
        return _parsed_header(self.header_factory, name, value)


@lru_cache(maxsize=512)
def _parsed_header(factory: Any, name: str, value: str) -> Any:
    return factory(name, value)


POLICY = BoundedPolicy(header_factory=_HeaderClasses())


class Prepared(msgspec.Struct, frozen=True):
    raw: bytes
    defects: tuple[str, ...]
    sizes: dict[str, int] = msgspec.field(default_factory=dict)  # decoded size of each cut body, by part path


class _Frame:
    __slots__ = ("boundary", "children", "digest", "path")

    def __init__(self, boundary: bytes | None, path: str, digest: bool = False) -> None:
        self.boundary = boundary  # None: a message/* level (no boundary of its own)
        self.digest = digest
        self.path = path  # as walk() names parts: "", "1", "2.1" ...
        self.children = 0


class _Scan:
    """One pass over a raw mail; ``out`` collects the bounded bytes."""

    def __init__(self, raw: bytes, limits: MailLimits, keep_body: int | None = None) -> None:
        self.raw = raw
        self.limits = limits
        self.keep_body = keep_body
        self.out: list[bytes] = []
        self.defects: list[str] = []
        self.changed = False
        self.leaf: tuple[str, bytes] | None = None  # (path, transfer encoding) of the body being read
        self.sizes: dict[str, int] = {}

    def body(self, start: int, end: int) -> None:
        """Emit a stretch of the mail; a leaf body longer than ``keep_body`` is cut at a
        line end there, its decoded size kept (the decision needs no more of it)."""
        leaf, self.leaf = self.leaf, None
        if leaf is None or self.keep_body is None or end - start <= self.keep_body:
            self.out.append(self.raw[start:end])
            return
        path, encoding = leaf
        segment = self.raw[start:end]
        self.sizes[path or "1"] = _decoded_size(segment, encoding)
        cut = max(segment.rfind(b"\n", 0, self.keep_body), segment.rfind(b"\r", 0, self.keep_body))
        self.out.append(segment[: cut + 1] if cut > 0 else segment[: self.keep_body] + b"\r\n")
        self.changed = True

    def defect(self, text: str) -> None:
        self.changed = True
        if len(self.defects) < 100 and text not in self.defects:
            self.defects.append(text)

    # --- header blocks -------------------------------------------------------------

    def read_block(self, pos: int, default_type: str) -> _Block:
        """The header block at ``pos``, bounded (nothing emitted yet)."""
        raw, limits = self.raw, self.limits
        fields: list[list[bytes]] = []
        total = 0
        eol, blank = b"\r\n", b""
        while pos < len(raw):
            if not _HEADER_LINE.match(raw, pos):
                m = _EOL.match(raw, pos)
                if m:  # the blank line that ends the headers
                    blank = m.group()
                    pos = m.end()
                break
            m = _EOL.search(raw, pos)
            end = m.end() if m else len(raw)
            line = raw[pos:end]
            if m:
                eol = m.group()
            if len(line) > limits.header_bytes:  # a hard cap before any work: fields are cut below
                self.defect(f"header line of {len(line)} bytes cut at {limits.header_bytes}")
                name = line.split(b":", 1)[0]
                if name.strip().lower() in ID_HEADERS:  # the newest ids are the last ones
                    line = name + b": " + line[len(line) - limits.header_bytes // 2 :]
                else:
                    line = line[: limits.header_bytes // 2] + (m.group() if m else b"")
            if line[:1] in (b" ", b"\t"):
                if fields and total + len(line) <= limits.header_bytes:
                    fields[-1].append(line)
                    total += len(line)
                elif fields:
                    self.defect(f"header block over {limits.header_bytes} bytes: a field cut")
                pos = end
            else:
                if len(fields) >= limits.headers or total + len(line) > limits.header_bytes:
                    self.defect(f"header block over {limits.headers} fields or {limits.header_bytes} bytes: the rest dropped")
                    skip = _HEADER_END.search(raw, pos)
                    pos = skip.start() if skip else len(raw)
                    continue
                fields.append([line])
                total += len(line)
                pos = end
        content_type: bytes | None = None
        bounded: list[bytes] = []
        for lines in fields:
            field = b"".join(lines)
            if not field.endswith((b"\n", b"\r")):
                field += eol
            name = field.split(b":", 1)[0].strip().lower()
            field = self.bound_field(name, field)
            if name == b"content-type" and content_type is None:
                content_type = field.split(b":", 1)[1] if b":" in field else b""
            bounded.append(field)
        ctype, boundary = _content_type(content_type, default_type)
        return _Block(pos, bounded, eol, blank, ctype, boundary)

    def emit(self, block: _Block, *, opaque: bool = False) -> None:
        if opaque:
            self.defect(f"MIME nesting deeper than {self.limits.depth}: the deeper parts are kept as text")
            self.out.extend(f for f in block.fields if f.split(b":", 1)[0].strip().lower() != b"content-type")
            self.out.append(b"Content-Type: text/plain; charset=us-ascii" + block.eol)
        else:
            self.out.extend(block.fields)
        self.out.append(block.blank)

    def bound_field(self, name: bytes, field: bytes) -> bytes:
        limits = self.limits
        new = field
        if name in ADDRESS_HEADERS:
            new = bound_list(new, limits.addresses, limits.comment_depth, ADDRESS_TOKENS, b",")
            if new is not field:
                self.defect(
                    f"{name.decode()}: over {limits.addresses} addresses or comments nested over {limits.comment_depth}: cut"
                )
        elif name in ID_HEADERS and new.count(b"<") > limits.references:
            ids = MSG_ID.findall(new)[-limits.references :]
            new = name.title() + b": " + b" ".join(ids) + eol_of(field)
            self.defect(f"{name.decode()}: only the newest {limits.references} ids kept")
        elif name in PARAM_HEADERS:
            new = bound_list(new, limits.params + 1, limits.comment_depth, PARAM_TOKENS, b";")
            if new is not field:
                self.defect(f"{name.decode()}: over {limits.params} parameters: cut")
            if b"charset" in new.lower():
                new = CHARSET_PARAM.sub(self._charset, new)
        elif name not in UNSTRUCTURED and new.count(b"(") > limits.comment_depth:
            new = flatten_comments(new, limits.comment_depth)
            if new is not field:
                self.defect(f"{name.decode(errors='replace')[:40]}: comments nested over {limits.comment_depth}")
        if b"=?" in new:
            new = ENCODED_WORD_CHARSET.sub(self._encoded_word, new)
        if len(new) > limits.header_line:
            self.defect(f"{name.decode(errors='replace')[:40]}: field of {len(new)} bytes cut at {limits.header_line}")
            new = new[: limits.header_line].rstrip(b"\r\n") + eol_of(field)
        return new

    def _charset(self, m: re.Match[bytes]) -> bytes:
        if not refused_charset(m.group(2).decode("latin-1")):
            return m.group()
        # Latin-1 maps every byte, so the text can be re-encoded 7-bit when it is forwarded
        self.defect(f"charset {m.group(2)[:40].decode('latin-1')!r} refused: read as iso-8859-1")
        return m.group(1) + b"iso-8859-1"

    def _encoded_word(self, m: re.Match[bytes]) -> bytes:
        if not refused_charset(m.group(1).decode("latin-1")):
            return m.group()
        self.defect(f"encoded-word charset {m.group(1)[:40].decode('latin-1')!r} refused")
        return b"=?unknown-8bit" + m.group(2) + b"?"

    # --- the MIME tree -------------------------------------------------------------

    def run(self) -> None:
        raw, limits = self.raw, self.limits
        stack: list[_Frame] = []
        parts = 1
        pos = self.entity(stack, 0, "text/plain")
        while True:
            boundaries = [f.boundary for f in stack if f.boundary is not None]
            if not boundaries:
                self.body(pos, len(raw))
                return
            m = _next_delimiter(_delimiter(tuple(boundaries)), raw, pos)
            if m is None:
                self.body(pos, len(raw))
                return
            found, close = m.group(1), bool(m.group(2))
            if not close and parts >= limits.parts:
                self.defect(f"over {limits.parts} MIME parts: the rest is left unparsed")
                self.body(pos, m.start())
                eol = eol_of(m.group())
                self.out.extend(b"--" + f.boundary + b"--" + eol for f in reversed(stack) if f.boundary is not None)
                self.out.append(raw[m.start() :])
                return
            self.body(pos, m.start())
            self.out.append(raw[m.start() : m.end()])
            pos = m.end()
            while stack and stack[-1].boundary != found:
                stack.pop()  # inner levels end where an enclosing boundary is seen
            if close:
                stack.pop()
                continue
            parts += 1
            pos = self.entity(stack, pos, "message/rfc822" if stack[-1].digest else "text/plain")

    def entity(self, stack: list[_Frame], pos: int, default_type: str) -> int:
        """Read and emit the entity's headers at ``pos`` and push the container it opens
        (a message/* part's own message headers follow at once). A container at the
        depth limit becomes text: its Content-Type is rewritten."""
        while True:
            path = ""
            if stack:
                stack[-1].children += 1
                path = f"{stack[-1].path}.{stack[-1].children}" if stack[-1].path else str(stack[-1].children)
            block = self.read_block(pos, default_type)
            ctype, pos = block.ctype, block.end
            container = (ctype.startswith("multipart/") and block.boundary is not None) or (
                ctype.startswith("message/") and ctype != "message/delivery-status"
            )
            if not container or len(stack) >= self.limits.depth:
                self.emit(block, opaque=container)
                self.leaf = (path, block.encoding)
                return pos
            self.emit(block)
            if ctype.startswith("multipart/"):
                stack.append(_Frame(block.boundary, path, digest=ctype == "multipart/digest"))
                return pos
            stack.append(_Frame(None, path))
            default_type = "text/plain"


class _Block(msgspec.Struct, frozen=True):
    end: int
    fields: list[bytes]
    eol: bytes
    blank: bytes
    ctype: str
    boundary: bytes | None

    @property
    def encoding(self) -> bytes:
        for field in self.fields:
            name, _, value = field.partition(b":")
            if name.strip().lower() == b"content-transfer-encoding":
                return value.strip().lower()
        return b""


def _decoded_size(body: bytes, encoding: bytes) -> int:
    """The size of a body once its transfer encoding is undone (what get_payload(decode=True) returns)."""
    try:
        if encoding == b"base64":  # 3 bytes per 4 characters, less the padding: no need to decode
            data = body.translate(None, b" \t\r\n")
            return len(data) * 3 // 4 - data[-2:].count(b"=")
        if encoding == b"quoted-printable":
            return len(binascii.a2b_qp(body))
    except (binascii.Error, ValueError):
        pass
    return len(body) - len(eol_of(body)) if body.endswith((b"\n", b"\r")) else len(body)


_DELIMITERS: dict[tuple[bytes, ...], re.Pattern[bytes]] = {}


def _delimiter(boundaries: tuple[bytes, ...]) -> re.Pattern[bytes]:
    """A line that is ``--boundary`` or ``--boundary--`` of any active level (bare CR
    ends a line too, as in the parser)."""
    pattern = _DELIMITERS.get(boundaries)
    if pattern is None:
        alternatives = b"|".join(re.escape(b) for b in sorted(set(boundaries), key=len, reverse=True))
        pattern = re.compile(rb"--(" + alternatives + rb")(--)?[ \t]*(?:\r\n|\r|\n|\Z)")
        if len(_DELIMITERS) > 256:
            _DELIMITERS.clear()
        _DELIMITERS[boundaries] = pattern
    return pattern


def _next_delimiter(pattern: re.Pattern[bytes], raw: bytes, pos: int) -> re.Match[bytes] | None:
    """The next delimiter line at or after ``pos``. ``bytes.find`` runs at memory speed
    where a regex search would try every position (seconds for a 40 MB attachment);
    a body full of ``--`` lines falls back to one regex search."""
    start = pos
    for _ in range(1000):
        found = raw.find(b"--", start)
        if found == -1:
            return None
        if found > 0 and raw[found - 1] in b"\r\n":
            m = pattern.match(raw, found)
            if m:
                return m
        start = found + 1
    fallback = re.compile(rb"[\r\n]" + pattern.pattern).search(raw, start)
    return pattern.match(raw, fallback.start() + 1) if fallback else None


def _content_type(value: bytes | None, default_type: str) -> tuple[str, bytes | None]:
    """(content type, boundary) as the parser will see them: the same code reads them."""
    probe = Message()  # compat32 reads Content-Type like the parser does, without the slow registry
    probe.set_default_type(default_type)
    if value is not None:
        probe.set_raw("Content-Type", value.decode("ascii", "surrogateescape").strip())
    try:
        ctype = probe.get_content_type()
        boundary = probe.get_boundary() if ctype.startswith("multipart/") else None
    except Exception:
        return "text/plain", None
    return ctype, boundary.encode("ascii", "surrogateescape") if boundary else None


def prepare(raw: bytes, limits: MailLimits = DEFAULT_LIMITS, keep_body: int | None = None) -> Prepared:
    """The mail with everything beyond ``limits`` cut, and what was cut. Linear, never raises.

    ``keep_body``: also cut each leaf body to about that many bytes (for a decision,
    which reads only the start of the text); ``sizes`` then holds the cut bodies' sizes."""
    raw = bytes(raw)
    scan = _Scan(raw, limits, keep_body)
    try:
        scan.run()
    except Exception as exc:  # a bug here must not cost the mail its decision
        return Prepared(raw, (f"bounded scan failed ({type(exc).__name__}): parsed as it is",))
    if not scan.changed:
        return Prepared(raw, ())
    return Prepared(b"".join(scan.out), tuple(scan.defects), scan.sizes)


def _headers_and_text(raw: bytes, pol: Policy) -> EmailMessage:
    """The header block alone (without Content-* fields) over the body as text."""
    m = re.search(rb"\r\n\r\n|\n\n|\r\r", raw)
    head, body = (raw[: m.start()], raw[m.end() :]) if m else (raw, b"")
    kept = [line for line in re.split(rb"\r\n|\r|\n", head) if line and not line.lower().startswith((b"content-", b" ", b"\t"))]
    message = message_from_bytes(b"\r\n".join([*kept, b"Content-Type: text/plain; charset=us-ascii", b"", body]), policy=pol)
    assert isinstance(message, EmailMessage)
    return message


def parse_message(raw: bytes, limits: MailLimits = DEFAULT_LIMITS, pol: Policy = POLICY) -> tuple[EmailMessage, list[str]]:
    """(message, defects of bounding): the stdlib parser on the bounded bytes, with a
    text-only fallback if it still fails. Never raises."""
    return _parse_prepared(prepare(raw, limits), pol)


def parse_for_decision(
    raw: bytes, limits: MailLimits = DEFAULT_LIMITS, keep_body: int = 1024 * 1024
) -> tuple[EmailMessage, list[str], dict[str, int]]:
    """As :func:`parse_message`, with leaf bodies cut at ``keep_body`` bytes: a 40 MB
    attachment costs the parser its first megabyte. Also the decoded sizes of the cut
    bodies, by part path."""
    prepared = prepare(raw, limits, keep_body)
    message, defects = _parse_prepared(prepared, POLICY)
    return message, defects, prepared.sizes


def _parse_prepared(prepared: Prepared, pol: Policy) -> tuple[EmailMessage, list[str]]:
    defects = list(prepared.defects)
    try:
        message = message_from_bytes(prepared.raw, policy=pol)
        assert isinstance(message, EmailMessage)
        return message, defects
    except Exception as exc:  # RecursionError included: a structure the scan did not see
        defects.append(f"MIME structure unparseable ({type(exc).__name__}): body kept as text")
    try:
        return _headers_and_text(prepared.raw, pol), defects
    except Exception as exc:
        defects.append(f"headers unparseable ({type(exc).__name__}): empty message")
        return EmailMessage(policy=pol), defects


def walk(message: Message, max_depth: int = DEFAULT_LIMITS.depth) -> Iterator[tuple[Message, str, int]]:
    """(part, path, depth) for every part in document order, iteratively: no recursion
    whatever the nesting. Paths are ``1``, ``2.1`` ...; the root's path is ``""``."""
    stack: list[tuple[Message, str, int]] = [(message, "", 0)]
    while stack:
        part, path, depth = stack.pop()
        yield part, path, depth
        if depth >= max_depth or not part.is_multipart():
            continue
        payload = part.get_payload()
        if isinstance(payload, list):
            children = [c for c in payload if isinstance(c, Message)]
            for index in range(len(children), 0, -1):
                stack.append((children[index - 1], f"{path}.{index}" if path else str(index), depth + 1))


__all__ = ["POLICY", "BoundedPolicy", "Prepared", "parse_for_decision", "parse_message", "prepare", "walk"]
