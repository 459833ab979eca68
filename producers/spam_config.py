"""The pattern list as configuration: read from SSM through the Powertools cache,
compiled once per document version. A missing or broken document is reported and
the shipped defaults apply, so a bad edit never stops mail."""

from __future__ import annotations

import json
from typing import Protocol

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit

from producers.patterns import DEFAULT_PATTERNS, CompiledPatterns, PatternDocumentError, compile_patterns

_compiled: dict[tuple[str, int], CompiledPatterns] = {}


class ParameterSource(Protocol):
    def get(self, name: str, *, ttl_seconds: int = 300, decrypt: bool = False) -> str: ...


def default_document() -> str:
    return json.dumps(DEFAULT_PATTERNS, indent=2)


def load_patterns(source: ParameterSource, name: str, *, ttl_seconds: int, match_limit: int, logger: Logger,
                  metrics: Metrics | None = None) -> CompiledPatterns:
    try:
        document = source.get(name, ttl_seconds=ttl_seconds)
    except Exception as exc:
        logger.error("spam pattern parameter unreadable; using shipped defaults", parameter=name, error=str(exc))
        if metrics:
            metrics.add_metric(name="PatternListUnavailable", unit=MetricUnit.Count, value=1)
        document = default_document()
    key = (document, match_limit)
    if key not in _compiled:
        try:
            compiled = compile_patterns(document, match_limit)
        except PatternDocumentError as exc:
            logger.error("spam pattern list is invalid; using shipped defaults", parameter=name, error=str(exc))
            if metrics:
                metrics.add_metric(name="PatternListInvalid", unit=MetricUnit.Count, value=1)
            compiled = compile_patterns(default_document(), match_limit)
        _compiled.clear()
        _compiled[key] = compiled
    compiled = _compiled[key]
    for pattern_id, problem in compiled.errors:
        logger.warning("spam pattern skipped", pattern_id=pattern_id, problem=problem)
        if metrics:
            metrics.add_metric(name="PatternCompileErrors", unit=MetricUnit.Count, value=1)
    return compiled
