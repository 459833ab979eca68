"""No mail is too big to record: 1,000 attachments become 1,000 ``AttachmentExtracted``
events in transactions of at most 100 items, each once, also when redelivered.

Two backends: the real aws event store on moto's DynamoDB (which enforces the 100-item
limit of ``TransactWriteItems``; blobs and the bus are in memory, so the test stays
fast), and the local backend whole (its SQLite store, files, bus and queues).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest

from adapters.event_store import MAX_TRANSACTION_ITEMS, EventStore
from adapters.recorder import Recorder
from consumers import attachments
from crm.settings import Settings
from events import AttachmentExtracted, Envelope, MessageReceived
from projections.tables import events_table
from tests.hostile_corpus import many_attachments


@dataclass
class MemoryBlobs:
    objects: dict[str, bytes] = field(default_factory=dict)

    def get(self, key: str, bucket: str | None = None) -> bytes:
        return self.objects[key]

    def put(self, key: str, data: bytes, content_type: str = "") -> None:
        self.objects[key] = data

    def keys(self, prefix: str) -> list[str]:
        return [k for k in self.objects if k.startswith(prefix)]


@dataclass
class MemoryBus:
    published: list[Envelope] = field(default_factory=list)

    def publish(self, envelopes: list[Envelope]) -> None:
        self.published.extend(envelopes)


@dataclass
class FakeServices:
    settings: Settings
    store: EventStore
    blobs: MemoryBlobs
    bus: MemoryBus
    recorder: Recorder


@pytest.fixture(params=["moto", "local"])
def svc(request: pytest.FixtureRequest) -> Any:
    return request.getfixturevalue(f"{request.param}_services")


@pytest.fixture
def local_services(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> Iterator[Any]:
    """The local backend; its commits counted as the aws store's transactions are (events + the dedupe item)."""
    from bootstrap import bootstrap

    services = bootstrap(Settings(), backend="local", state=tmp_path / "state")
    commits: list[int] = []
    published: list[Envelope] = []
    real_commit, real_publish = services.store.commit, services.bus.publish

    def counting(plan: Any, **kwargs: Any) -> Any:
        commits.append(len(plan.events) + 1)
        return real_commit(plan, **kwargs)

    def publishing(envelopes: list[Envelope]) -> None:
        published.extend(envelopes)
        real_publish(envelopes)

    monkeypatch.setattr(services.store, "commit", counting)
    monkeypatch.setattr(services.bus, "publish", publishing)
    services.commits = commits  # type: ignore[attr-defined]
    services.published = published  # type: ignore[attr-defined]
    try:
        yield services
    finally:
        services.close()


@pytest.fixture
def moto_services(monkeypatch: pytest.MonkeyPatch, fast_moto_transactions: None) -> Iterator[FakeServices]:
    from moto import mock_aws

    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(name, value)
    from adapters.aws import clear_clients, client

    clear_clients()
    with mock_aws():
        settings = Settings()
        client("dynamodb", settings.region).create_table(**events_table(settings.events_table))
        store = EventStore(settings.events_table, settings.region)
        bus = MemoryBus()
        commits: list[int] = []
        original = store._db.transact_write_items

        def counting(**kwargs: Any) -> Any:
            commits.append(len(kwargs["TransactItems"]))
            return original(**kwargs)

        monkeypatch.setattr(store._db, "transact_write_items", counting)
        services = FakeServices(settings, store, MemoryBlobs(), bus, Recorder(store, bus))  # type: ignore[arg-type]
        services.commits = commits  # type: ignore[attr-defined]
        services.published = bus.published  # type: ignore[attr-defined]
        yield services
    clear_clients()


def _received(svc: Any, raw: bytes, count: int) -> Envelope:
    svc.blobs.put("inbox/m1", raw)
    event = MessageReceived(
        conversation_id="c1",
        ses_message_id="m1",
        bucket="b",
        raw_key="inbox/m1",
        received_at="2026-11-20T10:00:00Z",
        attachment_count=count,
    )
    return Envelope.new(event, stream_id="conversation#c1", version=1, seed="message#m1", correlation_id="m1")


def _extracted(svc: Any) -> list[AttachmentExtracted]:
    return [e.event for e in svc.store.read("conversation#c1") if isinstance(e.event, AttachmentExtracted)]


def test_a_thousand_attachments_are_recorded_once_each_within_the_transaction_limit(svc: Any) -> None:
    envelope = _received(svc, many_attachments(1000, size=16), 1000)
    attachments.handle(svc, envelope, {})  # type: ignore[arg-type]
    recorded = _extracted(svc)
    assert len(recorded) == 1000
    assert sorted(e.filename for e in recorded) == sorted(f"f{i}.txt" for i in range(1000))
    assert all(e.outcome == "extracted" and e.text_key for e in recorded)
    commits: list[int] = svc.commits  # type: ignore[attr-defined]
    assert len(commits) == 20 and max(commits) <= MAX_TRANSACTION_ITEMS
    assert len(svc.blobs.keys("attachments/")) == 1000

    # a redelivery (or a retry after a crash between two batches) records nothing twice
    published = len(svc.published)
    attachments.handle(svc, envelope, {})  # type: ignore[arg-type]
    assert len(_extracted(svc)) == 1000
    assert len(svc.published) == 2 * published  # the stored events are re-published, not re-decided


def test_a_retry_after_a_partial_record_completes_the_missing_batches(svc: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    envelope = _received(svc, many_attachments(120, size=16), 120)
    calls = {"n": 0}
    original = svc.recorder.record

    def crash_after_first(*args: Any, **kwargs: Any) -> Any:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("Lambda timed out")
        return original(*args, **kwargs)

    monkeypatch.setattr(svc.recorder, "record", crash_after_first)
    with pytest.raises(RuntimeError):
        attachments.handle(svc, envelope, {})  # type: ignore[arg-type]
    assert len(_extracted(svc)) == 50
    monkeypatch.setattr(svc.recorder, "record", original)
    attachments.handle(svc, envelope, {})  # type: ignore[arg-type]
    assert sorted(e.filename for e in _extracted(svc)) == sorted(f"f{i}.txt" for i in range(120))


def test_past_the_mail_budget_the_rest_is_recorded_as_skipped(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = iter(range(0, 10_000, 10))  # every look at the clock: 10 s later
    monkeypatch.setattr(attachments.time, "monotonic", lambda: float(next(clock)))
    found = attachments.extract_all(many_attachments(5, size=16), budget_seconds=25)
    outcomes = [extraction.outcome for _path, _data, extraction, _info in found]
    assert len(found) == 5 and outcomes[0] == "extracted" and outcomes[-1] == "skipped"
    assert "time budget" in (found[-1][2].reason or "")
