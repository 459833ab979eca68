"""Hostile mail through the whole local stack: every mail gets exactly one recorded
decision, no handler fails, nothing from a mail becomes a header of a mail we send,
and no event carries the mail itself (the claim check keeps each far under 256 KB).

The corpus is generated here, one builder per attack: header injection (encoded
words with CR LF, folded continuations, bare CR and bare LF), 1,000 addresses in To
and 1,000 in Cc, 200 levels of nested multipart, a 30 MB mail, invalid UTF-8 and NUL
bytes in headers and body, oversized header values, an empty and a binary file.
"""

from __future__ import annotations

import base64
import random
from collections.abc import Callable
from email import message_from_bytes, policy
from email.parser import BytesHeaderParser
from typing import Any

import pytest

from tests import hostile_corpus as hostile
from tests.conftest import deliver, outbox

DECISIONS = {"MessageReceived", "SpamRejected"}
INJECTED = {"bcc", "x-injected"}  # header names only the payloads below try to smuggle in
MAX_DETAIL = 200_000  # EventBridge refuses 256 KB; the claim check keeps events far below
CRLF = b"\r\n"


def _b64word(text: str) -> str:
    return "=?utf-8?b?" + base64.b64encode(text.encode()).decode() + "?="


def _mail(headers: list[bytes], body: bytes, *, sender: bytes = b"Hostile Sender <hostile@attacker.test>") -> bytes:
    base = [b"From: " + sender, b"To: hello@example.com", b"Date: Fri, 20 Nov 2026 10:00:00 +0000"]
    return CRLF.join(base + headers) + CRLF + CRLF + body


# --- the corpus -------------------------------------------------------------------------


def injection_encoded_words() -> bytes:
    """CR LF inside RFC 2047 encoded words, in the display names and the subject."""
    name = "=?utf-8?q?Eve=0D=0ABcc:_victim@evil.test=0D=0AX-Injected:_from?="
    return _mail(
        [
            b"Reply-To: "
            + _b64word("Mallory\r\nBcc: victim@evil.test\r\nX-Injected: reply-to").encode()
            + b" <mallory@attacker.test>",
            b"Subject: =?utf-8?q?Hello=0D=0ABcc:_victim@evil.test=0D=0AX-Injected:_subject?=",
            b"Message-ID: <inject.words@attacker.test>",
            b"Content-Type: text/plain; charset=utf-8",
        ],
        b"Hello,\r\nBcc: body@evil.test\r\nX-Injected: body\r\n",
        sender=name.encode() + b" <eve@attacker.test>",
    )


def injection_folded_lines() -> bytes:
    """Header lines folded so a continuation looks like a header, and encoded words
    nested inside quoted strings, comments and parameters."""
    return _mail(
        [
            b"Subject: Quarterly planning\r\n Bcc: victim@evil.test\r\n\tX-Injected: folded",
            b"Comments: (=?utf-8?q?a=0D=0AX-Injected:_comment?=)",
            b'Keywords: "=?utf-8?q?k=0AX-Injected:_quoted?="',
            b"In-Reply-To: <parent@attacker.test>\r\n X-Injected: in-reply-to",
            b"References: <a@attacker.test>\r\n X-Injected: references <b@attacker.test>",
            b"Message-ID: <inject.folded@attacker.test>",
            b'Content-Type: text/plain; charset="=?utf-8?q?utf-8=0D=0AX-Injected:_param?="',
        ],
        b"Plain words.\r\n",
        sender=b'"Folded\r\n X-Injected: name" <folded@attacker.test>',
    )


def injection_bare_cr_lf() -> bytes:
    """A bare CR and a bare LF inside header values: parsers end the line there, so the
    mail itself carries a Bcc that must never reach an outgoing mail."""
    return _mail(
        [
            b"Subject: Meeting next week\rBcc: victim-cr@evil.test",
            b"Comments: note\nBcc: victim-lf@evil.test",
            b"Message-ID: <inject.bare@attacker.test>",
            b"Content-Type: text/plain; charset=utf-8",
        ],
        b"Hello\r\n",
        sender=b"Bare Line <bare@attacker.test>\rBcc: victim-from@evil.test",
    )


