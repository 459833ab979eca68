"""Find the private mailbox and thread addresses in what is about to leave, whatever the spelling.

A correspondent must never receive the owner's private mailbox, an address on the
reply subdomain, or a thread token. Mail hides text in many ways, so every piece is
looked at through *views*: the text after normalising, in turn,

* RFC 5322/5545/6350 line folding and quoted-printable soft breaks removed;
* (HTML views) tags removed, so ``owner<span>@</span>private…`` joins up;
* HTML entities decoded (``&#064;``, ``&#x40;``, ``&commat;``, ``&amp;#64;``);
* byte and character escapes decoded (``%40``, ``=40``, ``\\x40``, ``\\100``, RTF
  ``\\'40``, ``\\u0040``), as UTF-8;
* NFKC (fullwidth ``＠``, small ``﹫``), casefold, and invisible characters removed
  (zero-width, soft hyphen, other format characters, combining marks, fillers);

and the address is matched with its separators spelt out too (``owner [at] private
(dot) example …``). Bytes (attachments) are read as Latin-1, UTF-8 and UTF-16 in both
orders and both alignments, and searched for the base64 forms of the secrets; zip
members (DOCX, XLSX …), gzip data, PDF streams, strings and metadata, PNG text chunks
and mails inside attachments are opened, within a budget. The walk over a mail is
iterative and bounded: hostile mail can nest thousands of levels deep.

Pure: no AWS, only the standard library (and pypdf, when installed, for PDF text); mails
are parsed with ``mail.bounded`` (linear, never raises).

>>> guard = Guard("owner@private.example.net", reply_domain="reply.example.com")
>>> guard.found("write to owner&#064;private.example.net")
['private mailbox']
>>> guard.found("owner<span>@</span>private.example.net", html=True)
['private mailbox']
>>> guard.rewrite("Owner <OWNER＠private.example.net> wrote:", "hello@example.com")
'Owner <hello@example.com> wrote:'
>>> guard.found("Reply-To: c-1.abcdefghijklmnop@reply.example.com")
['thread address']
"""

from __future__ import annotations

import base64
import html
import io
import re
import unicodedata
import zipfile
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from email import policy
from email.message import Message
from email.parser import BytesHeaderParser
from functools import cache
from typing import Any

from mail.bounded import parse_message

PRIVATE = "private mailbox"
THREAD = "thread address"
TOKEN = "thread token"
UNCHECKED = "content that could not be checked"

MAX_PARTS = 5000  # parts (and mails inside attachments) looked at in one mail
MAX_INFLATED = 64 * 1024 * 1024  # bytes decompressed from zip, gzip, PDF and PNG data, per mail
MAX_ZIP_MEMBERS = 2000
PDF_TEXT_PAGES = 50

_FOLDS = re.compile(r"\r?\n[ \t]")
_SOFT_BREAKS = re.compile(r"=\r?\n")
_TAGS = re.compile(r"<!--.*?-->|<[a-z/!?][^<>]{0,4000}>", re.DOTALL | re.IGNORECASE)
_ENTITY = re.compile(r"&(?:#[0-9]{1,8}|#[xX][0-9a-fA-F]{1,7}|[A-Za-z][A-Za-z0-9]{1,31});?")
_BYTE_ESCAPES = re.compile(r"(?:%[0-9A-Fa-f]{2}|=[0-9A-Fa-f]{2}|\\x[0-9A-Fa-f]{2}|\\'[0-9A-Fa-f]{2}|\\[0-7]{3})+")
_ONE_BYTE = re.compile(r"%([0-9A-Fa-f]{2})|=([0-9A-Fa-f]{2})|\\x([0-9A-Fa-f]{2})|\\'([0-9A-Fa-f]{2})|\\([0-7]{3})")
_CHAR_ESCAPES = re.compile(r"\\u\{?([0-9A-Fa-f]{4,6})\}?|\\u(-?[0-9]{2,5})\??")
_FILLERS = frozenset("\u115f\u1160\u3164\uffa0\u180e\u2800")
_AT = r"(?:\s*@\s*|\s*[(\[{<]\s*at\s*[)\]}>]\s*|\s+at\s+)"
_AT_NO_LEAD = r"(?:@\s*|[(\[{<]\s*at\s*[)\]}>]\s*|\sat\s+)"
_MARKUP = re.compile(rb"<(?:/?[a-z][a-z0-9]{0,10}(?:\s[^<>]{0,200})?/?)>", re.IGNORECASE)
_DOT = r"(?:\s*\.\s*|\s*[(\[{<]\s*dot\s*[)\]}>]\s*|\s+dot\s+)"
_LOCAL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789.!#$%&'*+/=?^_`{|}~-")
_MASK = "\x00"


