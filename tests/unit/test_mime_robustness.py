"""Whatever bytes arrive, the decision returns exactly one outcome (property tests)."""

from __future__ import annotations

from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from events import AcknowledgementAllowed, FirstContact, MessageReceived, SpamRejected
from mail.parsing import parse
from tests.unit.test_decide import PATTERNS, POLICY, FakeKnowledge, receipt

CORPUS = sorted((Path(__file__).resolve().parents[1] / "corpus").rglob("*.eml"))
SEEDS = [p.read_bytes() for p in CORPUS]

header_names = st.sampled_from(
    [
        "From",
        "To",
        "Cc",
        "Subject",
        "Reply-To",
        "Content-Type",
        "Content-Transfer-Encoding",
        "MIME-Version",
        "Message-ID",
        "In-Reply-To",
        "References",
        "Auto-Submitted",
        "Precedence",
        "List-Id",
        "Date",
        "X-Anything",
    ]
)
header_values = st.one_of(
    st.text(max_size=200),
    st.sampled_from(
        [
            "multipart/mixed; boundary=b",
            "multipart/alternative",
            "text/html; charset=x-nope",
            "base64",
            "quoted-printable",
            "=?utf-8?q?=0D=0ABcc:_x@y?=",
            "=?bogus?b?!!!?=",
            "<a@b> <c@d>",
            '"Doe, Jane" <jane@acme.com>',
            "undisclosed-recipients:;",
            "<>",
        ]
    ),
)


@st.composite
def generated_mails(draw: st.DrawFn) -> bytes:
    headers = draw(st.lists(st.tuples(header_names, header_values), max_size=12))
    body = draw(st.one_of(st.binary(max_size=2000), st.text(max_size=2000).map(lambda t: t.encode("utf-8", "replace"))))
    lines = [f"{name}: {value}".encode("utf-8", "surrogatepass") for name, value in headers]
    separator = draw(st.sampled_from([b"\r\n", b"\n"]))
    return separator.join(lines) + separator * 2 + body


@st.composite
def mutated_corpus(draw: st.DrawFn) -> bytes:
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(0, 20))):
        if not data:
            break
        position = draw(st.integers(0, len(data) - 1))
        action = draw(st.integers(0, 2))
        if action == 0:
            data[position] = draw(st.integers(0, 255))
        elif action == 1:
            del data[position : position + draw(st.integers(1, 200))]
        else:
            data[position:position] = draw(st.binary(min_size=1, max_size=50))
    return bytes(data)


def one_outcome(raw: bytes) -> None:
    from producers.decide import Inbound, decide

    decision = decide(Inbound(parse(raw), receipt(), "b", "inbox/x"), policy=POLICY, patterns=PATTERNS, knowledge=FakeKnowledge())
    decisions = [e for _s, e in decision.events if isinstance(e, (MessageReceived, SpamRejected))]
    assert len(decisions) == 1
    assert decision.outcome == ("accepted" if isinstance(decisions[0], MessageReceived) else "rejected")
    assert all(isinstance(e, (MessageReceived, SpamRejected, FirstContact, AcknowledgementAllowed)) for _s, e in decision.events)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(generated_mails())
def test_generated_mails_get_exactly_one_outcome(raw: bytes) -> None:
    one_outcome(raw)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated_corpus())
def test_mutated_real_mails_get_exactly_one_outcome(raw: bytes) -> None:
    one_outcome(raw)


def test_every_corpus_mail_gets_exactly_one_outcome() -> None:
    assert len(SEEDS) >= 20
    for raw in SEEDS:
        one_outcome(raw)
