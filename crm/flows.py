"""Local flows: deliver mail and let every consumer run to completion."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path
from typing import Any

from crm.ingest import Delivery, deliver, discover
from crm.runner import drain
from crm.settings import Settings
from crm.verdicts import VerdictFlags


def drain_all(settings: Settings) -> None:
    from consumers.rules.registry import default_registry
    from crm.topology import consumers

    patterns = {r.name: r.pattern for r in default_registry(settings.rules_module).rules()}
    drain(settings, consumers(patterns))


def ingest_one(settings: Settings, delivery: Delivery, recipients: list[str],
               flags: VerdictFlags | None = None) -> dict[str, Any]:
    try:
        result = deliver(settings, delivery, recipients, flags)
    except Exception as exc:
        return {"source": delivery.source, "message_id": None, "outcome": "error",
                "reason": f"{type(exc).__name__}: {exc}", "conversation_id": None, "events": []}
    drain_all(settings)
    return {"source": delivery.source, "message_id": result["ses_message_id"], "outcome": result["outcome"],
            "reason": result["reason"], "conversation_id": result["conversation_id"], "events": []}


def attach_events(settings: Settings, results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every event each message caused, directly or through the consumers."""
    from adapters.wiring import services

    by_correlation: dict[str, list[str]] = defaultdict(list)
    for envelope in services().store.all_events():
        by_correlation[envelope.meta.correlation_id].append(envelope.type)
    for result in results:
        if result["message_id"]:
            result["events"] = by_correlation.get(result["message_id"], [])
    return results


def ingest_paths(settings: Settings, paths: list[Path], recipients: list[str],
                 flags: VerdictFlags | None = None) -> list[dict[str, Any]]:
    results = []
    for path in paths:
        for delivery in discover(path):
            results.append(ingest_one(settings, delivery, recipients, flags))
    return attach_events(settings, results)