@cache
def _char(ch: str) -> str:
    """One character as the views see it: NFKC, casefolded, invisible characters gone."""
    out = unicodedata.normalize("NFKC", ch).casefold()
    return "".join(c for c in out if c not in _FILLERS and unicodedata.category(c) not in ("Cf", "Mn", "Me"))


class _Table(dict[int, str]):
    """``str.translate`` table filled on first sight of each character: the mapping runs in C."""

    def __missing__(self, key: int) -> str:
        value = _char(chr(key)) if key > 0x7F else chr(key).lower()
        self[key] = value
        return value


_TABLE = _Table()


def _chars(text: str) -> str:
    return text.translate(_TABLE)


def _entity(match: re.Match[str]) -> str:
    return html.unescape(match.group())


def _bytes_of(run: str) -> bytes:
    out = bytearray()
    for m in _ONE_BYTE.finditer(run):
        octal = m.group(5)
        out.append(int(octal, 8) & 0xFF if octal else int(next(g for g in m.groups()[:4] if g), 16))
    return bytes(out)


def _byte_escapes(match: re.Match[str]) -> str:
    data = _bytes_of(match.group())
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def _char_escapes(match: re.Match[str]) -> str:
    value = int(match.group(1), 16) if match.group(1) else int(match.group(2)) % 65536
    try:
        return chr(value)
    except (ValueError, OverflowError):
        return match.group()


# --- views ---------------------------------------------------------------------------------------


Sub = Callable[[re.Match[str]], str]


def _steps(markup: bool) -> list[tuple[re.Pattern[str], Sub]]:
    # unfold first: a fold may fall anywhere, even between the "=" and "40" of an escape
    steps: list[tuple[re.Pattern[str], Sub]] = [(_FOLDS, lambda _m: ""), (_SOFT_BREAKS, lambda _m: "")]
    if markup:
        # once, before entities: what decodes to "<...>" is text the reader sees (&lt;addr&gt;), not a tag
        steps.append((_TAGS, lambda _m: ""))
    for _ in range(2):  # twice: &amp;#64;, %2540
        steps += [(_ENTITY, _entity), (_BYTE_ESCAPES, _byte_escapes), (_CHAR_ESCAPES, _char_escapes)]
    return steps


def normalise(text: str, *, markup: bool = False) -> str:
    """The text as the guard searches it (no positions kept: fast, for detection)."""
    start = text = _chars(text)
    for pattern, sub in _steps(markup):
        text = pattern.sub(sub, text)
    return text if text == start else _chars(text)  # what the escapes decoded to, normalised too


@dataclass
class _Mapped:
    """A view that remembers, for each of its characters, the span of the source it came from."""

    text: str
    starts: list[int]
    ends: list[int]

    @classmethod
    def of(cls, text: str) -> _Mapped:
        return cls(text, list(range(len(text))), list(range(1, len(text) + 1)))

    def sub(self, pattern: re.Pattern[str], fn: Sub) -> _Mapped:
        pieces: list[str] = []
        starts: list[int] = []
        ends: list[int] = []
        pos = 0
        for m in pattern.finditer(self.text):
            a, b = m.span()
            pieces.append(self.text[pos:a])
            starts += self.starts[pos:a]
            ends += self.ends[pos:a]
            new = fn(m)
            if new and b > a:
                pieces.append(new)
                starts += [self.starts[a]] * len(new)
                ends += [self.ends[b - 1]] * len(new)
            pos = b
        if not pieces:
            return self
        pieces.append(self.text[pos:])
        starts += self.starts[pos:]
        ends += self.ends[pos:]
        return _Mapped("".join(pieces), starts, ends)

    def chars(self) -> _Mapped:
        pieces: list[str] = []
        starts: list[int] = []
        ends: list[int] = []
        for index, ch in enumerate(self.text):
            new = ch.lower() if ch.isascii() else _char(ch)
            pieces.append(new)
            starts += [self.starts[index]] * len(new)
            ends += [self.ends[index]] * len(new)
        return _Mapped("".join(pieces), starts, ends)

    def source_span(self, a: int, b: int) -> tuple[int, int]:
        return self.starts[a], self.ends[b - 1]


