"""`crm serve`: mail sent with smtplib runs the whole flow; without ``--aws-port`` on
the local backend (the embedded engine), with it on the aws adapters over moto, whose
AWS endpoint other processes can look at.

The server runs as a subprocess (``python -m crm.cli serve``), as a user would run
it: the in-process moto mock must not leak into the test, and SIGTERM must save the
state. Every wait is bounded.
"""

from __future__ import annotations

import json
import os
import signal
import smtplib
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT = 60.0
FLOW_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def wait_for(
    what: str, check: Callable[[], bool], timeout: float, proc: subprocess.Popen[bytes] | None = None, log: Path | None = None
) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        if proc is not None and proc.poll() is not None:
            output = log.read_text(encoding="utf-8", errors="replace") if log else ""
            pytest.fail(f"crm serve exited ({proc.returncode}) before {what}:\n{output}")
        time.sleep(0.2)
    output = log.read_text(encoding="utf-8", errors="replace") if log else ""
    pytest.fail(f"timed out after {timeout:.0f} s waiting for {what}:\n{output}")


def port_open(port: int) -> bool:
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=1):
            return True
    except OSError:
        return False


class Server:
    def __init__(self, state: Path, log: Path, *, once: bool = False, aws: bool = True) -> None:
        """``aws``: also serve the AWS endpoint (``--aws-port``: the stack is then moto's)."""
        self.state, self.log = state, log
        self.port, self.aws_port = free_port(), free_port()
        args = [
            sys.executable,
            "-m",
            "crm.cli",
            "--state",
            str(state),
            "serve",
            "--port",
            str(self.port),
            *(["--aws-port", str(self.aws_port)] if aws else []),
        ]
        env = {k: v for k, v in os.environ.items() if k != "CRM_STATE"}
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                [*args, *(["--once"] if once else [])], cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
            )
        wait_for("the SMTP port to accept connections", lambda: port_open(self.port), START_TIMEOUT, self.proc, log)
        # the listener accepts before the banner is printed: wait for its last line too
        wait_for("the start banner", lambda: "stop with Ctrl-C" in self.output(), START_TIMEOUT, self.proc, log)

    def client(self, service: str) -> Any:
        import boto3

        session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
        return session.client(service, endpoint_url=f"http://127.0.0.1:{self.aws_port}")  # type: ignore[call-overload]

    def stop(self) -> int:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return self.proc.wait(STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(STOP_TIMEOUT)
            pytest.fail(f"crm serve ignored SIGTERM:\n{self.output()}")

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


@pytest.fixture
def servers(tmp_path: Path) -> Iterator[list[Server]]:
    started: list[Server] = []
    yield started
    for server in started:
        if server.proc.poll() is None:
            server.proc.kill()
            server.proc.wait(STOP_TIMEOUT)


def recruiter_mail() -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Jane Doe <jane@acmecorp.com>"
    message["To"] = "hello@example.com"
    message["Subject"] = "Senior platform engineer role at Acme Corp"
    message["Date"] = "Fri, 20 Nov 2026 09:14:05 +0000"
    message["Message-ID"] = "<serve-test-1@acmecorp.com>"
    message.set_content(
        "Hello,\n\nwould you talk about a senior platform engineer role at Acme Corp?\n\n"
        "Best,\nJane Doe\nSenior Recruiter\nAcme Corp\n"
    )
    return message


def send(port: int, message: EmailMessage) -> tuple[int, bytes]:
    """MAIL, RCPT, DATA by hand, to see the server's reply to DATA."""
    with smtplib.SMTP("127.0.0.1", port, timeout=FLOW_TIMEOUT) as smtp:
        smtp.ehlo()
        assert smtp.mail("jane@acmecorp.com")[0] == 250
        assert smtp.rcpt("Hello@Example.com")[0] == 250
        return smtp.data(message.as_bytes())


def outbox_kinds(state: Path) -> list[str]:
    index = state / "outbox" / "index.jsonl"
    if not index.exists():
        return []
    return [json.loads(line)["kind"] for line in index.read_text(encoding="utf-8").splitlines() if line.strip()]


def event_types_on_disk(state: Path) -> list[str]:
    lines = (state / "events.jsonl").read_text(encoding="utf-8").splitlines()
    return [str(json.loads(line).get("type")) for line in lines if line.strip()]


def scanned_types(server: Server) -> list[str]:
    items = server.client("dynamodb").scan(TableName="crm-events")["Items"]
    return [item["type"]["S"] for item in items if "type" in item]


def test_mail_over_smtp_runs_the_flow_and_the_aws_endpoint_shows_it(tmp_path: Path, servers: list[Server]) -> None:
    state = tmp_path / "state"
    server = Server(state, tmp_path / "serve.log")
    servers.append(server)
    banner = server.output()
    assert f"127.0.0.1:{server.port}" in banner and f"http://127.0.0.1:{server.aws_port}" in banner
    assert str(state) in banner and "Ctrl-C" in banner

    code, reply = send(server.port, recruiter_mail())
    assert code == 250, reply
    assert reply.split()[:2] == [b"OK", b"accepted"], reply
    wait_for(
        "a forward and an ack in the outbox",
        lambda: {"forward", "ack"} <= set(outbox_kinds(state)),
        FLOW_TIMEOUT,
        server.proc,
        server.log,
    )

    # another process sees the same backends the flow used
    assert any(url.endswith("/crm-forward") for url in server.client("sqs").list_queues()["QueueUrls"])
    assert "MessageReceived" in scanned_types(server)
    # saved after the delivery, before any shutdown
    assert "MessageReceived" in event_types_on_disk(state)

    # a recipient SES would not receive for is refused at RCPT time
    with (
        smtplib.SMTP("127.0.0.1", server.port, timeout=FLOW_TIMEOUT) as smtp,
        pytest.raises(smtplib.SMTPRecipientsRefused) as refused,
    ):
        smtp.sendmail("jane@acmecorp.com", ["nobody@elsewhere.org"], recruiter_mail().as_bytes())
    assert refused.value.recipients["nobody@elsewhere.org"][0] == 550

    assert server.stop() == 0, server.output()
    assert "stopped, state saved" in server.output()
    assert event_types_on_disk(state).count("MessageReceived") == 1

    # restarted on the same state (serving one message): the events are back, and the
    # same mail sent again (a client's retry) is recorded once
    again = Server(state, tmp_path / "serve-again.log", once=True)
    servers.append(again)
    assert scanned_types(again).count("MessageReceived") == 1
    code, reply = send(again.port, recruiter_mail())
    assert code == 250, reply
    assert again.proc.wait(STOP_TIMEOUT) == 0, again.output()
    assert event_types_on_disk(state).count("MessageReceived") == 1
    assert outbox_kinds(state).count("forward") == 1


def local_state(state: Path) -> tuple[list[str], list[str]]:
    """(event types, outbox kinds) of a local state folder, read while the server may run."""
    from crm.local import local_stack
    from crm.settings import Settings
    from crm.views import outbox_records

    with local_stack(Settings(), state) as stack:
        return [e.type for e in stack.svc.store.all_events()], [r["kind"] for r in outbox_records(stack.svc)]


def test_without_an_aws_port_serve_runs_smtp_on_the_local_backend(tmp_path: Path, servers: list[Server]) -> None:
    state = tmp_path / "state"
    server = Server(state, tmp_path / "serve.log", aws=False)
    servers.append(server)
    banner = server.output()
    assert f"127.0.0.1:{server.port}" in banner and str(state) in banner
    assert "AWS endpoint" not in banner and not port_open(server.aws_port)

    code, reply = send(server.port, recruiter_mail())
    assert code == 250, reply
    assert reply.split()[:2] == [b"OK", b"accepted"], reply
    wait_for(
        "a forward and an ack in the outbox",
        lambda: {"forward", "ack"} <= set(local_state(state)[1]),
        FLOW_TIMEOUT,
        server.proc,
        server.log,
    )
    # the embedded engine's state, committed as it goes (no moto dump in the folder)
    assert (state / "crm.sqlite3").is_file() and not (state / "events.jsonl").exists()
    assert local_state(state)[0].count("MessageReceived") == 1

    # a recipient SES would not receive for is refused at RCPT time, on this backend too
    with (
        smtplib.SMTP("127.0.0.1", server.port, timeout=FLOW_TIMEOUT) as smtp,
        pytest.raises(smtplib.SMTPRecipientsRefused) as refused,
    ):
        smtp.sendmail("jane@acmecorp.com", ["nobody@elsewhere.org"], recruiter_mail().as_bytes())
    assert refused.value.recipients["nobody@elsewhere.org"][0] == 550

    assert server.stop() == 0, server.output()
    assert "stopped" in server.output()

    # restarted on the same state: the same mail sent again (a client's retry) is recorded once
    again = Server(state, tmp_path / "serve-again.log", once=True, aws=False)
    servers.append(again)
    code, reply = send(again.port, recruiter_mail())
    assert code == 250, reply
    assert again.proc.wait(STOP_TIMEOUT) == 0, again.output()
    types, kinds = local_state(state)
    assert types.count("MessageReceived") == 1
    assert kinds.count("forward") == 1 and kinds.count("ack") == 1


def test_a_failed_delivery_answers_451_so_the_sender_keeps_the_mail() -> None:
    from crm.serve import InboundHandler, SmtpController
    from crm.settings import Settings

    calls: list[list[str]] = []

    def failing(source: str, raw: bytes, recipients: list[str]) -> dict[str, Any]:
        calls.append(recipients)
        if len(calls) == 1:
            raise RuntimeError("DynamoDB is down")
        return {"outcome": "error", "reason": "ClientError: throttled", "message_id": None}

    port = free_port()
    controller = SmtpController(
        InboundHandler(Settings(), failing), hostname="127.0.0.1", port=port, server_hostname="localhost", data_size_limit=1000
    )
    controller.start()
    try:
        with smtplib.SMTP("127.0.0.1", port, timeout=FLOW_TIMEOUT) as smtp:
            for _attempt in range(2):
                with pytest.raises(smtplib.SMTPDataError) as failed:
                    smtp.sendmail("jane@acmecorp.com", ["hello@example.com"], b"Subject: hi\r\n\r\nhello\r\n")
                assert failed.value.smtp_code == 451
            # over the size limit: refused as SES would, before any delivery
            with pytest.raises(smtplib.SMTPSenderRefused) as too_big:
                smtp.sendmail("jane@acmecorp.com", ["hello@example.com"], b"Subject: hi\r\n\r\n" + b"x" * 2000)
            assert too_big.value.smtp_code == 552
    finally:
        controller.stop()
    assert calls == [["hello@example.com"], ["hello@example.com"]]
