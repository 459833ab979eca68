"""`crm --stack aws`: resource names from `tofu output -json`, the real AWS APIs (here moto)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from crm.cli import main
from crm.settings import Settings
from tests.conftest import make_mail

OUTPUTS = {
    "bus_name": "prod-crm",
    "events_table": "prod-crm-events",
    "conversations_table": "prod-crm-conversations",
    "bucket": "prod-crm-mail",
    "queue_prefix": "prod-crm-",
    "patterns_parameter": "/prod-crm/spam-patterns",
}


@pytest.fixture
def deployed(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    from moto import mock_aws

    from adapters.aws import clear_clients
    from crm.provision import provision

    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing"}.items():
        monkeypatch.setenv(name, value)
    stack_file = tmp_path / "stack.json"
    stack_file.write_text(
        json.dumps({k: {"value": v, "type": "string", "sensitive": False} for k, v in OUTPUTS.items()}), encoding="utf-8"
    )
    with mock_aws():
        clear_clients()
        settings = Settings(**OUTPUTS)  # type: ignore[arg-type]
        provision(settings)
        yield stack_file
        clear_clients()


def test_read_and_admin_commands_use_the_deployed_names(deployed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from bootstrap import bootstrap
    from events.catalogue import Verdicts
    from producers.inbound import process
    from producers.receipt import Receipt

    aws = ["--stack", "aws", "--stack-file", str(deployed)]
    assert main([*aws, "dlq", "list", "--json"]) == 0
    queues = [json.loads(line)["queue"] for line in capsys.readouterr().out.splitlines()]
    assert "prod-crm-forward" in queues
    assert main([*aws, "spam", "patterns", "add", "acme-spam", r"\bacme deals\b"]) == 0
    capsys.readouterr()
    assert main([*aws, "spam", "patterns", "test", "great ACME deals inside"]) == 0
    assert "acme-spam" in capsys.readouterr().out
    # a mail decided in "AWS" shows in the deployed event store and quarantine
    svc = bootstrap(Settings(**OUTPUTS), backend="aws")  # type: ignore[arg-type]
    svc.blobs.put("inbox/ses-9", make_mail(body="acme deals for you"))
    process(
        svc,
        Receipt(
            ses_message_id="ses-9",
            timestamp="2026-11-20T10:00:00Z",
            envelope_sender="x@y.example",
            recipients=["hello@example.com"],
            verdicts=Verdicts(),
        ),
    )
    capsys.readouterr()  # the handler's structured log lines
    assert main([*aws, "spam", "list", "--json"]) == 0
    listed = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["pattern_id"] for r in listed] == ["acme-spam"]
    assert main([*aws, "events", "--json"]) == 0
    assert [json.loads(line)["type"] for line in capsys.readouterr().out.splitlines()] == ["SpamRejected"]
    assert main([*aws, "replay", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["table"] == "prod-crm-conversations"


def test_mail_commands_refuse_a_deployed_stack(deployed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--stack", "aws", "--stack-file", str(deployed), "ingest", "x.eml"]) == 2
    assert "local stack only" in capsys.readouterr().err


def test_archive_replay_targets_only_the_projection_rule(deployed: Path, capsys: pytest.CaptureFixture[str]) -> None:
    aws = ["--stack", "aws", "--stack-file", str(deployed)]
    assert main([*aws, "replay", "--archive", "--from", "2026-11-01T00:00:00Z", "--to", "2026-11-23T00:00:00Z"]) == 0
    started = json.loads(capsys.readouterr().out)
    assert started["replay"].startswith("crm-replay-")
    assert [arn.rsplit("/", 1)[-1] for arn in started["rules"]] == ["crm-projector"]
    assert main([*aws, "replay", "--archive", "--from", "yesterday", "--to", "today"]) == 2
    assert "--from/--to" in capsys.readouterr().err
