"""The conversations table: versioned conditional writes and GSI queries."""

from __future__ import annotations

import base64
import json
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

from adapters.aws import client, error_code

_SER = TypeSerializer()
_DES = TypeDeserializer()


class VersionConflict(Exception):
    """Another projector wrote this item first; read it again and catch up."""


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


def encode_token(value: Any) -> str | None:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).decode() if value else None


def decode_token(token: str | None) -> Any:
    if not token:
        return None
    try:
        return json.loads(base64.urlsafe_b64decode(token.encode()))
    except ValueError:
        raise ValueError("--next-token is not a token this command printed") from None


class ProjectionTable:
    def __init__(self, table: str, region: str, endpoint_url: str | None = None) -> None:
        self.table = table
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

    def query(self, index: str, key_condition: str, values: dict[str, Any], *, limit: int,
              start: dict[str, Any] | None = None, filter_expression: str | None = None,
              names: dict[str, str] | None = None) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        kwargs: dict[str, Any] = {
            "TableName": self.table, "IndexName": index, "KeyConditionExpression": key_condition,
            "ExpressionAttributeValues": serialise(values), "ScanIndexForward": False, "Limit": limit,
        }
        if filter_expression:
            kwargs["FilterExpression"] = filter_expression
        if names:
            kwargs["ExpressionAttributeNames"] = names
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
            pending: dict[str, Any] = {self.table: [{"PutRequest": {"Item": serialise(i)}}
                                                    for i in items[begin : begin + 25]]}
            while pending:
                calls += 1
                pending = self._db.batch_write_item(RequestItems=pending).get("UnprocessedItems") or {}
        return calls
