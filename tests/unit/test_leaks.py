"""Nothing a correspondent receives carries the private mailbox or a thread address/token.

Generated: the address in every spelling (case, entities, percent, fullwidth, zero-width,
soft hyphen, tags between characters, spelt-out separators), in every part type (text,
HTML, vCard as octet-stream, calendar, TNEF, PDF metadata, JPEG XMP, zip, nested mails at
random depth, under alternative/related/signed), under every transfer encoding. The
reply is either sent without it (text and HTML rewritten) or held, naming the part; a
clean attachment is sent as it was.

The oracle (``leak_support``) is independent of ``mail.leaks``; the guard on its own is
tested in ``test_leak_guard``.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mail.leaks import PartsHeld, normalise
from mail.reply_builder import build_reply
from tests.unit.leak_support import (
    CORRESPONDENT,
    MAIL_SETTINGS,
    PRIVATE,
    PUBLIC,
    REPLY_DOMAIN,
    THREAD,
    TOKEN,
    leaks,
    spelling,
)

# --- part types --------------------------------------------------------------------------------------


def pdf_with_author(author: str) -> bytes:
    pypdf = pytest.importorskip("pypdf")
    writer = pypdf.PdfWriter()
    writer.add_blank_page(72, 72)
    writer.add_metadata({"/Author": author, "/Title": "CV"})
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def jpeg_with_xmp(creator: str) -> bytes:
    xmp = (
        b'http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description '
        b'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:creator>' + creator.encode() + b"</dc:creator>"
        b"</rdf:Description></rdf:RDF></x:xmpmeta>"
    )
    return (
        b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00"
        + b"\xff\xe1"
        + (len(xmp) + 2).to_bytes(2, "big")
        + xmp
        + b"\xff\xda\x00\x08\x01\x01\x00\x00?\x00\xd2\xcf \xff\xd9"
    )


def tnef(address: str) -> bytes:
    """A winmail.dat: the TNEF signature and MAPI properties with the sender in ASCII and UTF-16."""
    return (
        b"\x78\x9f\x3e\x22\x01\x00\x01\x06\x90\x08\x00\x04\x00\x00\x00\x00\x00\x01\x00\x01\x00"
        + b"SMTP:"
        + address.upper().encode()
        + b"\x00\x00"
        + address.encode("utf-16-le")
        + b"\x00\x00" * 4
    )


def docx(text: str) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", f"<w:document><w:body><w:t>{text}</w:t></w:body></w:document>")
    return out.getvalue()


def ics(address: str) -> str:
    line = f"ORGANIZER;CN=Owner Person:mailto:{address}"
    folded = "\r\n ".join(line[i : i + 40] for i in range(0, len(line), 40))  # RFC 5545 folding, mid-address
    return f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nSUMMARY:Call\r\n{folded}\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n"


Attach = Callable[[EmailMessage, str], None]
# (name, how to attach ``value`` to a mail, the content type the finding names)
HELD_PARTS: dict[str, tuple[Attach, str]] = {
    "vcard-as-octet-stream": (
        lambda m, v: m.add_attachment(
            f"BEGIN:VCARD\r\nFN:Owner\r\nEMAIL:{v}\r\nEND:VCARD\r\n".encode(),
            maintype="application",
            subtype="octet-stream",
            filename="owner.vcf",
        ),
        "application/octet-stream",
    ),
    "text-vcard": (
        lambda m, v: m.add_attachment(
            f"BEGIN:VCARD\r\nEMAIL;TYPE=work:{v}\r\nEND:VCARD\r\n", subtype="vcard", filename="card.vcf"
        ),
        "text/vcard",
    ),
    "text-calendar": (lambda m, v: m.add_attachment(ics(v), subtype="calendar", filename="invite.ics"), "text/calendar"),
    "application-ics": (
        lambda m, v: m.add_attachment(ics(v).encode(), maintype="application", subtype="ics", filename="invite.ics"),
        "application/ics",
    ),
    "winmail-dat": (
        lambda m, v: m.add_attachment(tnef(v), maintype="application", subtype="ms-tnef", filename="winmail.dat"),
        "application/ms-tnef",
    ),
    "pdf-metadata": (
        lambda m, v: m.add_attachment(
            pdf_with_author(f"Owner Person <{v}>"), maintype="application", subtype="pdf", filename="cv.pdf"
        ),
        "application/pdf",
    ),
    "jpeg-xmp": (
        lambda m, v: m.add_attachment(jpeg_with_xmp(v), maintype="image", subtype="jpeg", filename="photo.jpg"),
        "image/jpeg",
    ),
    "docx": (
        lambda m, v: m.add_attachment(
            docx(v),
            maintype="application",
            subtype="vnd.openxmlformats-officedocument.wordprocessingml.document",
            filename="letter.docx",
        ),
        "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ),
    "eml-as-octet-stream": (
        lambda m, v: m.add_attachment(
            f"From: Owner <{v}>\r\nSubject: old\r\n\r\nhi\r\n".encode(),
            maintype="application",
            subtype="octet-stream",
            filename="old.eml",
        ),
        "application/octet-stream",
    ),
}


def owner_reply(body: str = "Thursday works.\n", markup: str | None = None) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = f"Owner Person <{PRIVATE}>"
    msg["To"] = f"Alice via Hello <{THREAD}>"
    msg["Subject"] = "Re: The job"
    msg.set_content(body)
    if markup is not None:
        msg.add_alternative(markup, subtype="html")
    return msg


def reply(raw: bytes, **overrides: Any) -> bytes:
    args: dict[str, Any] = {
        "public_address": PUBLIC,
        "public_name": "Hello",
        "private_mailbox": PRIVATE,
        "to": [f"Alice <{CORRESPONDENT}>"],
        "subject": "Re: The job",
        "in_reply_to": "<orig@corp.example.org>",
        "references": [],
        "message_id": "<reply-1@example.com>",
        "strip": [],
        "reply_domain": REPLY_DOMAIN,
    }
    args.update(overrides)
    return build_reply(raw, **args)


def outcome(raw: bytes) -> tuple[bytes | None, list[Any]]:
    """(what would be sent, None when held; the findings of a held reply)."""
    try:
        return reply(raw), []
    except PartsHeld as held:
        return None, held.findings


def base(wrapper: str) -> EmailMessage:
    """The owner's reply; its body a multipart/alternative (or related: HTML with an inline image)."""
    mail = owner_reply(markup='<p>Thursday works.<img src="cid:logo@x"></p>' if wrapper in ("alternative", "related") else None)
    if wrapper == "related":
        markup = mail.get_payload()[1]
        markup.add_related(b"\x89PNG\r\n\x1a\nclean", maintype="image", subtype="png", cid="<logo@x>")
    return mail


