"""The event store's contract, proven on the embedded engine and on DynamoDB (moto)."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import pytest

from adapters.commit_plan import MAX_TRANSACTION_ITEMS
from adapters.event_store import EventStore as DynamoEventStore
from adapters.local_engine import LocalEngine
from adapters.local_store import ALL_EVENTS_SQL, STREAMS_SQL, LocalEventStore
from events import FollowUpDue, dump
from ports import ClaimTaken, EventStore, Plan, StreamConflict
from projections.tables import events_table
from tests.contracts.aws_support import on_moto

ROOT = Path(__file__).resolve().parents[2]


def due(n: int | str, kind: str = "reply") -> FollowUpDue:
    return FollowUpDue(conversation_id=f"c{n}", due_at="2026-01-01T00:00:00Z", kind=kind)


def versions(store: EventStore, stream: str) -> list[int]:
    return [e.meta.version for e in store.read(stream)]


class StoreBackend(ABC):
    """Every test gets ``store``; :meth:`another` opens a second, empty store of the same
    backend. (No tests here: the contracts that subclass it hold them.)"""

    @abstractmethod
    def backend(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AbstractContextManager[None]: ...

    @abstractmethod
    def open_store(self, name: str) -> EventStore: ...

    @pytest.fixture
    def store(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[EventStore]:
        with self.backend(tmp_path, monkeypatch):
            yield self.open_store("crm-events")

    def another(self, name: str = "crm-events-other") -> EventStore:
        return self.open_store(name)


class EventStoreContract(StoreBackend):
    """Appends, dedupe, conflicts, limits and concurrency."""

    # --- appends and reads -------------------------------------------------------

    def test_appends_number_each_stream_from_one_and_read_after_a_version(self, store: EventStore) -> None:
        first = store.commit(Plan([("s", due(1)), ("s", due(2)), ("t", due(3))]), dedupe_key="k1", correlation_id="c")
        assert not first.duplicate
        assert [(e.stream_id, e.meta.version) for e in first.envelopes] == [("s", 1), ("s", 2), ("t", 1)]
        store.commit(Plan([("s", due(4))]), dedupe_key="k2", correlation_id="c")
        assert versions(store, "s") == [1, 2, 3] and store.last_version("s") == 3
        assert [e.meta.version for e in store.read("s", after_version=2)] == [3]
        assert store.read("s", after_version=3) == [] and store.last_version("absent") == 0
        assert [dump(e.event) for e in store.read("s")] == [dump(due(n)) for n in (1, 2, 4)]
        record = store.get("s", 1)
        assert record is not None and record["type"] == "FollowUpDue" and record["pk"] == "s" and record["sk"] == 1
        assert store.exists("s", 3) and not store.exists("s", 4)

    def test_event_ids_are_derived_from_the_dedupe_key(self, store: EventStore) -> None:
        one = store.commit(Plan([("s", due(1)), ("s", due(2))]), dedupe_key="k", correlation_id="c")
        other = self.another().commit(Plan([("s", due(1)), ("s", due(2))]), dedupe_key="k", correlation_id="c")
        assert [e.event_id for e in one.envelopes] == [e.event_id for e in other.envelopes]
        assert len({e.event_id for e in one.envelopes}) == 2

    def test_a_known_dedupe_key_returns_the_first_commits_events_and_writes_nothing(self, store: EventStore) -> None:
        first = store.commit(Plan([("s", due(1))], message_ids={"<a@x>": "conv"}), dedupe_key="k", correlation_id="c")
        before = sorted(map(str, store.scan_items()))
        again = store.commit(
            Plan([("s", due(2)), ("u", due(3))], message_ids={"<b@x>": "conv"}, markers={"suppress#z@x": {"reason": "bounced"}}),
            dedupe_key="k",
            correlation_id="other",
        )
        assert again.duplicate
        assert [dump(e) for e in again.envelopes] == [dump(e) for e in first.envelopes]
        assert sorted(map(str, store.scan_items())) == before
        assert store.conversation_for(["<b@x>"]) is None and store.address_suppressed("z@x") is None

    def test_a_stream_that_must_be_new_conflicts_and_nothing_of_the_commit_is_written(self, store: EventStore) -> None:
        store.commit(Plan([("s", due(1))]), dedupe_key="k1", correlation_id="c")
        with pytest.raises(StreamConflict):
            store.commit(
                Plan(
                    [("t", due(2)), ("s", due(3))],
                    first_in_stream=frozenset({"s"}),
                    message_ids={"<m@x>": "conv"},
                    markers={"suppress#a@x": {"reason": "complained"}},
                ),
                dedupe_key="k2",
                correlation_id="c",
            )
        assert versions(store, "s") == [1] and versions(store, "t") == []
        assert not store.exists("k2") and store.conversation_for(["<m@x>"]) is None
        assert store.address_suppressed("a@x") is None
        assert (
            store.commit(Plan([("t", due(2))], first_in_stream=frozenset({"t"})), dedupe_key="k2", correlation_id="c")
            .envelopes[0]
            .meta.version
            == 1
        )

    def test_a_pinned_version_conflicts_once_the_stream_moved(self, store: EventStore) -> None:
        store.commit(Plan([("s", due(1)), ("s", due(2))]), dedupe_key="k1", correlation_id="c")
        with pytest.raises(StreamConflict):
            store.commit(Plan([("s", due(3))], expected_versions={"s": 1}), dedupe_key="k2", correlation_id="c")
        assert not store.exists("k2")
        pinned = store.commit(Plan([("s", due(3))], expected_versions={"s": 2}), dedupe_key="k2", correlation_id="c")
        assert pinned.envelopes[0].meta.version == 3 and versions(store, "s") == [1, 2, 3]

    def test_message_ids_markers_and_contacts_are_what_the_decision_reads(self, store: EventStore) -> None:
        store.commit(
            Plan(
                [("contact#p@x", due(1)), ("conversation#c1", due(2))],
                message_ids={"<Mixed.Case@Host>": "c1"},
                markers={"suppress#jane@x.org": {"reason": "hard-bounced"}},
            ),
            dedupe_key="k",
            correlation_id="c",
        )
        assert store.conversation_for(["<unknown@x>", "<mixed.case@host>"]) == "c1"
        assert store.conversation_for(["<unknown@x>"]) is None
        assert store.address_suppressed("Jane@X.org") == "address Jane@X.org hard-bounced"
        assert store.address_suppressed("john@x.org") is None
        assert store.contact_known("p@x") and not store.contact_known("q@x")
        mapping = store.get("msgid#<mixed.case@host>")
        assert mapping is not None and mapping["conversation_id"] == "c1"
        # a mapping is overwritten by a later decision, as the DynamoDB Put does
        store.commit(
            Plan([("conversation#c2", due(3))], message_ids={"<mixed.case@host>": "c2"}), dedupe_key="k2", correlation_id="c"
        )
        assert store.conversation_for(["<mixed.case@host>"]) == "c2"

    def test_the_dedupe_item_records_the_decisions_events(self, store: EventStore) -> None:
        commit = store.commit(Plan([("s", due(1))]), dedupe_key="k", correlation_id="c")
        item = store.get("k")
        assert item is not None and "events" in item and "recorded_at" in item and "type" not in item
        assert commit.envelopes[0].event_id in str(item["events"])

    def test_the_dedupe_item_names_the_records_and_does_not_grow_with_them(self, store: EventStore) -> None:
        """A dedupe item refers to its records (a copy doubled every commit's write units),
        and a retry reads the events back through it, whatever their size."""
        big = FollowUpDue(conversation_id="c-big", due_at="2026-01-01T00:00:00Z", kind="x" * 40_000)
        first = store.commit(Plan([("s", big), ("t", due(2))]), dedupe_key="k", correlation_id="c")
        item = store.get("k")
        assert item is not None and len(str(item["events"])) < 400
        again = store.commit(Plan([("s", due(9))]), dedupe_key="k", correlation_id="c")
        assert again.duplicate
        assert [dump(e) for e in again.envelopes] == [dump(e) for e in first.envelopes]

    def test_a_dedupe_item_that_holds_the_records_themselves_still_reads(self, store: EventStore) -> None:
        """Items written before the references kept a copy of each record: a retried
        delivery of such a decision still gets its events, and nothing is written twice."""
        first = store.commit(Plan([("s", due(1)), ("s", due(2))]), dedupe_key="k-new", correlation_id="c")
        records = [store.get("s", v) for v in (1, 2)]
        store.put_raw_items([{"pk": "k-old", "sk": 0, "events": json.dumps(records), "recorded_at": "2026-01-01T00:00:00Z"}])
        again = store.commit(Plan([("s", due(3))]), dedupe_key="k-old", correlation_id="c")
        assert again.duplicate and versions(store, "s") == [1, 2]
        assert [dump(e) for e in again.envelopes] == [dump(e) for e in first.envelopes]

    def test_a_dedupe_item_whose_record_is_missing_says_which(self, store: EventStore) -> None:
        reference = {"pk": "s", "sk": 7, "event_id": "evt-lost", "type": "FollowUpDue"}
        store.put_raw_items([{"pk": "k-broken", "sk": 0, "events": json.dumps([reference]), "recorded_at": "2026-01-01"}])
        with pytest.raises(LookupError, match=r"evt-lost.*version 7"):
            store.commit(Plan([("s", due(3))]), dedupe_key="k-broken", correlation_id="c")

    def test_all_events_come_by_time_then_stream_then_version(self, store: EventStore) -> None:
        for n in range(6):
            store.commit(Plan([(f"s{n % 3}", due(n)), (f"s{(n + 1) % 3}", due(n))]), dedupe_key=f"k{n}", correlation_id="c")
        every = store.all_events()
        assert len(every) == 12
        keys = [(e.meta.occurred_at, e.stream_id, e.meta.version) for e in every]
        assert keys == sorted(keys) and len(set(keys)) == 12
        assert {(e.stream_id, e.meta.version) for e in every} == {(f"s{s}", v) for s in range(3) for v in range(1, 5)}

    def test_streams_by_prefix_list_only_event_streams(self, store: EventStore) -> None:
        store.commit(
            Plan(
                [("conversation#b", due(1)), ("conversation#a", due(2)), ("contact#a", due(3)), ("conversation#a", due(4))],
                message_ids={"<x@y>": "a"},
            ),
            dedupe_key="conversation#dedupe",
            correlation_id="c",
        )
        assert store.streams("conversation#") == ["conversation#a", "conversation#b"]
        assert store.streams() == ["contact#a", "conversation#a", "conversation#b"]
        assert store.streams("nothing#") == []

    def test_one_decision_writes_at_most_the_transaction_limit(self, store: EventStore) -> None:
        # events + the dedupe item + mappings + markers
        limit = MAX_TRANSACTION_ITEMS
        fits = store.commit(
            Plan(
                [("s", due(n)) for n in range(limit - 3)], message_ids={"<a@x>": "c"}, markers={"suppress#a@x": {"reason": "r"}}
            ),
            dedupe_key="k1",
            correlation_id="c",
        )
        assert len(fits.envelopes) == limit - 3
        with pytest.raises(ValueError, match=f"at most {limit} items, got {limit + 1}"):
            store.commit(
                Plan(
                    [("t", due(n)) for n in range(limit - 2)],
                    message_ids={"<b@x>": "c"},
                    markers={"suppress#b@x": {"reason": "r"}},
                ),
                dedupe_key="k2",
                correlation_id="c",
            )
        assert versions(store, "t") == [] and not store.exists("k2")

    def test_an_event_the_bus_would_refuse_is_never_stored(self, store: EventStore) -> None:
        with pytest.raises(ValueError, match="256 KB"):
            store.commit(Plan([("s", due(1)), ("s", due(2, kind="x" * 300_000))]), dedupe_key="k", correlation_id="c")
        assert versions(store, "s") == [] and not store.exists("k")

    def test_scanned_items_load_into_an_empty_store_as_they_were(self, store: EventStore) -> None:
        store.commit(
            Plan(
                [("conversation#a", due(1)), ("contact#p", due(2))],
                message_ids={"<m@x>": "a"},
                markers={"suppress#p@x": {"reason": "complained", "count": 2}},
            ),
            dedupe_key="k1",
            correlation_id="c",
        )
        store.commit(Plan([("conversation#a", due(3))]), dedupe_key="k2", correlation_id="c")
        items = list(store.scan_items())
        assert sum("type" in i for i in items) == 3 and len(items) == 3 + 2 + 2
        copy = self.another()
        copy.put_raw_items(items)
        key = str
        assert sorted(map(key, copy.scan_items())) == sorted(map(key, items))
        assert [dump(e) for e in copy.all_events()] == [dump(e) for e in store.all_events()]
        assert copy.conversation_for(["<m@x>"]) == "a" and copy.address_suppressed("p@x")
        assert copy.commit(Plan([("conversation#a", due(9))]), dedupe_key="k1", correlation_id="c").duplicate
        assert copy.commit(Plan([("conversation#a", due(9))]), dedupe_key="k3", correlation_id="c").envelopes[0].meta.version == 3

    # --- races ---------------------------------------------------------------------

    def test_concurrent_appenders_to_one_stream_lose_nothing_and_double_nothing(self, store: EventStore) -> None:
        """Each writer reads the version, decides, and pins it (as a quota decision does):
        exactly one writer wins each version, the losers get StreamConflict and decide again."""
        writers, each = 6, 4
        conflicts: list[int] = []
        errors: list[BaseException] = []
        start = threading.Barrier(writers)

        def write(writer: int) -> None:
            try:
                start.wait()
                for n in range(each):
                    while True:
                        seen = store.last_version("s")
                        try:
                            store.commit(
                                Plan([("s", due(f"{writer}-{n}")), ("s", due(f"{writer}-{n}b"))], expected_versions={"s": seen}),
                                dedupe_key=f"w{writer}-{n}",
                                correlation_id="c",
                            )
                            break
                        except StreamConflict:
                            conflicts.append(writer)
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=write, args=(w,)) for w in range(writers)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert not errors, errors
        stored = store.read("s")
        assert [e.meta.version for e in stored] == list(range(1, writers * each * 2 + 1))
        ids = [e.event.conversation_id for e in stored]  # type: ignore[attr-defined]
        assert sorted(ids) == sorted(f"c{w}-{n}{b}" for w in range(writers) for n in range(each) for b in ("", "b"))
        # a commit's two events are adjacent: nobody interleaved inside one commit
        assert all(ids[i] + "b" == ids[i + 1] for i in range(0, len(ids), 2))

    def test_concurrent_commits_of_one_dedupe_key_record_it_once(self, store: EventStore) -> None:
        results: list[Any] = []
        start = threading.Barrier(5)

        def write(n: int) -> None:
            start.wait()
            try:
                results.append(store.commit(Plan([("s", due(n))]), dedupe_key="same", correlation_id="c"))
            except StreamConflict as exc:
                results.append(exc)

        threads = [threading.Thread(target=write, args=(n,)) for n in range(5)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert len(store.read("s")) == 1
        commits = [r for r in results if not isinstance(r, Exception)]
        assert sum(not c.duplicate for c in commits) == 1
        stored = store.read("s")[0].event_id
        assert all(c.envelopes[0].event_id == stored for c in commits)

    # --- claims ------------------------------------------------------------------

    def test_a_claim_holds_its_key_until_released_and_only_its_holder_releases_it(self, store: EventStore) -> None:
        assert store.claim("sent#ack#e1", "one") is None
        assert store.claim("sent#ack#e1", "two") == ClaimTaken(recorded=False)
        assert not store.recorded("sent#ack#e1")
        store.release("sent#ack#e1", "two")  # not the holder: nothing changes
        assert store.claim("sent#ack#e1", "three") == ClaimTaken(recorded=False)
        store.release("sent#ack#e1", "one")
        assert store.claim("sent#ack#e1", "three") is None

    def test_an_outcome_kept_by_the_holder_is_what_a_later_claimer_finds(self, store: EventStore) -> None:
        store.claim("k", "one")
        store.keep_outcome("k", "two", '{"not": "the holder"}')
        assert store.claim("k", "two") == ClaimTaken(recorded=False)
        store.keep_outcome("k", "one", '{"ses_message_id": "m1"}')
        assert store.claim("k", "two") == ClaimTaken(recorded=False, outcome='{"ses_message_id": "m1"}')

    def test_a_commit_under_a_claimed_key_replaces_the_claim_once(self, store: EventStore) -> None:
        store.claim("sent#forward#e1", "one")
        first = store.commit(Plan([("s", due(1))]), dedupe_key="sent#forward#e1", correlation_id="c")
        assert not first.duplicate and store.recorded("sent#forward#e1")
        assert store.claim("sent#forward#e1", "two") == ClaimTaken(recorded=True)
        again = store.commit(Plan([("s", due(2))]), dedupe_key="sent#forward#e1", correlation_id="c")
        assert again.duplicate and [e.event_id for e in again.envelopes] == [e.event_id for e in first.envelopes]
        assert versions(store, "s") == [1]
        store.release("sent#forward#e1", "one")  # the claim is gone: its holder drops nothing
        assert store.recorded("sent#forward#e1") and versions(store, "s") == [1]

    def test_a_key_a_decision_was_committed_under_cannot_be_claimed(self, store: EventStore) -> None:
        store.commit(Plan([("s", due(1))]), dedupe_key="sent#ack#old", correlation_id="c")
        assert store.claim("sent#ack#old", "one") == ClaimTaken(recorded=True)
        assert store.recorded("sent#ack#old") and len(store.read("s")) == 1
        assert not store.recorded("sent#ack#never")

    def test_claims_are_not_events(self, store: EventStore) -> None:
        store.claim("claim#ack#e1#2", "one")
        assert store.streams() == [] and store.all_events() == []

    def test_concurrent_claims_of_one_key_give_it_to_one(self, store: EventStore) -> None:
        results: list[ClaimTaken | None] = []
        start = threading.Barrier(6)

        def claim(n: int) -> None:
            start.wait()
            results.append(store.claim("contended", f"t{n}"))

        threads = [threading.Thread(target=claim, args=(n,)) for n in range(6)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert results.count(None) == 1 and len(results) == 6


class TestLocalEventStore(EventStoreContract):
    @contextmanager
    def backend(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
        self._engines: dict[str, LocalEngine] = {}
        self._tmp = tmp_path
        try:
            yield
        finally:
            for engine in self._engines.values():
                engine.close()

    def open_store(self, name: str) -> EventStore:
        if name not in self._engines:
            self._engines[name] = LocalEngine(":memory:" if name == "crm-events" else self._tmp / f"{name}.db")
        return LocalEventStore(self._engines[name])

    def test_a_commit_inside_an_outer_write_joins_it_and_a_conflict_undoes_only_the_commit(self, store: EventStore) -> None:
        engine = self._engines["crm-events"]
        engine.ddl("CREATE TABLE IF NOT EXISTS beside (n INTEGER)")
        store.commit(Plan([("s", due(1))]), dedupe_key="k1", correlation_id="c")
        with engine.write() as conn:
            conn.execute("INSERT INTO beside VALUES (1)")
            with pytest.raises(StreamConflict):
                store.commit(
                    Plan([("t", due(2)), ("s", due(3))], first_in_stream=frozenset({"s"})), dedupe_key="k2", correlation_id="c"
                )
            store.commit(Plan([("s", due(4))]), dedupe_key="k3", correlation_id="c")
        assert versions(store, "s") == [1, 2] and versions(store, "t") == [] and not store.exists("k2")
        assert engine.connection().execute("SELECT COUNT(*) FROM beside").fetchone()[0] == 1
        with pytest.raises(RuntimeError), engine.write():
            store.commit(Plan([("s", due(5))]), dedupe_key="k4", correlation_id="c")
            raise RuntimeError("the publish after the commit failed")
        assert versions(store, "s") == [1, 2] and not store.exists("k4")  # the outer rollback took the commit

    def test_the_time_ordered_read_and_the_stream_listing_are_index_scans(self, store: EventStore) -> None:
        conn = self._engines["crm-events"].connection()

        def plan(sql: str, *params: str) -> str:
            return " | ".join(str(r["detail"]) for r in conn.execute(f"EXPLAIN QUERY PLAN {sql}", params))

        in_order = plan(ALL_EVENTS_SQL)
        assert "USING INDEX events_by_time" in in_order and "TEMP B-TREE" not in in_order, in_order
        listing = plan(STREAMS_SQL, "conversation#", "conversation$")
        assert listing.startswith("SEARCH events USING PRIMARY KEY (stream>? AND stream<?)"), listing
        assert "TEMP B-TREE" not in listing, listing

    def test_a_file_backed_store_keeps_what_was_committed_across_engines(self, tmp_path: Path) -> None:
        path = tmp_path / "state.db"
        engine = LocalEngine(path)
        LocalEventStore(engine).commit(Plan([("s", due(1))], message_ids={"<a@b>": "c1"}), dedupe_key="k", correlation_id="c")
        engine.close()
        reopened = LocalEventStore(LocalEngine(path))
        assert versions(reopened, "s") == [1] and reopened.conversation_for(["<a@b>"]) == "c1"

    def test_two_processes_appending_to_one_file_lose_nothing_and_double_nothing(self, tmp_path: Path) -> None:
        path, each = tmp_path / "state.db", 40
        LocalEventStore(LocalEngine(path))  # the schema, before both start
        script = """
import sys
from adapters.local_engine import LocalEngine
from adapters.local_store import LocalEventStore
from events import FollowUpDue, dump
from ports import Plan, StreamConflict
store = LocalEventStore(LocalEngine(sys.argv[1]))
name, each = sys.argv[2], int(sys.argv[3])
for n in range(each):
    while True:
        seen = store.last_version("s")
        try:
            event = FollowUpDue(conversation_id=f"{name}-{n}", due_at="d", kind="k")
            store.commit(Plan([("s", event)], expected_versions={"s": seen}), dedupe_key=f"{name}-{n}", correlation_id="c")
            break
        except StreamConflict:
            pass
    # a retried delivery of the same decision is a duplicate, never a second event
    again = Plan([("s", FollowUpDue(conversation_id="again", due_at="d", kind="k"))])
    assert store.commit(again, dedupe_key=f"{name}-{n}", correlation_id="c").duplicate
"""
        processes = [
            subprocess.Popen([sys.executable, "-c", script, str(path), name, str(each)], cwd=ROOT) for name in ("p", "q")
        ]
        assert [p.wait(timeout=120) for p in processes] == [0, 0]
        stored = LocalEventStore(LocalEngine(path)).read("s")
        assert [e.meta.version for e in stored] == list(range(1, 2 * each + 1))
        assert sorted(e.event.conversation_id for e in stored) == sorted(  # type: ignore[attr-defined]
            f"{name}-{n}" for name in ("p", "q") for n in range(each)
        )

    def test_the_claim_of_a_killed_process_is_taken_over_and_a_live_ones_is_not(self, tmp_path: Path) -> None:
        path = tmp_path / "state.db"
        script = """
import sys, time
from adapters.local_engine import LocalEngine
from adapters.local_store import LocalEventStore
store = LocalEventStore(LocalEngine(sys.argv[1]))
assert store.claim("sent#forward#e1", "child") is None
print("held", flush=True)
time.sleep(120)
"""
        child = subprocess.Popen([sys.executable, "-c", script, str(path)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
        engine = LocalEngine(path)
        try:
            assert child.stdout is not None and child.stdout.readline().strip() == "held"
            store = LocalEventStore(engine)
            assert store.claim("sent#forward#e1", "parent") == ClaimTaken(recorded=False)  # a live holder keeps it
            child.kill()
            child.wait(10)
            assert store.claim("sent#forward#e1", "parent") is None  # nothing will ever complete the dead one's
            assert store.claim("sent#forward#e1", "third") == ClaimTaken(recorded=False)
        finally:
            child.kill()
            child.wait()
            engine.close()


class TestAwsEventStore(EventStoreContract):
    @contextmanager
    def backend(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
        with on_moto(monkeypatch) as settings:
            self._settings = settings
            self._created: set[str] = set()
            yield

    def open_store(self, name: str) -> EventStore:
        from adapters.aws import client

        if name not in self._created:
            client("dynamodb", self._settings.region).create_table(**events_table(name))
            self._created.add(name)
        return DynamoEventStore(name, self._settings.region)
