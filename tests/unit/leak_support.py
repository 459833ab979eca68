"""What the leak tests share: the private mailbox and thread address, an oracle independent of
``mail.leaks`` (a plain decode of every header and part, then entities, percent escapes, tags,
NFKC and invisible characters undone), and a strategy writing an address in every spelling."""

from __future__ import annotations

import html
import io
import re
import unicodedata
import zipfile
from email import message_from_bytes, policy
from email.message import Message
from urllib.parse import unquote

from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st

from mail.leaks import Guard

PUBLIC = "hello@example.com"
PRIVATE = "owner@private.example.net"
REPLY_DOMAIN = "reply.example.com"
TOKEN = "jane-doe-acme-3f2a1c.k5v2q7xw3mzd4rta"
THREAD = f"{TOKEN}@{REPLY_DOMAIN}"
CORRESPONDENT = "alice@corp.example.org"

SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# whole mails: fewer examples, and no shrinking (minutes per failure on these inputs; the seed reproduces it)
MAIL_SETTINGS = settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    phases=[Phase.explicit, Phase.reuse, Phase.generate],
)


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
            out += [
                raw.decode("latin-1"),
                raw.decode("utf-8", "replace"),
                raw.decode("utf-16-le", "replace"),
                raw[1:].decode("utf-16-le", "replace"),
            ]
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

AT_TEXT = [
    "@",
    "＠",
    "﹫",
    "%40",
    "=40",
    " [at] ",
    " (at) ",
    "&#64;",
    "&#064;",
    "&#x40;",
    "&#X40;",
    "&commat;",
    "&amp;#64;",
    "%2540",
]
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
