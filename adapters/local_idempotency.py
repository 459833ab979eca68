"""Powertools idempotency records on the embedded engine.

The conditions are the DynamoDB layer's (``DynamoDBPersistenceLayer._put_record`` of
the installed Powertools), checked and written in one ``BEGIN IMMEDIATE``
transaction: a record may be (re)written when absent, when expired, or when it is
IN_PROGRESS with an in-progress expiry that has passed. One more, local only: an
IN_PROGRESS record whose owner process has died (``kill -9``) is taken over, since
nothing will ever complete it. Callers whose work has an effect outside (a send)
make that effect idempotent on the same key (:class:`adapters.local_mailer.LocalOutbox`),
so the takeover finds what was done instead of doing it twice.
"""

from __future__ import annotations

import datetime as dt
import sqlite3

from aws_lambda_powertools.utilities.idempotency import BasePersistenceLayer
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyItemAlreadyExistsError,
    IdempotencyItemNotFoundError,
)
from aws_lambda_powertools.utilities.idempotency.persistence.datarecord import STATUS_CONSTANTS, DataRecord

from adapters.local_engine import LocalEngine, owner_alive, owner_token

SCHEMA = """
CREATE TABLE IF NOT EXISTS idempotency (
    id TEXT PRIMARY KEY,
    status TEXT NOT NULL,
    expiration INTEGER NOT NULL,
    in_progress_expiration INTEGER,
    data TEXT,
    validation TEXT,
    owner TEXT
)
"""


class LocalIdempotencyStore(BasePersistenceLayer):
    def __init__(self, engine: LocalEngine) -> None:
        super().__init__()  # type: ignore[no-untyped-call]  # Powertools leaves it unannotated
        self.engine = engine
        engine.ddl(SCHEMA)

    @staticmethod
    def _record(row: sqlite3.Row) -> DataRecord:
        return DataRecord(
            idempotency_key=row["id"],
            status=row["status"],
            expiry_timestamp=row["expiration"],
            in_progress_expiry_timestamp=row["in_progress_expiration"],
            response_data=row["data"] or "",
            payload_hash=row["validation"] or "",
        )

    def _get_record(self, idempotency_key: str) -> DataRecord:
        row = self.engine.connection().execute("SELECT * FROM idempotency WHERE id = ?", (idempotency_key,)).fetchone()
        if row is None:
            raise IdempotencyItemNotFoundError
        return self._record(row)

    def _put_record(self, data_record: DataRecord) -> None:
        now = dt.datetime.now()
        now_s, now_ms = int(now.timestamp()), int(now.timestamp() * 1000)
        with self.engine.write() as conn:
            row = conn.execute("SELECT * FROM idempotency WHERE id = ?", (data_record.idempotency_key,)).fetchone()
            if row is not None and not self._replaceable(row, now_s, now_ms):
                old = self._record(row)
                # as the DynamoDB layer does with ReturnValuesOnConditionCheckFailure
                self._validate_payload(data_payload=data_record, stored_data_record=old)
                self._save_to_cache(data_record=old)
                raise IdempotencyItemAlreadyExistsError(old_data_record=old)
            validation = data_record.payload_hash if self.payload_validation_enabled and data_record.payload_hash else None
            conn.execute(
                "INSERT OR REPLACE INTO idempotency (id, status, expiration, in_progress_expiration, data, "
                "validation, owner) VALUES (?, ?, ?, ?, NULL, ?, ?)",
                (
                    data_record.idempotency_key,
                    data_record.status,
                    data_record.expiry_timestamp,
                    data_record.in_progress_expiry_timestamp,
                    validation,
                    owner_token(),
                ),
            )

    @staticmethod
    def _replaceable(row: sqlite3.Row, now_s: int, now_ms: int) -> bool:
        if row["expiration"] < now_s:
            return True
        if row["status"] != STATUS_CONSTANTS["INPROGRESS"]:
            return False
        if row["in_progress_expiration"] is not None and row["in_progress_expiration"] < now_ms:
            return True
        return row["owner"] is not None and not owner_alive(row["owner"])

    def _update_record(self, data_record: DataRecord) -> None:
        # an upsert, as DynamoDB's UpdateItem; the validation hash only when validation is on
        validation = data_record.payload_hash if self.payload_validation_enabled else None
        with self.engine.write() as conn:
            conn.execute(
                "INSERT INTO idempotency (id, status, expiration, data, validation) VALUES (?, ?, ?, ?, ?) "
                "ON CONFLICT (id) DO UPDATE SET status = excluded.status, expiration = excluded.expiration, "
                "data = excluded.data, validation = COALESCE(excluded.validation, idempotency.validation)",
                (
                    data_record.idempotency_key,
                    data_record.status,
                    data_record.expiry_timestamp,
                    data_record.response_data,
                    validation,
                ),
            )

    def _delete_record(self, data_record: DataRecord) -> None:
        with self.engine.write() as conn:
            conn.execute("DELETE FROM idempotency WHERE id = ?", (data_record.idempotency_key,))
