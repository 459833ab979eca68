"""Kill -9 at random instants and concurrent commands, on one state folder of the local
backend: after the reruns, ``crm audit`` finds nothing lost and nothing doubled.

Each trial runs the real ``crm`` command in a child process and kills it with SIGKILL
after a random delay (anywhere from before the engine opens to the last mail), then
runs the command again until it completes. The outbox is then compared with what
was due: one forward per accepted mail, one acknowledgement per new authenticated
correspondent, each mail's Message-ID once.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import make_mail

pytestmark = pytest.mark.slow

TRIALS = int(os.environ.get("CRM_KILL_TRIALS", "6"))
AUTH = "Authentication-Results: amazonses.com; spf=pass smtp.mailfrom={d}; dkim=pass header.d={d}; dmarc=pass header.from={d}"


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CRM_", "AWS_"))}
    empty = Path(os.environ.get("TMPDIR", "/tmp")) / "crm-kill-empty.toml"
    empty.write_text("", encoding="utf-8")
    env["CRM_CONFIG"] = str(empty)
    env["POWERTOOLS_LOG_LEVEL"] = "ERROR"
    return env


def crm(state: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "crm.cli", "--state", str(state), *args],
        capture_output=True,
        text=True,
        env=_env(),
        timeout=timeout,
    )


def start(state: Path, *args: str, log: Path | None = None) -> subprocess.Popen[str]:
    """``crm args`` in the background; its stderr to ``log`` (where a failure says why), else dropped."""
    with log.open("w") if log is not None else open(os.devnull, "w") as stderr:  # the child keeps its own copy
        return subprocess.Popen(
            [sys.executable, "-m", "crm.cli", "--state", str(state), *args],
            stdout=subprocess.DEVNULL,
            stderr=stderr,
            text=True,
            env=_env(),
        )


def finished(process: subprocess.Popen[str], log: Path) -> None:
    code = process.wait(timeout=300)
    errors = [line for line in log.read_text(encoding="utf-8", errors="replace").splitlines() if '"level":"INFO"' not in line]
    assert code == 0, f"exit {code}:\n" + "\n".join(errors[-40:])


def killed_then_completed(state: Path, rng: random.Random, *args: str, kills: int = 2) -> list[float]:
    """Run ``crm args`` ``kills`` times, each killed -9 at a random instant, then once to the end."""
    delays = []
    for _ in range(kills):
        process = start(state, *args)
        delay = rng.uniform(0.05, 2.5)
        delays.append(delay)
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
    done = crm(state, *args)
    assert done.returncode == 0, done.stderr
    return delays


def mails(folder: Path, count: int, seed: int) -> list[Path]:
    """``count`` authenticated first contacts from different people, some with an attachment."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for index in range(count):
        domain = f"firm{seed}-{index}.test"
        raw = make_mail(
            sender=f"Person {index} <p{index}@{domain}>",
            subject=f"Role {seed}-{index} at Firm {index}",
            message_id=f"<m{seed}.{index}@{domain}>",
            headers={"Authentication-Results": AUTH.format(d=domain)},
            attachments=[("cv.txt", "text/plain", b"Curriculum vitae\nPython\n" * 20)] if index % 3 == 0 else None,
        )
        path = folder / f"{index:03d}.eml"
        path.write_bytes(raw)
        paths.append(path)
    return paths


def audit(state: Path) -> dict[str, Any]:
    done = crm(state, "audit", "--json")
    report: dict[str, Any] = json.loads(done.stdout)
    return report


def outbox(state: Path) -> list[dict[str, Any]]:
    done = crm(state, "outbox", "--json")
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def assert_once_each(state: Path, accepted: int) -> None:
    report = audit(state)
    assert report["ok"], json.dumps([c for c in report["checks"] if not c["ok"]], indent=1)
    sent = outbox(state)
    kinds = Counter(entry["kind"] for entry in sent)
    assert kinds["forward"] == accepted and kinds["ack"] == accepted, kinds
    subjects = Counter((entry["kind"], entry["subject"]) for entry in sent)
    assert max(subjects.values()) == 1, [s for s, n in subjects.items() if n > 1]


