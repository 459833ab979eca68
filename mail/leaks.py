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
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from email import policy
from email.message import Message
from typing import Any

from mail.bounded import parse_message
from mail.leak_contents import UNCHECKED, Budget, contents
from mail.leak_views import AT_NO_LEAD, MARKUP, MASK, Mapped, dotted, local_start, mapped_view, normalise, spelt
from mail.text import decode_bytes, part_bytes, part_charset

PRIVATE = "private mailbox"
THREAD = "thread address"
TOKEN = "thread token"

MAX_PARTS = 5000  # parts (and mails inside attachments) looked at in one mail


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


class Guard:
    """Knows the secrets; says where they are, and rewrites them out of text."""

    def __init__(
        self,
        private_mailbox: str | None,
        *,
        reply_domain: str | None = None,
        tokens: Iterable[str] = (),
        allowed: Iterable[str] = (),
    ) -> None:
        self.private_mailbox = (private_mailbox or "").strip().lower()
        self.reply_domain = (reply_domain or "").strip().lower().strip(".")
        private = normalise(self.private_mailbox) if "@" in self.private_mailbox else ""
        self._private = re.compile(spelt(private)) if private else None
        # no leading white space in the pattern (a scan that starts at every blank is slow on big
        # attachments); the local part and any blank before the "@" are reached backwards
        self._thread = re.compile(AT_NO_LEAD + dotted(normalise(self.reply_domain))) if self.reply_domain else None
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
        self._tokens = (
            re.compile("|".join(re.escape(t) for t in sorted(self.tokens, key=len, reverse=True))) if self.tokens else None
        )
        self._b64 = self._base64_forms()

    def with_tokens(self, tokens: Iterable[str]) -> Guard:
        """The same guard, also knowing ``tokens``."""
        guard = Guard(self.private_mailbox, reply_domain=self.reply_domain, tokens=(), allowed=())
        guard._allowed = self._allowed
        known = set(self.tokens) | {normalise(t) for t in tokens if len(t.strip()) >= 8}
        known |= {t.rpartition(".")[2] for t in known if len(t.rpartition(".")[2]) >= 12}
        guard.tokens = frozenset(known)
        guard._tokens = re.compile("|".join(re.escape(t) for t in sorted(known, key=len, reverse=True))) if known else None
        guard._b64 = guard._base64_forms()
        return guard

    # --- text ------------------------------------------------------------------------------------

    def _mask(self, text: str) -> str:
        """The allowed addresses (the public one may contain the private one) blanked, same length."""
        for allowed in self._allowed:
            text = text.replace(allowed, MASK * len(allowed))
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

    def _spans(self, view: Mapped) -> list[tuple[int, int, str]]:
        """(start, end, kind) in the view; a thread address reaches back over its local part."""
        text = self._mask(view.text)
        spans: list[tuple[int, int, str]] = []
        if self._private is not None:
            spans += [(m.start(), m.end(), PRIVATE) for m in self._private.finditer(text)]
        if self._thread is not None:
            for m in self._thread.finditer(text):
                spans.append((local_start(text, m.start()), m.end(), THREAD))
        if self._tokens is not None:
            spans += [(m.start(), m.end(), TOKEN) for m in self._tokens.finditer(text)]
        return sorted(spans)

    def rewrite(self, text: str, replacement: str, *, html: bool = False) -> str:
        """Every spelling of the private mailbox and every thread address becomes ``replacement``;
        a bare token is removed. The rest of the text is left exactly as it was."""
        for markup in (False, True) if html or "<" in text else (False,):
            if not text or not self.found(text, html=markup):
                continue
            view = mapped_view(text, markup)
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
        markup = bool(MARKUP.search(data))  # tags between characters only matter in markup
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
                start = local_start(text, m.start())
                token = text[start : m.start()].strip("<>\"'. \t\r\n")
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
            found += [
                Finding("", "the whole mail", None, f"the raw mail ({enc})", kind)
                for enc, kind in self.found_bytes(mail, base64_text=False)
                if kind not in seen
            ]
        return _unique(found)

    def part_findings(self, part: Message, path: str = "", *, headers: bool = True) -> list[Finding]:
        """The findings of one part and of everything inside it (without the part's own
        headers when ``headers`` is false: a caller that rebuilds them)."""
        found: list[Finding] = []
        stack: list[_Item] = [(part, path, 0, None)]
        budget = Budget()
        while stack:
            current, where, depth, outer = stack.pop()
            budget.parts += 1
            if budget.parts > MAX_PARTS:
                found.append(Finding(where, "", None, f"a mail of more than {MAX_PARTS} parts", UNCHECKED))
                break
            found += self._part(current, where, depth, outer, stack, budget, headers=headers or budget.parts > 1)
        return _unique(found)

    def _part(
        self,
        part: Message,
        path: str,
        depth: int,
        outer: tuple[str, str | None] | None,
        stack: list[_Item],
        budget: Budget,
        *,
        headers: bool = True,
    ) -> list[Finding]:
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
        data = part_bytes(part)
        if part.get_content_maintype() == "text":
            where = "the text" if ctype == "text/plain" else "the HTML" if ctype == "text/html" else "the content"
            add(where, self.found(decode_bytes(data, part_charset(part)), html=ctype != "text/plain"))
        for encoding, kind in self.found_bytes(data):
            if not any(f.what == kind for f in found):
                add(f"the decoded bytes ({encoding})", [kind])
        for label, inner in contents(data, ctype, filename, budget):
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


__all__ = ["PRIVATE", "THREAD", "TOKEN", "UNCHECKED", "Finding", "Guard", "PartsHeld", "normalise"]
