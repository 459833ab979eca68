"""The README's "Add a rule" walkthrough, followed word for word."""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from crm.cli import main
from tests.conftest import EXAMPLES, ROOT


def readme_rule() -> tuple[str, str]:
    """(file name, code) of the walkthrough's rule, as the README shows it."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("## Add a rule", 1)[1]
    name = re.search(r"with the file `([^`]+\.py)`:", section)
    code = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert name and code, "the README lost its walkthrough"
    return name.group(1), code.group(1)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    # an imported rules file stays in sys.modules (as in a Lambda container): drop it, so a later
    # test loads its own file afresh
    for module in [m for m in sys.modules if m.startswith("crm_user_rules")]:
        del sys.modules[module]


def test_the_walkthrough_works_as_written(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # 1. Create a folder my_rules with the file my_rules/vip.py
    filename, code = readme_rule()
    (workdir / filename).parent.mkdir(parents=True)
    (workdir / filename).write_text(code, encoding="utf-8")
    # 2. export CRM_RULES_MODULE=my_rules
    monkeypatch.setenv("CRM_RULES_MODULE", "my_rules")
    state = str(workdir / "state")
    # 3. crm rules list shows vip-alert
    assert main(["--state", state, "rules", "list"]) == 0
    assert "vip-alert" in capsys.readouterr().out
    # 4. crm ingest examples/mail/01-recruiter-first-contact.eml, then crm outbox lists a notice
    assert main(["--state", state, "ingest", str(EXAMPLES / "01-recruiter-first-contact.eml")]) == 0
    capsys.readouterr()
    assert main(["--state", state, "outbox", "--json"]) == 0
    sent = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    notices = [m for m in sent if m["kind"] == "notice"]
    assert len(notices) == 1
    assert notices[0]["to"] == ["owner@private.example.net"] and notices[0]["subject"] == "VIP: Jane Doe wrote"
    # 3 (again). crm rules test NAME EVENT.json: matches, and shows what it would emit, sending nothing
    assert main(["--state", state, "events", "--json"]) == 0
    received = next(
        json.loads(line) for line in capsys.readouterr().out.splitlines() if json.loads(line)["type"] == "MessageReceived"
    )
    meta = {
        k: received[k]
        for k in ("event_id", "stream_id", "version", "occurred_at", "schema_version", "correlation_id", "causation_id")
    }
    event_file = workdir / "event.json"
    event_file.write_text(
        json.dumps(
            {"source": received["source"], "detail-type": "MessageReceived", "detail": {"meta": meta, "data": received["data"]}}
        ),
        encoding="utf-8",
    )
    assert main(["--state", state, "rules", "test", "vip-alert", str(event_file), "--json"]) == 0
    verdict = json.loads(capsys.readouterr().out)
    assert verdict["matches"] is True and verdict["outputs"][0]["subject"] == "VIP: Jane Doe wrote"
    other = json.loads(event_file.read_text())
    other["detail"]["data"]["from_address"] = "someone@elsewhere.example"
    event_file.write_text(json.dumps(other), encoding="utf-8")
    assert main(["--state", state, "rules", "test", "vip-alert", str(event_file), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["matches"] is False
    assert main(["--state", state, "outbox", "--json"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == len(sent)  # testing sent nothing


def test_a_failing_rule_is_parked_and_never_blocks_the_mail_flow(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    (workdir / "my_rules").mkdir()
    (workdir / "my_rules" / "broken.py").write_text(
        "from consumers.rules import rule\n\n\n"
        "@rule('vip-alert', pattern={'detail-type': ['MessageReceived']})\n"
        "def broken(event, context):\n    raise RuntimeError('bug in my rule')\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("CRM_RULES_MODULE", "my_rules")
    state = str(workdir / "state")
    assert main(["--state", state, "ingest", "--json", str(EXAMPLES / "01-recruiter-first-contact.eml")]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["outcome"] == "accepted"
    assert {"AcknowledgementSent", "MessageForwarded", "LeadScored"} <= set(result["events"])
    assert main(["--state", state, "dlq", "list", "--json"]) == 0
    parked = {r["queue"]: r["count"] for r in map(json.loads, capsys.readouterr().out.splitlines())}
    assert parked["crm-rules"] == 1 and parked["crm-forward"] == 0
