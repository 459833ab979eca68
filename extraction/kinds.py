"""The kind of an attachment (pdf, docx, html, text, unknown) and its declared charset."""

from __future__ import annotations

import io
import zipfile

DOCX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"

_HTML_CONTENT_TYPES = frozenset({"text/html", "application/xhtml+xml"})
_TEXT_EXTENSIONS = frozenset({"txt", "csv", "md"})
_HTML_EXTENSIONS = frozenset({"html", "htm", "xhtml"})


def media_type(content_type: str) -> str:
    return (content_type or "").split(";", 1)[0].strip().lower()


def charset_of(content_type: str) -> str | None:
    for param in (content_type or "").split(";")[1:]:
        key, sep, value = param.partition("=")
        if sep and key.strip().lower() == "charset":
            value = value.strip().strip("\"'").strip()
            return value or None
    return None


def _extension(filename: str) -> str:
    base = (filename or "").replace("\\", "/").rsplit("/", 1)[-1]
    return base.rsplit(".", 1)[-1].strip().lower() if "." in base else ""


def _is_docx_zip(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            return "word/document.xml" in zf.namelist()
    except Exception:
        return False


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
    media = media_type(content_type)
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