def _mapped(text: str, markup: bool) -> _Mapped:
    view = _Mapped.of(text).chars()
    for pattern, sub in _steps(markup):
        view = view.sub(pattern, sub)
    return view.chars()


def _spelt(address: str) -> str:
    """A regex for an address with its ``@`` and dots in any of their spellings."""
    local, _, domain = address.rpartition("@")
    if not local:
        return _dotted(domain)
    return _dotted(local) + _AT + _dotted(domain)


def _dotted(name: str) -> str:
    return _DOT.join(re.escape(label) for label in name.split("."))


# --- the guard -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """Where a secret was found: the MIME part (``1.2`` …), its type and file name, and where in it."""

    part: str
    content_type: str
    filename: str | None
    where: str
    what: str

    def describe(self) -> str:
        name = f", {self.filename}" if self.filename else ""
        return f"part {self.part or '(the mail)'} ({self.content_type}{name}): {self.what} in {self.where}"


class PartsHeld(Exception):
    """Parts of a reply carry a secret and cannot be rewritten: the reply must not be sent."""

    def __init__(self, findings: Sequence[Finding]) -> None:
        self.findings = list(findings)
        super().__init__("; ".join(f.describe() for f in self.findings[:10]))


_Item = tuple[Message, str, int, tuple[str, str | None] | None]  # part, path, depth, the attachment


@dataclass
class _Budget:
    parts: int = 0
    inflated: int = 0


