"""Import SpamAssassin's rule files (``.cf``) as a scored pattern list.

Read at import time from the user's installed SpamAssassin (Debian's
``spamassassin`` package puts them under ``/usr/share/spamassassin``; ``sa-update``
under ``/var/lib/spamassassin/<version>/``): nothing of SpamAssassin's ships with
this project.

What converts:

- ``body NAME /re/flags``: the rendered text, subject first, one paragraph a line
  (SpamAssassin tests each paragraph: ``^``/``$`` become line anchors);
- ``rawbody``: the decoded text parts with HTML kept; ``uri``: the mail's links;
- ``header NAME Header[:addr|:name|:raw] =~ /re/ [if-unset: TEXT]``, ``!~``,
  ``exists:Header``; pseudo-headers ``ALL``, ``ToCc``, ``MESSAGEID``, ``EnvelopeFrom``;
- ``meta`` over rules that converted (a monotone meta — no ``!``, ``-``, ``<``, ``/`` —
  may read a skipped rule as never matching: it then fires less, never more);
- ``describe``, ``score`` (the first value: score set 0, no network tests and no
  Bayes, the set that applies here), ``replace_rules`` with ``replace_tag`` /
  ``replace_pre`` / ``replace_post`` / ``replace_inter``; ``tflags`` are read
  (``multiple`` counts once).

One ``eval:`` test is computed here instead (``subject_is_all_caps``, see
``producers.spam_texts.derived``). What is skipped, with the reason per rule: the
other ``eval:`` tests (code inside SpamAssassin), ``full`` and ``mimeheader`` rules, SpamAssassin's internal
pseudo-headers (``X-Spam-Relays-*``, ``ALL-TRUSTED`` …), capture tags (``%{…}``),
regexes PCRE2 rejects, metas over skipped rules, and rules whose set-0 score is 0
that no meta reads.
"""

from __future__ import annotations

import argparse
import re
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crm.sa_files import cf_files, convert_flags, default_paths, directives, split_regex
from producers.meta_rules import MetaError, compile_meta
from producers.patterns import compile_one

_RULE_TYPES = ("body", "rawbody", "header", "uri", "full", "mimeheader", "meta")
_FIELD_OF = {"body": "body", "rawbody": "rawbody", "uri": "uri"}
# SpamAssassin's pseudo-headers: ALL and MESSAGEID in capitals only (``MessageID`` is an ordinary,
# absent, header there), ToCc and EnvelopeFrom in any case
_PSEUDO_HEADERS = {"tocc": "ToCc", "envelopefrom": "EnvelopeFrom"}
_EXACT_PSEUDO_HEADERS = {"ALL", "MESSAGEID"}
_RELAY_HEADERS = re.compile(r"(?i)^X-Spam-Relays-(?:Trusted|Untrusted|Internal|External)$")
_UNSUPPORTED_HEADERS = re.compile(r"(?i)^(?:ALL-(?:TRUSTED|UNTRUSTED|INTERNAL|EXTERNAL)$|X-Spam-|X-Original-)")


@dataclass
class SaRule:
    name: str
    kind: str
    definition: str
    origin: str
    tflags: set[str] = field(default_factory=set)


@dataclass
class ImportResult:
    patterns: list[dict[str, Any]]
    skipped: list[tuple[str, str]]  # (rule, reason)
    files: list[str]
    rules_read: int

    def reasons(self) -> Counter[str]:
        return Counter(reason.split(": ")[0] for _rule, reason in self.skipped)


@dataclass
class _Tags:
    tags: dict[str, str] = field(default_factory=dict)
    pre: dict[str, str] = field(default_factory=dict)
    post: dict[str, str] = field(default_factory=dict)
    inter: dict[str, str] = field(default_factory=dict)
    rules: set[str] = field(default_factory=set)

    def apply(self, pattern: str) -> str:
        chosen = {"pre": "", "post": "", "inter": ""}

        def choose(match: re.Match[str]) -> str:
            table = {"pre": self.pre, "post": self.post, "inter": self.inter}[match.group(1)]
            chosen[match.group(1)] = table.get(match.group(2), "")
            return ""

        pattern = re.sub(r"<(pre|post|inter)\s+(\w+)>", choose, pattern)
        names = "|".join(re.escape(n) for n in sorted(self.tags, key=len, reverse=True))
        if not names:
            return pattern
        tag = re.compile(rf"<({names})>")

        def expand(match: re.Match[str]) -> str:
            value = f"{chosen['pre']}(?:{self.tags[match.group(1)]}){chosen['post']}"
            if tag.match(pattern, match.end()):
                value += chosen["inter"]
            return value

        return tag.sub(expand, pattern)


