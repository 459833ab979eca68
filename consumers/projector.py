"""The projector Lambda: any event of a conversation → catch that conversation up."""

from __future__ import annotations

from typing import Any

from bootstrap import lambda_handler
from consumers.declaration import ALL_OUR_EVENTS, Consumer
from consumers.queue_batch import run_batch
from events import DomainEvent, Envelope
from events.streams import conversation_of_stream, conversation_stream
from observability import logger_for, metrics_for
from ports import Services, VersionConflict
from projections.catch_up import catch_up
from projections.pointer import current_table

# replays are welcome here: rebuilding is what the projector is for
CONSUMER = Consumer("projector", f"{__name__}.handler", DomainEvent, {"crm-projector": ALL_OUR_EVENTS}, side_effects=False)
logger = logger_for("projector")
metrics = metrics_for("projector")

# (table, stream) -> the stream version the item holds, as this invocation last wrote or
# read it: the events of one decision arrive in one batch, and the first catch-up folds
# them all, so the rest need no read (a record's event at or below it is in the item)
_projected: dict[tuple[str, str], int] = {}


def handle(svc: Services, envelope: Envelope, _body: dict[str, Any]) -> None:
    if CONSUMER.accepted(envelope) is None:
        return
    table = svc.projections.table(current_table(svc))
    stream = envelope.stream_id
    conversation_id = getattr(envelope.event, "conversation_id", None)
    if conversation_of_stream(stream) is None and conversation_id:
        stream = conversation_stream(conversation_id)
    key = (table.name, stream)
    if stream == envelope.stream_id and _projected.get(key, 0) >= envelope.meta.version:
        return
    item = catch_up(table, svc.store, stream, shards=svc.settings.status_shards, conflict=VersionConflict)
    if item is not None:
        _projected[key] = int(item["version"])


def invoke(svc: Services, event: dict[str, Any], context: Any) -> dict[str, Any]:
    _projected.clear()  # within one batch only: between invocations a table may be rebuilt
    return run_batch(svc, event, context, logger=logger, metrics=metrics, handle=handle, side_effects=CONSUMER.side_effects)


handler = lambda_handler(invoke, logger, metrics)
