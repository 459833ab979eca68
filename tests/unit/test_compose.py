"""Outbound mail building: forward to the owner, acknowledgement, reply to the correspondent."""

from __future__ import annotations

import base64
import re
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from typing import Any

import pytest

from mail.ack_builder import build_ack
from mail.forward_builder import ATTACHMENTS_REMOVED, build_forward
from mail.header_safety import clean_display_name
from mail.reply_builder import build_reply

PUBLIC = "hello@example.com"
PRIVATE = "owner@private.example.net"
THREAD = "c-abc123.sig@reply.example.com"
PDF = b"%PDF-1.4\n" + bytes(range(256)) * 4 + b"\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + bytes(range(255, -1, -1)) * 2
ZIP = b"PK\x03\x04" + b"\x00\xff" * 300


def parse(data: bytes) -> EmailMessage:
    msg = message_from_bytes(data, policy=policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def forward(raw: bytes, **overrides: Any) -> bytes:
    args: dict[str, Any] = {
        "public_address": PUBLIC,
        "public_name": "Hello Example",
        "private_mailbox": PRIVATE,
        "reply_to": THREAD,
        "correspondent_name": "Alice Smith",
        "correspondent_address": "alice@corp.example.org",
        "message_id": "<fwd-1@example.com>",
        "max_bytes": 10_000_000,
        "raw_link": "https://crm.example.com/raw/abc",
    }
    args.update(overrides)
    return build_forward(raw, **args)


def reply(raw: bytes, **overrides: Any) -> bytes:
    args: dict[str, Any] = {
        "public_address": PUBLIC,
        "public_name": "Hello Example",
        "private_mailbox": PRIVATE,
        "to": ["Alice Smith <alice@corp.example.org>"],
        "subject": "Re: The job",
        "in_reply_to": "<orig-1@corp.example.org>",
        "references": ["<start@corp.example.org>", "<orig-1@corp.example.org>"],
        "message_id": "<reply-1@example.com>",
        "strip": [],
    }
    args.update(overrides)
    return build_reply(raw, **args)


def ack(**overrides: Any) -> bytes:
    args: dict[str, Any] = {
        "to": "alice@corp.example.org",
        "name": "Alice",
        "subject": "The job",
        "conversation_id": "c-42",
        "in_reply_to": "<orig-1@corp.example.org>",
        "references": ["<start@corp.example.org>"],
        "public_address": PUBLIC,
        "public_name": "Hello Example",
        "message_id": "<ack-1@example.com>",
        "subject_template": "Re: {subject}",
        "text_template": "Hi {name}, got '{subject}' ({conversation_id}). {public_name}",
        "html_template": "<p>Hi {name}, got '{subject}' ({conversation_id}). {public_name}</p>",
    }
    args.update(overrides)
    return build_ack(**args)


def header_names(msg: Message) -> list[str]:
    return [name.lower() for name in msg]


def leaves(msg: Message) -> list[Message]:
    return [part for part in msg.walk() if not part.is_multipart()]


def attachments(msg: Message) -> list[tuple[str, str | None, bytes]]:
    """(content type, file name, decoded bytes) of every attachment, attached mails as bytes."""
    out: list[tuple[str, str | None, bytes]] = []
    for part in msg.walk():
        if part.get_content_disposition() != "attachment":
            continue
        if part.get_content_type() == "message/rfc822":
            inner = part.get_payload(0)
            out.append((part.get_content_type(), part.get_filename(), inner.get_payload(decode=True)))
        else:
            out.append((part.get_content_type(), part.get_filename(), part.get_payload(decode=True)))
    return out


def content(part: Message) -> str:
    """Decoded text of a part with LF line ends (get_content keeps the wire's CRLF for 7bit)."""
    assert isinstance(part, EmailMessage)
    text = part.get_content()
    assert isinstance(text, str)
    return text.replace("\r\n", "\n")


def texts(msg: Message, subtype: str) -> list[str]:
    return [content(p) for p in msg.walk() if p.get_content_type() == f"text/{subtype}"]


def assert_wire_format(data: bytes) -> None:
    assert b"\n" not in data.replace(b"\r\n", b""), "mixed line ends"
    assert b"\r" not in data.replace(b"\r\n", b""), "bare CR"
    assert max(len(line) for line in data.split(b"\r\n")) <= 998
    header_block = data.split(b"\r\n\r\n", 1)[0]
    for line in header_block.split(b"\r\n"):
        assert line[:1] in (b" ", b"\t") or re.match(rb"^[!-9;-~]+:", line), line


def inbound_mail(*, extra_headers: str = "") -> bytes:
    """A realistic inbound mail: alternative text+html, inline image, pdf, zip, attached mail."""
    inner = EmailMessage()
    inner["From"] = "Bob <bob@corp.example.org>"
    inner["To"] = "alice@corp.example.org"
    inner["Subject"] = "Original offer"
    inner.set_content("the nested mail body\n")

    msg = EmailMessage()
    msg["Return-Path"] = "<bounce@ses.example.org>"
    msg["Received"] = "from mx1 by inbound-smtp"
    msg["Received"] = "from mx2 by mx1"
    msg["DKIM-Signature"] = "v=1; a=rsa-sha256; d=corp.example.org; b=AAAA"
    msg["ARC-Seal"] = "i=1; a=rsa-sha256; cv=none"
    msg["ARC-Message-Signature"] = "i=1; a=rsa-sha256"
    msg["ARC-Authentication-Results"] = "i=1; mx.example"
    msg["Authentication-Results"] = "amazonses.com; spf=pass"
    msg["Received-SPF"] = "pass"
    msg["X-SES-Spam-Verdict"] = "PASS"
    msg["X-SES-Virus-Verdict"] = "PASS"
    msg["Feedback-ID"] = "1.eu-west-1.abc:AmazonSES"
    msg["List-Unsubscribe"] = "<mailto:unsub@corp.example.org>"
    msg["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    msg["Delivered-To"] = "hello@example.com"
    msg["X-Original-To"] = "hello@example.com"
    msg["Errors-To"] = "errors@corp.example.org"
    msg["Sender"] = "sender@corp.example.org"
    msg["From"] = "Alice Smith <alice@corp.example.org>"
    msg["To"] = "Hello <hello@example.com>"
    msg["Cc"] = "Carol <carol@corp.example.org>"
    msg["Bcc"] = "secret@corp.example.org"
    msg["Reply-To"] = "alice.private@corp.example.org"
    msg["Subject"] = "The job"
    msg["Date"] = "Mon, 01 Jan 2024 10:00:00 +0100"
    msg["Message-ID"] = "<orig-1@corp.example.org>"
    msg["In-Reply-To"] = "<start@corp.example.org>"
    msg["Disposition-Notification-To"] = "alice@corp.example.org"
    msg["X-Custom"] = "kept"
    for line in extra_headers.splitlines():
        name, value = line.split(":", 1)
        msg[name] = value.strip()
    msg.set_content("Hello,\nplease see the offer.\n")
    msg.add_alternative("<html><body><p>Hello,<br>please see <img src='cid:logo@corp'> the offer.</p></body></html>",
                        subtype="html")
    html_part = msg.get_payload()[1]
    html_part.add_related(PNG, "image", "png", cid="<logo@corp>", filename="logo.png", disposition="inline")
    msg.add_attachment(PDF, "application", "pdf", filename="offer.pdf")
    msg.add_attachment(ZIP, "application", "zip", filename="code.zip")
    msg.add_attachment(inner, filename="original.eml")
    return msg.as_bytes(policy=policy.SMTP)


# ---------------------------------------------------------------------------
# clean_display_name


@pytest.mark.parametrize("value", [None, "", "   ", "\r\n", '""', "<>", "\u2028"])
def test_clean_display_name_empty(value: str | None) -> None:
    assert clean_display_name(value) is None


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("Alice Smith", "Alice Smith"),
        ("Eve\r\nBcc: x@y", "Eve Bcc: x@y"),
        ("Eve\rBcc: x@y", "Eve Bcc: x@y"),
        ("Eve\u2028Bcc\u2029x\x0bq\x00z", "Eve Bcc x q z"),
        ("=?utf-8?q?evil=0D=0ABcc:_x@y?=", "evil Bcc: x@y"),
        ("=?utf-8?b?WsO2w6sg8J+Muw==?=", "Zöë 🌻"),
        ('"Alice" <alice@x.org>', "Alice alice@x.org"),
        ("  lots   of\t\tspace  ", "lots of space"),
        ("'Quoted Outlook'", "Quoted Outlook"),
        ("a\u202eb\u200bc", "abc"),
    ],
)
def test_clean_display_name(value: str, expected: str) -> None:
    assert clean_display_name(value) == expected


