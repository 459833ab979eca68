"""Nothing a correspondent receives carries the private mailbox or a thread address/token.

Generated: the address in every spelling (case, entities, percent, fullwidth, zero-width,
soft hyphen, tags between characters, spelt-out separators), in every part type (text,
HTML, vCard as octet-stream, calendar, TNEF, PDF metadata, JPEG XMP, zip, nested mails at
random depth, under alternative/related/signed), under every transfer encoding. The
reply is either sent without it (text and HTML rewritten) or held, naming the part; a
clean attachment is sent as it was.

The oracle here is independent of ``mail.leaks``: a plain decode of every header and
part, then entities, percent escapes, tags, NFKC and invisible characters undone.
"""

from __future__ import annotations

import html
import io
import re
import unicodedata
import zipfile
from collections.abc import Callable
from email import message_from_bytes, policy
from email.message import EmailMessage, Message
from typing import Any
from urllib.parse import unquote

import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from mail.leaks import PRIVATE as PRIVATE_KIND
from mail.leaks import THREAD as THREAD_KIND
from mail.leaks import TOKEN as TOKEN_KIND
from mail.leaks import Guard, PartsHeld, normalise
from mail.reply_builder import build_reply

PUBLIC = "hello@example.com"
PRIVATE = "owner@private.example.net"
REPLY_DOMAIN = "reply.example.com"
TOKEN = "jane-doe-acme-3f2a1c.k5v2q7xw3mzd4rta"
THREAD = f"{TOKEN}@{REPLY_DOMAIN}"
CORRESPONDENT = "alice@corp.example.org"

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# whole mails: fewer examples, and no shrinking (minutes per failure on these inputs; the seed reproduces it)
MAIL_SETTINGS = settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow],
                         phases=[Phase.explicit, Phase.reuse, Phase.generate])


def guard() -> Guard:
    return Guard(PRIVATE, reply_domain=REPLY_DOMAIN, tokens=[TOKEN], allowed=[PUBLIC])


# --- the independent oracle ------------------------------------------------------------------------

_INVISIBLE = re.compile("[\u00ad\u200b-\u200f\u2060-\u2064\ufeff\u034f\u180e]")


def _plain(text: str) -> str:
    """The text with and without its tags, decoded as a reader (or a mail client) would."""
    text = re.sub(r"\r?\n[ \t]|=\r?\n", "", text)
    readings = []
    for reading in (text, re.sub(r"<[a-z/][^<>]*>", "", text, flags=re.IGNORECASE)):
        for _ in range(3):
            reading = html.unescape(unquote(reading))
        reading = re.sub(r"=([0-9A-F]{2})", lambda m: chr(int(m.group(1), 16)), reading)
        reading = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), reading)  # PDF string escapes
        readings.append(_INVISIBLE.sub("", unicodedata.normalize("NFKC", reading)).casefold())
    return "\n".join(readings)


def _everything(data: bytes) -> list[str]:
    """Every header value and every decoded part, read several ways, attached mails included."""
    out = [data.decode("latin-1")]
    stack: list[Message] = [message_from_bytes(data, policy=policy.default)]
    while stack:
        part = stack.pop()
        out += [f"{k}: {v}" for k, v in part.items()]
        payload = part.get_payload()
        if isinstance(payload, list):
            stack += [p for p in payload if isinstance(p, Message)]
            continue
        raw = part.get_payload(decode=True)
        if isinstance(raw, bytes):
            out += [raw.decode("latin-1"), raw.decode("utf-8", "replace"), raw.decode("utf-16-le", "replace"),
                    raw[1:].decode("utf-16-le", "replace")]
            if raw.startswith(b"PK"):
                with zipfile.ZipFile(io.BytesIO(raw)) as archive:
                    out += [archive.read(n).decode("latin-1") for n in archive.namelist()]
    return out


def carries(data: bytes, secret: str) -> bool:
    plain = secret.casefold()
    return any(plain in _plain(text) for text in _everything(data))


def leaks(data: bytes) -> bool:
    return carries(data, PRIVATE) or carries(data, "@" + REPLY_DOMAIN) or carries(data, TOKEN.rpartition(".")[2])


# --- spellings ---------------------------------------------------------------------------------------

AT_TEXT = ["@", "＠", "﹫", "%40", "=40", " [at] ", " (at) ", "&#64;", "&#064;", "&#x40;", "&#X40;", "&commat;",
           "&amp;#64;", "%2540"]
