"""The dedupe key of a producer's decision on one SES delivery.

SES runs the public and the reply receipt rule on the same mail with the same
message id (a first mail to the public address with a thread address in ``Cc``),
so each producer keys its decision on its own name: ``message#inbound#<id>`` and
``message#reply#<id>``. Neither can take the other's decision for a retry of its
own and drop the mail.

Decisions recorded before the split used ``message#<id>``; such a record still
counts for the producer that wrote it (told by the events it holds), so a
redelivery of an old mail is not decided twice.
"""

from __future__ import annotations

import json
from typing import Any, Literal, Protocol

Producer = Literal["inbound", "reply"]
_TYPES: dict[str, Producer] = {
    "MessageReceived": "inbound",
    "SpamRejected": "inbound",
    "FirstContact": "inbound",
    "ReplyRouted": "reply",
    "ReplyRejected": "reply",
}


class Records(Protocol):
    def get(self, pk: str, sk: int = 0) -> dict[str, Any] | None: ...


def decision_key(producer: Producer, ses_message_id: str) -> str:
    return f"message#{producer}#{ses_message_id}"


def legacy_key(ses_message_id: str) -> str:
    return f"message#{ses_message_id}"


def recorded_by(item: dict[str, Any]) -> Producer | None:
    """Which producer wrote a stored decision, from the types of its events."""
    try:
        types = [str(r.get("type")) for r in json.loads(str(item.get("events") or "[]"))]
    except (ValueError, AttributeError):
        return None
    return next((_TYPES[t] for t in types if t in _TYPES), None)


def key_for(store: Records, producer: Producer, ses_message_id: str) -> str:
    """The key to record this producer's decision under: the old shared one where it
    holds this producer's own decision, else the producer's own."""
    legacy = store.get(legacy_key(ses_message_id))
    if legacy is not None and recorded_by(legacy) == producer:
        return legacy_key(ses_message_id)
    return decision_key(producer, ses_message_id)
