"""The forward to the owner: headers rebuilt, MIME kept, oversize handled, injections and broken mail defused."""

from __future__ import annotations

import base64
import re
from email.message import EmailMessage

import pytest

from mail.forward_builder import ATTACHMENTS_REMOVED
from tests.unit.compose_support import (
    BROKEN,
    INJECTIONS,
    PDF,
    PNG,
    PRIVATE,
    PUBLIC,
    THREAD,
    assert_wire_format,
    attachments,
    content,
    forward,
    header_names,
    inbound_mail,
    parse,
    texts,
)

# ---------------------------------------------------------------------------
# forward


def test_forward_headers() -> None:
    out = forward(inbound_mail())
    assert_wire_format(out)
    msg = parse(out)
    assert msg["From"].addresses[0].addr_spec == PUBLIC
    assert msg["From"].addresses[0].display_name == "Alice Smith via Hello Example"
    assert msg["To"].addresses[0].addr_spec == PRIVATE
    assert msg["Reply-To"].addresses[0].addr_spec == THREAD
    assert msg["Message-ID"] == "<fwd-1@example.com>"
    assert msg["Subject"] == "The job"
    assert msg["X-CRM-Forwarded"] == "yes"
    assert msg["X-Original-From"] == "Alice Smith <alice@corp.example.org>"
    assert msg["X-Original-To"] == "Hello <hello@example.com>"
    assert msg["X-Original-Cc"] == "Carol <carol@corp.example.org>"
    assert msg["X-Original-Date"] == "Mon, 01 Jan 2024 10:00:00 +0100"
    assert msg["X-Original-Message-ID"] == "<orig-1@corp.example.org>"
    assert msg["In-Reply-To"] == "<start@corp.example.org>"
    assert msg["X-Custom"] == "kept"
    assert "auto-submitted" not in header_names(msg)
    for name in ("from", "to", "reply-to", "subject", "message-id", "date", "x-original-to", "mime-version"):
        assert header_names(msg).count(name) == 1, name


@pytest.mark.parametrize(
    "name",
    [
        "dkim-signature",
        "return-path",
        "sender",
        "received",
        "arc-seal",
        "arc-message-signature",
        "arc-authentication-results",
        "authentication-results",
        "received-spf",
        "x-ses-spam-verdict",
        "x-ses-virus-verdict",
        "feedback-id",
        "list-unsubscribe",
        "list-unsubscribe-post",
        "delivered-to",
        "bcc",
        "cc",
        "errors-to",
        "disposition-notification-to",
    ],
)
def test_forward_removes_header(name: str) -> None:
    msg = parse(forward(inbound_mail()))
    assert name not in header_names(msg)


def test_forward_replaces_message_id_reply_to_and_original_to() -> None:
    out = forward(inbound_mail())
    assert b"alice.private@corp.example.org" not in out
    msg = parse(out)
    assert msg.get_all("Message-ID") == ["<fwd-1@example.com>"]
    assert msg.get_all("X-Original-To") == ["Hello <hello@example.com>"]


def test_forward_collapses_duplicate_headers() -> None:
    raw = (
        b"From: a@corp.example.org\r\nTo: hello@example.com\r\nSubject: first\r\nSubject: second\r\n"
        b"Date: Mon, 01 Jan 2024 10:00:00 +0000\r\nDate: Tue, 02 Jan 2024 10:00:00 +0000\r\n"
        b"X-Thing: one\r\nX-Thing: two\r\n\r\nbody\r\n"
    )
    msg = parse(forward(raw))
    assert msg.get_all("Subject") == ["first"]
    assert len(msg.get_all("Date") or []) == 1
    assert "Jan 2024" in msg["Date"] and msg["Date"].datetime.day == 1
    assert msg.get_all("X-Thing") == ["one"]


def test_forward_keeps_whole_mime_structure() -> None:
    raw = inbound_mail()
    before = parse(raw)
    msg = parse(forward(raw))
    assert attachments(msg) == attachments(before)
    assert len(attachments(msg)) == 3
    assert [p.get_content_type() for p in msg.walk()] == [p.get_content_type() for p in before.walk()]
    image = next(p for p in msg.walk() if p.get_content_type() == "image/png")
    assert image.get_payload(decode=True) == PNG
    assert image["Content-ID"] == "<logo@corp>"
    nested = next(p for p in msg.walk() if p.get_content_type() == "message/rfc822").get_payload(0)
    assert nested["Subject"] == "Original offer"
    assert content(nested) == "the nested mail body\n"


