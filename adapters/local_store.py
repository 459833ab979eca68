"""The event store on the embedded engine, with the DynamoDB store's behaviour.

``events``: one row per event, primary key ``(stream, version)`` — a second writer of a
version fails the insert, and the whole commit rolls back (:class:`ports.StreamConflict`).
``items``: every other item under ``(pk, sk)`` with its attributes as JSON — the dedupe
item of a decision, Message-ID mappings (``msgid#``) and markers (``suppress#``, ...).
A commit is one transaction (a savepoint when it runs inside an outer write, so a
conflict undoes only the commit).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator, Sequence
from decimal import Decimal
from typing import Any, TypeGuard

from adapters.commit_plan import (
    CLAIM_ATTRIBUTE,
    CLAIM_OUTCOME_ATTRIBUTE,
    StoreKnowledge,
    claim_item,
    claim_taken,
    is_claim,
    plan_commit,
    stored_commit,
)
from adapters.local_engine import LocalEngine, owner_alive, owner_token
from events import Envelope, from_record
from ports import ClaimTaken, Commit, Plan, StreamConflict

SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    stream TEXT NOT NULL, version INTEGER NOT NULL, event_id TEXT NOT NULL, type TEXT NOT NULL,
    source TEXT NOT NULL, occurred_at TEXT NOT NULL, detail TEXT NOT NULL,
    PRIMARY KEY (stream, version)
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS events_by_time ON events (occurred_at, stream, version);
CREATE TABLE IF NOT EXISTS items (
    pk TEXT NOT NULL, sk INTEGER NOT NULL, body TEXT NOT NULL, PRIMARY KEY (pk, sk)
) WITHOUT ROWID
"""
_EVENT_COLUMNS = "stream, version, event_id, type, source, occurred_at, detail"
_RECORD_KEYS = ("pk", "sk", "event_id", "type", "source", "occurred_at", "detail")
# the reads that must stay index scans on a year of events (a contract test checks the plans)
ALL_EVENTS_SQL = f"SELECT {_EVENT_COLUMNS} FROM events ORDER BY occurred_at, stream, version"
STREAMS_SQL = "SELECT DISTINCT stream FROM events WHERE stream >= ? AND stream < ? ORDER BY stream"


# the process that holds a claim (``owner_token``): a dead one's claim is taken over
_HOLDER = "holder"


def _abandoned(item: dict[str, Any]) -> bool:
    """A claim whose holder process died: nothing will ever complete it."""
    holder = str(item.get(_HOLDER) or "")
    return is_claim(item) and bool(holder) and not owner_alive(holder)


def _held_by(item: dict[str, Any] | None, token: str) -> TypeGuard[dict[str, Any]]:
    return item is not None and is_claim(item) and item.get(CLAIM_ATTRIBUTE) == token


def _json_default(value: Any) -> Any:
    if isinstance(value, Decimal):  # items scanned from DynamoDB carry numbers as Decimal
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, set | frozenset):
        return sorted(value)
    raise TypeError(f"{type(value).__name__} is not storable in an event-store item")


def _record(row: sqlite3.Row) -> dict[str, Any]:
    return {
        "pk": row["stream"],
        "sk": row["version"],
        "event_id": row["event_id"],
        "type": row["type"],
        "source": row["source"],
        "occurred_at": row["occurred_at"],
        "detail": row["detail"],
    }


def _event_row(record: dict[str, Any]) -> tuple[Any, ...]:
    return tuple(int(record[k]) if k == "sk" else str(record[k]) for k in _RECORD_KEYS)


def _item_row(item: dict[str, Any]) -> tuple[str, int, str]:
    body = {k: v for k, v in item.items() if k not in ("pk", "sk") and v is not None}
    return str(item["pk"]), int(item["sk"]), json.dumps(body, default=_json_default, sort_keys=True)


def _prefix_end(prefix: str) -> str:
    """The least string greater than every string starting with ``prefix``."""
    return prefix[:-1] + chr(ord(prefix[-1]) + 1)


