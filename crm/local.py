"""The local stack: the whole topology on the embedded engine.

State lives in one folder: ``crm.sqlite3`` (events, the projection, queues and their
dead-letter queues, idempotency records, parameters, the outbox index), ``mail/``
(every object of the bucket: raw mail, quarantine, attachments) and ``outbox/`` (every
mail sent, as .eml). A command opens it and starts at once: nothing is replayed at
start and nothing rewritten at exit; every step commits as it goes, so a kill at any
instant loses nothing, and concurrent commands on one folder take turns to write.

A state folder of the moto-based stack (``events.jsonl``, ``dlq.jsonl``,
``parameters.json``, ``outbox/index.jsonl``) is imported once, on first open, and its
files are renamed ``*.imported``.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from crm.settings import Settings, replaced
from ports import ParameterNotFound, Services

IMPORTED_PARAMETER = "/crm/local/imported-state"


@dataclass
class Stack:
    """A running stack a command works on: its services and, locally, its state folder."""

    svc: Services
    state: Path | None = None

    @property
    def settings(self) -> Settings:
        return self.svc.settings

    @property
    def outbox(self) -> Path:
        if self.state is None:
            raise ValueError("a deployed stack keeps no outbox")
        return self.state / "outbox"


def local_settings(settings: Settings) -> Settings:
    """Locally a failed consumer retries at once unless CRM_BACKOFF_BASE_SECONDS says
    otherwise (nobody waits for a backoff meant for SES's throttling), and hook rules
    are matched by the bus itself."""
    update: dict[str, object] = {"endpoint_url": None, "rule_matching": "in-process"}
    if "CRM_BACKOFF_BASE_SECONDS" not in os.environ:
        update["backoff_base_seconds"] = 0.0
    return replaced(settings, **update)


@contextmanager
def local_stack(settings: Settings, state: Path, *, fresh: bool = False) -> Iterator[Stack]:
    """Open (or create) the state folder ``state`` on the embedded engine."""
    from bootstrap import bootstrap

    if fresh and state.exists():
        shutil.rmtree(state)
    svc = bootstrap(local_settings(settings), backend="local", state=state)
    try:
        import_legacy_state(svc, state)
        yield Stack(svc, state)
    finally:
        svc.close()


def load_state_files(svc: Services, state: Path) -> int:
    """Load a state folder's ``events.jsonl``, ``parameters.json`` and ``dlq.jsonl`` (the
    files ``crm --stack moto`` writes) into ``svc``; -> items loaded."""
    events_file = state / "events.jsonl"
    items = (
        [json.loads(line) for line in events_file.read_text(encoding="utf-8").splitlines() if line.strip()]
        if events_file.exists()
        else []
    )
    for start in range(0, len(items), 500):
        svc.store.put_raw_items(items[start : start + 500])
    parameters_file = state / "parameters.json"
    if parameters_file.exists():
        for name, value in json.loads(parameters_file.read_text(encoding="utf-8")).items():
            svc.parameters.put(name, value)
    dlq_file = state / "dlq.jsonl"
    if dlq_file.exists():
        for line in dlq_file.read_text(encoding="utf-8").splitlines():
            if line.strip():
                entry = json.loads(line)
                svc.queues.send(entry["queue"], entry["body"], entry.get("attributes"))
    return len(items)


def import_legacy_state(svc: Services, state: Path) -> bool:
    """Bring a moto-era state folder into the engine, once; True if there was one."""
    events_file = state / "events.jsonl"
    if not events_file.exists():
        return False
    try:
        svc.parameters.get(IMPORTED_PARAMETER, ttl_seconds=0)
        return False  # imported by an earlier open that was killed before the rename
    except ParameterNotFound:
        pass
    items = load_state_files(svc, state)
    parameters_file, dlq_file = state / "parameters.json", state / "dlq.jsonl"
    legacy_outbox = state / "outbox" / "index.jsonl"
    importer = getattr(svc.outbox, "import_index", None)
    if legacy_outbox.exists() and importer is not None:
        importer(legacy_outbox)
    from projections.replay import replay

    replay(svc, quiet=True)
    svc.parameters.put(IMPORTED_PARAMETER, str(items))
    for path in (events_file, parameters_file, dlq_file):
        if path.exists():
            path.replace(path.with_name(path.name + ".imported"))
    return True
