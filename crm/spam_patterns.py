"""`crm spam patterns …` and `crm spam threshold`: the pattern list and its threshold.

The list is stored where the inbound handler reads it: in the parameter while it
fits (4 KB, a standard parameter), else as an S3 object named by its SHA-256 under
``config/spam-patterns/`` with a pointer (key, version, hash, threshold) in the
parameter.
"""

from __future__ import annotations

import argparse
import hashlib
import json
from pathlib import Path
from typing import Any

import msgspec

from crm.errors import UsageError
from crm.settings import Settings
from mail.parsing import parse
from ports import Services
from producers.patterns import (
    FIELDS,
    MAX_SCORE,
    CompiledPatterns,
    PatternDocumentError,
    Verdict,
    compile_one,
    compile_patterns,
    parse_container,
    score_texts,
)
from producers.spam_config import POINTER_PREFIX, default_document, pointer_of, resolve
from producers.spam_texts import MailTexts, rendered_body, uris

PARAMETER_LIMIT = 4096  # a standard SSM parameter's value


def read_list(svc: Services, settings: Settings) -> tuple[list[Any], float | None, dict[str, Any] | None]:
    """(rules, the list's own threshold, the S3 pointer if the list lives in S3)."""
    try:
        text = svc.parameters.get(settings.patterns_parameter, ttl_seconds=0)
    except Exception:
        text = default_document()
    pointer = pointer_of(text)
    try:
        patterns, threshold = parse_container(resolve(text, svc.blobs))
    except PatternDocumentError as exc:
        raise UsageError(f"the stored pattern list is unusable: {exc}") from None
    return patterns, threshold, pointer


def write_list(svc: Services, settings: Settings, patterns: list[Any], threshold: float | None) -> str:
    """Store the list (inline or in S3 behind a pointer); where it went, for the user."""
    container: list[Any] | dict[str, Any] = patterns if threshold is None else {"threshold": threshold, "patterns": patterns}
    inline = json.dumps(container, indent=1)
    if len(inline.encode("utf-8")) <= PARAMETER_LIMIT:
        svc.parameters.put(settings.patterns_parameter, inline)
        return f"parameter {settings.patterns_parameter}"
    data = json.dumps({"patterns": patterns}, separators=(",", ":"), sort_keys=True).encode("utf-8")
    sha = hashlib.sha256(data).hexdigest()
    key = f"{POINTER_PREFIX}{sha}.json"
    version = svc.blobs.put(key, data, content_type="application/json")
    pointer: dict[str, Any] = {
        "s3": {"bucket": settings.bucket, "key": key, "version_id": version, "sha256": sha},
        "count": len(patterns),
    }
    if threshold is not None:
        pointer["threshold"] = threshold
    svc.parameters.put(settings.patterns_parameter, json.dumps(pointer))
    return f"s3://{settings.bucket}/{key} (pointer in {settings.patterns_parameter})"


