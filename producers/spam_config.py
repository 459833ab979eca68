"""The pattern list as configuration: read from SSM through the Powertools cache,
compiled once per document version.

The parameter holds the list itself, or — for a list larger than a parameter
holds (4 KB standard, 8 KB advanced), such as SpamAssassin's rules imported — a
pointer to an S3 object::

    {"s3": {"bucket": "crm-mail", "key": "config/spam-patterns/<sha256>.json",
            "version_id": null, "sha256": "<sha256>"}, "threshold": 6.0}

The parameter is re-read every TTL; a pointer that changed fetches its object once
(objects are named by their content's hash, so one never changes under its key) and
the bytes are checked against the hash. Anything unreadable or broken is reported
and the last good list stays in force (the shipped defaults before any), so a bad
edit never stops mail.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any, Protocol

from aws_lambda_powertools.logging import Logger
from aws_lambda_powertools.metrics import Metrics, MetricUnit

from producers.default_patterns import DEFAULT_PATTERNS
from producers.patterns import CompiledPatterns, PatternDocumentError, compile_patterns, parse_container

POINTER_PREFIX = "config/spam-patterns/"

_compiled: dict[tuple[str, int], CompiledPatterns] = {}
_objects: dict[tuple[str, str, str], str] = {}
_last_good: list[CompiledPatterns] = []


class ParameterSource(Protocol):
    def get(self, name: str, *, ttl_seconds: int = 300, decrypt: bool = False) -> str: ...


class BlobSource(Protocol):
    def get(self, key: str, bucket: str | None = None) -> bytes: ...


def default_document() -> str:
    return json.dumps(DEFAULT_PATTERNS, indent=2)


def pointer_of(document: str) -> dict[str, Any] | None:
    """The S3 pointer a parameter value holds, or None when it holds the list itself."""
    try:
        value = json.loads(document)
    except json.JSONDecodeError:
        return None
    if isinstance(value, dict) and isinstance(value.get("s3"), dict):
        return value
    return None


def resolve(document: str, blobs: BlobSource | None) -> str | dict[str, Any]:
    """The pattern document a parameter value stands for (fetching a pointed-to object)."""
    pointer = pointer_of(document)
    if pointer is None:
        return document
    where = pointer["s3"]
    bucket, key = where.get("bucket"), where.get("key")
    sha = str(where.get("sha256") or "")
    if not isinstance(key, str) or not key.startswith(POINTER_PREFIX):
        raise PatternDocumentError(f"pattern list pointer must name an object under {POINTER_PREFIX}, not {key!r}")
    if blobs is None:
        raise PatternDocumentError("pattern list is in S3 but this handler has no bucket access")
    cache_key = (str(bucket or ""), key, sha)
    if cache_key not in _objects:
        data = blobs.get(key, bucket or None)
        if sha and hashlib.sha256(data).hexdigest() != sha:
            raise PatternDocumentError(f"s3 object {key} does not match its sha256 {sha}")
        _objects.clear()
        _objects[cache_key] = data.decode("utf-8")
    patterns, threshold = parse_container(_objects[cache_key])
    if "threshold" in pointer:
        threshold = pointer["threshold"]
    return {"threshold": threshold, "patterns": patterns}


def _fallback() -> CompiledPatterns:
    return _last_good[0] if _last_good else compile_patterns(default_document())


def load_patterns(
    source: ParameterSource,
    name: str,
    *,
    ttl_seconds: int,
    match_limit: int,
    logger: Logger,
    metrics: Metrics | None = None,
    blobs: BlobSource | None = None,
) -> CompiledPatterns:
    def count(metric: str) -> None:
        if metrics:
            metrics.add_metric(name=metric, unit=MetricUnit.Count, value=1)

    try:
        document = source.get(name, ttl_seconds=ttl_seconds)
    except Exception as exc:
        logger.error("spam pattern parameter unreadable; keeping the last good list", parameter=name, error=str(exc))
        count("PatternListUnavailable")
        return _fallback()
    key = (document, match_limit)
    if key not in _compiled:
        try:
            compiled = compile_patterns(resolve(document, blobs), match_limit)
        except PatternDocumentError as exc:
            logger.error("spam pattern list is invalid; keeping the last good list", parameter=name, error=str(exc))
            count("PatternListInvalid")
            return _fallback()
        except Exception as exc:  # S3 unreadable: a transient fault, tried again at the next mail
            logger.error("spam pattern list object unreadable; keeping the last good list", parameter=name, error=str(exc))
            count("PatternListUnavailable")
            return _fallback()
        _compiled.clear()
        _compiled[key] = compiled
        _last_good[:] = [compiled]
        for pattern_id, problem in compiled.errors:
            logger.warning("spam pattern skipped", pattern_id=pattern_id, problem=problem)
        if compiled.errors:
            count("PatternCompileErrors")
    return _compiled[key]