class Guard:
    """Knows the secrets; says where they are, and rewrites them out of text."""

    def __init__(self, private_mailbox: str | None, *, reply_domain: str | None = None,
                 tokens: Iterable[str] = (), allowed: Iterable[str] = ()) -> None:
        self.private_mailbox = (private_mailbox or "").strip().lower()
        self.reply_domain = (reply_domain or "").strip().lower().strip(".")
        private = normalise(self.private_mailbox) if "@" in self.private_mailbox else ""
        self._private = re.compile(_spelt(private)) if private else None
        # no leading white space in the pattern (a scan that starts at every blank is slow on big
        # attachments); the local part and any blank before the "@" are reached backwards
        self._thread = re.compile(_AT_NO_LEAD + _dotted(normalise(self.reply_domain))) if self.reply_domain else None
        self._allowed = [normalise(a) for a in allowed if a and a.strip()]
        secret_tokens: set[str] = set()
        for token in tokens:
            value = normalise(token.strip())
            if len(value) >= 8:
                secret_tokens.add(value)
                tag = value.rpartition(".")[2]
                if len(tag) >= 12:
                    secret_tokens.add(tag)  # the signature alone is the secret part of a token
        self.tokens = frozenset(secret_tokens)
        self._tokens = re.compile("|".join(re.escape(t) for t in sorted(self.tokens, key=len, reverse=True))) \
            if self.tokens else None
        self._b64 = self._base64_forms()

    def with_tokens(self, tokens: Iterable[str]) -> Guard:
        """The same guard, also knowing ``tokens``."""
        guard = Guard(self.private_mailbox, reply_domain=self.reply_domain, tokens=(), allowed=())
        guard._allowed = self._allowed
        known = set(self.tokens) | {normalise(t) for t in tokens if len(t.strip()) >= 8}
        known |= {t.rpartition(".")[2] for t in known if len(t.rpartition(".")[2]) >= 12}
        guard.tokens = frozenset(known)
        guard._tokens = re.compile("|".join(re.escape(t) for t in sorted(known, key=len, reverse=True))) \
            if known else None
        guard._b64 = guard._base64_forms()
        return guard

    # --- text ------------------------------------------------------------------------------------

    def _mask(self, text: str) -> str:
        """The allowed addresses (the public one may contain the private one) blanked, same length."""
        for allowed in self._allowed:
            text = text.replace(allowed, _MASK * len(allowed))
        return text

    def _search(self, view: str) -> list[str]:
        view = self._mask(view)
        found = []
        if self._private is not None and self._private.search(view):
            found.append(PRIVATE)
        if self._thread is not None and self._thread.search(view):
            found.append(THREAD)
        if self._tokens is not None and self._tokens.search(view):
            found.append(TOKEN)
        return found

    def found(self, text: str, *, html: bool = False, plain_markup: bool = True) -> list[str]:
        """What ``text`` carries (``PRIVATE``, ``THREAD``, ``TOKEN``), in any spelling (read as markup
        too when ``html``, or when ``plain_markup`` and it has a ``<``)."""
        if not text:
            return []
        kinds = self._search(normalise(text))
        if html or (plain_markup and "<" in text):
            kinds += [k for k in self._search(normalise(text, markup=True)) if k not in kinds]
        return kinds

    def _spans(self, view: _Mapped) -> list[tuple[int, int, str]]:
        """(start, end, kind) in the view; a thread address reaches back over its local part."""
        text = self._mask(view.text)
        spans: list[tuple[int, int, str]] = []
        if self._private is not None:
            spans += [(m.start(), m.end(), PRIVATE) for m in self._private.finditer(text)]
        if self._thread is not None:
            for m in self._thread.finditer(text):
                spans.append((_local_start(text, m.start()), m.end(), THREAD))
        if self._tokens is not None:
            spans += [(m.start(), m.end(), TOKEN) for m in self._tokens.finditer(text)]
        return sorted(spans)

    def rewrite(self, text: str, replacement: str, *, html: bool = False) -> str:
        """Every spelling of the private mailbox and every thread address becomes ``replacement``;
        a bare token is removed. The rest of the text is left exactly as it was."""
        for markup in (False, True) if html or "<" in text else (False,):
            if not text or not self.found(text, html=markup):
                continue
            view = _mapped(text, markup)
            merged: list[list[Any]] = []
            for a, b, kind in self._spans(view):
                start, end = view.source_span(a, b)
                if merged and start < merged[-1][1]:  # overlapping (a token inside its thread address): one span
                    merged[-1][1] = max(merged[-1][1], end)
                    merged[-1][2] = merged[-1][2] and kind == TOKEN
                else:
                    merged.append([start, end, kind == TOKEN])
            pieces: list[str] = []
            pos = 0
            for start, end, bare_token in merged:
                pieces += [text[pos:start], "" if bare_token else replacement]
                pos = end
            pieces.append(text[pos:])
            text = "".join(pieces)
        return text

    # --- bytes -----------------------------------------------------------------------------------

    def _base64_forms(self) -> list[tuple[bytes, str]]:
        secrets = [(self.private_mailbox, PRIVATE)] if self.private_mailbox else []
        if self.reply_domain:
            secrets.append((f"@{self.reply_domain}", THREAD))
        secrets += [(t, TOKEN) for t in self.tokens if t.isascii()]
        forms: dict[bytes, str] = {}
        for secret, kind in secrets:
            for variant in {secret, secret.lower(), secret.upper()}:
                data = variant.encode("utf-8")
                for offset in range(3):
                    encoded = base64.b64encode(b"\0" * offset + data)
                    # only the characters made from the secret's bits alone
                    first = -(-offset * 8 // 6)
                    last = (offset + len(data)) * 8 // 6
                    if last - first >= 8:
                        forms.setdefault(encoded[first:last], kind)
        return sorted(forms.items())

    def found_bytes(self, data: bytes, *, base64_text: bool = True) -> list[tuple[str, str]]:
        """(encoding, kind) for each reading of ``data`` that carries a secret."""
        out: list[tuple[str, str]] = []
        readings: list[tuple[str, str]] = [("bytes", data.decode("latin-1"))]
        if not data.isascii():
            readings.append(("UTF-8", data.decode("utf-8", "replace")))
        if len(data) >= 4 and data.count(0) * 8 >= len(data):  # plausibly UTF-16
            for codec in ("utf-16-le", "utf-16-be"):
                for skip in (0, 1):
                    readings.append((codec.upper(), data[skip:].decode(codec, "replace")))
        markup = bool(_MARKUP.search(data))  # tags between characters only matter in markup
        for name, text in readings:
            for kind in self.found(text, html=markup, plain_markup=False):
                if (name, kind) not in out:
                    out.append((name, kind))
        if base64_text:
            out += [("base64 text", kind) for kind in dict.fromkeys(k for form, k in self._b64 if form in data)]
        return out

    def tokens_in(self, data: bytes) -> set[str]:
        """The local parts of the thread addresses anywhere in ``data`` (to learn the tokens to look for)."""
        if self._thread is None:
            return set()
        found: set[str] = set()
        for text in (normalise(data.decode("latin-1")), normalise(data.decode("utf-8", "replace"), markup=True)):
            for m in self._thread.finditer(text):
                start = _local_start(text, m.start())
                token = text[start:m.start()].strip("<>\"'. \t\r\n")
                if len(token) >= 8:
                    found.add(token)
        return found

    # --- mail ------------------------------------------------------------------------------------

    def findings(self, mail: bytes | Message) -> list[Finding]:
        """Everything in a mail that carries a secret: every header, text, HTML, every
        attachment's decoded bytes and what they contain, mails inside at any depth."""
        message = parse_message(bytes(mail))[0] if isinstance(mail, bytes) else mail
        found = self.part_findings(message)
        if isinstance(mail, bytes):
            # the raw bytes too: preambles, epilogues, boundaries and anything a parser skips
            seen = {f.what for f in found}
            found += [Finding("", "the whole mail", None, f"the raw mail ({enc})", kind)
                      for enc, kind in self.found_bytes(mail, base64_text=False) if kind not in seen]
        return _unique(found)

    def part_findings(self, part: Message, path: str = "", *, headers: bool = True) -> list[Finding]:
        """The findings of one part and of everything inside it (without the part's own
        headers when ``headers`` is false: a caller that rebuilds them)."""
        found: list[Finding] = []
        stack: list[_Item] = [(part, path, 0, None)]
        budget = _Budget()
        while stack:
            current, where, depth, outer = stack.pop()
            budget.parts += 1
            if budget.parts > MAX_PARTS:
                found.append(Finding(where, "", None, f"a mail of more than {MAX_PARTS} parts", UNCHECKED))
                break
            found += self._part(current, where, depth, outer, stack, budget, headers=headers or budget.parts > 1)
        return _unique(found)

    def _part(self, part: Message, path: str, depth: int, outer: tuple[str, str | None] | None,
              stack: list[_Item], budget: _Budget, *, headers: bool = True) -> list[Finding]:
        ctype = _content_type(part)
        filename = _filename(part)
        shown = outer or (ctype, filename)  # a finding inside an attached mail names the attachment
        inside = "" if not depth else "the attached mail's " if depth == 1 else f"an attached mail's (depth {depth}) "
        found: list[Finding] = []

        def add(where: str, kinds: Iterable[str]) -> None:
            found.extend(Finding(path, shown[0], shown[1], inside + where, kind) for kind in kinds)

        for key, value in _header_items(part) if headers else ():
            add(f"header {key}", self.found(value))
        payload = part.get_payload()
        if isinstance(payload, list):
            children = [p for p in payload if isinstance(p, Message)]
            nested = ctype.startswith("message/")
            for index in range(len(children), 0, -1):
                # the mail inside a message/rfc822 part is that part; a multipart's children are numbered
                child = path if nested else _child_path(path, index)
                stack.append((children[index - 1], child, depth + 1 if nested else depth, shown if nested else outer))
            return found
        data = _decoded(part)
        if part.get_content_maintype() == "text":
            where = "the text" if ctype == "text/plain" else "the HTML" if ctype == "text/html" else "the content"
            add(where, self.found(_text_of(part, data), html=ctype != "text/plain"))
        for encoding, kind in self.found_bytes(data):
            if not any(f.what == kind for f in found):
                add(f"the decoded bytes ({encoding})", [kind])
        for label, inner in _contents(data, ctype, filename, budget):
            if label == UNCHECKED:
                add(inner.decode("utf-8", "replace"), [UNCHECKED])
            elif label.startswith("mail"):
                stack.append((parse_message(inner)[0], path, depth + 1, shown))
            else:
                add(label, self._kinds_of(inner))
        return found

    def _kinds_of(self, data: bytes) -> list[str]:
        kinds: list[str] = []
        for _, kind in self.found_bytes(data):
            if kind not in kinds:
                kinds.append(kind)
        return kinds


def _local_start(text: str, at: int) -> int:
    """Where the local part before an "@" (and the blanks between them) starts."""
    start = at
    while start > 0 and at - start < 8 and text[start - 1].isspace():
        start -= 1
    blank = start
    while start > 0 and blank - start < 64 and text[start - 1] in _LOCAL_CHARS:
        start -= 1
    return start if start < blank else at


def _child_path(path: str, index: int) -> str:
    if len(path) > 60:  # hostile nesting: the path stops growing, the depth still counts
        return path if path.endswith("…") else path + "…"
    return f"{path}.{index}" if path else str(index)


def _unique(found: list[Finding]) -> list[Finding]:
    out: list[Finding] = []
    for finding in found:
        if finding not in out:
            out.append(finding)
    return out


# --- reading parts -------------------------------------------------------------------------------


def _content_type(part: Message) -> str:
    try:
        return part.get_content_type()
    except Exception:
        return "application/octet-stream"


def _filename(part: Message) -> str | None:
    try:
        name = part.get_filename()
    except Exception:
        return None
    return str(name) if name else None


def _header_items(part: Message) -> Iterator[tuple[str, str]]:
    for key, value in part.raw_items():
        text = str(value)
        try:
            decoded = str(policy.default.header_factory(key, text.replace("\r", "").replace("\n", "")))
        except Exception:
            decoded = text
        yield key, text if decoded == text else f"{text}\n{decoded}"


def _decoded(part: Message) -> bytes:
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if isinstance(data, bytes):
        return data
    payload = part.get_payload()
    return payload.encode("utf-8", "surrogateescape") if isinstance(payload, str) else b""


def _text_of(part: Message, data: bytes) -> str:
    try:
        charset = part.get_content_charset()
    except Exception:
        charset = None
    for codec in (charset, "utf-8"):
        if codec:
            try:
                return data.decode(codec)
            except (LookupError, UnicodeDecodeError, ValueError):
                continue
    return data.decode("cp1252", "replace")


_MAIL_START = re.compile(rb"\A(?:[!-9;-~]{1,76}:[^\r\n]*\r?\n(?:[ \t][^\r\n]*\r?\n)*){2,}")
_MAIL_HEADERS = frozenset({"from", "to", "subject", "date", "message-id", "received", "return-path", "reply-to",
                           "mime-version", "sender", "cc"})
_PDF_STREAM = re.compile(rb"<<(.{0,2000}?)>>\s*stream\r?\n(.*?)endstream", re.DOTALL)
_PDF_LITERAL = re.compile(rb"\((?:\\.|[^()\\]|\((?:\\.|[^()\\])*\))*\)", re.DOTALL)
_PDF_HEX = re.compile(rb"<([0-9A-Fa-f\s]{8,})>")
_PDF_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f", b"(": b"(", b")": b")",
                b"\\": b"\\"}


