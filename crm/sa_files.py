"""Reading SpamAssassin's rule files: where they are installed, which ``.cf`` files a path
names, the directives in force (``if``/``ifplugin`` blocks resolved) and Perl's regex syntax."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from pathlib import Path

from producers.meta_rules import MetaError, compile_meta

DEFAULT_PATHS = (Path("/usr/share/spamassassin"),)
_UPDATES = Path("/var/lib/spamassassin")
_COMMENT = re.compile(r"(?<!\\)#.*")
_DIRECTIVE = re.compile(r"\s*(\S+)\s*(.*)")
_PERL_FLAGS = set("imsxogcadlupn")
_BRACKETS = {"{": "}", "(": ")", "[": "]", "<": ">"}


def default_paths() -> list[Path]:
    """sa-update's newest rules if present, else the package's."""
    if _UPDATES.is_dir():
        updated = sorted(p for p in _UPDATES.glob("*/updates_spamassassin_org") if p.is_dir())
        if updated:
            return [updated[-1]]
    return [p for p in DEFAULT_PATHS if p.is_dir()]


def cf_files(paths: Iterable[Path]) -> list[Path]:
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(path.glob("*.cf")))  # SpamAssassin reads a folder's .cf files in name order
        elif path.is_file():
            files.append(path)
        else:
            raise FileNotFoundError(f"no SpamAssassin rule file or folder at {path}")
    return files


SA_VERSION = 4.000001  # the ``version`` an ``if (version >= N)`` block is read against


def _condition(expression: str) -> bool:
    """Whether an ``if`` block applies here: every plugin is taken as loaded, every
    ``can(...)`` feature as present and the version as 4.0, so the fallbacks for a
    missing plugin or feature are left out; an expression not understood is false."""
    text = re.sub(r"(?:plugin|can)\s*\(\s*[\w:]+\s*\)", "1", expression)
    text = re.sub(
        r"version\s*(>=|<=|==|!=|>|<)\s*(\d+(?:\.\d+)?)",
        lambda m: "1" if eval_compare(SA_VERSION, m.group(1), float(m.group(2))) else "0",
        text,
    )
    try:
        evaluate, names = compile_meta(text)
    except MetaError:
        return False
    return not names and bool(evaluate({}))


def eval_compare(left: float, operator: str, right: float) -> bool:
    return {
        ">=": left >= right,
        "<=": left <= right,
        "==": left == right,
        "!=": left != right,
        ">": left > right,
        "<": left < right,
    }[operator]


def directives(files: Iterable[Path]) -> Iterator[tuple[str, str, str]]:
    """(directive, rest of the line, file:line) for every line in force."""
    for path in files:
        stack: list[bool] = []
        for number, raw in enumerate(path.read_text(encoding="utf-8", errors="surrogateescape").splitlines(), 1):
            line = _COMMENT.sub("", raw).strip()
            if not line:
                continue
            match = _DIRECTIVE.match(line)
            if not match:
                continue
            word, rest = match.group(1).lower(), match.group(2).strip()
            if word == "ifplugin":
                stack.append(True)
            elif word == "if":
                stack.append(_condition(rest))
            elif word == "else":
                if stack:
                    stack[-1] = not stack[-1]
            elif word == "endif":
                if stack:
                    stack.pop()
            elif all(stack):
                yield word, rest, f"{path.name}:{number}"


def split_regex(text: str) -> tuple[str, str, str]:
    """(pattern, flags, what follows) of a Perl ``/re/flags`` or ``m{re}flags``."""
    text = text.strip()
    if text.startswith("/"):
        opening, start = "/", 1
    elif text.startswith("m") and len(text) > 1 and not text[1].isalnum() and not text[1].isspace():
        opening, start = text[1], 2
    else:
        raise ValueError(f"not a /regex/: {text[:40]!r}")
    closing = _BRACKETS.get(opening, opening)
    depth, index = 0, start
    while index < len(text):
        char = text[index]
        if char == "\\":
            index += 2
            continue
        if opening != closing and char == opening:
            depth += 1
        elif char == closing:
            if depth == 0:
                break
            depth -= 1
        index += 1
    else:
        raise ValueError(f"unterminated regex {text[:40]!r}")
    flags_match = re.match(r"[a-z]*", text[index + 1 :])
    flags = flags_match.group(0) if flags_match else ""
    rest = text[index + 1 + len(flags) :].strip()
    pattern = text[start:index]
    if opening == "/":
        pattern = pattern.replace("\\/", "/")
    return pattern, flags, rest


def convert_flags(flags: str) -> str:
    unknown = set(flags) - _PERL_FLAGS
    if unknown:
        raise ValueError(f"unsupported regex flags {''.join(sorted(unknown))}")
    return "".join(f for f in "imsx" if f in flags)
