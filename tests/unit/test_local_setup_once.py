"""The local backend sets up its queues and seed once per SQLite file, and again only
when what they depend on changes; a set-up file still has every queue and the seed."""

from __future__ import annotations

from pathlib import Path

import pytest

import bootstrap as root
from crm.settings import Settings


def _count_ensures(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    from adapters.local_queues import LocalQueues

    calls: list[int] = []
    real = LocalQueues.ensure

    def counting(self: LocalQueues, specs: object) -> None:
        calls.append(1)
        real(self, specs)  # type: ignore[arg-type]

    monkeypatch.setattr(LocalQueues, "ensure", counting)
    return calls


@pytest.mark.parametrize("reopens", [1, 3])
def test_setup_runs_once_and_queues_survive(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, reopens: int) -> None:
    calls = _count_ensures(monkeypatch)
    settings = Settings()
    state = tmp_path / "state"
    root.bootstrap(settings, backend="local", state=state).close()
    for _ in range(reopens):
        svc = root.bootstrap(settings, backend="local", state=state)
        try:
            for spec in root.queue_specs(settings, root.topology(settings)):
                assert svc.queues.depth(spec.name) == (0, 0)
            assert svc.parameters.get(settings.patterns_parameter, ttl_seconds=0)
        finally:
            svc.close()
    assert len(calls) == 1


def test_changed_settings_run_setup_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _count_ensures(monkeypatch)
    state = tmp_path / "state"
    root.bootstrap(Settings(), backend="local", state=state).close()
    changed = Settings(max_receive_count=Settings().max_receive_count + 1)
    root.bootstrap(changed, backend="local", state=state).close()
    assert len(calls) == 2
