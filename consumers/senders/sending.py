"""One send, exactly once: a claim in the event store keyed on the cause event (the
send's one guard, written before anything goes out), then the outcome recorded as an
event under the same key, which replaces the claim. A send whose claim is taken reads
the store only then, to tell a recorded outcome from one still being made.

A crash after SES accepted the mail but before the outcome's commit leaves the claim
with no outcome, so a redelivery is refused (not re-sent) until the message reaches
the DLQ, where a person sees it: we prefer one visible stuck message to a mail sent
twice. A holder whose commit fails (throttling) keeps SES's answer on its claim first,
and a redelivery commits it. On the local backend the claim of a process that died is
taken over, and the outbox, keyed alike, finds what it had sent.

A send whose outcome is unknown (SES's answer was lost: a read timeout, a connection
reset, a 5xx) is never retried blindly: it is recorded as ``SendInDoubt`` and its
message is parked in the DLQ with the reason. Only the owner's ``crm dlq redrive``
(a recorded ``SendRetryApproved``) lets the next attempt go, under a claim of its own,
so approving twice still sends once more, not twice.
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import msgspec

from consumers.queue_batch import Parked, Transient
from events import DomainEvent, Envelope, MailSent, SendFailed, SendInDoubt
from ports import Commit, Outgoing, Plan, SendError, Services, StoreReads

# A duplicate delivery of a cause whose send another invocation is making right now
# (two `crm spam release` of one mail each republish its decision) waits this long for
# that outcome instead of failing at once: a failure counts a receive, and retried
# without a pause (the local default) the duplicate reached the DLQ before the first
# send finished. Well inside the consumers' 60 s timeout, even for a batch of several.
IN_PROGRESS_WAIT_SECONDS = 5.0


ATTRIBUTE_PREFIX = "crm-in-doubt-"


class ParkedSend(msgspec.Struct, frozen=True):
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


class _Attempt(msgspec.Struct, frozen=True):
    kind: str
    cause_event_id: str
    number: int

    @property
    def dedupe(self) -> str:
        return f"sent#{self.kind}#{self.cause_event_id}"

    @property
    def claim(self) -> str:
        """The attempt's guard. The first claims the outcome's own dedupe key, so its
        commit replaces the claim, and a cause whose outcome was recorded before claims
        existed finds that record; a later one (after the owner's approval) has its own."""
        return self.dedupe if self.number == 1 else f"claim#{self.kind}#{self.cause_event_id}#{self.number}"

    @property
    def in_doubt(self) -> str:
        return in_doubt_key(self.kind, self.cause_event_id, self.number)

    @property
    def mailer_key(self) -> str:
        """What the mailer is told the attempt is: a mailer that keeps what it sent (the
        local outbox) answers a second send under it with the first one's result.
        (Attempt 1 keeps the key of every send before attempts existed.)"""
        return f"{self.kind}:{self.cause_event_id}" if self.number == 1 else f"{self.kind}:{self.cause_event_id}#{self.number}"


def _send(
    svc: Services,
    attempt: _Attempt,
    build: Callable[[], Outgoing],
    addresses: Sequence[str],
    refuse: Callable[[StoreReads], str | None] | None,
) -> dict[str, Any]:
    """The send, made by the holder of the attempt's claim: its result as the outcome
    to record (sent, refused or in doubt). Raises :class:`SendError` when nothing went
    out and a retry may send."""
    if refuse is not None:
        reads = svc.store.snapshot(addresses=addresses) if addresses else svc.store
        refusal = refuse(reads)
        if refusal:  # the refusal is this send's decision for good, as SES's are
            return {"failed": refusal[:1000]}
    outgoing = build()
    try:
        sent = svc.mailer.send(outgoing, key=attempt.mailer_key)
    except SendError as exc:
        if exc.permanent:
            return {"failed": str(exc)[:1000]}
        if not exc.in_doubt:
            raise
        # recorded as in doubt: a redelivery of this attempt never sends again
        return {"in_doubt": str(exc)[:1000], "to": outgoing.recipients, "subject": outgoing.subject}
    return {
        "ses_message_id": sent.ses_message_id,
        "to": outgoing.recipients,
        "subject": outgoing.subject,
        "outbound_message_id": outgoing.outbound_message_id,
    }


def _claimed_send(
    svc: Services,
    attempt: _Attempt,
    build: Callable[[], Outgoing],
    addresses: Sequence[str],
    refuse: Callable[[StoreReads], str | None] | None,
) -> tuple[dict[str, Any] | None, str | None]:
    """(the attempt's outcome, the claim token this invocation holds) — the outcome
    ``None`` when it was recorded already; the token ``None`` when another holder made
    the outcome. Waits :data:`IN_PROGRESS_WAIT_SECONDS` for an attempt another
    invocation holds, then raises :class:`Transient`."""
    deadline = time.monotonic() + IN_PROGRESS_WAIT_SECONDS
    pause = 0.05
    token = uuid.uuid4().hex
    while True:
        taken = svc.store.claim(attempt.claim, token)
        if taken is None:
            break
        if taken.recorded:
            return None, None
        if taken.outcome is not None:  # its holder's commit failed after SES answered
            return json.loads(taken.outcome), None
        reads = svc.store.snapshot(keys=[(attempt.dedupe, 0), (attempt.in_doubt, 0)])
        if reads.recorded(attempt.dedupe):
            return None, None
        if reads.exists(attempt.in_doubt):
            return {"in_doubt": "the outcome of an earlier attempt is unknown"}, None
        if time.monotonic() + pause > deadline:
            raise Transient(f"{attempt.claim}: another invocation is still sending it")
        time.sleep(pause)
        pause = min(pause * 2, 1.0)
    # held: the key is ours until the outcome's commit replaces it (or we release it)
    try:
        if attempt.number > 1 and svc.store.recorded(attempt.dedupe):
            svc.store.release(attempt.claim, token)
            return None, None
        return _send(svc, attempt, build, addresses, refuse), token
    except Exception:
        # nothing went out (SES refused to take it, or it never reached SES): free the key
        # for a retry. A kill (or an interrupt) leaves it held, and the DLQ shows the stuck send.
        _persist(lambda: svc.store.release(attempt.claim, token))
        raise


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
    suppressions of ``addresses`` are read with one request): the reason it gives is
    recorded as :class:`SendFailed`, as SES's refusals are.
    ``sent`` makes the outcome event from the fields every sent event has (a
    :class:`MailSent` of this kind when not given).

    One guard: the attempt's claim, taken before the send and replaced by the commit of
    its outcome (sent, refused or in doubt), which makes a redelivery's second recording
    a no-op. A send in doubt raises :class:`Parked`."""
    attempt = _Attempt(kind, cause.event_id, 1)
    while True:
        try:
            result, token = _claimed_send(svc, attempt, build, addresses, refuse)
        except SendError as exc:  # neither refused nor in doubt: nothing went out, retry
            raise Transient(str(exc)) from exc
        except Exception as exc:
            if svc.is_transient(exc):
                raise Transient(str(exc)) from exc
            raise
        if result is None:
            return None  # recorded already: by the invocation that held the claim, or before it
        keep = partial(_keep_outcome, svc, attempt, token, result)
        if "in_doubt" not in result:
            break
        doubt = SendInDoubt(
            conversation_id=conversation_id,
            cause_event_id=cause.event_id,
            kind=kind,
            reason=str(result["in_doubt"]),
            attempt=attempt.number,
        )
        commit = keep(partial(_record, svc, cause, _plan([(stream_id, doubt)]), attempt.in_doubt))
        # the reason recorded the first time (a redelivery's record may only know there was one)
        reason = next((e.event.reason for e in commit.envelopes if isinstance(e.event, SendInDoubt)), doubt.reason)
        # each attempt in doubt needs the owner's approval before the next one may go
        if svc.store.exists(approval_key(kind, cause.event_id, attempt.number)):
            attempt = _Attempt(kind, cause.event_id, attempt.number + 1)
            continue
        waiting = ", waiting for the owner" if commit.duplicate else ""
        raise Parked(
            f"{kind} send in doubt{waiting}: {reason}",
            ParkedSend(kind, cause.event_id, attempt.number, stream_id, conversation_id, reason).attributes(),
        )
    if "failed" in result:
        failed = SendFailed(
            conversation_id=conversation_id,
            cause_event_id=cause.event_id,
            kind=kind,
            reason=str(result["failed"]),
            permanent=True,
        )
        keep(partial(_record, svc, cause, _plan([(stream_id, failed)]), attempt.dedupe))
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
    keep(partial(_record, svc, cause, _plan([(stream_id, outcome)], ses_ids, conversation_id), attempt.dedupe))
    return result


def _keep_outcome(
    svc: Services, attempt: _Attempt, token: str | None, result: dict[str, Any], commit: Callable[[], Commit]
) -> Commit:
    """``commit()``; when it fails, SES's answer is kept on the claim this invocation
    holds first, so the redelivery records it instead of leaving the send stuck."""
    try:
        return commit()
    except Exception:
        if token is not None:
            kept = json.dumps(result)
            _persist(lambda: svc.store.keep_outcome(attempt.claim, token, kept))
        raise


# A claim left held with nothing to show for it stays stuck: the claim's last writes are
# tried again this often (with a short pause) before the failure already being raised
# is the one left to see, and the DLQ shows the send.
LAST_WRITE_ATTEMPTS = 5


def _persist(write: Callable[[], None]) -> None:
    for attempt in range(LAST_WRITE_ATTEMPTS):
        try:
            write()
            return
        except Exception:
            if attempt + 1 < LAST_WRITE_ATTEMPTS:
                time.sleep(0.01 * 2**attempt)


def _record(svc: Services, cause: Envelope, plan: Plan, dedupe_key: str) -> Commit:
    """A send's outcome, caused by (and correlated with) the event that asked for it."""
    return svc.recorder.record(plan, dedupe_key=dedupe_key, correlation_id=cause.meta.correlation_id, causation_id=cause.event_id)


def ses_message_ids(ses_message_id: str, region: str) -> list[str]:
    """The Message-ID SES may put on what it sends (it can replace ours): replies that
    reference it must still find their conversation."""
    return [f"<{ses_message_id}@email.amazonses.com>", f"<{ses_message_id}@{region}.amazonses.com>"]


def _plan(events: list[tuple[str, DomainEvent]], message_ids: Sequence[str] = (), conversation_id: str = "") -> Plan:
    return Plan(events=events, message_ids={m: conversation_id for m in message_ids if conversation_id})
