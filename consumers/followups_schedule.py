"""The scheduled trigger: every follow-up whose time has come becomes ``FollowUpDue``.

In AWS an EventBridge schedule invokes :func:`handler`; locally `crm followups run`
calls :func:`run_due`. Each due follow-up is recorded once (deduped on conversation
and due time), however often the schedule fires.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from aws_lambda_powertools.utilities.typing import LambdaContext

from adapters.projection_store import ProjectionTable
from adapters.recorder import Plan
from adapters.wiring import Services, services
from events import FollowUpDue
from ports import IndexQuery
from producers.decide import conversation_stream
from producers.observability import logger_for, metrics_for
from projections.conversations import FOLLOWUP_BUCKET
from projections.pointer import current_table

logger = logger_for("followups")
metrics = metrics_for("followups")


def due_items(svc: Services, now: str, limit: int = 500) -> list[dict[str, Any]]:
    table = ProjectionTable(current_table(svc), svc.settings.region, svc.settings.endpoint_url)
    items: list[dict[str, Any]] = []
    start: dict[str, Any] | None = None
    while len(items) < limit:
        page, start = table.query(IndexQuery("by_followup", ("followup_bucket", FOLLOWUP_BUCKET), "followup_due",
                                             ("<=", now)), limit=100, start=start)
        items.extend(page)
        if not start:
            break
    return sorted(items, key=lambda i: str(i.get("followup_due")))[:limit]


def run_due(svc: Services, now: str | None = None) -> list[dict[str, Any]]:
    now = now or datetime.now(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
    fired = []
    for item in due_items(svc, now):
        due = FollowUpDue(conversation_id=item["id"], due_at=item["followup_due"], kind=item.get("followup_kind", ""))
        svc.recorder.record(Plan(events=[(conversation_stream(item["id"]), due)]),
                            dedupe_key=f"followup-due#{item['id']}#{item['followup_due']}", correlation_id=item["id"])
        fired.append({"conversation_id": item["id"], "due_at": item["followup_due"], "kind": due.kind})
    logger.info("follow-ups due", count=len(fired), now=now)
    return fired


@metrics.log_metrics
@logger.inject_lambda_context
def handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return {"fired": run_due(services(), event.get("now") if isinstance(event, dict) else None)}
