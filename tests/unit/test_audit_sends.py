"""``crm audit``'s send check over generated histories: a cause sent twice, an outbox
mail without its recorded send, a mail in the outbox twice, a send in doubt sent again
without the owner's approval each fail it and are named; anything else passes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from crm.audit import check_sends
from events import (
    AcknowledgementSent,
    DomainEvent,
    Envelope,
    MailSent,
    MessageForwarded,
    ReplyDelivered,
    SendInDoubt,
    SendRetryApproved,
)

AT = "2026-11-20T10:00:00.000Z"
KINDS = ("ack", "forward", "reply", "reminder:follow-up-reminder:0")


@dataclass(frozen=True)
class Cause:
    kind: str
    sends: int  # recorded sends
    doubts: int  # attempts in doubt before them
    approved: frozenset[int]  # which in-doubt attempts the owner approved
    copies: tuple[int, ...]  # outbox entries per recorded send


causes = st.builds(
    lambda kind, sends, doubts, approved, copies: Cause(
        kind,
        sends,
        doubts,
        frozenset(a for a in approved if a <= doubts),
        tuple(copies[:sends]) + (1,) * max(0, sends - len(copies)),
    ),
    st.sampled_from(KINDS),
    st.integers(0, 2),
    st.integers(0, 2),
    st.sets(st.integers(1, 2)),
    st.lists(st.integers(0, 2), max_size=2),
)


def sent(kind: str, cause: str, ses_id: str) -> DomainEvent:
    fields: dict[str, Any] = {
        "conversation_id": "c1",
        "cause_event_id": cause,
        "to": ["x@y.example"],
        "outbound_message_id": f"<{kind}.{cause}@example.com>",
        "ses_message_id": ses_id,
    }
    classes: dict[str, type[DomainEvent]] = {"ack": AcknowledgementSent, "forward": MessageForwarded, "reply": ReplyDelivered}
    if kind in classes:
        return classes[kind](**fields)
    return MailSent(kind=kind, **fields)


def history(plan: list[Cause], strays: int) -> tuple[list[Envelope], list[dict[str, Any]]]:
    events: list[DomainEvent] = []
    outbox: list[dict[str, Any]] = []
    for index, cause in enumerate(plan):
        cause_id = f"event-{index}"
        for attempt in range(1, cause.doubts + 1):
            events.append(
                SendInDoubt(
                    conversation_id="c1",
                    cause_event_id=cause_id,
                    kind=cause.kind,
                    reason="SES answer lost (ReadTimeoutError)",
                    attempt=attempt,
                )
            )
            if attempt in cause.approved:
                events.append(SendRetryApproved(conversation_id="c1", cause_event_id=cause_id, kind=cause.kind, attempt=attempt))
        for number in range(cause.sends):
            ses_id = f"ses-{index}-{number}"
            events.append(sent(cause.kind, cause_id, ses_id))
            outbox += [
                {
                    "kind": cause.kind.split(":")[0],
                    "to": ["x@y.example"],
                    "file": f"{ses_id}.eml",
                    "ses_message_id": ses_id,
                    "message_id": f"<{cause.kind}.{cause_id}@example.com>",
                }
            ] * cause.copies[number]
    outbox += [
        {
            "kind": "ack",
            "to": ["z@y.example"],
            "file": f"stray-{n}.eml",
            "ses_message_id": f"stray-{n}",
            "message_id": f"<stray.{n}@example.com>",
        }
        for n in range(strays)
    ]
    envelopes = [
        Envelope.new(e, stream_id="conversation#c1", version=v, seed=f"s{v}", correlation_id="c1", occurred_at=AT)
        for v, e in enumerate(events, 1)
    ]
    return envelopes, outbox


@settings(max_examples=200, deadline=None)
@given(plan=st.lists(causes, max_size=6), strays=st.integers(0, 2))
def test_the_send_check_fails_exactly_on_a_violation_and_names_it(plan: list[Cause], strays: int) -> None:
    envelopes, outbox = history(plan, strays)
    check = check_sends(envelopes, outbox)
    offenders = []
    for index, cause in enumerate(plan):
        unapproved = cause.sends and set(range(1, cause.doubts + 1)) - cause.approved
        if cause.sends > 1 or unapproved:
            offenders.append(f"event-{index}")
        if sum(cause.copies[: cause.sends]) > 1:
            offenders.append(f"<{cause.kind}.event-{index}@example.com>")
    offenders += [f"stray-{n}.eml" for n in range(strays)]
    assert check["ok"] is (not offenders), check["detail"]
    for offender in offenders[:5]:
        assert offender in check["detail"]
    missing = sum(1 for c in plan for n in range(c.sends) if c.copies[n] == 0)
    assert ("not in the outbox" in check["detail"]) is bool(missing)  # a note, not a failure


def test_without_an_outbox_only_the_recorded_sends_are_checked() -> None:
    envelopes, _outbox = history([Cause("forward", 1, 0, frozenset(), (1,))], 0)
    assert check_sends(envelopes, None)["ok"]
    twice, _ = history([Cause("ack", 2, 0, frozenset(), (1, 1))], 0)
    check = check_sends(twice, None)
    assert not check["ok"] and "ack of event event-0 sent 2 times" in check["detail"]


def test_a_send_still_in_doubt_is_a_note_for_the_owner() -> None:
    envelopes, outbox = history([Cause("reply", 0, 1, frozenset(), ())], 0)
    check = check_sends(envelopes, outbox)
    assert check["ok"] and "in doubt, parked for the owner" in check["detail"]
