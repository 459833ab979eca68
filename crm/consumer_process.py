"""The consumers in a second process while ``crm ingest`` decides mail (local backend).

On AWS the inbound Lambda and the consumers' Lambdas run side by side; locally one
process doing both leaves a core idle. This runs every consumer in a process of its
own on the same state folder while the command's process decides mail: the embedded
engine already makes two commands on one folder safe (one writer at a time, leases
and idempotency records of a dead process released), so nothing here coordinates
beyond "stop when told, or when the parent is gone".

The child is spawned (never forked: a forked SQLite connection is not usable), opens
the folder as any command does and drains queue by queue. Told to stop, it finishes
the batch it holds and exits; the parent then drains what is left itself, so the
command's results are complete whether or not the child ran. Killed with the parent
(``kill -9``), the child notices the parent is gone at its next batch and exits:
what it committed stays, what it held is released by the engine.
"""

from __future__ import annotations

import multiprocessing
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from multiprocessing.synchronize import Event
from pathlib import Path

from crm.settings import Settings

IDLE_SECONDS = 0.02  # between polls of empty queues
STOP_WAIT_SECONDS = 120.0  # for the batch the child holds when told to stop


def _run(settings: Settings, state: Path, stop: Event, parent: int) -> None:
    from bootstrap import topology
    from crm.local import local_stack
    from crm.runner import DrainReport, drain_pass, wire

    with local_stack(settings, state) as opened:
        wired = wire(opened.svc, topology(opened.svc.settings))
        report = DrainReport()
        while os.getppid() == parent:
            if drain_pass(opened.svc, wired, report):
                continue
            if stop.is_set():
                return
            time.sleep(IDLE_SECONDS)


@contextmanager
def consumers_alongside(settings: Settings, state: Path, processes: int = 1) -> Iterator[None]:
    """While the block runs, ``processes`` child processes run the consumers on ``state``."""
    context = multiprocessing.get_context("spawn")
    stop = context.Event()
    children = [
        context.Process(target=_run, args=(settings, state, stop, os.getpid()), name=f"crm-consumers-{n}", daemon=True)
        for n in range(processes)
    ]
    for child in children:
        child.start()
    try:
        yield
    finally:
        stop.set()
        for child in children:
            child.join(STOP_WAIT_SECONDS)
            if child.is_alive():
                child.terminate()  # what it held goes back to its queue: the parent's drain takes it
                child.join()
