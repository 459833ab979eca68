"""The Queues port's contract: SQS's model, proven on the local engine and on moto's SQS.

:class:`QueuesContract` is the behaviour the product relies on, written once;
``TestLocalQueues`` and ``TestAwsQueues`` run it on each backend. The local class adds
what only the local engine promises (a dead process's leases come back at once,
insertion order) and a model check of random operation sequences.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.local_engine import LocalEngine
from adapters.local_queues import LocalQueues, QueueNotFound
from ports import Queues, QueueSpec
from tests.contracts.aws_moto import REGION, create_queues, mocked_aws

ROOT = Path(__file__).resolve().parents[2]
SPECS = [QueueSpec("work", dlq="work-dlq", max_receive_count=2, visibility_seconds=30), QueueSpec("plain"), QueueSpec("target")]


def bodies(messages: list[dict[str, Any]]) -> list[str]:
    return [m["Body"] for m in messages]


def drain(queues: Queues, name: str) -> list[dict[str, Any]]:
    """Every visible message of ``name``, received (and so leased) once."""
    got: list[dict[str, Any]] = []
    while batch := queues.receive(name, limit=10, visibility=60):
        got.extend(batch)
    return got


class QueuesContract(ABC):
    @abstractmethod
    def backend(self, tmp_path: Path) -> AbstractContextManager[Queues]:
        """Queues with :data:`SPECS` created."""

    @pytest.fixture
    def queues(self, tmp_path: Path) -> Iterator[Queues]:
        with self.backend(tmp_path) as queues:
            queues.ensure(SPECS)
            yield queues

    def test_a_message_is_received_in_sqs_shape(self, queues: Queues) -> None:
        queues.send("work", '{"n": 1}', {"reason": "because", "empty": ""})
        (message,) = queues.receive("work", limit=10, visibility=30)
        assert message["Body"] == '{"n": 1}'
        assert message["MessageId"] and message["ReceiptHandle"]
        assert message["Attributes"]["ApproximateReceiveCount"] == "1"
        assert abs(int(message["Attributes"]["SentTimestamp"]) / 1000 - time.time()) < 60
        assert message["MessageAttributes"] == {"reason": {"DataType": "String", "StringValue": "because"}}

    def test_a_received_message_is_invisible_until_its_visibility_timeout_ends(self, queues: Queues) -> None:
        queues.send("work", "a")
        (first,) = queues.receive("work", visibility=1)
        assert queues.receive("work") == []
        assert queues.depth("work") == (0, 1)
        time.sleep(1.3)
        (again,) = queues.receive("work", visibility=30)
        assert again["MessageId"] == first["MessageId"]
        assert again["ReceiptHandle"] != first["ReceiptHandle"]
        assert again["Attributes"]["ApproximateReceiveCount"] == "2"

    def test_set_visibility_and_delay_make_it_visible_when_told(self, queues: Queues) -> None:
        queues.send("plain", "a")
        (message,) = queues.receive("plain", visibility=60)
        queues.set_visibility("plain", message["ReceiptHandle"], 0)
        (message,) = queues.receive("plain", visibility=60)
        queues.delay(queues.arn("plain"), message["ReceiptHandle"], 600)
        assert queues.receive("plain") == []
        queues.delay(queues.arn("plain"), message["ReceiptHandle"], 0)
        (message,) = queues.receive("plain", visibility=60)
        assert message["Attributes"]["ApproximateReceiveCount"] == "3"

    def test_a_deleted_message_is_gone(self, queues: Queues) -> None:
        queues.send("plain", "a")
        queues.send("plain", "b")
        received = drain(queues, "plain")
        assert sorted(bodies(received)) == ["a", "b"]
        queues.delete("plain", received[0]["ReceiptHandle"])
        assert queues.depth("plain") == (0, 1)
        queues.set_visibility("plain", received[1]["ReceiptHandle"], 0)
        assert bodies(queues.receive("plain")) == [received[1]["Body"]]

    def test_after_max_receives_the_message_moves_to_its_dlq(self, queues: Queues) -> None:
        queues.send("work", "poison")
        for count in (1, 2):  # max_receive_count = 2
            (message,) = queues.receive("work", visibility=60)
            assert message["Attributes"]["ApproximateReceiveCount"] == str(count)
            queues.set_visibility("work", message["ReceiptHandle"], 0)
        assert queues.receive("work") == []  # the third receive moves it instead of giving it
        assert queues.depth("work") == (0, 0)
        assert queues.depth("work-dlq") == (1, 0)
        assert [p["body"] for p in queues.peek("work-dlq")] == ["poison"]

    def test_park_puts_the_message_in_the_dlq_with_its_reasons(self, queues: Queues) -> None:
        assert queues.park(queues.arn("work"), '{"x": 1}', {"crm-reason": "in doubt", "blank": ""}) == "work-dlq"
        (parked,) = queues.peek("work-dlq")
        assert parked["body"] == {"x": 1}
        assert parked["attributes"] == {"crm-reason": "in doubt"}

    def test_park_on_a_queue_without_dlq_names_it(self, queues: Queues) -> None:
        with pytest.raises(ValueError, match="plain"):
            queues.park(queues.arn("plain"), "x", {"r": "1"})

    def test_peek_leaves_messages_in_place(self, queues: Queues) -> None:
        for n in range(3):
            queues.park(queues.arn("work"), f"m{n}", {"n": str(n)})
        first = queues.peek("work-dlq")
        assert sorted(p["body"] for p in first) == ["m0", "m1", "m2"]
        assert {p["body"]: p["attributes"] for p in first} == {f"m{n}": {"n": str(n)} for n in range(3)}
        assert sorted(p["body"] for p in queues.peek("work-dlq")) == ["m0", "m1", "m2"]
        assert queues.depth("work-dlq") == (3, 0)
        assert sorted(bodies(drain(queues, "work-dlq"))) == ["m0", "m1", "m2"]

    def test_redrive_moves_every_message_to_the_target(self, queues: Queues) -> None:
        for n in range(12):
            queues.park(queues.arn("work"), f"m{n}", {"n": str(n)})
        seen: list[tuple[str, dict[str, str]]] = []
        assert queues.redrive("work-dlq", "target", lambda body, attrs: seen.append((body, attrs))) == 12
        assert sorted(seen) == sorted((f"m{n}", {"n": str(n)}) for n in range(12))
        assert sum(queues.depth("work-dlq")) == 0
        moved = drain(queues, "target")
        assert sorted(bodies(moved)) == sorted(f"m{n}" for n in range(12))
        assert {m["Attributes"]["ApproximateReceiveCount"] for m in moved} == {"1"}

    def test_before_stops_a_redrive_by_raising(self, queues: Queues) -> None:
        for n in range(3):
            queues.park(queues.arn("work"), f"m{n}", {})
        calls: list[str] = []

        def before(body: str, attributes: dict[str, str]) -> None:
            calls.append(body)
            if len(calls) == 2:
                raise RuntimeError("not this one")

        with pytest.raises(RuntimeError, match="not this one"):
            queues.redrive("work-dlq", "target", before)
        assert sum(queues.depth("target")) == 1
        assert sum(queues.depth("work-dlq")) == 2  # the refused one and the rest stay

    def test_receive_gives_at_most_limit(self, queues: Queues) -> None:
        for n in range(7):
            queues.send("plain", f"m{n}")
        got = queues.receive("plain", limit=3, visibility=60)
        assert len(got) <= 3
        got += drain(queues, "plain")
        assert sorted(bodies(got)) == sorted(f"m{n}" for n in range(7))
        assert len({m["MessageId"] for m in got}) == 7
        assert queues.depth("plain") == (0, 7)

    def test_arn_names_the_queue(self, queues: Queues) -> None:
        arn = queues.arn("work")
        assert arn.startswith(f"arn:aws:sqs:{REGION}:") and arn.endswith(":work")


class TestAwsQueues(QueuesContract):
    @contextmanager
    def backend(self, tmp_path: Path) -> Iterator[Queues]:
        from adapters.queues import Queues as AwsQueues

        with mocked_aws():
            create_queues(SPECS)
            yield AwsQueues(REGION)


class TestLocalQueues(QueuesContract):
    @contextmanager
    def backend(self, tmp_path: Path) -> Iterator[Queues]:
        engine = LocalEngine(tmp_path / "crm.db")
        try:
            yield LocalQueues(engine, REGION)
        finally:
            engine.close()

    def test_visible_messages_come_out_in_insertion_order(self, queues: Queues) -> None:
        for n in range(25):
            queues.send("plain", f"m{n:02d}")
        assert bodies(drain(queues, "plain")) == [f"m{n:02d}" for n in range(25)]

    def test_a_stale_receipt_handle_does_nothing(self, queues: Queues) -> None:
        queues.send("plain", "a")
        (old,) = queues.receive("plain", visibility=0)
        (new,) = queues.receive("plain", visibility=60)
        queues.delete("plain", old["ReceiptHandle"])
        queues.set_visibility("plain", old["ReceiptHandle"], 0)
        assert queues.depth("plain") == (0, 1)
        queues.delete("plain", new["ReceiptHandle"])
        assert queues.depth("plain") == (0, 0)

    def test_what_before_writes_commits_or_rolls_back_with_each_move(self, queues: LocalQueues) -> None:
        queues.engine.ddl("CREATE TABLE IF NOT EXISTS approvals (body TEXT)")
        for n in range(3):
            queues.park(queues.arn("work"), f"m{n}", {})

        def approve(body: str, attributes: dict[str, str]) -> None:
            with queues.engine.write() as conn:  # joins the move's transaction
                conn.execute("INSERT INTO approvals VALUES (?)", (body,))
            if body == "m1":
                raise RuntimeError("refused")

        with pytest.raises(RuntimeError):
            queues.redrive("work-dlq", "target", approve)
        approved = [r[0] for r in queues.engine.connection().execute("SELECT body FROM approvals")]
        assert approved == ["m0"]
        assert bodies(drain(queues, "target")) == ["m0"]
        assert [p["body"] for p in queues.peek("work-dlq")] == ["m1", "m2"]

    def test_concurrent_receivers_never_share_a_lease(self, queues: LocalQueues) -> None:
        import threading

        queues.send_many([("plain", f"m{n}") for n in range(200)])
        seen: list[str] = []

        def worker() -> None:
            while batch := queues.receive("plain", limit=10, visibility=300):
                for message in batch:
                    seen.append(message["Body"])
                    queues.delete("plain", message["ReceiptHandle"])

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(seen) == sorted(f"m{n}" for n in range(200))
        assert queues.depth("plain") == (0, 0)

    def test_unknown_queues_and_bad_arns_are_named(self, queues: LocalQueues) -> None:
        with pytest.raises(QueueNotFound, match="nope"):
            queues.send("nope", "x")
        with pytest.raises(QueueNotFound, match="nope"):
            queues.receive("nope")
        with pytest.raises(ValueError, match="not an SQS queue ARN: 'work'"):
            queues.park("work", "x", {})
        with pytest.raises(ValueError, match=r"1\.\.10"):
            queues.receive("work", limit=11)

    def test_send_many_is_all_or_nothing(self, queues: LocalQueues) -> None:
        with pytest.raises(QueueNotFound):
            queues.send_many([("plain", "a"), ("nope", "b")])
        assert queues.depth("plain") == (0, 0)
        queues.send_many([("plain", "a"), ("target", "b"), ("plain", "c")])
        assert bodies(drain(queues, "plain")) == ["a", "c"]
        assert bodies(drain(queues, "target")) == ["b"]

    def test_a_killed_process_leases_are_receivable_at_once(self, tmp_path: Path) -> None:
        path = tmp_path / "crm.db"
        engine = LocalEngine(path)
        queues = LocalQueues(engine, REGION)
        queues.ensure(SPECS)
        queues.send("work", "held")
        script = (
            f"import time\nfrom adapters.local_engine import LocalEngine\nfrom adapters.local_queues import LocalQueues\n"
            f"q = LocalQueues(LocalEngine({str(path)!r}), {REGION!r})\n"
            f"print(q.receive('work', visibility=3600)[0]['MessageId'], flush=True)\ntime.sleep(120)\n"
        )
        child = subprocess.Popen(
            [sys.executable, "-c", script],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        try:
            assert child.stdout is not None
            message_id = child.stdout.readline().strip()
            assert message_id
            assert queues.receive("work") == []  # a live process's lease holds
            assert queues.depth("work") == (0, 1)
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=10)
            assert queues.depth("work") == (1, 0)
            (message,) = queues.receive("work", visibility=60)
            assert message["MessageId"] == message_id
            assert message["Attributes"]["ApproximateReceiveCount"] == "2"
        finally:
            child.kill()
            child.wait()
            engine.close()


# --- a model of SQS's semantics, against random operation sequences ----------------------

MAX_RECEIVES = 2


@dataclass
class Model:
    now: float = 1_000.0
    seq: int = 0
    messages: dict[int, dict[str, Any]] = field(default_factory=dict)  # seq -> queue, body, count, handle, visible_at

    def visible(self, queue: str) -> list[int]:
        return [s for s, m in sorted(self.messages.items()) if m["queue"] == queue and m["visible_at"] <= self.now]

    def depth(self, queue: str) -> tuple[int, int]:
        held = [m for m in self.messages.values() if m["queue"] == queue]
        visible = sum(m["visible_at"] <= self.now for m in held)
        return visible, len(held) - visible


operation = st.one_of(
    st.tuples(st.just("send"), st.sampled_from(["work", "work-dlq"])),
    st.tuples(st.just("receive"), st.just("work"), st.integers(1, 4), st.sampled_from([0, 0, 5, 30])),
    st.tuples(st.just("receive"), st.just("work"), st.integers(1, 4), st.sampled_from([0, 5, 30])),
    st.tuples(st.just("receive"), st.just("work-dlq"), st.integers(1, 4), st.sampled_from([0, 5, 30])),
    st.tuples(st.just("delete"), st.integers(0, 30)),
    st.tuples(st.just("fail"), st.integers(0, 30), st.sampled_from([0, 10])),
    st.tuples(st.just("wait"), st.sampled_from([1.0, 6.0, 31.0])),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(operation, max_size=40))
def test_the_local_queue_behaves_as_the_model_of_sqs(operations: list[tuple[Any, ...]]) -> None:
    model = Model()
    engine = LocalEngine(":memory:")
    queues = LocalQueues(engine, REGION, clock=lambda: model.now)
    queues.ensure([QueueSpec("work", dlq="work-dlq", max_receive_count=MAX_RECEIVES)])
    handles: list[str] = []
    try:
        for op in operations:
            if op[0] == "send":
                model.seq += 1
                body = f"m{model.seq}"
                queues.send(op[1], body)
                model.messages[model.seq] = {"queue": op[1], "body": body, "count": 0, "handle": None, "visible_at": model.now}
            elif op[0] == "receive":
                _, queue, limit, visibility = op
                expected = []
                for s in model.visible(queue):
                    if len(expected) == limit:
                        break
                    m = model.messages[s]
                    if queue == "work" and m["count"] >= MAX_RECEIVES:
                        m["queue"], m["handle"] = "work-dlq", None
                        continue
                    m["count"] += 1
                    m["visible_at"] = model.now + visibility
                    expected.append(s)
                got = queues.receive(queue, limit=limit, visibility=visibility)
                assert bodies(got) == [model.messages[s]["body"] for s in expected]
                assert [int(g["Attributes"]["ApproximateReceiveCount"]) for g in got] == [
                    model.messages[s]["count"] for s in expected
                ]
                for s, g in zip(expected, got, strict=True):
                    model.messages[s]["handle"] = g["ReceiptHandle"]
                    handles.append(g["ReceiptHandle"])
            elif op[0] == "delete" and handles:
                handle = handles[op[1] % len(handles)]
                queues.delete("work", handle)
                queues.delete("work-dlq", handle)
                model.messages = {s: m for s, m in model.messages.items() if m["handle"] != handle}
            elif op[0] == "fail" and handles:
                handle = handles[op[1] % len(handles)]
                for name in ("work", "work-dlq"):
                    queues.set_visibility(name, handle, op[2])
                for m in model.messages.values():
                    if m["handle"] == handle:
                        m["visible_at"] = model.now + op[2]
            elif op[0] == "wait":
                model.now += op[1]
            for name in ("work", "work-dlq"):
                assert queues.depth(name) == model.depth(name), (name, op)
        peeked = queues.peek("work-dlq", limit=1000)
        assert [p["body"] for p in peeked] == [m["body"] for _s, m in sorted(model.messages.items()) if m["queue"] == "work-dlq"]
    finally:
        engine.close()


def test_a_message_moved_to_the_dlq_keeps_its_body_json() -> None:
    engine = LocalEngine(":memory:")
    queues = LocalQueues(engine, REGION)
    queues.ensure([QueueSpec("work", dlq="work-dlq", max_receive_count=1)])
    queues.send("work", json.dumps({"k": [1, 2]}))
    queues.receive("work", visibility=0)
    assert queues.receive("work") == []
    assert queues.peek("work-dlq")[0]["body"] == {"k": [1, 2]}
    engine.close()
