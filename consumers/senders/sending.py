"""One send, exactly once: Powertools idempotency keyed on the cause event id (the
one guard a send checks first), then the outcome recorded as an event (itself deduped
on the same id). Only a send with no record yet reads the event store, once, for an
outcome recorded without one (an expired or lost record).

A crash after SES accepted the mail but before the idempotency record completes
leaves the record IN_PROGRESS with no expiry we set, so a redelivery is refused
(not re-sent) until the message reaches the DLQ, where a person sees it: we prefer
one visible stuck message to a mail sent twice.

A send whose outcome is unknown (SES's answer was lost: a read timeout, a connection
reset, a 5xx) is never retried blindly: it completes its idempotency record as "in
doubt", is recorded as ``SendInDoubt`` and its message is parked in the DLQ with the
reason. Only the owner's ``crm dlq redrive`` (a recorded ``SendRetryApproved``)
lets the next attempt go, under its own idempotency key, so approving twice still
sends once more, not twice.
"""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from aws_lambda_powertools.utilities.idempotency.exceptions import IdempotencyAlreadyInProgressError

from consumers.queue_batch import Parked, Transient
from events import DomainEvent, Envelope, MailSent, SendFailed, SendInDoubt
from ports import Commit, Outgoing, Plan, SendError, Services, StoreReads

# We deliberately do not register the Lambda context (see the module docstring):
# an IN_PROGRESS record must not expire into a second send.
warnings.filterwarnings("ignore", message="Couldn't determine the remaining time left")

# Completed records outlive SQS's longest retention (14 days), so a redrive of the
# oldest DLQ message still finds that it was sent. After that (or where a record was
# lost: a state saved without them) the event store's items still tell, read once
# inside the guard.
RECORD_SECONDS = 15 * 24 * 3600

# A duplicate delivery of a cause whose send another invocation is making right now
# (two `crm spam release` of one mail each republish its decision) waits this long for
# that outcome instead of failing at once: a failure counts a receive, and retried
# without a pause (the local default) the duplicate reached the DLQ before the first
# send finished. Well inside the consumers' 60 s timeout, even for a batch of several.
IN_PROGRESS_WAIT_SECONDS = 5.0


ATTRIBUTE_PREFIX = "crm-in-doubt-"


@dataclass(frozen=True)
class ParkedSend:
    """A send in doubt, as the attributes of its parked DLQ message: what ``crm dlq``
    shows and what an approval names."""

    kind: str
    cause_event_id: str
    attempt: int
    stream_id: str
    conversation_id: str
    reason: str

    def attributes(self) -> dict[str, str]:
        return {
            f"{ATTRIBUTE_PREFIX}{name}": value
            for name, value in (
                ("reason", self.reason[:1000]),
                ("kind", self.kind),
                ("cause", self.cause_event_id),
                ("attempt", str(self.attempt)),
                ("stream", self.stream_id),
                ("conversation", self.conversation_id),
            )
        }

    @classmethod
    def from_attributes(cls, attributes: dict[str, str]) -> ParkedSend | None:
        """The send in doubt a parked message carries, or None for any other message."""
        values = {k.removeprefix(ATTRIBUTE_PREFIX): v for k, v in attributes.items() if k.startswith(ATTRIBUTE_PREFIX)}
        if not {"kind", "cause", "attempt", "stream"} <= set(values) or not values["attempt"].isdigit():
            return None
        return cls(
            values["kind"],
            values["cause"],
            int(values["attempt"]),
            values["stream"],
            values.get("conversation", ""),
            values.get("reason", ""),
        )


def in_doubt_key(kind: str, cause_event_id: str, attempt: int) -> str:
    return f"indoubt#{kind}#{cause_event_id}#{attempt}"


def approval_key(kind: str, cause_event_id: str, attempt: int) -> str:
    return f"approved#{kind}#{cause_event_id}#{attempt}"


def _idempotency_key(kind: str, cause_event_id: str, attempt: int) -> str:
    # attempt 1 keeps the key of every send before attempts existed
    return f"{kind}:{cause_event_id}" if attempt == 1 else f"{kind}:{cause_event_id}#{attempt}"


def _idempotent_send(
    svc: Services, addresses: Sequence[str], refuse: Callable[[StoreReads], str | None] | None
) -> Callable[..., dict[str, Any]]:
    config = IdempotencyConfig(event_key_jmespath="key", expires_after_seconds=RECORD_SECONDS)

    @idempotent_function(
        data_keyword_argument="request",
        persistence_store=svc.idempotency,  # type: ignore[untyped-decorator]
        config=config,
    )
    def send(request: dict[str, Any], build: Callable[[], Outgoing]) -> dict[str, Any]:
        reads = svc.store.snapshot(keys=[(request["dedupe"], 0), (request["in_doubt"], 0)], addresses=addresses)
        if reads.exists(request["dedupe"]):
            return {"recorded": True}
        if reads.exists(request["in_doubt"]):
            return {"in_doubt": "the outcome of an earlier attempt is unknown"}
        refusal = refuse(reads) if refuse else None
        if refusal:  # the refusal is this send's decision for good, as SES's are
            return {"failed": refusal[:1000]}
        try:
            outgoing = build()
            # the key lets a mailer that keeps what it sent (the local outbox) see that a
            # retry after a crash between the send and the record's completion was sent
            sent = svc.mailer.send(outgoing, key=request["key"])
        except SendError as exc:
            if exc.permanent:
                # a completed record: the refusal is this send's decision for good
                return {"failed": str(exc)[:1000]}
            if not exc.in_doubt:
                raise  # Powertools deletes the record: the send may be retried
            # a completed record: a redelivery of this attempt never sends again
            return {"in_doubt": str(exc)[:1000], "to": outgoing.recipients, "subject": outgoing.subject}
        return {
            "ses_message_id": sent.ses_message_id,
            "to": outgoing.recipients,
            "subject": outgoing.subject,
            "outbound_message_id": outgoing.outbound_message_id,
        }

    guarded: Callable[..., dict[str, Any]] = send
    return guarded


