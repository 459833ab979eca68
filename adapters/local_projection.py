"""Projection tables on the embedded engine, with DynamoDB's behaviour.

Every table lives in one SQLite table ``projection`` (``tbl``, ``id``, ``version``,
the item as JSON). Each index the composition root names — (name, partition
attribute, sort attribute), as the GSIs are declared — is a partial expression index
on ``(tbl, partition, sort, id)`` over the items that carry both attributes, so a
query is one index range scan and an item without them is not in the index (sparse,
as a GSI). Pages come newest first by sort key, the limit applies before the filters
(a page may come back short) and the key to continue from names the last item read,
as DynamoDB's ``LastEvaluatedKey`` does.
"""

from __future__ import annotations

import json
import operator
import re
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from adapters.local_engine import LocalEngine
from ports import IndexQuery, TableMissing, VersionConflict

SCHEMA = """
CREATE TABLE IF NOT EXISTS projection (
    tbl TEXT NOT NULL, id TEXT NOT NULL, version INTEGER, body TEXT NOT NULL, PRIMARY KEY (tbl, id)
) WITHOUT ROWID
"""
_ATTRIBUTE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_OPS: dict[str, Callable[[Any, Any], bool]] = {"=": operator.eq, ">=": operator.ge, "<=": operator.le}


def _attribute(name: str) -> str:
    if not _ATTRIBUTE.fullmatch(name):
        raise ValueError(f"{name!r} is not an attribute name an index can use")
    return name


def _path(attribute: str) -> str:
    return f"json_extract(body, '$.{_attribute(attribute)}')"


def _index_sql(name: str, partition: str, sort: str) -> str:
    p, s = _path(partition), _path(sort)
    return (
        f"CREATE INDEX IF NOT EXISTS projection_{_attribute(name)} ON projection (tbl, {p}, {s}, id) "
        f"WHERE {p} IS NOT NULL AND {s} IS NOT NULL"
    )


def _matches(item: dict[str, Any], filters: Iterable[tuple[str, str, Any]]) -> bool:
    for attribute, op, value in filters:
        if attribute not in item or item[attribute] is None:
            return False
        try:
            if not _OPS[op](item[attribute], value):
                return False
        except TypeError:  # values of different types never compare, as in DynamoDB
            return False
    return True


