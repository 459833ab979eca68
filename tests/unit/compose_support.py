"""What the outbound-mail tests share: the builders called with test defaults, the mails they
are fed (a realistic inbound mail, header injections, broken mail) and the checks on what comes out."""

from __future__ import annotations

import re
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from typing import Any

from mail.ack_builder import build_ack
from mail.forward_builder import build_forward
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
    msg.add_alternative(
        "<html><body><p>Hello,<br>please see <img src='cid:logo@corp'> the offer.</p></body></html>", subtype="html"
    )
    html_part = msg.get_payload()[1]
    html_part.add_related(PNG, "image", "png", cid="<logo@corp>", filename="logo.png", disposition="inline")
    msg.add_attachment(PDF, "application", "pdf", filename="offer.pdf")
    msg.add_attachment(ZIP, "application", "zip", filename="code.zip")
    msg.add_attachment(inner, filename="original.eml")
    return msg.as_bytes(policy=policy.SMTP)


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
    "multipart without boundary": (b"From: a@corp.example.org\r\nContent-Type: multipart/mixed\r\n\r\n--x\r\nhello\r\n--x--\r\n"),
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
        + b"".join(f'Content-Type: multipart/mixed; boundary="b{i}"\r\n\r\n--b{i}\r\n'.encode() for i in range(60))
        + b"Content-Type: text/plain\r\n\r\ndeep\r\n"
    ),
}