def test_clean_display_name_nested_encoded_word_is_defused() -> None:
    # the decoded value is itself an encoded word: it must not survive as one
    nested = "=?utf-8?q?=3D=3Futf-8=3Fq=3Fevil=3D0D=3D0ABcc:_x=3F=3D?="
    cleaned = clean_display_name(nested)
    assert cleaned is not None
    assert "=?" not in cleaned
    assert "\r" not in cleaned and "\n" not in cleaned


def test_clean_display_name_limit() -> None:
    assert clean_display_name("x" * 200) == "x" * 78
    assert clean_display_name("abc def", limit=4) == "abc"


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


INJECTIONS = {
    "encoded word in address": b"To: <hello@example=?utf-8?q?a=0D=0ABcc:_victim@evil.example?=.com>\r\n",
    "encoded word mid-subject": b"Subject: x=?utf-8?q?=0D=0ABcc:_victim@evil.example?=y\r\n",
    "double-encoded subject": b"Subject: =?utf-8?b?PT91dGYtOD9xPz0wRD0wQUJjYzpfdmljdGltQGV2aWwuZXhhbXBsZT89?=\r\n",
    "encoded word in date": b"Date: =?utf-8?q?Mon=0D=0ABcc:_victim@evil.example?=\r\n",
    "encoded word in cc": b"Cc: =?utf-8?q?x=0D=0ABcc:_victim@evil.example?= <c@d.org>\r\n",
    "encoded filename of the body": (
        b'Content-Type: text/plain; name="=?utf-8?q?a=0D=0ABcc:_victim@evil.example?="\r\n'
        b'Content-Disposition: inline; filename="=?utf-8?q?a=0D=0ABcc:_victim@evil.example?="\r\n'
    ),
}


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
    signed_body = (
        b"Content-Type: text/plain; charset=us-ascii\r\n\r\nsigned text\r\n"
    )
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