def _contents(data: bytes, ctype: str, filename: str | None, budget: _Budget) -> Iterator[tuple[str, bytes]]:
    """(label, bytes) of what ``data`` holds inside: archive members, PDF strings, mails."""
    name = (filename or "").lower()
    if data.startswith(b"PK\x03\x04") or ctype in ("application/zip", "application/x-zip-compressed"):
        yield from _zip_members(data, budget)
    elif data.startswith(b"\x1f\x8b"):
        inflated = _inflate(data, budget, wbits=47)
        if inflated is None:
            yield UNCHECKED, b"gzip data over the decompression budget"
        else:
            yield "the gzip content", inflated
    if b"%PDF-" in data[:1024]:
        yield from _pdf(data, budget)
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        yield from _png_text(data, budget)
    if b"LZFu" in data:  # compressed RTF: the body of a winmail.dat (TNEF) or an Outlook .msg
        yield from _compressed_rtf(data, budget)
    if ctype.startswith("message/") or name.endswith((".eml", ".msg822")) or _MAIL_START.match(data[:16384]):
        try:
            headers = BytesHeaderParser(policy=policy.default).parsebytes(data[:65536])
        except Exception:
            headers = None
        if headers is not None and _MAIL_HEADERS & {k.lower() for k in headers}:
            yield "mail inside the attachment", data


