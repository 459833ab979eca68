"""The local backend's mailer: nothing leaves the machine; every mail lands in the
outbox, a folder of ``.eml`` files (``00001-ack.eml``, ...) with one row per mail in
the engine's ``outbox`` table (and a line in ``index.jsonl``, for the tools that read it).

A send is exactly once per ``key``: the row is committed under ``UNIQUE(key)``, so a
retry of the same send (the idempotency record still IN_PROGRESS after a ``kill -9``
between the send and its completion) gets the stored :class:`Sent` and writes nothing.
The mail is written to a temporary file first, the row committed, then the file
renamed into place: a kill before the commit leaves only an orphan temporary file
(and the retry sends), a kill after it leaves the row, and whoever next sees the row
(a retry with the key, or :meth:`LocalOutbox.entries`) finishes the rename.
"""

from __future__ import annotations

import json
import os
import re
import sqlite3
import uuid
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

from adapters.local_engine import LocalEngine
from ports import Outgoing, Sent

SCHEMA = """
CREATE TABLE IF NOT EXISTS outbox (
    idx INTEGER PRIMARY KEY,
    key TEXT UNIQUE,
    kind TEXT NOT NULL,
    recipients TEXT NOT NULL,
    subject TEXT NOT NULL,
    file TEXT NOT NULL,
    ses_message_id TEXT NOT NULL,
    message_id TEXT NOT NULL,
    sender TEXT NOT NULL DEFAULT '',
    conversation_id TEXT,
    tmp TEXT
)
"""
INDEX = "index.jsonl"
TMP = ".tmp"


def _file_kind(kind: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", kind) or "mail"


def message_id_of(raw: bytes) -> str:
    # the Message-ID is the mail's identity (one per cause): how the audit sees a mail sent twice
    head = re.split(rb"\r?\n\r?\n", raw, maxsplit=1)[0]  # the header block only: a body may be 40 MB
    return str(BytesHeaderParser().parsebytes(head + b"\n\n").get("Message-ID", "") or "").strip()


class LocalOutbox:
    def __init__(self, engine: LocalEngine, folder: Path) -> None:
        self.engine, self.folder = engine, Path(folder)
        (self.folder / TMP).mkdir(parents=True, exist_ok=True)
        engine.ddl(SCHEMA)
        self._import_index()

    def _import_index(self) -> None:
        """An outbox the moto stack wrote (``index.jsonl`` and its files) becomes the
        first rows, once: numbering and :meth:`entries` go on from it."""
        index = self.folder / INDEX
        if not index.exists() or self.engine.connection().execute("SELECT 1 FROM outbox LIMIT 1").fetchone():
            return
        lines = [json.loads(line) for line in index.read_text(encoding="utf-8").splitlines() if line.strip()]
        with self.engine.write() as conn:
            if conn.execute("SELECT 1 FROM outbox LIMIT 1").fetchone():
                return  # another process imported it first
            for position, entry in enumerate(lines, start=1):
                number = re.match(r"(\d+)-", Path(str(entry.get("file", ""))).name)
                conn.execute(
                    "INSERT OR IGNORE INTO outbox (idx, kind, recipients, subject, file, ses_message_id, "
                    "message_id) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (
                        int(number.group(1)) if number else position,
                        entry.get("kind", ""),
                        json.dumps(entry.get("to", [])),
                        entry.get("subject", ""),
                        entry.get("file", ""),
                        entry.get("ses_message_id", ""),
                        entry.get("message_id", ""),
                    ),
                )

    def _by_key(self, conn: sqlite3.Connection, key: str) -> sqlite3.Row | None:
        row: sqlite3.Row | None = conn.execute("SELECT * FROM outbox WHERE key = ?", (key,)).fetchone()
        return row

    def send(self, mail: Outgoing, *, key: str | None = None) -> Sent:
        """Put the mail in the outbox; with a ``key`` already there, the stored :class:`Sent`."""
        if key is not None and (row := self._by_key(self.engine.connection(), key)) is not None:
            self._finish(row, mail.raw)
            return Sent(row["ses_message_id"])
        tmp = self.folder / TMP / uuid.uuid4().hex
        tmp.write_bytes(mail.raw)
        ses_message_id, message_id = f"local-{uuid.uuid4().hex}", message_id_of(mail.raw)
        try:
            with self.engine.write() as conn:
                if key is not None and (row := self._by_key(conn, key)) is not None:
                    tmp.unlink()  # a concurrent retry committed it first
                    self._finish(row, mail.raw)
                    return Sent(row["ses_message_id"])
                (last,) = conn.execute("SELECT MAX(idx) FROM outbox").fetchone()
                index = (last if last is not None else len(list(self.folder.glob("*.eml")))) + 1
                path = self.folder / f"{index:05d}-{_file_kind(mail.kind)}.eml"
                conn.execute(
                    "INSERT INTO outbox (idx, key, kind, recipients, subject, file, ses_message_id, message_id, "
                    "sender, conversation_id, tmp) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        index,
                        key,
                        mail.kind,
                        json.dumps(mail.recipients),
                        mail.subject,
                        str(path),
                        ses_message_id,
                        message_id,
                        mail.sender,
                        mail.conversation_id,
                        tmp.name,
                    ),
                )
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        os.replace(tmp, path)
        with (self.folder / INDEX).open("a", encoding="utf-8") as out:
            entry = self._entry_of(mail.kind, mail.recipients, mail.subject, str(path), ses_message_id, message_id)
            out.write(json.dumps(entry) + "\n")
        return Sent(ses_message_id)

    def _finish(self, row: sqlite3.Row, raw: bytes | None = None) -> None:
        """Complete a send a kill interrupted after its commit: the file in place."""
        path = Path(row["file"])
        if path.exists() or not row["tmp"]:
            return
        tmp = self.folder / TMP / row["tmp"]
        if tmp.exists():
            os.replace(tmp, path)
        elif raw is not None:
            tmp.write_bytes(raw)
            os.replace(tmp, path)

    @staticmethod
    def _entry_of(kind: str, to: list[str], subject: str, file: str, ses_message_id: str, message_id: str) -> dict[str, Any]:
        return {
            "kind": kind,
            "to": to,
            "subject": subject,
            "file": file,
            "ses_message_id": ses_message_id,
            "message_id": message_id,
        }

    def entries(self) -> list[dict[str, Any]]:
        """One entry per mail sent, in sending order: the dicts
        :func:`adapters.mailer.read_outbox` gives (kind, to, subject, file, ses_message_id, message_id)."""
        rows = self.engine.connection().execute("SELECT * FROM outbox ORDER BY idx").fetchall()
        entries = []
        for row in rows:
            self._finish(row)
            entries.append(
                self._entry_of(
                    row["kind"],
                    json.loads(row["recipients"]),
                    row["subject"],
                    row["file"],
                    row["ses_message_id"],
                    row["message_id"],
                )
            )
        self._repair_index(entries)
        return entries

    def _repair_index(self, entries: list[dict[str, Any]]) -> None:
        """``index.jsonl`` misses a line when a kill came between a commit and its append: rewrite it."""
        index = self.folder / INDEX
        lines = index.read_text(encoding="utf-8").splitlines() if index.exists() else []
        if len([line for line in lines if line.strip()]) == len(entries):
            return
        tmp = self.folder / TMP / uuid.uuid4().hex
        tmp.write_text("".join(json.dumps(entry) + "\n" for entry in entries), encoding="utf-8")
        os.replace(tmp, index)
