"""What an attachment holds inside, for the leak guard: zip members, gzip data, PDF
strings, streams and text, PNG text chunks, compressed RTF and mails, within a budget."""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from email import policy
from email.parser import BytesHeaderParser

UNCHECKED = "content that could not be checked"

MAX_INFLATED = 64 * 1024 * 1024  # bytes decompressed from zip, gzip, PDF and PNG data, per mail
MAX_ZIP_MEMBERS = 2000
PDF_TEXT_PAGES = 50


@dataclass
class Budget:
    parts: int = 0
    inflated: int = 0


_MAIL_START = re.compile(rb"\A(?:[!-9;-~]{1,76}:[^\r\n]*\r?\n(?:[ \t][^\r\n]*\r?\n)*){2,}")
_MAIL_HEADERS = frozenset(
    {"from", "to", "subject", "date", "message-id", "received", "return-path", "reply-to", "mime-version", "sender", "cc"}
)
_PDF_STREAM = re.compile(rb"<<(.{0,2000}?)>>\s*stream\r?\n(.*?)endstream", re.DOTALL)
_PDF_LITERAL = re.compile(rb"\((?:\\.|[^()\\]|\((?:\\.|[^()\\])*\))*\)", re.DOTALL)
_PDF_HEX = re.compile(rb"<([0-9A-Fa-f\s]{8,})>")
_PDF_ESCAPES = {b"n": b"\n", b"r": b"\r", b"t": b"\t", b"b": b"\b", b"f": b"\f", b"(": b"(", b")": b")", b"\\": b"\\"}


def contents(data: bytes, ctype: str, filename: str | None, budget: Budget) -> Iterator[tuple[str, bytes]]:
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


def _inflate(data: bytes, budget: Budget, *, wbits: int = 15) -> bytes | None:
    """Decompressed ``data`` (as much as decodes), or None when over the budget."""
    left = MAX_INFLATED - budget.inflated
    try:
        inflater = zlib.decompressobj(wbits)
        out = inflater.decompress(data, left + 1)
    except zlib.error:
        return b""
    budget.inflated += len(out)
    return None if len(out) > left else out


def _zip_members(data: bytes, budget: Budget) -> Iterator[tuple[str, bytes]]:
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
        for label, inner in contents(content, "", info.filename, budget):
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


def _pdf(data: bytes, budget: Budget) -> Iterator[tuple[str, bytes]]:
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


_RTF_PREBUF = (
    b"{\\rtf1\\ansi\\mac\\deff0\\deftab720{\\fonttbl;}{\\f0\\fnil \\froman \\fswiss \\fmodern \\fscript "
    b"\\fdecor MS Sans SerifSymbolArialTimes New RomanCourier{\\colortbl\\red0\\green0\\blue0\r\n\\par "
    b"\\pard\\plain\\f0\\fs20\\b\\i\\u\\tab\\tx"
)


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


def _compressed_rtf(data: bytes, budget: Budget) -> Iterator[tuple[str, bytes]]:
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


def _png_text(data: bytes, budget: Budget) -> Iterator[tuple[str, bytes]]:
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
