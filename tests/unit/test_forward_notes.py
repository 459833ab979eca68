"""The forwarded copy tells the owner who a reply reaches, and warns first when the
mail failed authentication: in every shape a forward can take."""

from __future__ import annotations

from email import message_from_bytes, policy
from email.message import EmailMessage

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consumers.senders.forward import forward_notes
from events import MessageReceived, load
from events.catalogue import Verdicts
from mail.addresses import OwnAddresses
from mail.forward_builder import build_forward
from mail.text import html_to_text

OWN = OwnAddresses.of(["hello@example.com", "owner@private.example.net"], ["reply.example.com"])
STATUSES = ["PASS", "FAIL", "GRAY", "PROCESSING_FAILED"]


def received(**fields: object) -> MessageReceived:
    base: dict[str, object] = {
        "conversation_id": "c1",
        "ses_message_id": "s1",
        "bucket": "b",
        "raw_key": "k",
        "received_at": "t",
        "from_address": "jane@acme.test",
    }
    return load(MessageReceived, {**base, **fields})


@settings(max_examples=60, deadline=None)
@given(
    spf=st.sampled_from(STATUSES),
    dkim=st.sampled_from(STATUSES),
    dmarc=st.sampled_from(STATUSES),
    reply_to=st.lists(
        st.sampled_from(["mallory@attacker.test", "hello@example.com", "x.y@reply.example.com", "Owner@Private.Example.NET"]),
        max_size=3,
    ),
)
def test_the_notes_warn_exactly_when_a_check_failed_and_name_the_reply_recipient(
    spf: str, dkim: str, dmarc: str, reply_to: list[str]
) -> None:
    event = received(verdicts=Verdicts(spf=spf, dkim=dkim, dmarc=dmarc), reply_to=[a.lower() for a in reply_to])
    notes = forward_notes(event, OWN)
    failed = "FAIL" in (spf, dkim, dmarc)
    assert notes[0].startswith("WARNING") == failed
    if failed:
        assert all(f"{n} FAIL" in notes[0] for n, s in (("SPF", spf), ("DKIM", dkim), ("DMARC", dmarc)) if s == "FAIL")
    expected = "mallory@attacker.test" if "mallory@attacker.test" in reply_to else "jane@acme.test"
    assert notes[-1] == f"Your reply goes to: {expected}"


def test_a_mail_with_only_our_own_addresses_says_a_reply_cannot_be_sent() -> None:
    notes = forward_notes(received(from_address="hello@example.com", reply_to=["x@reply.example.com"]), OWN)
    assert notes == ["Your reply cannot be sent: this mail names no address a reply may go to."]


PLAIN = b"From: Jane <jane@acme.test>\r\nSubject: Hi\r\nContent-Type: text/plain\r\n\r\nHello there\r\n"
HTML = (
    b"From: Jane <jane@acme.test>\r\nSubject: Hi\r\nContent-Type: text/html\r\n\r\n"
    b"<html><body><p>Hello there</p></body></html>\r\n"
)
ALTERNATIVE = (
    b"From: Jane <jane@acme.test>\r\nSubject: Hi\r\nMIME-Version: 1.0\r\n"
    b"Content-Type: multipart/alternative; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n"
    b"Hello there\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>Hello there</p>\r\n--b--\r\n"
)
ATTACHMENT_ONLY = (
    b"From: Jane <jane@acme.test>\r\nSubject: Hi\r\nMIME-Version: 1.0\r\n"
    b"Content-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n"
)
BIG = (
    b"From: Jane <jane@acme.test>\r\nSubject: Hi\r\nMIME-Version: 1.0\r\n"
    b"Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nHello there\r\n"
    b"--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n"
    + b"QUFB" * 20000
    + b"\r\n--b--\r\n"
)
BROKEN = b"From: Jane <jane@acme.test>\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\nno parts at all"
NOTES = [
    "WARNING: this mail failed authentication (SPF FAIL); the sender may not be who it claims to be.",
    "Your reply goes to: jane@acme.test",
]


@pytest.mark.parametrize(
    "raw",
    [PLAIN, HTML, ALTERNATIVE, ATTACHMENT_ONLY, BIG, BROKEN],
    ids=["plain", "html", "alternative", "attachment-only", "oversize", "broken"],
)
def test_every_shape_of_forward_opens_with_the_notes(raw: bytes) -> None:
    data = build_forward(
        raw,
        public_address="hello@example.com",
        public_name="Example",
        private_mailbox="owner@private.example.net",
        reply_to="c1.tag@reply.example.com",
        correspondent_name="Jane",
        correspondent_address="jane@acme.test",
        message_id="<fwd.s1@example.com>",
        max_bytes=40_000,
        top=NOTES,
    )
    message = message_from_bytes(data, policy=policy.default)
    assert isinstance(message, EmailMessage)
    bodies = [p for p in (message.get_body(("plain",)), message.get_body(("html",))) if p is not None]
    assert bodies
    for part in bodies:
        content = str(part.get_content())
        text = html_to_text(content) if part.get_content_type() == "text/html" else content
        lines = [line for line in text.splitlines() if line.strip()]
        assert lines[:2] == NOTES
