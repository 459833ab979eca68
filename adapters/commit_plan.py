"""What one commit writes, the same for every event store: the envelopes with their
versions and deterministic ids, their records, the dedupe item, the Message-ID
mappings and the markers, checked against the bus's size limit and the transaction's
item limit before anything is written."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any

import msgspec

from events import Envelope, checked, from_record, to_entry, to_record
from events.base import event_id, replace, utcnow
from ports import ClaimTaken, Commit, Plan

# DynamoDB's TransactWriteItems limit; the local store keeps it so a decision that
# works locally never fails in AWS.
MAX_TRANSACTION_ITEMS = 100
# what a dedupe item keeps of each record: where it is, and enough to tell it is the one
# (``producers.decision_keys`` reads the types to tell which producer decided)
REFERENCE_KEYS = ("pk", "sk", "event_id", "type")
# a claim (:meth:`ports.EventStore.claim`) is an item with this attribute and no recorded
# events; the commit of a decision under its key replaces it with the dedupe item
CLAIM_ATTRIBUTE = "claimed"
# what a claim's holder keeps on it when its outcome could not be committed
CLAIM_OUTCOME_ATTRIBUTE = "outcome"


def claim_item(key: str, token: str, **extra: str) -> dict[str, Any]:
    return {"pk": key, "sk": 0, CLAIM_ATTRIBUTE: token, "claimed_at": utcnow(), **extra}


def is_claim(item: dict[str, Any] | None) -> bool:
    """Whether ``item`` is a claim still waiting for its outcome's commit."""
    return item is not None and CLAIM_ATTRIBUTE in item and "events" not in item


def claim_taken(item: dict[str, Any]) -> ClaimTaken:
    """What a refused claim found under its key."""
    if not is_claim(item):
        return ClaimTaken(recorded=True)
    outcome = item.get(CLAIM_OUTCOME_ATTRIBUTE)
    return ClaimTaken(recorded=False, outcome=str(outcome) if outcome is not None else None)


class CommitPlan(msgspec.Struct, frozen=True):
    envelopes: list[Envelope]
    records: list[dict[str, Any]]  # one event-store item per envelope (pk = stream, sk = version)
    dedupe: dict[str, Any]  # pk = dedupe key, sk = 0: where the decision's records are, for a retried delivery
    overwrites: list[dict[str, Any]]  # Message-ID mappings and markers: written whatever was there

    def item_count(self) -> int:
        return len(self.records) + 1 + len(self.overwrites)


def plan_commit(
    plan: Plan,
    *,
    last_version: Callable[[str], int],
    dedupe_key: str,
    correlation_id: str,
    causation_id: str | None = None,
    source: str | None = None,
) -> CommitPlan:
    """Number ``plan``'s events per stream after ``last_version`` (0 for a stream that must
    be new, the pinned version for one in its ``expected_versions``); raises ``ValueError``
    for an event a reader or the bus would refuse (``InvalidEvent`` names the field) or
    more items than one transaction takes."""
    planned, message_ids, markers = plan.events, plan.message_ids, plan.markers
    first_in_stream, expected_versions = plan.first_in_stream, plan.expected_versions
    now = utcnow()
    versions: dict[str, int] = {}
    envelopes = []
    for index, (stream_id, event) in enumerate(planned):
        if stream_id not in versions:
            pinned = expected_versions.get(stream_id)
            versions[stream_id] = 0 if stream_id in first_in_stream else pinned if pinned is not None else last_version(stream_id)
        versions[stream_id] += 1
        envelope = Envelope.new(
            checked(event),  # a constructor checks nothing: what a reader would refuse is never stored
            stream_id=stream_id,
            version=versions[stream_id],
            seed=dedupe_key,
            correlation_id=correlation_id,
            causation_id=causation_id,
            occurred_at=now,
            source=source,
        )
        envelope = replace(envelope, meta=replace(envelope.meta, event_id=event_id(dedupe_key, envelope.type, str(index))))
        envelopes.append(envelope)
    for envelope in envelopes:
        to_entry(envelope, "size-check")  # an event the bus would refuse is never stored
    records = [to_record(e) for e in envelopes]
    overwrites = [
        {"pk": key, "sk": 0, "conversation_id": conversation_id}
        for key, conversation_id in {message_id_key(m): c for m, c in message_ids.items()}.items()
    ]
    overwrites.extend({"pk": pk, "sk": 0, **values} for pk, values in markers.items())
    # the dedupe item names the records rather than copying them: written in the same
    # transaction, they are there for a retry to read, and a copy doubled what every
    # commit writes (on DynamoDB, 2 write units per KB of a transactional item)
    references = json.dumps([{k: r[k] for k in REFERENCE_KEYS} for r in records])
    batch = CommitPlan(envelopes, records, {"pk": dedupe_key, "sk": 0, "events": references, "recorded_at": now}, overwrites)
    if batch.item_count() > MAX_TRANSACTION_ITEMS:
        raise ValueError(f"one decision may write at most {MAX_TRANSACTION_ITEMS} items, got {batch.item_count()}")
    return batch


