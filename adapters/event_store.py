"""The event store on DynamoDB: append-only streams with conditional, transactional appends.

Items: ``pk = stream id, sk = version`` for events; ``pk = dedupe key, sk = 0`` for
the record of one decision (its events, to re-publish on a retried delivery);
``pk = msgid#<Message-ID>, sk = 0`` maps a Message-ID to its conversation;
``pk = suppress#<address>, sk = 0`` marks an address that must not be acknowledged.
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator, Sequence
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from adapters.aws import client, error_code
from adapters.commit_plan import (
    CLAIM_ATTRIBUTE,
    CLAIM_OUTCOME_ATTRIBUTE,
    MAX_TRANSACTION_ITEMS,
    StoreKnowledge,
    claim_item,
    claim_taken,
    plan_commit,
    stored_commit,
)
from events import Envelope, from_record
from ports import ClaimTaken, Commit, Plan, StreamConflict

__all__ = ["MAX_TRANSACTION_ITEMS", "Commit", "EventStore", "StreamConflict"]

_SER = TypeSerializer()
_DES = TypeDeserializer()


def _item(values: dict[str, Any]) -> dict[str, Any]:
    return {k: _SER.serialize(v) for k, v in values.items() if v is not None}


def _plain(item: dict[str, Any]) -> dict[str, Any]:
    values = {k: _DES.deserialize(v) for k, v in item.items()}
    if "sk" in values:
        values["sk"] = int(values["sk"])
    return values


# DynamoDB's own SDKs retry unprocessed keys about this often before giving up
UNPROCESSED_ATTEMPTS = 8


def _throttled(message: str) -> ClientError:
    """Unprocessed keys that stay unprocessed: throttling, as ``adapters.aws`` tells it."""
    response: Any = {"Error": {"Code": "ProvisionedThroughputExceededException", "Message": message}}
    response["ResponseMetadata"] = {"HTTPStatusCode": 400}
    return ClientError(response, "BatchGetItem")


class EventStore(StoreKnowledge):
    def __init__(self, table: str, region: str, endpoint_url: str | None = None) -> None:
        self.table = table
        self._db = client("dynamodb", region, endpoint_url)

    # --- reads -------------------------------------------------------------------

    def last_version(self, stream_id: str) -> int:
        response = self._db.query(
            TableName=self.table,
            KeyConditionExpression="pk = :pk",
            ExpressionAttributeValues={":pk": {"S": stream_id}},
            ScanIndexForward=False,
            Limit=1,
            ConsistentRead=True,
            ProjectionExpression="sk",
        )
        items = response.get("Items") or []
        return int(items[0]["sk"]["N"]) if items else 0

    def read(self, stream_id: str, after_version: int = 0) -> list[Envelope]:
        envelopes: list[Envelope] = []
        start: dict[str, Any] | None = None
        while True:
            kwargs: dict[str, Any] = {
                "TableName": self.table,
                "KeyConditionExpression": "pk = :pk AND sk > :v",
                "ConsistentRead": True,
                "ExpressionAttributeValues": {":pk": {"S": stream_id}, ":v": {"N": str(after_version)}},
            }
            if start:
                kwargs["ExclusiveStartKey"] = start
            response = self._db.query(**kwargs)
            envelopes.extend(from_record(_plain(i)) for i in response.get("Items") or [])
            start = response.get("LastEvaluatedKey")
            if not start:
                return envelopes

    def get(self, pk: str, sk: int = 0) -> dict[str, Any] | None:
        response = self._db.get_item(TableName=self.table, Key=_item({"pk": pk, "sk": sk}), ConsistentRead=True)
        item = response.get("Item")
        return _plain(item) if item else None

    def get_many(self, keys: Sequence[tuple[str, int]]) -> dict[tuple[str, int], dict[str, Any]]:
        """One consistent ``BatchGetItem`` per 100 keys; what DynamoDB leaves unprocessed
        (throttling) is asked for again with backoff, so nothing asked for is dropped."""
        found: dict[tuple[str, int], dict[str, Any]] = {}
        unique = list(dict.fromkeys(keys))
        for start in range(0, len(unique), 100):
            chunk = [_item({"pk": pk, "sk": sk}) for pk, sk in unique[start : start + 100]]
            request: dict[str, Any] = {self.table: {"Keys": chunk, "ConsistentRead": True}}
            attempt = 0
            while request:
                response = self._db.batch_get_item(RequestItems=request)
                for item in (response.get("Responses") or {}).get(self.table) or []:
                    plain = _plain(item)
                    found[(str(plain["pk"]), int(plain["sk"]))] = plain
                request = response.get("UnprocessedKeys") or {}
                if request:
                    attempt += 1
                    if attempt > UNPROCESSED_ATTEMPTS:
                        raise _throttled(f"{self.table}: BatchGetItem left keys unprocessed {attempt - 1} times")
                    time.sleep(random.uniform(0, min(1.0, 0.02 * 2**attempt)))
        return found

    def scan_items(self) -> Iterator[dict[str, Any]]:
        start = None
        while True:
            kwargs: dict[str, Any] = {"TableName": self.table}
            if start:
                kwargs["ExclusiveStartKey"] = start
            response = self._db.scan(**kwargs)
            for item in response.get("Items") or []:
                yield _plain(item)
            start = response.get("LastEvaluatedKey")
            if not start:
                return

    def streams(self, prefix: str = "") -> list[str]:
        return sorted({str(i["pk"]) for i in self.scan_items() if "type" in i and str(i["pk"]).startswith(prefix)})

    def all_events(self) -> list[Envelope]:
        envelopes = [from_record(i) for i in self.scan_items() if "type" in i]
        return sorted(envelopes, key=lambda e: (e.meta.occurred_at, e.stream_id, e.meta.version))

    # --- the write ---------------------------------------------------------------

    def commit(
        self,
        plan: Plan,
        *,
        dedupe_key: str,
        correlation_id: str,
        causation_id: str | None = None,
        source: str | None = None,
    ) -> Commit:
        """Append ``plan``'s events and the dedupe item in one transaction.

        Returns the stored events with ``duplicate=True`` when ``dedupe_key`` was
        already committed (a retried delivery), raises :class:`StreamConflict`
        when another writer took a version first. The plan's ``expected_versions`` pin a
        stream's first new event to the version after the one the decision read, so
        a decision that depends on how long a stream is (a quota) cannot overshoot.
        """
        # no read of the dedupe item first: its conditional put in the transaction is the
        # check, and only a refused commit (a retried delivery, a conflict) reads it
        batch = plan_commit(
            plan,
            last_version=self.last_version,
            dedupe_key=dedupe_key,
            correlation_id=correlation_id,
            causation_id=causation_id,
            source=source,
        )
        records = batch.records
        items: list[dict[str, Any]] = [
            {"Put": {"TableName": self.table, "Item": _item(r), "ConditionExpression": "attribute_not_exists(pk)"}}
            for r in records
        ]
        # the dedupe item may replace a claim of its key (the send it guarded is this outcome)
        dedupe_condition = f"attribute_not_exists(pk) OR attribute_exists({CLAIM_ATTRIBUTE})"
        items.append({"Put": {"TableName": self.table, "Item": _item(batch.dedupe), "ConditionExpression": dedupe_condition}})
        items.extend({"Put": {"TableName": self.table, "Item": _item(i)}} for i in batch.overwrites)
        try:
            self._db.transact_write_items(TransactItems=items)
        except ClientError as exc:
            if error_code(exc) != "TransactionCanceledException":
                raise
            reasons = [r.get("Code") for r in exc.response.get("CancellationReasons") or []]
            if len(reasons) > len(records) and reasons[len(records)] == "ConditionalCheckFailed":
                stored = self.get(dedupe_key)
                if stored is not None:
                    return stored_commit(stored, self.get)
            if "ConditionalCheckFailed" in reasons:
                raise StreamConflict(f"a concurrent writer appended first ({reasons})") from exc
            raise
        return Commit(batch.envelopes, duplicate=False)

    # --- claims ------------------------------------------------------------------

    def claim(self, key: str, token: str) -> ClaimTaken | None:
        try:
            self._db.put_item(
                TableName=self.table,
                Item=_item(claim_item(key, token)),
                ConditionExpression="attribute_not_exists(pk)",
                # the refusal carries the item there: no second request to tell what holds the key
                ReturnValuesOnConditionCheckFailure="ALL_OLD",
            )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise
            there: dict[str, Any] | None = exc.response.get("Item")  # type: ignore[assignment]
            found = _plain(there) if there else self.get(key)
            # deleted between the refusal and the read: a released claim, free again
            return claim_taken(found) if found is not None else self.claim(key, token)
        return None

    def keep_outcome(self, key: str, token: str, outcome: str) -> None:
        try:
            self._db.update_item(
                TableName=self.table,
                Key=_item({"pk": key, "sk": 0}),
                UpdateExpression="SET #outcome = :outcome",
                ConditionExpression="#claimed = :token",
                ExpressionAttributeNames={"#outcome": CLAIM_OUTCOME_ATTRIBUTE, "#claimed": CLAIM_ATTRIBUTE},
                ExpressionAttributeValues={":outcome": {"S": outcome}, ":token": {"S": token}},
            )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise  # not ours any more (committed, or taken over): nothing to keep

    def release(self, key: str, token: str) -> None:
        try:
            self._db.delete_item(
                TableName=self.table,
                Key=_item({"pk": key, "sk": 0}),
                ConditionExpression="#claimed = :token",
                ExpressionAttributeNames={"#claimed": CLAIM_ATTRIBUTE},
                ExpressionAttributeValues={":token": {"S": token}},
            )
        except ClientError as exc:
            if error_code(exc) != "ConditionalCheckFailedException":
                raise  # not ours any more: nothing to drop

    def put_raw_items(self, items: list[dict[str, Any]]) -> None:
        """Load items as they were dumped (the local stack's restore)."""
        for start in range(0, len(items), 25):
            chunk = [{"PutRequest": {"Item": _item(i)}} for i in items[start : start + 25]]
            pending: dict[str, Any] = {self.table: chunk}
            while pending:
                response = self._db.batch_write_item(RequestItems=pending)
                pending = response.get("UnprocessedItems") or {}
