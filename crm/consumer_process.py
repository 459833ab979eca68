"""The consumers in other processes while ``crm ingest`` decides mail (local backend).

On AWS the inbound Lambda and the consumers' Lambdas run side by side; locally one
process doing both leaves a core idle. This runs every consumer in processes of their
own on the same state folder while the command's process decides mail: the embedded
engine already makes two commands on one folder safe (one writer at a time, leases
and idempotency records of a dead process released), so nothing here coordinates
beyond "stop when told, or when the parent is gone".

A child is a fresh interpreter (``python -m crm.consumer_process STATE``; never a fork:
a forked SQLite connection is not usable, and ``multiprocessing``'s spawn would add a
resource-tracker process and re-import the command's ``__main__``). It reads the
command's settings as one JSON line on its stdin, opens the folder as any command does
and drains queue by queue. The rest of stdin is the parent's voice: ``stop`` means
finish what is queued and exit; the end of stdin without ``stop`` means the parent is
gone (``kill -9`` closes the pipe), and the child exits after the batch it holds: what
it committed stays, what it held is released by the engine. Told to stop, a child that
overruns ``STOP_WAIT_SECONDS`` is killed and the parent drains what is left itself, so
the command's results are complete whether or not a child ran.
"""

from __future__ import annotations

import os
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import msgspec

from crm.settings import Settings

IDLE_SECONDS = 0.02  # between polls of empty queues
STOP_WAIT_SECONDS = 120.0  # for the queued work a child finishes when told to stop
STOP = "stop"
GONE = "gone"  # what the pipe's end without a word means


def _heard(channel: IO[bytes]) -> str | None:
    """What the parent said since the last look, without waiting: ``"stop"``, ``"gone"``
    (its end of the pipe closed without a word) or None (nothing yet). ``channel`` is
    unbuffered, so what select sees is all there is."""
    if not select.select([channel], [], [], 0)[0]:
        return None
    line = channel.readline()
    return STOP if line.strip() == STOP.encode() else GONE


def run(settings: Settings, state: Path, channel: IO[bytes]) -> None:
    """Drain every queue of ``state`` until the parent says stop (then until the queues
    are empty) or is gone (then at once)."""
    from bootstrap import topology
    from crm.local import local_stack
    from crm.runner import DrainReport, drain_pass, wire

    with local_stack(settings, state) as opened:
        wired = wire(opened.svc, topology(opened.svc.settings))
        report = DrainReport()
        stopping = False
        while True:
            if not stopping:
                heard = _heard(channel)
                if heard == GONE:
                    return
                stopping = heard == STOP
            if drain_pass(opened.svc, wired, report):
                continue
            if stopping:
                return
            time.sleep(IDLE_SECONDS)


@contextmanager
def consumers_alongside(settings: Settings, state: Path, processes: int = 1) -> Iterator[None]:
    """While the block runs, ``processes`` child processes run the consumers on ``state``."""
    # the children import this package as the parent does, wherever it was found
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    children = [
        subprocess.Popen(
            [sys.executable, "-m", "crm.consumer_process", str(state)],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            env=environment,
            text=True,
        )
        for _ in range(processes)
    ]
    settings_line = msgspec.json.encode(settings).decode() + "\n"
    try:
        for child in children:
            assert child.stdin is not None
            child.stdin.write(settings_line)
            child.stdin.flush()
        yield
    finally:
        for child in children:
            assert child.stdin is not None
            try:
                child.stdin.write(STOP + "\n")
                child.stdin.close()
            except OSError:  # it already exited
                pass
        for child in children:
            try:
                child.wait(STOP_WAIT_SECONDS)
            except subprocess.TimeoutExpired:
                child.kill()  # what it held goes back to its queue: the parent's drain takes it
                child.wait()


def main() -> int:
    if len(sys.argv) != 2:
        print("usage: python -m crm.consumer_process STATE (the settings as JSON on stdin)", file=sys.stderr)
        return 2
    # unbuffered: a line read leaves the next one in the pipe, where select sees it
    with open(sys.stdin.fileno(), "rb", buffering=0, closefd=False) as channel:
        settings = msgspec.json.decode(channel.readline(), type=Settings)
        run(settings, Path(sys.argv[1]), channel)
    return 0


if __name__ == "__main__":
    sys.exit(main())
