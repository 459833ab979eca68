"""Reply commands: lines like ``[TITLE: Staff Engineer]`` in the owner's reply.

Only the owner's new text counts: quoted lines (starting with ``>``) and everything
from an attribution line (``On <date>, <someone> wrote:``, possibly wrapped over two
lines, or Outlook's ``-----Original Message-----``) onwards are ignored. Commands are
recognised in the signature too, but the signature (from a ``-- `` line) is not part
of ``remaining_text``, so a reply holding only commands has ``remaining_text == ""``
and is an annotation, not a message to send.

The text is expected unflowed (RFC 3676): with ``format=flowed`` a long command line
arrives split over several lines and would not be recognised.
"""

from __future__ import annotations

import re
import unicodedata

import msgspec

KNOWN_COMMANDS = {
    "COMPANY": "company",
    "TITLE": "title",
    "LOCATION": "location",
    "SALARY": "salary",
    "JOB-ID": "job_id",
    "STATUS": "status",
    "NOTES": "notes",
    "NOTE": "notes",
}

MAX_VALUE = 500

_COMMAND = re.compile(r"^\s*\[\s*([A-Za-z][A-Za-z-]*)\s*:\s*(.*?)\s*\]\s*$")
_LINES = re.compile(r"\r\n|\r|\n")
_ATTRIBUTION = re.compile(r"^\s*On\s.*\swrote:\s*$", re.IGNORECASE)
_ATTRIBUTION_START = re.compile(r"^\s*On\s", re.IGNORECASE)
_ATTRIBUTION_END = re.compile(r"\swrote:\s*$|^\s*wrote:\s*$", re.IGNORECASE)
_ORIGINAL_MESSAGE = re.compile(r"^\s*-{2,}\s*Original Message\s*-{2,}\s*$", re.IGNORECASE)


class ParsedCommands(msgspec.Struct, frozen=True):
    commands: list[tuple[str, str]]
    """(field name, value) in the order written, e.g. ``("title", "Staff Engineer")``."""
    unknown: list[str]
    """Command-shaped lines with an unknown name or an empty value, stripped."""
    lines: list[str]
    """The known command lines as they appear, stripped: remove these before sending."""
    remaining_text: str
    """The owner's new text without command lines, quotes, attribution and signature."""


def _clean_value(value: str) -> str:
    out = []
    for ch in value:
        category = unicodedata.category(ch)
        if category in ("Cc", "Zl", "Zp"):
            out.append(" ")
        elif category == "Cf" and ch != "\u200d":
            continue
        else:
            out.append(ch)
    return "".join(out).strip()[:MAX_VALUE].strip()


def _is_attribution(lines: list[str], index: int) -> bool:
    line = lines[index]
    if _ATTRIBUTION.match(line) or _ORIGINAL_MESSAGE.match(line):
        return True
    # "On Mon, 1 Jan 2024 at 10:00, Alice <alice@example.com>\nwrote:" (wrapped by the client)
    if _ATTRIBUTION_START.match(line) and index + 1 < len(lines):
        return _ATTRIBUTION_END.search(lines[index + 1]) is not None and not lines[index + 1].lstrip().startswith(">")
    return False


def parse_commands(text: str) -> ParsedCommands:
    """Find the ``[NAME: value]`` lines in the owner's new text.

    >>> parsed = parse_commands("[TITLE: Staff Engineer]\\n[foo: bar]\\nThanks!\\n> [STATUS: old]")
    >>> parsed.commands, parsed.unknown, parsed.remaining_text
    ([('title', 'Staff Engineer')], ['[foo: bar]'], '[foo: bar]\\nThanks!')
    """
    lines = _LINES.split(text or "")
    commands: list[tuple[str, str]] = []
    unknown: list[str] = []
    found: list[str] = []
    remaining: list[str] = []
    in_signature = False
    for index, line in enumerate(lines):
        if _is_attribution(lines, index):
            break
        if line.lstrip().startswith(">"):
            continue
        if line.rstrip() == "--":
            in_signature = True
            continue
        match = _COMMAND.match(line)
        if match:
            name = match.group(1).upper()
            value = _clean_value(match.group(2))
            field = KNOWN_COMMANDS.get(name)
            if field is not None and value:
                commands.append((field, value))
                found.append(line.strip())
                continue
            unknown.append(line.strip())
        if not in_signature:
            remaining.append(line)
    return ParsedCommands(
        commands=commands,
        unknown=unknown,
        lines=found,
        remaining_text="\n".join(remaining).strip(),
    )
