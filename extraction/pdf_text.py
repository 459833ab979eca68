"""Text of a PDF with pypdf (an encrypted one is tried with the empty password)."""

from __future__ import annotations

import io

from pypdf import PdfReader

from extraction.results import Collector, Extraction, Limits, error_text


def extract_pdf(data: bytes, limits: Limits) -> Extraction:
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
        return Extraction("failed", f"broken PDF ({error_text(exc)})", "", "pdf")

    collector = Collector(limits)
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
            errors.append(error_text(exc))
            continue
        if not collector.add(page_text or ""):
            break
    if errors and not collector.pieces:
        return Extraction("failed", f"broken PDF ({errors[0]})", "", "pdf")
    if errors:
        collector.truncate(f"{len(errors)} unreadable page(s)")
    return collector.result("pdf")
