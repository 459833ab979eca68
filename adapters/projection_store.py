"""The conversations tables on DynamoDB: versioned conditional writes and GSI queries."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from adapters.aws import client, error_code
from ports import IndexQuery, TableMissing, VersionConflict

__all__ = ["AwsProjections", "ProjectionTable", "VersionConflict"]

# A table with 8 GSIs can take minutes to become ACTIVE after infra creates it.
TABLE_WAIT = {"Delay": 5, "MaxAttempts": 180}

_SER = TypeSerializer()
_DES = TypeDeserializer()


def _to_dynamo(value: Any) -> Any:
    if isinstance(value, float):
        return Decimal(str(value))
    if isinstance(value, dict):
        return {k: _to_dynamo(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_to_dynamo(v) for v in value]
    return value


def _from_dynamo(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, dict):
        return {k: _from_dynamo(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_from_dynamo(v) for v in value]
    return value


def serialise(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _SER.serialize(_to_dynamo(v)) for k, v in item.items() if v is not None}


def deserialise(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _from_dynamo(_DES.deserialize(v)) for k, v in item.items()}


class ProjectionTable:
    def __init__(self, table: str, region: str, endpoint_url: str | None = None) -> None:
        self.name = self.table = table
        self._db = client("dynamodb", region, endpoint_url)

    def get(self, item_id: str) -> dict[str, Any] | None:
        response = self._db.get_item(TableName=self.table, Key={"id": {"S": item_id}}, ConsistentRead=True)
        item = response.get("Item")
        return deserialise(item) if item else None

    def put(self, item: dict[str, Any], expected_version: int | None) -> None:
        """Write ``item`` if the stored version is still ``expected_version`` (None: absent)."""
        if expected_version is None:
            condition, values = "attribute_not_exists(id)", {}
        else:
            condition, values = "version = :v", {":v": {"N": str(expected_version)}}
        kwargs: dict[str, Any] = {"TableName": self.table, "Item": serialise(item), "ConditionExpression": condition}
        if values:
            kwargs["ExpressionAttributeValues"] = values
        try:
            self._db.put_item(**kwargs)
        except ClientError as exc:
            if error_code(exc) == "ConditionalCheckFailedException":
                raise VersionConflict(item["id"]) from exc
            raise

    def query(
        self, query: IndexQuery, *, limit: int, start: dict[str, Any] | None = None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        names = {"#p": query.partition[0]}
        values: dict[str, Any] = {":p": query.partition[1]}
        condition = "#p = :p"
        if query.sort is not None:
            op, bound = query.sort
            if op not in (">=", "<="):
                raise ValueError(f"sort condition {op!r}: use >= or <=")
            condition += f" AND #s {op} :s"
            names["#s"] = query.sort_key
            values[":s"] = bound
        kwargs: dict[str, Any] = {
            "TableName": self.table,
            "IndexName": query.index,
            "KeyConditionExpression": condition,
            "ScanIndexForward": False,
            "Limit": limit,
        }
        parts = []
        for position, (attribute, op, value) in enumerate(query.filters):
            if op not in ("=", ">=", "<="):
                raise ValueError(f"filter {attribute} {op!r}: use =, >= or <=")
            names[f"#f{position}"] = attribute
            values[f":f{position}"] = value
            parts.append(f"#f{position} {op} :f{position}")
        if parts:
            kwargs["FilterExpression"] = " AND ".join(parts)
        kwargs["ExpressionAttributeNames"] = names
        kwargs["ExpressionAttributeValues"] = serialise(values)
        if start:
            kwargs["ExclusiveStartKey"] = serialise(start)
        response = self._db.query(**kwargs)
        last = response.get("LastEvaluatedKey")
        return [deserialise(i) for i in response.get("Items") or []], (deserialise(last) if last else None)

    def scan(self) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        start: dict[str, Any] | None = None
        while True:
            kwargs: dict[str, Any] = {"TableName": self.table}
            if start:
                kwargs["ExclusiveStartKey"] = start
            response = self._db.scan(**kwargs)
            items.extend(deserialise(i) for i in response.get("Items") or [])
            start = response.get("LastEvaluatedKey")
            if not start:
                return items

    def batch_put(self, items: list[dict[str, Any]]) -> int:
        """Unconditional bulk write (replay into a fresh table); returns the calls made."""
        calls = 0
        for begin in range(0, len(items), 25):
            pending: dict[str, Any] = {self.table: [{"PutRequest": {"Item": serialise(i)}} for i in items[begin : begin + 25]]}
            while pending:
                calls += 1
                pending = self._db.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
        return calls

    def empty(self) -> int:
        """Wait until the table is ACTIVE, then delete every item; -> items deleted.

        The table is infra's (CMK, PITR, deletion protection): it is emptied, never
        deleted and re-created from code.
        """
        try:
            keys = [k["AttributeName"] for k in self._db.describe_table(TableName=self.table)["Table"]["KeySchema"]]
        except self._db.exceptions.ResourceNotFoundException:
            raise TableMissing(f"table {self.table!r} does not exist; infra/modules/tables creates it (tofu apply)") from None
        self._db.get_waiter("table_exists").wait(TableName=self.table, WaiterConfig=TABLE_WAIT)
        deleted = 0
        start: dict[str, Any] | None = None
        while True:
            kwargs: dict[str, Any] = {
                "TableName": self.table,
                "ProjectionExpression": ", ".join(f"#k{i}" for i in range(len(keys))),
                "ExpressionAttributeNames": {f"#k{i}": k for i, k in enumerate(keys)},
            }
            if start:
                kwargs["ExclusiveStartKey"] = start
            page = self._db.scan(**kwargs)
            items = page.get("Items") or []
            for begin in range(0, len(items), 25):
                pending: dict[str, Any] = {self.table: [{"DeleteRequest": {"Key": item}} for item in items[begin : begin + 25]]}
                while pending:
                    pending = self._db.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
            deleted += len(items)
            start = page.get("LastEvaluatedKey")
            if not start:
                return deleted


class AwsProjections:
    def __init__(self, region: str, endpoint_url: str | None = None) -> None:
        self._where = (region, endpoint_url)

    def table(self, name: str) -> ProjectionTable:
        return ProjectionTable(name, *self._where)
