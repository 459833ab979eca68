"""Rebuild a projection from the event store, in parallel by stream.

Into the standby table (``into``): empty it, fill it, then switch readers to it
through the pointer and catch up whatever arrived meanwhile. The standby is the
other table of the pair infra declares (``projections.tables.conversations_tables``);
any other name is refused: the code never creates a table. In place: overwrite
each item with the fold of its whole stream.
"""

from __future__ import annotations

import gc
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from typing import Any

from events import Envelope, from_record
from events.streams import CONVERSATION_PREFIX, stream_named
from ports import Services, VersionConflict
from projections.conversations import NAME, fold
from projections.tables import conversations_tables

PROJECTIONS = (NAME,)


@dataclass
class ReplayReport:
    projection: str
    table: str
    streams: int
    events: int
    seconds: float
    write_calls: int

    @property
    def events_per_second(self) -> float:
        return self.events / self.seconds if self.seconds else float(self.events)

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "events_per_second": round(self.events_per_second, 1)}


def group_streams(store: Any, stream: str | None) -> dict[str, list[Envelope]]:
    if stream:
        stream_id = stream_named(stream)
        return {stream_id: store.read(stream_id)}
    grouped: dict[str, list[Envelope]] = defaultdict(list)
    for item in store.scan_items():
        if "type" in item and str(item["pk"]).startswith(CONVERSATION_PREFIX):
            grouped[str(item["pk"])].append(from_record(item))
    for envelopes in grouped.values():
        envelopes.sort(key=lambda e: e.meta.version)
    return grouped


def check_target(into: str, live: str, configured: str) -> None:
    """``--into`` must name the standby of the pair infra manages, never the live table."""
    managed = conversations_tables(configured)
    if into not in managed:
        raise ValueError(
            f"--into {into!r}: not a conversations table infra manages ({' or '.join(managed)}); "
            "the code never creates tables (declare new ones in infra/modules/tables)"
        )
    if into == live:
        raise ValueError(
            f"--into {into!r} is the live table readers use now; rebuild it in place (no --into) "
            f"or into {next(t for t in managed if t != into)!r}"
        )


@contextmanager
def _cycle_collection_paused() -> Iterator[None]:
    """While the replay holds every event of the store at once. Each of its hundreds of
    thousands of live objects makes the collector's every pass over the old generation
    longer: with the collector on, replaying 100,000 events locally took 4.1-4.9 s instead
    of 2.5 s. Nothing built here is a cycle, so reference counting frees it all."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _folded(grouped: dict[str, list[Envelope]], shards: int, quiet: bool) -> list[dict[str, Any]]:
    """Each stream folded into its item. The fold is pure Python: in this thread (threads
    under the GIL only add their hand-offs); the writes are I/O and go in parallel."""
    items = []
    step = max(1, len(grouped) // 10)  # progress every tenth
    for done, envelopes in enumerate(grouped.values(), start=1):
        item = fold(envelopes, shards=shards)
        if item is not None:
            items.append(item)
        if not quiet and (done % step == 0 or done == len(grouped)):
            print(f"  {done}/{len(grouped)} streams folded", file=sys.stderr)
    return items


def replay(
    svc: Services,
    *,
    projection: str = NAME,
    into: str | None = None,
    stream: str | None = None,
    workers: int = 4,
    quiet: bool = False,
) -> ReplayReport:
    from projections.catch_up import catch_up
    from projections.pointer import current_table, switch_to

    if projection not in PROJECTIONS:
        raise ValueError(f"unknown projection {projection!r}; known: {', '.join(PROJECTIONS)}")
    started = time.perf_counter()
    settings, store = svc.settings, svc.store
    live = current_table(svc)
    table_name = into or live
    if into:
        check_target(into, live, settings.conversations_table)
        svc.projections.table(into).empty()
    table = svc.projections.table(table_name)
    with _cycle_collection_paused():
        grouped = group_streams(store, stream)
        items = _folded(grouped, settings.status_shards, quiet)
    chunks = [items[i :: max(1, workers)] for i in range(max(1, workers))]
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        write_calls = sum(pool.map(table.batch_put, chunks))
    if into:
        switch_to(svc, into)
        # events that arrived while we folded: the projector's catch-up brings them in
        for stream_id in grouped:
            catch_up(table, store, stream_id, shards=settings.status_shards, conflict=VersionConflict)
    events = sum(len(v) for v in grouped.values())
    report = ReplayReport(projection, table_name, len(grouped), events, time.perf_counter() - started, write_calls)
    return report
