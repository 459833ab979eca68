"""Pure attachment text extraction (no AWS): one module per format.

Turns the bytes of one attachment into plain text for indexing and rules:

* PDF with pypdf (encrypted PDFs are tried with the empty password),
* DOCX with python-docx (paragraphs and table cells, in document order), after the
  zip's central directory has been checked for zip bombs,
* ``text/*`` and ``.txt``/``.csv``/``.md`` decoded with the declared charset,
* HTML through ``mail.text.HtmlText`` (the stdlib ``html.parser``); charsets are
  decoded by ``mail.text.decode_bytes``, as for mail parts.

:func:`extract_text` never raises: every problem becomes an :class:`Extraction` with
outcome ``"failed"`` (the file could not be read) or ``"skipped"`` (the file was not
read on purpose: too big, zip bomb, unsupported type).

>>> extract_text("note.txt", "text/plain", b"Hello   \\x00world").text
'Hello world'
>>> extract_text("x.bin", "application/zip", b"PK").reason
'unsupported type application/zip'
"""

from __future__ import annotations

from extraction.kinds import DOCX_CONTENT_TYPE, charset_of, kind_of, media_type
from extraction.markup import META_CHARSET, extract_html, extract_plain
from extraction.results import Extraction, Limits, error_text, excerpt, normalise, size_text
from mail.limits import safe_charset
from mail.text import decode_bytes

__all__ = ["DOCX_CONTENT_TYPE", "Extraction", "Limits", "extract_text", "kind_of", "normalise"]


def _extract(filename: str, content_type: str, data: bytes, limits: Limits) -> Extraction:
    data = bytes(data)
    kind = kind_of(filename, content_type, data)
    if len(data) > limits.max_bytes:
        reason = f"over size limit ({size_text(len(data))} > {size_text(limits.max_bytes)})"
        return Extraction("skipped", reason, "", kind)
    # pypdf and python-docx take ~90 ms to import: a cold start pays for the one its mail needs
    if kind == "pdf":
        from extraction.pdf_text import extract_pdf

        return extract_pdf(data, limits)
    if kind == "docx":
        from extraction.docx_text import extract_docx

        return extract_docx(data, limits)
    if kind == "html":
        declared = charset_of(content_type)
        if not safe_charset(declared):
            match = META_CHARSET.search(data[:4096])
            declared = match.group(1).decode("ascii", "replace") if match else None
        return extract_html(decode_bytes(data, declared), limits)
    if kind == "text":
        return extract_plain(decode_bytes(data, charset_of(content_type)), limits)
    media = excerpt(media_type(content_type)) or "application/octet-stream"
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
        return Extraction("failed", f"extraction error ({error_text(exc)})", "", kind)