class LocalEventStore(StoreKnowledge):
    def __init__(self, engine: LocalEngine) -> None:
        self._engine = engine
        engine.ddl(SCHEMA)

    def _read(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        return self._engine.connection().execute(sql, params).fetchall()

    # --- reads -------------------------------------------------------------------

    def last_version(self, stream_id: str) -> int:
        rows = self._read("SELECT MAX(version) FROM events WHERE stream = ?", (stream_id,))
        return int(rows[0][0] or 0)

    def read(self, stream_id: str, after_version: int = 0) -> list[Envelope]:
        rows = self._read(
            f"SELECT {_EVENT_COLUMNS} FROM events WHERE stream = ? AND version > ? ORDER BY version", (stream_id, after_version)
        )
        return [from_record(_record(r)) for r in rows]

    def get(self, pk: str, sk: int = 0) -> dict[str, Any] | None:
        rows = self._read(f"SELECT {_EVENT_COLUMNS} FROM events WHERE stream = ? AND version = ?", (pk, sk))
        if rows:
            return _record(rows[0])
        rows = self._read("SELECT body FROM items WHERE pk = ? AND sk = ?", (pk, sk))
        return {"pk": pk, "sk": sk, **json.loads(rows[0]["body"])} if rows else None

    def get_many(self, keys: Sequence[tuple[str, int]]) -> dict[tuple[str, int], dict[str, Any]]:
        # each read on its own, as BatchGetItem's are (consistent per item, not together)
        found = {(pk, sk): self.get(pk, sk) for pk, sk in dict.fromkeys(keys)}
        return {k: v for k, v in found.items() if v is not None}

    def scan_items(self) -> Iterator[dict[str, Any]]:
        conn = self._engine.connection()
        for row in conn.execute(f"SELECT {_EVENT_COLUMNS} FROM events ORDER BY stream, version"):
            yield _record(row)
        for row in conn.execute("SELECT pk, sk, body FROM items ORDER BY pk, sk"):
            yield {"pk": row["pk"], "sk": row["sk"], **json.loads(row["body"])}

    def streams(self, prefix: str = "") -> list[str]:
        if not prefix:
            return [r[0] for r in self._read("SELECT DISTINCT stream FROM events ORDER BY stream")]
        rows = self._read(STREAMS_SQL, (prefix, _prefix_end(prefix)))
        return [r[0] for r in rows]

    def all_events(self) -> list[Envelope]:
        rows = self._read(ALL_EVENTS_SQL)
        return [from_record(_record(r)) for r in rows]

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
        """See :meth:`ports.EventStore.commit`. Reads and writes in one transaction, so
        only a stream that must be new or a pinned version can conflict."""
        with self._engine.write() as conn:
            conn.execute("SAVEPOINT event_store_commit")
            try:
                result = self._commit(
                    conn,
                    plan,
                    dedupe_key=dedupe_key,
                    correlation_id=correlation_id,
                    causation_id=causation_id,
                    source=source,
                )
            except BaseException:
                conn.execute("ROLLBACK TO event_store_commit")
                conn.execute("RELEASE event_store_commit")
                raise
            conn.execute("RELEASE event_store_commit")
            return result

    def _commit(self, conn: sqlite3.Connection, plan: Plan, *, dedupe_key: str, **options: Any) -> Commit:
        stored = self.get(dedupe_key)
        if stored is not None and not is_claim(stored):
            return stored_commit(stored, self.get)
        batch = plan_commit(plan, last_version=self.last_version, dedupe_key=dedupe_key, **options)
        try:
            conn.executemany(
                f"INSERT INTO events ({_EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)", [_event_row(r) for r in batch.records]
            )
        except sqlite3.IntegrityError as exc:
            raise StreamConflict(f"a concurrent writer appended first ({exc})") from exc
        # the dedupe item replaces a claim of its key (the send it guarded is this outcome)
        insert = "INSERT OR REPLACE" if stored is not None else "INSERT"
        conn.execute(f"{insert} INTO items (pk, sk, body) VALUES (?, ?, ?)", _item_row(batch.dedupe))
        conn.executemany("INSERT OR REPLACE INTO items (pk, sk, body) VALUES (?, ?, ?)", [_item_row(i) for i in batch.overwrites])
        return Commit(batch.envelopes, duplicate=False)

    # --- claims ------------------------------------------------------------------

    def claim(self, key: str, token: str) -> ClaimTaken | None:
        with self._engine.write() as conn:
            there = self.get(key)
            if there is not None and not _abandoned(there):
                return claim_taken(there)
            # absent, or a claim of a process that died: nothing will ever complete it
            conn.execute(
                "INSERT OR REPLACE INTO items (pk, sk, body) VALUES (?, ?, ?)",
                _item_row(claim_item(key, token, **{_HOLDER: owner_token()})),
            )
            return None

    def keep_outcome(self, key: str, token: str, outcome: str) -> None:
        with self._engine.write() as conn:
            there = self.get(key)
            if _held_by(there, token):
                conn.execute(
                    "UPDATE items SET body = ? WHERE pk = ? AND sk = 0",
                    (_item_row({**there, CLAIM_OUTCOME_ATTRIBUTE: outcome})[2], key),
                )

    def release(self, key: str, token: str) -> None:
        with self._engine.write() as conn:
            if _held_by(self.get(key), token):
                conn.execute("DELETE FROM items WHERE pk = ? AND sk = 0", (key,))

    def put_raw_items(self, items: list[dict[str, Any]]) -> None:
        """Load items as :meth:`scan_items` (or the DynamoDB store's) gave them: the
        import of an older state folder's ``events.jsonl``. A key already there is
        overwritten, as ``BatchWriteItem`` does."""
        with self._engine.write() as conn:
            conn.executemany(
                f"INSERT OR REPLACE INTO events ({_EVENT_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [_event_row(i) for i in items if "type" in i],
            )
            conn.executemany(
                "INSERT OR REPLACE INTO items (pk, sk, body) VALUES (?, ?, ?)", [_item_row(i) for i in items if "type" not in i]
            )
