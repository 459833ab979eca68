"""The event store's reads of many items at once (``get_many``, ``snapshot``) and of
Message-ID mappings, proven on the embedded engine and on DynamoDB (moto): what the
inbound decision and a send without its record read in one request."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.event_store import EventStore as DynamoEventStore
from ports import EventStore, Plan
from projections.tables import events_table
from tests.contracts import test_event_store as base  # a module: its Test classes are not collected twice
from tests.contracts.aws_support import on_moto

due = base.due


class ReadsContract(base.StoreBackend):
    @pytest.mark.parametrize("region", ["us-east-1", "eu-west-2", "ap-southeast-1", "us-gov-west-1"])
    def test_the_two_forms_of_an_ses_message_id_share_one_mapping_and_old_mappings_still_read(
        self, store: EventStore, region: str
    ) -> None:
        ses_id = "0100018c-2f3a-4b5c-8d9e-0f1a2b3c4d5e-000000"
        forms = [f"<{ses_id}@email.amazonses.com>", f"<{ses_id}@{region}.amazonses.com>"]
        store.commit(Plan([("s", due(1))], message_ids=dict.fromkeys(forms, "c1")), dedupe_key="k", correlation_id="c")
        mappings = [i for i in store.scan_items() if str(i["pk"]).startswith("msgid#")]
        assert len(mappings) == 1  # one write, not one per form
        for form in [*forms, forms[0].upper(), f"<{ses_id}@Email.AmazonSES.com>"]:
            assert store.conversation_for([form]) == "c1"
            assert store.snapshot(message_ids=[form]).conversation_for([form]) == "c1"
        # another SES id, or one merely mentioning the domain, is not the same mail
        assert store.conversation_for([f"<{ses_id}x@email.amazonses.com>", f"<{ses_id}@amazonses.com.evil>"]) is None
        # a mapping written per form, before the forms shared one, still reads
        store.put_raw_items([{"pk": f"msgid#<old-1@{region}.amazonses.com>", "sk": 0, "conversation_id": "c0"}])
        assert store.conversation_for([f"<old-1@{region}.amazonses.com>"]) == "c0"
        assert (
            store.snapshot(message_ids=[f"<OLD-1@{region}.amazonses.com>"]).conversation_for([f"<OLD-1@{region}.amazonses.com>"])
            == "c0"
        )

    def test_many_items_read_together_are_the_ones_read_alone(self, store: EventStore) -> None:
        store.commit(
            Plan([("contact#p@x", due(1)), ("s", due(2))], markers={f"m#{n}": {"n": n} for n in range(40)}),
            dedupe_key="k",
            correlation_id="c",
        )
        keys = [(f"m#{n}", 0) for n in range(0, 60, 3)] + [("contact#p@x", 1), ("s", 2), ("k", 0), ("m#3", 0)]
        # more keys than one BatchGetItem takes, a key twice, absent keys: each is answered as get answers it
        keys += [(f"absent#{n}", 0) for n in range(120)]
        found = store.get_many(keys)
        assert found == {k: item for k in keys if (item := store.get(*k)) is not None}
        assert len(found) == 14 + 2 and ("s", 2) not in found  # 14 markers, the contact event, the dedupe item
        assert store.get_many([]) == {}

    def test_a_snapshot_answers_as_the_store_did_when_it_was_read(self, store: EventStore) -> None:
        store.commit(
            Plan(
                [("contact#p@x", due(1))],
                message_ids={"<Known@Host>": "c1"},
                markers={"suppress#jane@x.org": {"reason": "hard-bounced"}},
            ),
            dedupe_key="k",
            correlation_id="c",
        )
        snap = store.snapshot(
            keys=[("k", 0), ("nothing", 0)],
            message_ids=["<known@host>", "<unknown@host>"],
            contacts=["p@x", "q@x"],
            addresses=["JANE@x.org", "john@x.org"],
        )
        store.commit(
            Plan([("contact#q@x", due(2))], markers={"suppress#john@x.org": {"reason": "complained"}, "nothing": {"a": 1}}),
            dedupe_key="k2",
            correlation_id="c",
        )
        # what it read, as it was then, absence included
        assert snap.contact_known("p@x") and not snap.contact_known("q@x")
        assert snap.address_suppressed("jane@x.org") == "address jane@x.org hard-bounced"
        assert snap.address_suppressed("john@x.org") is None
        assert snap.conversation_for(["<unknown@host>", "<KNOWN@host>"]) == "c1"
        assert snap.get("nothing") is None and snap.exists("k")
        # anything else from the store, now
        assert snap.get("k2") is not None and snap.contact_known("r@x") is False
        assert snap.address_suppressed("other@x.org") is None and snap.last_version("contact#q@x") == 1
        assert snap.get_many([("k2", 0), ("nothing", 0)]).keys() == {("k2", 0)}


class TestLocalReads(ReadsContract):
    backend = base.TestLocalEventStore.backend
    open_store = base.TestLocalEventStore.open_store


class TestAwsReads(ReadsContract):
    backend = base.TestAwsEventStore.backend
    open_store = base.TestAwsEventStore.open_store


def _stingy(real: Any, give_up_after: int | None) -> Any:
    """A BatchGetItem that answers half of what it is asked and leaves the rest
    unprocessed, as DynamoDB does under throttling; after ``give_up_after`` calls it
    answers nothing at all."""
    calls = {"n": 0}

    def batch_get_item(RequestItems: dict[str, Any]) -> dict[str, Any]:  # boto3 names it so
        calls["n"] += 1
        ((table, request),) = RequestItems.items()
        keys = request["Keys"]
        if give_up_after is not None and calls["n"] > give_up_after:
            return {"Responses": {table: []}, "UnprocessedKeys": RequestItems}
        half, rest = keys[: max(1, len(keys) // 2)], keys[max(1, len(keys) // 2) :]
        answer = real(RequestItems={table: {**request, "Keys": half}})
        if rest:
            answer["UnprocessedKeys"] = {table: {**request, "Keys": rest}}
        return dict(answer)

    return batch_get_item


def test_keys_dynamodb_leaves_unprocessed_are_asked_again_until_answered(monkeypatch: pytest.MonkeyPatch) -> None:
    from adapters.aws import client, is_transient

    with on_moto(monkeypatch) as settings:
        client("dynamodb", settings.region).create_table(**events_table("crm-events"))
        store = DynamoEventStore("crm-events", settings.region)
        store.commit(Plan([], markers={f"m#{n}": {"n": n} for n in range(30)}), dedupe_key="k", correlation_id="c")
        keys = [(f"m#{n}", 0) for n in range(30)] + [("absent", 0)]
        monkeypatch.setattr("adapters.event_store.time.sleep", lambda _s: None)
        monkeypatch.setattr(store._db, "batch_get_item", _stingy(store._db.batch_get_item, None))
        assert store.get_many(keys) == {k: {"pk": k[0], "sk": 0, "n": n} for n, k in enumerate(keys[:30])}
        # keys that stay unprocessed are throttling, which the handlers retry later: never a silent miss
        monkeypatch.setattr(store._db, "batch_get_item", _stingy(store._db.batch_get_item, 2))
        with pytest.raises(Exception) as refused:
            store.get_many(keys)
        assert is_transient(refused.value) and "unprocessed" in str(refused.value)
