"""The embedded engine: one SQLite file (WAL) shared by every local adapter.

Each thread has its own connection. A write is ``BEGIN IMMEDIATE`` … ``COMMIT``: one
writer at a time across threads and processes (a second writer waits up to the busy
timeout), readers never block. Writes nest: an inner :meth:`LocalEngine.write` joins
the outer transaction, which is how the local recorder stores a decision's events and
enqueues their deliveries in one commit. A kill at any instant leaves the last commit.

A process-liveness token (:func:`owner_token`) lets an adapter tell work held by a
process that died (``kill -9``) from work a live process is still doing.
"""

from __future__ import annotations

import os
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

BUSY_TIMEOUT_SECONDS = 60.0


class LocalEngine:
    def __init__(self, path: Path | str) -> None:
        """``path``: the database file, or ``":memory:"`` (one in-memory database shared
        by every thread of this engine, gone when the engine closes)."""
        if str(path) == ":memory:":
            # memdb, not a shared cache: a shared cache locks tables (SQLITE_LOCKED, which the
            # busy timeout does not wait for), so a reader beside a writer would fail
            self._uri, self.path = f"file:/crm-{uuid.uuid4().hex}?vfs=memdb", None
        else:
            self.path = Path(path)
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._uri = self.path.resolve().as_uri()
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._keep = self._connect() if self.path is None else None  # an in-memory database lives while one connection does

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self._uri, uri=True, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None, check_same_thread=False)
        conn.row_factory = sqlite3.Row
        if self.path is not None:
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")  # WAL + NORMAL: durable against a killed process
        conn.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_SECONDS * 1000)}")
        with self._lock:
            self._all.append(conn)
        return conn

    def connection(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._connect()
            self._local.conn = conn
            self._local.depth = 0
        return conn

    @contextmanager
    def write(self) -> Iterator[sqlite3.Connection]:
        """One transaction; nested calls on the same thread join the outermost one."""
        conn = self.connection()
        if self._local.depth:
            self._local.depth += 1
            try:
                yield conn
            finally:
                self._local.depth -= 1
            return
        conn.execute("BEGIN IMMEDIATE")
        self._local.depth = 1
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        else:
            conn.execute("COMMIT")
        finally:
            self._local.depth = 0

    def in_transaction(self) -> bool:
        return bool(getattr(self._local, "depth", 0))

    def ddl(self, script: str) -> None:
        """Create what is missing (``CREATE … IF NOT EXISTS`` statements)."""
        with self.write() as conn:
            for statement in script.split(";"):
                if statement.strip():
                    conn.execute(statement)

    def setup_mark(self, key: str) -> str | None:
        """The fingerprint a one-time setup step last recorded under ``key`` (None: never ran).
        A read, no write lock: a command on an already set-up file pays one SELECT."""
        try:
            row = self.connection().execute("SELECT value FROM setup WHERE key = ?", (key,)).fetchone()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return None
            raise
        return None if row is None else str(row[0])

    def mark_setup(self, key: str, fingerprint: str) -> None:
        """Record that the setup step ``key`` ran for ``fingerprint`` (after its own commits:
        a kill before this line only makes the next open run the idempotent step again)."""
        with self.write() as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS setup (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
            conn.execute(
                "INSERT INTO setup (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                (key, fingerprint),
            )

    def close(self) -> None:
        with self._lock:
            for conn in self._all:
                with suppress(sqlite3.Error):
                    conn.close()
            self._all.clear()
        self._local = threading.local()


def is_busy(exc: BaseException) -> bool:
    """Another writer held the database past the busy timeout: worth retrying later."""
    return isinstance(exc, sqlite3.OperationalError) and "locked" in str(exc)


def is_engine_error(exc: BaseException) -> bool:
    """A failure of the engine (the disk, the database), not of the input."""
    return isinstance(exc, sqlite3.Error) or (isinstance(exc, OSError) and not isinstance(exc, FileNotFoundError))


def _start_time(pid: int) -> str | None:
    """The process's start time in clock ticks since boot (Linux), to tell a reused pid."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rsplit(")", 1)[1].split()[19]


def owner_token(pid: int | None = None) -> str:
    """``pid:start`` of this process (or ``pid``): who holds a lease."""
    pid = os.getpid() if pid is None else pid
    return f"{pid}:{_start_time(pid) or ''}"


def owner_alive(token: str) -> bool:
    """Whether the process that took ``token`` still runs."""
    pid_text, _, start = token.partition(":")
    if not pid_text.isdigit():
        return False
    pid = int(pid_text)
    if pid == os.getpid():
        return start == (_start_time(pid) or "")
    current = _start_time(pid)
    if current is not None:
        return current == start
    try:
        os.kill(pid, 0)  # no /proc (not Linux): the pid alone
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return not start
