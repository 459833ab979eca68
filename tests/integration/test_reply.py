"""The reply path: only the owner, with a valid token and passing SPF/DKIM, reaches a
correspondent, and nothing they receive reveals the private mailbox."""

from __future__ import annotations

from email import message_from_bytes, policy
from pathlib import Path
from typing import Any

import pytest

from crm.flows import drain_all
from crm.lambda_runtime import LocalContext
from mail.tokens import sign, thread_address
from producers import reply
from producers.receipt import receipt_event
from tests.conftest import CORPUS, EXAMPLES, deliver, event_types, make_mail, outbox

OWNER = "owner@private.example.net"


def first_conversation(stack: Any, **mail: Any) -> str:
    result = deliver(stack, make_mail(**mail))
    assert result["outcome"] == "accepted"
    return str(result["conversation_id"])


def owner_reply(thread: str, body: str = "Thanks Jane, Thursday works.\n", sender: str = OWNER) -> bytes:
    return make_mail(
        sender=f"Owner <{sender}>",
        to=thread,
        subject="Re: Staff Platform Engineer role",
        body=body,
        headers={"User-Agent": "Thunderbird/128", "X-Originating-IP": "[91.12.125.33]"},
    )


def send_reply(stack: Any, raw: bytes, thread: str, *, envelope_sender: str = OWNER, verdict: str = "PASS") -> dict[str, Any]:
    ses_id = f"reply-{abs(hash((raw, envelope_sender, verdict)))}"
    stack.svc.blobs.put(f"inbox/{ses_id}", raw)
    event = receipt_event(
        ses_message_id=ses_id,
        recipients=[thread],
        envelope_sender=envelope_sender,
        bucket=stack.settings.bucket,
        object_key=f"inbox/{ses_id}",
        timestamp="2026-11-21T10:00:00.000Z",
        verdict=verdict,
    )
    result: dict[str, Any] = reply.invoke(stack.svc, event, LocalContext("crm-reply"))["results"][0]
    drain_all(stack.svc)
    return result


def sent_to_correspondents(stack: Any) -> list[bytes]:
    return [Path(m["file"]).read_bytes() for m in outbox(stack) if OWNER not in m["to"]]


def test_the_owner_reply_reaches_the_correspondent_threaded_and_clean(stack: Any) -> None:
    conversation = first_conversation(stack, message_id="<first@acme.test>")
    thread = thread_address(conversation, stack.settings.token_key.encode(), stack.settings.reply_domain)
    result = send_reply(stack, owner_reply(thread), thread)
    assert result["outcome"] == "accepted"
    replies = [m for m in outbox(stack) if m["kind"] == "reply"]
    assert len(replies) == 1 and replies[0]["to"] == ["jane.doe@acmerobotics.com"]
    sent = message_from_bytes(Path(replies[0]["file"]).read_bytes(), policy=policy.default)
    assert sent["From"].addresses[0].addr_spec == "hello@example.com"
    assert sent["In-Reply-To"] == "<first@acme.test>"
    for header in ("User-Agent", "X-Originating-IP", "Sender", "Return-Path", "Received", "DKIM-Signature"):
        assert header not in sent
    assert "ReplyDelivered" in event_types(stack, f"conversation#{conversation}")


@pytest.mark.parametrize(
    ("case", "reason"),
    [
        ("forged", "does not verify"),
        ("stranger", "is not the owner's mailbox"),
        ("spoofed-from", "is not the owner's mailbox"),
        ("failing-auth", "DMARC FAIL"),
    ],
)
def test_anything_but_the_verified_owner_is_rejected_and_never_sent_on(stack: Any, case: str, reason: str) -> None:
    conversation = first_conversation(stack)
    key = stack.settings.token_key.encode()
    thread = thread_address(conversation, key, stack.settings.reply_domain)
    raw, envelope, verdict = owner_reply(thread), OWNER, "PASS"
    if case == "forged":
        thread = f"{sign(conversation, b'guessed-key')}@{stack.settings.reply_domain}"
        raw = owner_reply(thread)
    elif case == "stranger":
        raw, envelope = owner_reply(thread, sender="mallory@evil.example"), "mallory@evil.example"
    elif case == "spoofed-from":
        envelope = "mallory@evil.example"  # From says owner, the envelope does not
    elif case == "failing-auth":
        verdict = "FAIL"
    before = len(outbox(stack))
    result = send_reply(stack, raw, thread, envelope_sender=envelope, verdict=verdict)
    assert result["outcome"] == "rejected" and reason in result["reason"]
    # nothing reaches anyone; only the authenticated owner hears why (a bad thread address)
    after = outbox(stack)[before:]
    assert [(m["kind"], m["to"]) for m in after] == ([("notice", [OWNER])] if case == "forged" else [])
    assert "ReplyRejected" in event_types(stack)


