"""The embedded local stack: the whole topology on an in-process moto.

State lives in one folder: ``events.jsonl`` (every event-store item), ``mail/``
(every object of the bucket: raw mail, quarantine, attachments), ``dlq.jsonl``
(messages parked in dead-letter queues), ``parameters.json`` (the parameters an
owner edits: the spam pattern list) and ``outbox/`` (every mail sent, as .eml).
At start the stack is provisioned afresh and the rest (the conversations table)
is rebuilt from the events by replay.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crm.settings import Settings

FAKE_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
    "AWS_SECURITY_TOKEN": "testing",
}
LOCAL_DEFAULTS = {
    "CRM_BACKOFF_BASE_SECONDS": "0",
    "POWERTOOLS_METRICS_NAMESPACE": "ConversationCRM",
    "POWERTOOLS_LOG_LEVEL": "WARNING",
    "POWERTOOLS_METRICS_DISABLED": "true",
    "POWERTOOLS_TRACE_DISABLED": "true",
}


def settings_environment(settings: Settings) -> dict[str, str]:
    """Every setting as the CRM_* variable a Lambda would read."""
    env = {}
    for name, value in settings.model_dump().items():
        if value is None:
            continue
        env[f"CRM_{name.upper()}"] = json.dumps(value) if isinstance(value, (list, dict)) else str(value)
    return env


_running = False
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


def local_running() -> bool:
    """True inside :func:`local_stack`: flows drain the queues themselves."""
    return _running


@dataclass
class LocalStack:
    settings: Settings
    state: Path

    @property
    def outbox(self) -> Path:
        return self.state / "outbox"


@contextmanager
def local_stack(settings: Settings, state: Path, *, fresh: bool = False, persist: bool = True) -> Iterator[LocalStack]:
    """Start moto, provision, restore state, rebuild projections; save state on exit."""
    from moto import mock_aws

    from adapters import wiring

    if fresh and state.exists():
        shutil.rmtree(state)
    state.mkdir(parents=True, exist_ok=True)
    saved = dict(os.environ)
    os.environ.update(FAKE_CREDENTIALS)
    os.environ.update({k: v for k, v in LOCAL_DEFAULTS.items() if k not in saved})
    os.environ["AWS_DEFAULT_REGION"] = settings.region
    os.environ["CRM_OUTBOX_DIR"] = str(state / "outbox")
    # the handlers build their own settings from the environment, like a Lambda
    local_settings = settings.model_copy(update={"endpoint_url": None, "rule_matching": "in-process",
                                                 "backoff_base_seconds": float(
        os.environ.get("CRM_BACKOFF_BASE_SECONDS", settings.backoff_base_seconds))})
    os.environ.update(settings_environment(local_settings))
    os.environ.pop("CRM_ENDPOINT_URL", None)
    global _running
    _serialise_moto_requests()
    mock = mock_aws()
    mock.start()
    wiring.reset()
    _running = True
    try:
        from adapters.provision import provision

        provision(local_settings, _rule_patterns(local_settings))
        _restore(local_settings, state)
        stack = LocalStack(local_settings, state)
        yield stack
        if persist:
            save(stack)
    finally:
        _running = False
        mock.stop()
        wiring.reset()
        os.environ.clear()
        os.environ.update(saved)


def _rule_patterns(settings: Settings) -> dict[str, dict[str, Any]]:
    from consumers.rules.registry import default_registry

    return {r.name: r.pattern for r in default_registry(settings.rules_module).rules()}


def _restore(settings: Settings, state: Path) -> None:
    from adapters.blobs import BlobStore
    from adapters.event_store import EventStore
    from adapters.queues import Queues

    events_file = state / "events.jsonl"
    if events_file.exists():
        items = [json.loads(line) for line in events_file.read_text(encoding="utf-8").splitlines() if line.strip()]
        EventStore(settings.events_table, settings.region).put_raw_items(items)
    blobs = BlobStore(settings.bucket, settings.region)
    mail_dir = state / "mail"
    if mail_dir.exists():
        for path in sorted(p for p in mail_dir.rglob("*") if p.is_file()):
            blobs.put(path.relative_to(mail_dir).as_posix(), path.read_bytes())
    parameters_file = state / "parameters.json"
    if parameters_file.exists():
        from adapters.parameters import ParameterStore

        store = ParameterStore(settings.region)
        for name, value in json.loads(parameters_file.read_text(encoding="utf-8")).items():
            store.put(name, value)
    dlq_file = state / "dlq.jsonl"
    if dlq_file.exists():
        queues = Queues(settings.region)
        for line in dlq_file.read_text(encoding="utf-8").splitlines():
            if line.strip():
                entry = json.loads(line)
                queues.send(entry["queue"], entry["body"])
    from projections.replay import replay

    replay(settings, quiet=True)


def save(stack: LocalStack) -> None:
    """Write the event log, the bucket and the parked DLQ messages to the state folder."""
    from adapters.blobs import BlobStore
    from adapters.event_store import EventStore
    from adapters.queues import Queues
    from crm.topology import consumers

    settings, state = stack.settings, stack.state
    items = sorted(EventStore(settings.events_table, settings.region).scan_items(),
                   key=lambda i: (str(i["pk"]), int(i["sk"])))
    tmp = state / "events.jsonl.tmp"
    tmp.write_text("".join(json.dumps(i, default=str, sort_keys=True) + "\n" for i in items), encoding="utf-8")
    tmp.replace(state / "events.jsonl")
    blobs = BlobStore(settings.bucket, settings.region)
    mail_dir = state / "mail"
    for key in blobs.keys(""):
        target = mail_dir / key
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(blobs.get(key))
    queues = Queues(settings.region)
    lines = []
    for consumer in consumers(_rule_patterns(settings)):
        dlq = settings.queue_name(consumer.name) + "-dlq"
        for message in queues.peek(dlq, limit=10_000):
            body = message["body"]
            lines.append(json.dumps({"queue": dlq, "body": body if isinstance(body, str) else json.dumps(body)}))
    from adapters.parameters import ParameterStore

    parameters = {name: ParameterStore(settings.region).get(name, ttl_seconds=0) for name in _saved_parameters(settings)}
    tmp = state / "parameters.json.tmp"
    tmp.write_text(json.dumps(parameters, indent=2, sort_keys=True), encoding="utf-8")
    tmp.replace(state / "parameters.json")
    (state / "dlq.jsonl").write_text("".join(line + "\n" for line in lines), encoding="utf-8")
