"""The Mailer port's contract: SES (moto) sends and the local outbox keeps, each recording
every accepted mail; the local outbox's promises (once per key, numbering, entries,
repair after a kill) on their own."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

from adapters import local_mailer
from adapters.local_engine import LocalEngine
from adapters.local_mailer import LocalOutbox
from adapters.mailer import OutboxMailer, read_outbox
from ports import Mailer, Outgoing, Sent
from tests.contracts.aws_moto import REGION, mocked_aws

ROOT = Path(__file__).resolve().parents[2]
SENDER = "hello@example.com"


def mail(n: int, to: str = "jane@acme.com") -> bytes:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = SENDER, to, f"Thanks {n}"
    message["Message-ID"] = f"<ack-{n}@example.com>"
    message.set_content(f"Thanks for mail {n}.\n")
    return message.as_bytes()


def send(mailer: Mailer, n: int, kind: str = "ack", key: str | None = None) -> Sent:
    outgoing = Outgoing(kind, SENDER, ["jane@acme.com"], mail(n), f"Thanks {n}", f"<ack-{n}@example.com>", "c1")
    return mailer.send(outgoing, key=key)


class MailerContract(ABC):
    @abstractmethod
    def backend(self, tmp_path: Path) -> AbstractContextManager[Mailer]: ...

    @abstractmethod
    def recorded(self) -> list[tuple[list[str], bytes]]:
        """(recipients, raw mail) of every mail the backend accepted, in order (moto lists a
        recipient once per place it names it: the destination and the To header)."""

    @pytest.fixture
    def mailer(self, tmp_path: Path) -> Iterator[Mailer]:
        with self.backend(tmp_path) as mailer:
            yield mailer

    def test_a_sent_mail_is_recorded_with_its_bytes(self, mailer: Mailer) -> None:
        first = send(mailer, 1)
        second = send(mailer, 2, kind="forward", key="forward:e2")
        assert first.ses_message_id and second.ses_message_id and first != second
        recorded = self.recorded()
        assert [sorted(set(to)) for to, _raw in recorded] == [["jane@acme.com"], ["jane@acme.com"]]
        assert [b"<ack-1@example.com>" in raw for _to, raw in recorded] == [True, False]
        assert b"<ack-2@example.com>" in recorded[1][1]


class TestAwsMailer(MailerContract):
    @contextmanager
    def backend(self, tmp_path: Path) -> Iterator[Mailer]:
        from adapters.aws import client
        from adapters.mailer import SesMailer

        with mocked_aws():
            client("ses", REGION).verify_email_identity(EmailAddress=SENDER)
            yield SesMailer(REGION)

    def recorded(self) -> list[tuple[list[str], bytes]]:
        from moto.core import DEFAULT_ACCOUNT_ID
        from moto.ses.models import ses_backends

        return [(list(m.destinations), str(m.raw_data).encode()) for m in ses_backends[DEFAULT_ACCOUNT_ID][REGION].sent_messages]


class TestLocalMailer(MailerContract):
    @contextmanager
    def backend(self, tmp_path: Path) -> Iterator[Mailer]:
        self.engine = LocalEngine(tmp_path / "crm.db")
        self.outbox = LocalOutbox(self.engine, tmp_path / "outbox")
        try:
            yield self.outbox
        finally:
            self.engine.close()

    def recorded(self) -> list[tuple[list[str], bytes]]:
        return [(entry["to"], Path(entry["file"]).read_bytes()) for entry in self.outbox.entries()]

    def test_a_send_with_a_known_key_returns_the_first_and_writes_nothing(self, tmp_path: Path) -> None:
        with self.backend(tmp_path) as outbox:
            first = send(outbox, 1, key="ack:e1")
            assert send(outbox, 1, key="ack:e1") == first
            assert send(outbox, 99, key="ack:e1") == first  # the key is the send's identity
            assert len(self.outbox.entries()) == 1
            assert sorted(p.name for p in (tmp_path / "outbox").glob("*.eml")) == ["00001-ack.eml"]
            assert send(outbox, 1) != first  # no key: every call is a send

    def test_files_are_numbered_in_sending_order_and_entries_match_the_index(self, tmp_path: Path) -> None:
        with self.backend(tmp_path):
            kinds = ["ack", "forward", "reply", "weird kind/../x"]
            sent = [send(self.outbox, n, kind=kind, key=f"{kind}:{n}") for n, kind in enumerate(kinds)]
            entries = self.outbox.entries()
            folder = tmp_path / "outbox"
            assert [Path(e["file"]).name for e in entries] == [
                "00001-ack.eml",
                "00002-forward.eml",
                "00003-reply.eml",
                "00004-weird_kind____x.eml",
            ]
            assert [Path(e["file"]).parent for e in entries] == [folder] * 4
            assert [e["ses_message_id"] for e in entries] == [s.ses_message_id for s in sent]
            assert all(s.ses_message_id.startswith("local-") for s in sent)
            assert [e["message_id"] for e in entries] == [f"<ack-{n}@example.com>" for n in range(4)]
            assert [(e["kind"], e["to"], e["subject"]) for e in entries] == [
                (kind, ["jane@acme.com"], f"Thanks {n}") for n, kind in enumerate(kinds)
            ]
            assert read_outbox(folder) == entries
            assert [Path(e["file"]).read_bytes() for e in entries] == [mail(n) for n in range(4)]

    def test_an_outbox_the_moto_stack_wrote_is_continued(self, tmp_path: Path) -> None:
        folder = tmp_path / "outbox"

        class Inner:
            def send(self, mail: Outgoing, *, key: str | None = None) -> Sent:
                return Sent(f"ses-{mail.subject}")

        old = OutboxMailer(Inner(), folder)  # type: ignore[arg-type]
        for n in range(2):
            send(old, n)
        before = read_outbox(folder)
        engine = LocalEngine(tmp_path / "crm.db")
        outbox = LocalOutbox(engine, folder)
        send(outbox, 2, key="ack:2")
        entries = outbox.entries()
        assert entries[:2] == before
        assert Path(entries[2]["file"]).name == "00003-ack.eml"
        assert read_outbox(folder) == entries
        LocalOutbox(engine, folder)  # imported once: a second open adds nothing
        assert outbox.entries() == entries
        engine.close()

    def test_a_kill_between_the_row_and_the_file_is_finished_by_the_retry(
        self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        class Killed(BaseException):
            pass

        real_replace = os.replace

        def killed(*args: Any) -> None:
            raise Killed

        with self.backend(tmp_path):
            monkeypatch.setattr(local_mailer.os, "replace", killed)
            with pytest.raises(Killed):
                send(self.outbox, 1, key="ack:e1")
            monkeypatch.setattr(local_mailer.os, "replace", real_replace)
            assert list((tmp_path / "outbox").glob("*.eml")) == []  # the row is committed, the file not in place
            sent = send(self.outbox, 1, key="ack:e1")
            (entry,) = self.outbox.entries()
            assert entry["ses_message_id"] == sent.ses_message_id
            assert Path(entry["file"]).read_bytes() == mail(1)
            assert read_outbox(tmp_path / "outbox") == [entry]  # the index line the kill skipped is written

    def test_concurrent_sends_of_one_key_send_once(self, tmp_path: Path) -> None:
        with self.backend(tmp_path):
            results: list[Sent] = []
            threads = [threading.Thread(target=lambda: results.append(send(self.outbox, 1, key="ack:e1"))) for _ in range(8)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            assert len(set(results)) == 1 and len(results) == 8
            assert len(self.outbox.entries()) == 1
            assert len(list((tmp_path / "outbox").glob("*.eml"))) == 1

    def test_kill_9_during_sends_then_retry_sends_each_key_once(self, tmp_path: Path) -> None:
        script = (
            "import sys\nfrom pathlib import Path\nfrom adapters.local_engine import LocalEngine\n"
            "from adapters.local_mailer import LocalOutbox\n"
            "from tests.contracts.test_mailer import send\n"
            "outbox = LocalOutbox(LocalEngine(sys.argv[1]), Path(sys.argv[2]))\n"
            "print('ready', flush=True)\n"
            "for n in range(int(sys.argv[3])):\n    send(outbox, n, key=f'ack:{n}')\n"
        )
        db, folder, total = tmp_path / "crm.db", tmp_path / "outbox", 300
        for delay in (0.0, 0.05, 0.2):
            child = subprocess.Popen(
                [sys.executable, "-c", script, str(db), str(folder), str(total)],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                text=True,
                env={**os.environ, "PYTHONPATH": str(ROOT)},
            )
            assert child.stdout is not None and child.stdout.readline().strip() == "ready"
            time.sleep(delay)
            child.send_signal(signal.SIGKILL)
            child.wait(10)
        engine = LocalEngine(db)
        outbox = LocalOutbox(engine, folder)
        for n in range(total):
            send(outbox, n, key=f"ack:{n}")
        entries = outbox.entries()
        assert sorted(e["message_id"] for e in entries) == sorted(f"<ack-{n}@example.com>" for n in range(total))
        assert all(Path(e["file"]).read_bytes() == mail(int(e["subject"].split()[1])) for e in entries)
        assert sorted(p.name for p in folder.glob("*.eml")) == [Path(e["file"]).name for e in entries]
        assert [json.loads(line) for line in (folder / "index.jsonl").read_text().splitlines()] == entries
        engine.close()
