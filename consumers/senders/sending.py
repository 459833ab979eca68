"""One send, exactly once: Powertools idempotency keyed on the cause event id,
then the outcome recorded as an event (itself deduped on the same id).

A crash after SES accepted the mail but before the idempotency record completes
leaves the record IN_PROGRESS with no expiry we set, so a redelivery is refused
(not re-sent) until the message reaches the DLQ, where a person sees it: we prefer
one visible stuck message to a mail sent twice.
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools.utilities.idempotency import (
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)

from adapters.aws import client, is_transient
from adapters.mailer import SendError
from adapters.wiring import Services
from consumers.queue_batch import Transient
from events import DomainEvent, Envelope, SendFailed

# We deliberately do not register the Lambda context (see the module docstring):
# an IN_PROGRESS record must not expire into a second send.
warnings.filterwarnings("ignore", message="Couldn't determine the remaining time left")

# Completed records outlive SQS's longest retention (14 days), so a redrive of the
# oldest DLQ message still finds that it was sent.
RECORD_SECONDS = 15 * 24 * 3600

_senders: dict[tuple[int, str], Callable[..., dict[str, Any]]] = {}


@dataclass(frozen=True)
class Outgoing:
    kind: str
    sender: str
    recipients: list[str]
    raw: bytes
    subject: str
    outbound_message_id: str
    conversation_id: str | None = None


def _idempotent_send(svc: Services, kind: str) -> Callable[..., dict[str, Any]]:
    key = (id(svc), kind)
    if key not in _senders:
        persistence = DynamoDBPersistenceLayer(
            table_name=svc.settings.idempotency_table,
            boto3_client=client("dynamodb", svc.settings.region, svc.settings.endpoint_url),
        )
        config = IdempotencyConfig(event_key_jmespath="key", expires_after_seconds=RECORD_SECONDS)

        @idempotent_function(data_keyword_argument="request", persistence_store=persistence,  # type: ignore[untyped-decorator]
                             config=config)
        def send(request: dict[str, Any], build: Callable[[], Outgoing]) -> dict[str, Any]:
            outgoing = build()
            sent = svc.mailer.send(kind=outgoing.kind, sender=outgoing.sender, recipients=outgoing.recipients,
                                   raw=outgoing.raw, subject=outgoing.subject,
                                   conversation_id=outgoing.conversation_id)
            return {"ses_message_id": sent.ses_message_id, "to": outgoing.recipients, "subject": outgoing.subject,
                    "outbound_message_id": outgoing.outbound_message_id}

        _senders[key] = send
    return _senders[key]


def send_once(
    svc: Services,
    cause: Envelope,
    *,
    kind: str,
    conversation_id: str,
    build: Callable[[], Outgoing],
    sent_event: Callable[[dict[str, Any]], DomainEvent] | None,
    stream_id: str,
) -> dict[str, Any] | None:
    """Send what ``build`` makes, at most once per (kind, cause event); record the outcome.

    Two guards: the outcome's dedupe item in the event store (durable, survives
    everything) and the idempotency record (covers the window between the send and
    the write of the outcome)."""
    dedupe_key = f"sent#{kind}#{cause.event_id}"
    if svc.store.exists(dedupe_key):
        return None
    send = _idempotent_send(svc, kind)
    try:
        result = send(request={"key": f"{kind}:{cause.event_id}"}, build=build)
    except SendError as exc:
        if not exc.permanent:
            raise Transient(str(exc)) from exc
        failed = SendFailed(conversation_id=conversation_id, cause_event_id=cause.event_id, kind=kind,
                            reason=str(exc)[:1000], permanent=True)
        svc.recorder.record(_plan([(stream_id, failed)]), dedupe_key=dedupe_key,
                            correlation_id=cause.meta.correlation_id, causation_id=cause.event_id)
        return None
    except Exception as exc:
        if is_transient(exc):
            raise Transient(str(exc)) from exc
        raise
    events = [(stream_id, sent_event(result))] if sent_event is not None else []
    svc.recorder.record(_plan(events, ses_message_ids(result["ses_message_id"], svc.settings.region), conversation_id),
                        dedupe_key=dedupe_key, correlation_id=cause.meta.correlation_id, causation_id=cause.event_id)
    return result


def ses_message_ids(ses_message_id: str, region: str) -> list[str]:
    """The Message-ID SES may put on what it sends (it can replace ours): replies that
    reference it must still find their conversation."""
    return [f"<{ses_message_id}@email.amazonses.com>", f"<{ses_message_id}@{region}.amazonses.com>"]


def _plan(events: list[tuple[str, DomainEvent]], message_ids: Sequence[str] = (), conversation_id: str = "") -> Any:
    from adapters.recorder import Plan

    return Plan(events=events, message_ids={m: conversation_id for m in message_ids if conversation_id})
