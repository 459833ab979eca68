"""Bounded parsing: the crashes and CPU sinks measured on hostile mail (issue 12) are
regression tests here, and the limits hold for generated mail of every size.

Each regression test fails on the code before the bounded parse: it raised
(UnicodeError, RecursionError) or kept what exceeds a limit.
"""

from __future__ import annotations

import dataclasses
from email.message import Message

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mail.bounded import parse_message, prepare, walk
from mail.forward_builder import build_forward
from mail.limits import DEFAULT_LIMITS, MailLimits, safe_charset
from mail.parsing import parse
from mail.reply_builder import build_reply
from mail.text import decode_bytes
from tests import hostile_corpus as hostile

FORWARD = {
    "public_address": "hello@example.com",
    "public_name": "Example",
    "private_mailbox": "owner@private.test",
    "reply_to": "t@reply.example.com",
    "correspondent_name": None,
    "correspondent_address": None,
    "message_id": "<fwd@example.com>",
    "max_bytes": 10 * 1024 * 1024,
}
REPLY = {
    "public_address": "hello@example.com",
    "public_name": "Example",
    "private_mailbox": "owner@private.test",
    "to": ["jane@x.test"],
    "subject": "Re: hi",
    "in_reply_to": None,
    "references": [],
    "message_id": "<reply@example.com>",
    "strip": [],
}


def depth_of(message: Message) -> int:
    return max(depth for _part, _path, depth in walk(message, 10**6))


# --- the measured crashes ----------------------------------------------------------


def test_an_idna_charset_decodes_as_replacement_text() -> None:
    mail = parse(hostile.charset_mail("idna"))  # raised UnicodeError
    assert "caf" in mail.text
    assert any("idna" in d for d in mail.defects)


def test_a_from_of_20000_nested_comments_is_read() -> None:
    mail = parse(hostile.nested_comments(20_000))  # RecursionError in parseaddr
    assert mail.from_address == "nested@attacker.test"


@pytest.mark.parametrize(
    "build, depth", [(hostile.nested_multipart, 1_000), (hostile.nested_multipart, 5_000), (hostile.nested_rfc822, 1_000)]
)
def test_deep_nesting_is_cut_at_the_depth_limit(build: object, depth: int) -> None:
    raw = build(depth)  # type: ignore[operator]
    message, defects = parse_message(raw)  # RecursionError in message_from_bytes
    assert depth_of(message) <= DEFAULT_LIMITS.depth
    assert any("nesting deeper" in d for d in defects)
    mail = parse(raw)
    assert mail.from_address == "hostile@attacker.test"


@pytest.mark.parametrize("build", [hostile.nested_multipart, hostile.nested_rfc822, hostile.nested_rfc822_in_multipart])
def test_the_builders_get_the_deep_mail_through(build: object) -> None:
    raw = build(1_000)  # type: ignore[operator]
    assert build_forward(raw, **FORWARD)  # type: ignore[arg-type]
    assert build_reply(raw, **REPLY)  # type: ignore[arg-type]


# --- the measured CPU sinks --------------------------------------------------------


