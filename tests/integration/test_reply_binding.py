"""On the local stack: people who join a conversation never receive the owner's reply.

A forged correspondent (SPF, DKIM and DMARC FAIL, policy none, Reply-To the
attacker), a stranger quoting the thread's Message-ID and our own bounced
acknowledgement each join Jane's conversation. The owner answers the forwarded copy
of Jane's message, with the Reply-To that copy carries: the answer reaches Jane
and nobody else. Answering the bounce sends nothing and tells the owner why.
"""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from crm.lambda_runtime import LocalContext
from producers import inbound, reply
from producers.decide import ack_message_id
from producers.receipt import receipt_event
from tests.conftest import event_types, make_mail, outbox

OWNER = "owner@private.example.net"
PUBLIC = "hello@example.com"
JANE = "jane.doe@acmerobotics.com"
ATTACKER = "mallory@attacker.example"
STRANGER = "stranger@elsewhere.example"
FAIL = {"spfVerdict": "FAIL", "dkimVerdict": "FAIL", "dmarcVerdict": "FAIL"}


def arrive(
    stack: Any, raw: bytes, *, recipient: str, envelope_sender: str, ses_id: str, verdicts: dict[str, str] | None = None
) -> dict[str, Any]:
    """One SES delivery, with the verdicts SES would give it, then every queue drained."""
    from crm.flows import drain_all

    stack.svc.blobs.put(f"inbox/{ses_id}", raw)
    event = receipt_event(
        ses_message_id=ses_id,
        recipients=[recipient],
        envelope_sender=envelope_sender,
        bucket=stack.settings.bucket,
        object_key=f"inbox/{ses_id}",
        timestamp="2026-11-21T10:00:00.000Z",
    )
    record = event["Records"][0]["ses"]["receipt"]
    for name, status in (verdicts or {}).items():
        record[name] = {"status": status}
    if verdicts:
        record["dmarcPolicy"] = "none"
    to_reply = recipient.endswith("@" + stack.settings.reply_domain)
    invoke = reply.invoke if to_reply else inbound.invoke
    result: dict[str, Any] = invoke(stack.svc, event, LocalContext("crm-reply" if to_reply else "crm-inbound"))["results"][0]
    drain_all(stack.svc)
    return result


def forward_of(stack: Any, ses_id: str) -> EmailMessage:
    for record in outbox(stack):
        message = message_from_bytes(Path(record["file"]).read_bytes(), policy=policy.default)
        if record["kind"] == "forward" and message["Message-ID"] == f"<fwd.{ses_id}@example.com>":
            assert isinstance(message, EmailMessage)
            return message
    raise AssertionError(f"no forwarded copy of {ses_id}")


def forwarded_text(message: EmailMessage) -> str:
    part = message.get_body(("plain",))
    assert part is not None
    return str(part.get_content())


def answer(stack: Any, forward: EmailMessage, ses_id: str, body: str = "Thursday works.\n") -> dict[str, Any]:
    """The owner hits reply on a forwarded copy: To is the copy's Reply-To."""
    thread = forward["Reply-To"].addresses[0].addr_spec
    raw = make_mail(sender=f"Owner <{OWNER}>", to=thread, subject=f"Re: {forward['Subject']}", body=body)
    return arrive(stack, raw, recipient=thread, envelope_sender=OWNER, ses_id=ses_id)