def nest(mail: EmailMessage, depth: int, wrapper: str) -> EmailMessage:
    """``mail`` inside ``depth`` attached mails, then under a multipart ``wrapper`` (related, signed)."""
    for level in range(depth):
        outer = EmailMessage()
        outer["From"] = f"Owner <{PRIVATE}>" if level % 2 else "Someone <someone@corp.example.org>"
        outer["Subject"] = f"Fwd level {level}"
        outer.set_content("see attached\n")
        outer.add_attachment(mail, filename=f"level{level}.eml")
        mail = outer
    if wrapper == "signed":
        signed = EmailMessage()
        for key in ("From", "To", "Subject"):
            if mail[key]:
                signed[key] = mail[key]
        signed["Content-Type"] = 'multipart/signed; protocol="application/pkcs7-signature"; boundary="sig"'
        inner = EmailMessage()
        for key, value in mail.items():
            if key.lower().startswith("content-"):
                inner[key] = value
        inner.set_payload(mail.get_payload())
        signature = EmailMessage()
        signature.set_content(b"MIIB", maintype="application", subtype="pkcs7-signature", filename="smime.p7s")
        signed.set_payload([inner, signature])
        return signed
    return mail


@MAIL_SETTINGS
@given(
    name=st.sampled_from(sorted(HELD_PARTS)),
    depth=st.integers(0, 4),
    wrapper=st.sampled_from(["mixed", "alternative", "related", "signed"]),
    cte=st.sampled_from(["base64", "quoted-printable", None]),
    spelt=spelling(),
)
def test_a_part_that_carries_the_address_holds_the_reply_and_is_named(
    name: str, depth: int, wrapper: str, cte: str | None, spelt: str
) -> None:
    attach, ctype = HELD_PARTS[name]
    mail = base(wrapper)
    attach(mail, PRIVATE if name in ("pdf-metadata", "jpeg-xmp", "winmail-dat", "docx") else spelt)
    if cte:
        for part in mail.iter_attachments():
            data = part.get_payload(decode=True)
            if part.get_content_maintype() != "text" and isinstance(data, bytes):
                part.set_content(
                    data,
                    maintype=part.get_content_maintype(),
                    subtype=part.get_content_subtype(),
                    cte=cte,
                    filename=part.get_filename(),
                )
    sent, findings = outcome(nest(mail, depth, wrapper).as_bytes())
    assert sent is None, "a reply whose attachment carries the private mailbox was sent"
    # the part itself, or (inside an attached mail) the part or the attached mail
    assert any(f.content_type in ((ctype,) if depth == 0 else (ctype, "message/rfc822")) for f in findings), findings
    assert all(f.describe() for f in findings)


