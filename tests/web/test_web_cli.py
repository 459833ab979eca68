"""Every web action is a CLI command too, and both record the same events; the reads
the web view added (stats, raw mail, rules' last matches) are commands as well; and
`crm web` itself serves on 127.0.0.1, prints its URL, holds no lock a CLI command on the
same state waits for, and stops on SIGTERM with every action committed."""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from crm.cli import main
from tests.web.conftest import isolated, running_stack

ROOT = Path(__file__).resolve().parents[2]
NOW = "2100-01-01T00:00:00Z"


def cli(capsys: pytest.CaptureFixture[Any], *argv: str) -> str:
    code = main(list(argv))
    out, err = capsys.readouterr()
    assert code == 0, err
    return out.decode() if isinstance(out, bytes) else str(out)


def shapes(events: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Each stream's event types in order: what an action recorded, without ids and times."""
    streams: dict[str, list[str]] = {}
    for record in events:
        streams.setdefault(record["stream_id"], []).append(record["type"])
    return streams


def quarantined_id(capsys: pytest.CaptureFixture[Any], state: str, subject: str) -> str:
    listing = [json.loads(line) for line in cli(capsys, "--state", state, "spam", "list", "--json").splitlines()]
    return str(next(r["id"] for r in listing if r["subject"] == subject))


def test_web_actions_record_what_the_cli_records(demo_state: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from crm.views import envelope_record
    from crm.web.app import create_app
    from crm.web.backend import CrmBackend

    by_cli, by_web = tmp_path / "cli", tmp_path / "web"
    shutil.copytree(demo_state, by_cli / "state")
    mark = "mark-lee-globex-d3fa349d"
    with isolated(tmp_path):
        state = str(by_cli / "state")
        bob = quarantined_id(capsys, state, "Partnership inquiry")
        before = shapes([json.loads(x) for x in cli(capsys, "--state", state, "events", "--json").splitlines()])
        cli(capsys, "--state", state, "spam", "release", bob)
        cli(capsys, "--state", state, "conversations", "set-status", mark, "closed", "--note", "not for me")
        cli(capsys, "--state", state, "followups", "run", "--now", NOW)
        after_cli = shapes([json.loads(x) for x in cli(capsys, "--state", state, "events", "--json").splitlines()])
    with running_stack(demo_state, by_web) as stack:
        client = create_app(CrmBackend(stack.svc)).test_client()
        page = client.get("/followups").get_data(as_text=True)
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        for path, data in (
            (f"/quarantine/{bob}/release", {}),
            (f"/conversations/{mark}/status", {"status": "closed", "note": "not for me"}),
            ("/followups/run", {"now": NOW}),
        ):
            assert client.post(path, data={"csrf_token": token, **data}).status_code == 303, path
        after_web = shapes([envelope_record(e) for e in stack.svc.store.all_events()])
    assert after_web == after_cli
    added = {s: types[len(before.get(s, [])) :] for s, types in after_cli.items() if types != before.get(s)}
    assert added[f"quarantine#{bob}"] == ["SpamReleased"]
    assert "ConversationStatusChanged" in added[f"conversation#{mark}"]
    assert any("FollowUpDue" in types for types in added.values())
    assert any(s.startswith("conversation#") and s not in before and "MessageReceived" in t for s, t in added.items())


def test_the_reads_the_web_view_shows_are_commands(
    demo_state: Path, tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    capsys = capsysbinary  # `raw` writes bytes
    shutil.copytree(demo_state, tmp_path / "state")
    state = str(tmp_path / "state")
    with isolated(tmp_path):
        stats = json.loads(cli(capsys, "--state", state, "stats", "--json"))
        assert sum(w["quarantined"] for w in stats["weeks"]) == 2
        assert sum(w["accepted"] + w["auto-reply"] for w in stats["weeks"]) == 6  # 4 demo mails in (06 an auto-reply), 2 of ours
        assert sum(b["count"] for b in stats["scores"]) == 5
        assert stats["statuses"]["new"] == 4 and stats["statuses"]["replied"] == 1
        rules = [json.loads(x) for x in cli(capsys, "--state", state, "rules", "list", "--matches", "--json").splitlines()]
        scoring = next(r for r in rules if r["name"] == "lead-scoring")
        assert scoring["matches"] >= 5 and len(scoring["last_matches"]) == 5
        times = [m["occurred_at"] for m in scoring["last_matches"]]
        assert times == sorted(times, reverse=True)
        spam = quarantined_id(capsys, state, "Partnership inquiry")
        assert main(["--state", state, "spam", "raw", spam]) == 0
        raw = capsysbinary.readouterr().out
        assert b"Subject: Partnership inquiry" in raw
        assert main(["--state", state, "conversations", "raw", "mark-lee-globex-d3fa349d", spam]) == 2  # not its mail


def test_crm_web_serves_localhost_lets_cli_commands_write_and_stops_on_sigterm(demo_state: Path, tmp_path: Path) -> None:
    from tests.e2e.test_serve import free_port

    state = tmp_path / "state"
    shutil.copytree(demo_state, state)
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CRM_", "AWS_"))}
    (tmp_path / "crm.toml").write_text("", encoding="utf-8")
    env["CRM_CONFIG"] = str(tmp_path / "crm.toml")
    env["AWS_DEFAULT_REGION"] = "us-east-1"
    base = f"http://127.0.0.1:{port}"
    log = tmp_path / "web.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "crm.cli", "--state", str(state), "web", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 90
        while f"{base}/" not in log.read_text(encoding="utf-8", errors="replace"):
            assert proc.poll() is None, log.read_text(encoding="utf-8", errors="replace")
            assert time.monotonic() < deadline, "crm web did not print its URL"
            time.sleep(0.2)
        with urllib.request.urlopen(f"{base}/followups", timeout=30) as response:
            page = response.read().decode()
            cookie = response.headers["Set-Cookie"].split(";")[0]
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
        request = urllib.request.Request(
            f"{base}/conversations/mark-lee-globex-d3fa349d/status",
            data=f"csrf_token={token}&status=offer".encode(),
            headers={"Cookie": cookie},
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 200  # after the 303
        # the server is up and has read and written: a command on the same state writes at once
        # (a held write lock would keep it waiting for the engine's 60 s busy timeout)
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "crm.cli",
                "--state",
                str(state),
                "conversations",
                "set-status",
                "mark-lee-globex-d3fa349d",
                "closed",
                "--note",
                "from the CLI",
            ],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=45,
        )
        assert done.returncode == 0, done.stderr
        with urllib.request.urlopen(f"{base}/conversations/mark-lee-globex-d3fa349d", timeout=30) as response:
            assert '<dd id="status">closed</dd>' in response.read().decode()  # the view reads what the CLI wrote
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "crm web: stopped" in log.read_text(encoding="utf-8")
    listed = subprocess.run(
        [
            sys.executable,
            "-m",
            "crm.cli",
            "--state",
            str(state),
            "events",
            "--json",
            "--stream",
            "conversation#mark-lee-globex-d3fa349d",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    changes = [
        json.loads(line)["data"] for line in listed.splitlines() if json.loads(line)["type"] == "ConversationStatusChanged"
    ]
    assert [(c["status"], c.get("note")) for c in changes] == [("offer", None), ("closed", "from the CLI")]


def test_crm_web_serves_the_moto_stack(demo_state: Path, tmp_path: Path) -> None:
    """The same view on the aws adapters (moto): the backend only sees Services."""
    import argparse

    from crm.cli import open_stack
    from crm.web.server import serving

    with isolated(tmp_path):
        args = argparse.Namespace(stack="moto", state=str(tmp_path / "moto-state"), stack_file=None)
        with open_stack(args, fresh=True) as opened, serving(opened.svc) as base:
            from crm.demo import run_demo

            run_demo(opened, as_json=True)
            with urllib.request.urlopen(f"{base}/", timeout=30) as response:
                page = response.read().decode()
            with urllib.request.urlopen(f"{base}/quarantine", timeout=30) as response:
                quarantine = response.read().decode()
    assert page.count('class="conversation"') >= 3
    assert "Partnership inquiry" in quarantine
