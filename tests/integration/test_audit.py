"""``crm audit``: the pure checks over hand-built events, then the real local stack."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from crm.audit import (
    Snapshot,
    audit,
    check_acks,
    check_decisions,
    check_dlqs,
    check_forwards,
    check_projection,
    expected_items,
)
from events import (
    AcknowledgementSent,
    DomainEvent,
    Envelope,
    FirstContact,
    MessageForwarded,
    MessageReceived,
    ReplyRejected,
    ReplyRouted,
    SendFailed,
    SpamRejected,
)

EXAMPLES = Path(__file__).parents[2] / "examples" / "mail"
AT = "2026-11-20T10:00:00.000Z"


def env(event: DomainEvent, stream: str, version: int, seed: str) -> Envelope:
    return Envelope.new(event, stream_id=stream, version=version, seed=seed, correlation_id=seed, occurred_at=AT)


def received(ses: str, conversation: str = "c1", version: int = 1, *, released: bool = False) -> Envelope:
    return env(
        MessageReceived(
            conversation_id=conversation,
            ses_message_id=ses,
            bucket="b",
            raw_key=f"inbox/{ses}",
            received_at=AT,
            from_address="jane@acme.com",
            subject="Hi",
            contact="jane@acme.com",
            released=released,
        ),
        f"conversation#{conversation}",
        version,
        ses,
    )


def rejected(ses: str) -> Envelope:
    return env(
        SpamRejected(
            ses_message_id=ses,
            stage="patterns",
            reason="casino",
            bucket="b",
            raw_key=f"inbox/{ses}",
            quarantine_key=f"quarantine/{ses}",
            received_at=AT,
        ),
        f"quarantine#{ses}",
        1,
        ses,
    )


def forwarded(cause: Envelope, version: int, seed: str = "") -> Envelope:
    assert isinstance(cause.event, MessageReceived)
    conversation = cause.event.conversation_id
    return env(
        MessageForwarded(
            conversation_id=conversation,
            cause_event_id=cause.event_id,
            to=["owner@x.net"],
            outbound_message_id="<fwd>",
            ses_message_id="out",
        ),
        f"conversation#{conversation}",
        version,
        seed or f"fwd-{cause.event_id}-{version}",
    )


def first_contact(ses: str, *, acknowledge: bool = True, reason: str | None = None, contact: str = "jane@acme.com") -> Envelope:
    return env(
        FirstContact(
            contact=contact,
            conversation_id="c1",
            ses_message_id=ses,
            acknowledge=acknowledge,
            suppressed_reason=reason,
            ack_to=contact if acknowledge else None,
        ),
        f"contact#{contact}",
        1,
        f"fc-{ses}",
    )


def acked(cause: Envelope, version: int) -> Envelope:
    return env(
        AcknowledgementSent(
            conversation_id="c1",
            cause_event_id=cause.event_id,
            to=["jane@acme.com"],
            outbound_message_id="<ack>",
            ses_message_id="out",
        ),
        "conversation#c1",
        version,
        f"ack-{cause.event_id}-{version}",
    )


# --- decisions ------------------------------------------------------------------------------


def test_decisions_one_per_raw_mail() -> None:
    reply = env(
        ReplyRouted(conversation_id="c1", ses_message_id="s3", bucket="b", raw_key="inbox/s3", to=["j@a.com"], subject="Re: Hi"),
        "conversation#c1",
        2,
        "s3",
    )
    bad_reply = env(
        ReplyRejected(ses_message_id="s4", reason="token", bucket="b", raw_key="inbox/s4"), "reply-rejected#s4", 1, "s4"
    )
    check = check_decisions(
        ["inbox/s1", "inbox/s2", "inbox/s3", "inbox/s4", "inbox/"], [received("s1"), rejected("s2"), reply, bad_reply]
    )
    assert check["ok"], check
    assert check["name"] == "decisions"
    assert "4 raw mail(s)" in check["detail"]


def test_released_spam_counts_as_one_decision() -> None:
    check = check_decisions(["inbox/s1"], [rejected("s1"), received("s1", released=True)])
    assert check["ok"], check
    assert "1 released" in check["detail"]


def test_raw_mail_without_decision_fails_and_names_it() -> None:
    check = check_decisions(["inbox/s1", "inbox/lost"], [received("s1")])
    assert not check["ok"]
    assert "inbox/lost" in check["detail"]
    assert "inbox/s1" not in check["detail"]


@pytest.mark.parametrize(
    "events",
    [
        [received("s1"), received("s1", version=2)],
        [rejected("s1"), received("s1")],  # accepted again without being released
        [rejected("s1"), received("s1", released=True), received("s1", version=2)],
    ],
)
def test_mail_decided_twice_fails(events: list[Envelope]) -> None:
    check = check_decisions(["inbox/s1"], events)
    assert not check["ok"]
    assert "s1" in check["detail"] and "decided more than once" in check["detail"]


def test_decision_without_raw_mail_is_a_note_not_a_failure() -> None:
    check = check_decisions([], [received("gone")])
    assert check["ok"]
    assert "gone" in check["detail"]


# --- forwards -------------------------------------------------------------------------------


def test_every_accepted_mail_forwarded_once() -> None:
    one, two = received("s1"), received("s2", "c2")
    check = check_forwards([one, two, forwarded(one, 2), forwarded(two, 2)])
    assert check["ok"], check
    assert "2 accepted" in check["detail"]


def test_mail_not_forwarded_fails_with_the_send_failure() -> None:
    one, two = received("s1"), received("s2", "c2")
    failed = env(
        SendFailed(conversation_id="c2", cause_event_id=two.event_id, kind="forward", reason="SES said no"),
        "conversation#c2",
        2,
        "failed",
    )
    check = check_forwards([one, two, forwarded(one, 2), failed])
    assert not check["ok"]
    assert "s2" in check["detail"] and "c2" in check["detail"] and "SES said no" in check["detail"]
    assert "s1" not in check["detail"]


def test_mail_forwarded_twice_fails() -> None:
    one = received("s1")
    check = check_forwards([one, forwarded(one, 2, "a"), forwarded(one, 3, "b")])
    assert not check["ok"]
    assert "forwarded 2 times" in check["detail"] and "s1" in check["detail"]


def test_forward_of_unknown_cause_fails() -> None:
    ghost = received("ghost")
    check = check_forwards([forwarded(ghost, 2)])
    assert not check["ok"]
    assert ghost.event_id in check["detail"]


# --- acknowledgements -------------------------------------------------------------------------


def test_acks_at_most_once_and_none_when_suppressed() -> None:
    jane = first_contact("s1")
    bot = first_contact("s2", acknowledge=False, reason="Auto-Submitted: auto-replied", contact="bot@x.com")
    check = check_acks([jane, bot, acked(jane, 2)])
    assert check["ok"], check
    assert "2 first contact(s): 1 to acknowledge, 1 acknowledgement(s) sent" in check["detail"]


def test_ack_not_yet_sent_is_a_note() -> None:
    jane = first_contact("s1")
    check = check_acks([jane])
    assert check["ok"]
    assert "no acknowledgement yet" in check["detail"] and "jane@acme.com" in check["detail"]


def test_acked_twice_fails() -> None:
    jane = first_contact("s1")
    check = check_acks([jane, acked(jane, 2), acked(jane, 3)])
    assert not check["ok"]
    assert "acknowledged 2 times" in check["detail"] and "jane@acme.com" in check["detail"]


def test_ack_despite_loop_protection_fails() -> None:
    bot = first_contact("s2", acknowledge=False, reason="Precedence: bulk", contact="bot@x.com")
    check = check_acks([bot, acked(bot, 2)])
    assert not check["ok"]
    assert "bot@x.com" in check["detail"] and "Precedence: bulk" in check["detail"]


def test_two_first_contacts_for_one_contact_fail() -> None:
    check = check_acks([first_contact("s1", acknowledge=False, reason="x"), first_contact("s2", acknowledge=False, reason="x")])
    assert not check["ok"]
    assert "more than one FirstContact" in check["detail"]


# --- DLQs -----------------------------------------------------------------------------------


def test_dlqs_empty_pass_and_full_fail() -> None:
    assert check_dlqs({"crm-ack-dlq": 0, "crm-forward-dlq": 0})["ok"]
    check = check_dlqs({"crm-ack-dlq": 0, "crm-forward-dlq": 3})
    assert not check["ok"]
    assert "crm-forward-dlq holds 3" in check["detail"] and "crm-ack-dlq" not in check["detail"]
    unreadable = check_dlqs({}, {"crm-ack-dlq": "NonExistentQueue"})
    assert not unreadable["ok"] and "NonExistentQueue" in unreadable["detail"]


# --- projection -------------------------------------------------------------------------------


def stream() -> list[Envelope]:
    one = received("s1")
    return [one, forwarded(one, 2)]


def test_projection_equal_to_fold_passes() -> None:
    events = stream()
    items = list(expected_items(events, shards=4).values())
    check = check_projection(events, items, shards=4)
    assert check["ok"], check


def test_projection_field_difference_is_reported() -> None:
    events = stream()
    item: dict[str, Any] = {**expected_items(events, shards=4)["c1"], "status": "closed"}
    item.pop("subject")
    check = check_projection(events, [item], shards=4)
    assert not check["ok"]
    assert "c1" in check["detail"] and "status" in check["detail"] and "subject" in check["detail"]


def test_projection_behind_missing_and_extra() -> None:
    events = stream()
    behind = expected_items(events[:1], shards=4)["c1"]
    check = check_projection(events, [behind], shards=4)
    assert not check["ok"] and "behind" in check["detail"] and "forwarded" in check["detail"]
    check = check_projection(events, [{"id": "orphan", "version": 1}], shards=4)
    assert not check["ok"]
    assert "c1" in check["detail"] and "orphan" in check["detail"]


def test_audit_combines_checks() -> None:
    events = stream()
    snapshot = Snapshot(["inbox/s1"], events, list(expected_items(events, shards=4).values()), {"crm-ack-dlq": 0})
    report = audit(snapshot, shards=4)
    assert report["ok"]
    assert [c["name"] for c in report["checks"]] == [
        "decisions",
        "forwards",
        "acknowledgements",
        "dlqs",
        "projection",
        "leaks",
        "sends",
    ]
    broken = audit(Snapshot(["inbox/s1", "inbox/s9"], events, [], {"crm-ack-dlq": 0}), shards=4)
    assert not broken["ok"]
    assert {c["name"] for c in broken["checks"] if not c["ok"]} == {"decisions", "projection"}


# --- a running stack: the embedded engine, and the aws adapters on moto -------------------------------------


def failing(report: dict[str, Any]) -> dict[str, str]:
    return {c["name"]: c["detail"] for c in report["checks"] if not c["ok"]}


@pytest.fixture(params=["stack", "moto_stack"])
def any_stack(request: pytest.FixtureRequest) -> Any:
    """The audit reads each backend through its ports: the embedded engine, and the aws
    adapters (S3 listing, DynamoDB scans, SQS depths) as ``crm audit --stack aws`` does."""
    return request.getfixturevalue(request.param)


def test_audit_on_a_running_stack(any_stack: Any) -> None:
    from crm.audit import run_audit
    from crm.flows import ingest_paths
    from crm.views import table

    stack = any_stack
    results = ingest_paths(stack.svc, [EXAMPLES], [stack.settings.public_address])
    assert results and all(r["outcome"] != "error" for r in results), results
    report = run_audit(stack.svc)
    assert report["ok"], failing(report)

    # a raw mail no producer decided
    stack.svc.blobs.put("inbox/never-decided", b"Subject: lost\r\n\r\nhello\r\n", "message/rfc822")
    report = run_audit(stack.svc)
    assert set(failing(report)) == {"decisions"}
    assert "inbox/never-decided" in failing(report)["decisions"]

    # a projection item that no longer equals the fold of its events
    conversations = table(stack.svc)
    item = next(i for i in conversations.scan() if i.get("status") == "new")
    conversations.put({**item, "status": "closed", "status_shard": "closed#0"}, expected_version=item["version"])
    report = run_audit(stack.svc)
    assert set(failing(report)) == {"decisions", "projection"}
    assert item["id"] in failing(report)["projection"] and "status" in failing(report)["projection"]


def test_cli_audit_exit_status(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from crm.cli import main

    state = str(tmp_path / "state")
    assert main(["--state", state, "ingest", str(EXAMPLES)]) == 0
    capsys.readouterr()
    assert main(["--state", state, "audit"]) == 0
    out = capsys.readouterr().out
    assert "FAIL" not in out and out.count("ok  ") == 7

    # a raw mail in the state folder (the local bucket is its mail/ folder) with no decision: exit status 1
    stray = tmp_path / "state" / "mail" / "inbox" / "stray"
    stray.write_bytes(b"Subject: stray\r\n\r\nhello\r\n")
    assert main(["--state", state, "audit"]) == 1
    out = capsys.readouterr().out
    assert "FAIL decisions" in out and "inbox/stray" in out


# --- leaks: nothing sent to a correspondent carries the private mailbox or a thread token ---------------


PRIVATE = "owner@private.example.net"
THREAD = "jane-doe-acme-3f2a1c.k5v2q7xw3mzd4rta@reply.example.com"


def sent_mail(tmp_path: Path, name: str, kind: str, to: list[str], body: str, **attachment: Any) -> Any:
    from email.message import EmailMessage

    from crm.audit_leaks import SentMail

    mail = EmailMessage()
    mail["From"] = "hello@example.com"
    mail["To"] = ", ".join(to)
    mail["Subject"] = "Re: hi"
    mail.set_content(body)
    if attachment:
        data = attachment.pop("data")
        mail.add_attachment(data, **attachment)
    path = tmp_path / name
    path.write_bytes(mail.as_bytes())
    return SentMail(kind, to, str(path), path.read_bytes())


@pytest.mark.parametrize(
    "leak",
    [
        {"body": f"write to {PRIVATE}"},
        {
            "body": "hi",
            "data": f"EMAIL:{PRIVATE}".encode("utf-16"),
            "maintype": "application",
            "subtype": "octet-stream",
            "filename": "card.vcf",
        },
        {"body": f"Reply-To: Jane <{THREAD}>"},
        {"body": "owner&#064;private.example.net"},
    ],
)
def test_leak_check_names_the_mail_to_a_correspondent_that_carries_a_secret(tmp_path: Path, leak: dict[str, Any]) -> None:
    from crm.audit_leaks import Outbox, check_leaks

    forward = sent_mail(tmp_path, "1-forward.eml", "forward", [PRIVATE], f"Reply-To: Jane <{THREAD}>\n{PRIVATE}")
    clean = sent_mail(tmp_path, "2-ack.eml", "ack", ["jane@acme.com"], "thanks, we will answer")
    assert check_leaks(Outbox([forward, clean], PRIVATE, "reply.example.com", ["hello@example.com"]))["ok"]
    doctored = sent_mail(tmp_path, "3-reply.eml", "reply", ["jane@acme.com"], **leak)
    check = check_leaks(Outbox([forward, clean, doctored], PRIVATE, "reply.example.com", ["hello@example.com"]))
    assert not check["ok"]
    assert "3-reply.eml" in check["detail"] and "2-ack.eml" not in check["detail"]


def test_leak_check_learns_the_tokens_from_the_forwards() -> None:
    from crm.audit_leaks import Outbox, SentMail, check_leaks

    forward = SentMail("forward", [PRIVATE], "f.eml", f"Reply-To: <{THREAD}>\r\n\r\nhi\r\n".encode())
    bare = SentMail("ack", ["jane@acme.com"], "a.eml", b"Subject: x\r\n\r\nref k5v2q7xw3mzd4rta\r\n")
    assert not check_leaks(Outbox([forward, bare], PRIVATE, "reply.example.com"))["ok"]
    assert check_leaks(Outbox([bare], PRIVATE, "reply.example.com"))["ok"]  # unknown: not a token


def test_leak_check_without_an_outbox_passes_and_says_so() -> None:
    from crm.audit_leaks import check_leaks

    check = check_leaks(None)
    assert check["ok"] and "not checked" in check["detail"]


def test_cli_audit_fails_on_a_doctored_outbox_entry(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from crm.cli import main
    from crm.local import local_stack
    from crm.settings import Settings
    from crm.views import outbox_records

    state = tmp_path / "state"
    assert main(["--state", str(state), "ingest", str(EXAMPLES)]) == 0
    capsys.readouterr()
    with local_stack(Settings(), state) as opened:
        records = outbox_records(opened.svc)
    ack = next(r for r in records if r["kind"] == "ack")
    path = Path(ack["file"])
    path.write_bytes(b"Comments: write to owner&#x40;private.example.net\r\n" + path.read_bytes())
    assert main(["--state", str(state), "audit"]) == 1
    out = capsys.readouterr().out
    assert "FAIL leaks" in out and path.name in out and "private mailbox" in out