BROKEN = {
    "empty": b"",
    "garbage": b"\xff\xfe\x00\x01binary\x00garbage",
    "headers only": b"From: a@corp.example.org\r\nSubject: no body",
    "no subject": b"From: a@corp.example.org\r\n\r\nhello\r\n",
    "unknown charset": (
        b"From: a@corp.example.org\r\nContent-Type: text/plain; charset=x-unknown-charset\r\n\r\nna\xc3\xafve\r\n"
    ),
    "bad codec name": b"From: a@b.org\r\nContent-Type: text/plain; charset=rot13\r\n\r\nhello\r\n",
    "8-bit headers": b"From: J\xc3\xbcrgen <j@corp.example.org>\r\nSubject: Gr\xfc\xdfe \xff\r\n\r\nK\xf6rper\r\n",
    "NUL bytes": b"From: a@corp.example.org\r\nSubject: n\x00ul\r\n\r\nbody\x00with\x00nul\r\n",
    "multipart without boundary": (
        b"From: a@corp.example.org\r\nContent-Type: multipart/mixed\r\n\r\n--x\r\nhello\r\n--x--\r\n"
    ),
    "boundary never appears": (
        b'From: a@corp.example.org\r\nContent-Type: multipart/alternative; boundary="b1"\r\n\r\n'
        b"--b2\r\nContent-Type: text/plain\r\n\r\nhello\r\n--b2--\r\n"
    ),
    "missing close boundary": (
        b'From: a@corp.example.org\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nhello\r\n--b\r\nContent-Type: text/html\r\n\r\n<p>cut"
    ),
    "bad base64": (
        b"From: a@corp.example.org\r\nContent-Type: text/plain; charset=utf-8\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\naGVsbG8gd29ybGQ\r\n!!!\r\n"
    ),
    "bad quoted-printable": (
        b"From: a@corp.example.org\r\nContent-Type: text/plain; charset=iso-8859-2\r\n"
        b"Content-Transfer-Encoding: quoted-printable\r\n\r\nx=ZZ y=3 z= w=bf=\r\n"
    ),
    "bad rfc2231 filename": (
        b'From: a@corp.example.org\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nhi\r\n--b\r\nContent-Type: application/pdf\r\n"
        b"Content-Disposition: attachment; filename*=bogus''a%0D%0ABcc%3A%20x%40y.pdf\r\n\r\nxx\r\n--b--\r\n"
    ),
    "bare LF and CR": b"From: a@corp.example.org\nSubject: lf\r\rbody\rwith\nmixed\r\n",
    "deep nesting": (
        b"From: a@corp.example.org\r\n"
        + b"".join(
            f'Content-Type: multipart/mixed; boundary="b{i}"\r\n\r\n--b{i}\r\n'.encode() for i in range(60)
        )
        + b"Content-Type: text/plain\r\n\r\ndeep\r\n"
    ),
}


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


