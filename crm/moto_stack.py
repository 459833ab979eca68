"""``crm --stack moto``: the aws adapters on an in-process moto, for end-to-end checks
of AWS behaviour (and what ``crm serve --aws-port`` exposes to other programs).

State lives in one folder: ``events.jsonl`` (every event-store item), ``mail/``
(every object of the bucket), ``dlq.jsonl`` (messages parked in dead-letter queues),
``parameters.json`` (the parameters an owner edits) and ``outbox/`` (every mail
sent, as .eml). At start the stack is provisioned afresh and the conversations
table is rebuilt from the events by replay; at exit the state is written back. Hook
rules are matched in-process by the bus with EventBridge's semantics
(:mod:`adapters.rule_routing`), since moto's matching is not AWS's.
"""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from crm.local import Stack
from crm.settings import Settings
from ports import Services

_moto_lock = threading.RLock()


def _serialise_moto_requests() -> None:
    """In AWS each request is atomic; moto's in-process backends are not thread-safe
    (a transaction deep-copies a table another thread is writing). So each request runs
    alone, while our code between requests still runs concurrently: what concurrency
    tests and the SMTP listener need."""
    from moto.core.botocore_stubber import BotocoreStubber

    original = BotocoreStubber.process_request
    if getattr(original, "_serialised", False):
        return

    def process_request(self: Any, request: Any) -> Any:
        with _moto_lock:
            return original(self, request)

    process_request._serialised = True  # type: ignore[attr-defined]
    BotocoreStubber.process_request = process_request  # type: ignore[method-assign]


def _saved_parameters(settings: Settings) -> list[str]:
    """The parameters an owner edits, kept in the state folder across starts."""
    return [settings.patterns_parameter]


@contextmanager
def moto_stack(settings: Settings, state: Path, *, fresh: bool = False, persist: bool = True) -> Iterator[Stack]:
    """Start moto, provision, restore state, rebuild projections; save state on exit."""
    from moto import mock_aws

    from adapters.aws import clear_clients
    from bootstrap import bootstrap, rule_patterns
    from crm.local import local_settings

    if fresh and state.exists():
        shutil.rmtree(state)
    state.mkdir(parents=True, exist_ok=True)
    moto_settings = local_settings(settings)
    _serialise_moto_requests()
    mock = mock_aws()
    mock.start()
    clear_clients()
    try:
        from crm.provision import provision

        provision(moto_settings, rule_patterns(moto_settings.rules_module))
        svc = bootstrap(moto_settings, backend="aws", state=state)
        svc.in_process = True  # no Lambda service here: commands drain the queues themselves
        _restore(svc, state)
        stack = Stack(svc, state)
        yield stack
        if persist:
            save(stack)
    finally:
        mock.stop()
        clear_clients()


def _restore(svc: Services, state: Path) -> None:
    from crm.local import load_state_files

    load_state_files(svc, state)
    mail_dir = state / "mail"
    if mail_dir.exists():
        for path in sorted(p for p in mail_dir.rglob("*") if p.is_file()):
            svc.blobs.put(path.relative_to(mail_dir).as_posix(), path.read_bytes())
    from projections.replay import replay

    replay(svc, quiet=True)


def save(stack: Stack) -> None:
    """Write the event log, the bucket and the parked DLQ messages to the state folder."""
    from bootstrap import topology

    svc, settings, state = stack.svc, stack.settings, stack.state
    assert state is not None
    items = sorted(svc.store.scan_items(), key=lambda i: (str(i["pk"]), int(i["sk"])))
    tmp = state / "events.jsonl.tmp"
    tmp.write_text("".join(json.dumps(i, default=str, sort_keys=True) + "\n" for i in items), encoding="utf-8")
    tmp.replace(state / "events.jsonl")
    blobs = svc.blobs
    mail_dir = state / "mail"
    for key in blobs.keys(""):
        target = mail_dir / key
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(blobs.get(key))
    queues = svc.queues
    lines = []
    for consumer in topology(settings):
        dlq = settings.queue_name(consumer.name) + "-dlq"
        for message in queues.peek(dlq, limit=10_000):
            body = message["body"]
            # the attributes say why a message is parked (a send in doubt): they must survive
            lines.append(
                json.dumps(
                    {
                        "queue": dlq,
                        "body": body if isinstance(body, str) else json.dumps(body),
                        "attributes": message.get("attributes") or {},
                    }
                )
            )
    parameters = {name: svc.parameters.get(name, ttl_seconds=0) for name in _saved_parameters(settings)}
    tmp = state / "parameters.json.tmp"
    tmp.write_text(json.dumps(parameters, indent=2, sort_keys=True), encoding="utf-8")
    tmp.replace(state / "parameters.json")
    (state / "dlq.jsonl").write_text("".join(line + "\n" for line in lines), encoding="utf-8")
