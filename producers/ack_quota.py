"""The hourly cap on acknowledgements. Pure: the decision plans, the store enforces.

The acknowledgements allowed in one hour are the stream ``ack-quota#<hour>``
(hour of the SES receipt, UTC). Allowing one more plans ``AcknowledgementAllowed``
at version ``taken + 1`` *expected*: the event store writes it only if that
version is still free, so of any number of producers racing for the last slot
exactly one wins; the others decide again and find the hour full. A burst over the
cap is still accepted and forwarded; its ``FirstContact`` says why it got no mail.

>>> hour_of("2026-11-20T10:59:59.999Z"), hour_of("")
('2026-11-20T10', 'undated')
>>> quota_stream("2026-11-20T10")
'ack-quota#2026-11-20T10'
"""

from __future__ import annotations

import re

import msgspec

from events import AcknowledgementAllowed

_HOUR = re.compile(r"^(\d{4}-\d{2}-\d{2}T\d{2})")


def hour_of(timestamp: str) -> str:
    match = _HOUR.match(timestamp.strip())
    return match.group(1) if match else "undated"


def quota_stream(hour: str) -> str:
    return f"ack-quota#{hour}"


class Slot(msgspec.Struct, frozen=True):
    stream_id: str
    expected_version: int  # the stream's version the append requires (the slots taken when deciding)
    event: AcknowledgementAllowed


def take_slot(*, taken: int, cap: int, hour: str, contact: str, conversation_id: str, ses_message_id: str) -> Slot | str:
    """The slot to claim, or why there is none."""
    if taken >= cap:
        return f"hourly acknowledgement cap reached ({cap} in hour {hour} UTC)"
    return Slot(
        quota_stream(hour),
        taken,
        AcknowledgementAllowed(
            hour=hour, slot=taken + 1, cap=cap, contact=contact, conversation_id=conversation_id, ses_message_id=ses_message_id
        ),
    )