def _header_entry(rule: SaRule) -> dict[str, Any]:
    definition = rule.definition
    if definition.startswith("eval:"):
        return _eval_entry(definition)
    if definition.startswith("exists:"):
        name = definition.removeprefix("exists:").strip()
        return {"pattern": "^", "fields": [f"header:{_header_name(name)}"]}
    match = re.match(r"(\S+?)\s*(=~|!~)\s*(.*)", definition)
    if not match:
        raise ValueError(f"header rule not of the form NAME =~ /re/: {definition[:40]!r}")
    header, operator, rest = match.groups()
    pattern, flags, tail = split_regex(rest)
    entry: dict[str, Any] = {"pattern": pattern, "flags": convert_flags(flags), "fields": [f"header:{_header_name(header)}"]}
    if operator == "!~":
        entry["negate"] = True
    unset = re.match(r"\[if-unset:\s*(.*)\]$", tail)
    if unset:
        entry["if_unset"] = unset.group(1).strip()
    elif tail:
        raise ValueError(f"unexpected {tail[:30]!r} after the regex")
    return entry


def _header_name(spec: str) -> str:
    name, _, modifier = spec.partition(":")
    if _RELAY_HEADERS.match(name):
        return f"{name}:{modifier}" if modifier else name  # computed by producers.sa_evals.relays
    if _UNSUPPORTED_HEADERS.match(name):
        raise ValueError(f"pseudo-header {name}: made by SpamAssassin's own relay analysis")
    if modifier and modifier not in ("addr", "name", "raw"):
        raise ValueError(f"header modifier :{modifier} not supported")
    if name not in _EXACT_PSEUDO_HEADERS:
        name = _PSEUDO_HEADERS.get(name.lower(), name)
    return f"{name}:{modifier}" if modifier else name


_EVALS: dict[str, Callable[[str], str]] = {  # SpamAssassin eval test → the derived field computing the same
    "subject_is_all_caps": lambda args: "derived:subject_all_caps",
    "check_all_trusted": lambda args: "derived:all_trusted",
    "check_for_mime_html_only": lambda args: "derived:mime_html_only",
    "check_outlook_message_id": lambda args: "derived:outlook_message_id",
    "check_for_shifted_date": lambda args: f"derived:shifted_date({_eval_args(args)})",
}


def _eval_args(text: str) -> str:
    """``'6', '12'`` → ``6,12``: the arguments of an eval test, as the derived field names them."""
    values = [v.strip().strip("'\"") for v in text.split(",")]
    if not all(re.fullmatch(r"-?\d+|undef", v) for v in values):
        raise ValueError(f"eval: arguments {text[:30]!r} not understood")
    return ",".join(values)


def _eval_entry(definition: str) -> dict[str, Any]:
    match = re.fullmatch(r"eval:(\w+)\((.*)\)", definition.strip())
    if not match or match.group(1) not in _EVALS:
        raise ValueError("eval: a test written in Perl inside SpamAssassin")
    return {"pattern": "^1$", "fields": [_EVALS[match.group(1)](match.group(2))]}


_FREEMAIL = re.compile(r"eval:check_freemail_(from|header)\(\s*(?:'([^']*)'\s*)?(?:,\s*'([^']*)'\s*)?\)")


def _freemail_entry(definition: str, domains: set[str]) -> dict[str, Any] | None:
    """SpamAssassin's FreeMail tests as a regex over the addresses of a header: the
    address is at one of the ``freemail_domains`` of the rule files (``*`` one label),
    and matches the test's own regex if it gives one. None: not a FreeMail test."""
    match = _FREEMAIL.fullmatch(definition.strip())
    if not match:
        return None
    if not domains:
        raise ValueError("eval: FreeMail test, but the rule files list no freemail_domains")
    kind, first, second = match.groups()
    header, extra = ("From", first) if kind == "from" else (first, second)
    if not header:
        raise ValueError("eval: check_freemail_header without a header")
    header = header.removesuffix(":addr")
    names = _trie(sorted(domains))
    extra_check = f"(?=[^\\n]*?(?:{extra}))" if extra else ""
    return {"pattern": f"^{extra_check}[^\\n]*@(?:{names})$", "flags": "im", "fields": [f"header:{_header_name(header)}:addr"]}


