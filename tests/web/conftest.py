"""The web view's fixtures: the demo state (made once per session), and per module one
local stack on a copy of it. The local stack costs seconds to start, so a module
shares one; its tests run in file order, reads before the actions that change state."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import make_mail

XSS_SUBJECT = "<script>alert(1)</script>"
XSS_SENDER = '"Mallory <img src=x onerror=alert(3)>" <mallory@evil-corp.test>'
XSS_HTML = "<html><body><h1 id='injected'>hi</h1><script>alert(2)</script><img src=x onerror=alert(4)></body></html>"


@pytest.fixture(autouse=True)
def _isolated_environment() -> None:
    """Replaces the suite's per-test isolation: the module's stack made its environment
    isolated once (:func:`isolated`), and stripping AWS_*/CRM_* per test would take the
    running stack's own settings away."""


@contextmanager
def isolated(folder: Path) -> Iterator[None]:
    """No developer crm.toml, AWS profile or CRM_* variable (what tests/conftest.py does per test)."""
    with pytest.MonkeyPatch.context() as env:
        for name in list(os.environ):
            if name.startswith(("CRM_", "AWS_")):
                env.delenv(name, raising=False)
        (folder / "absent-crm.toml").write_text("", encoding="utf-8")
        env.setenv("CRM_CONFIG", str(folder / "absent-crm.toml"))
        env.setenv("AWS_DEFAULT_REGION", "us-east-1")
        yield


def hostile_mail() -> bytes:
    """A mail whose subject is a script and whose body is raw HTML with one."""
    from email.message import EmailMessage

    message = EmailMessage()
    message["From"] = XSS_SENDER
    message["To"] = "hello@example.com"
    message["Subject"] = XSS_SUBJECT
    message["Message-ID"] = "<xss-1@evil-corp.test>"
    message.set_content(XSS_HTML, subtype="html")
    return message.as_bytes()


@pytest.fixture(scope="session")
def demo_state(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The state folder `crm demo` leaves, plus a hostile mail and a second company's mail."""
    from crm.demo import run_demo
    from crm.flows import ingest_one
    from crm.ingest import Delivery
    from crm.local import local_stack
    from crm.settings import Settings

    folder = tmp_path_factory.mktemp("web-demo")
    state = folder / "state"
    with isolated(folder), local_stack(Settings(), state, fresh=True) as stack:
        run_demo(stack, as_json=True)
        for source, raw in (
            ("xss", hostile_mail()),
            (
                "initech",
                make_mail(
                    sender="Bill Lumbergh <bill@initech.com>",
                    subject="Senior Engineer opening at Initech",
                    body="Hi,\n\nwe have a senior engineer role.\n\nBill\nInitech\n",
                ),
            ),
        ):
            result = ingest_one(stack.svc, Delivery(source, raw), [stack.settings.public_address])
            assert result["outcome"] == "accepted", result
    return state


@contextmanager
def running_stack(demo_state: Path, folder: Path) -> Iterator[Any]:
    from crm.local import local_stack
    from crm.settings import Settings

    state = folder / "state"
    shutil.copytree(demo_state, state)
    with isolated(folder), local_stack(Settings(), state) as stack:
        yield stack