def test_a_reply_of_only_commands_annotates_and_sends_nothing(stack: Any) -> None:
    conversation = first_conversation(stack)
    thread = thread_address(conversation, stack.settings.token_key.encode(), stack.settings.reply_domain)
    body = "[COMPANY: Acme Robotics Inc]\n[STATUS: interviewing]\n[LOCATION: Denver]\n[JOB-ID: R-1234]\n"
    send_reply(stack, owner_reply(thread, body), thread)
    assert [m["kind"] for m in outbox(stack)].count("reply") == 0
    item = stack.svc.store.read(f"conversation#{conversation}")
    types = [e.type for e in item]
    assert "ConversationUpdated" in types and "ConversationStatusChanged" in types
    from crm.views import table

    row = table(stack.svc).get(conversation)
    assert row and row["company"] == "Acme Robotics Inc" and row["status"] == "interviewing"
    assert row["location"] == "Denver" and row["job_id"] == "R-1234"


def test_unknown_commands_stay_in_the_text_and_are_reported_to_the_owner(stack: Any) -> None:
    conversation = first_conversation(stack)
    thread = thread_address(conversation, stack.settings.token_key.encode(), stack.settings.reply_domain)
    send_reply(stack, owner_reply(thread, "Sounds good.\n[TITLE: Staff Engineer]\n[COLOUR: blue]\n"), thread)
    notices = [m for m in outbox(stack) if m["kind"] == "notice"]
    assert len(notices) == 1 and notices[0]["to"] == [OWNER]
    assert "[COLOUR: blue]" in Path(notices[0]["file"]).read_text()
    sent = next(m for m in outbox(stack) if m["kind"] == "reply")
    text = Path(sent["file"]).read_text()
    assert "[COLOUR: blue]" in text and "[TITLE:" not in text


def test_header_injection_in_names_and_subjects_adds_no_header(stack: Any) -> None:
    conversation = first_conversation(
        stack,
        sender='"Eve\\r\\nBcc: leak@evil.example" <eve@evil-corp.example>',
        subject="=?utf-8?q?Hi=0D=0ABcc:_leak@evil.example?=",
    )
    for raw in [Path(m["file"]).read_bytes() for m in outbox(stack)]:
        message = message_from_bytes(raw, policy=policy.default)
        assert "Bcc" not in message
        recipients = [a.addr_spec for h in ("To", "Cc") if message[h] for a in message[h].addresses]
        assert "leak@evil.example" not in recipients
    assert conversation


def test_nothing_a_correspondent_receives_contains_the_private_mailbox(stack: Any) -> None:
    """Over the examples and the real-world corpus, plus a correspondent whose name holds the
    private address and an owner reply quoting it: no header, no body part leaks it."""
    from crm.flows import ingest_paths

    ingest_paths(stack.svc, [EXAMPLES, CORPUS / "realworld"], [stack.settings.public_address])
    conversation = first_conversation(stack, sender=f'"{OWNER}" <sneaky@evil-corp.example>')
    thread = thread_address(conversation, stack.settings.token_key.encode(), stack.settings.reply_domain)
    send_reply(stack, owner_reply(thread, f"Hi!\n\nOn Monday, Owner <{OWNER}> wrote:\n> mail me at {OWNER}\n"), thread)
    outgoing = sent_to_correspondents(stack)
    assert any(b"reply" in m.lower() for m in outgoing)
    for raw in outgoing:
        message = message_from_bytes(raw, policy=policy.default)
        assert OWNER not in raw.decode("utf-8", "replace").lower()
        for part in message.walk():
            if part.get_content_maintype() == "text":
                assert OWNER not in str(part.get_content()).lower()