# ---------------------------------------------------------------------------
# ack


def test_ack_headers_and_threading() -> None:
    out = ack()
    assert_wire_format(out)
    msg = parse(out)
    assert msg["From"].addresses[0].addr_spec == PUBLIC
    assert msg["From"].addresses[0].display_name == "Hello Example"
    assert msg["To"].addresses[0].addr_spec == "alice@corp.example.org"
    assert msg["Message-ID"] == "<ack-1@example.com>"
    assert msg["In-Reply-To"] == "<orig-1@corp.example.org>"
    assert msg["References"].split() == ["<start@corp.example.org>", "<orig-1@corp.example.org>"]
    assert msg["Auto-Submitted"] == "auto-replied"
    assert msg["X-Auto-Response-Suppress"] == "All"
    assert "precedence" not in header_names(msg)
    assert msg["Date"].datetime is not None
    assert msg["Subject"] == "Re: The job"


def test_ack_is_text_and_html_alternative_with_template_fields() -> None:
    msg = parse(ack())
    assert msg.get_content_type() == "multipart/alternative"
    assert [p.get_content_type() for p in msg.iter_parts()] == ["text/plain", "text/html"]
    assert texts(msg, "plain")[0].strip() == "Hi Alice, got 'The job' (c-42). Hello Example"
    assert texts(msg, "html")[0].strip() == "<p>Hi Alice, got 'The job' (c-42). Hello Example</p>"


@pytest.mark.parametrize("subject", ["Re: The job", "RE: The job", "Aw: The job", "re: Re: The job", "  The job  "])
def test_ack_subject_never_doubles_re(subject: str) -> None:
    assert parse(ack(subject=subject))["Subject"] == "Re: The job"


def test_ack_name_falls_back_to_there() -> None:
    for name in (None, "", "  \r\n"):
        assert "Hi there," in texts(parse(ack(name=name)), "plain")[0]


def test_ack_escapes_html_values() -> None:
    msg = parse(ack(subject="Q&A <script>alert(1)</script>"))
    markup = texts(msg, "html")[0]
    assert "<script>" not in markup
    assert "Q&amp;A &lt;script&gt;" in markup
    assert "Q&A <script>alert(1)</script>" in texts(msg, "plain")[0]


@pytest.mark.parametrize(
    "template",
    ["Hi {nope}", "Hi {0}", "Hi {name.__class__}", "Hi {name[0]}", "Hi {name", "Hi {name:d}", "Hi }"],
)
def test_ack_bad_template_falls_back_to_default_wording(template: str) -> None:
    msg = parse(ack(text_template=template, subject_template=template))
    plain = texts(msg, "plain")[0]
    assert plain.startswith("Hello Alice,")
    assert "c-42" in plain
    assert texts(msg, "html")[0].count("Hello Alice,") == 1  # html falls back together with the text
    assert msg["Subject"] == "Re: The job"