def many_recipients() -> bytes:
    """1,000 addresses in To and 1,000 in Cc, with long display names."""
    to = ", ".join(
        ["hello@example.com"]
        + [
            f'"Recipient Number {i:04d} of the hostile list" <recipient-{i:04d}-with-a-long-local-part@sub{i % 50}.victims.test>'
            for i in range(1000)
        ]
    )
    cc = ", ".join(f'"Carbon Copy {i:04d}" <cc-{i:04d}-another-long-local-part@copies{i % 50}.victims.test>' for i in range(1000))
    return CRLF.join(
        [
            b"From: Broadcast <broadcast@attacker.test>",
            b"To: " + to.encode(),
            b"Cc: " + cc.encode(),
            b"Subject: To everyone",
            b"Message-ID: <many@attacker.test>",
            b"Content-Type: text/plain; charset=utf-8",
            b"",
            b"Hello all.",
            b"",
        ]
    )


def nested_mime(levels: int = 200) -> bytes:
    """200 levels of multipart/mixed with the text at the bottom."""
    head = [
        b"Subject: Russian dolls",
        b"Message-ID: <nested@attacker.test>",
        b"MIME-Version: 1.0",
        b'Content-Type: multipart/mixed; boundary="b0"',
    ]
    opening, closing = [], []
    for level in range(1, levels):
        opening.append(f'--b{level - 1}\r\nContent-Type: multipart/mixed; boundary="b{level}"\r\n\r\n'.encode())
        closing.append(f"\r\n--b{level - 1}--\r\n".encode())
    leaf = f"--b{levels - 1}\r\nContent-Type: text/plain; charset=utf-8\r\n\r\ndeep down here\r\n--b{levels - 1}--".encode()
    return _mail(head, b"".join(opening) + leaf + b"".join(reversed(closing)))


def invalid_utf8() -> bytes:
    """Raw 8-bit bytes that are no valid UTF-8 in headers, parameters and a UTF-8 body."""
    return _mail(
        [
            b"Subject: caf\xe9 \xff\xfe \xc3\x28 \xed\xa0\x80 menu",
            b"Message-ID: <utf8@attacker.test>",
            b"X-Weird: \x80\x81\x82\xfe\xff",
            b"MIME-Version: 1.0",
            b'Content-Type: multipart/mixed; boundary="u8"',
        ],
        b"--u8\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n"
        b"invalid \xc3\x28 and \xa0\xa1 and \xf0\x28\x8c\x28 and overlong \xc0\xaf\r\n"
        b'--u8\r\nContent-Type: text/plain; charset=utf-8; name="r\xe9sum\xff.txt"\r\n'
        b'Content-Disposition: attachment; filename="r\xe9sum\xff.txt"\r\n\r\n\xff\xfe\xfd text\r\n--u8--\r\n',
        sender=b"J\xf6rg \xff\xfe M\xfcller <joerg@attacker.test>",
    )


def nul_bytes() -> bytes:
    """NUL bytes in a header name, header values, the body and an attachment name."""
    return _mail(
        [
            b"Subject: nul\x00subject\x00",
            b"X-Nul\x00Name: value",
            b"Message-ID: <nul\x00@attacker.test>",
            b"MIME-Version: 1.0",
            b'Content-Type: multipart/mixed; boundary="nn"',
        ],
        b"--nn\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nbody\x00with\x00nuls\r\n"
        b'--nn\r\nContent-Type: text/plain\r\nContent-Disposition: attachment; filename="a\x00b.txt"\r\n\r\n'
        b"\x00\x00\x00\r\n--nn--\r\n",
        sender=b"Nul\x00Name <nul@attacker.test>",
    )


def _oversized(headers: list[bytes], body: bytes = b"Short body.\r\n", **kw: Any) -> bytes:
    return _mail([*headers, b"Content-Type: text/plain; charset=utf-8"], body, **kw)