AT_HTML = [*AT_TEXT, "<span>@</span>", "<b></b>@<i></i>", '<span style="x">&#64;</span>']
INVISIBLE = ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad", "&shy;", "&#8203;", "&#x200B;"]
FULLWIDTH = {c: chr(ord(c) - 0x21 + 0xFF01) for c in "abcdefghijklmnopqrstuvwxyz.-"}


@st.composite
def spelling(draw: st.DrawFn, address: str = PRIVATE, *, markup: bool = False) -> str:
    """One of the many ways to write ``address`` that a reader (or a mail client) still reads as it."""
    local, domain = address.split("@")
    pieces: list[str] = []
    for index, ch in enumerate(local + "\0" + domain):
        if ch == "\0":
            pieces.append(draw(st.sampled_from(AT_HTML if markup else AT_TEXT)))
            continue
        how = draw(st.sampled_from(["same", "same", "same", "upper", "fullwidth", "entity", "hex", "percent"]))
        if ch == "." and draw(st.booleans()) and draw(st.booleans()):
            pieces.append(draw(st.sampled_from([" [dot] ", " (dot) ", "&#46;", "%2E"])))
        elif how == "upper":
            pieces.append(ch.upper())
        elif how == "fullwidth" and ch in FULLWIDTH:
            pieces.append(FULLWIDTH[ch])
        elif how == "entity":
            pieces.append(f"&#{ord(ch)};")
        elif how == "hex":
            pieces.append(f"&#x{ord(ch):x};")
        elif how == "percent":
            pieces.append(f"%{ord(ch):02X}")
        else:
            pieces.append(ch)
        if 0 < index < len(local) + len(domain) and draw(st.integers(0, 5)) == 0:
            pieces.append(draw(st.sampled_from(INVISIBLE + (["<wbr>", "<span></span>"] if markup else []))))
    return "".join(pieces)


# --- the guard on its own ----------------------------------------------------------------------------


@SETTINGS
@given(spelling(), st.text("abc xyz,;", max_size=20), st.text("abc xyz,;", max_size=20))
def test_every_spelling_is_found_and_rewritten_leaving_the_rest(written: str, before: str, after: str) -> None:
    g = guard()
    text = f"{before} {written} {after}"
    assert PRIVATE_KIND in g.found(text)
    out = g.rewrite(text, PUBLIC)
    assert g.found(out) == [] and PUBLIC in out
    assert out.startswith(before) and out.endswith(after)


@SETTINGS
@given(spelling(markup=True))
def test_every_html_spelling_is_found_and_rewritten(written: str) -> None:
    g = guard()
    markup = f'<p>Write to <a href="mailto:{written}">{written}</a> please</p>'
    assert PRIVATE_KIND in g.found(markup, html=True)
    out = g.rewrite(markup, PUBLIC, html=True)
    assert g.found(out, html=True) == []
    assert out.startswith("<p>Write to <a href=") and out.endswith(" please</p>")


@SETTINGS
@given(spelling(THREAD, markup=True))
def test_thread_addresses_in_any_spelling_are_found(written: str) -> None:
    assert THREAD_KIND in guard().found(written, html=True)
    assert guard().found(guard().rewrite(written, PUBLIC, html=True), html=True) == []


@pytest.mark.parametrize("clean", [PUBLIC, "owner@example.net", "private.example.net", "owner at home",
                                   f"x{REPLY_DOMAIN}", "k5v2q7xw3mzd", "Jane <jane@corp.example.org>"])
def test_clean_text_is_left_alone(clean: str) -> None:
    assert guard().found(clean, html=True) == []
    assert guard().rewrite(clean, PUBLIC, html=True) == clean


def test_a_public_address_that_contains_the_private_one_is_not_a_leak() -> None:
    g = Guard("lo@example.com", allowed=["hello@example.com"])
    assert g.found("write to hello@example.com") == []
    assert g.found("write to lo@example.com") == [PRIVATE_KIND]
    assert g.rewrite("hello@example.com or lo@example.com", "hello@example.com") == \
        "hello@example.com or hello@example.com"


@pytest.mark.parametrize("codec", ["utf-8", "latin-1", "utf-16-le", "utf-16-be", "utf-16"])
def test_bytes_in_any_text_encoding_are_found(codec: str) -> None:
    data = b"\x00\x01binary" + f"EMAIL:{PRIVATE}".encode(codec) + b"\xff\xfe"
    assert PRIVATE_KIND in {kind for _, kind in guard().found_bytes(data)}
    assert PRIVATE_KIND in {kind for _, kind in guard().found_bytes(b"x" + data)}  # the other UTF-16 alignment


