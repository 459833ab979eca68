"""Shared fixtures: a local stack on the embedded engine, the same on moto (the aws
adapters), sample mails, the shared fixtures."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "fixtures"
EXAMPLES = ROOT / "examples" / "mail"
CORPUS = ROOT / "tests" / "corpus"


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test sees the developer's crm.toml, AWS profile or CRM_* variables."""
    for name in list(os.environ):
        if name.startswith(("CRM_", "AWS_")):
            monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("CRM_CONFIG", str(tmp_path / "absent-crm.toml"))
    (tmp_path / "absent-crm.toml").write_text("", encoding="utf-8")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")


def shared_fixture(*parts: str) -> dict[str, Any]:
    path = SHARED.joinpath(*parts)
    if not path.exists():
        pytest.skip(f"../shared/fixtures is absent (a clone outside CI): {path}")
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


@pytest.fixture
def stack(tmp_path: Path) -> Iterator[Any]:
    """The whole topology on the embedded engine (the local backend), with an empty state folder."""
    from crm.local import local_stack
    from crm.settings import Settings

    with local_stack(Settings(), tmp_path / "state") as running:
        yield running


@pytest.fixture
def moto_stack(tmp_path: Path) -> Iterator[Any]:
    """The whole topology on the aws adapters against an in-process moto, provisioned:
    for tests where AWS's behaviour (its errors, its retries, its limits) is the point."""
    from crm.moto_stack import moto_stack as open_moto
    from crm.settings import Settings

    with open_moto(Settings(), tmp_path / "moto-state", persist=False) as running:
        yield running


def make_mail(
    *,
    sender: str = "Jane Doe <jane.doe@acmerobotics.com>",
    to: str = "hello@example.com",
    subject: str = "Staff Platform Engineer role at Acme Robotics",
    body: str = "Hello,\n\nwould you talk about a role?\n\nBest,\nJane Doe\nSenior Recruiter\nAcme Robotics\n",
    headers: dict[str, str] | None = None,
    message_id: str | None = None,
    attachments: list[tuple[str, str, bytes]] | None = None,
) -> bytes:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate()
    message["Message-ID"] = message_id or make_msgid(domain="sender.test")
    for name, value in (headers or {}).items():
        message[name] = value
    message.set_content(body)
    for filename, content_type, data in attachments or []:
        maintype, subtype = content_type.split("/")
        message.add_attachment(data, maintype=maintype, subtype=subtype, filename=filename)
    return message.as_bytes()


def deliver(stack: Any, raw: bytes, recipients: list[str] | None = None, *, drain: bool = True) -> dict[str, Any]:
    """One SES delivery into the running local stack, then every queue drained."""
    from crm.flows import drain_all
    from crm.ingest import Delivery
    from crm.ingest import deliver as deliver_one

    result = deliver_one(stack.svc, Delivery("test", raw), recipients or [stack.settings.public_address])
    if drain:
        drain_all(stack.svc)
    return result


def invoke_concurrently(handler: Any, events: list[dict[str, Any]], function_name: str) -> list[BaseException]:
    """Each event handed to ``handler(event, context)`` on its own thread, all at once; the
    errors. (A module's ``invoke`` with the services bound: ``functools.partial(invoke, svc)``.)"""
    import threading

    from crm.lambda_runtime import LocalContext

    errors: list[BaseException] = []

    def run(event: dict[str, Any]) -> None:
        try:
            handler(event, LocalContext(function_name))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(e,)) for e in events]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return errors


def event_types(stack: Any, stream: str | None = None) -> list[str]:
    store = stack.svc.store
    envelopes = store.read(stream) if stream else store.all_events()
    return [e.type for e in envelopes]


def outbox(stack: Any) -> list[dict[str, Any]]:
    from crm.views import outbox_records

    return outbox_records(stack.svc)


@pytest.fixture
def fast_moto_transactions(monkeypatch: pytest.MonkeyPatch) -> None:
    """moto snapshots the whole table once per item of a ``TransactWriteItems`` (for its
    rollback): a mail with 1,000 attachments takes minutes. Here each table is copied
    once per transaction instead, so a refused transaction still leaves nothing behind
    (what the event store relies on when a retried commit meets its dedupe item); the
    100-item limit is still moto's."""
    import copy
    import types

    import moto.dynamodb.models as moto_models

    copies: dict[int, Any] = {}  # this transaction's snapshot of each table
    real = moto_models.DynamoDBBackend.transact_write_items

    def transact_write_items(self: Any, transact_items: list[dict[str, Any]]) -> None:
        copies.clear()
        try:
            real(self, transact_items)
        finally:
            copies.clear()

    def snapshot(value: Any, memo: Any = None) -> Any:
        if not isinstance(value, moto_models.Table):
            return copy.deepcopy(value, memo)
        if id(value) not in copies:
            copies[id(value)] = copy.deepcopy(value, memo)
        return copies[id(value)]

    monkeypatch.setattr(moto_models.DynamoDBBackend, "transact_write_items", transact_write_items)
    monkeypatch.setattr(moto_models, "copy", types.SimpleNamespace(deepcopy=snapshot))
