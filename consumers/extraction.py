"""Pure attachment text extraction (no AWS).

Turns the bytes of one attachment into plain text for indexing and rules:

* PDF with pypdf (encrypted PDFs are tried with the empty password),
* DOCX with python-docx (paragraphs and table cells, in document order), after the
  zip's central directory has been checked for zip bombs,
* ``text/*`` and ``.txt``/``.csv``/``.md`` decoded with the declared charset,
* HTML through the stdlib ``html.parser``.

:func:`extract_text` never raises: every problem becomes an :class:`Extraction` with
outcome ``"failed"`` (the file could not be read) or ``"skipped"`` (the file was not
read on purpose: too big, zip bomb, unsupported type).

>>> extract_text("note.txt", "text/plain", b"Hello   \\x00world").text
'Hello world'
>>> extract_text("x.bin", "application/zip", b"PK").reason
'unsupported type application/zip'
"""

from __future__ import annotations

import codecs
import io
import re
import time
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from html.parser import HTMLParser

import docx
from docx.document import Document as DocxDocument
from docx.table import Table, _Cell
from pypdf import PdfReader

__all__ = ["Extraction", "Limits", "extract_text", "kind_of"]

DOCX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

_HTML_CONTENT_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_TEXT_EXTENSIONS = frozenset({"txt", "csv", "md"})
_HTML_EXTENSIONS = frozenset({"html", "htm", "xhtml"})

# Codecs that are not character sets for documents, or are pathologically slow on hostile input.
_REFUSED_CODECS = frozenset({"punycode", "idna", "unicode-escape", "raw-unicode-escape", "undefined"})

# A per-entry compression ratio is only meaningful for entries of some size: tiny, repetitive XML
# parts of ordinary documents compress very well.
_RATIO_MIN_ENTRY_SIZE = 1024 * 1024

_HTML_FEED_CHUNK = 1024 * 1024

# C0 controls except tab/newline/carriage return, DEL and C1 controls (NUL included).
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
_META_CHARSET_RE = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE)


@dataclass(frozen=True)
class Limits:
    max_bytes: int = 20 * 1024 * 1024  # bigger attachments are skipped, not read
    max_pages: int = 50  # PDF pages read at most
    max_chars: int = 200_000  # text kept at most
    max_seconds: float = 20.0  # wall-clock budget for one file, checked between pages/paragraphs/chunks
    max_zip_ratio: int = 100  # DOCX (zip) expansion ratio above which it is treated as a zip bomb
    max_zip_total: int = 100 * 1024 * 1024  # total uncompressed size of a DOCX zip above which it is a zip bomb


@dataclass(frozen=True)
class Extraction:
    outcome: str  # "extracted" | "skipped" | "failed"
    reason: str | None  # why skipped/failed/truncated
    text: str
    kind: str  # "pdf" | "docx" | "text" | "html" | "unknown"


# --------------------------------------------------------------------------- helpers


def _media_type(content_type: str) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def _charset(content_type: str) -> str | None:
    for param in (content_type or "").split(";")[1:]:
        key, sep, value = param.partition("=")
        if sep and key.strip().lower() == "charset":
            value = value.strip().strip("\"'").strip()
            return value or None
    return None


def _extension(filename: str) -> str:
    base = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    return base.rsplit(".", 1)[-1].strip().lower() if "." in base else ""


def _size(n: float) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MB"
    if n >= 1024:
        return f"{n / 1024:.1f} KB"
    return f"{int(n)} bytes"


def _printable(value: str, limit: int = 100) -> str:
    cleaned = "".join(ch if ch.isprintable() else "?" for ch in value[:limit])
    return cleaned + ("..." if len(value) > limit else "")


def _error(exc: BaseException) -> str:
    message = _printable(str(exc), 200)
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


