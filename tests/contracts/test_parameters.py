"""The parameters contract, proven on the embedded engine and on SSM (moto)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.local_engine import LocalEngine
from adapters.local_parameters import LocalParameters
from adapters.parameters import ParameterStore
from ports import ParameterNotFound, Parameters
from tests.contracts.aws_support import on_moto

# SSM's rules: a name of path segments; a value of 1..4096 characters that is not only blanks
_NAMES = st.lists(st.from_regex(r"[a-zA-Z0-9_.-]{1,12}", fullmatch=True), min_size=1, max_size=3).map(
    lambda parts: "/" + "/".join(parts)
)
_VALUES = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=60).filter(
    lambda v: v.strip() == v and v != ""
)


class ParametersContract(ABC):
    examples = 40

    @abstractmethod
    def backend(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AbstractContextManager[Parameters]: ...

    @pytest.fixture
    def parameters(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Parameters]:
        with self.backend(tmp_path, monkeypatch) as parameters:
            yield parameters

    def test_a_missing_parameter_is_named(self, parameters: Parameters) -> None:
        with pytest.raises(ParameterNotFound, match="/crm/absent"):
            parameters.get("/crm/absent")
        with pytest.raises(KeyError):  # ParameterNotFound is a KeyError, for callers that catch that
            parameters.get("/crm/absent", ttl_seconds=0)

    def test_a_put_is_seen_by_the_next_get_even_through_the_cache(self, parameters: Parameters) -> None:
        parameters.put("/crm/pointer", "crm-conversations")
        assert parameters.get("/crm/pointer") == "crm-conversations"
        parameters.put("/crm/pointer", "crm-conversations-b")
        assert parameters.get("/crm/pointer", ttl_seconds=300) == "crm-conversations-b"
        assert parameters.get("/crm/pointer", ttl_seconds=0) == "crm-conversations-b"

    def test_a_secure_value_reads_back_decrypted(self, parameters: Parameters) -> None:
        parameters.put("/crm/token-key", "new-key,old-key", secure=True)
        assert parameters.get("/crm/token-key", decrypt=True) == "new-key,old-key"

    def test_values_come_back_as_they_were_put(self, parameters: Parameters) -> None:
        @settings(max_examples=self.examples, deadline=None, suppress_health_check=list(HealthCheck))
        @given(writes=st.lists(st.tuples(_NAMES, _VALUES), min_size=1, max_size=6))
        def check(writes: list[tuple[str, str]]) -> None:
            for name, value in writes:
                parameters.put(name, value)
            for name, value in dict(writes).items():
                assert parameters.get(name, ttl_seconds=0) == value

        check()


class TestLocalParameters(ParametersContract):
    @contextmanager
    def backend(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Parameters]:
        engine = LocalEngine(":memory:")
        try:
            yield LocalParameters(engine)
        finally:
            engine.close()

    def test_parameters_outlive_the_engine_in_a_file(self, tmp_path: Path) -> None:
        engine = LocalEngine(tmp_path / "state.db")
        LocalParameters(engine).put("/crm/a", "1")
        engine.close()
        assert LocalParameters(LocalEngine(tmp_path / "state.db")).get("/crm/a") == "1"


class TestAwsParameters(ParametersContract):
    examples = 15

    @contextmanager
    def backend(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Parameters]:
        with on_moto(monkeypatch) as crm_settings:
            yield ParameterStore(crm_settings.region)
