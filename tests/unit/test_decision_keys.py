"""Each producer keys its decision on its own name (issue 11, finding 7)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from producers.decision_keys import decision_key, key_for, recorded_by


class Store:
    def __init__(self, items: dict[str, dict[str, Any]]) -> None:
        self.items = items

    def get(self, pk: str, sk: int = 0) -> dict[str, Any] | None:
        return self.items.get(pk)


def _decision(*types: str) -> dict[str, Any]:
    return {"events": json.dumps([{"type": t, "source": "x"} for t in types])}


def test_the_two_producers_never_share_a_key() -> None:
    assert decision_key("inbound", "ses-1") != decision_key("reply", "ses-1")
    empty = Store({})
    assert key_for(empty, "inbound", "ses-1") == "message#inbound#ses-1"
    assert key_for(empty, "reply", "ses-1") == "message#reply#ses-1"


@pytest.mark.parametrize(
    ("types", "owner"),
    [
        (("MessageReceived", "FirstContact", "AcknowledgementAllowed"), "inbound"),
        (("SpamRejected",), "inbound"),
        (("ReplyRouted", "ConversationUpdated"), "reply"),
        (("ReplyRejected",), "reply"),
        ((), None),
    ],
)
def test_an_old_shared_key_counts_only_for_the_producer_that_wrote_it(types: tuple[str, ...], owner: str | None) -> None:
    store = Store({"message#ses-1": _decision(*types)})
    assert recorded_by(store.items["message#ses-1"]) == owner
    for producer in ("inbound", "reply"):
        expected = "message#ses-1" if producer == owner else f"message#{producer}#ses-1"
        assert key_for(store, producer, "ses-1") == expected  # type: ignore[arg-type]


def test_an_unreadable_old_record_is_nobodys() -> None:
    assert recorded_by({"events": "not json"}) is None
    assert recorded_by({}) is None