def _inflate(data: bytes, budget: _Budget, *, wbits: int = 15) -> bytes | None:
    """Decompressed ``data`` (as much as decodes), or None when over the budget."""
    left = MAX_INFLATED - budget.inflated
    try:
        inflater = zlib.decompressobj(wbits)
        out = inflater.decompress(data, left + 1)
    except zlib.error:
        return b""
    budget.inflated += len(out)
    return None if len(out) > left else out


def _zip_members(data: bytes, budget: _Budget) -> Iterator[tuple[str, bytes]]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except Exception:
        return  # not a zip after all: the raw bytes were searched already
    if len(members) > MAX_ZIP_MEMBERS:
        yield UNCHECKED, f"a zip archive of more than {MAX_ZIP_MEMBERS} files".encode()
        return
    for info in members:
        yield f"the file name {info.filename!r} in the zip archive", info.filename.encode("utf-8", "replace")
        if info.is_dir():
            continue
        if info.flag_bits & 0x1:
            yield UNCHECKED, f"the encrypted zip member {info.filename!r}".encode()
            continue
        left = MAX_INFLATED - budget.inflated
        try:
            with archive.open(info) as handle:
                content = handle.read(left + 1)
        except Exception:
            continue
        budget.inflated += len(content)
        if len(content) > left:
            yield UNCHECKED, b"a zip archive over the decompression budget"
            return
        yield f"the zip member {info.filename!r}", content
        for label, inner in _contents(content, "", info.filename, budget):
            yield (label if label == UNCHECKED else f"{label} of the zip member {info.filename!r}"), inner