def test_forward_puts_the_block_on_top_of_text_and_html() -> None:
    msg = parse(forward(inbound_mail()))
    (plain,) = texts(msg, "plain")[:1]
    assert plain.startswith("From: Alice Smith <alice@corp.example.org>\n")
    head = plain.split("-" * 40)[0]
    assert "To: Hello <hello@example.com>" in head
    assert "Cc: Carol <carol@corp.example.org>" in head
    assert "Date: Mon, 01 Jan 2024 10:00:00 +0100" in head
    assert "Subject: The job" in head
    assert "please see the offer." in plain
    (markup,) = texts(msg, "html")
    body_at = markup.index("<body>")
    block_at = markup.index("From: Alice Smith &lt;alice@corp.example.org&gt;")
    assert body_at < block_at < markup.index("please see")
    assert "cid:logo@corp" in markup
    # the nested mail's own text is not touched
    nested = next(p for p in msg.walk() if p.get_content_type() == "message/rfc822").get_payload(0)
    assert "From: Alice" not in content(nested)


def test_forward_decodes_body_charset_before_adding_the_block() -> None:
    raw = (
        b"From: Ren\xe9 <rene@corp.example.org>\r\nTo: hello@example.com\r\nSubject: caf\xe9\r\n"
        b"Content-Type: text/plain; charset=iso-8859-1\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        b"Bonjour, un caf\xe9 ?\r\n"
    )
    out = forward(raw)
    assert out.isascii()
    msg = parse(out)
    assert "Bonjour, un café ?" in content(msg)
    assert msg["Subject"] == "café"


def test_forward_oversize_drops_attachments_and_links_the_original() -> None:
    big = bytes(range(256)) * 2000  # 512 KB
    msg_in = EmailMessage()
    msg_in["From"] = "Alice <alice@corp.example.org>"
    msg_in["To"] = PUBLIC
    msg_in["Subject"] = "big"
    msg_in.set_content("see attached\n")
    msg_in.add_alternative("<html><body><p>see attached</p></body></html>", subtype="html")
    msg_in.add_attachment(big, "application", "octet-stream", filename="big.bin")
    raw = msg_in.as_bytes()
    assert len(forward(raw)) > len(raw)  # with no limit everything is kept
    out = forward(raw, max_bytes=100_000)
    assert len(out) <= 100_000
    msg = parse(out)
    assert attachments(msg) == []
    assert all(p.get_content_maintype() in ("text", "multipart") for p in msg.walk())
    plain = texts(msg, "plain")[0]
    assert f"{ATTACHMENTS_REMOVED}; the original: https://crm.example.com/raw/abc" in plain
    assert "big.bin" in plain
    assert "see attached" in plain
    markup = texts(msg, "html")[0]
    assert ATTACHMENTS_REMOVED in markup and "https://crm.example.com/raw/abc" in markup
    assert msg["Reply-To"].addresses[0].addr_spec == THREAD
    assert msg["X-CRM-Forwarded"] == "yes"


def test_forward_oversize_without_link() -> None:
    msg_in = EmailMessage()
    msg_in["From"] = "alice@corp.example.org"
    msg_in.set_content("x\n")
    msg_in.add_attachment(b"\x00" * 50_000, "application", "octet-stream", filename="a.bin")
    msg = parse(forward(msg_in.as_bytes(), max_bytes=20_000, raw_link=None))
    assert f"{ATTACHMENTS_REMOVED}." in content(msg)


def test_forward_oversize_text_is_cut_to_fit() -> None:
    msg_in = EmailMessage()
    msg_in["From"] = "alice@corp.example.org"
    msg_in["Subject"] = "long"
    msg_in.set_content("word " * 100_000)
    out = forward(msg_in.as_bytes(), max_bytes=30_000)
    assert len(out) <= 30_000
    body = content(parse(out))
    assert body.startswith("From: alice@corp.example.org")
    assert "word word" in body


@pytest.mark.parametrize(
    "name",
    ["Eve\r\nBcc: victim@evil.example", "=?utf-8?q?Eve=0D=0ABcc:_victim@evil.example?=", "Eve\nBcc: x\r\n\r\nbody"],
)
def test_forward_display_name_injection_adds_no_header(name: str) -> None:
    out = forward(inbound_mail(), correspondent_name=name)
    assert_wire_format(out)
    msg = parse(out)
    assert "bcc" not in header_names(msg)
    assert not re.search(rb"^bcc:", out, re.IGNORECASE | re.MULTILINE)
    display = msg["From"].addresses[0].display_name
    assert "\r" not in display and "\n" not in display
    assert display.startswith("Eve Bcc")


def test_forward_subject_injection_adds_no_header() -> None:
    raw = (
        b"From: =?utf-8?q?Eve=0D=0ABcc:_a@evil.example?= <eve@evil.example>\r\n"
        b"To: hello@example.com\r\n"
        b"Subject: =?utf-8?q?Hi=0D=0ABcc:_victim@evil.example?=\r\n"
        b"X-Trick: a\x0bBcc: victim2@evil.example\r\n"
        b"\r\nbody\r\n"
    )
    out = forward(raw, correspondent_name=None)
    assert_wire_format(out)
    assert not re.search(rb"^bcc:", out, re.IGNORECASE | re.MULTILINE)
    msg = parse(out)
    assert "bcc" not in header_names(msg)
    assert msg["Subject"] == "Hi Bcc: victim@evil.example"
    for name, value in msg.items():
        assert "\r" not in str(value) and "\n" not in str(value), name