def test_ack_injection_in_name_and_subject_adds_no_header() -> None:
    out = ack(
        name="Eve\r\nBcc: victim@evil.example",
        subject="=?utf-8?q?x=0D=0ABcc:_victim@evil.example?=",
        subject_template="Thanks: {subject} / {name}",
    )
    assert_wire_format(out)
    assert not re.search(rb"^bcc:", out, re.IGNORECASE | re.MULTILINE)
    msg = parse(out)
    assert "bcc" not in header_names(msg)
    # and no address is echoed at all (issue 11: the ack repeats no links or addresses)
    assert msg["Subject"] == "Thanks: x Bcc: / Eve Bcc:"


def test_ack_double_encoded_subject_adds_no_header() -> None:
    out = ack(subject="=?utf-8?b?PT91dGYtOD9xPz0wRD0wQUJjYzpfdmljdGltQGV2aWwuZXhhbXBsZT89?=")
    assert_wire_format(out)
    assert not re.search(rb"^bcc:", out, re.IGNORECASE | re.MULTILINE)
    assert "bcc" not in header_names(parse(out))


def test_ack_subject_template_with_line_break_is_cleaned() -> None:
    msg = parse(ack(subject_template="Thanks\r\nBcc: x@y {subject}"))
    assert "bcc" not in header_names(msg)
    assert msg["Subject"] == "Thanks Bcc: x@y The job"


def test_ack_without_parent() -> None:
    msg = parse(ack(in_reply_to=None, references=[]))
    assert "in-reply-to" not in header_names(msg)
    assert "references" not in header_names(msg)


# ---------------------------------------------------------------------------
# reply


def owner_reply(*, attribution_address: str = PRIVATE, plain_extra: str = "", html_extra: str = "") -> bytes:
    """An owner's reply as a Gmail-like client sends it to the thread address."""
    msg = EmailMessage()
    msg["Return-Path"] = f"<{PRIVATE}>"
    msg["Received"] = f"from mail.private.example.net ([10.0.0.1]) for <{THREAD}>"
    msg["DKIM-Signature"] = "v=1; a=rsa-sha256; d=private.example.net; b=AAAA"
    msg["ARC-Seal"] = "i=1; cv=none"
    msg["Authentication-Results"] = "mx; dkim=pass header.d=private.example.net"
    msg["From"] = f"Owner Person <{PRIVATE}>"
    msg["Sender"] = PRIVATE
    msg["Reply-To"] = PRIVATE
    msg["To"] = f"Alice Smith via Hello <{THREAD}>"
    msg["Cc"] = "boss@private.example.net"
    msg["Bcc"] = "me@private.example.net"
    msg["Subject"] = "Re: The job"
    msg["Date"] = "Tue, 02 Jan 2024 09:30:00 +0200"
    msg["Message-ID"] = "<CAB1234@mail.private.example.net>"
    msg["X-Originating-IP"] = "[10.1.2.3]"
    msg["User-Agent"] = "Mozilla Thunderbird"
    msg["X-Mailer"] = "Private Mailer 1.0"
    msg["X-MS-Exchange-Organization"] = "x"
    msg["Thread-Index"] = "AQHZ"
    msg["Thread-Topic"] = "The job"
    msg["X-Google-Smtp-Source"] = "abc"
    msg["Autocrypt"] = f"addr={PRIVATE}; keydata=AAAA"
    msg["Openpgp"] = "id=ABCD"
    msg["Disposition-Notification-To"] = PRIVATE
    msg["Return-Receipt-To"] = PRIVATE
    msg["Importance"] = "high"
    msg["Delivered-To"] = PRIVATE
    plain = (
        "[TITLE: Staff Engineer]\n"
        "[SALARY: 150k]\n"
        "Hi Alice,\n\nTuesday works for me.\n" + plain_extra + "\n"
        f"On Mon, 1 Jan 2024 at 10:00, Owner Person <{attribution_address}> wrote:\n"
        "> From: Alice Smith <alice@corp.example.org>\n> Hello\n"
    )
    markup = (
        '<div dir="ltr">[TITLE: Staff Engineer]<div>[SALARY: 150k]</div><div>Hi Alice,</div>'
        "<div><br></div><div>Tuesday works for me.</div>" + html_extra + '<img src="cid:sig-logo@private.example.net">'
        '</div><br><div class="gmail_quote"><div dir="ltr" class="gmail_attr">On Mon, 1 Jan 2024 at 10:00, '
        f'Owner Person &lt;<a href="mailto:{attribution_address}">{attribution_address}</a>&gt; wrote:<br></div>'
        "<blockquote>Hello</blockquote></div>"
    )
    msg.set_content(plain)
    msg.add_alternative(markup, subtype="html")
    msg.get_payload()[1].add_related(
        PNG, "image", "png", cid="<sig-logo@private.example.net>", filename="logo.png", disposition="inline"
    )
    msg.add_attachment(PDF, "application", "pdf", filename="terms.pdf")
    return msg.as_bytes(policy=policy.SMTP)


