"""SQS's model on the embedded engine: at-least-once, visibility timeout, receive
count, redrive to a dead-letter queue, backoff.

A message is a row of ``queue_messages``; receiving one leases it (a fresh receipt
handle, ``visible_at`` moved past the visibility timeout, the receiving process's
:func:`owner_token`). Three things differ from SQS on purpose, each said where it
happens:

- a lease held by a process that has died (``kill -9``, or a command that ended) is
  released at once: the next command gets the message without waiting out the
  visibility timeout, and nothing a dead command held is lost;
- ``delete`` and ``set_visibility`` with a receipt handle that is not the message's
  current one (the message was received again since, or is gone) do nothing, where
  SQS may still honour an old handle or answer ``ReceiptHandleIsInvalid``;
- visible messages come out in insertion order (SQS standard queues give no order).
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from adapters.local_engine import LocalEngine, owner_alive, owner_token
from ports import QueueSpec

MAX_VISIBILITY_SECONDS = 43_200  # SQS's limit on a visibility timeout

SCHEMA = """
CREATE TABLE IF NOT EXISTS queues (
    name TEXT PRIMARY KEY,
    dlq TEXT,
    max_receive_count INTEGER NOT NULL,
    visibility_seconds INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS queue_messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    queue TEXT NOT NULL,
    message_id TEXT NOT NULL,
    body TEXT NOT NULL,
    attributes TEXT NOT NULL DEFAULT '{}',
    sent_ms INTEGER NOT NULL,
    visible_at REAL NOT NULL,
    receive_count INTEGER NOT NULL DEFAULT 0,
    first_received_ms INTEGER,
    receipt TEXT,
    owner TEXT
);
CREATE INDEX IF NOT EXISTS queue_messages_visible ON queue_messages (queue, visible_at);
CREATE INDEX IF NOT EXISTS queue_messages_order ON queue_messages (queue, seq);
CREATE UNIQUE INDEX IF NOT EXISTS queue_messages_receipt ON queue_messages (receipt) WHERE receipt IS NOT NULL
"""


class QueueNotFound(LookupError):
    """No queue of that name (``ensure`` creates queues)."""


def name_of_arn(queue_arn: str) -> str:
    parts = queue_arn.split(":")
    if len(parts) != 6 or parts[:3] != ["arn", "aws", "sqs"] or not parts[5]:
        raise ValueError(f"not an SQS queue ARN: {queue_arn!r} (expected arn:aws:sqs:<region>:<account>:<name>)")
    return parts[5]


def _string_attributes(attributes: Mapping[str, str] | None) -> str:
    # SQS refuses an empty attribute value; the aws adapter leaves such attributes out, so do we
    return json.dumps({name: str(value) for name, value in (attributes or {}).items() if value}, sort_keys=True)


class LocalQueues:
    def __init__(
        self, engine: LocalEngine, region: str, account: str = "123456789012", *, clock: Callable[[], float] = time.time
    ) -> None:
        """``clock``: seconds since the epoch (tests move time without sleeping)."""
        self.engine, self.region, self.account, self.clock = engine, region, account, clock
        self._specs: dict[str, QueueSpec] = {}
        engine.ddl(SCHEMA)

    # --- queues ------------------------------------------------------------------------

    def ensure(self, specs: Sequence[QueueSpec]) -> None:
        """Create (or update the settings of) each queue, and each DLQ it names."""
        wanted: dict[str, QueueSpec] = {}
        for spec in specs:
            if spec.max_receive_count < 1:
                raise ValueError(f"queue {spec.name!r}: max_receive_count must be at least 1")
            wanted[spec.name] = spec
        for spec in list(wanted.values()):
            if spec.dlq is not None and spec.dlq not in wanted:
                wanted[spec.dlq] = QueueSpec(spec.dlq)
        with self.engine.write() as conn:
            conn.executemany(
                "INSERT INTO queues (name, dlq, max_receive_count, visibility_seconds) VALUES (?, ?, ?, ?) "
                "ON CONFLICT (name) DO UPDATE SET dlq = excluded.dlq, max_receive_count = excluded.max_receive_count, "
                "visibility_seconds = excluded.visibility_seconds",
                [(s.name, s.dlq, s.max_receive_count, s.visibility_seconds) for s in wanted.values()],
            )
        self._specs.update(wanted)

    def _spec(self, name: str) -> QueueSpec:
        spec = self._specs.get(name)
        if spec is None:  # another process may have created it
            row = (
                self.engine.connection()
                .execute("SELECT name, dlq, max_receive_count, visibility_seconds FROM queues WHERE name = ?", (name,))
                .fetchone()
            )
            if row is None:
                raise QueueNotFound(f"no queue named {name!r}")
            spec = self._specs[name] = QueueSpec(row[0], row[1], row[2], row[3])
        return spec

    def arn(self, name: str) -> str:
        return f"arn:aws:sqs:{self.region}:{self.account}:{name}"

    # --- sending -----------------------------------------------------------------------

    def send(self, name: str, body: str, attributes: Mapping[str, str] | None = None) -> None:
        with self.engine.write() as conn:
            self._insert(conn, [(name, body, _string_attributes(attributes))])

    def send_many(self, messages: Iterable[tuple[str, str]]) -> None:
        """Send every (queue, body) in one transaction: all of them or none."""
        with self.engine.write() as conn:
            self._insert(conn, [(name, body, "{}") for name, body in messages])

    def _insert(self, conn: sqlite3.Connection, rows: list[tuple[str, str, str]]) -> None:
        for name in {name for name, _b, _a in rows}:
            self._spec(name)
        now = self.clock()
        conn.executemany(
            "INSERT INTO queue_messages (queue, message_id, body, attributes, sent_ms, visible_at) VALUES (?, ?, ?, ?, ?, ?)",
            [(name, str(uuid.uuid4()), body, attrs, int(now * 1000), now) for name, body, attrs in rows],
        )

    # --- receiving ---------------------------------------------------------------------

    def _release_dead(self, conn: sqlite3.Connection, name: str, now: float) -> None:
        """Make the messages leased by processes that no longer run visible at once."""
        owners = [
            row[0]
            for row in conn.execute(
                "SELECT DISTINCT owner FROM queue_messages WHERE queue = ? AND visible_at > ? AND owner IS NOT NULL", (name, now)
            )
        ]
        dead = [owner for owner in owners if not owner_alive(owner)]
        for owner in dead:
            conn.execute(
                "UPDATE queue_messages SET visible_at = ?, owner = NULL WHERE queue = ? AND owner = ? AND visible_at > ?",
                (now, name, owner, now),
            )

    def receive(self, name: str, limit: int = 10, visibility: int = 30) -> list[dict[str, Any]]:
        """Lease up to ``limit`` visible messages, in one transaction. A message already
        received ``max_receive_count`` times moves to the queue's DLQ instead (SQS's redrive)."""
        if not 1 <= limit <= 10:
            raise ValueError(f"receive limit must be 1..10 (SQS's MaxNumberOfMessages), not {limit}")
        spec = self._spec(name)
        token = owner_token()
        received: list[dict[str, Any]] = []
        with self.engine.write() as conn:
            now = self.clock()
            self._release_dead(conn, name, now)
            after = 0  # never twice in one receive (a visibility of 0 leaves a leased message visible)
            while len(received) < limit:
                rows = conn.execute(
                    "SELECT seq, message_id, body, attributes, sent_ms, receive_count, first_received_ms "
                    # by insertion: the scan skips only what is in flight, never sorts the backlog
                    "FROM queue_messages INDEXED BY queue_messages_order "
                    "WHERE queue = ? AND seq > ? AND visible_at <= ? ORDER BY seq LIMIT ?",
                    (name, after, now, limit - len(received)),
                ).fetchall()
                if not rows:
                    break
                after = rows[-1]["seq"]
                for row in rows:
                    if spec.dlq is not None and row["receive_count"] >= spec.max_receive_count:
                        # the receive count is kept, as SQS keeps it when it moves a message
                        conn.execute(
                            "UPDATE queue_messages SET queue = ?, visible_at = ?, receipt = NULL, owner = NULL WHERE seq = ?",
                            (spec.dlq, now, row["seq"]),
                        )
                        continue
                    receipt = uuid.uuid4().hex
                    count = row["receive_count"] + 1
                    first = row["first_received_ms"] or int(now * 1000)
                    conn.execute(
                        "UPDATE queue_messages SET receipt = ?, owner = ?, receive_count = ?, "
                        "first_received_ms = ?, visible_at = ? WHERE seq = ?",
                        (receipt, token, count, first, now + _clamp(visibility), row["seq"]),
                    )
                    received.append(self._received(row, receipt, count, first))
        return received

    def _received(self, row: sqlite3.Row, receipt: str, count: int, first_ms: int) -> dict[str, Any]:
        message: dict[str, Any] = {
            "MessageId": row["message_id"],
            "ReceiptHandle": receipt,
            "MD5OfBody": hashlib.md5(row["body"].encode()).hexdigest(),
            "Body": row["body"],
            "Attributes": {
                "SenderId": self.account,
                "SentTimestamp": str(row["sent_ms"]),
                "ApproximateReceiveCount": str(count),
                "ApproximateFirstReceiveTimestamp": str(first_ms),
            },
        }
        attributes = json.loads(row["attributes"])
        if attributes:  # SQS leaves the key out when a message has none
            message["MessageAttributes"] = {k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()}
        return message

    def delete(self, name: str, receipt_handle: str) -> None:
        """Delete the message leased under ``receipt_handle``; a stale handle does nothing."""
        with self.engine.write() as conn:
            conn.execute("DELETE FROM queue_messages WHERE queue = ? AND receipt = ?", (name, receipt_handle))

    def set_visibility(self, name: str, receipt_handle: str, seconds: int) -> None:
        """The leased message becomes visible ``seconds`` from now; a stale handle does nothing."""
        with self.engine.write() as conn:
            conn.execute(
                "UPDATE queue_messages SET visible_at = ? WHERE queue = ? AND receipt = ?",
                (self.clock() + _clamp(seconds), name, receipt_handle),
            )

    def delay(self, queue_arn: str, receipt_handle: str, seconds: int) -> None:
        """Backoff: the failed message becomes visible again after ``seconds``."""
        self.set_visibility(name_of_arn(queue_arn), receipt_handle, seconds)

    def park(self, queue_arn: str, body: str, attributes: Mapping[str, str]) -> str:
        """Put a message in the DLQ of ``queue_arn`` with attributes saying why; the DLQ's name."""
        name = name_of_arn(queue_arn)
        dlq = self._spec(name).dlq
        if dlq is None:
            raise ValueError(f"{queue_arn} has no dead-letter queue to park a message in")
        with self.engine.write() as conn:
            self._insert(conn, [(dlq, body, _string_attributes(attributes))])
        return dlq

    # --- looking and moving ------------------------------------------------------------

    def depth(self, name: str) -> tuple[int, int]:
        """(visible, in flight) messages; a lease of a dead process counts as visible."""
        self._spec(name)
        with self.engine.write() as conn:
            now = self.clock()
            self._release_dead(conn, name, now)
            visible, in_flight = conn.execute(
                "SELECT COALESCE(SUM(visible_at <= ?), 0), COALESCE(SUM(visible_at > ?), 0) FROM queue_messages WHERE queue = ?",
                (now, now, name),
            ).fetchone()
        return int(visible), int(in_flight)

    def peek(self, name: str, limit: int = 100) -> list[dict[str, Any]]:
        """Messages of a queue (``message_id``, ``body``, ``receive_count``, ``attributes``), left in place."""
        self._spec(name)
        rows = (
            self.engine.connection()
            .execute(
                "SELECT message_id, body, attributes, receive_count FROM queue_messages WHERE queue = ? ORDER BY seq LIMIT ?",
                (name, limit),
            )
            .fetchall()
        )
        peeked = []
        for row in rows:
            try:
                body: Any = json.loads(row["body"])
            except ValueError:
                body = row["body"]
            peeked.append(
                {
                    "message_id": row["message_id"],
                    "body": body,
                    "receive_count": row["receive_count"],
                    "attributes": json.loads(row["attributes"]),
                }
            )
        return peeked

    def redrive(self, dlq: str, target: str, before: Callable[[str, dict[str, str]], None] | None = None) -> int:
        """Move every visible message of ``dlq`` to ``target``, each in its own transaction
        (with whatever ``before(body, attributes)`` writes on this engine); ``before`` stops
        the move by raising, and the messages moved until then stay moved. A moved message
        is a new one on ``target``, as SQS's redrive sends it: new id, body only, count 0."""
        self._spec(dlq)
        self._spec(target)
        if dlq == target:
            raise ValueError(f"cannot redrive {dlq!r} into itself")
        moved = 0
        while True:
            with self.engine.write() as conn:
                now = self.clock()
                self._release_dead(conn, dlq, now)
                row = conn.execute(
                    "SELECT seq, body, attributes FROM queue_messages INDEXED BY queue_messages_order "
                    "WHERE queue = ? AND visible_at <= ? ORDER BY seq LIMIT 1",
                    (dlq, now),
                ).fetchone()
                if row is None:
                    return moved
                if before is not None:
                    before(row["body"], json.loads(row["attributes"]))
                conn.execute("DELETE FROM queue_messages WHERE seq = ?", (row["seq"],))
                self._insert(conn, [(target, row["body"], "{}")])
                moved += 1


def _clamp(seconds: int) -> int:
    return max(0, min(int(seconds), MAX_VISIBILITY_SECONDS))