@pytest.mark.parametrize(
    ("filename", "content_type", "data"),
    [
        ("owner.vcf", "application/octet-stream", f"BEGIN:VCARD\r\nEMAIL:{OWNER}\r\nEND:VCARD\r\n".encode()),
        ("invite.ics", "text/calendar", f"BEGIN:VCALENDAR\r\nORGANIZER:mailto:{OWNER.upper()}\r\nEND:VCALENDAR\r\n".encode()),
        ("winmail.dat", "application/ms-tnef", b"\x78\x9f\x3e\x22" + OWNER.encode("utf-16-le")),
    ],
)
def test_a_reply_with_the_private_address_in_an_attachment_is_held_with_a_notice(
    stack: Any, filename: str, content_type: str, data: bytes
) -> None:
    conversation = first_conversation(stack)
    thread = thread_address(conversation, stack.settings.token_key.encode(), stack.settings.reply_domain)
    raw = make_mail(
        sender=f"Owner <{OWNER}>",
        to=thread,
        subject="Re: Staff Platform Engineer role",
        body="Here is my card.\n",
        attachments=[(filename, content_type, data)],
    )
    before = len(sent_to_correspondents(stack))
    result = send_reply(stack, raw, thread)
    assert result["outcome"] == "accepted"
    assert len(sent_to_correspondents(stack)) == before, "the held reply reached the correspondent"
    assert [m["kind"] for m in outbox(stack)].count("reply") == 0
    notices = [m for m in outbox(stack) if m["kind"] == "notice"]
    assert len(notices) == 1 and notices[0]["to"] == [OWNER]
    notice = message_from_bytes(Path(notices[0]["file"]).read_bytes(), policy=policy.default)
    text = str(notice.get_body(("plain",)).get_content())  # type: ignore[union-attr]
    assert "NOT sent" in text and filename in text and content_type in text
    history = stack.svc.store.read(f"conversation#{conversation}")
    held = [e.event for e in history if e.type == "ReplyHeld"]
    assert len(held) == 1 and "ReplyDelivered" not in [e.type for e in history]
    assert any(p.filename == filename and p.what == "private mailbox" for p in held[0].parts)  # type: ignore[attr-defined]

    # the same ReplyRouted delivered again: still held once, one notice, nothing sent
    from consumers.senders import reply as reply_sender

    routed = next(e for e in history if e.type == "ReplyRouted")
    reply_sender.handle(stack.svc, routed, {})
    assert [e.type for e in stack.svc.store.read(f"conversation#{conversation}")].count("ReplyHeld") == 1
    assert len([m for m in outbox(stack) if m["kind"] == "notice"]) == 1


def test_a_clean_attachment_and_a_quoted_thread_address_are_sent_rewritten(stack: Any) -> None:
    conversation = first_conversation(stack)
    thread = thread_address(conversation, stack.settings.token_key.encode(), stack.settings.reply_domain)
    raw = make_mail(
        sender=f"Owner <{OWNER}>",
        to=thread,
        subject="Re: Staff Platform Engineer role",
        body=f"Sure.\n\n> Reply-To: Jane via Example <{thread}>\n> From: owner&#64;private.example.net\n",
        attachments=[("cv.pdf", "application/pdf", b"%PDF-1.4\nclean\n%%EOF\n")],
    )
    send_reply(stack, raw, thread)
    replies = [m for m in outbox(stack) if m["kind"] == "reply"]
    assert len(replies) == 1
    data = Path(replies[0]["file"]).read_bytes()
    sent = message_from_bytes(data, policy=policy.default)
    assert [p.get_filename() for p in sent.iter_attachments()] == ["cv.pdf"]  # type: ignore[attr-defined]
    body = str(sent.get_body(("plain",)).get_content())  # type: ignore[union-attr]
    assert stack.settings.reply_domain not in body and thread.split("@")[0] not in body and OWNER not in body
    assert "hello@example.com" in body


def test_the_sender_checks_the_exact_bytes_it_sends_and_holds_what_leaks(stack: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever build_reply returns, the sender's last check reads the bytes it hands to SES."""
    from consumers.senders import reply as reply_sender

    leaky = (
        b"From: hello@example.com\r\nTo: jane.doe@acmerobotics.com\r\nSubject: Re\r\n"
        b"Content-Type: text/html\r\n\r\n<p>owner<span>&#64;</span>private.example.net</p>\r\n"
    )
    monkeypatch.setattr(reply_sender, "build_reply", lambda *_a, **_k: leaky)
    conversation = first_conversation(stack)
    thread = thread_address(conversation, stack.settings.token_key.encode(), stack.settings.reply_domain)
    before = len(sent_to_correspondents(stack))
    send_reply(stack, owner_reply(thread), thread)
    assert len(sent_to_correspondents(stack)) == before
    assert "ReplyHeld" in event_types(stack, f"conversation#{conversation}")
    assert [m["kind"] for m in outbox(stack)].count("notice") == 1
