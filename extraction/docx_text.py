"""Text of a DOCX with python-docx (paragraphs and table rows in document order),
after the zip's central directory has been checked for zip bombs."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Iterator

import docx
from docx.document import Document as DocxDocument
from docx.table import Table, _Cell

from extraction.results import Collector, Extraction, Limits, error_text, size_text

# A per-entry compression ratio is only meaningful for entries of some size: tiny, repetitive XML
# parts of ordinary documents compress very well.
_RATIO_MIN_ENTRY_SIZE = 1024 * 1024


def _zip_bomb(data: bytes, limits: Limits) -> str | None:
    """Reason if the zip's central directory announces a bomb.

    Python's zipfile never inflates an entry beyond the size declared in the central directory,
    so checking the declared sizes bounds what python-docx can later decompress.
    """
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        infos = zf.infolist()
    total = sum(info.file_size for info in infos)
    if total > limits.max_zip_total:
        return f"zip bomb (uncompressed {size_text(total)} > {size_text(limits.max_zip_total)})"
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


def extract_docx(data: bytes, limits: Limits) -> Extraction:
    try:
        bomb = _zip_bomb(data, limits)
    except Exception as exc:
        return Extraction("failed", f"broken DOCX ({error_text(exc)})", "", "docx")
    if bomb:
        return Extraction("skipped", bomb, "", "docx")
    try:
        document = docx.Document(io.BytesIO(data))
    except Exception as exc:
        return Extraction("failed", f"broken DOCX ({error_text(exc)})", "", "docx")

    collector = Collector(limits)
    for text in _docx_blocks(document):
        if collector.out_of_time() or not collector.add(text):
            break
    return collector.result("docx")