def _is_docx_zip(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return "word/document.xml" in zf.namelist()
    except Exception:
        return False


def normalise(text: str, max_chars: int | None = None) -> str:
    """Drop NUL and other control characters, collapse whitespace per line and blank-line runs.

    >>> normalise("  a\\x00b \\t c  \\r\\n\\n\\n\\n  d  ")
    'ab c\\n\\nd'
    """
    # Lone surrogates (possible from PDF text) cannot be stored as UTF-8 later on.
    text = text.encode("utf-8", "replace").decode("utf-8")
    text = _CONTROL_RE.sub(lambda m: "\n" if m.group() in "\x0b\x0c" else "", text)
    lines: list[str] = []
    for raw in text.splitlines():
        line = " ".join(raw.split())
        if line or (lines and lines[-1]):
            lines.append(line)
    while lines and not lines[-1]:
        lines.pop()
    result = "\n".join(lines)
    if max_chars is not None and len(result) > max_chars:
        result = result[:max_chars].rstrip()
    return result


class _Collector:
    """Collects text pieces, knows when ``max_chars`` is exceeded and when time is up."""

    def __init__(self, limits: Limits) -> None:
        self.limits = limits
        self.deadline = time.monotonic() + limits.max_seconds
        self.pieces: list[str] = []
        self.length = 0
        self.reasons: list[str] = []
        self.overflow = False  # text was dropped before it reached the collector

    @property
    def full(self) -> bool:
        return self.overflow or self.length > self.limits.max_chars

    def add(self, piece: str) -> bool:
        """Add a piece; False once no more text is wanted."""
        piece = normalise(piece)
        if piece:
            self.length += len(piece) + (1 if self.pieces else 0)  # length of the "\n"-joined text
            self.pieces.append(piece)
        return not self.full

    def out_of_time(self) -> bool:
        if time.monotonic() > self.deadline:
            self._reason("time limit")
            return True
        return False

    def _reason(self, reason: str) -> None:
        if reason not in self.reasons:
            self.reasons.append(reason)

    def truncate(self, reason: str) -> None:
        self._reason(reason)

    def result(self, kind: str) -> Extraction:
        text = normalise("\n".join(self.pieces))
        if len(text) > self.limits.max_chars or self.full:
            text = normalise(text, self.limits.max_chars)
            self._reason(f"truncated at {self.limits.max_chars} chars")
        reasons = list(self.reasons)
        if not text and not reasons:
            reasons.append("no text found")
        return Extraction("extracted", "; ".join(reasons) or None, text, kind)


# --------------------------------------------------------------------------- type detection


def kind_of(filename: str, content_type: str, data: bytes) -> str:
    """Kind of an attachment: magic bytes first, then content type, then file extension.

    >>> kind_of("a.bin", "application/octet-stream", b"%PDF-1.4 ...")
    'pdf'
    >>> kind_of("page.htm", "", b"<p>hi</p>")
    'html'
    >>> kind_of("a.exe", "application/x-msdownload", b"MZ")
    'unknown'
    """
    if data.startswith(b"%PDF-"):
        return "pdf"
    if data.startswith(b"PK\x03\x04") and _is_docx_zip(data):
        return "docx"
    media = _media_type(content_type)
    if media == "application/pdf":
        return "pdf"
    if media == DOCX_CONTENT_TYPE:
        return "docx"
    if media in _HTML_CONTENT_TYPES:
        return "html"
    if media.startswith("text/"):
        return "text"
    ext = _extension(filename)
    if ext == "pdf":
        return "pdf"
    if ext == "docx":
        return "docx"
    if ext in _HTML_EXTENSIONS:
        return "html"
    if ext in _TEXT_EXTENSIONS:
        return "text"
    return "unknown"


# --------------------------------------------------------------------------- decoding


def _usable_codec(name: str | None) -> str | None:
    if not name:
        return None
    try:
        info = codecs.lookup(name)
    except (LookupError, TypeError, ValueError):
        return None
    if info.name in _REFUSED_CODECS or not getattr(info, "_is_text_encoding", True):
        return None
    return info.name


def decode_bytes(data: bytes, declared: str | None) -> str:
    """Decode with the BOM, else the declared charset, else UTF-8, else latin-1 (never fails).

    >>> decode_bytes("café".encode("latin-1"), None)
    'café'
    >>> decode_bytes("café".encode("utf-8"), "us-ascii")
    'café'
    """
    if data.startswith(codecs.BOM_UTF8):
        return data[len(codecs.BOM_UTF8) :].decode("utf-8", errors="replace")
    if data.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return data.decode("utf-32", errors="replace")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return data.decode("utf-16", errors="replace")
    for candidate in (_usable_codec(declared), "utf-8"):
        if candidate is None:
            continue
        try:
            return data.decode(candidate)
        except (UnicodeError, LookupError, ValueError):
            continue
    return data.decode("latin-1", errors="replace")


# --------------------------------------------------------------------------- PDF


def _extract_pdf(data: bytes, limits: Limits) -> Extraction:
    try:
        reader = PdfReader(io.BytesIO(data), strict=False)
        if reader.is_encrypted:
            try:
                decrypted = bool(reader.decrypt(""))
            except Exception:
                decrypted = False
            if not decrypted:
                return Extraction("failed", "encrypted PDF", "", "pdf")
        page_count = len(reader.pages)
    except Exception as exc:
        return Extraction("failed", f"broken PDF ({_error(exc)})", "", "pdf")

    collector = _Collector(limits)
    errors: list[str] = []
    for index in range(page_count):
        if index >= limits.max_pages:
            collector.truncate(f"truncated at {limits.max_pages} pages")
            break
        if collector.out_of_time():
            break
        try:
            page_text = reader.pages[index].extract_text()
        except Exception as exc:
            errors.append(_error(exc))
            continue
        if not collector.add(page_text or ""):
            break
    if errors and not collector.pieces:
        return Extraction("failed", f"broken PDF ({errors[0]})", "", "pdf")
    if errors:
        collector.truncate(f"{len(errors)} unreadable page(s)")
    return collector.result("pdf")


# --------------------------------------------------------------------------- DOCX


def _zip_bomb(data: bytes, limits: Limits) -> str | None:
    """Reason if the zip's central directory announces a bomb.

    Python's zipfile never inflates an entry beyond the size declared in the central directory,
    so checking the declared sizes bounds what python-docx can later decompress.
    """
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        infos = zf.infolist()
    total = sum(info.file_size for info in infos)
    if total > limits.max_zip_total:
        return f"zip bomb (uncompressed {_size(total)} > {_size(limits.max_zip_total)})"
    compressed = sum(info.compress_size for info in infos)
    overall = total / max(compressed, 1)
    worst = max(
        (info.file_size / max(info.compress_size, 1) for info in infos if info.file_size >= _RATIO_MIN_ENTRY_SIZE),
        default=0.0,
    )
    ratio = max(worst, overall if total >= _RATIO_MIN_ENTRY_SIZE else 0.0)
    if ratio > limits.max_zip_ratio:
        return f"zip bomb (ratio {ratio:.0f})"
    return None


def _cell_text(cell: _Cell) -> str:
    parts: list[str] = []
    for item in cell.iter_inner_content():
        if isinstance(item, Table):
            parts.extend(_table_rows(item))
        else:
            parts.append(item.text)
    return " ".join(parts)


def _table_rows(table: Table) -> Iterator[str]:
    for row in table.rows:
        seen: set[int] = set()
        cells: list[str] = []
        for cell in row.cells:
            # Merged cells are returned once per grid column; keep them once.
            if id(cell._tc) in seen:
                continue
            seen.add(id(cell._tc))
            text = " ".join(_cell_text(cell).split())
            if text:
                cells.append(text)
        if cells:
            yield " | ".join(cells)


def _docx_blocks(document: DocxDocument) -> Iterator[str]:
    """Body paragraphs and table rows (cells joined by " | "), in document order."""
    for block in document.iter_inner_content():
        if isinstance(block, Table):
            yield from _table_rows(block)
        else:
            yield block.text


def _extract_docx(data: bytes, limits: Limits) -> Extraction:
    try:
        bomb = _zip_bomb(data, limits)
    except Exception as exc:
        return Extraction("failed", f"broken DOCX ({_error(exc)})", "", "docx")
    if bomb:
        return Extraction("skipped", bomb, "", "docx")
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:
        return Extraction("failed", f"broken DOCX ({_error(exc)})", "", "docx")

    collector = _Collector(limits)
    for text in _docx_blocks(document):
        if collector.out_of_time() or not collector.add(text):
            break
    return collector.result("docx")


# --------------------------------------------------------------------------- text / HTML


class _HTMLText(HTMLParser):
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

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip_depth = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._SKIP:
            self.skip_depth += 1
        elif tag in self._BLOCK:
            self.parts.append("\n")
        elif tag in self._CELL:
            self.parts.append(" ")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self._BLOCK:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in self._SKIP:
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


def _extract_html(text: str, limits: Limits) -> Extraction:
    collector = _Collector(limits)
    parser = _HTMLText()
    pending = ""
    for start in range(0, len(text), _HTML_FEED_CHUNK):
        if collector.out_of_time():
            break
        parser.feed(text[start : start + _HTML_FEED_CHUNK])
        # Only hand over complete lines: a chunk may end in the middle of a word.
        head, _, pending = (pending + parser.take()).rpartition("\n")
        if not collector.add(head):
            pending = ""
            break
    else:
        parser.close()
        pending += parser.take()
    collector.add(pending)
    return collector.result("html")


def _extract_plain(text: str, limits: Limits) -> Extraction:
    collector = _Collector(limits)
    # Cut well beyond max_chars before normalising: whitespace collapsing only shrinks text.
    budget = max(limits.max_chars, 0) * 4 + 4096
    collector.add(text[:budget])
    collector.overflow = len(text) > budget
    return collector.result("text")


# --------------------------------------------------------------------------- entry point


def _extract(filename: str, content_type: str, data: bytes, limits: Limits) -> Extraction:
    data = bytes(data)
    kind = kind_of(filename, content_type, data)
    if len(data) > limits.max_bytes:
        reason = f"over size limit ({_size(len(data))} > {_size(limits.max_bytes)})"
        return Extraction("skipped", reason, "", kind)
    if kind == "pdf":
        return _extract_pdf(data, limits)
    if kind == "docx":
        return _extract_docx(data, limits)
    if kind == "html":
        declared = _charset(content_type)
        if not _usable_codec(declared):
            match = _META_CHARSET_RE.search(data[:4096])
            declared = match.group(1).decode("ascii", "replace") if match else None
        return _extract_html(decode_bytes(data, declared), limits)
    if kind == "text":
        return _extract_plain(decode_bytes(data, _charset(content_type)), limits)
    media = _printable(_media_type(content_type)) or "application/octet-stream"
    return Extraction("skipped", f"unsupported type {media}", "", "unknown")


def extract_text(filename: str, content_type: str, data: bytes, limits: Limits = Limits()) -> Extraction:
    """Extract the text of one attachment. Never raises."""
    try:
        return _extract(filename, content_type, data, limits)
    except Exception as exc:  # the contract: whatever the bytes, an Extraction comes back
        try:
            kind = kind_of(filename, content_type, data)
        except Exception:
            kind = "unknown"
        return Extraction("failed", f"extraction error ({_error(exc)})", "", kind)
