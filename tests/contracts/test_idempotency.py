"""The idempotency port's contract: Powertools' ``idempotent_function`` over a persistence
layer behaves the same on the local engine and on DynamoDB (moto).

A crash inside the function is a ``BaseException`` that is not an ``Exception``:
Powertools deletes the record only for an ``Exception``, so it leaves the record
IN_PROGRESS, as a killed process does.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.utilities.idempotency import (
    BasePersistenceLayer,
    DynamoDBPersistenceLayer,
    IdempotencyConfig,
    idempotent_function,
)
from aws_lambda_powertools.utilities.idempotency.exceptions import (
    IdempotencyAlreadyInProgressError,
    IdempotencyValidationError,
)

from adapters.local_engine import LocalEngine
from adapters.local_idempotency import LocalIdempotencyStore
from tests.contracts.aws_moto import REGION, mocked_aws

ROOT = Path(__file__).resolve().parents[2]
PREFIX = "contract"  # the records' key prefix, the same in every process


class Crash(BaseException):
    """Stands for a kill: Powertools does not clean up after it."""


class Context:
    def __init__(self, remaining_ms: int) -> None:
        self.remaining_ms = remaining_ms

    def get_remaining_time_in_millis(self) -> int:
        return self.remaining_ms


def idempotent(
    persistence: BasePersistenceLayer,
    body: Callable[[str], dict[str, Any]],
    *,
    expires: int = 3600,
    context: Context | None = None,
    validate: str | None = None,
) -> Callable[..., dict[str, Any]]:
    config = IdempotencyConfig(event_key_jmespath="key", expires_after_seconds=expires, payload_validation_jmespath=validate)
    if context is not None:
        config.register_lambda_context(context)

    @idempotent_function(data_keyword_argument="request", persistence_store=persistence, config=config, key_prefix=PREFIX)
    def run(request: dict[str, Any]) -> dict[str, Any]:
        return body(request["key"])

    return run


class IdempotencyContract(ABC):
    @abstractmethod
    def backend(self, tmp_path: Path) -> AbstractContextManager[BasePersistenceLayer]: ...

    @pytest.fixture
    def persistence(self, tmp_path: Path) -> Iterator[BasePersistenceLayer]:
        with self.backend(tmp_path) as persistence:
            yield persistence

    def test_a_completed_call_returns_the_saved_result_without_running_again(self, persistence: BasePersistenceLayer) -> None:
        calls: list[str] = []

        def body(key: str) -> dict[str, Any]:
            calls.append(key)
            return {"key": key, "n": len(calls)}

        run = idempotent(persistence, body)
        assert run(request={"key": "a"}) == {"key": "a", "n": 1}
        assert run(request={"key": "a"}) == {"key": "a", "n": 1}
        assert run(request={"key": "b"}) == {"key": "b", "n": 2}
        assert calls == ["a", "b"]

    def test_a_call_in_progress_refuses_a_concurrent_one(self, persistence: BasePersistenceLayer) -> None:
        entered, release = threading.Event(), threading.Event()

        def body(key: str) -> dict[str, Any]:
            entered.set()
            assert release.wait(10)
            return {"done": key}

        run = idempotent(persistence, body)
        results: list[dict[str, Any]] = []
        worker = threading.Thread(target=lambda: results.append(run(request={"key": "a"})))
        worker.start()
        try:
            assert entered.wait(10)
            with pytest.raises(IdempotencyAlreadyInProgressError):
                run(request={"key": "a"})
        finally:
            release.set()
            worker.join(10)
        assert results == [{"done": "a"}]
        assert run(request={"key": "a"}) == {"done": "a"}

    def test_an_expired_record_lets_the_call_run_again(self, persistence: BasePersistenceLayer) -> None:
        calls: list[str] = []
        run = idempotent(persistence, lambda key: {"n": len(calls) + (calls.append(key) or 0)}, expires=1)
        assert run(request={"key": "a"}) == {"n": 0}
        assert run(request={"key": "a"}) == {"n": 0}
        time.sleep(2.2)  # the record's expiry is whole seconds, and must be passed
        assert run(request={"key": "a"}) == {"n": 1}
        assert len(calls) == 2

    def test_a_failure_deletes_the_record_so_a_retry_runs(self, persistence: BasePersistenceLayer) -> None:
        attempts: list[int] = []

        def body(key: str) -> dict[str, Any]:
            attempts.append(1)
            if len(attempts) == 1:
                raise ValueError("transient")
            return {"ok": len(attempts)}

        run = idempotent(persistence, body)
        with pytest.raises(ValueError, match="transient"):
            run(request={"key": "a"})
        assert run(request={"key": "a"}) == {"ok": 2}
        assert run(request={"key": "a"}) == {"ok": 2}

    def test_a_crashed_call_without_a_deadline_stays_in_progress(self, persistence: BasePersistenceLayer) -> None:
        def crash(key: str) -> dict[str, Any]:
            raise Crash

        with pytest.raises(Crash):
            idempotent(persistence, crash)(request={"key": "a"})
        with pytest.raises(IdempotencyAlreadyInProgressError):
            idempotent(persistence, lambda key: {"ran": True})(request={"key": "a"})

    def test_a_crashed_call_past_its_in_progress_expiry_may_run_again(self, persistence: BasePersistenceLayer) -> None:
        def crash(key: str) -> dict[str, Any]:
            raise Crash

        with pytest.raises(Crash):
            idempotent(persistence, crash, context=Context(remaining_ms=1))(request={"key": "a"})
        time.sleep(0.05)
        assert idempotent(persistence, lambda key: {"ran": key})(request={"key": "a"}) == {"ran": "a"}

    def test_a_crashed_call_within_its_in_progress_expiry_is_refused(self, persistence: BasePersistenceLayer) -> None:
        def crash(key: str) -> dict[str, Any]:
            raise Crash

        with pytest.raises(Crash):
            idempotent(persistence, crash, context=Context(remaining_ms=600_000))(request={"key": "a"})
        with pytest.raises(IdempotencyAlreadyInProgressError):
            idempotent(persistence, lambda key: {"ran": key})(request={"key": "a"})

    def test_a_different_payload_under_a_completed_key_is_refused(self, persistence: BasePersistenceLayer) -> None:
        run = idempotent(persistence, lambda key: {"ran": key}, validate="body")
        assert run(request={"key": "a", "body": "one"}) == {"ran": "a"}
        assert run(request={"key": "a", "body": "one"}) == {"ran": "a"}
        with pytest.raises(IdempotencyValidationError):
            run(request={"key": "a", "body": "two"})


class TestAwsIdempotency(IdempotencyContract):
    @contextmanager
    def backend(self, tmp_path: Path) -> Iterator[BasePersistenceLayer]:
        from adapters.aws import client
        from projections.tables import idempotency_table

        with mocked_aws():
            ddb = client("dynamodb", REGION)
            ddb.create_table(**idempotency_table("crm-idempotency"))
            yield DynamoDBPersistenceLayer(table_name="crm-idempotency", boto3_client=ddb)


CHILD = """
import os, signal, sys, time
from aws_lambda_powertools.utilities.idempotency import IdempotencyConfig, idempotent_function
from adapters.local_engine import LocalEngine
from adapters.local_idempotency import LocalIdempotencyStore