class LocalProjectionTable:
    def __init__(self, engine: LocalEngine, name: str, indexes: dict[str, tuple[str, str]], exists: bool) -> None:
        self.name = name
        self._engine = engine
        self._indexes = indexes
        self._exists = exists

    def _rows(self, sql: str, params: Sequence[Any]) -> list[sqlite3.Row]:
        return self._engine.connection().execute(sql, tuple(params)).fetchall()

    def get(self, item_id: str) -> dict[str, Any] | None:
        rows = self._rows("SELECT body FROM projection WHERE tbl = ? AND id = ?", (self.name, item_id))
        return dict(json.loads(rows[0]["body"])) if rows else None

    def put(self, item: dict[str, Any], expected_version: int | None) -> None:
        """Write ``item`` if the stored version is still ``expected_version`` (None: absent)."""
        with self._engine.write() as conn:
            row = conn.execute("SELECT version FROM projection WHERE tbl = ? AND id = ?", (self.name, item["id"])).fetchone()
            stored = None if row is None else row["version"]
            if (row is not None) if expected_version is None else (row is None or stored != expected_version):
                raise VersionConflict(item["id"])
            conn.execute("INSERT OR REPLACE INTO projection (tbl, id, version, body) VALUES (?, ?, ?, ?)", self._row(item))

    def _row(self, item: dict[str, Any]) -> tuple[str, str, Any, str]:
        values = {k: v for k, v in item.items() if v is not None}  # as DynamoDB drops a None attribute
        return self.name, str(item["id"]), values.get("version"), json.dumps(values, sort_keys=True)

    def _select(self, query: IndexQuery, start: dict[str, Any] | None, limit: int) -> tuple[str, list[Any]]:
        declared = self._indexes.get(query.index)
        if declared is None:
            raise ValueError(f"no index {query.index!r} on {self.name}")
        partition_attribute, value = query.partition
        if declared != (partition_attribute, query.sort_key):
            raise ValueError(f"index {query.index!r} is on {declared}, not {(partition_attribute, query.sort_key)}")
        p, s = _path(partition_attribute), _path(query.sort_key)
        # the partial index's own condition, so the planner may use it
        where = ["tbl = ?", f"{p} IS NOT NULL", f"{s} IS NOT NULL", f"{p} = ?"]
        params: list[Any] = [self.name, value]
        if query.sort is not None:
            op, bound = query.sort
            if op not in (">=", "<="):
                raise ValueError(f"sort condition {op!r}: use >= or <=")
            where.append(f"{s} {op} ?")
            params.append(bound)
        if start:
            # the first term bounds the range scan; the row value skips the items already read
            where.extend([f"{s} <= ?", f"({s}, id) < (?, ?)"])
            params.extend([start[query.sort_key], start[query.sort_key], start["id"]])
        sql = f"SELECT id, body FROM projection WHERE {' AND '.join(where)} ORDER BY {s} DESC, id DESC LIMIT ?"
        return sql, [*params, limit]

    def query(
        self, query: IndexQuery, *, limit: int, start: dict[str, Any] | None = None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        sql, params = self._select(query, start, limit + 1)  # one more: is there a next page
        rows = self._rows(sql, params)
        read = [json.loads(r["body"]) for r in rows[:limit]]
        last = None
        if len(rows) > limit:
            final = read[-1]
            last = {"id": final["id"], query.partition[0]: final[query.partition[0]], query.sort_key: final[query.sort_key]}
        return [i for i in read if _matches(i, query.filters)], last

    def explain(self, query: IndexQuery, start: dict[str, Any] | None = None) -> list[str]:
        """The plan of ``query`` (a test checks it is one index range scan, no sort step)."""
        sql, params = self._select(query, start, 10)
        return [str(r["detail"]) for r in self._rows(f"EXPLAIN QUERY PLAN {sql}", params)]

    def scan(self) -> list[dict[str, Any]]:
        rows = self._rows("SELECT body FROM projection WHERE tbl = ? ORDER BY id", (self.name,))
        return [dict(json.loads(r["body"])) for r in rows]

    def batch_put(self, items: list[dict[str, Any]]) -> int:
        """Unconditional bulk write, one transaction; returns the calls made (1)."""
        if not items:
            return 0
        with self._engine.write() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO projection (tbl, id, version, body) VALUES (?, ?, ?, ?)", [self._row(i) for i in items]
            )
        return 1

    def empty(self) -> int:
        if not self._exists:
            raise TableMissing(f"table {self.name!r} is not one of this state's projection tables")
        with self._engine.write() as conn:
            return int(conn.execute("DELETE FROM projection WHERE tbl = ?", (self.name,)).rowcount)


class LocalProjections:
    def __init__(self, engine: LocalEngine, indexes: Sequence[tuple[str, str, str]], tables: Sequence[str] | None = None) -> None:
        """``indexes``: (index name, partition attribute, sort attribute) of every
        projection table; ``tables``: the names :meth:`LocalProjectionTable.empty`
        accepts (None: any), as infra declares the tables in AWS."""
        self._engine = engine
        self._indexes = {name: (partition, sort) for name, partition, sort in indexes}
        self._tables = None if tables is None else frozenset(tables)
        engine.ddl(";".join([SCHEMA, *(_index_sql(n, p, s) for n, p, s in indexes)]))

    def table(self, name: str) -> LocalProjectionTable:
        return LocalProjectionTable(self._engine, name, self._indexes, exists=self._tables is None or name in self._tables)
