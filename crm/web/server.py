"""Serving the web view: waitress on 127.0.0.1, on the services of a stack held open."""

from __future__ import annotations

import logging
import signal
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

from crm.errors import UsageError
from ports import Services

HOST = "127.0.0.1"  # never another interface: the view has no login, the machine's user is the owner


def _interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


def check_port(port: int) -> None:
    """Fail with a clear message when the port is taken."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        try:
            probe.bind((HOST, port))
        except OSError as exc:
            raise UsageError(f"cannot listen on {HOST}:{port}: {exc.strerror or exc}") from exc


def make_server(svc: Services, *, port: int) -> object:
    """A waitress server of the web view on the running stack (``.run()`` serves, ``.close()`` stops)."""
    from waitress.server import create_server

    from crm.web.app import create_app
    from crm.web.backend import CrmBackend

    app = create_app(CrmBackend(svc))
    # the backend runs one call at a time: a few threads keep static files and a slow page apart
    return create_server(app, host=HOST, port=port, threads=4, ident="crm-web")


@contextmanager
def serving(svc: Services, *, port: int = 0) -> Iterator[str]:
    """The web view served on a thread while the block runs (tests, the benchmark); its URL."""
    from waitress import wasyncore

    server: Any = make_server(svc, port=port)
    thread = threading.Thread(target=server.run, name="crm-web", daemon=True)
    thread.start()
    try:
        yield f"http://{HOST}:{server.effective_port}"
    finally:
        # requests in flight finish first, then every socket (kept-alive ones too) closes: the loop ends
        server.task_dispatcher.shutdown()
        wasyncore.close_all(server._map)
        thread.join(10)


def serve_web(svc: Services, *, port: int, ready: threading.Event | None = None) -> int:
    """Serve until Ctrl-C (or SIGTERM); the caller holds the stack open around this."""
    check_port(port)
    logging.getLogger("waitress.queue").setLevel(logging.ERROR)
    server = make_server(svc, port=port)
    print(f"crm web: http://{HOST}:{port}/  (stop with Ctrl-C)", flush=True)
    previous = None
    if threading.current_thread() is threading.main_thread():
        previous = signal.signal(signal.SIGTERM, _interrupt)  # SIGTERM stops it like Ctrl-C: the stack closes cleanly
    if ready is not None:
        ready.set()
    try:
        server.run()  # type: ignore[attr-defined]
    except KeyboardInterrupt:
        pass
    finally:
        server.close()  # type: ignore[attr-defined]
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
    print("crm web: stopped", flush=True)
    return 0