def _trie(words: list[str]) -> str:
    """One regex for a list of domains (``*``: one label's characters), shared
    prefixes written once: thousands of names fit PCRE2's compiled-size limit."""
    root: dict[str, Any] = {}
    for word in words:
        node = root
        for char in word:
            node = node.setdefault(char, {})
        node[""] = {}

    def emit(node: dict[str, Any]) -> str:
        branches = [
            ("[^.@\\s]*" if char == "*" else re.escape(char)) + emit(child) for char, child in sorted(node.items()) if char
        ]
        if not branches:
            return ""
        if "" in node:
            return f"(?:{'|'.join(branches)})?"
        return branches[0] if len(branches) == 1 else f"(?:{'|'.join(branches)})"

    return emit(root)


def convert(rule: SaRule, tags: _Tags) -> dict[str, Any]:
    """One rule as a pattern entry (without id/score), or ValueError with the reason."""
    if rule.kind in ("full", "mimeheader"):
        raise ValueError(f"{rule.kind}: rules on the whole raw message or MIME part headers are not read here")
    if "%{" in rule.definition:
        raise ValueError("capture tag: %{...} reads another rule's capture")
    if rule.kind == "meta":
        compile_meta(rule.definition)
        return {"meta": rule.definition}
    if rule.kind == "header":
        entry = _header_entry(rule)
    else:
        if rule.definition.startswith("eval:"):
            return _eval_entry(rule.definition)
        pattern, flags, tail = split_regex(rule.definition)
        if tail:
            raise ValueError(f"unexpected {tail[:30]!r} after the regex")
        # SpamAssassin tests each paragraph (line, link) alone: anchors become line anchors
        entry = {
            "pattern": pattern,
            "flags": "".join(sorted(set(convert_flags(flags)) | {"m"})),
            "fields": [_FIELD_OF[rule.kind]],
        }
    if rule.name in tags.rules:
        entry["pattern"] = tags.apply(entry["pattern"])
    return entry


def _default_score(name: str, flags: set[str]) -> float:
    """SpamAssassin's score for a rule no ``score`` line names (rules of sa-update's
    72_active.cf have theirs in 72_scores.cf, absent from the Debian package)."""
    if name.startswith("__"):
        return 0.0
    if name.startswith("T_"):
        return 0.01
    return -1.0 if "nice" in flags else 1.0


_NOT_MONOTONE = re.compile(r"!(?!=)|-|<|/")


def _as_zero(meta: str, names: list[str]) -> str:
    """The meta with each of ``names`` read as a rule that never matches."""
    return re.sub(rf"(?<![\w-])(?:{'|'.join(map(re.escape, names))})(?![\w-])", "0", meta)