@pytest.mark.parametrize("headers", INJECTIONS.values(), ids=INJECTIONS.keys())
def test_forward_encoded_word_injection_adds_no_header(headers: bytes) -> None:
    # Python's header folding writes out what an encoded word decodes to, CR LF included
    raw = b"From: Eve <eve@evil.example>\r\n" + headers + b"\r\nbody\r\n"
    for max_bytes in (10_000_000, 1200):
        out = forward(raw, correspondent_name=None, max_bytes=max_bytes)
        assert_wire_format(out)
        assert not re.search(rb"^bcc:", out, re.IGNORECASE | re.MULTILINE)
        msg = parse(out)
        assert "bcc" not in header_names(msg)
        assert msg["To"].addresses[0].addr_spec == PRIVATE
        for part in msg.walk():
            for name, value in part.items():
                assert "\r" not in str(value) and "\n" not in str(value), name


def test_forward_keeps_long_references_verbatim() -> None:
    long_id = "<" + "A" * 90 + "@SG2PR06MB5310.apcprd06.prod.outlook.com>"
    raw = f"From: a@corp.example.org\r\nReferences: <x@y.org>\r\n {long_id}\r\n\r\nbody\r\n".encode()
    out = forward(raw)
    assert_wire_format(out)
    assert long_id.encode() in out
    assert parse(out)["References"].split() == ["<x@y.org>", long_id]


def test_forward_rewraps_overlong_lines() -> None:
    blob = bytes(range(256)) * 20
    one_line = base64.b64encode(blob)
    raw = (
        b"From: a@corp.example.org\r\n" + b"X-" + b"N" * 2000 + b": junk\r\n"
        b'Content-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n"
        b"--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n"
        b"Content-Disposition: attachment; filename=blob.bin\r\n\r\n" + one_line + b"\r\n--b--\r\n"
    )
    out = forward(raw)
    assert_wire_format(out)  # no line over 998 characters
    assert attachments(parse(out)) == [("application/octet-stream", "blob.bin", blob)]


def test_forward_signed_mail_keeps_signature_intact() -> None:
    signed_body = b"Content-Type: text/plain; charset=us-ascii\r\n\r\nsigned text\r\n"
    raw = (
        b"From: a@corp.example.org\r\nSubject: signed\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/signed; protocol="application/pgp-signature"; micalg=pgp-sha256; boundary="sig"\r\n'
        b"\r\n--sig\r\n" + signed_body + b"\r\n--sig\r\n"
        b"Content-Type: application/pgp-signature\r\n\r\n-----BEGIN PGP SIGNATURE-----\r\nabc\r\n"
        b"-----END PGP SIGNATURE-----\r\n\r\n--sig--\r\n"
    )
    out = forward(raw)
    msg = parse(out)
    assert msg.get_content_type() == "multipart/mixed"
    first, second = msg.get_payload()
    assert first.get_content_type() == "text/plain" and "Subject: signed" in content(first)
    assert second.get_content_type() == "multipart/signed"
    assert signed_body in out  # the signed bytes are untouched
    assert content(second.get_payload(0)) == "signed text\n"


def test_forward_mail_without_text_body_gets_a_block_part() -> None:
    msg_in = EmailMessage()
    msg_in["From"] = "alice@corp.example.org"
    msg_in["Subject"] = "just a file"
    msg_in.set_content(PDF, "application", "pdf", filename="cv.pdf")
    msg = parse(forward(msg_in.as_bytes()))
    assert msg.get_content_type() == "multipart/mixed"
    assert "Subject: just a file" in content(msg.get_payload(0))
    assert attachments(msg) == [("application/pdf", "cv.pdf", PDF)]


@pytest.mark.parametrize("raw", BROKEN.values(), ids=BROKEN.keys())
def test_forward_never_raises_on_broken_mail(raw: bytes) -> None:
    out = forward(raw)
    assert_wire_format(out)
    msg = parse(out)
    assert msg["X-CRM-Forwarded"] == "yes"
    assert msg["To"].addresses[0].addr_spec == PRIVATE
    assert msg["Reply-To"].addresses[0].addr_spec == THREAD
    assert "bcc" not in header_names(msg)
    small = forward(raw, max_bytes=1500)
    assert_wire_format(small)
    assert parse(small)["X-CRM-Forwarded"] == "yes"


def test_forward_broken_multipart_falls_back_to_raw_text() -> None:
    out = forward(BROKEN["multipart without boundary"])
    msg = parse(out)
    body = msg.get_body(preferencelist=("plain",))
    assert body is not None
    assert "hello" in content(body)
