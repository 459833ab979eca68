"""The views the leak guard searches: a text with every spelling of an address undone.

Folding and soft breaks removed, (for markup) tags removed, entities and byte and character
escapes decoded, NFKC, casefold and invisible characters gone (see ``mail.leaks``); a
``Mapped`` view remembers where each of its characters came from, for rewriting.
"""

from __future__ import annotations

import html
import re
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache

_FOLDS = re.compile(r"\r?\n[ \t]")
_SOFT_BREAKS = re.compile(r"=\r?\n")
_TAGS = re.compile(r"<!--.*?-->|<[a-z/!?][^<>]{0,4000}>", re.DOTALL | re.IGNORECASE)
_ENTITY = re.compile(r"&(?:#[0-9]{1,8}|#[xX][0-9a-fA-F]{1,7}|[A-Za-z][A-Za-z0-9]{1,31});?")
_BYTE_ESCAPES = re.compile(r"(?:%[0-9A-Fa-f]{2}|=[0-9A-Fa-f]{2}|\\x[0-9A-Fa-f]{2}|\\'[0-9A-Fa-f]{2}|\\[0-7]{3})+")
_ONE_BYTE = re.compile(r"%([0-9A-Fa-f]{2})|=([0-9A-Fa-f]{2})|\\x([0-9A-Fa-f]{2})|\\'([0-9A-Fa-f]{2})|\\([0-7]{3})")
_CHAR_ESCAPES = re.compile(r"\\u\{?([0-9A-Fa-f]{4,6})\}?|\\u(-?[0-9]{2,5})\??")
_FILLERS = frozenset("\u115f\u1160\u3164\uffa0\u180e\u2800")
_AT = r"(?:\s*@\s*|\s*[(\[{<]\s*at\s*[)\]}>]\s*|\s+at\s+)"
AT_NO_LEAD = r"(?:@\s*|[(\[{<]\s*at\s*[)\]}>]\s*|\sat\s+)"
MARKUP = re.compile(rb"<(?:/?[a-z][a-z0-9]{0,10}(?:\s[^<>]{0,200})?/?)>", re.IGNORECASE)
_DOT = r"(?:\s*\.\s*|\s*[(\[{<]\s*dot\s*[)\]}>]\s*|\s+dot\s+)"
_LOCAL_CHARS = frozenset("abcdefghijklmnopqrstuvwxyz0123456789.!#$%&'*+/=?^_`{|}~-")
MASK = "\x00"


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
class Mapped:
    """A view that remembers, for each of its characters, the span of the source it came from."""

    text: str
    starts: list[int]
    ends: list[int]

    @classmethod
    def of(cls, text: str) -> Mapped:
        return cls(text, list(range(len(text))), list(range(1, len(text) + 1)))

    def sub(self, pattern: re.Pattern[str], fn: Sub) -> Mapped:
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
        return Mapped("".join(pieces), starts, ends)

    def chars(self) -> Mapped:
        pieces: list[str] = []
        starts: list[int] = []
        ends: list[int] = []
        for index, ch in enumerate(self.text):
            new = ch.lower() if ch.isascii() else _char(ch)
            pieces.append(new)
            starts += [self.starts[index]] * len(new)
            ends += [self.ends[index]] * len(new)
        return Mapped("".join(pieces), starts, ends)

    def source_span(self, a: int, b: int) -> tuple[int, int]:
        return self.starts[a], self.ends[b - 1]


def mapped_view(text: str, markup: bool) -> Mapped:
    view = Mapped.of(text).chars()
    for pattern, sub in _steps(markup):
        view = view.sub(pattern, sub)
    return view.chars()


def spelt(address: str) -> str:
    """A regex for an address with its ``@`` and dots in any of their spellings."""
    local, _, domain = address.rpartition("@")
    if not local:
        return dotted(domain)
    return dotted(local) + _AT + dotted(domain)


def dotted(name: str) -> str:
    return _DOT.join(re.escape(label) for label in name.split("."))


def local_start(text: str, at: int) -> int:
    """Where the local part before an "@" (and the blanks between them) starts."""
    start = at
    while start > 0 and at - start < 8 and text[start - 1].isspace():
        start -= 1
    blank = start
    while start > 0 and blank - start < 64 and text[start - 1] in _LOCAL_CHARS:
        start -= 1
    return start if start < blank else at
