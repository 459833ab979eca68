"""`crm ingest --verdict …` as a user runs it: the verdicts decide who gets an acknowledgement."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crm.cli import main
from tests.conftest import make_mail


def _outbox_kinds(capsys: pytest.CaptureFixture[str], state: str) -> list[str]:
    capsys.readouterr()
    assert main(["--state", state, "outbox", "--json"]) == 0
    return sorted(json.loads(line)["kind"] for line in capsys.readouterr().out.splitlines() if line.strip())


def test_forged_mail_is_forwarded_without_ack_and_authenticated_mail_is_acknowledged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    forged, genuine = tmp_path / "forged.eml", tmp_path / "genuine.eml"
    forged.write_bytes(make_mail(sender="Victim <victim@victim.example>"))
    genuine.write_bytes(make_mail())
    state = str(tmp_path / "state")
    assert (
        main(
            [
                "--state",
                state,
                "ingest",
                "--json",
                "--verdict",
                "spf=FAIL",
                "--verdict",
                "dkim=fail",
                "--verdict",
                "DMARC=FAIL",
                "--dmarc-policy",
                "none",
                str(forged),
            ]
        )
        == 0
    )
    result = json.loads(capsys.readouterr().out.splitlines()[0])
    assert result["outcome"] == "accepted" and "AcknowledgementSent" not in result["events"]
    assert _outbox_kinds(capsys, state) == ["forward"]
    assert main(["--state", state, "ingest", "--json", str(genuine)]) == 0  # no flag, no header: PASS
    assert _outbox_kinds(capsys, state) == ["ack", "forward", "forward"]


def test_a_bad_verdict_value_is_refused_with_its_name(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    mail = tmp_path / "m.eml"
    mail.write_bytes(make_mail())
    assert main(["--state", str(tmp_path / "s"), "ingest", "--verdict", "dmarc=BROKEN", str(mail)]) == 2
    assert "--verdict dmarc=BROKEN" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["--state", str(tmp_path / "s"), "ingest", "--dmarc-policy", "strict", str(mail)])
