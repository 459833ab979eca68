"""``crm.consumer_process``: the consumers in child processes beside ``crm ingest``.

The children must do the consumers' work themselves (the parent only decides while
they run), finish what is queued when told to stop, and exit on their own when the
parent's end of the pipe closes without a word (the parent killed).
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import msgspec
import pytest

from bootstrap import topology
from crm.consumer_process import consumers_alongside
from crm.flows import ingest_one
from crm.ingest import Delivery
from crm.local import local_stack
from crm.runner import wire
from crm.settings import Settings
from tests.e2e.test_kill import assert_once_each, mails

pytestmark = pytest.mark.slow

SETTINGS = Settings()


def decided_not_consumed(state: Path, count: int, seed: int) -> None:
    """``count`` accepted first contacts decided into ``state``, their queues left full."""
    with local_stack(SETTINGS, state, fresh=True) as opened:
        for path in mails(state.parent / f"mail-{seed}", count, seed):
            ingest_one(opened.svc, Delivery(str(path), path.read_bytes()), [SETTINGS.public_address], drain=False)


def queued(state: Path) -> int:
    with local_stack(SETTINGS, state) as opened:
        svc = opened.svc
        return sum(sum(svc.queues.depth(name)) for _c, name, _arn in wire(svc, topology(svc.settings)))


def child_told(state: Path, after_settings: bytes, timeout: float) -> int:
    """A child on ``state`` given the settings line then ``after_settings`` in the same
    write, its stdin closed after (as it is when the parent exits): its exit status."""
    process = subprocess.Popen([sys.executable, "-m", "crm.consumer_process", str(state)], stdin=subprocess.PIPE)
    assert process.stdin is not None
    process.stdin.write(msgspec.json.encode(SETTINGS) + b"\n" + after_settings)
    process.stdin.close()
    return process.wait(timeout)


def test_the_children_do_the_consumers_work_while_the_parent_only_waits(tmp_path: Path) -> None:
    state = tmp_path / "state"
    decided_not_consumed(state, 8, 71)
    assert queued(state) > 0
    with consumers_alongside(SETTINGS, state, 2):
        deadline = time.monotonic() + 120
        while queued(state) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert queued(state) == 0, "the child processes left work queued"
    assert_once_each(state, 8)


def test_told_to_stop_a_child_finishes_what_is_queued_then_exits(tmp_path: Path) -> None:
    state = tmp_path / "state"
    decided_not_consumed(state, 6, 72)
    # settings and stop in one write: the child must still read them as two lines
    assert child_told(state, b"stop\n", 120) == 0
    assert queued(state) == 0
    assert_once_each(state, 6)


def test_a_child_whose_parent_is_gone_exits_without_finishing_the_queues(tmp_path: Path) -> None:
    state = tmp_path / "state"
    decided_not_consumed(state, 30, 73)
    assert child_told(state, b"", 60) == 0  # the pipe's end as a killed parent leaves it: no "stop"
    assert queued(state) > 0, "a child whose parent is gone should stop, not drain everything"


def test_a_child_given_no_state_folder_says_how_it_is_run() -> None:
    done = subprocess.run([sys.executable, "-m", "crm.consumer_process"], capture_output=True, text=True, input="")
    assert done.returncode == 2
    assert "usage: python -m crm.consumer_process STATE" in done.stderr