BIG = 300_000  # over EventBridge's 256 KB on its own
# Header values far beyond any sane size. Each one alone must neither block the mail
# (an item key over DynamoDB's 2,048 bytes, an item over 400 KB, an entry over 256 KB
# fails that delivery every time it is retried) nor travel in full in an event.
OVERSIZED: dict[str, Callable[[], bytes]] = {
    "display-name-300kb": lambda: _oversized(
        [b"Subject: hi", b"Message-ID: <n@attacker.test>"], sender=b'"' + b"A" * BIG + b'" <big-name@attacker.test>'
    ),
    "subject-word-300kb": lambda: _oversized([b"Subject: Staff Engineer at Big" + b"x" * BIG, b"Message-ID: <s@attacker.test>"]),
    "message-id-4kb": lambda: _oversized([b"Subject: hi", b"Message-ID: <" + b"m" * 4000 + b"@attacker.test>"]),
    "in-reply-to-300kb": lambda: _oversized(
        [b"Subject: hi", b"Message-ID: <i@attacker.test>", b"In-Reply-To: <" + b"r" * BIG + b"@attacker.test>"]
    ),
    "references-20x15kb": lambda: _oversized(
        [
            b"Subject: hi",
            b"Message-ID: <r@attacker.test>",
            b"References: " + b"\r\n ".join(b"<" + bytes([97 + i]) * 15_000 + b"@attacker.test>" for i in range(20)),
        ]
    ),
    "date-300kb": lambda: _oversized([b"Subject: hi", b"Message-ID: <d@attacker.test>"]).replace(
        b"Date: Fri, 20 Nov 2026 10:00:00 +0000", b"Date: " + b"Fri, 20 Nov 2026 " * (BIG // 17)
    ),
    "from-address-3000-chars": lambda: _oversized(
        [b"Subject: hi", b"Message-ID: <a@attacker.test>"], sender=b"Long <" + b"l" * 3000 + b"@attacker.test>"
    ),
    "defects-50x6kb": lambda: _mail(
        [b"Subject: hi", b"Message-ID: <f@attacker.test>", b"MIME-Version: 1.0", b'Content-Type: multipart/mixed; boundary="z"'],
        b"".join(
            b"--z\r\nContent-Type: text/plain; charset=x-bogus-" + str(i).encode() * 3000 + b"\r\n\r\nx\r\n" for i in range(60)
        )
        + b"--z--\r\n",
    ),
}


def empty_file() -> bytes:
    return b""


def binary_garbage() -> bytes:
    return random.Random(7).randbytes(64 * 1024)


CORPUS: dict[str, Callable[[], bytes]] = {
    "injection-encoded-words": injection_encoded_words,
    "injection-folded-lines": injection_folded_lines,
    "injection-bare-cr-lf": injection_bare_cr_lf,
    "1000-recipients-in-to-and-cc": many_recipients,
    "200-level-nested-multipart": nested_mime,
    "invalid-utf8": invalid_utf8,
    "nul-bytes": nul_bytes,
    "empty-file": empty_file,
    "binary-garbage": binary_garbage,
}


# --- the checks ----------------------------------------------------------------------------


def drain_reporting(stack: Any) -> Any:
    """Drain every queue like ``drain_all``, keeping the report: a failed record means a
    consumer raised (a traceback in a Lambda's log)."""
    from bootstrap import topology
    from crm.runner import drain

    return drain(stack.svc, topology(stack.settings))


def top_level_header_names(data: bytes) -> list[str]:
    block = data.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    for line in block.split(b"\r\n"):
        assert b"\r" not in line and b"\n" not in line, f"bare line break in an outgoing header: {line[:80]!r}"
    return [name.lower() for name in BytesHeaderParser(policy=policy.compat32).parsebytes(block + CRLF + CRLF)]


def assert_safe_outcome(stack: Any, raw: bytes, *, whole_stack: bool = True) -> dict[str, Any]:
    """One mail into ``stack`` (which may hold earlier ones): its one decision, its mails.
    ``whole_stack``: also every stored event's size and the audit (a caller delivering
    several mails may check those once, after the last)."""
    decided_before = sum(e.type in DECISIONS for e in stack.svc.store.all_events())
    sent_before = len(outbox(stack))
    failure = None
    try:
        result = deliver(stack, raw, drain=False)
    except Exception as exc:  # SES retries the Lambda: the same failure every time, the mail is never decided
        failure = f"the inbound Lambda raised {type(exc).__name__}: {str(exc)[:300]}"
    if failure:
        pytest.fail(failure)
    report = drain_reporting(stack)
    assert report.failed == 0, f"a consumer failed {report.failed} record(s): {report}"

    envelopes = stack.svc.store.all_events()
    assert sum(e.type in DECISIONS for e in envelopes) == decided_before + 1, [e.type for e in envelopes]
    caused = [e for e in envelopes if e.meta.correlation_id == result["ses_message_id"]]
    decisions = [e for e in caused if e.type in DECISIONS]
    assert len(decisions) == 1, [e.type for e in caused]
    assert result["outcome"] == ("accepted" if decisions[0].type == "MessageReceived" else "rejected")
    mails = outbox(stack)[sent_before:]
    if decisions[0].type == "MessageReceived":
        assert [m["kind"] for m in mails].count("forward") == 1
        assert [e.type for e in caused].count("MessageForwarded") == 1
    else:
        assert mails == []
    assert [m["kind"] for m in mails].count("ack") <= 1

    for sent in mails:
        with open(sent["file"], "rb") as handle:
            data = handle.read()
        names = top_level_header_names(data)
        assert not INJECTED & set(names), f"{sent['kind']} carries {INJECTED & set(names)}"
        assert names.count("to") == 1 and names.count("from") == 1 and names.count("subject") <= 1
        parsed = message_from_bytes(data, policy=policy.default)
        assert "evil.test" not in str(parsed["To"]), f"{sent['kind']} addressed to {parsed['To']}"
    if whole_stack:
        assert_whole_stack_safe(stack)
    return result


def assert_whole_stack_safe(stack: Any) -> None:
    """No stored event near EventBridge's 256 KB; the audit finds nothing wrong."""
    sizes = {
        f"{i['pk'][:60]}@{i['sk']} {i['type']}": len(str(i["detail"]).encode())
        for i in stack.svc.store.scan_items()
        if "detail" in i
    }
    assert sizes and max(sizes.values()) < MAX_DETAIL, {k: v for k, v in sizes.items() if v >= MAX_DETAIL}

    from crm.audit import run_audit

    audit = run_audit(stack.svc)
    assert audit["ok"], [c for c in audit["checks"] if not c["ok"]]


@pytest.mark.parametrize("name", sorted(CORPUS))
def test_each_hostile_mail_gets_one_outcome_and_leaks_nothing(stack: Any, name: str) -> None:
    raw = CORPUS[name]()
    if name.startswith("injection"):
        # the corpus itself: no injected name is a header of the mail, but the bare CR/LF Bcc
        parsed = BytesHeaderParser(policy=policy.compat32).parsebytes(raw)
        assert "X-Injected" not in parsed
        assert ("Bcc" in parsed) == (name == "injection-bare-cr-lf")
    result = assert_safe_outcome(stack, raw)
    if name.startswith("injection"):
        assert result["outcome"] == "accepted"
        assert sorted(m["kind"] for m in outbox(stack)) == ["ack", "forward"]


@pytest.mark.parametrize("name", sorted(OVERSIZED))
def test_an_oversized_header_value_neither_blocks_the_mail_nor_bloats_its_event(stack: Any, name: str) -> None:
    assert assert_safe_outcome(stack, OVERSIZED[name]())["outcome"] == "accepted"


def test_an_injection_in_the_display_name_does_not_change_who_the_mail_is_from(stack: Any) -> None:
    """The address is the one in angle brackets, whatever the display name before it holds."""
    raw = _mail(
        [b"Subject: hello", b"Message-ID: <name@attacker.test>", b"Content-Type: text/plain"],
        b"Hi\r\n",
        sender=b"=?utf-8?q?Eve=0D=0ABcc:_victim@evil.test=0D=0AX-Injected:_from?= <eve@attacker.test>",
    )
    assert assert_safe_outcome(stack, raw)["outcome"] == "accepted"
    received = next(e.event for e in stack.svc.store.all_events() if e.type == "MessageReceived")
    assert received.from_address == "eve@attacker.test"  # type: ignore[attr-defined]
    assert [m["to"] for m in outbox(stack) if m["kind"] == "ack"] == [["eve@attacker.test"]]


def test_redelivering_the_hostile_corpus_decides_nothing_twice(stack: Any) -> None:
    """The corpus in one stack, every mail delivered twice (SES and Lambda retry); the
    1,000-recipient mail is left out for time (2 s a parse), it has its own test."""
    raws = [build() for name, build in CORPUS.items() if name != "1000-recipients-in-to-and-cc"]
    for raw in raws + raws:
        deliver(stack, raw, drain=False)
    assert drain_reporting(stack).failed == 0
    decided = [e for e in stack.svc.store.all_events() if e.type in DECISIONS]
    assert len(decided) == len(raws)
    assert len({e.event.ses_message_id for e in decided}) == len(raws)  # type: ignore[attr-defined]
    from crm.audit import run_audit

    assert run_audit(stack.svc)["ok"]


@pytest.mark.slow
def test_a_30_mb_mail_is_decided_forwarded_and_its_event_stays_small(stack: Any) -> None:
    """A 30 MB mail (22.5 MB of random bytes, base64): SES accepts up to 40 MB."""
    data = random.Random(30).randbytes(22_500_000)
    encoded = base64.encodebytes(data).replace(b"\n", CRLF)
    raw = _mail(
        [
            b"Subject: The big file",
            b"Message-ID: <huge@attacker.test>",
            b"MIME-Version: 1.0",
            b'Content-Type: multipart/mixed; boundary="big"',
        ],
        b"--big\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nSee the attachment.\r\n"
        b'--big\r\nContent-Type: application/octet-stream; name="dump.bin"\r\n'
        b'Content-Disposition: attachment; filename="dump.bin"\r\nContent-Transfer-Encoding: base64\r\n\r\n'
        + encoded
        + b"--big--\r\n",
        sender=b"Big Sender <big@sender.test>",
    )
    assert len(raw) > 30_000_000
    assert assert_safe_outcome(stack, raw)["outcome"] == "accepted"
    extracted = [e.event for e in stack.svc.store.all_events() if e.type == "AttachmentExtracted"]
    assert len(extracted) == 1 and extracted[0].size == len(data)  # type: ignore[attr-defined]


# --- issue 12: the generated corpus's measured crashes, through the whole stack ---------

GENERATED = {
    "idna-charset": lambda: hostile.charset_mail("idna"),
    "rot13-charset": lambda: hostile.charset_mail("rot13"),
    "20000-nested-comments-in-from": lambda: hostile.nested_comments(20_000),
    "multipart-1000-deep": lambda: hostile.nested_multipart(1_000),
    "rfc822-1000-deep": lambda: hostile.nested_rfc822(1_000),
    "4000-parameters": lambda: hostile.many_params(4_000),
    "20000-addresses-in-to": lambda: hostile.many_addresses(20_000),
    # two transactions' worth of AttachmentExtracted (50 each); 1,000 are in tests/unit/test_attachment_batches.py
    "55-attachments": lambda: hostile.many_attachments(55, size=16),
}


def assert_all_attachments_extracted(stack: Any, count: int, ses_message_id: str) -> None:
    extracted = [
        e.event
        for e in stack.svc.store.all_events()
        if e.type == "AttachmentExtracted" and e.meta.correlation_id == ses_message_id
    ]
    assert sorted(e.filename for e in extracted) == sorted(f"f{i}.txt" for i in range(count))  # type: ignore[attr-defined]


@pytest.mark.parametrize("name", sorted(GENERATED))
def test_each_generated_hostile_mail_gets_one_recorded_decision(stack: Any, name: str) -> None:
    """Each crashed the inbound Lambda (nothing recorded) or a consumer on the old code."""
    result = assert_safe_outcome(stack, GENERATED[name]())
    assert result["outcome"] == "accepted"
    if name == "55-attachments":
        assert_all_attachments_extracted(stack, 55, result["ses_message_id"])


def test_no_aws_limit_blocks_an_oversized_or_many_part_mail(moto_stack: Any, fast_moto_transactions: None) -> None:
    """On the aws adapters (moto enforces AWS's limits; the embedded engine has none of its
    own): a key over DynamoDB's 2,048 bytes, an item over 400 KB or an entry over
    EventBridge's 256 KB would fail the delivery on every retry; and TransactWriteItems
    takes at most 100 items, so the 55 AttachmentExtracted events go in two transactions.
    The mails go into one stack, one after another (a stack costs seconds on moto)."""
    for name in sorted(OVERSIZED):
        assert assert_safe_outcome(moto_stack, OVERSIZED[name](), whole_stack=False)["outcome"] == "accepted", name
    result = assert_safe_outcome(moto_stack, GENERATED["55-attachments"](), whole_stack=False)
    assert result["outcome"] == "accepted"
    assert_all_attachments_extracted(moto_stack, 55, result["ses_message_id"])
    assert_whole_stack_safe(moto_stack)


def test_a_mail_whose_decision_fails_is_quarantined_with_the_reason(stack: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Whatever still goes wrong while deciding, the mail gets one recorded decision."""
    import producers.inbound

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise ValueError("a bug in a spam stage")

    monkeypatch.setattr(producers.inbound, "decide", broken)
    result = deliver(stack, hostile.nested_multipart(10))
    assert result["outcome"] == "rejected"
    decided = [e.event for e in stack.svc.store.all_events() if e.type in DECISIONS]
    assert len(decided) == 1 and decided[0].stage == "unparseable"  # type: ignore[attr-defined]
    assert decided[0].reason.startswith("unparseable: ValueError")  # type: ignore[attr-defined]


def test_a_reply_whose_decision_fails_is_rejected_with_the_reason(stack: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import producers.reply

    def broken(*args: Any, **kwargs: Any) -> Any:
        raise ValueError("a bug in the reply decision")

    monkeypatch.setattr(producers.reply, "decide_reply", broken)
    deliver(stack, hostile.nested_comments(5_000), recipients=["t@reply.example.com"])
    rejected = [e.event for e in stack.svc.store.all_events() if e.type == "ReplyRejected"]
    assert len(rejected) == 1 and rejected[0].reason.startswith("unparseable: ValueError")  # type: ignore[attr-defined]
