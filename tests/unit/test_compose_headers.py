"""Header safety of outbound mail: display names cleaned, a notice cannot grow headers."""

from __future__ import annotations

from email import message_from_bytes, policy

import pytest

from mail.header_safety import clean_display_name

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


def test_a_notice_to_the_owner_cannot_grow_headers_from_its_subject() -> None:
    from mail.notice_builder import build_notice

    raw = build_notice(
        public_address="hello@example.com",
        public_name="Example",
        private_mailbox="o@p.example",
        subject="VIP =?utf-8?q?x=0D=0ABcc:_victim@evil.example?= wrote\r\nCc: v@evil.example",
        text="body",
        message_id="<n.1@example.com>",
    )
    message = message_from_bytes(raw, policy=policy.default)
    assert "Bcc" not in message and "Cc" not in message
    assert [a.addr_spec for a in message["To"].addresses] == ["o@p.example"]
    assert message["Auto-Submitted"] == "auto-generated"
