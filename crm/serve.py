"""`crm serve`: the local stack as a running service, fed by SMTP.

Files and mbox are fine for replaying mail, but to try the system the way a mail
client or another program would use it, it needs a place to send mail to and a place
to look. So this keeps the embedded local stack running and adds:

- an SMTP listener (aiosmtpd) that stands in for SES receiving: it refuses
  recipients outside the public domain and the reply domain at RCPT time (as a
  receipt rule set would), limits the size to SES's, prepends ``Return-Path`` as the
  final delivery does, stores the raw mail and invokes the inbound (or reply) handler
  through :func:`crm.flows.ingest_one`, then lets every consumer run. A fault answers
  ``451`` so the sending client keeps the mail and retries; the delivery id is a hash
  of the mail and its recipients, so a retry is recorded once.
- moto's HTTP server on the same in-process backends, so ``aws --endpoint-url`` and
  other processes see the queues, tables and bucket the flows use. Events they put on
  the bus reach the hook rules too (:class:`adapters.rule_routing.OutsideEvents`),
  matched in-process like the stack's own.

The flows are not thread-safe: deliveries run one at a time on one worker thread, and
the state folder is saved after each so a crash loses nothing. SIGTERM and Ctrl-C
stop the listeners, let an in-flight delivery finish, and save the state.
"""

from __future__ import annotations

import asyncio
import logging
import signal
import socket
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from crm.errors import UsageError
from crm.settings import Settings
from crm.verdicts import VerdictFlags

if TYPE_CHECKING:
    pass

log = logging.getLogger("crm.serve")

TEMPORARY_FAILURE = "451 4.3.0 temporary failure"
UNKNOWN_RECIPIENT = "550 5.1.1 no such recipient here"
STOP_GRACE_SECONDS = 5.0

Deliver = Callable[[str, bytes, list[str]], dict[str, Any]]


def accepts(settings: Settings, address: str) -> bool:
    """True for an address SES would receive for: the public domain, its aliases and
    the reply domain (exact domains; a subdomain of the public one is someone else's).

    >>> s = Settings()
    >>> [accepts(s, a) for a in ("Hello@Example.com", "x@reply.example.com", "x@elsewhere.org", "x@a.example.com")]
    [True, True, False, False]
    """
    address = address.strip().lower()
    if address in settings.accepted_addresses:
        return True
    domain = address.rpartition("@")[2]
    return "@" in address and domain in (settings.domain, settings.reply_domain)


def with_return_path(raw: bytes, mail_from: str | None) -> bytes:
    """The mail as the final delivery stores it: ``Return-Path`` first (RFC 5321 §4.4).

    >>> with_return_path(b"Subject: hi\\r\\n\\r\\nbody", "jane@acmecorp.com").split(b"\\r\\n")[:2]
    [b'Return-Path: <jane@acmecorp.com>', b'Subject: hi']
    """
    sender = (mail_from or "").strip().strip("<>")
    if "\r" in sender or "\n" in sender:
        sender = ""
    newline = b"\r\n" if b"\r\n" in raw[:4096] else b"\n"
    return b"Return-Path: <" + sender.encode("utf-8", "surrogateescape") + b">" + newline + raw


class InboundHandler:
    """The aiosmtpd handler: the SES receipt rule, one delivery at a time.

    ``deliver(source, raw, recipients)`` returns what :func:`crm.flows.ingest_one` does.
    """

    def __init__(self, settings: Settings, deliver: Deliver, *, once: bool = False) -> None:
        self.settings = settings
        self.deliver = deliver
        self.once = once
        self.executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="crm-delivery")
        self.delivered = threading.Event()  # once: a message was handled
        self.finished = threading.Event()  # once: ... and its connection closed

    async def handle_RCPT(self, server: SMTP, session: Session, envelope: Envelope, address: str, rcpt_options: list[str]) -> str:
        if not accepts(self.settings, address):
            return UNKNOWN_RECIPIENT
        envelope.rcpt_tos.append(address.strip().lower())
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.once and self.delivered.is_set():
            return TEMPORARY_FAILURE
        content = envelope.content if isinstance(envelope.content, bytes) else b""
        raw = with_return_path(content, envelope.mail_from)
        peer = session.peer[0] if isinstance(session.peer, tuple) else str(session.peer)
        recipients = [r.lower() for r in envelope.rcpt_tos]
        loop = asyncio.get_running_loop()
        try:
            result: dict[str, Any] = await loop.run_in_executor(self.executor, self.deliver, f"smtp:{peer}", raw, recipients)
        except Exception:  # a fault: the client keeps the mail and retries
            log.exception("delivery from %s failed", peer)
            return TEMPORARY_FAILURE
        finally:
            if self.once:
                self.delivered.set()
        if result.get("outcome") == "error":
            log.error("delivery from %s failed: %s", peer, result.get("reason"))
            return TEMPORARY_FAILURE
        parts = [
            f"{result['outcome']:<9}",
            str(result.get("message_id")),
            f"from <{envelope.mail_from}>",
            "to " + ", ".join(recipients),
            result.get("conversation_id") or "",
            result.get("reason") or "",
        ]
        print("  ".join(p for p in parts if p), flush=True)
        return f"250 OK {result['outcome']} {result['message_id']}"


