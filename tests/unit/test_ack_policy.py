"""Only authenticated mail earns an acknowledgement (issue 11, finding 4: backscatter).

The rule is restated here independently (a hand-written table of organizational
domains) and checked against the real decision over every combination of SES
verdicts, From, Reply-To, envelope sender and DKIM ``d=`` domains.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from events import AcknowledgementAllowed, FirstContact, MessageReceived
from events.catalogue import Verdicts
from mail.addresses import OwnAddresses
from mail.parsing import parse
from producers.ack_policy import ack_refusal
from producers.ack_quota import quota_stream
from producers.authentication import unauthenticated
from producers.decide import Inbound, Policy, decide
from producers.patterns import DEFAULT_PATTERNS, compile_patterns
from producers.receipt import Receipt
from tests.conftest import make_mail
from tests.unit.test_decide import POLICY, FakeKnowledge

PATTERNS = compile_patterns(DEFAULT_PATTERNS)
STATUSES = ["PASS", "FAIL", "GRAY", "PROCESSING_FAILED"]
# domain → its organizational domain, written out by hand (the oracle does not use the PSL)
ORG = {
    "acme.com": "acme.com",
    "mail.acme.com": "acme.com",
    "eu.bounces.acme.com": "acme.com",
    "acme.co.uk": "acme.co.uk",
    "mail.acme.co.uk": "acme.co.uk",
    "evil.org": "evil.org",
    "victim.net": "victim.net",
    "esp-mailer.net": "esp-mailer.net",
    "a.github.io": "a.github.io",
    "b.github.io": "b.github.io",
    "example.com": "example.com",
    "reply.example.com": "example.com",
}
OURS = {"example.com", "reply.example.com"}
domains = st.sampled_from(sorted(ORG))
locals_ = st.sampled_from(["jane", "j.doe", "recruiting", "hello", "Tom.Smith"])


def oracle(*, spf: str, dkim: str, dmarc: str, sender: str, target: str, envelope: str, dkims: list[str]) -> bool:
    from_domain = sender.split("@")[1]
    if from_domain in OURS or target.split("@")[1] in OURS:
        return False
    spf_ok = spf == "PASS" and ORG[envelope.split("@")[1]] == ORG[from_domain]
    dkim_ok = dkim == "PASS" and bool(dkims) and all(ORG[d] == ORG[from_domain] for d in dkims)
    authenticated = dmarc == "PASS" or (dmarc != "FAIL" and (spf_ok or dkim_ok))
    return authenticated and (target.lower() == sender.lower() or ORG[target.split("@")[1]] == ORG[from_domain])


def first_contact(
    raw: bytes,
    *,
    envelope: str | None,
    knowledge: FakeKnowledge | None = None,
    policy: Policy = POLICY,
    timestamp: str = "2026-11-20T10:00:00Z",
    **verdicts: str,
) -> tuple[FirstContact, MessageReceived, list[object]]:
    receipt = Receipt(
        ses_message_id="ses-1",
        timestamp=timestamp,
        envelope_sender=envelope,
        recipients=["hello@example.com"],
        verdicts=Verdicts(**{"spam": "PASS", "virus": "PASS", **verdicts}),
    )
    decision = decide(
        Inbound(parse(raw), receipt, "b", "k"), policy=policy, patterns=PATTERNS, knowledge=knowledge or FakeKnowledge()
    )
    assert decision.outcome == "accepted"  # whatever the acknowledgement, the mail goes on
    events = [e for _s, e in decision.events]
    first = next(e for e in events if isinstance(e, FirstContact))
    received = next(e for e in events if isinstance(e, MessageReceived))
    return first, received, events


@settings(max_examples=200, deadline=None)
@given(
    spf=st.sampled_from(STATUSES),
    dkim=st.sampled_from(STATUSES),
    dmarc=st.sampled_from(STATUSES),
    from_local=locals_,
    from_domain=domains,
    reply_to=st.none() | st.tuples(locals_, domains),
    envelope_domain=domains,
    dkims=st.lists(domains, max_size=3),
    shout=st.booleans(),
)
def test_acknowledged_exactly_when_the_rule_says(
    spf: str,
    dkim: str,
    dmarc: str,
    from_local: str,
    from_domain: str,
    reply_to: tuple[str, str] | None,
    envelope_domain: str,
    dkims: list[str],
    shout: bool,
) -> None:
    sender = f"{from_local}@{from_domain.upper() if shout else from_domain}"
    headers = {"Reply-To": f"{reply_to[0]}@{reply_to[1]}"} if reply_to else {}
    raw = make_mail(sender=f"Someone <{sender}>", headers=headers)
    signatures = b"".join(f"DKIM-Signature: v=1; a=rsa-sha256; d={d}; s=s1; bh=x; b=y\r\n".encode() for d in dkims)
    envelope = f"bounce-7@{envelope_domain}"
    first, received, events = first_contact(signatures + raw, envelope=envelope, spf=spf, dkim=dkim, dmarc=dmarc)
    target = headers.get("Reply-To", sender.lower())
    expected = oracle(
        spf=spf, dkim=dkim, dmarc=dmarc, sender=sender.lower(), target=target.lower(), envelope=envelope, dkims=dkims
    )
    assert first.acknowledge is expected, first.suppressed_reason
    assert (first.suppressed_reason is None) is expected
    assert (first.ack_to == target.lower()) if expected else first.ack_to is None
    assert received.auto_reply_reason == first.suppressed_reason  # the decision records why
    assert any(isinstance(e, AcknowledgementAllowed) for e in events) is expected


def test_a_hundred_forged_first_contacts_get_no_ack_and_are_all_accepted() -> None:
    """Finding 4 as measured: SPF, DKIM, DMARC all FAIL with policy none, one forged address each."""
    acked = 0
    for n in range(100):
        raw = make_mail(
            sender=f"Buy now at http://spam.example/{n} <victim{n}@victim.net>", subject=f"Buy now at http://spam.example/{n}"
        )
        first, _received, _events = first_contact(
            raw, envelope=f"victim{n}@victim.net", spf="FAIL", dkim="FAIL", dmarc="FAIL", dmarc_policy="none"
        )
        acked += first.acknowledge
        assert first.suppressed_reason and "not authenticated" in first.suppressed_reason
    assert acked == 0


def test_mail_forged_from_our_public_address_with_a_victims_reply_to_gets_no_ack() -> None:
    for sender in (
        "hello@example.com",
        "HELLO@Example.com",
        "info@example.com",
        "x@reply.example.com",
        "anything@example.com",
        "a@sub.example.com",
    ):
        raw = make_mail(sender=f"Us <{sender}>", headers={"Reply-To": "victim@victim.net"})
        for verdicts in (
            {"spf": "FAIL", "dkim": "FAIL", "dmarc": "FAIL", "dmarc_policy": "none"},
            {"spf": "PASS", "dkim": "PASS", "dmarc": "PASS"},
        ):
            first, _r, _e = first_contact(raw, envelope=sender, **verdicts)
            assert not first.acknowledge, (sender, verdicts)
            assert first.ack_to is None


def test_the_owner_writing_to_the_public_address_plans_no_first_contact() -> None:
    raw = make_mail(sender="Me <owner@private.example.net>", headers={"Reply-To": "victim@victim.net"})
    receipt = Receipt(
        ses_message_id="s",
        timestamp="2026-11-20T10:00:00Z",
        envelope_sender="owner@private.example.net",
        recipients=["hello@example.com"],
        verdicts=Verdicts(spam="PASS", virus="PASS", dmarc="PASS"),
    )
    decision = decide(Inbound(parse(raw), receipt, "b", "k"), policy=POLICY, patterns=PATTERNS, knowledge=FakeKnowledge())
    assert not any(isinstance(e, FirstContact) for _s, e in decision.events)


def test_more_than_one_from_address_is_never_acknowledged() -> None:
    for header in (
        b"From: jane@acme.com, eve@evil.org\r\n",
        b"From: g: jane@acme.com, eve@evil.org;\r\n",
        b"From: jane@acme.com\r\nFrom: eve@evil.org\r\n",
    ):
        raw = header + b"To: hello@example.com\r\nSubject: hi\r\n\r\nhello\r\n"
        first, _r, _e = first_contact(raw, envelope="jane@acme.com", spf="PASS", dkim="PASS", dmarc="PASS")
        assert not first.acknowledge and "exactly one From" in (first.suppressed_reason or "")


def test_reply_to_on_another_domain_is_not_acknowledged_even_when_authenticated() -> None:
    raw = make_mail(sender="Jane <jane@acme.com>", headers={"Reply-To": "someone@victim.net"})
    first, _r, _e = first_contact(raw, envelope="jane@acme.com", spf="PASS", dkim="PASS", dmarc="PASS")
    assert not first.acknowledge and "outside the authenticated From domain" in (first.suppressed_reason or "")


def test_dkim_pass_counts_only_when_every_signature_aligns() -> None:
    own = OwnAddresses.of(["hello@example.com", "o@p.net"], ["example.com"])
    base = b"From: jane@acme.com\r\nTo: hello@example.com\r\nSubject: hi\r\n"
    aligned_only = parse(b"DKIM-Signature: v=1; d=mail.acme.com; s=x; b=y\r\n" + base + b"\r\nhi")
    mixed = parse(b"DKIM-Signature: v=1; d=acme.com; s=x\r\nDKIM-Signature: v=1; d=evil.org; s=x\r\n" + base + b"\r\nhi")
    verdicts = Verdicts(spf="FAIL", dkim="PASS", dmarc="GRAY")
    assert ack_refusal(aligned_only, verdicts=verdicts, envelope_sender="x@evil.org", ack_to="jane@acme.com", own=own) is None
    assert ack_refusal(mixed, verdicts=verdicts, envelope_sender="x@evil.org", ack_to="jane@acme.com", own=own)


def test_dmarc_fail_overrides_spf_and_dkim_pass() -> None:
    assert unauthenticated(
        Verdicts(spf="PASS", dkim="PASS", dmarc="FAIL"),
        from_address="jane@acme.com",
        envelope_sender="jane@acme.com",
        dkim_domains=["acme.com"],
    )


def test_past_the_hourly_cap_the_first_contact_is_recorded_and_not_acknowledged() -> None:
    hour = "2026-11-20T10"
    policy = Policy(
        accepted_addresses=POLICY.accepted_addresses,
        private_mailbox=POLICY.private_mailbox,
        relay_domains=POLICY.relay_domains,
        public_domain=POLICY.public_domain,
        ack_cap_per_hour=3,
    )
    for taken, allowed in ((0, True), (2, True), (3, False), (50, False)):
        knowledge = FakeKnowledge(versions={quota_stream(hour): taken})
        first, received, events = first_contact(
            make_mail(), envelope="jane.doe@acmerobotics.com", knowledge=knowledge, policy=policy, dmarc="PASS"
        )
        assert first.acknowledge is allowed
        slots = [e for e in events if isinstance(e, AcknowledgementAllowed)]
        if allowed:
            assert len(slots) == 1 and slots[0].slot == taken + 1 and slots[0].cap == 3 and slots[0].hour == hour
        else:
            assert not slots and "hourly acknowledgement cap reached (3" in (first.suppressed_reason or "")
            assert received.auto_reply_reason == first.suppressed_reason
    # the next hour has its own budget
    knowledge = FakeKnowledge(versions={quota_stream(hour): 3})
    first, _r, _e = first_contact(
        make_mail(),
        envelope="jane.doe@acmerobotics.com",
        knowledge=knowledge,
        policy=policy,
        timestamp="2026-11-20T11:00:00Z",
        dmarc="PASS",
    )
    assert first.acknowledge
