"""The PCRE2 pattern stage against Python's ``re`` on the same patterns and texts.

The texts are what ``producers.decide.pattern_stage`` hands the stage for every
mail of the corpus (subject, sender, first 64 KB of text). Both sides stop at the
first hit, like ``producers.patterns.first_match``; the PCRE2 side *is*
``first_match`` over ``compile_patterns`` (JIT, match limit), the ``re`` side the
same loop over ``re.compile`` of the same sources and flags.

Two lists: the shipped ``DEFAULT_PATTERNS`` and an "extended" list (the defaults
plus 40 generated keyword alternations) standing for an owner's grown list.
Ham rarely matches, so most mails pay for every pattern over every field.
"""

from __future__ import annotations

import re
import time
from typing import Any

from bench.corpus import Sample
from bench.timing import median, percentile, ratio

_RE_FLAGS = {"i": re.IGNORECASE, "m": re.MULTILINE, "s": re.DOTALL, "x": re.VERBOSE}
_ADJECTIVES = [
    "cheap",
    "discount",
    "free",
    "exclusive",
    "guaranteed",
    "instant",
    "limited",
    "secret",
    "risk-free",
    "miracle",
    "urgent",
    "unclaimed",
]
_NOUNS = [
    "pills",
    "watches",
    "loans",
    "credit",
    "investment",
    "refund",
    "inheritance",
    "weight loss",
    "diploma",
    "replica",
    "followers",
    "casino chips",
]


def extended_patterns(default: list[dict[str, Any]], extra: int = 40) -> list[dict[str, Any]]:
    entries = list(default)
    for index in range(extra):
        adjectives = "|".join(_ADJECTIVES[(index + k) % len(_ADJECTIVES)] for k in range(3))
        nouns = "|".join(re.escape(_NOUNS[(index * 5 + k) % len(_NOUNS)]) for k in range(3))
        entries.append(
            {
                "id": f"generated-{index:02d}",
                "pattern": rf"\b(?:{adjectives})\s+(?:{nouns})\b",
                "fields": ["subject", "body"],
                "flags": "i",
            }
        )
    return entries


def _re_compile(entries: list[dict[str, Any]]) -> list[tuple[str, tuple[str, ...], re.Pattern[str]]]:
    compiled = []
    for entry in entries:
        flags = 0
        for letter in str(entry.get("flags") or ""):
            flags |= _RE_FLAGS[letter]
        compiled.append(
            (str(entry["id"]), tuple(entry.get("fields") or ("subject", "from", "body")), re.compile(entry["pattern"], flags))
        )
    return compiled


def _re_first_match(compiled: list[tuple[str, tuple[str, ...], re.Pattern[str]]], texts: dict[str, str]) -> str | None:
    for pattern_id, fields, regex in compiled:
        for name in fields:
            if name in texts and regex.search(texts[name]):  # a field the texts lack (a header) is absent
                return pattern_id
    return None


def _texts(samples: list[Sample]) -> list[dict[str, str]]:
    from mail.parsing import parse

    texts = []
    for sample in samples:
        mail = parse(sample.raw)
        sender = " ".join(filter(None, [mail.from_name, mail.from_address]))
        texts.append({"subject": mail.subject, "from": sender, "body": mail.text})
    return texts


def _one_list(entries: list[dict[str, Any]], texts: list[dict[str, str]], repetitions: int) -> dict[str, Any]:
    from producers.patterns import compile_patterns, first_match

    t0 = time.perf_counter()
    pcre = compile_patterns(entries)
    t1 = time.perf_counter()
    python = _re_compile(entries)
    t2 = time.perf_counter()
    pcre_times, re_times, disagreements = [], [], []
    hits = 0
    for index, fields in enumerate(texts):
        p_runs, r_runs = [], []
        p_hit = r_hit = None
        for _ in range(repetitions):
            a = time.perf_counter()
            found = first_match(pcre, fields)
            b = time.perf_counter()
            r_hit = _re_first_match(python, fields)
            c = time.perf_counter()
            p_hit = found.pattern_id if found else None
            p_runs.append(b - a)
            r_runs.append(c - b)
        pcre_times.append(median(p_runs))
        re_times.append(median(r_runs))
        hits += p_hit is not None
        if p_hit != r_hit:
            disagreements.append({"mail": index, "pcre2": p_hit, "re": r_hit})
    scanned = sum(len(t["subject"]) + len(t["from"]) + len(t["body"]) for t in texts)
    return {
        "patterns": len(entries),
        "compile_errors": pcre.errors,
        "compile_ms": {"pcre2_jit": (t1 - t0) * 1e3, "re": (t2 - t1) * 1e3},
        "pcre2": {
            "median_us": median(pcre_times) * 1e6,
            "p99_us": percentile(pcre_times, 99) * 1e6,
            "mb_per_s": scanned / sum(pcre_times) / 1e6 if sum(pcre_times) else 0.0,
        },
        "re": {
            "median_us": median(re_times) * 1e6,
            "p99_us": percentile(re_times, 99) * 1e6,
            "mb_per_s": scanned / sum(re_times) / 1e6 if sum(re_times) else 0.0,
        },
        "pcre2_over_re_median": ratio(median(pcre_times), median(re_times)),
        "pcre2_over_re_total": ratio(sum(pcre_times), sum(re_times)),
        "mails_with_hit": hits,
        "disagreements": disagreements[:20],
        "disagreement_count": len(disagreements),
    }


def run(samples: list[Sample], repetitions: int) -> dict[str, Any]:
    from producers.patterns import DEFAULT_PATTERNS

    texts = _texts(samples)
    default = [e for e in DEFAULT_PATTERNS if "pattern" in e]  # meta rules have no regex to compare
    return {
        "mails": len(texts),
        "repetitions": repetitions,
        "lists": {
            "default": _one_list(default, texts, repetitions),
            "extended": _one_list(extended_patterns(default), texts, repetitions),
        },
    }
