"""Counting AWS API calls and the billable units they consume.

Every boto3/botocore client call goes through ``botocore.client.BaseClient.
_make_api_call`` (once per logical call, retries included inside), so patching it
counts the calls of every client: the project's (``adapters.aws.client``) and the
ones libraries make on their own (Powertools parameters). The patch
sees the parameters and the parsed response, which is what billing needs: entry
sizes for PutEvents, item sizes for DynamoDB request units, recipients for SES.

A call belongs to the Lambda function being run when it is made (the benchmark
wraps every handler); a call made outside any handler is the local harness's
(the runner polling queues, the stand-in for SES's S3 action) and is listed apart.

DynamoDB request units follow the on-demand rules: a write is 1 WRU per started
KB of the larger of the old and new item (2 for a transactional write), plus the
same for each GSI whose key the item carries (2 writes when the index key changes:
delete + put); a read is 1 RRU per started 4 KB (strongly consistent), half for an
eventually consistent one, 2 per 4 KB transactional, summed over the items a
Query or Scan returns (a ``ProjectionExpression`` makes this an underestimate).
Old item sizes come from what the run itself wrote or read; ``UpdateItem`` costs
1 WRU (+1 per GSI) when the old item is not known.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import botocore.client
from botocore.exceptions import ClientError

KB = 1024
CHUNK_64K = 64 * KB
GB = 1024**3
HARNESS = "(local harness)"

_S3_PUT_TIER = {
    "PutObject",
    "CopyObject",
    "PostObject",
    "ListObjects",
    "ListObjectsV2",
    "ListObjectVersions",
    "ListBuckets",
    "CreateMultipartUpload",
    "UploadPart",
    "UploadPartCopy",
    "CompleteMultipartUpload",
    "CreateBucket",
    "PutBucketNotificationConfiguration",
}
_S3_FREE = {"DeleteObject", "DeleteObjects", "AbortMultipartUpload"}


def _n_size(text: str) -> int:
    digits = text.lstrip("-").replace(".", "").lstrip("0") or "0"
    return (len(digits) + 1) // 2 + 1


def attribute_size(value: dict[str, Any]) -> int:
    """Bytes of one DynamoDB attribute value in the low-level ``{"S": ...}`` form."""
    ((kind, inner),) = value.items()
    if kind == "S":
        return len(str(inner).encode())
    if kind == "N":
        return _n_size(str(inner))
    if kind == "B":
        return len(inner)
    if kind in ("BOOL", "NULL"):
        return 1
    if kind == "SS":
        return sum(len(s.encode()) for s in inner)
    if kind == "NS":
        return sum(_n_size(n) for n in inner)
    if kind == "BS":
        return sum(len(b) for b in inner)
    if kind == "L":
        return 3 + sum(1 + attribute_size(v) for v in inner)
    if kind == "M":
        return 3 + sum(1 + len(k.encode()) + attribute_size(v) for k, v in inner.items())
    return 0


def item_size(item: dict[str, Any]) -> int:
    return sum(len(name.encode()) + attribute_size(value) for name, value in item.items())


def _units(size: int, block: int) -> int:
    return max(1, math.ceil(size / block))


@dataclass(frozen=True)
class TableShape:
    keys: tuple[str, ...]
    indexes: tuple[tuple[str, ...], ...]  # each GSI's key attribute names


@dataclass
class Tally:
    """Calls and billable units of one unit of work (one mail, one replay)."""

    name: str
    size: int = 0
    outcome: str = ""
    calls: Counter[tuple[str, str, str]] = field(default_factory=Counter)  # (function, service, operation)
    units: defaultdict[str, float] = field(default_factory=lambda: defaultdict(float))  # see bench.end_to_end
    lambda_ms: Counter[str] = field(default_factory=Counter)
    invocations: Counter[str] = field(default_factory=Counter)
    unpriced: Counter[str] = field(default_factory=Counter)
    failed: Counter[tuple[str, str, str]] = field(default_factory=Counter)  # (function, service, operation: code)
    write_units: defaultdict[tuple[str, str], float] = field(default_factory=lambda: defaultdict(float))  # by (function, table)


class ApiCounter:
    def __init__(
        self,
        tables: dict[str, TableShape] | None = None,
        *,
        track_items: bool = True,
        memory_mb: Callable[[str], int] | None = None,
        price_harness: bool = False,
    ) -> None:
        self.tables = tables or {}
        self.price_harness = price_harness  # True: calls outside handlers are priced too (the replay)
        self.track_items = track_items
        self.memory_mb = memory_mb or (lambda _function: 512)
        self.function: str | None = None
        self.tally = Tally("(none)")
        self._lock = threading.RLock()
        self._items: dict[tuple[str, str], int] = {}  # (table, key) -> size
        self._index_keys: dict[tuple[str, str], dict[tuple[str, ...], str]] = {}
        self._original: Any = None

    # --- installation --------------------------------------------------------------

    def install(self) -> None:
        original = botocore.client.BaseClient._make_api_call  # type: ignore[attr-defined]
        self._original = original
        counter = self

        def counted(client: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
            response: Any = None
            failed = False
            try:
                response = original(client, operation_name, api_params)
                return response
            except ClientError as exc:
                failed, response = True, exc.response
                raise
            finally:
                counter.record(client.meta.service_model.service_name, operation_name, api_params, response, failed)

        botocore.client.BaseClient._make_api_call = counted  # type: ignore[attr-defined]

    def uninstall(self) -> None:
        if self._original is not None:
            botocore.client.BaseClient._make_api_call = self._original  # type: ignore[attr-defined]
            self._original = None

    @contextmanager
    def installed(self) -> Iterator[ApiCounter]:
        self.install()
        try:
            yield self
        finally:
            self.uninstall()

    @contextmanager
    def measuring(self, tally: Tally) -> Iterator[Tally]:
        previous, self.tally = self.tally, tally
        try:
            yield tally
        finally:
            self.tally = previous

    @contextmanager
    def outside_handlers(self) -> Iterator[None]:
        """Calls made here are AWS's own work that the local stack does in a handler's
        process (in-process rule matching on moto is EventBridge's rules): harness calls."""
        previous, self.function = self.function, None
        try:
            yield
        finally:
            self.function = previous

    def invoke(self, function: str, handler: Callable[[Any, Any], Any], event: Any, context: Any) -> Any:
        """Run one Lambda invocation, attributing its calls and its billed duration."""
        previous, self.function = self.function, function
        started = time.perf_counter()
        try:
            return handler(event, context)
        finally:
            elapsed_ms = max(1, math.ceil((time.perf_counter() - started) * 1000))  # billed per started ms
            self.function = previous
            with self._lock:
                self.tally.invocations[function] += 1
                self.tally.lambda_ms[function] += elapsed_ms
                self.tally.units["lambda_request"] += 1
                self.tally.units["lambda_gb_second_arm64"] += elapsed_ms / 1000 * self.memory_mb(function) / 1024

    # --- recording -----------------------------------------------------------------

    def record(self, service: str, operation: str, params: dict[str, Any], response: Any, failed: bool) -> None:
        with self._lock:
            function = self.function or HARNESS
            self.tally.calls[(function, service, operation)] += 1
            if failed:
                code = str(((response or {}).get("Error") or {}).get("Code", "error"))
                self.tally.failed[(function, service, f"{operation}: {code}")] += 1
            handler = getattr(self, f"_{service.replace('-', '_')}", None)
            if function == HARNESS and not self.price_harness:
                self._harness(service, operation, params, response or {})
            elif handler is not None:
                before = self.tally.units["dynamodb_wru"]
                handler(operation, params, response or {}, failed)
                if service == "dynamodb" and self.tally.units["dynamodb_wru"] != before:
                    self.tally.write_units[(function, _tables_of(params))] += self.tally.units["dynamodb_wru"] - before
            else:
                self.tally.unpriced[f"{service}.{operation}"] += 1

    def _harness(self, service: str, operation: str, params: dict[str, Any], response: dict[str, Any]) -> None:
        """Stand-ins for what AWS does between our functions, billed to the account."""
        units = self.tally.units
        if service == "s3" and operation == "PutObject" and str(params.get("Key", "")).startswith("inbox/"):
            # SES's S3 receipt action writing the raw mail into our bucket
            units["s3_put"] += 1
            self.tally.calls[("SES receipt action (modelled)", "s3", "PutObject")] += 1
        if service == "sqs" and operation == "ReceiveMessage" and response.get("Messages"):
            messages = response["Messages"]
            # EventBridge delivered each message with one SendMessage (per 64 KB chunk) ...
            for message in messages:
                units["sqs_request"] += _units(len(str(message.get("Body", "")).encode()), CHUNK_64K)
            self.tally.calls[("EventBridge target (modelled)", "sqs", "SendMessage")] += len(messages)
            # ... and the Lambda event source mapping received the batch and deleted it
            units["sqs_request"] += 2
            self.tally.calls[("Lambda event source mapping (modelled)", "sqs", "ReceiveMessage")] += 1
            self.tally.calls[("Lambda event source mapping (modelled)", "sqs", "DeleteMessageBatch")] += 1

    # services -------------------------------------------------------------------------

    def _s3(self, operation: str, params: dict[str, Any], response: dict[str, Any], failed: bool) -> None:
        if operation in _S3_FREE:
            return
        self.tally.units["s3_put" if operation in _S3_PUT_TIER else "s3_get"] += 1

    def _events(self, operation: str, params: dict[str, Any], response: dict[str, Any], failed: bool) -> None:
        if operation != "PutEvents":
            self.tally.unpriced[f"events.{operation}"] += 1
            return
        for entry in params.get("Entries") or []:
            size = sum(len(str(entry.get(k) or "").encode()) for k in ("Source", "DetailType", "Detail"))
            size += sum(len(r.encode()) for r in entry.get("Resources") or []) + (14 if entry.get("Time") else 0)
            self.tally.units["eventbridge_put"] += _units(size, CHUNK_64K)
            self.tally.units["eventbridge_archive_gb"] += size / GB

    def _sqs(self, operation: str, params: dict[str, Any], response: dict[str, Any], failed: bool) -> None:
        payload = 0
        if operation == "SendMessage":
            payload = len(str(params.get("MessageBody", "")).encode())
        elif operation == "SendMessageBatch":
            payload = sum(len(str(e.get("MessageBody", "")).encode()) for e in params.get("Entries") or [])
        elif operation == "ReceiveMessage":
            payload = sum(len(str(m.get("Body", "")).encode()) for m in response.get("Messages") or [])
        self.tally.units["sqs_request"] += _units(payload, CHUNK_64K)

    def _ses(self, operation: str, params: dict[str, Any], response: dict[str, Any], failed: bool) -> None:
        if operation in ("SendRawEmail", "SendEmail", "SendTemplatedEmail"):
            recipients = len(params.get("Destinations") or []) or 1
            if "Destination" in params:
                d = params["Destination"]
                recipients = sum(len(d.get(k) or []) for k in ("ToAddresses", "CcAddresses", "BccAddresses")) or 1
            raw = (params.get("RawMessage") or {}).get("Data") or (params.get("Content") or {}).get("Raw", {}).get("Data") or b""
            self.tally.units["ses_outbound_mail"] += recipients
            self.tally.units["ses_outbound_data_gb"] += len(raw) / GB
        else:
            self.tally.unpriced[f"ses.{operation}"] += 1

    _sesv2 = _ses

    def _ssm(self, operation: str, params: dict[str, Any], response: dict[str, Any], failed: bool) -> None:
        if operation in ("GetParameter", "GetParameters", "GetParametersByPath"):
            self.tally.units["ssm_standard"] += 1
        else:
            self.tally.unpriced[f"ssm.{operation}"] += 1

    # DynamoDB ---------------------------------------------------------------------------

    def _key_of(self, table: str, item: dict[str, Any]) -> str:
        shape = self.tables.get(table)
        names = shape.keys if shape else tuple(sorted(item))[:2]
        return json.dumps([item.get(n) for n in names], sort_keys=True, default=str)

    def _seen(self, table: str, item: dict[str, Any]) -> None:
        if self.track_items:
            key = self._key_of(table, item)
            self._items[(table, key)] = item_size(item)
            shape = self.tables.get(table)
            if shape and shape.indexes:
                self._index_keys[(table, key)] = {
                    idx: json.dumps([item.get(n) for n in idx], sort_keys=True, default=str)
                    for idx in shape.indexes
                    if all(n in item for n in idx)
                }

    def _write_units(self, table: str, new: dict[str, Any] | None, key_item: dict[str, Any], factor: int, failed: bool) -> float:
        """WRU of one put (``new``) or delete (``new`` None) on ``table``, GSIs included."""
        key = self._key_of(table, key_item)
        old_size = self._items.get((table, key))
        new_size = item_size(new) if new is not None else 0
        units = float(factor * _units(max(old_size or 0, new_size), KB))
        shape = self.tables.get(table)
        if failed or not shape:
            return units
        old_keys = self._index_keys.get((table, key), {}) if old_size is not None else {}
        for index in shape.indexes:
            new_key = (
                json.dumps([new.get(n) for n in index], sort_keys=True, default=str)
                if new is not None and all(n in new for n in index)
                else None
            )
            old_key = old_keys.get(index)
            if new_key and old_key:
                units += (
                    _units(max(old_size or 0, new_size), KB)
                    if new_key == old_key
                    else _units(old_size or 0, KB) + _units(new_size, KB)
                )
            elif new_key:
                units += _units(new_size, KB)
            elif old_key:
                units += _units(old_size or 0, KB)
        if self.track_items:
            if new is not None:
                self._seen(table, new)
            else:
                self._items.pop((table, key), None)
                self._index_keys.pop((table, key), None)
        return units

    def _read_units(self, items: list[dict[str, Any]], consistent: bool, factor: float = 1.0) -> float:
        units = _units(sum(item_size(i) for i in items), 4 * KB)
        return units * factor * (1.0 if consistent else 0.5)

    def _dynamodb(self, operation: str, params: dict[str, Any], response: dict[str, Any], failed: bool) -> None:
        units = self.tally.units
        table = str(params.get("TableName", ""))
        if operation == "PutItem":
            units["dynamodb_wru"] += self._write_units(table, params["Item"], params["Item"], 1, failed)
        elif operation == "DeleteItem":
            units["dynamodb_wru"] += self._write_units(table, None, params["Key"], 1, failed)
        elif operation == "UpdateItem":
            key = self._key_of(table, params["Key"])
            old = self._items.get((table, key))
            shape = self.tables.get(table)
            units["dynamodb_wru"] += _units(old or 0, KB) + (len(shape.indexes) if shape and not failed else 0)
        elif operation == "BatchWriteItem":
            for name, requests in (params.get("RequestItems") or {}).items():
                for request in requests:
                    if "PutRequest" in request:
                        item = request["PutRequest"]["Item"]
                        units["dynamodb_wru"] += self._write_units(name, item, item, 1, failed)
                    elif "DeleteRequest" in request:
                        units["dynamodb_wru"] += self._write_units(name, None, request["DeleteRequest"]["Key"], 1, failed)
        elif operation == "TransactWriteItems":
            for entry in params.get("TransactItems") or []:
                ((kind, spec),) = entry.items()
                name = str(spec.get("TableName", ""))
                if kind == "Put":
                    units["dynamodb_wru"] += self._write_units(name, spec["Item"], spec["Item"], 2, failed)
                elif kind == "Delete":
                    units["dynamodb_wru"] += self._write_units(name, None, spec["Key"], 2, failed)
                else:  # Update, ConditionCheck
                    units["dynamodb_wru"] += 2 * _units(self._items.get((name, self._key_of(name, spec["Key"]))) or 0, KB)
        elif operation == "GetItem":
            item = response.get("Item")
            units["dynamodb_rru"] += self._read_units([item] if item else [], bool(params.get("ConsistentRead")))
            if item:
                self._seen(table, item)
        elif operation == "BatchGetItem":
            for name, found in (response.get("Responses") or {}).items():
                consistent = bool((params.get("RequestItems") or {}).get(name, {}).get("ConsistentRead"))
                for item in found:
                    units["dynamodb_rru"] += self._read_units([item], consistent)
        elif operation in ("Query", "Scan"):
            items = response.get("Items") or []
            units["dynamodb_rru"] += self._read_units(items, bool(params.get("ConsistentRead")))
            shape = self.tables.get(table)
            if shape and shape.indexes and "IndexName" not in params and not params.get("ProjectionExpression"):
                for item in items:
                    self._seen(table, item)
        elif operation == "TransactGetItems":
            for found in response.get("Responses") or []:
                units["dynamodb_rru"] += self._read_units([found["Item"]] if found.get("Item") else [], True, 2.0)
        else:
            self.tally.unpriced[f"dynamodb.{operation}"] += 1


def table_shapes(region: str) -> dict[str, TableShape]:
    """Key and GSI attribute names of every table (call before installing a counter)."""
    import boto3

    db = boto3.client("dynamodb", region_name=region)
    shapes = {}
    for name in db.list_tables().get("TableNames") or []:
        description = db.describe_table(TableName=name)["Table"]
        keys = tuple(k["AttributeName"] for k in description["KeySchema"])
        indexes = tuple(
            tuple(k["AttributeName"] for k in gsi["KeySchema"]) for gsi in description.get("GlobalSecondaryIndexes") or []
        )
        shapes[name] = TableShape(keys, indexes)
    return shapes


def _tables_of(params: dict[str, Any]) -> str:
    """The table (or tables, joined) a DynamoDB write names."""
    names = {str(params["TableName"])} if params.get("TableName") else set()
    names |= set(params.get("RequestItems") or {})
    for entry in params.get("TransactItems") or []:
        names |= {str(spec.get("TableName", "")) for spec in entry.values()}
    return "+".join(sorted(names)) or "?"


def merge(tallies: list[Tally]) -> dict[str, Any]:
    """Sum of several tallies, as plain dicts."""
    calls: dict[str, dict[str, dict[str, int]]] = defaultdict(lambda: defaultdict(dict))
    units: defaultdict[str, float] = defaultdict(float)
    lambda_ms: Counter[str] = Counter()
    invocations: Counter[str] = Counter()
    unpriced: Counter[str] = Counter()
    failed: dict[str, dict[str, int]] = defaultdict(dict)
    write_units: dict[str, dict[str, float]] = defaultdict(dict)
    for tally in tallies:
        for (function, table_name), wru in tally.write_units.items():
            write_units[function][table_name] = write_units[function].get(table_name, 0.0) + wru
        for (function, service, what), n in tally.failed.items():
            failed[function][f"{service}.{what}"] = failed[function].get(f"{service}.{what}", 0) + n
        for (function, service, operation), n in tally.calls.items():
            calls[function][service][operation] = calls[function][service].get(operation, 0) + n
        for key, value in tally.units.items():
            units[key] += value
        lambda_ms.update(tally.lambda_ms)
        invocations.update(tally.invocations)
        unpriced.update(tally.unpriced)
    return {
        "calls": {f: {s: dict(o) for s, o in by.items()} for f, by in calls.items()},
        "units": dict(units),
        "lambda_ms": dict(lambda_ms),
        "invocations": dict(invocations),
        "unpriced": dict(unpriced),
        "failed": {f: dict(v) for f, v in failed.items()},
        "write_units": {f: dict(v) for f, v in write_units.items()},
    }
