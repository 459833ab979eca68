"""The projector Lambda: any event of a conversation → catch that conversation up."""

from __future__ import annotations

from typing import Any

from bootstrap import lambda_handler
from consumers.declaration import ALL_OUR_EVENTS, Consumer
from consumers.queue_batch import SQSRecord, body_of, envelope_of, run_batch
from events import DomainEvent, Envelope
from events.streams import conversation_of_stream, conversation_stream
from observability import logger_for, metrics_for
from ports import Services, VersionConflict
from projections.catch_up import catch_up
from projections.pointer import current_table

# replays are welcome here: rebuilding is what the projector is for
# a 5 s window: a decision's events and its sends' outcomes (SES answers in well under a
# second) reach the projector as one batch, so a mail's conversation is written once
CONSUMER = Consumer(
    "projector",
    f"{__name__}.handler",
    DomainEvent,
    {"crm-projector": ALL_OUR_EVENTS},
    side_effects=False,
    batching_window_seconds=5,
)
logger = logger_for("projector")
metrics = metrics_for("projector")

# (table, stream) -> the stream version the item holds, as this invocation last wrote or
# read it: the events of one decision arrive in one batch, and the first catch-up folds
# them all, so the rest need no read (a record's event at or below it is in the item)
_projected: dict[tuple[str, str], int] = {}
# this invocation's batch, by stream: what a catch-up folds without reading the stream
_batch: dict[str, list[Envelope]] = {}


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
    if stream != envelope.stream_id and key in _projected:
        return  # an event of another stream names a conversation this batch already caught up
    item = catch_up(
        table,
        svc.store,
        stream,
        shards=svc.settings.status_shards,
        conflict=VersionConflict,
        delivered=_batch.get(stream, ()),
    )
    if item is not None:
        _projected[key] = int(item["version"])


def _by_stream(event: dict[str, Any]) -> dict[str, list[Envelope]]:
    """The batch's events by stream; a record that does not decode is left to the batch's
    own handling (it fails there, by itself)."""
    found: dict[str, list[Envelope]] = {}
    for record in event.get("Records") or []:
        try:
            envelope = envelope_of(body_of(SQSRecord.of(record)))
        except Exception:  # reported by run_batch, per record
            continue
        found.setdefault(envelope.stream_id, []).append(envelope)
    return found


def invoke(svc: Services, event: dict[str, Any], context: Any) -> dict[str, Any]:
    _projected.clear()  # within one batch only: between invocations a table may be rebuilt
    _batch.clear()
    _batch.update(_by_stream(event))
    return run_batch(svc, event, context, logger=logger, metrics=metrics, handle=handle, side_effects=CONSUMER.side_effects)


handler = lambda_handler(invoke, logger, metrics)
