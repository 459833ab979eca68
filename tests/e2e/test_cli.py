"""The command line, end to end, as a user runs it: each call opens the state folder on
the local backend (the embedded engine, the default) and commits as it goes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from crm.cli import main
from tests.conftest import CORPUS, EXAMPLES


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def records(out: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def test_demo_shows_what_a_person_expects(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state = str(tmp_path / "state")
    code, out, _ = run(capsys, "--state", state, "demo", "--fresh", "--json")
    assert code == 0
    demo = json.loads(out)
    outcomes = {Path(m["source"]).name: m["outcome"] for m in demo["mails"]}
    assert outcomes == {
        "01-recruiter-first-contact.eml": "accepted",
        "02-recruiter-follow-up.eml": "accepted",
        "03-linkedin-notification.eml": "accepted",
        "04-spam.eml": "rejected",
        "05-unknown-recipient.eml": "rejected",
        "06-out-of-office.eml": "accepted",
        "07-owner-reply.eml": "accepted",
    }
    statuses = {c["contact"]: c["status"] for c in demo["conversations"]}
    assert statuses["jane.doe@acmerobotics.com"] == "replied"
    jane = next(c for c in demo["conversations"] if c["contact"] == "jane.doe@acmerobotics.com")
    assert jane["salary"] == "180-210k" and jane["title"] == "Staff Platform Engineer"
    assert jane["lead_score"] >= 60 and "followup_due" not in jane  # it fell due a week later
    assert [f["kind"] for f in demo["followups_fired"]] == ["followup"]
    kinds = sorted(m["kind"] for m in demo["outbox"])
    # one ack (Jane; LinkedIn and the auto-reply are loop-protected), four forwards, one reply,
    # and the reminder to chase Jane a week later
    assert kinds == ["ack", "forward", "forward", "forward", "forward", "reminder", "reply"]

    code, out, _ = run(capsys, "--state", state, "conversations", "--status", "replied", "--json")
    assert [c["contact"] for c in records(out)] == ["jane.doe@acmerobotics.com"]
    spam = Path(state).parent / "spam.eml"
    spam.write_bytes(
        b"From: Jane Doe <jane.doe@acmerobotics.com>\r\nTo: hello@example.com\r\n"
        b"Subject: free spins at our online casino - act now!!\r\n\r\nhi\r\n"
    )
    run(capsys, "--state", state, "ingest", str(spam))
    code, out, _ = run(capsys, "--state", state, "conversations", "show", jane["id"])
    assert "owner replied" in out and "job-description.txt" in out and "lead score" in out
    assert "first contact (acknowledged)" in out and "rejected at patterns" in out
    code, out, _ = run(capsys, "--state", state, "events", "--json")
    types = [r["type"] for r in records(out)]
    assert types.count("SpamRejected") == 3 and types.count("ReplyRouted") == 1


def test_ingest_json_gives_one_outcome_per_mail(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--state", str(tmp_path), "ingest", "--json", str(CORPUS / "realworld"))
    assert code == 0
    results = records(out)
    files = [p for p in (CORPUS / "realworld").iterdir() if p.suffix == ".eml"]
    assert len(results) == len(files)
    for result in results:
        assert set(result) == {"source", "message_id", "outcome", "reason", "conversation_id", "events"}
        assert result["outcome"] == "accepted", result
        assert "MessageReceived" in result["events"] and "MessageForwarded" in result["events"]


def test_ham_spam_and_auto_replies_get_the_outcome_a_person_expects(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "--state", str(tmp_path), "ingest", "--json", str(CORPUS / "ham-spam"))
    assert code == 0
    for result in records(out):
        name = Path(result["source"]).name
        if name.startswith("spam-"):
            assert result["outcome"] == "rejected", name
        else:
            assert result["outcome"] == "accepted", name
            acknowledged = "AcknowledgementSent" in result["events"]
            assert acknowledged == name.startswith("ham-"), name


def test_ingesting_twice_records_each_mail_once(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run(capsys, "--state", str(tmp_path), "ingest", str(EXAMPLES / "01-recruiter-first-contact.eml"))
    run(capsys, "--state", str(tmp_path), "ingest", str(EXAMPLES / "01-recruiter-first-contact.eml"))
    _, out, _ = run(capsys, "--state", str(tmp_path), "outbox", "--json")
    assert sorted(r["kind"] for r in records(out)) == ["ack", "forward"]


def test_replay_leaves_the_conversations_exactly_as_they_were(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state = str(tmp_path / "state")
    run(capsys, "--state", state, "demo", "--fresh")
    _, before, _ = run(capsys, "--state", state, "conversations", "--json")
    code, out, err = run(capsys, "--state", state, "replay", "--json")
    assert code == 0, err
    assert json.loads(out)["streams"] == 3
    _, after, _ = run(capsys, "--state", state, "conversations", "--json")
    assert after == before and len(records(after)) == 3
    code, out, _ = run(capsys, "--state", state, "replay", "--into", "crm-conversations-b", "--json")
    assert json.loads(out)["table"] == "crm-conversations-b"
    _, switched, _ = run(capsys, "--state", state, "conversations", "--json")
    assert records(switched) == records(before)
    # only the standby of the pair infra manages: never a new table, never the live one
    # (the pointer is kept in the state folder: the live table is now crm-conversations-b)
    for name in ("crm-conversations-v2", "crm-conversations-b"):
        code, _, err = run(capsys, "--state", state, "replay", "--into", name)
        assert code == 2 and name in err, err
    # and the other table of the pair is the standby now: replaying into it switches back
    code, out, err = run(capsys, "--state", state, "replay", "--into", "crm-conversations", "--json")
    assert code == 0 and json.loads(out)["table"] == "crm-conversations", err
    _, back, _ = run(capsys, "--state", state, "conversations", "--json")
    assert records(back) == records(before)


def test_mbox_and_maildir_are_ingested(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import mailbox

    box = mailbox.mbox(str(tmp_path / "inbox.mbox"))
    maildir = mailbox.Maildir(str(tmp_path / "Maildir"))
    for path in sorted(CORPUS.joinpath("ham-spam").glob("ham-*.eml"))[:2]:
        box.add(path.read_bytes())
        maildir.add(path.read_bytes())
    box.flush()
    code, out, _ = run(
        capsys, "--state", str(tmp_path / "s"), "ingest", "--json", str(tmp_path / "inbox.mbox"), str(tmp_path / "Maildir")
    )
    assert code == 0 and [r["outcome"] for r in records(out)] == ["accepted"] * 4


def test_bad_input_gets_one_line_not_a_traceback(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, _, err = run(capsys, "--state", str(tmp_path), "ingest", str(tmp_path / "missing.eml"))
    assert code == 2 and "missing.eml" in err and "Traceback" not in err
    monkeypatch.setenv("CRM_PRIVATE_MAILBOX", "nope")
    code, _, err = run(capsys, "--state", str(tmp_path), "conversations")
    assert code == 2 and "private_mailbox" in err and len(err.strip().splitlines()) == 1
    monkeypatch.delenv("CRM_PRIVATE_MAILBOX")
    code, _, err = run(capsys, "--state", str(tmp_path), "conversations", "set-status", "nobody", "bogus")
    assert code == 2 and "bogus" in err


def test_set_status_and_events_schema(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    state = str(tmp_path)
    run(capsys, "--state", state, "ingest", str(EXAMPLES / "01-recruiter-first-contact.eml"))
    _, out, _ = run(capsys, "--state", state, "conversations", "--json")
    conversation = records(out)[0]["id"]
    code, _, _ = run(
        capsys, "--state", state, "conversations", "set-status", conversation, "interviewing", "--note", "first call booked"
    )
    assert code == 0
    _, out, _ = run(capsys, "--state", state, "conversations", "--status", "interviewing", "--json")
    assert [c["id"] for c in records(out)] == [conversation]
    code, out, _ = run(capsys, "events", "schema")
    assert code == 0 and "MessageReceived" in json.loads(out)["events"]


READ_COMMANDS = [("conversations", "--limit", "5"), ("events",), ("outbox",), ("spam", "list")]
NOT_FOR_READS = ("boto3", "botocore", "aws_lambda_powertools.utilities.idempotency", "pypdf", "docx", "moto")


@pytest.mark.parametrize("command", READ_COMMANDS, ids=lambda c: " ".join(c))
def test_a_read_command_on_the_local_backend_loads_no_aws_sdk(tmp_path: Path, command: tuple[str, ...]) -> None:
    """A read starts in about the time of ``import crm.cli`` (issue 13): nothing of AWS's
    SDK, the idempotency utility (which imports it) or the extraction libraries."""
    import subprocess
    import sys

    state = tmp_path / "state"
    assert main(["--state", str(state), "ingest", str(EXAMPLES / "01-recruiter-first-contact.eml")]) == 0
    script = (
        "import sys\nfrom crm.cli import main\ncode = main(sys.argv[1:])\n"
        "print('\\n'.join(m for m in sys.modules), file=sys.stderr)\nsys.exit(code)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script, "--state", str(state), *command], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    loaded = set(done.stderr.split())
    assert not [m for m in loaded if m.split(".")[0] in NOT_FOR_READS or m.startswith(NOT_FOR_READS)]