@MAIL_SETTINGS
@given(
    name=st.sampled_from(sorted(HELD_PARTS)),
    depth=st.integers(0, 4),
    wrapper=st.sampled_from(["mixed", "alternative", "related", "signed"]),
)
def test_the_same_parts_without_the_address_are_sent_unchanged(name: str, depth: int, wrapper: str) -> None:
    attach, ctype = HELD_PARTS[name]
    mail = base(wrapper)
    attach(mail, "jane.doe@corp.example.org")
    original = next(p for p in mail.iter_attachments()).get_payload(decode=True)
    sent, findings = outcome(nest(mail, depth, wrapper).as_bytes())
    assert sent is not None, findings
    assert not leaks(sent)
    if depth == 0:
        kept = [
            p
            for p in message_from_bytes(sent, policy=policy.default).walk()
            if p.get_content_type() == ctype and not p.is_multipart()
        ]
        assert kept and kept[0].get_payload(decode=True) == original


@MAIL_SETTINGS
@given(
    plain=spelling(),
    markup=spelling(markup=True),
    thread=spelling(THREAD, markup=True),
    depth=st.integers(0, 4),
    wrapper=st.sampled_from(["mixed", "alternative", "related", "signed"]),
    cte=st.sampled_from(["base64", "quoted-printable", "8bit"]),
    charset=st.sampled_from(["utf-8", "utf-16"]),
)
def test_text_and_html_are_rewritten_and_sent(
    plain: str, markup: str, thread: str, depth: int, wrapper: str, cte: str, charset: str
) -> None:
    mail = owner_reply(
        f"Hi,\n\nmail me at {plain} or reply to {TOKEN}@{REPLY_DOMAIN}\n\n> quoted {PRIVATE}\n",
        f"<p>Hi, write to {markup}</p><p>Reply-To: Jane &lt;{thread}&gt;</p>",
    )
    if wrapper == "related":
        mail.get_payload()[1].add_related(b"\x89PNG\r\n\x1a\nclean", maintype="image", subtype="png", cid="<i@x>")
    note = f"notes for {plain}\n"
    if charset == "utf-16":
        mail.add_attachment(
            note.encode("utf-16"), maintype="text", subtype="plain", filename="notes.txt", params={"charset": "utf-16"}
        )
    else:
        mail.add_attachment(note, filename="notes.txt", cte=cte if cte != "8bit" else None)
    inner = owner_reply(f"forwarded: {plain}\n")
    inner["Reply-To"] = f"Jane via Hello <{THREAD}>"
    del inner["Subject"]
    inner["Subject"] = "=?utf-8?b?" + __import__("base64").b64encode(f"from {PRIVATE}".encode()).decode() + "?="
    mail.add_attachment(inner, filename="forward.eml")
    sent, findings = outcome(nest(mail, depth, wrapper).as_bytes())
    assert sent is not None, [f.describe() for f in findings]
    assert not leaks(sent), "the sent reply still carries a secret"
    text = sent.decode("latin-1")
    assert PUBLIC in text or "base64" in text.lower()


@MAIL_SETTINGS
@given(st.sampled_from(["Content-Description", "Content-Location", "Subject"]), spelling())
def test_headers_of_attached_mails_and_parts_are_rewritten(header: str, spelt: str) -> None:
    mail = owner_reply()
    inner = EmailMessage()
    inner["From"] = f"Owner <{PRIVATE}>"
    inner["Reply-To"] = THREAD
    inner[header] = f"about {spelt}"
    inner.set_content("hi\n")
    mail.add_attachment(inner)
    sent, findings = outcome(mail.as_bytes())
    assert sent is not None, findings
    assert not leaks(sent)


def test_normalise_is_what_the_guard_reads() -> None:
    assert normalise("ＯＷＮＥＲ&#064;Pri\u00advate%2Eexample.net") == "owner@private.example.net"
    assert normalise("<span>o</span>wner", markup=True) == "owner"


# --- regressions: each case of issue 11, finding 2 (every one of them reached the correspondent) ----------


def _with(attach: str) -> Callable[[], bytes]:
    def make() -> bytes:
        mail = owner_reply()
        HELD_PARTS[attach][0](mail, PRIVATE)
        return mail.as_bytes()

    return make


