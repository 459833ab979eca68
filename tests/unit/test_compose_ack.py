"""The acknowledgement to a first-time correspondent."""

from __future__ import annotations

import re

import pytest

from tests.unit.compose_support import (
    PUBLIC,
    ack,
    assert_wire_format,
    header_names,
    parse,
    texts,
)

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