STRIP = ["[TITLE: Staff Engineer]", "[SALARY: 150k]"]
REPLY_HEADERS = {
    "from",
    "to",
    "subject",
    "date",
    "message-id",
    "in-reply-to",
    "references",
    "mime-version",
    "content-type",
    "content-transfer-encoding",
    "content-disposition",
}


def everything_decoded(msg: Message) -> str:
    """Every header of every part and every text part, decoded."""
    chunks: list[str] = []
    for part in msg.walk():
        chunks.extend(f"{name}: {value}" for name, value in part.items())
        if part.get_content_maintype() == "text":
            chunks.append(content(part))
        if part.get_filename():
            chunks.append(part.get_filename() or "")
    return "\n".join(chunks)


def assert_no_private(out: bytes) -> None:
    assert PRIVATE.lower().encode() not in out.lower()
    decoded = everything_decoded(parse(out)).lower()
    for spelling in (PRIVATE, PRIVATE.replace("@", "%40"), PRIVATE.replace("@", "&#64;")):
        assert spelling.lower() not in decoded, spelling


def test_reply_headers_are_rebuilt() -> None:
    out = reply(owner_reply(), strip=STRIP)
    assert_wire_format(out)
    msg = parse(out)
    assert set(header_names(msg)) <= REPLY_HEADERS
    assert msg["From"].addresses[0].addr_spec == PUBLIC
    assert msg["From"].addresses[0].display_name == "Hello Example"
    assert [a.addr_spec for a in msg["To"].addresses] == ["alice@corp.example.org"]
    assert msg["Subject"] == "Re: The job"
    assert msg["Message-ID"] == "<reply-1@example.com>"
    assert msg["In-Reply-To"] == "<orig-1@corp.example.org>"
    assert msg["References"].split() == ["<start@corp.example.org>", "<orig-1@corp.example.org>"]
    assert msg["Date"].datetime.isoformat() == "2024-01-02T09:30:00+02:00"
    for part in msg.walk():
        if part is not msg:
            assert all(name.lower().startswith("content-") for name in part), part.keys()


def test_reply_never_contains_the_private_mailbox() -> None:
    raw = owner_reply(
        attribution_address=PRIVATE.upper(),
        plain_extra=f"mail me at {PRIVATE} or mailto:{PRIVATE.replace('@', '%40')}\n",
        html_extra=f"<p>{PRIVATE.replace('@', '&#64;')}</p>",
    )
    out = reply(raw, strip=STRIP, subject=f"Re: from {PRIVATE}", to=[f'"{PRIVATE}" <alice@corp.example.org>'])
    assert_no_private(out)
    msg = parse(out)
    plain = texts(msg, "plain")[0]
    assert f"Owner Person <{PUBLIC}> wrote:" in plain  # attribution rewritten, name kept
    assert f"mail me at {PUBLIC}" in plain
    assert f"mailto:{PUBLIC}" in texts(msg, "html")[0]


