"""The projector Lambda: any event of a conversation → catch that conversation up."""

from __future__ import annotations

from typing import Any

from bootstrap import lambda_handler
from consumers.queue_batch import run_batch
from events import Envelope
from events.streams import conversation_of_stream, conversation_stream
from observability import logger_for, metrics_for
from ports import Services, VersionConflict
from projections.catch_up import catch_up
from projections.pointer import current_table

logger = logger_for("projector")
metrics = metrics_for("projector")


def handle(svc: Services, envelope: Envelope, _body: dict[str, Any]) -> None:
    table = svc.projections.table(current_table(svc))
    stream = envelope.stream_id
    conversation_id = getattr(envelope.event, "conversation_id", None)
    if conversation_of_stream(stream) is None and conversation_id:
        stream = conversation_stream(conversation_id)
    catch_up(table, svc.store, stream, shards=svc.settings.status_shards, conflict=VersionConflict)


def invoke(svc: Services, event: dict[str, Any], context: Any) -> dict[str, Any]:
    # replays are welcome here: rebuilding is what the projector is for
    return run_batch(svc, event, context, logger=logger, metrics=metrics, handle=handle, side_effects=False)


handler = lambda_handler(invoke, logger, metrics)
