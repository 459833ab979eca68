"""`crm spam patterns` and `crm spam threshold` as a user runs them: each command
starts the local stack from the state folder, so what one stores the next must see."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from crm.cli import main
from tests.conftest import make_mail


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_patterns_and_threshold_survive_between_commands_and_decide_mail(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    state = str(tmp_path / "state")
    code, out, err = run(
        capsys,
        "--state",
        state,
        "spam",
        "patterns",
        "add",
        "acme-offer",
        r"acme\s+offer",
        "--score",
        "2",
        "--description",
        "the acme offer",
    )
    assert code == 0, err
    # regression: every start re-wrote the default list, so the next command lost this pattern
    _, out, _ = run(capsys, "--state", state, "spam", "patterns", "list", "--json")
    listed = {r["id"]: r for r in (json.loads(line) for line in out.splitlines())}
    assert listed["acme-offer"]["score"] == 2 and "pharma" in listed

    # a list over the 4 KB a parameter holds goes to S3; the handler reads it there
    rules = "".join(
        f"body  WORD_{n}  /\\bsp{n}mword\\b/i\nscore WORD_{n} 0.5\ndescribe WORD_{n} filler rule {n}\n" for n in range(80)
    )
    rules += "body  ACME_DEAL  /acme\\s+deal/i\nscore ACME_DEAL 2.5\ndescribe ACME_DEAL an acme deal\n"
    rules += "body  EVAL_ONE  eval:check_stuff()\n"
    cf = tmp_path / "rules.cf"
    cf.write_text(rules, encoding="utf-8")
    code, out, err = run(capsys, "--state", state, "spam", "patterns", "import", str(cf), "--keep-defaults")
    assert code == 0, err
    assert "81 converted, 1 skipped" in out and "eval" in out and "s3://" in out

    code, out, err = run(capsys, "--state", state, "spam", "threshold", "3")
    assert code == 0, err
    _, out, _ = run(capsys, "--state", state, "spam", "threshold", "--json")
    assert json.loads(out) == {"threshold": 3.0, "source": "set on the pattern list"}

    # what a rule would say, without a mail: every matched rule with its score
    code, out, err = run(capsys, "--state", state, "--json", "spam", "patterns", "test", "an acme deal and sp3mword")
    assert code == 0, err
    tested = json.loads(out)
    assert tested["spam"] and tested["score"] == pytest.approx(3.0) and tested["threshold"] == 3.0
    assert {(r["id"], r["score"]) for r in tested["rules"]} == {("ACME_DEAL", 2.5), ("WORD_3", 0.5)}

    mail = tmp_path / "deal.eml"
    mail.write_bytes(make_mail(subject="An acme deal", body="The acme deal, sp7mword and sp9mword inside."))
    code, out, err = run(capsys, "--state", state, "ingest", "--json", str(mail))
    assert code == 0, err
    assert json.loads(out)["outcome"] == "rejected"
    _, out, _ = run(capsys, "--state", state, "spam", "list", "--json")
    record = json.loads(out.splitlines()[0])
    assert record["score"] == pytest.approx(3.5) and record["threshold"] == 3.0 and record["rules_total"] == 3
    assert record["rules"][0] == {"id": "ACME_DEAL", "score": 2.5, "field": "body", "describe": "an acme deal"}


def test_bad_threshold_and_unknown_action_are_clear_errors(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state = str(tmp_path / "state")
    code, _, err = run(capsys, "--state", state, "spam", "threshold", "high")
    assert code == 2 and "must be a number" in err
    code, _, err = run(capsys, "--state", state, "spam", "patterns", "import", str(tmp_path / "missing.cf"))
    assert code == 2 and "no SpamAssassin rule file" in err