def test_reply_private_mailbox_in_correspondent_name_and_filenames() -> None:
    msg_in = EmailMessage()
    msg_in["From"] = PRIVATE
    msg_in["Subject"] = "x"
    msg_in.set_content(f"see the card of {PRIVATE}\n")
    # the file name is rewritten; the card itself is clean (a card naming the mailbox is held: test_leaks)
    msg_in.add_attachment("BEGIN:VCARD\nEMAIL:jane@corp.example.org\nEND:VCARD\n", subtype="vcard",
                          filename=f"{PRIVATE}.vcf")
    nested = EmailMessage()
    nested["From"] = f"Owner <{PRIVATE}>"
    nested["To"] = "someone@corp.example.org"
    nested["Received"] = f"from x by y for {PRIVATE}"
    nested["Subject"] = "earlier mail"
    nested.set_content(f"written by {PRIVATE}\n")
    msg_in.add_attachment(nested, filename="earlier.eml")
    out = reply(msg_in.as_bytes(), to=[f"{PRIVATE} via Hello <alice@corp.example.org>"])
    assert_no_private(out)
    msg = parse(out)
    assert msg["To"].addresses[0].addr_spec == "alice@corp.example.org"
    inner = next(p for p in msg.walk() if p.get_content_type() == "message/rfc822").get_payload(0)
    assert inner["Subject"] == "earlier mail"
    assert inner["From"].addresses[0].addr_spec == PUBLIC
    assert "received" not in header_names(inner)


@pytest.mark.parametrize("headers", INJECTIONS.values(), ids=INJECTIONS.keys())
def test_reply_encoded_word_injection_adds_no_header(headers: bytes) -> None:
    raw = b"From: " + PRIVATE.encode() + b"\r\n" + headers + b"\r\nbody\r\n"
    out = reply(raw, subject="Re: =?utf-8?q?x=0D=0ABcc:_victim@evil.example?=")
    assert_wire_format(out)
    assert not re.search(rb"^bcc:", out, re.IGNORECASE | re.MULTILINE)
    msg = parse(out)
    assert set(header_names(msg)) <= REPLY_HEADERS
    assert "\n" not in msg["Subject"]


def test_reply_attachment_filename_injection() -> None:
    raw = (
        b"From: " + PRIVATE.encode() + b'\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n'
        b"--b\r\nContent-Type: text/plain\r\n\r\nsee file\r\n"
        b"--b\r\nContent-Type: application/pdf\r\nContent-Transfer-Encoding: base64\r\n"
        b'Content-Disposition: attachment; filename="=?utf-8?q?a=0D=0ABcc:_victim@evil.example?=.pdf"\r\n'
        b"\r\nJVBERi0=\r\n--b--\r\n"
    )
    out = reply(raw)
    assert_wire_format(out)
    assert not re.search(rb"^bcc:", out, re.IGNORECASE | re.MULTILINE)
    (part,) = [p for p in parse(out).walk() if p.get_content_type() == "application/pdf"]
    assert part.get_payload(decode=True) == b"%PDF-"
    name = part.get_filename()
    assert name is not None and "\n" not in name and name.endswith(".pdf")


def test_reply_drops_the_private_mailbox_as_recipient() -> None:
    msg = parse(reply(owner_reply(), to=["alice@corp.example.org", PRIVATE]))
    assert [a.addr_spec for a in msg["To"].addresses] == ["alice@corp.example.org"]


def test_reply_removes_command_lines_from_text_and_html() -> None:
    msg = parse(reply(owner_reply(), strip=STRIP))
    plain = texts(msg, "plain")[0]
    markup = texts(msg, "html")[0]
    for text in (plain, markup):
        assert "TITLE" not in text and "SALARY" not in text and "150k" not in text
        assert "Tuesday works for me." in text
    assert plain.startswith("Hi Alice,")


def test_reply_without_strip_keeps_the_lines() -> None:
    msg = parse(reply(owner_reply(), strip=[]))
    assert "[TITLE: Staff Engineer]" in texts(msg, "plain")[0]


def test_reply_empty_strip_entry_does_not_remove_blank_lines() -> None:
    msg = parse(reply(owner_reply(), strip=["", "  "]))
    assert "Hi Alice,\n\nTuesday" in texts(msg, "plain")[0]


