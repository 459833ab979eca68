"""Text of HTML (``mail.text.HtmlText``, fed in chunks) and of plain text files."""

from __future__ import annotations

import re

from extraction.results import Collector, Extraction, Limits
from mail.text import HtmlText

_HTML_FEED_CHUNK = 1024 * 1024
META_CHARSET = re.compile(rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9._:-]+)""", re.IGNORECASE)


def extract_html(text: str, limits: Limits) -> Extraction:
    collector = Collector(limits)
    parser = HtmlText()
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


def extract_plain(text: str, limits: Limits) -> Extraction:
    collector = Collector(limits)
    # Cut well beyond max_chars before normalising: whitespace collapsing only shrinks text.
    budget = max(limits.max_chars, 0) * 4 + 4096
    collector.add(text[:budget])
    collector.overflow = len(text) > budget
    return collector.result("text")
