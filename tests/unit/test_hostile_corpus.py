"""The generated hostile corpus (``tests/hostile_corpus.py``): every mail gets exactly one
outcome and every stage that handles a mail finishes it without a traceback.

The pure stages run here on a sample of every class at each size up to ~2 MB and on
random byte mutations of the real mails; ``bench/hostile.py`` runs the whole range and
reports each stage's cost. The full stack runs on a few in tests/integration.
"""

from __future__ import annotations

from collections.abc import Iterator

import msgspec
import pytest

from consumers.attachments import extract_all
from events import MessageReceived, SpamRejected
from mail.forward_builder import build_forward
from mail.parsing import ParsedMail, parse
from mail.reply_builder import build_reply
from producers.decide import Inbound, decide
from tests import hostile_corpus as hostile
from tests.unit.test_bounded_parsing import FORWARD, REPLY
from tests.unit.test_decide import PATTERNS, POLICY, FakeKnowledge, receipt

# the largest of each class is left to the bench: this keeps the suite to tens of seconds
SAMPLE = [(name, raw) for name, raw in hostile.sample(400_000) if name not in ("attachments-1000", "attachments-3000")]
MANY_PARTS = [hostile.many_attachments(1000), hostile.many_attachments(3000)]


def one_outcome(raw: bytes, mail: ParsedMail | None = None) -> str:
    mail = mail or parse(raw)
    decision = decide(Inbound(mail, receipt(), "b", "inbox/x"), policy=POLICY, patterns=PATTERNS, knowledge=FakeKnowledge())
    decisions = [e for _s, e in decision.events if isinstance(e, (MessageReceived, SpamRejected))]
    assert len(decisions) == 1
    for _stream, event in decision.events:
        msgspec.json.encode(event)  # every event serialises
    return decision.outcome


def every_stage(raw: bytes) -> None:
    assert one_outcome(raw) in ("accepted", "rejected")
    assert build_forward(raw, **FORWARD)  # type: ignore[arg-type]
    assert build_reply(raw, **REPLY)  # type: ignore[arg-type]
    for _path, _data, extraction, _info in extract_all(raw):
        assert extraction.outcome in ("extracted", "skipped", "failed")


def _ids(sample: list[tuple[str, bytes]]) -> list[str]:
    return [name for name, _ in sample]


@pytest.mark.parametrize("raw", [raw for _, raw in SAMPLE], ids=_ids(SAMPLE))
def test_every_generated_mail_gets_one_outcome_through_every_stage(raw: bytes) -> None:
    every_stage(raw)


def test_mails_with_thousands_of_parts_get_one_decision() -> None:
    for raw in MANY_PARTS:
        assert one_outcome(raw) == "accepted"


def _mutations(count: int) -> Iterator[bytes]:
    yield from hostile.mutations(count, seed=1212)


def test_random_byte_mutations_of_real_mail_get_one_outcome_through_every_stage() -> None:
    for raw in _mutations(60):
        every_stage(raw)


def test_random_byte_mutations_of_real_mail_get_one_decision() -> None:
    for raw in _mutations(400):
        one_outcome(raw)


def test_a_40_mb_mail_gets_one_decision() -> None:
    raw = hostile.big_mail(40)
    assert len(raw) >= 40 * 1024 * 1024
    mail = parse(raw)
    assert [a.filename for a in mail.attachments] == ["big.pdf"]
    assert one_outcome(raw, mail) == "accepted"
