"""Shared helpers for the infra tests: parsed HCL and the exported topology."""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from functools import cache
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
INFRA = REPO / "infra"
MODULES = INFRA / "modules"
EXAMPLE = INFRA / "examples" / "complete"


def tf_files() -> list[Path]:
    return sorted(INFRA.rglob("*.tf"))


@cache
def _load(path: Path) -> dict[str, Any]:
    hcl2 = pytest.importorskip("hcl2")
    with path.open(encoding="utf-8") as handle:
        return hcl2.load(handle)  # type: ignore[no-any-return]


def value(raw: Any) -> Any:
    """An attribute's value whichever python-hcl2 generation parsed it (older ones wrap
    every attribute in a one-element list; newer ones may keep string quotes)."""
    if isinstance(raw, list) and len(raw) == 1:
        raw = raw[0]
    if isinstance(raw, str) and len(raw) >= 2 and raw[0] == raw[-1] == '"':
        raw = raw[1:-1]
    return raw


def blocks(parsed: dict[str, Any], kind: str) -> dict[str, Any]:
    """``locals`` / ``variable`` / ``output`` / ``module``: name -> body (merged over files)."""
    result: dict[str, Any] = {}
    for entry in parsed.get(kind, []):
        result.update({k: v for k, v in entry.items() if not k.startswith("__")})
    return result


def resources(parsed: dict[str, Any], rtype: str) -> dict[str, dict[str, Any]]:
    """``resource "<rtype>" "<name>"`` bodies by name."""
    found: dict[str, dict[str, Any]] = {}
    for entry in parsed.get("resource", []):
        for name, body in entry.get(rtype, {}).items():
            found[name] = body
    return found


def dynamic(body: dict[str, Any], name: str) -> dict[str, Any]:
    """The ``dynamic "<name>"`` block of a resource body."""
    for entry in body.get("dynamic", []):
        if name in entry:
            block = entry[name]
            return block[0] if isinstance(block, list) else block  # type: ignore[no-any-return]
    raise AssertionError(f"no dynamic {name!r} block")


def merged(*paths: Path) -> dict[str, list[Any]]:
    """Several files' top-level lists concatenated (a module is all its .tf files)."""
    result: dict[str, list[Any]] = {}
    for path in paths:
        for key, entries in _load(path).items():
            result.setdefault(key, []).extend(entries)
    return result


@pytest.fixture(scope="session")
def tf() -> Callable[..., dict[str, list[Any]]]:
    """``tf("modules/bus")`` -> every .tf file of that directory, merged;
    ``tf("modules/bus/main.tf")`` -> one file."""

    def load(relative: str) -> dict[str, list[Any]]:
        path = INFRA / relative
        return merged(*sorted(path.glob("*.tf"))) if path.is_dir() else merged(path)

    return load


@pytest.fixture(scope="session")
def topology() -> dict[str, Any]:
    return json.loads((INFRA / "topology.json").read_text(encoding="utf-8"))  # type: ignore[no-any-return]


@pytest.fixture
def default_settings(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[Any]:
    """``Settings()`` with its declared defaults: no CRM_* variable, no crm.toml."""
    from crm.settings import Settings

    for key in list(os.environ):
        if key.startswith("CRM_"):
            monkeypatch.delenv(key)
    monkeypatch.setenv("CRM_CONFIG", str(tmp_path / "absent.toml"))
    yield Settings()
