"""The inbound decision, with a fake of what it looks up: no AWS."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from events import AcknowledgementAllowed, FirstContact, MessageReceived, SpamRejected
from events.catalogue import Verdicts
from mail.parsing import parse
from producers.decide import Inbound, Policy, decide
from producers.patterns import DEFAULT_PATTERNS, compile_patterns
from producers.receipt import Receipt
from tests.conftest import make_mail

POLICY = Policy(
    accepted_addresses=frozenset({"hello@example.com", "info@example.com"}),
    private_mailbox="owner@private.example.net",
    relay_domains=["linkedin.com"],
    public_domain="example.com",
    reply_domain="reply.example.com",
)
PATTERNS = compile_patterns(DEFAULT_PATTERNS)


@dataclass
class FakeKnowledge:
    conversations: dict[str, str] = field(default_factory=dict)
    contacts: set[str] = field(default_factory=set)
    suppressed: dict[str, str] = field(default_factory=dict)
    versions: dict[str, int] = field(default_factory=dict)

    def conversation_for(self, message_ids: list[str]) -> str | None:
        return next((self.conversations[m] for m in message_ids if m in self.conversations), None)

    def contact_known(self, contact: str) -> bool:
        return contact in self.contacts

    def address_suppressed(self, address: str) -> str | None:
        return self.suppressed.get(address)

    def last_version(self, stream_id: str) -> int:
        return self.versions.get(stream_id, 0)


def receipt(recipients: list[str] | None = None, sender: str | None = "jane.doe@acmerobotics.com", **verdicts: str) -> Receipt:
    return Receipt(
        ses_message_id="ses-1",
        timestamp="2026-11-20T10:00:00Z",
        envelope_sender=sender,
        recipients=recipients or ["hello@example.com"],
        verdicts=Verdicts(**{"spam": "PASS", "virus": "PASS", "spf": "PASS", "dkim": "PASS", "dmarc": "PASS", **verdicts}),
    )


def run(raw: bytes, rcpt: Receipt | None = None, knowledge: FakeKnowledge | None = None):  # type: ignore[no-untyped-def]
    return decide(
        Inbound(parse(raw), rcpt or receipt(), "b", "inbox/ses-1"),
        policy=POLICY,
        patterns=PATTERNS,
        knowledge=knowledge or FakeKnowledge(),
    )


def test_a_new_correspondent_is_received_and_a_first_contact() -> None:
    decision = run(make_mail())
    assert decision.outcome == "accepted"
    events = [e for _s, e in decision.events]
    # an acknowledgement spends one slot of the hour's quota
    assert [type(e) for e in events] == [MessageReceived, FirstContact, AcknowledgementAllowed]
    assert decision.events[2][0] == "ack-quota#2026-11-20T10"
    assert decision.expected_versions == {"ack-quota#2026-11-20T10": 0}
    first = events[1]
    assert isinstance(first, FirstContact) and first.acknowledge and first.ack_to == "jane.doe@acmerobotics.com"
    assert decision.events[1][0] == "contact#jane.doe@acmerobotics.com"
    received = events[0]
    assert isinstance(received, MessageReceived)
    assert received.company == "Acme Robotics" and received.title == "Staff Platform Engineer"
    assert received.verdicts.spf == "PASS"


def test_a_known_correspondent_is_not_a_first_contact() -> None:
    decision = run(make_mail(), knowledge=FakeKnowledge(contacts={"jane.doe@acmerobotics.com"}))
    assert [type(e) for _s, e in decision.events] == [MessageReceived]


@pytest.mark.parametrize(
    ("verdicts", "reason"),
    [
        ({"spam": "FAIL"}, "spam verdict"),
        ({"virus": "FAIL"}, "virus verdict"),
        ({"dmarc": "FAIL", "dmarc_policy": "reject"}, "DMARC"),
    ],
)
def test_stage_1_ses_verdicts_reject(verdicts: dict[str, str], reason: str) -> None:
    decision = run(make_mail(), receipt(**verdicts))
    assert decision.outcome == "rejected"
    event = decision.events[0][1]
    assert isinstance(event, SpamRejected) and event.stage == "verdicts" and reason in event.reason
    assert decision.quarantine_key == "quarantine/ses-1"


def test_dmarc_fail_without_a_reject_policy_is_recorded_not_rejected() -> None:
    decision = run(make_mail(), receipt(dmarc="FAIL", dmarc_policy="none"))
    assert decision.outcome == "accepted"
    event = decision.events[0][1]
    assert isinstance(event, MessageReceived) and event.verdicts.dmarc == "FAIL"


def test_stage_2_only_public_addresses_on_the_envelope_count() -> None:
    # the To header says hello@, the envelope says sales@: the envelope decides
    decision = run(make_mail(to="hello@example.com"), receipt(["sales@example.com"]))
    event = decision.events[0][1]
    assert isinstance(event, SpamRejected) and event.stage == "recipients"
    assert "sales@example.com" in event.reason
    assert run(make_mail(), receipt(["INFO@Example.com"])).outcome == "accepted"


def test_stage_3_a_pattern_without_score_is_a_sure_hit_and_names_the_pattern() -> None:
    patterns = compile_patterns([{"id": "prize", "pattern": "claim your prize", "fields": ["body"], "flags": "i"}])
    decision = decide(
        Inbound(parse(make_mail(subject="You won", body="claim your PRIZE")), receipt(), "b", "inbox/ses-1"),
        policy=POLICY,
        patterns=patterns,
        knowledge=FakeKnowledge(),
    )
    event = decision.events[0][1]
    assert isinstance(event, SpamRejected) and event.stage == "patterns" and event.pattern_id == "prize"
    assert [(r.id, r.score, r.field) for r in event.rules] == [("prize", None, "body")]


def test_the_first_stage_that_rejects_decides() -> None:
    decision = run(make_mail(body="cheap viagra"), receipt(["sales@example.com"], spam="FAIL"))
    event = decision.events[0][1]
    assert isinstance(event, SpamRejected) and event.stage == "verdicts"


@pytest.mark.parametrize(
    ("headers", "sender", "why"),
    [
        ({"Auto-Submitted": "auto-replied"}, "jane.doe@acmerobotics.com", "Auto-Submitted"),
        ({"Precedence": "bulk"}, "jane.doe@acmerobotics.com", "Precedence"),
        ({"List-Id": "<news.acme>"}, "jane.doe@acmerobotics.com", "List-Id"),
        ({"List-Unsubscribe": "<mailto:u@acme>"}, "jane.doe@acmerobotics.com", "List-Unsubscribe"),
        ({}, None, "null envelope sender"),
        ({}, "MAILER-DAEMON@mx.acme.com", "envelope sender"),
    ],
)
def test_loop_protection_accepts_but_does_not_acknowledge(headers: dict[str, str], sender: str | None, why: str) -> None:
    decision = run(make_mail(headers=headers), receipt(sender=sender))
    assert decision.outcome == "accepted"
    first = decision.events[1][1]
    assert isinstance(first, FirstContact) and not first.acknowledge
    assert first.suppressed_reason and why in first.suppressed_reason


def test_auto_submitted_no_is_a_person() -> None:
    first = run(make_mail(headers={"Auto-Submitted": "no"})).events[1][1]
    assert isinstance(first, FirstContact) and first.acknowledge


def test_no_reply_sender_is_not_acknowledged() -> None:
    first = run(make_mail(sender="Shop <no-reply@shop.example>"), receipt(sender="bounce@shop.example")).events[1][1]
    assert isinstance(first, FirstContact) and not first.acknowledge


def test_our_own_acknowledgement_coming_back_is_not_answered() -> None:
    """Two instances writing to each other: our ack carries Auto-Submitted, so theirs stops."""
    decision = run(
        make_mail(sender="CRM <hello@other.example>", headers={"Auto-Submitted": "auto-replied"}),
        receipt(sender="hello@other.example"),
    )
    first = decision.events[1][1]
    assert isinstance(first, FirstContact) and not first.acknowledge


def test_ack_goes_to_reply_to_not_the_envelope_sender() -> None:
    # the Reply-To must be in the authenticated From's domain (issue 11): a subdomain of it is
    decision = run(make_mail(headers={"Reply-To": "jane@careers.acmerobotics.com"}), receipt(sender="bounces@esp.example"))
    first = decision.events[1][1]
    assert isinstance(first, FirstContact) and first.ack_to == "jane@careers.acmerobotics.com"


def test_a_suppressed_address_is_never_acknowledged_again() -> None:
    knowledge = FakeKnowledge(suppressed={"jane.doe@acmerobotics.com": "hard-bounced"})
    first = run(make_mail(), knowledge=knowledge).events[1][1]
    assert isinstance(first, FirstContact) and not first.acknowledge


def test_mail_from_the_owner_is_not_a_new_contact() -> None:
    decision = run(make_mail(sender="Me <owner@private.example.net>"), receipt(sender="owner@private.example.net"))
    assert [type(e) for _s, e in decision.events] == [MessageReceived]
    event = decision.events[0][1]
    assert isinstance(event, MessageReceived) and event.from_owner


def test_a_reply_joins_the_conversation_it_references() -> None:
    knowledge = FakeKnowledge(conversations={"<first@acme>": "jane-thread"}, contacts={"tom@acmerobotics.com"})
    raw = make_mail(sender="Tom <tom@acmerobotics.com>", headers={"In-Reply-To": "<first@acme>"})
    event = run(raw, knowledge=knowledge).events[0][1]
    assert isinstance(event, MessageReceived) and event.conversation_id == "jane-thread"


def test_linkedin_relay_senders_get_a_conversation_per_person() -> None:
    a = run(
        make_mail(sender="Priya Raman via LinkedIn <inmail-hit-reply@linkedin.com>"),
        receipt(sender="inmail-hit-reply@linkedin.com"),
    ).conversation_id
    b = run(
        make_mail(sender="Omar Haddad via LinkedIn <inmail-hit-reply@linkedin.com>"),
        receipt(sender="inmail-hit-reply@linkedin.com"),
    ).conversation_id
    assert a and b and a != b
    assert a.startswith("priya-raman-linkedin-") and b.startswith("omar-haddad-linkedin-")


def test_no_acknowledgement_to_our_own_domain_or_thread_subdomain() -> None:
    for reply_to in ("sales@example.com", "c1.abc@reply.example.com"):
        first = run(make_mail(headers={"Reply-To": reply_to})).events[1][1]
        assert isinstance(first, FirstContact) and not first.acknowledge, reply_to
