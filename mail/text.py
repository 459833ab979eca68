"""Text from mail bytes: charset decoding, RFC 2047 words, surrogate repair, HTML to text.

One place for parsing (``mail.parsing``), the builders and attachment extraction.

>>> decode_bytes("café".encode("latin-1"), None), decode_bytes("café".encode("utf-8"), "us-ascii")
('café', 'café')
>>> decode_bytes(b"caf\\xe9", "idna")  # a refused codec is never decoded with
'café'
"""

from __future__ import annotations

import codecs
import html
import re
from email.header import decode_header
from email.message import Message
from html.parser import HTMLParser

from mail.limits import safe_charset

# UTF-32 first: its little-endian mark starts with UTF-16's
_BOMS = (
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def fix_surrogates(value: str) -> str:
    """Turn the surrogate escapes of a mail's raw 8-bit bytes into real characters."""
    try:
        value.encode("utf-8")
        return value
    except UnicodeEncodeError:
        pass
    try:
        data = value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        return value.encode("utf-8", "replace").decode("utf-8")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("cp1252", "replace")


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Decode by the byte order mark, else the declared charset, else UTF-8, else the
    declared charset (if not UTF-8) with replacement characters, else windows-1252. Never raises;
    refused codecs (``mail.limits.safe_charset``) are never decoded with."""
    boms: tuple[tuple[bytes, str], ...] = _BOMS
    if (charset or "").strip().lower().replace("_", "-") in ("utf-16", "utf16"):
        # FF FE 00 00 is UTF-32's mark, and also UTF-16's followed by a NUL: the label decides
        boms = tuple(b for b in _BOMS if not b[1].startswith("utf-32"))
    for bom, bom_codec in boms:
        if data.startswith(bom):
            return data[len(bom) :].decode(bom_codec, "replace")
    declared_ok = False
    codec = safe_charset(charset)  # idna, punycode, rot13 ...: never decoded with
    if codec:
        try:
            return data.decode(codec)
        except UnicodeDecodeError:
            declared_ok = True
        except Exception:  # a stateful codec failing otherwise
            pass
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    # a charset that was declared and decodes all but a few bytes is kept (with U+FFFD);
    # but text that is not even UTF-8 under a UTF-8 label is legacy 8-bit text
    if declared_ok and codec and codec != "utf-8":
        try:
            return data.decode(codec, "replace")
        except Exception:
            pass
    return data.decode("cp1252", "replace")


def decode_words(text: str) -> str:
    """Decode RFC 2047 encoded words; leave the text alone when that fails."""
    if "=?" not in text:
        return text
    try:
        chunks = decode_header(text)
    except Exception:
        return text
    out: list[str] = []
    for chunk, charset in chunks:
        if isinstance(chunk, str):
            out.append(chunk)
        elif charset is None:
            try:
                out.append(chunk.decode("raw-unicode-escape"))
            except UnicodeDecodeError:
                out.append(chunk.decode("latin-1"))
        else:
            out.append(decode_bytes(chunk, charset))
    return "".join(out)


def part_bytes(part: Message) -> bytes:
    """A leaf part's content as bytes, whatever its transfer encoding claims (raw when it lies)."""
    try:
        data = part.get_payload(decode=True)
    except Exception:
        data = None
    if isinstance(data, bytes):
        return data
    payload = part.get_payload()
    return payload.encode("utf-8", "surrogateescape") if isinstance(payload, str) else b""


def part_charset(part: Message) -> str | None:
    """The charset a part declares, None when it declares none or a broken one."""
    try:
        return part.get_content_charset()
    except Exception:
        return None


class HtmlText(HTMLParser):
    """The text of HTML: block elements end lines, table cells are spaced apart, and
    scripts, styles (and with ``skip_head`` the head) are left out. ``take`` hands
    over what was read so far, so large documents can be fed in chunks."""

    _SKIP = frozenset({"script", "style", "noscript", "template"})
    _BLOCK = frozenset(
        {
            "address", "article", "aside", "blockquote", "body", "br", "caption", "dd", "details", "div", "dl",
            "dt", "fieldset", "figcaption", "figure", "footer", "form", "h1", "h2", "h3", "h4", "h5", "h6",
            "header", "hr", "html", "li", "main", "nav", "ol", "p", "pre", "section", "summary", "table",
            "tbody", "tfoot", "thead", "title", "tr", "ul",
        }
    )  # fmt: skip
    _CELL = frozenset({"td", "th"})

    def __init__(self, *, skip_head: bool = False) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip_depth = 0
        self._skip = self._SKIP | {"head"} if skip_head else self._SKIP

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._skip:
            self.skip_depth += 1
        elif tag in self._BLOCK:
            self.parts.append("\n")
        elif tag in self._CELL:
            self.parts.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._skip:
            self.skip_depth = max(0, self.skip_depth - 1)
        elif tag in self._BLOCK:
            self.parts.append("\n")
        elif tag in self._CELL:
            self.parts.append(" ")

    def handle_data(self, data: str) -> None:
        if not self.skip_depth:
            self.parts.append(data)

    def take(self) -> str:
        text = "".join(self.parts)
        self.parts = []
        return text


_WS = re.compile(r"[ \t\r\f\v]+")


def html_to_text(markup: str) -> str:
    """A mail body's HTML as lines of text (the head left out), blank lines dropped."""
    parser = HtmlText(skip_head=True)
    try:
        parser.feed(markup)
        parser.close()
    except Exception:
        return html.unescape(re.sub(r"<[^>]+>", " ", markup))
    lines = (_WS.sub(" ", line).strip() for line in parser.take().splitlines())
    return "\n".join(line for line in lines if line)


__all__ = ["HtmlText", "decode_bytes", "decode_words", "fix_surrogates", "html_to_text", "part_bytes", "part_charset"]