@pytest.mark.parametrize("trial", range(TRIALS))
def test_ingest_killed_at_random_instants_loses_and_doubles_nothing(tmp_path: Path, trial: int) -> None:
    rng = random.Random(1000 + trial)
    folder = tmp_path / "mail"
    count = 12
    mails(folder, count, trial)
    state = tmp_path / "state"
    killed_then_completed(state, rng, "ingest", str(folder), kills=rng.randint(1, 3))
    assert_once_each(state, count)


def test_two_concurrent_ingests_of_overlapping_mail(tmp_path: Path) -> None:
    folder = tmp_path / "mail"
    paths = mails(folder, 16, 77)
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    for path in paths[:10]:
        (first / path.name).write_bytes(path.read_bytes())
    for path in paths[6:]:
        (second / path.name).write_bytes(path.read_bytes())
    state = tmp_path / "state"
    logs = [tmp_path / "a.log", tmp_path / "b.log"]
    processes = [start(state, "ingest", str(first), log=logs[0]), start(state, "ingest", str(second), log=logs[1])]
    for process, log in zip(processes, logs, strict=True):
        finished(process, log)
    assert_once_each(state, 16)


def test_concurrent_releases_send_once(tmp_path: Path) -> None:
    folder = tmp_path / "mail"
    mails(folder, 4, 88)
    state = tmp_path / "state"
    done = crm(state, "ingest", "--verdict", "spam=FAIL", str(folder), "--json")
    assert done.returncode == 0, done.stderr
    quarantined = [json.loads(line)["message_id"] for line in done.stdout.splitlines() if line.strip()]
    assert len(quarantined) == 4
    processes = [start(state, "spam", "release", ses_id) for ses_id in quarantined for _ in range(2)]
    for process in processes:
        process.wait(timeout=300)
    assert_once_each(state, 4)


def test_release_and_replay_killed_then_rerun(tmp_path: Path) -> None:
    rng = random.Random(5)
    folder = tmp_path / "mail"
    mails(folder, 6, 99)
    state = tmp_path / "state"
    done = crm(state, "ingest", "--verdict", "spam=FAIL", str(folder), "--json")
    quarantined = [json.loads(line)["message_id"] for line in done.stdout.splitlines() if line.strip()]
    for ses_id in quarantined:
        killed_then_completed(state, rng, "spam", "release", ses_id, kills=1)
    killed_then_completed(state, rng, "replay", kills=2)
    assert_once_each(state, 6)


@pytest.mark.parametrize("trial", range(3))
def test_ingest_with_consumer_processes_killed_at_random_instants_loses_and_doubles_nothing(tmp_path: Path, trial: int) -> None:
    """Past the first batch the consumers run in child processes beside the decisions;
    a kill of the command leaves them orphaned mid-batch, beside the rerun's own."""
    rng = random.Random(2000 + trial)
    folder = tmp_path / "mail"
    count = 45  # the children start after the first 25
    mails(folder, count, 500 + trial)
    state = tmp_path / "state"
    killed_then_completed(state, rng, "ingest", "--consumer-processes", "2", str(folder), kills=rng.randint(1, 2))
    assert_once_each(state, count)


def test_ingest_with_consumer_processes_reports_what_one_process_does(tmp_path: Path) -> None:
    folder = tmp_path / "mail"
    mails(folder, 40, 901)
    runs = {}
    for processes in ("0", "2"):
        state = tmp_path / f"state-{processes}"
        done = crm(state, "ingest", "--consumer-processes", processes, str(folder), "--json")
        assert done.returncode == 0, done.stderr
        records = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
        # every record carries the events its mail caused, consumers' included
        runs[processes] = sorted((r["source"], r["outcome"], sorted(r["events"])) for r in records)
        assert_once_each(state, 40)
    assert runs["0"] == runs["2"]
    assert all("MessageForwarded" in events for _s, _o, events in runs["2"])


def test_a_negative_consumer_process_count_is_refused_by_name(tmp_path: Path) -> None:
    done = crm(tmp_path / "state", "ingest", "--consumer-processes", "-1", str(tmp_path))
    assert done.returncode == 2
    assert "--consumer-processes" in done.stderr and "'-1'" in done.stderr
