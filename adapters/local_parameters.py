"""Parameters on the embedded engine: SSM's get/put, where SQLite is the source (no cache
to go stale: ``ttl_seconds`` is accepted and a put is seen by the next get)."""

from __future__ import annotations

from adapters.local_engine import LocalEngine
from ports import ParameterNotFound

SCHEMA = """
CREATE TABLE IF NOT EXISTS parameters (
    name TEXT PRIMARY KEY, value TEXT NOT NULL, secure INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID
"""


class LocalParameters:
    def __init__(self, engine: LocalEngine) -> None:
        self._engine = engine
        engine.ddl(SCHEMA)

    def get(self, name: str, *, ttl_seconds: int = 300, decrypt: bool = False) -> str:
        row = self._engine.connection().execute("SELECT value FROM parameters WHERE name = ?", (name,)).fetchone()
        if row is None:
            raise ParameterNotFound(f"no parameter {name!r}")
        return str(row["value"])

    def put(self, name: str, value: str, *, secure: bool = False) -> None:
        with self._engine.write() as conn:
            conn.execute("INSERT OR REPLACE INTO parameters (name, value, secure) VALUES (?, ?, ?)", (name, value, int(secure)))