def _pdf_string(literal: bytes) -> bytes:
    body = literal[1:-1]
    out = bytearray()
    index = 0
    while index < len(body):
        byte = body[index : index + 1]
        if byte != b"\\":
            out += byte
            index += 1
            continue
        nxt = body[index + 1 : index + 2]
        if nxt in _PDF_ESCAPES:
            out += _PDF_ESCAPES[nxt]
            index += 2
        elif nxt.isdigit():
            digits = re.match(rb"[0-7]{1,3}", body[index + 1 : index + 4])
            if digits:
                out.append(int(digits.group(), 8) & 0xFF)
                index += 1 + len(digits.group())
            else:
                index += 2
        elif nxt in (b"\r", b"\n"):
            index += 2  # a line continuation
        else:
            out += nxt
            index += 2
    return bytes(out)


def _pdf_text_of(raw: bytes) -> bytes:
    """A PDF string's text as UTF-8 (UTF-16 when it starts with a byte-order mark)."""
    if raw.startswith((b"\xfe\xff", b"\xff\xfe")):
        return raw.decode("utf-16", "replace").encode("utf-8")
    return raw


def _pdf_strings(data: bytes) -> bytes:
    strings = [_pdf_text_of(_pdf_string(m.group())) for m in _PDF_LITERAL.finditer(data)]
    for m in _PDF_HEX.finditer(data):
        digits = re.sub(rb"\s", b"", m.group(1))
        try:
            strings.append(_pdf_text_of(bytes.fromhex((digits + b"0" * (len(digits) % 2)).decode())))
        except ValueError:
            continue
    # joined without a separator too: a text operator splits words into pieces, (owner@) (private…)
    return b"".join(strings) + b"\n" + b"\n".join(strings)


def _pdf(data: bytes, budget: _Budget) -> Iterator[tuple[str, bytes]]:
    yield "the PDF strings (metadata, text)", _pdf_strings(data)
    for m in _PDF_STREAM.finditer(data):
        if b"Flate" not in m.group(1) and b"/Fl" not in m.group(1):
            continue
        inflated = _inflate(m.group(2), budget)
        if inflated is None:
            yield UNCHECKED, b"PDF streams over the decompression budget"
            return
        if inflated:
            yield "a PDF stream", inflated
            yield "the strings of a PDF stream", _pdf_strings(inflated)
    if b"%%EOF" in data[-2048:]:  # pypdf searches a broken file backwards line by line: slow, and it fails anyway
        yield from _pypdf(data)


