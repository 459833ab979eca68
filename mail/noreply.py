"""No-reply addresses, from the shipped list ``noreply.txt`` (data, not code).

An entry is a sequence of words ("do-not-reply"); it matches a local part when the
local part's words, at token boundaries, spell it with any separators or none.

>>> noreply_marker("Info-NoReply@shop.example"), noreply_marker("no_reply+42@x.org")
('no-reply', 'no-reply')
>>> noreply_marker("não-responda@banco.example"), noreply_marker("jane.doe@acme.com")
('nao-responda', None)
>>> noreply_marker("noreplyer@x.org"), noreply_marker("bounces-12@lists.example")
(None, 'bounces')
"""

from __future__ import annotations

import re
import unicodedata
from functools import cache
from importlib.resources import files

_WORD = re.compile(r"[a-z]+|[0-9]+")


def words(text: str) -> list[str]:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return _WORD.findall(ascii_text)


@cache
def noreply_entries() -> dict[str, str]:
    """Each entry's words run together → the entry as written."""
    text = files("mail").joinpath("noreply.txt").read_text(encoding="utf-8")
    entries = {}
    for line in text.splitlines():
        entry = line.strip().lower()
        if entry and not entry.startswith("#"):
            entries["".join(words(entry))] = entry
    return entries


def noreply_marker(address: str | None) -> str | None:
    """The entry of ``noreply.txt`` the address's local part spells, or None."""
    local = (address or "").rpartition("@")[0]
    tokens = words(local)
    entries = noreply_entries()
    for start in range(len(tokens)):
        run = ""
        for token in tokens[start:]:
            run += token
            if run in entries:
                return entries[run]
            if len(run) > 40:
                break
    return None
