"""mail.text: the one charset decoder and HTML-to-text of parsing, the builders, the
leak guard and attachment extraction; and the one default acknowledgement wording."""

from __future__ import annotations

import codecs
import html
from email.message import EmailMessage

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from crm.settings import Settings
from mail.ack_builder import DEFAULT_ACK_HTML, DEFAULT_ACK_SUBJECT, DEFAULT_ACK_TEXT
from mail.limits import safe_charset
from mail.text import decode_bytes, html_to_text, part_bytes, part_charset
from tests.unit.compose_support import ack, parse, texts

CHARSETS = [
    "utf-8",
    "latin-1",
    "cp1252",
    "iso-8859-2",
    "koi8-r",
    "shift_jis",
    "gb2312",
    "big5",
    "utf-16",
    "us-ascii",
    "idna",
    "punycode",
    "rot13",
    "unicode_escape",
    "undefined",
    "x-unknown",
    "",
    None,
]
TEXT = st.text(st.characters(blacklist_categories=("Cs",)), max_size=80)


@given(st.binary(max_size=200), st.sampled_from(CHARSETS))
def test_any_bytes_decode_under_any_declared_charset(data: bytes, charset: str | None) -> None:
    text = decode_bytes(data, charset)
    assert isinstance(text, str)
    text.encode("utf-8")  # no surrogates: storable and sendable


@given(TEXT, st.sampled_from([c for c in CHARSETS if c and safe_charset(c)]))
@example("\x00", "utf-16")  # FF FE 00 00: UTF-16's mark and a NUL, or UTF-32's mark (found by hypothesis)
def test_text_in_its_declared_charset_reads_back(text: str, charset: str) -> None:
    try:
        data = text.encode(charset)
    except UnicodeEncodeError:
        return
    if data.decode(charset) != text:
        return  # the codec itself does not round-trip it (shift_jis writes ¥ as 0x5c, which reads back as \\)
    if data.startswith((codecs.BOM_UTF8, codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) and charset != "utf-16":
        return  # the bytes start like a byte order mark: they say which encoding they are
    assert decode_bytes(data, charset) == text


@given(TEXT, st.sampled_from(["idna", "punycode", "rot13", "unicode_escape", "undefined", "x-unknown", None]))
def test_utf8_under_a_refused_or_missing_charset_reads_as_utf8(text: str, charset: str | None) -> None:
    data = text.encode("utf-8")
    if data.startswith(codecs.BOM_UTF8):
        return
    assert decode_bytes(data, charset) == text


@given(TEXT.filter(lambda t: not t.isascii()))
def test_legacy_8bit_text_mislabelled_utf8_reads_as_windows_1252(text: str) -> None:
    try:
        data = text.encode("cp1252")
        data.decode("utf-8")
    except UnicodeEncodeError:
        return
    except UnicodeDecodeError:
        assert decode_bytes(data, "utf-8") == text
        return


@pytest.mark.parametrize(
    "bom, codec",
    [
        (codecs.BOM_UTF8, "utf-8"),
        (codecs.BOM_UTF16_LE, "utf-16-le"),
        (codecs.BOM_UTF16_BE, "utf-16-be"),
        (codecs.BOM_UTF32_LE, "utf-32-le"),
    ],
)
def test_a_byte_order_mark_wins_over_the_declared_charset(bom: bytes, codec: str) -> None:
    assert decode_bytes(bom + "Grüße €".encode(codec), "latin-1") == "Grüße €"


@given(
    st.lists(st.text(st.characters(whitelist_categories=("L", "N")), min_size=1, max_size=12), min_size=1, max_size=6),
    st.sampled_from(["p", "div", "li", "h1", "tr", "section", "blockquote"]),
)
def test_html_blocks_become_lines_and_scripts_styles_and_head_go(words: list[str], tag: str) -> None:
    body = "".join(f"<{tag}>{html.escape(w)}</{tag}>" for w in words)
    markup = f"<html><head><title>T1tle</title><style>p {{}}</style></head><body><script>x()</script>{body}</body>"
    assert html_to_text(markup).splitlines() == words


def test_a_part_is_read_whatever_its_transfer_encoding_and_charset_claim() -> None:
    part = EmailMessage()
    part.set_content("Grüße".encode("iso-8859-2"), "text", "plain", cte="base64")
    part.set_param("charset", "iso-8859-2")
    assert part_bytes(part) == "Grüße".encode("iso-8859-2")
    assert part_charset(part) == "iso-8859-2"
    del part["Content-Transfer-Encoding"]
    part["Content-Transfer-Encoding"] = "x-bogus"  # the raw payload, as written
    assert part_bytes(part).strip() == part.get_payload().encode().strip()
    part.replace_header("Content-Type", "text/plain")
    assert part_charset(part) is None


def test_one_default_ack_wording_for_settings_and_the_builders_fallback() -> None:
    settings = Settings()
    assert (settings.ack_subject, settings.ack_text, settings.ack_html) == (
        DEFAULT_ACK_SUBJECT,
        DEFAULT_ACK_TEXT,
        DEFAULT_ACK_HTML,
    )
    configured = parse(
        ack(subject_template=settings.ack_subject, text_template=settings.ack_text, html_template=settings.ack_html)
    )
    broken = parse(ack(subject_template="{nope}", text_template="{nope}", html_template="{nope}"))
    assert texts(broken, "plain") == texts(configured, "plain")
    assert texts(broken, "html") == texts(configured, "html")
    assert broken["Subject"] == configured["Subject"] == "Re: The job"