def _pypdf(data: bytes) -> Iterator[tuple[str, bytes]]:
    try:
        from pypdf import PdfReader
    except ImportError:
        return
    try:
        reader = PdfReader(io.BytesIO(data))
        meta = dict(reader.metadata or {})
        yield "the PDF metadata", "\n".join(f"{k} {v}" for k, v in meta.items()).encode("utf-8", "replace")
        xmp = reader.xmp_metadata
        if xmp is not None:
            yield "the PDF XMP metadata", xmp.stream.get_data()
        pages = []
        for index, page in enumerate(reader.pages):
            if index >= PDF_TEXT_PAGES:
                break
            pages.append(page.extract_text() or "")
        yield "the PDF text", "\n".join(pages).encode("utf-8", "replace")
    except Exception:
        return


_RTF_PREBUF = (b"{\\rtf1\\ansi\\mac\\deff0\\deftab720{\\fonttbl;}{\\f0\\fnil \\froman \\fswiss \\fmodern \\fscript "
               b"\\fdecor MS Sans SerifSymbolArialTimes New RomanCourier{\\colortbl\\red0\\green0\\blue0\r\n\\par "
               b"\\pard\\plain\\f0\\fs20\\b\\i\\u\\tab\\tx")


def _lzfu(data: bytes, limit: int) -> bytes:
    """MS-OXRTFCP decompression of one compressed-RTF body (``data`` starts after its header)."""
    window = bytearray(_RTF_PREBUF.ljust(4096, b"\0"))
    write = len(_RTF_PREBUF)
    out = bytearray()
    index = 0
    while index < len(data) and len(out) <= limit:
        control = data[index]
        index += 1
        for bit in range(8):
            if index >= len(data):
                break
            if not control & (1 << bit):
                byte = data[index]
                index += 1
                out.append(byte)
                window[write] = byte
                write = (write + 1) % 4096
                continue
            if index + 1 >= len(data):
                return bytes(out)
            reference = (data[index] << 8) | data[index + 1]
            index += 2
            offset, length = reference >> 4, (reference & 0xF) + 2
            if offset == write:
                return bytes(out)
            for step in range(length):
                byte = window[(offset + step) % 4096]
                out.append(byte)
                window[write] = byte
                write = (write + 1) % 4096
    return bytes(out)


def _compressed_rtf(data: bytes, budget: _Budget) -> Iterator[tuple[str, bytes]]:
    start = 0
    while (found := data.find(b"LZFu", start)) >= 0:
        start = found + 4
        if found < 8:
            continue
        size = int.from_bytes(data[found - 8 : found - 4], "little")  # compressed size, from after itself
        body = data[found + 8 : found - 4 + size]
        left = MAX_INFLATED - budget.inflated
        rtf = _lzfu(body, left)
        budget.inflated += len(rtf)
        if len(rtf) > left:
            yield UNCHECKED, b"compressed RTF over the decompression budget"
            return
        yield "the compressed RTF body", rtf


def _png_text(data: bytes, budget: _Budget) -> Iterator[tuple[str, bytes]]:
    index = 8
    while index + 8 <= len(data):
        length = int.from_bytes(data[index : index + 4], "big")
        kind = data[index + 4 : index + 8]
        body = data[index + 8 : index + 8 + length]
        index += 12 + length
        if kind == b"zTXt" and b"\0" in body:
            inflated = _inflate(body.split(b"\0", 1)[1][1:], budget)
            if inflated is None:
                yield UNCHECKED, b"PNG text over the decompression budget"
                return
            yield "a PNG text chunk", inflated
        elif kind == b"iTXt" and body.count(b"\0") >= 2:
            _keyword, rest = body.split(b"\0", 1)
            compressed = rest[:1] == b"\x01"
            text = rest[2:].split(b"\0", 2)[-1]
            inflated = _inflate(text, budget) if compressed else text
            if inflated is None:
                yield UNCHECKED, b"PNG text over the decompression budget"
                return
            yield "a PNG text chunk", inflated
        elif kind == b"IEND":
            return


__all__ = ["PRIVATE", "THREAD", "TOKEN", "UNCHECKED", "Finding", "Guard", "PartsHeld", "normalise"]
