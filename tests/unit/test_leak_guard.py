"""The leak guard on its own: every spelling of the private mailbox or a thread address is found
and rewritten, in text, HTML and bytes of any encoding; clean text is left alone."""

from __future__ import annotations

from email import message_from_bytes, policy

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mail.leaks import PRIVATE as PRIVATE_KIND
from mail.leaks import THREAD as THREAD_KIND
from mail.leaks import TOKEN as TOKEN_KIND
from mail.leaks import Guard
from tests.unit.leak_support import (
    PRIVATE,
    PUBLIC,
    REPLY_DOMAIN,
    SETTINGS,
    THREAD,
    TOKEN,
    guard,
    spelling,
)

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


@pytest.mark.parametrize(
    "clean",
    [
        PUBLIC,
        "owner@example.net",
        "private.example.net",
        "owner at home",
        f"x{REPLY_DOMAIN}",
        "k5v2q7xw3mzd",
        "Jane <jane@corp.example.org>",
    ],
)
def test_clean_text_is_left_alone(clean: str) -> None:
    assert guard().found(clean, html=True) == []
    assert guard().rewrite(clean, PUBLIC, html=True) == clean


def test_a_public_address_that_contains_the_private_one_is_not_a_leak() -> None:
    g = Guard("lo@example.com", allowed=["hello@example.com"])
    assert g.found("write to hello@example.com") == []
    assert g.found("write to lo@example.com") == [PRIVATE_KIND]
    assert g.rewrite("hello@example.com or lo@example.com", "hello@example.com") == "hello@example.com or hello@example.com"


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