@pytest.mark.parametrize("offset", [0, 1, 2])
def test_base64_inside_bytes_is_found(offset: int) -> None:
    import base64

    data = b"PHOTO;ENCODING=b:" + base64.b64encode(b"x" * offset + f"mail {PRIVATE} now".encode())
    assert ("base64 text", PRIVATE_KIND) in guard().found_bytes(data)


def test_tokens_are_learnt_from_the_thread_addresses_a_mail_names() -> None:
    g = Guard(PRIVATE, reply_domain=REPLY_DOMAIN)
    learnt = g.with_tokens(g.tokens_in(f"To: Jane via Hello <{THREAD}>\r\n".encode()))
    assert TOKEN in learnt.tokens
    assert learnt.found(f"ref {TOKEN} ok") == [TOKEN_KIND]
    assert learnt.found(f"ref {TOKEN.rpartition('.')[2]} ok") == [TOKEN_KIND]  # the signature alone


def test_the_walk_is_iterative_however_deep_the_nesting() -> None:
    """Deeper than the stack allows: a recursive walk would fail (the parser's own limits are issue 12's)."""
    import inspect
    import sys

    depth = 200
    raw = b"".join(b'Content-Type: multipart/mixed; boundary="b%d"\r\n\r\n--b%d\r\n' % (i, i) for i in range(depth))
    raw += f"Content-Type: text/plain\r\n\r\n{PRIVATE}\r\n".encode()
    raw += b"".join(b"\r\n--b%d--\r\n" % i for i in reversed(range(depth)))
    message = message_from_bytes(raw, policy=policy.default)
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(len(inspect.stack()) + 60)
    try:
        found = guard().findings(message)
    finally:
        sys.setrecursionlimit(limit)
    assert [f.what for f in found] == [PRIVATE_KIND]
    assert found[0].part.startswith("1.1.1") and len(found[0].part) < 80


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
    xmp = (b'http://ns.adobe.com/xap/1.0/\x00<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF><rdf:Description '
           b'xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:creator>' + creator.encode() + b"</dc:creator>"
           b"</rdf:Description></rdf:RDF></x:xmpmeta>")
    return b"\xff\xd8\xff\xe0\x00\x10JFIF\x00\x01\x01\x00\x00\x01\x00\x01\x00\x00" \
        + b"\xff\xe1" + (len(xmp) + 2).to_bytes(2, "big") + xmp + b"\xff\xda\x00\x08\x01\x01\x00\x00?\x00\xd2\xcf \xff\xd9"