def test_reply_keeps_mime_structure_and_renames_content_ids() -> None:
    raw = owner_reply()
    before = parse(raw)
    msg = parse(reply(raw, strip=STRIP))
    assert [p.get_content_type() for p in msg.walk()] == [p.get_content_type() for p in before.walk()]
    assert attachments(msg) == attachments(before) == [("application/pdf", "terms.pdf", PDF)]
    image = next(p for p in msg.walk() if p.get_content_type() == "image/png")
    assert image.get_payload(decode=True) == PNG
    new_cid = image["Content-ID"].strip("<>")
    assert new_cid.endswith("@example.com") and "private" not in new_cid
    assert f"cid:{new_cid}" in texts(msg, "html")[0]


def test_reply_unflows_format_flowed_text() -> None:
    raw = (
        b"From: " + PRIVATE.encode() + b"\r\nSubject: x\r\n"
        b"Content-Type: text/plain; charset=utf-8; format=flowed; delsp=no\r\n\r\n"
        b"[NOTES: a long note that the client wrapped \r\nover two lines]\r\n"
        b"Hello Alice, this sentence was \r\nwrapped too.\r\n"
        b">> quoted \r\n>> continues\r\n"
    )
    strip = ["[NOTES: a long note that the client wrapped over two lines]"]
    msg = parse(reply(raw, strip=strip))
    plain = content(msg)
    assert "NOTES" not in plain
    assert "Hello Alice, this sentence was wrapped too." in plain
    assert ">> quoted continues" in plain
    assert msg.get_param("format") is None


def test_reply_drops_signatures_and_keys() -> None:
    raw = (
        b"From: " + PRIVATE.encode() + b"\r\nSubject: signed\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/signed; protocol="application/pkcs7-signature"; boundary="s"\r\n\r\n'
        b'--s\r\nContent-Type: multipart/mixed; boundary="m"\r\n\r\n'
        b"--m\r\nContent-Type: text/plain\r\n\r\nsigned reply\r\n"
        b"--m\r\nContent-Type: application/pgp-keys; name=key.asc\r\n\r\n-----BEGIN PGP PUBLIC KEY BLOCK-----\r\n"
        b"--m--\r\n"
        b"--s\r\nContent-Type: application/pkcs7-signature; name=smime.p7s\r\nContent-Transfer-Encoding: base64\r\n\r\n"
        b"AAAA\r\n--s--\r\n"
    )
    msg = parse(reply(raw))
    types = [p.get_content_type() for p in msg.walk()]
    assert types == ["multipart/mixed", "text/plain"]
    assert texts(msg, "plain")[0].strip() == "signed reply"


@pytest.mark.parametrize("raw", BROKEN.values(), ids=BROKEN.keys())
def test_reply_never_raises_on_broken_mail(raw: bytes) -> None:
    out = reply(raw)
    assert_wire_format(out)
    msg = parse(out)
    assert msg["From"].addresses[0].addr_spec == PUBLIC
    assert set(header_names(msg)) <= REPLY_HEADERS


def test_reply_broken_mail_with_private_mailbox_still_scrubbed() -> None:
    raw = (
        b"From: " + PRIVATE.encode() + b"\r\nContent-Type: multipart/mixed\r\n\r\n"
        b"--x\r\nthanks, write to " + PRIVATE.upper().encode() + b"\r\n[TITLE: x]\r\n--x--\r\n"
    )
    out = reply(raw, strip=["[TITLE: x]"])
    assert_no_private(out)
    assert "[TITLE: x]" not in everything_decoded(parse(out))


def test_a_notice_to_the_owner_cannot_grow_headers_from_its_subject() -> None:
    from mail.notice_builder import build_notice

    raw = build_notice(public_address="hello@example.com", public_name="Example", private_mailbox="o@p.example",
                       subject="VIP =?utf-8?q?x=0D=0ABcc:_victim@evil.example?= wrote\r\nCc: v@evil.example",
                       text="body", message_id="<n.1@example.com>")
    message = message_from_bytes(raw, policy=policy.default)
    assert "Bcc" not in message and "Cc" not in message
    assert [a.addr_spec for a in message["To"].addresses] == ["o@p.example"]
    assert message["Auto-Submitted"] == "auto-generated"