store = LocalIdempotencyStore(LocalEngine(sys.argv[1]))

@idempotent_function(data_keyword_argument="request", persistence_store=store,
                     config=IdempotencyConfig(event_key_jmespath="key"), key_prefix=sys.argv[2])
def run(request):
    print("in", flush=True)
    time.sleep(120)

run(request={"key": "a"})
"""


class TestLocalIdempotency(IdempotencyContract):
    @contextmanager
    def backend(self, tmp_path: Path) -> Iterator[BasePersistenceLayer]:
        engine = LocalEngine(tmp_path / "crm.db")
        try:
            yield LocalIdempotencyStore(engine)
        finally:
            engine.close()

    def test_a_record_in_progress_of_a_killed_process_is_taken_over(self, tmp_path: Path) -> None:
        engine = LocalEngine(tmp_path / "crm.db")
        store = LocalIdempotencyStore(engine)
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(tmp_path / "crm.db"), PREFIX],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        try:
            assert child.stdout is not None and child.stdout.readline().strip() == "in"
            with pytest.raises(IdempotencyAlreadyInProgressError):  # a live process holds it
                idempotent(store, lambda key: {"ran": key})(request={"key": "a"})
            child.send_signal(signal.SIGKILL)
            child.wait(10)
            assert idempotent(store, lambda key: {"ran": key})(request={"key": "a"}) == {"ran": "a"}
            assert idempotent(store, lambda key: {"again": key})(request={"key": "a"}) == {"ran": "a"}
        finally:
            child.kill()
            child.wait()
            engine.close()

    def test_a_completed_record_of_a_dead_process_is_kept(self, tmp_path: Path) -> None:
        path = tmp_path / "crm.db"
        script = CHILD.replace('print("in", flush=True)\n    time.sleep(120)', 'return {"child": True}')
        subprocess.run(
            [sys.executable, "-c", script, str(path), PREFIX], cwd=ROOT, check=True, env={**os.environ, "PYTHONPATH": str(ROOT)}
        )
        engine = LocalEngine(path)
        try:
            assert idempotent(LocalIdempotencyStore(engine), lambda key: {"ran": key})(request={"key": "a"}) == {"child": True}
        finally:
            engine.close()