def tnef(address: str) -> bytes:
    """A winmail.dat: the TNEF signature and MAPI properties with the sender in ASCII and UTF-16."""
    return (b"\x78\x9f\x3e\x22\x01\x00\x01\x06\x90\x08\x00\x04\x00\x00\x00\x00\x00\x01\x00\x01\x00"
            + b"SMTP:" + address.upper().encode() + b"\x00\x00" + address.encode("utf-16-le") + b"\x00\x00" * 4)


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
    "vcard-as-octet-stream": (lambda m, v: m.add_attachment(f"BEGIN:VCARD\r\nFN:Owner\r\nEMAIL:{v}\r\nEND:VCARD\r\n"
                                                            .encode(), maintype="application",
                                                            subtype="octet-stream", filename="owner.vcf"),
                              "application/octet-stream"),
    "text-vcard": (lambda m, v: m.add_attachment(f"BEGIN:VCARD\r\nEMAIL;TYPE=work:{v}\r\nEND:VCARD\r\n",
                                                 subtype="vcard", filename="card.vcf"), "text/vcard"),
    "text-calendar": (lambda m, v: m.add_attachment(ics(v), subtype="calendar", filename="invite.ics"),
                      "text/calendar"),
    "application-ics": (lambda m, v: m.add_attachment(ics(v).encode(), maintype="application", subtype="ics",
                                                      filename="invite.ics"), "application/ics"),
    "winmail-dat": (lambda m, v: m.add_attachment(tnef(v), maintype="application", subtype="ms-tnef",
                                                  filename="winmail.dat"), "application/ms-tnef"),
    "pdf-metadata": (lambda m, v: m.add_attachment(pdf_with_author(f"Owner Person <{v}>"), maintype="application",
                                                   subtype="pdf", filename="cv.pdf"), "application/pdf"),
    "jpeg-xmp": (lambda m, v: m.add_attachment(jpeg_with_xmp(v), maintype="image", subtype="jpeg",
                                               filename="photo.jpg"), "image/jpeg"),
    "docx": (lambda m, v: m.add_attachment(docx(v), maintype="application",
                                           subtype="vnd.openxmlformats-officedocument.wordprocessingml.document",
                                           filename="letter.docx"),
             "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
    "eml-as-octet-stream": (lambda m, v: m.add_attachment(f"From: Owner <{v}>\r\nSubject: old\r\n\r\nhi\r\n".encode(),
                                                          maintype="application", subtype="octet-stream",
                                                          filename="old.eml"), "application/octet-stream"),
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
    args: dict[str, Any] = {"public_address": PUBLIC, "public_name": "Hello", "private_mailbox": PRIVATE,
                            "to": [f"Alice <{CORRESPONDENT}>"], "subject": "Re: The job",
                            "in_reply_to": "<orig@corp.example.org>", "references": [],
                            "message_id": "<reply-1@example.com>", "strip": [], "reply_domain": REPLY_DOMAIN}
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
    mail = owner_reply(markup='<p>Thursday works.<img src="cid:logo@x"></p>' if wrapper in ("alternative", "related")
                       else None)
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
@given(name=st.sampled_from(sorted(HELD_PARTS)), depth=st.integers(0, 4),
       wrapper=st.sampled_from(["mixed", "alternative", "related", "signed"]),
       cte=st.sampled_from(["base64", "quoted-printable", None]), spelt=spelling())
def test_a_part_that_carries_the_address_holds_the_reply_and_is_named(
        name: str, depth: int, wrapper: str, cte: str | None, spelt: str) -> None:
    attach, ctype = HELD_PARTS[name]
    mail = base(wrapper)
    attach(mail, PRIVATE if name in ("pdf-metadata", "jpeg-xmp", "winmail-dat", "docx") else spelt)
    if cte:
        for part in mail.iter_attachments():
            data = part.get_payload(decode=True)
            if part.get_content_maintype() != "text" and isinstance(data, bytes):
                part.set_content(data, maintype=part.get_content_maintype(), subtype=part.get_content_subtype(),
                                 cte=cte, filename=part.get_filename())
    sent, findings = outcome(nest(mail, depth, wrapper).as_bytes())
    assert sent is None, "a reply whose attachment carries the private mailbox was sent"
    # the part itself, or (inside an attached mail) the part or the attached mail
    assert any(f.content_type in ((ctype,) if depth == 0 else (ctype, "message/rfc822")) for f in findings), findings
    assert all(f.describe() for f in findings)


@MAIL_SETTINGS
@given(name=st.sampled_from(sorted(HELD_PARTS)), depth=st.integers(0, 4),
       wrapper=st.sampled_from(["mixed", "alternative", "related", "signed"]))
def test_the_same_parts_without_the_address_are_sent_unchanged(name: str, depth: int, wrapper: str) -> None:
    attach, ctype = HELD_PARTS[name]
    mail = base(wrapper)
    attach(mail, "jane.doe@corp.example.org")
    original = next(p for p in mail.iter_attachments()).get_payload(decode=True)
    sent, findings = outcome(nest(mail, depth, wrapper).as_bytes())
    assert sent is not None, findings
    assert not leaks(sent)
    if depth == 0:
        kept = [p for p in message_from_bytes(sent, policy=policy.default).walk()
                if p.get_content_type() == ctype and not p.is_multipart()]
        assert kept and kept[0].get_payload(decode=True) == original


@MAIL_SETTINGS
@given(plain=spelling(), markup=spelling(markup=True), thread=spelling(THREAD, markup=True),
       depth=st.integers(0, 4), wrapper=st.sampled_from(["mixed", "alternative", "related", "signed"]),
       cte=st.sampled_from(["base64", "quoted-printable", "8bit"]), charset=st.sampled_from(["utf-8", "utf-16"]))
def test_text_and_html_are_rewritten_and_sent(plain: str, markup: str, thread: str, depth: int, wrapper: str,
                                              cte: str, charset: str) -> None:
    mail = owner_reply(f"Hi,\n\nmail me at {plain} or reply to {TOKEN}@{REPLY_DOMAIN}\n\n> quoted {PRIVATE}\n",
                       f"<p>Hi, write to {markup}</p><p>Reply-To: Jane &lt;{thread}&gt;</p>")
    if wrapper == "related":
        mail.get_payload()[1].add_related(b"\x89PNG\r\n\x1a\nclean", maintype="image", subtype="png", cid="<i@x>")
    note = f"notes for {plain}\n"
    if charset == "utf-16":
        mail.add_attachment(note.encode("utf-16"), maintype="text", subtype="plain", filename="notes.txt",
                            params={"charset": "utf-16"})
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
    from mail.leaks import _lzfu

    example = bytes.fromhex("2d0000002b0000004c5a4675f1c5c7a703000a00726370673132354232"
                            "0af32068656c090020627705b06c647d0a800fa0")  # MS-OXRTFCP 3.1.1
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
