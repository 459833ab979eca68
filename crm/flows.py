"""Local flows: deliver mail and let every consumer run to completion."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Callable
from contextlib import AbstractContextManager, ExitStack
from pathlib import Path
from typing import Any

from crm.ingest import Delivery, deliver, discover
from crm.runner import drain
from crm.verdicts import VerdictFlags
from ports import Services


def drain_all(svc: Services) -> None:
    from bootstrap import topology

    drain(svc, topology(svc.settings))


def settle(svc: Services) -> None:
    """Where this process runs the consumers (the local backend, moto), run them until
    every queue is empty; a deployed stack's Lambdas do that by themselves."""
    if svc.in_process:
        drain_all(svc)


# mails decided before the consumers run: they then take their queues in batches, as
# Lambda's SQS triggers do, instead of one polling round per mail
DRAIN_EVERY = 25


def ingest_one(
    svc: Services, delivery: Delivery, recipients: list[str], flags: VerdictFlags | None = None, *, drain: bool = True
) -> dict[str, Any]:
    try:
        result = deliver(svc, delivery, recipients, flags)
    except Exception as exc:
        return {
            "source": delivery.source,
            "message_id": None,
            "outcome": "error",
            "reason": f"{type(exc).__name__}: {exc}",
            "conversation_id": None,
            "events": [],
        }
    if drain:
        drain_all(svc)
    return {
        "source": delivery.source,
        "message_id": result["ses_message_id"],
        "outcome": result["outcome"],
        "reason": result["reason"],
        "conversation_id": result["conversation_id"],
        "events": [],
    }


def attach_events(svc: Services, results: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every event each message caused, directly or through the consumers, in order.

    One pass over the stored records, decoding only their metadata: the state may hold a
    year of mail, and building every envelope of it would cost memory in proportion."""
    wanted = {r["message_id"] for r in results if r["message_id"]}
    found: dict[str, list[tuple[str, str, int, str]]] = defaultdict(list)
    for item in svc.store.scan_items():
        if "type" not in item:
            continue  # a dedupe marker or lookup item, not an event
        meta = json.loads(str(item["detail"]))["meta"]
        if meta.get("correlation_id") in wanted:
            found[meta["correlation_id"]].append((str(item["occurred_at"]), str(item["pk"]), int(item["sk"]), str(item["type"])))
    for result in results:
        if result["message_id"]:
            result["events"] = [kind for *_order, kind in sorted(found.get(result["message_id"], []))]
    return results


def ingest_paths(
    svc: Services,
    paths: list[Path],
    recipients: list[str],
    flags: VerdictFlags | None = None,
    *,
    alongside: Callable[[], AbstractContextManager[None]] | None = None,
) -> list[dict[str, Any]]:
    """Decide every mail under ``paths``, the consumers taking their queues every
    ``DRAIN_EVERY`` mails; or, given ``alongside`` (the consumers in other processes,
    :mod:`crm.consumer_process`), started once that many mails are in, in parallel.
    Either way every queue is empty when this returns."""
    results = []
    with ExitStack() as running:
        parallel = False
        for path in paths:
            for delivery in discover(path):
                results.append(ingest_one(svc, delivery, recipients, flags, drain=False))
                if parallel or len(results) % DRAIN_EVERY:
                    continue
                if alongside is not None:
                    running.enter_context(alongside())
                    parallel = True
                drain_all(svc)
    drain_all(svc)
    return attach_events(svc, results)