def test_parameters_are_written_in_one_header_write(monkeypatch: pytest.MonkeyPatch) -> None:
    """``set_param`` per parameter re-parsed the header each time: 2,000 parameters took
    the forward builder 72 s. Each part's parameters are now one write."""
    calls = {"n": 0}
    original = Message.set_param

    def counting(self: Message, *args: object, **kwargs: object) -> None:
        calls["n"] += 1
        original(self, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(Message, "set_param", counting)
    raw = hostile.many_params(300)
    wide = MailLimits(params=1_000)
    out = build_forward(raw, **FORWARD, limits=wide)  # type: ignore[arg-type]
    assert b"p299" in out
    assert calls["n"] < 10
    build_reply(raw, **REPLY, limits=wide)  # type: ignore[arg-type]
    assert calls["n"] < 20


def test_parameters_beyond_the_limit_are_cut() -> None:
    message, defects = parse_message(hostile.many_params(4_000))
    assert len(message.get_params() or []) == DEFAULT_LIMITS.params + 1  # the type, then the parameters
    assert any("parameters" in d for d in defects)


@pytest.mark.parametrize("header", ["To", "Cc"])
def test_addresses_beyond_the_limit_are_cut_before_parsing(header: str) -> None:
    mail = parse(hostile.many_addresses(20_000, header))
    found = mail.to if header == "To" else mail.cc
    assert found[:3] == ["hello@example.com", "r0@v0.test", "r1@v1.test"]
    assert len(found) == DEFAULT_LIMITS.addresses
    assert any("addresses" in d for d in mail.defects)


def test_only_the_newest_references_are_kept() -> None:
    mail = parse(hostile.many_references(10_000))
    assert mail.references[-1] == "<ref9999@attacker.test>"
    assert len(mail.references) <= DEFAULT_LIMITS.references
    assert any("references" in d for d in mail.defects)


def test_header_fields_beyond_the_limit_are_dropped() -> None:
    mail = parse(hostile.many_headers(20_000))
    assert len(mail.headers) <= DEFAULT_LIMITS.headers
    assert mail.from_address == "hostile@attacker.test"
    assert any("header block" in d for d in mail.defects)


def test_parts_beyond_the_limit_become_an_epilogue() -> None:
    limits = MailLimits(parts=50)
    message, defects = parse_message(hostile.many_attachments(200), limits)
    assert sum(1 for _ in walk(message)) == 50
    assert any("MIME parts" in d for d in defects)


# --- charsets ----------------------------------------------------------------------


def test_every_codec_name_python_knows_gets_a_parse_and_a_forward() -> None:
    names = hostile.codec_names()
    assert len(names) > 300 and "idna" in names and "rot13" in names
    for index, name in enumerate(names):
        raw = hostile.charset_mail(name)
        mail = parse(raw)
        assert mail.from_address == "charset@attacker.test", name
        if index % 10 == 0 or safe_charset(name) is None:  # the builders on a sample, and on every refused one
            assert build_forward(raw, **FORWARD)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["idna", "punycode", "rot13", "base64", "zlib", "unicode_escape", "undefined", "x-no"])
def test_refused_codecs_are_never_decoded_with(name: str) -> None:
    assert safe_charset(name) is None
    # not that codec: UTF-8 when the bytes are UTF-8, else windows-1252
    assert decode_bytes("café".encode("latin-1"), name) == "café"
    assert decode_bytes("café €".encode(), name) == "café €"


# --- the limits hold for generated mail --------------------------------------------


def test_real_mail_is_left_as_it_is() -> None:
    mails = hostile.real_mails()
    assert len(mails) >= 20
    for raw in mails:
        prepared = prepare(raw)
        assert prepared.raw == raw and prepared.defects == ()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    kind=st.sampled_from([hostile.nested_multipart, hostile.nested_rfc822, hostile.nested_rfc822_in_multipart]),
    depth=st.integers(1, 400),
    limit=st.integers(1, 40),
)
def test_no_parsed_tree_is_deeper_than_the_limit(kind: object, depth: int, limit: int) -> None:
    limits = MailLimits(depth=limit)
    message, defects = parse_message(kind(depth), limits)  # type: ignore[operator]
    assert depth_of(message) <= limit
    assert not any("unparseable" in d for d in defects)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(count=st.integers(1, 1_500), limit=st.integers(1, 300))
def test_every_list_limit_holds(count: int, limit: int) -> None:
    limits = dataclasses.replace(DEFAULT_LIMITS, addresses=limit, references=limit, params=limit)
    assert len(parse(hostile.many_addresses(count), limits=limits).to) == min(count, limit)
    params = parse_message(hostile.many_params(count), limits)[0].get_params() or []
    assert len(params) == 1 + min(count + 1, limit)  # the type, charset and p0... up to the limit
    kept = parse(hostile.many_references(count), limits=limits).references
    assert kept[-1] == f"<ref{count - 1}@attacker.test>" and len(kept) <= min(limit, 20)


def test_a_bad_limit_is_named() -> None:
    with pytest.raises(ValueError, match="depth"):
        MailLimits(depth=0)


def test_the_decision_reads_only_the_start_of_big_bodies_and_keeps_their_sizes() -> None:
    """The parser's cost is per line: a 40 MB attachment took it seconds. The decision's
    parse cuts each body at 1 MB and keeps the size the full parse would report."""
    from mail.bounded import parse_for_decision
    from mail.parsing import attachments_of

    for raw in [hostile.big_mail(3), hostile.many_attachments(30, size=200_000), *hostile.real_mails()]:
        full = [a for _part, a in attachments_of(parse_message(raw)[0])]
        assert parse(raw).attachments == full
    message, _defects, sizes = parse_for_decision(hostile.big_mail(3), keep_body=64 * 1024)
    assert sizes == {"2": 3 * 1024 * 1024 * 3 // 4} and len(message.as_bytes()) < 200_000