def stored_commit(dedupe_item: dict[str, Any], get: Callable[[str, int], dict[str, Any] | None]) -> Commit:
    """The commit a dedupe item records (a retried delivery gets the first one's events),
    its records read with the store's ``get``. An item written before the references
    (2026-12-04) holds the records themselves."""
    envelopes = []
    for entry in json.loads(str(dedupe_item["events"])):
        record = entry if "detail" in entry else get(str(entry["pk"]), int(entry["sk"]))
        if record is None or record.get("event_id") != entry["event_id"]:
            raise LookupError(
                f"the decision {dedupe_item['pk']!r} recorded event {entry['event_id']} at "
                f"{entry['pk']} version {entry['sk']}, and the store does not hold it there"
            )
        envelopes.append(from_record(record))
    return Commit(envelopes, duplicate=True)


class StoreKnowledge:
    """What the inbound decision reads from the items a commit writes (Message-ID
    mappings, suppressions, the first event of a contact stream), on any store's
    ``get``/``exists``/``get_many``: one reading for both event stores."""

    def get(self, pk: str, sk: int = 0) -> dict[str, Any] | None:
        raise NotImplementedError

    def exists(self, pk: str, sk: int = 0) -> bool:
        return self.get(pk, sk) is not None

    def recorded(self, dedupe_key: str) -> bool:
        """Whether a decision was committed under ``dedupe_key`` (a claim is not one)."""
        item = self.get(dedupe_key)
        return item is not None and not is_claim(item)

    def get_many(self, keys: Sequence[tuple[str, int]]) -> dict[tuple[str, int], dict[str, Any]]:
        raise NotImplementedError

    def last_version(self, stream_id: str) -> int:
        raise NotImplementedError

    def conversation_for(self, message_ids: list[str]) -> str | None:
        for message_id in message_ids:
            for key in _message_id_keys(message_id):
                item = self.get(key)
                if item:
                    return str(item["conversation_id"])
        return None

    def contact_known(self, contact: str) -> bool:
        return self.exists(*_contact_key(contact))

    def address_suppressed(self, address: str) -> str | None:
        item = self.get(_suppression_key(address))
        return f"address {address} {item['reason']}" if item else None

    def snapshot(
        self,
        *,
        keys: Iterable[tuple[str, int]] = (),
        message_ids: Iterable[str] = (),
        contacts: Iterable[str] = (),
        addresses: Iterable[str] = (),
    ) -> StoreKnowledge:
        """These items read in one request (``BatchGetItem``): a reader of them that
        answers from what it read, and asks the store for anything else."""
        wanted = [
            *keys,
            *((k, 0) for m in message_ids for k in _message_id_keys(m)),
            *(_contact_key(c) for c in contacts),
            *((_suppression_key(a), 0) for a in addresses),
        ]
        wanted = list(dict.fromkeys(wanted))[:SNAPSHOT_KEYS]
        return PrefetchedReads(self, wanted, self.get_many(wanted) if wanted else {})


# BatchGetItem's limit: a snapshot reads at most this many items in its one request
SNAPSHOT_KEYS = 100


# the Message-ID SES gives a mail it sends, in either of the domains it may write it with
_SES_MESSAGE_ID = re.compile(r"<([^@<>\s]+)@(?:email|[a-z0-9-]+)\.amazonses\.com>")


def message_id_key(message_id: str) -> str:
    """The mapping item of a Message-ID. The two forms SES may give one sent mail
    (``@email.amazonses.com``, ``@<region>.amazonses.com``) share one item."""
    lowered = message_id.lower()
    ses = _SES_MESSAGE_ID.fullmatch(lowered)
    return f"msgid#<{ses.group(1)}@amazonses.com>" if ses else f"msgid#{lowered}"


def _message_id_keys(message_id: str) -> list[str]:
    """Where a mapping of this Message-ID may be: its item, and the per-form item that
    mappings written before the forms shared one used."""
    return list(dict.fromkeys([message_id_key(message_id), f"msgid#{message_id.lower()}"]))


def _contact_key(contact: str) -> tuple[str, int]:
    return f"contact#{contact}", 1  # a contact is known once its stream has a first event


def _suppression_key(address: str) -> str:
    return f"suppress#{address.lower()}"


class PrefetchedReads(StoreKnowledge):
    """Items read together, answered from memory; every other read goes to the store."""

    def __init__(self, store: StoreKnowledge, keys: list[tuple[str, int]], found: dict[tuple[str, int], dict[str, Any]]) -> None:
        self._store = store
        self._keys = set(keys)
        self._found = found

    def get(self, pk: str, sk: int = 0) -> dict[str, Any] | None:
        if (pk, sk) in self._keys:
            return self._found.get((pk, sk))
        return self._store.get(pk, sk)

    def get_many(self, keys: Sequence[tuple[str, int]]) -> dict[tuple[str, int], dict[str, Any]]:
        missing = [k for k in keys if k not in self._keys]
        found = {k: self._found[k] for k in keys if k in self._found}
        return {**found, **(self._store.get_many(missing) if missing else {})}

    def last_version(self, stream_id: str) -> int:
        return self._store.last_version(stream_id)
