"""The owner's reply relayed to the correspondent: the private mailbox never in it."""

from __future__ import annotations

import re
from email import policy
from email.message import EmailMessage, Message

import pytest

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
    header_names,
    parse,
    reply,
    texts,
)

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
    msg_in.add_attachment("BEGIN:VCARD\nEMAIL:jane@corp.example.org\nEND:VCARD\n", subtype="vcard", filename=f"{PRIVATE}.vcf")
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