def import_rules(paths: Iterable[Path], match_limit: int = 1_000_000) -> ImportResult:
    files = cf_files(paths)
    rules: dict[str, SaRule] = {}
    scores: dict[str, float] = {}
    describes: dict[str, str] = {}
    tflags: dict[str, set[str]] = {}
    tags = _Tags()
    freemail: set[str] = set()
    for word, rest, origin in directives(files):
        if word in _RULE_TYPES:
            parts = rest.split(None, 1)
            if len(parts) == 2:
                rules[parts[0]] = SaRule(parts[0], word, parts[1].strip(), origin)
        elif word == "score":
            parts = rest.split()
            if len(parts) >= 2:
                values = [float(v) for v in parts[1:5] if re.fullmatch(r"-?\d+(?:\.\d+)?", v)]
                if values:
                    scores[parts[0]] = values[0]  # set 0: no network tests, no Bayes
        elif word == "describe":
            parts = rest.split(None, 1)
            if parts:
                describes[parts[0]] = parts[1] if len(parts) > 1 else ""
        elif word == "tflags":
            parts = rest.split()
            if parts:
                tflags[parts[0]] = set(parts[1:])
        elif word in ("replace_tag", "replace_pre", "replace_post", "replace_inter"):
            parts = rest.split(None, 1)
            if len(parts) == 2:
                table = {
                    "replace_tag": tags.tags,
                    "replace_pre": tags.pre,
                    "replace_post": tags.post,
                    "replace_inter": tags.inter,
                }[word]
                table[parts[0]] = parts[1].strip()
        elif word == "freemail_domains":
            freemail.update(d.lower() for d in rest.split())
        elif word == "replace_rules":
            tags.rules.update(rest.split())

    converted: dict[str, dict[str, Any]] = {}
    skipped: list[tuple[str, str]] = []
    for name, rule in rules.items():
        score = scores.get(name, _default_score(name, tflags.get(name, set())))
        try:
            entry = _freemail_entry(rule.definition, freemail) or convert(rule, tags)
            if "meta" not in entry:
                compile_one({"id": name, **entry}, match_limit)
        except (ValueError, MetaError) as exc:
            message = str(exc)
            if isinstance(exc, UnicodeError):
                message = "encoding: the regex holds bytes that are not UTF-8 text"
            elif message.startswith("does not compile"):
                message = f"pcre2: {message}"
            skipped.append((name, message))
            continue
        entry = {"id": name, **entry, "score": score}
        if describes.get(name):
            entry["describe"] = describes[name]
        converted[name] = entry

    # metas over skipped rules: drop them (or read the missing rules as 0 when that can only lower the score)
    changed = True
    while changed:
        changed = False
        for name, entry in list(converted.items()):
            if "meta" not in entry:
                continue
            _expr, references = compile_meta(entry["meta"])
            missing = [r for r in references if r not in converted]
            if not missing:
                continue
            offline = [r for r in missing if "net" in tflags.get(r, set())]
            if offline:  # a network test never runs here, as in SpamAssassin's local mode: it reads 0
                entry["meta"] = _as_zero(entry["meta"], offline)
                changed = True
                continue
            if _NOT_MONOTONE.search(entry["meta"]) or len(missing) == len(references):
                del converted[name]
                skipped.append((name, f"meta over skipped rules: {', '.join(missing[:5])}"))
                changed = True
            else:
                rewritten = _as_zero(entry["meta"], missing)
                expression, left = compile_meta(rewritten)
                if not expression(dict.fromkeys(left, 1.0)):  # monotone: all-true is its best case
                    del converted[name]
                    skipped.append((name, f"meta over skipped rules: {', '.join(missing[:5])}"))
                else:
                    entry["meta"] = rewritten
                changed = True

    # keep what scores, and what a kept meta reads
    needed: set[str] = set()
    pending = [n for n, e in converted.items() if e["score"] != 0]
    while pending:
        name = pending.pop()
        if name in needed:
            continue
        needed.add(name)
        if "meta" in converted[name]:
            pending.extend(r for r in compile_meta(converted[name]["meta"])[1] if r in converted)
    for name in list(converted):
        if name not in needed:
            del converted[name]
            skipped.append((name, "score 0: disabled in score set 0 and read by no meta"))
    return ImportResult(list(converted.values()), skipped, [str(f) for f in files], len(rules))


def import_command(svc: Any, settings: Any, words: list[str], args: argparse.Namespace) -> int:
    """`crm spam patterns import [PATH...]`: convert, report, store."""
    from crm.errors import UsageError
    from crm.spam_patterns import read_list, write_list
    from producers.default_patterns import DEFAULT_PATTERNS

    paths = [Path(w) for w in words] or default_paths()
    if not paths:
        raise UsageError(
            "no SpamAssassin rules found: install the `spamassassin` package "
            "(rules in /usr/share/spamassassin) or name the .cf files or folders"
        )
    result = import_rules(paths, settings.match_limit)
    if not result.patterns:
        raise UsageError(f"no rule converted from {', '.join(map(str, paths))} ({len(result.skipped)} skipped)")
    patterns = result.patterns
    if args.keep_defaults:
        imported = {p["id"] for p in patterns}
        patterns = [*(p for p in DEFAULT_PATTERNS if p["id"] not in imported), *patterns]
    _entries, own, _pointer = read_list(svc, settings)
    threshold = own
    if args.threshold is not None:
        try:
            threshold = float(args.threshold)
        except ValueError:
            raise UsageError(f"--threshold must be a number, not {args.threshold!r}") from None
    print(
        f"read {result.rules_read} rules from {len(result.files)} files: {len(result.patterns)} converted, "
        f"{len(result.skipped)} skipped"
    )
    for reason, count in result.reasons().most_common():
        print(f"  skipped {count:>5}  {reason}")
    if args.verbose:
        for rule, reason in result.skipped:
            print(f"  {rule}: {reason}")
    if args.dry_run:
        print("dry run: nothing stored")
        return 0
    where = write_list(svc, settings, patterns, threshold)
    print(f"stored {len(patterns)} patterns in {where}")
    return 0