def send_once(
    svc: Services,
    cause: Envelope,
    *,
    kind: str,
    conversation_id: str,
    build: Callable[[], Outgoing],
    stream_id: str,
    sent: Callable[..., DomainEvent] | None = None,
    addresses: Sequence[str] = (),
    refuse: Callable[[StoreReads], str | None] | None = None,
) -> dict[str, Any] | None:
    """Send what ``build`` makes, at most once per (kind, cause event); record the outcome.

    ``refuse`` may refuse the send, inside its guard, from the store's items (the
    suppressions of ``addresses`` are read with the guard's own read): the reason it
    gives is recorded as :class:`SendFailed`, as SES's refusals are.
    ``sent`` makes the outcome event from the fields every sent event has (a
    :class:`MailSent` of this kind when not given).

    One guard: the idempotency record of each attempt holds its outcome (sent, refused
    or in doubt) from the moment SES answered; the outcome event is then recorded under
    its dedupe key, which makes a redelivery's second recording a no-op. A send in doubt
    raises :class:`Parked`."""
    dedupe_key = f"sent#{kind}#{cause.event_id}"
    send = _idempotent_send(svc, addresses, refuse)
    attempt = 1
    while True:
        try:
            request = {
                "key": _idempotency_key(kind, cause.event_id, attempt),
                "dedupe": dedupe_key,
                "in_doubt": in_doubt_key(kind, cause.event_id, attempt),
            }
            result = _send_or_await(svc, send, request, build)
        except SendError as exc:  # neither refused nor in doubt: nothing went out, retry
            raise Transient(str(exc)) from exc
        except Exception as exc:
            if svc.is_transient(exc):
                raise Transient(str(exc)) from exc
            raise
        if result is None or result == {"recorded": True}:
            return None  # recorded already: by the invocation that held the record, or before it
        if "in_doubt" not in result:
            break
        doubt = SendInDoubt(
            conversation_id=conversation_id,
            cause_event_id=cause.event_id,
            kind=kind,
            reason=str(result["in_doubt"]),
            attempt=attempt,
        )
        commit = _record(svc, cause, _plan([(stream_id, doubt)]), in_doubt_key(kind, cause.event_id, attempt))
        # the reason recorded the first time (a redelivery's record may only know there was one)
        reason = next((e.event.reason for e in commit.envelopes if isinstance(e.event, SendInDoubt)), doubt.reason)
        # each attempt in doubt needs the owner's approval before the next one may go
        if svc.store.exists(approval_key(kind, cause.event_id, attempt)):
            attempt += 1
            continue
        waiting = ", waiting for the owner" if commit.duplicate else ""
        raise Parked(
            f"{kind} send in doubt{waiting}: {reason}",
            ParkedSend(kind, cause.event_id, attempt, stream_id, conversation_id, reason).attributes(),
        )
    if "failed" in result:
        failed = SendFailed(
            conversation_id=conversation_id,
            cause_event_id=cause.event_id,
            kind=kind,
            reason=str(result["failed"]),
            permanent=True,
        )
        _record(svc, cause, _plan([(stream_id, failed)]), dedupe_key)
        return None
    outcome = (sent or partial(MailSent, kind=kind))(
        conversation_id=conversation_id,
        cause_event_id=cause.event_id,
        to=result["to"],
        subject=result["subject"],
        outbound_message_id=result["outbound_message_id"],
        ses_message_id=result["ses_message_id"],
    )
    ses_ids = ses_message_ids(result["ses_message_id"], svc.settings.region)
    _record(svc, cause, _plan([(stream_id, outcome)], ses_ids, conversation_id), dedupe_key)
    return result


def _record(svc: Services, cause: Envelope, plan: Plan, dedupe_key: str) -> Commit:
    """A send's outcome, caused by (and correlated with) the event that asked for it."""
    return svc.recorder.record(plan, dedupe_key=dedupe_key, correlation_id=cause.meta.correlation_id, causation_id=cause.event_id)


def _send_or_await(
    svc: Services, send: Callable[..., dict[str, Any]], request: dict[str, str], build: Callable[[], Outgoing]
) -> dict[str, Any] | None:
    """The send's result; None when another invocation held its record and has since
    recorded the outcome; :class:`Transient` when it still holds it after the wait."""
    deadline = time.monotonic() + IN_PROGRESS_WAIT_SECONDS
    pause = 0.05
    while True:
        try:
            return send(request=request, build=build)
        except IdempotencyAlreadyInProgressError:
            if svc.store.exists(request["dedupe"]):
                return None
            if time.monotonic() + pause > deadline:
                raise Transient(f"{request['key']}: another invocation is still sending it") from None
            time.sleep(pause)
            pause = min(pause * 2, 1.0)


def ses_message_ids(ses_message_id: str, region: str) -> list[str]:
    """The Message-ID SES may put on what it sends (it can replace ours): replies that
    reference it must still find their conversation."""
    return [f"<{ses_message_id}@email.amazonses.com>", f"<{ses_message_id}@{region}.amazonses.com>"]


def _plan(events: list[tuple[str, DomainEvent]], message_ids: Sequence[str] = (), conversation_id: str = "") -> Plan:
    return Plan(events=events, message_ids={m: conversation_id for m in message_ids if conversation_id})