def _number(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise UsageError(f"{what} must be a number, not {text!r}") from None
    if not -MAX_SCORE < value < MAX_SCORE:
        raise UsageError(f"{what} must be between -{MAX_SCORE:g} and {MAX_SCORE:g}")
    return value


def threshold(svc: Services, words: list[str], args: argparse.Namespace) -> int:
    settings = svc.settings
    patterns, own, _pointer = read_list(svc, settings)
    if not words:
        effective = own if own is not None else settings.spam_threshold
        where = "set on the pattern list" if own is not None else "the spam_threshold setting"
        print(json.dumps({"threshold": effective, "source": where}) if args.json else f"{effective:g} ({where})")
        return 0
    if len(words) != 1:
        raise UsageError("usage: crm spam threshold [VALUE | default]")
    value = None if words[0] == "default" else _number(words[0], "the threshold")
    if value is not None and value <= 0:
        raise UsageError("the threshold must be above 0 (at 0 every mail would be rejected)")
    write_list(svc, settings, patterns, value)
    print(
        f"threshold {value:g}"
        if value is not None
        else f"threshold back to the spam_threshold setting ({settings.spam_threshold:g})"
    )
    return 0


def _texts_of(words: list[str], args: argparse.Namespace) -> MailTexts | dict[str, str]:
    if args.file:
        return MailTexts(parse(Path(args.file).read_bytes()))
    if not words:
        raise UsageError("usage: crm spam patterns test TEXT | --file MAIL.eml")
    text = " ".join(words)
    return {"subject": text, "from": text, "body": rendered_body(text, text), "rawbody": text, "uri": uris(text)}


def _show(verdict: Verdict, compiled: CompiledPatterns, args: argparse.Namespace) -> None:
    if args.json:
        print(
            json.dumps(
                {
                    "spam": verdict.spam,
                    "score": verdict.total,
                    "threshold": verdict.threshold,
                    "rules": [msgspec.structs.asdict(h) for h in verdict.hits],
                    "errors": compiled.errors,
                }
            )
        )
        return
    sure = verdict.sure
    if sure is not None:
        print(f"spam: pattern {sure.id!r} matches ({sure.excerpt!r}), a sure hit")
    elif verdict.spam:
        print(f"spam: score {verdict.total:g} ≥ threshold {verdict.threshold:g}")
    else:
        print(f"not spam: score {verdict.total:g} < threshold {verdict.threshold:g}")
    for hit in verdict.hits:
        line = f"  {'sure' if hit.score is None else f'{hit.score:+g}':>6}  {hit.id}"
        if args.describe and hit.describe:
            line += f" — {hit.describe}"
        if args.verbose:
            line += f"  [{hit.field or 'meta'}] {hit.excerpt!r}" if hit.field else "  [meta]"
        print(line)
    if args.verbose:
        for pattern_id, problem in compiled.errors:
            print(f"  skipped {pattern_id}: {problem}")
    elif compiled.errors:
        print(f"  ({len(compiled.errors)} rules skipped; --verbose lists them)")


def patterns(svc: Services, words: list[str], args: argparse.Namespace) -> int:
    settings = svc.settings
    action = words[0] if words else "list"
    if action == "import":
        from crm.sa_import import import_command

        return import_command(svc, settings, words[1:], args)
    entries, own, _pointer = read_list(svc, settings)
    if action == "list":
        compiled = compile_patterns(entries, settings.match_limit)
        broken = dict(compiled.errors)
        for entry in entries:
            problem = broken.get(str(entry.get("id")))
            record = {**entry, "error": problem}
            if args.json:
                print(json.dumps(record, sort_keys=True))
                continue
            score = "sure" if entry.get("score") is None else f"{entry['score']:+g}"
            what = (
                f"meta {entry['meta']}"
                if "meta" in entry
                else f"/{entry.get('pattern')}/{entry.get('flags', '')} on {','.join(entry.get('fields') or FIELDS)}"
            )
            described = f" — {entry['describe']}" if args.describe and entry.get("describe") else ""
            print(f"{entry.get('id')} [{score}]: {what}{described}" + (f"  ✗ {problem}" if problem else ""))
        return 0
    if action == "add":
        if len(words) != 3:
            raise UsageError(
                "usage: crm spam patterns add ID PATTERN [--fields subject,from,body] [--flags i] "
                "[--score N] [--description TEXT]"
            )
        new: dict[str, Any] = {
            "id": words[1],
            "pattern": words[2],
            "fields": [f.strip() for f in args.fields.split(",") if f.strip()],
            "flags": args.flags,
        }
        if args.score is not None:
            new["score"] = _number(args.score, "--score")
        if args.description:
            new["describe"] = args.description
        try:
            compile_one(new, settings.match_limit)
        except ValueError as exc:
            raise UsageError(f"pattern {words[1]!r} {exc}") from None
        entries = [e for e in entries if e.get("id") != words[1]] + [new]
        where = write_list(svc, settings, entries, own)
        print(f"added {words[1]} ({len(entries)} patterns, in {where})")
        return 0
    if action == "remove":
        if len(words) != 2:
            raise UsageError("usage: crm spam patterns remove ID")
        kept = [e for e in entries if e.get("id") != words[1]]
        if len(kept) == len(entries):
            raise UsageError(f"no pattern with id {words[1]!r}")
        where = write_list(svc, settings, kept, own)
        print(f"removed {words[1]} ({len(kept)} patterns, in {where})")
        return 0
    if action == "test":
        compiled = compile_patterns({"threshold": own, "patterns": entries} if own is not None else entries, settings.match_limit)
        verdict = score_texts(
            compiled, _texts_of(words[1:], args), threshold=settings.spam_threshold, absent_unknown=not args.file
        )
        _show(verdict, compiled, args)
        return 0
    raise UsageError(f"unknown patterns action {action!r} (list, add, remove, test, import)")