def _html(markup: str) -> Callable[[], bytes]:
    return lambda: owner_reply("Thursday works.\n", f"<p>Thursday works. Write to {markup}</p>").as_bytes()


def _forward_attached() -> bytes:
    forwarded = EmailMessage()
    forwarded["From"] = f"Alice Smith via Hello <{PUBLIC}>"
    forwarded["To"] = PRIVATE
    forwarded["Reply-To"] = f"Alice Smith via Hello <{THREAD}>"
    forwarded["Subject"] = "The job"
    forwarded.set_content("the forwarded copy\n")
    mail = owner_reply()
    mail.add_attachment(forwarded, filename="forward.eml")
    return mail.as_bytes()


REGRESSIONS: dict[str, tuple[Callable[[], bytes], str]] = {
    "vcard-as-octet-stream": (_with("vcard-as-octet-stream"), "held"),
    "text-calendar": (_with("text-calendar"), "held"),
    "application-ics": (_with("application-ics"), "held"),
    "winmail-dat": (_with("winmail-dat"), "held"),
    "pdf-metadata": (_with("pdf-metadata"), "held"),
    "jpeg-xmp": (_with("jpeg-xmp"), "held"),
    "html-&#064;": (_html("owner&#064;private.example.net"), "rewritten"),
    "html-&#x040;": (_html("owner&#x040;private.example.net"), "rewritten"),
    "html-<span>@</span>": (_html("owner<span>@</span>private.example.net"), "rewritten"),
    "html-%40": (_html('<a href="mailto:owner%40private%2Eexample%2Enet">me</a>'), "rewritten"),
    "html-fullwidth-at": (_html("owner＠private.example.net"), "rewritten"),
    "html-zero-width": (_html("own\u200ber@pri\u200dvate.example.net"), "rewritten"),
    "html-soft-hyphen": (_html("owner@pri&shy;vate.exam\u00adple.net"), "rewritten"),
    "attached-forward-keeps-reply-to": (_forward_attached, "rewritten"),
}


@pytest.mark.parametrize("case", REGRESSIONS)
def test_regression_nothing_of_finding_2_reaches_the_correspondent(case: str) -> None:
    make, expected = REGRESSIONS[case]
    sent, findings = outcome(make())
    if expected == "held":
        assert sent is None and findings, "sent although a part carries the private mailbox"
    else:
        assert sent is not None, [f.describe() for f in findings]
        assert not leaks(sent)
        assert PUBLIC in sent.decode("latin-1") or case == "attached-forward-keeps-reply-to"


def compressed_rtf(rtf: bytes) -> bytes:
    """A valid MS-OXRTFCP stream of literals only (every control bit 0), then the end marker."""
    body = bytearray()
    for start in range(0, len(rtf), 8):
        body += b"\x00" + rtf[start : start + 8]
    end = (207 + len(rtf)) % 4096  # the write position: a reference to it ends the stream
    body += b"\x01" + (end << 4).to_bytes(2, "big")
    return (len(body) + 12).to_bytes(4, "little") + len(rtf).to_bytes(4, "little") + b"LZFu" + b"\0" * 4 + body


def test_compressed_rtf_decompresses_as_the_specification_says() -> None:
    from mail.leak_contents import _lzfu

    example = bytes.fromhex(
        "2d0000002b0000004c5a4675f1c5c7a703000a007263706731323542320af32068656c090020627705b06c647d0a800fa0"
    )  # MS-OXRTFCP 3.1.1
    assert _lzfu(example[16:49], 10_000) == b"{\\rtf1\\ansi\\ansicpg1252\\pard hello world}\r\n"


@pytest.mark.parametrize("written", [PRIVATE, "owner\\'40private.example.net", "owner\\u64?private.example.net"])
def test_a_winmail_dat_whose_compressed_rtf_body_names_the_mailbox_holds_the_reply(written: str) -> None:
    rtf = b"{\\rtf1\\ansi\\pard Write to " + written.encode() + b" please\\par}"
    winmail = b"\x78\x9f\x3e\x22\x01\x00\x01\x09\x10" + compressed_rtf(rtf) + b"\x00\x00"
    assert PRIVATE.encode() not in winmail and PRIVATE.encode("utf-16-le") not in winmail
    mail = owner_reply()
    mail.add_attachment(winmail, maintype="application", subtype="ms-tnef", filename="winmail.dat")
    sent, findings = outcome(mail.as_bytes())
    assert sent is None
    assert any(f.filename == "winmail.dat" and "compressed RTF" in f.where for f in findings), findings