class _SMTP(SMTP):
    """Tells the handler when a connection closes (``once``: stop after the reply is sent)."""

    def connection_lost(self, error: Exception | None) -> None:
        super().connection_lost(error)
        handler = self.event_handler
        if isinstance(handler, InboundHandler) and handler.delivered.is_set():
            handler.finished.set()


class SmtpController(Controller):
    """aiosmtpd's threaded controller, with :class:`_SMTP` sessions."""

    def factory(self) -> SMTP:
        return _SMTP(self.handler, **self.SMTP_kwargs)


def _check_free(host: str, port: int, what: str) -> None:
    """Fail fast with a clear message (moto's threaded server would hang on a taken port)."""
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            raise UsageError(f"cannot listen for {what} on {host}:{port}: {exc.strerror or exc}") from exc


def serve(
    settings: Settings,
    state: Path,
    *,
    host: str,
    port: int,
    aws_port: int | None,
    once: bool = False,
    flags: VerdictFlags | None = None,
) -> int:
    """Run the local stack with an SMTP listener until stopped; with ``aws_port``, the
    stack is the aws adapters on moto, whose AWS endpoint other programs can use.

    ``once`` (for tests): serve exactly one SMTP message, then stop and return 0.
    """
    from bootstrap import outside_events
    from crm.flows import drain_all, ingest_one
    from crm.ingest import Delivery
    from crm.local import Stack, local_stack
    from crm.moto_stack import moto_stack, save

    if port == aws_port:
        raise UsageError(f"--port and --aws-port are both {port}")
    _check_free(host, port, "SMTP")
    if aws_port is not None:
        _check_free(host, aws_port, "the AWS endpoint")

    def persist(stack: Stack) -> None:
        if aws_port is not None:
            save(stack)  # moto keeps nothing on disk; the local engine commits as it goes

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # no line per AWS request
    logging.getLogger("mail.log").setLevel(logging.WARNING)  # aiosmtpd: no line per SMTP command

    stop = threading.Event()
    previous: dict[int, Any] = {}

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    try:
        opened = moto_stack(settings, state) if aws_port is not None else local_stack(settings, state)
        with opened as stack:
            lock = threading.Lock()
            closing = threading.Event()

            def deliver(source: str, raw: bytes, recipients: list[str]) -> dict[str, Any]:
                with lock:
                    if closing.is_set():
                        raise RuntimeError("shutting down")
                    try:
                        return ingest_one(stack.svc, Delivery(source, raw), recipients, flags)
                    finally:
                        persist(stack)

            def route_outside_events() -> None:
                with lock:
                    try:
                        if not closing.is_set() and outside is not None and outside.forward():
                            drain_all(stack.svc)
                            persist(stack)
                    except Exception:  # the listeners keep serving; the events wait in their queue
                        log.exception("routing events put on the bus from outside failed")

            outside = outside_events(stack.settings) if aws_port is not None else None
            handler = InboundHandler(stack.settings, deliver, once=once)
            moto_server = None
            if aws_port is not None:
                from moto.server import ThreadedMotoServer

                moto_server = ThreadedMotoServer(ip_address=host, port=aws_port, verbose=False)
                moto_server.start()
            controller = SmtpController(
                handler, hostname=host, port=port, server_hostname="localhost", data_size_limit=stack.settings.ses_max_bytes
            )
            try:
                try:
                    controller.start()
                except Exception as exc:
                    raise UsageError(f"cannot start the SMTP listener on {host}:{port}: {exc}") from exc
                aws_host = f"[{host}]" if ":" in host else host
                endpoint = (
                    (
                        f"  AWS endpoint (moto): http://{aws_host}:{aws_port}  "
                        f"(aws --endpoint-url http://{aws_host}:{aws_port} --region {stack.settings.region} ...;"
                        f" credentials: testing/testing)\n"
                    )
                    if aws_port is not None
                    else ""
                )
                print(
                    f"crm serve: SMTP on {host}:{port} (mail for @{stack.settings.domain} and "
                    f"@{stack.settings.reply_domain}; public address {stack.settings.public_address})\n"
                    f"{endpoint}"
                    f"  state: {state}\n"
                    f"  stop with Ctrl-C (or SIGTERM); the state is saved after each mail and on exit",
                    flush=True,
                )
                if threading.current_thread() is threading.main_thread():
                    # from here on a signal stops the loop; before, Ctrl-C interrupts the start
                    for signum in (signal.SIGTERM, signal.SIGINT):
                        previous[signum] = signal.signal(signum, _on_signal)
                while not stop.is_set():
                    if once and handler.delivered.is_set():
                        handler.finished.wait(STOP_GRACE_SECONDS)
                        break
                    stop.wait(0.2)
                    route_outside_events()
            finally:
                if controller.server is not None:
                    controller.stop()
                handler.executor.shutdown(wait=True)  # an in-flight delivery finishes
                with lock:
                    closing.set()
                if moto_server is not None:
                    moto_server.stop()
        print("crm serve: stopped, state saved", flush=True)
    finally:
        for number, old in previous.items():
            signal.signal(number, old)
    return 0