def test_people_who_join_the_conversation_never_get_the_owners_reply(stack: Any) -> None:
    jane = arrive(stack, make_mail(message_id="<first@acme.test>"), recipient=PUBLIC, envelope_sender=JANE, ses_id="in-jane")
    conversation = jane["conversation_id"]
    forged = arrive(
        stack,
        make_mail(subject="Re: Staff Platform Engineer role", headers={"Reply-To": ATTACKER}),
        recipient=PUBLIC,
        envelope_sender=ATTACKER,
        ses_id="in-forged",
        verdicts=FAIL,
    )
    stranger = arrive(
        stack,
        make_mail(
            sender=f"Stranger <{STRANGER}>",
            subject="Re: Staff Platform Engineer role",
            headers={"References": "<first@acme.test>"},
        ),
        recipient=PUBLIC,
        envelope_sender=STRANGER,
        ses_id="in-stranger",
    )
    ack = ack_message_id(conversation, "in-jane", "example.com")
    bounce = arrive(
        stack,
        make_mail(
            sender=f"Example <{PUBLIC}>",
            to=JANE,
            subject="Re: Staff Platform Engineer role",
            headers={"In-Reply-To": ack, "References": ack, "Reply-To": PUBLIC},
        ),
        recipient=PUBLIC,
        envelope_sender="",
        ses_id="in-bounce",
    )
    assert {forged["conversation_id"], stranger["conversation_id"], bounce["conversation_id"]} == {conversation}

    # each copy names who a reply reaches; the forged one warns first
    forged_copy = forwarded_text(forward_of(stack, "in-forged"))
    assert forged_copy.startswith("WARNING: this mail failed authentication (SPF FAIL, DKIM FAIL, DMARC FAIL)")
    assert f"Your reply goes to: {ATTACKER}" in forged_copy
    assert f"Your reply goes to: {JANE}" in forwarded_text(forward_of(stack, "in-jane"))
    assert "WARNING" not in forwarded_text(forward_of(stack, "in-jane"))
    assert "Your reply cannot be sent" in forwarded_text(forward_of(stack, "in-bounce"))
    addresses = {
        forward_of(stack, s)["Reply-To"].addresses[0].addr_spec for s in ("in-jane", "in-forged", "in-stranger", "in-bounce")
    }
    assert len(addresses) == 4  # every copy has its own thread address

    before = len(outbox(stack))
    result = answer(stack, forward_of(stack, "in-jane"), "reply-to-jane")
    assert result["outcome"] == "accepted"
    sent = outbox(stack)[before:]
    replies = [m for m in sent if m["kind"] == "reply"]
    assert [m["to"] for m in replies] == [[JANE]]
    assert all(m["to"] == [OWNER] for m in sent if m["kind"] != "reply")
    delivered = message_from_bytes(Path(replies[0]["file"]).read_bytes(), policy=policy.default)
    assert delivered["In-Reply-To"] == "<first@acme.test>"
    assert [m["to"] for m in outbox(stack) if m["kind"] == "reply"] == [[JANE]]

    before = len(outbox(stack))
    result = answer(stack, forward_of(stack, "in-bounce"), "reply-to-bounce")
    assert result["outcome"] == "rejected" and "no address a reply may go to" in result["reason"]
    sent = outbox(stack)[before:]
    assert [m["kind"] for m in sent] == ["notice"] and sent[0]["to"] == [OWNER]
    assert "was not sent" in Path(sent[0]["file"]).read_text()
    assert event_types(stack, "reply-rejected#reply-to-bounce") == ["ReplyRejected"]


def test_the_owners_vacation_reply_and_an_empty_reply_reach_nobody(stack: Any) -> None:
    arrive(stack, make_mail(), recipient=PUBLIC, envelope_sender=JANE, ses_id="in-jane")
    copy = forward_of(stack, "in-jane")
    thread = copy["Reply-To"].addresses[0].addr_spec
    vacation = make_mail(
        sender=f"Owner <{OWNER}>",
        to=thread,
        subject="Out of office",
        body="I am away until Monday.\n",
        headers={"Auto-Submitted": "auto-replied"},
    )
    before = len(outbox(stack))
    result = arrive(stack, vacation, recipient=thread, envelope_sender=OWNER, ses_id="vacation")
    assert result["outcome"] == "rejected" and "automatic" in result["reason"]
    assert outbox(stack)[before:] == []  # no reply, and no notice for an auto-responder to answer

    empty = make_mail(
        sender=f"Owner <{OWNER}>",
        to=thread,
        subject="Re: role",
        body="\n",
        attachments=[("cv.pdf", "application/pdf", b"%PDF-1.4\n")],
    )
    result = arrive(stack, empty, recipient=thread, envelope_sender=OWNER, ses_id="empty")
    assert result["outcome"] == "rejected" and "nothing was sent" in result["reason"]
    sent = outbox(stack)[before:]
    assert [m["kind"] for m in sent] == ["notice"] and sent[0]["to"] == [OWNER]
    assert "cv.pdf" in Path(sent[0]["file"]).read_text()

    commands = make_mail(
        sender=f"Owner <{OWNER}>",
        to=thread,
        subject="Re: role",
        body="[STATUS: closed]\n",
        attachments=[("cv.pdf", "application/pdf", b"%PDF-1.4\n")],
    )
    before = len(outbox(stack))
    result = arrive(stack, commands, recipient=thread, envelope_sender=OWNER, ses_id="commands")
    assert result["outcome"] == "annotated"
    sent = outbox(stack)[before:]
    assert [(m["kind"], m["to"]) for m in sent] == [("notice", [OWNER])]
    assert sent[0]["subject"].startswith("Attachments not sent")
