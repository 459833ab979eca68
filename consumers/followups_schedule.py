"""The scheduled trigger: every follow-up whose time has come becomes ``FollowUpDue``.

In AWS an EventBridge schedule invokes :func:`handler`; locally `crm followups run`
calls :func:`run_due`. Each due follow-up is recorded once (deduped on conversation
and due time), however often the schedule fires.
"""

from __future__ import annotations

from typing import Any

from bootstrap import lambda_handler
from events import FollowUpDue
from events.base import utc_text
from events.streams import conversation_stream
from observability import logger_for, metrics_for
from ports import IndexQuery, Plan, Services
from projections.conversations import FOLLOWUP_BUCKET
from projections.pointer import current_table

logger = logger_for("followups")
metrics = metrics_for("followups")


def due_items(svc: Services, now: str, limit: int = 500) -> list[dict[str, Any]]:
    table = svc.projections.table(current_table(svc))
    items: list[dict[str, Any]] = []
    start: dict[str, Any] | None = None
    while len(items) < limit:
        page, start = table.query(
            IndexQuery("by_followup", ("followup_bucket", FOLLOWUP_BUCKET), "followup_due", sort=("<=", now)),
            limit=100,
            start=start,
        )
        items.extend(page)
        if not start:
            break
    return sorted(items, key=lambda i: str(i.get("followup_due")))[:limit]


def run_due(svc: Services, now: str | None = None) -> list[dict[str, Any]]:
    now = now or utc_text()
    fired = []
    for item in due_items(svc, now):
        due = FollowUpDue(conversation_id=item["id"], due_at=item["followup_due"], kind=item.get("followup_kind", ""))
        svc.recorder.record(
            Plan(events=[(conversation_stream(item["id"]), due)]),
            dedupe_key=f"followup-due#{item['id']}#{item['followup_due']}",
            correlation_id=item["id"],
        )
        fired.append({"conversation_id": item["id"], "due_at": item["followup_due"], "kind": due.kind})
    logger.info("follow-ups due", count=len(fired), now=now)
    return fired


def invoke(svc: Services, event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"fired": run_due(svc, event.get("now") if isinstance(event, dict) else None)}


handler = lambda_handler(invoke, logger, metrics)
