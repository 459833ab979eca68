"""What one extraction returns, its limits, and the collector every format fills."""

from __future__ import annotations

import re
import time

import msgspec

# C0 controls except tab/newline/carriage return, DEL and C1 controls (NUL included).
_CONTROL_RE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")


class Limits(msgspec.Struct, frozen=True):
    max_bytes: int = 20 * 1024 * 1024  # bigger attachments are skipped, not read
    max_pages: int = 50  # PDF pages read at most
    max_chars: int = 200_000  # text kept at most
    max_seconds: float = 20.0  # wall-clock budget for one file, checked between pages/paragraphs/chunks
    max_zip_ratio: int = 100  # DOCX (zip) expansion ratio above which it is treated as a zip bomb
    max_zip_total: int = 100 * 1024 * 1024  # total uncompressed size of a DOCX zip above which it is a zip bomb


class Extraction(msgspec.Struct, frozen=True):
    outcome: str  # "extracted" | "skipped" | "failed"
    reason: str | None  # why skipped/failed/truncated
    text: str
    kind: str  # "pdf" | "docx" | "text" | "html" | "unknown"


def size_text(n: float) -> str:
    if n >= 1024 * 1024:
        return f"{n / (1024 * 1024):.1f} MB"
    if n >= 1024:
        return f"{n / 1024:.1f} KB"
    return f"{int(n)} bytes"


def excerpt(value: str, limit: int = 100) -> str:
    cleaned = "".join(ch if ch.isprintable() else "?" for ch in value[:limit])
    return cleaned + ("..." if len(value) > limit else "")


def error_text(exc: BaseException) -> str:
    message = excerpt(str(exc), 200)
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


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


class Collector:
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
