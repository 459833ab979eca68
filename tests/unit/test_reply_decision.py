"""The reply decision, over conversations that strangers joined: no AWS.

The conversations are built by the real inbound decision (``producers.decide``), so a
forged correspondent, a stranger quoting a Message-ID and our own bounced
acknowledgement join exactly as they would in production. Then the owner answers
one forwarded copy, through its own thread address.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass, field

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from crm.settings import Settings
from events import Envelope, MessageReceived, ReplyRejected, ReplyRouted
from events.catalogue import Verdicts
from mail.addresses import OwnAddresses
from mail.parsing import parse
from mail.tokens import message_thread_address, sign
from producers.decide import Inbound, Policy, ack_message_id, decide
from producers.patterns import DEFAULT_PATTERNS, compile_patterns
from producers.receipt import Receipt
from producers.reply import ReplyContext, decide_reply
from tests.conftest import make_mail

OWNER = "owner@private.example.net"
PUBLIC = "hello@example.com"
REPLY_DOMAIN = "reply.example.com"
KEY = b"test-key"
JANE = "jane.doe@acmerobotics.com"
ATTACKER = "mallory@attacker.example"
STRANGER = "stranger@elsewhere.example"
POLICY = Policy(
    accepted_addresses=frozenset({PUBLIC, "info@example.com"}),
    private_mailbox=OWNER,
    relay_domains=["linkedin.com"],
    public_domain="example.com",
)
OWN = OwnAddresses.of([*POLICY.accepted_addresses, OWNER], [REPLY_DOMAIN])
CTX = ReplyContext(REPLY_DOMAIN, OWNER, [KEY], Settings().statuses, "example.com", OWN)
PATTERNS = compile_patterns(DEFAULT_PATTERNS)
PASS = {"spam": "PASS", "virus": "PASS", "spf": "PASS", "dkim": "PASS", "dmarc": "PASS"}
FAIL = {"spam": "PASS", "virus": "PASS", "spf": "FAIL", "dkim": "FAIL", "dmarc": "FAIL", "dmarc_policy": "none"}


@dataclass
class Knowledge:
    conversations: dict[str, str] = field(default_factory=dict)
    contacts: set[str] = field(default_factory=set)

    def conversation_for(self, message_ids: list[str]) -> str | None:
        return next((self.conversations[m] for m in message_ids if m in self.conversations), None)

    def contact_known(self, contact: str) -> bool:
        return contact in self.contacts

    def address_suppressed(self, address: str) -> str | None:
        return None

    def last_version(self, stream_id: str) -> int:
        return 0  # the acknowledgement quota: always room here


@dataclass
class Thread:
    """A conversation as the event store would hold it, fed by the inbound decision."""

    knowledge: Knowledge = field(default_factory=Knowledge)
    streams: dict[str, list[Envelope]] = field(default_factory=dict)
    received: list[MessageReceived] = field(default_factory=list)

    def receive(self, raw: bytes, envelope_sender: str | None, verdicts: dict[str, str]) -> MessageReceived:
        ses_id = f"ses-{len(self.received) + 1}"
        receipt = Receipt(ses_id, "2026-11-20T10:00:00Z", envelope_sender, [PUBLIC], Verdicts(**verdicts))
        decision = decide(
            Inbound(parse(raw), receipt, "b", f"inbox/{ses_id}"), policy=POLICY, patterns=PATTERNS, knowledge=self.knowledge
        )
        assert decision.outcome == "accepted", decision.reason
        for stream_id, event in decision.events:
            stream = self.streams.setdefault(stream_id, [])
            stream.append(Envelope.new(event, stream_id=stream_id, version=len(stream) + 1, seed=ses_id, correlation_id=ses_id))
            if stream_id.startswith("contact#"):
                self.knowledge.contacts.add(stream_id.removeprefix("contact#"))
        self.knowledge.conversations.update(decision.message_ids)
        event = next(e for _s, e in decision.events if isinstance(e, MessageReceived))
        self.received.append(event)
        return event

    def history(self, conversation_id: str) -> Sequence[Envelope]:
        return self.streams.get(f"conversation#{conversation_id}", [])

    def thread_address_of(self, message: MessageReceived) -> str:
        return message_thread_address(message.conversation_id, message.ses_message_id, KEY, REPLY_DOMAIN)


def jane_writes(thread: Thread) -> MessageReceived:
    return thread.receive(make_mail(message_id="<first@acme.test>"), JANE, PASS)


def forged_correspondent(thread: Thread) -> MessageReceived:
    """From: Jane, Reply-To: the attacker; SPF, DKIM and DMARC FAIL, policy none."""
    raw = make_mail(subject="Re: Staff Platform Engineer role", headers={"Reply-To": ATTACKER})
    return thread.receive(raw, ATTACKER, FAIL)


def stranger_quoting_references(thread: Thread) -> MessageReceived:
    raw = make_mail(
        sender=f"Stranger <{STRANGER}>",
        subject="Re: Staff Platform Engineer role",
        headers={"References": "<first@acme.test>", "In-Reply-To": "<first@acme.test>"},
    )
    return thread.receive(raw, STRANGER, PASS)


def bounced_ack(thread: Thread) -> MessageReceived:
    """Our own acknowledgement, returned whole by a forwarding mailbox."""
    first = thread.received[0]
    ack = ack_message_id(first.conversation_id, first.ses_message_id, "example.com")
    raw = make_mail(
        sender=f"Example <{PUBLIC}>",
        to=JANE,
        subject="Re: Staff Platform Engineer role",
        headers={"In-Reply-To": ack, "References": ack, "Reply-To": PUBLIC},
    )
    return thread.receive(raw, "", PASS)


JOINERS = {"forged": forged_correspondent, "stranger": stranger_quoting_references, "bounce": bounced_ack}
EXPECTED_TO = {"forged": ATTACKER, "stranger": STRANGER, "bounce": None}


def owner_reply(
    thread_address: str,
    *,
    sender: str = f"Owner <{OWNER}>",
    body: str = "Thursday works.\n",
    headers: Sequence[tuple[str, str]] = (),
    order: Sequence[int] | None = None,
) -> bytes:
    fields = [
        ("From", sender),
        ("To", thread_address),
        ("Subject", "Re: Staff Platform Engineer role"),
        ("Date", "Thu, 21 Nov 2026 10:00:00 +0000"),
        ("Message-ID", "<r1@private.example.net>"),
        ("MIME-Version", "1.0"),
        ("Content-Type", "text/plain; charset=utf-8"),
        *headers,
    ]
    if order is not None:
        fields = [fields[i] for i in order]
    return ("\r\n".join(f"{k}: {v}" for k, v in fields) + "\r\n\r\n" + body).encode()


def owner_receipt(thread_address: str, *, envelope_sender: str | None = OWNER, **verdicts: str) -> Receipt:
    return Receipt("reply-1", "2026-11-21T10:00:00Z", envelope_sender, [thread_address.lower()], Verdicts(**{**PASS, **verdicts}))


def answer(thread: Thread, raw: bytes, receipt: Receipt) -> tuple[str, ReplyRouted | ReplyRejected]:
    decision = decide_reply(parse(raw), receipt, thread.history, CTX, bucket="b", raw_key="inbox/r1")
    outcome, event = decision.outcome, decision.events[0][1]
    assert isinstance(event, ReplyRouted | ReplyRejected)
    return outcome, event


# --- finding 1: the reply goes to the person answered --------------------------------


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(joiners=st.lists(st.sampled_from(sorted(JOINERS)), min_size=1, max_size=5), answered=st.integers(min_value=0, max_value=5))
@example(joiners=["forged"], answered=0)
@example(joiners=["stranger"], answered=0)
@example(joiners=["bounce"], answered=0)
def test_the_reply_goes_to_the_correspondent_of_the_message_answered(joiners: list[str], answered: int) -> None:
    """Whoever joins the conversation after (forged From, stranger quoting References,
    our own bounced ack), the owner's reply reaches only the message answered."""
    thread = Thread()
    jane_writes(thread)
    kinds = ["jane"]
    for kind in joiners:
        JOINERS[kind](thread)
        kinds.append(kind)
    assert len({m.conversation_id for m in thread.received}) == 1  # all of them did join
    index = answered % len(thread.received)
    message = thread.received[index]
    address = thread.thread_address_of(message)
    outcome, event = answer(thread, owner_reply(address), owner_receipt(address))
    expected = JANE if kinds[index] == "jane" else EXPECTED_TO[kinds[index]]
    if expected is None:
        assert outcome == "rejected" and isinstance(event, ReplyRejected)
        assert event.code == "no-recipient" and event.notify_owner
    else:
        assert outcome == "accepted" and isinstance(event, ReplyRouted)
        assert event.to == [expected]
        assert event.in_reply_to == message.message_id
    if kinds[index] == "jane":
        assert isinstance(event, ReplyRouted) and event.to == [JANE]


def test_a_message_token_of_another_conversation_does_not_verify() -> None:
    thread = Thread()
    jane = jane_writes(thread)
    other = Thread()
    stranger = other.receive(make_mail(sender=f"S <{STRANGER}>"), STRANGER, PASS)
    # a valid tag for the stranger's message, put on Jane's conversation id
    tag = other.thread_address_of(stranger).split("@")[0].rpartition(".")[2]
    address = f"{jane.conversation_id}.{tag}@{REPLY_DOMAIN}"
    outcome, event = answer(thread, owner_reply(address), owner_receipt(address))
    assert outcome == "rejected" and isinstance(event, ReplyRejected) and event.code == "token"


def test_a_conversation_only_token_is_accepted_only_while_one_correspondent_wrote() -> None:
    thread = Thread()
    jane = jane_writes(thread)
    legacy = f"{sign(jane.conversation_id, KEY)}@{REPLY_DOMAIN}"
    outcome, event = answer(thread, owner_reply(legacy), owner_receipt(legacy))
    assert outcome == "accepted" and isinstance(event, ReplyRouted) and event.to == [JANE]
    forged_correspondent(thread)
    outcome, event = answer(thread, owner_reply(legacy), owner_receipt(legacy))
    assert outcome == "rejected" and isinstance(event, ReplyRejected)
    assert event.code == "ambiguous" and event.notify_owner and ATTACKER in event.reason


@pytest.mark.parametrize(
    "reply_to", [[PUBLIC], ["x.abc@" + REPLY_DOMAIN], [OWNER], ["INFO@Example.com"], ["mailer-daemon@mx.example.org"]]
)
def test_never_an_answer_to_one_of_our_own_addresses(reply_to: list[str]) -> None:
    thread = Thread()
    message = thread.receive(make_mail(sender=f"X <{reply_to[0]}>", headers={"Reply-To": reply_to[0]}), reply_to[0], PASS)
    address = thread.thread_address_of(message)
    outcome, event = answer(thread, owner_reply(address), owner_receipt(address))
    assert outcome == "rejected" and isinstance(event, ReplyRejected)
    assert event.code == "no-recipient" and event.notify_owner


# --- finding 3: only the owner, provably --------------------------------------------


def _encoded(text: str) -> str:
    return "=?utf-8?b?" + __import__("base64").b64encode(text.encode()).decode() + "?="


@st.composite
def owner_spellings(draw: st.DrawFn) -> str:
    """The owner's address as mail clients write it: any case, any display name
    (plain, quoted, encoded), or a trailing comment."""
    address = "".join(c.upper() if draw(st.booleans()) else c for c in OWNER)
    name = draw(st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs", "Zl", "Zp")), max_size=20))
    style = draw(st.sampled_from(["bare", "angle", "quoted", "encoded", "comment", "dotted"]))
    if style == "bare":
        return address
    if style == "angle":
        return f"<{address}>"
    if style == "dotted":  # obsolete phrase syntax real clients still write
        return f"J. Owner <{address}>"
    if style == "quoted":
        return '"' + name.replace("\\", "").replace('"', "") + f'" <{address}>'
    if style == "encoded":
        return f"{_encoded(name or 'Owner')} <{address}>"
    return f"{address} (" + "".join(c for c in name if c not in "()\\") + ")"


@st.composite
def hostile_froms(draw: st.DrawFn) -> list[str]:
    """From fields that show the owner but name someone else, or more than the owner."""
    owner = draw(owner_spellings())
    kind = draw(st.sampled_from(["list", "group", "two-headers", "quoted-owner", "encoded-owner", "bare-owner-name"]))
    if kind == "list":
        pair = [owner, f"Eve <{ATTACKER}>"]
        draw(st.randoms()).shuffle(pair)
        return [", ".join(pair)]
    if kind == "group":
        return [f"{draw(st.sampled_from(['g', 'Owner', 'undisclosed']))}: {owner};"]
    if kind == "two-headers":
        pair = [owner, ATTACKER]
        draw(st.randoms()).shuffle(pair)
        return pair
    if kind == "quoted-owner":
        return [f'"{OWNER}" <{ATTACKER}>']
    if kind == "encoded-owner":
        return [f"{_encoded(OWNER)} <{ATTACKER}>"]
    return [f"{OWNER} <{ATTACKER}>"]


def _one_message_thread() -> tuple[Thread, str]:
    thread = Thread()
    return thread, thread.thread_address_of(jane_writes(thread))


@settings(max_examples=80, deadline=None)
@given(sender=owner_spellings(), order=st.permutations(range(7)))
def test_the_owner_is_accepted_however_the_client_spells_the_address(sender: str, order: list[int]) -> None:
    thread, address = _one_message_thread()
    outcome, event = answer(thread, owner_reply(address, sender=sender, order=order), owner_receipt(address))
    assert outcome == "accepted", getattr(event, "reason", "")
    assert isinstance(event, ReplyRouted) and event.to == [JANE]


@settings(max_examples=80, deadline=None)
@given(froms=hostile_froms(), seed=st.integers(0, 2**16))
@example(froms=[f"{OWNER} <{ATTACKER}>"], seed=0)  # the header registry alone reads the owner here
@example(froms=[f"Owner <{OWNER}>, {ATTACKER}"], seed=0)
@example(froms=[f"g: {OWNER};"], seed=0)
@example(froms=[OWNER, ATTACKER], seed=0)
def test_a_from_that_hides_another_author_is_rejected(froms: list[str], seed: int) -> None:
    thread, address = _one_message_thread()
    raw = owner_reply(address, sender=froms[0], headers=[("From", f) for f in froms[1:]])
    lines = raw.split(b"\r\n\r\n", 1)[0].split(b"\r\n")
    random.Random(seed).shuffle(lines)  # header order never matters
    raw = b"\r\n".join(lines) + b"\r\n\r\nThursday works.\n"
    outcome, event = answer(thread, raw, owner_receipt(address))
    assert outcome == "rejected" and isinstance(event, ReplyRejected)
    assert event.code == "unauthenticated" and not event.notify_owner


STATUSES = ["PASS", "FAIL", "GRAY", "PROCESSING_FAILED"]
SIGNERS = {
    "owner": "private.example.net",
    "sub": "mail.private.example.net",
    "parent": "example.net",
    "stranger": "attacker.example",
}


@settings(max_examples=120, deadline=None)
@given(
    spf=st.sampled_from(STATUSES),
    dkim=st.sampled_from(STATUSES),
    dmarc=st.sampled_from(STATUSES),
    signers=st.lists(st.sampled_from(sorted(SIGNERS)), max_size=3),
)
@example(spf="PASS", dkim="PASS", dmarc="FAIL", signers=["owner"])  # DMARC FAIL was ignored
@example(spf="FAIL", dkim="PASS", dmarc="GRAY", signers=["stranger"])  # unaligned DKIM was enough
@example(spf="FAIL", dkim="PASS", dmarc="GRAY", signers=["owner", "stranger"])
@example(spf="FAIL", dkim="PASS", dmarc="GRAY", signers=["parent", "sub"])
def test_only_dmarc_or_aligned_spf_dkim_authenticates_the_owner(spf: str, dkim: str, dmarc: str, signers: list[str]) -> None:
    thread, address = _one_message_thread()
    headers = [("DKIM-Signature", f"v=1; a=rsa-sha256; d={SIGNERS[s]}; s=k; b=xyz") for s in signers]
    outcome, _event = answer(
        thread, owner_reply(address, headers=headers), owner_receipt(address, spf=spf, dkim=dkim, dmarc=dmarc)
    )
    # relaxed alignment: the owner's domain, a subdomain, or its organisational parent
    dkim_aligned = dkim == "PASS" and bool(signers) and all(s != "stranger" for s in signers)
    authenticated = dmarc == "PASS" or (dmarc != "FAIL" and (spf == "PASS" or dkim_aligned))
    assert (outcome == "accepted") == authenticated


@pytest.mark.parametrize("envelope", [None, "", "<>", "mallory@attacker.example", "owner@private.example.net.evil"])
def test_the_envelope_sender_must_be_the_owner_too(envelope: str | None) -> None:
    thread, address = _one_message_thread()
    outcome, event = answer(thread, owner_reply(address), owner_receipt(address, envelope_sender=envelope))
    assert outcome == "rejected" and isinstance(event, ReplyRejected) and event.code == "unauthenticated"


# --- finding 5: automatic mail and replies with nothing to send ----------------------


@settings(max_examples=40, deadline=None)
@given(
    marker=st.sampled_from(
        [
            ("Auto-Submitted", "auto-replied"),
            ("Auto-Submitted", "auto-generated"),
            ("Auto-Submitted", "Auto-Replied; owner-email=owner@private.example.net"),
            ("Auto-Submitted", "auto-notified"),
            ("Precedence", "bulk"),
            ("Precedence", "junk"),
            ("X-Auto-Response-Suppress", "All"),
        ]
    ),
    upper=st.booleans(),
    order=st.permutations(range(8)),
)
def test_the_owners_automatic_mail_is_recorded_and_never_relayed(marker: tuple[str, str], upper: bool, order: list[int]) -> None:
    thread, address = _one_message_thread()
    name, value = marker
    raw = owner_reply(
        address, body="I am on vacation until Monday.\n", headers=[(name.upper() if upper else name, value)], order=order
    )
    outcome, event = answer(thread, raw, owner_receipt(address))
    assert outcome == "rejected" and isinstance(event, ReplyRejected)
    assert event.code == "automatic" and not event.notify_owner


def test_auto_submitted_no_is_the_owner_writing() -> None:
    thread, address = _one_message_thread()
    outcome, _ = answer(thread, owner_reply(address, headers=[("Auto-Submitted", "no")]), owner_receipt(address))
    assert outcome == "accepted"


def _attachment_only(address: str, content_type: str, payload: str, filename: str | None) -> bytes:
    disposition = f'Content-Disposition: attachment; filename="{filename}"\r\n' if filename else ""
    return (
        f"From: Owner <{OWNER}>\r\nTo: {address}\r\nSubject: Re: role\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n"
        f"{' ' * 3}\r\n--b\r\nContent-Type: {content_type}\r\n{disposition}"
        f"Content-Transfer-Encoding: base64\r\n\r\n{payload}\r\n--b--\r\n"
    ).encode()


SMIME = (
    f"From: Owner <{OWNER}>\r\nTo: {{address}}\r\nSubject: Re: role\r\nMIME-Version: 1.0\r\n"
    'Content-Type: application/pkcs7-mime; smime-type=signed-data; name="smime.p7m"\r\n'
    "Content-Transfer-Encoding: base64\r\n\r\nMIAGCSqGSIb3DQEHAqCAMIACAQExDzANBglghkgBZQMEAgEFADCABgkqhkiG9w0BBwGg\r\n"
)


@pytest.mark.parametrize("case", ["attachment-only", "calendar-only", "smime-opaque", "empty"])
def test_a_reply_with_nothing_to_send_is_rejected_with_a_notice(case: str) -> None:
    thread, address = _one_message_thread()
    if case == "attachment-only":
        raw = _attachment_only(address, "application/pdf", "JVBERi0xLjQK", "cv.pdf")
    elif case == "calendar-only":
        raw = _attachment_only(address, "text/calendar", "QkVHSU46VkNBTEVOREFSCg==", "invite.ics")
    elif case == "smime-opaque":
        raw = SMIME.format(address=address).encode()
    else:
        raw = owner_reply(address, body="\r\n  \r\n")
    outcome, event = answer(thread, raw, owner_receipt(address))
    assert outcome == "rejected" and isinstance(event, ReplyRejected)
    assert event.code == "nothing-to-send" and event.notify_owner
    if case == "smime-opaque":
        assert "S/MIME" in event.reason


def test_a_reply_of_commands_only_annotates() -> None:
    thread, address = _one_message_thread()
    outcome, event = answer(thread, owner_reply(address, body="[STATUS: closed]\n"), owner_receipt(address))
    assert outcome == "annotated" and isinstance(event, ReplyRouted) and not event.send


@st.composite
def own_address_spellings(draw: st.DrawFn) -> str:
    """One of our own addresses as a hostile Reply-To would write it."""
    base = draw(
        st.sampled_from([PUBLIC, "info@example.com", OWNER, f"c1.abcdefgh@{REPLY_DOMAIN}", f"anything@deep.{REPLY_DOMAIN}"])
    )
    address = "".join(c.upper() if draw(st.booleans()) else c for c in base)
    style = draw(st.sampled_from(["bare", "angle", "named", "encoded", "comment"]))
    if style == "bare":
        return address
    if style == "angle":
        return f"<{address}>"
    if style == "named":
        return f'"{JANE}" <{address}>'  # shows the correspondent, names us
    if style == "encoded":
        return f"{_encoded('Jane ' + JANE)} <{address}>"
    return f"{address} (Jane Doe)"


@settings(max_examples=60, deadline=None)
@given(reply_to=st.lists(own_address_spellings(), min_size=1, max_size=3), jane_from=st.booleans())
def test_no_spelling_of_our_own_addresses_receives_a_reply(reply_to: list[str], jane_from: bool) -> None:
    thread = Thread()
    sender = f"Jane <{JANE}>" if jane_from else f"Example <{PUBLIC}>"
    raw = make_mail(sender=sender)  # Reply-To put in raw: EmailMessage would re-encode the words
    raw = raw.replace(b"\nTo: ", b"\nReply-To: " + ", ".join(reply_to).encode() + b"\nTo: ", 1)
    message = thread.receive(raw, JANE, PASS)
    address = thread.thread_address_of(message)
    outcome, event = answer(thread, owner_reply(address), owner_receipt(address))
    if jane_from:
        assert outcome == "accepted" and isinstance(event, ReplyRouted) and event.to == [JANE]
    else:
        assert outcome == "rejected" and isinstance(event, ReplyRejected) and event.code == "no-recipient"


def _with_attachment(address: str, text: str) -> bytes:
    return (
        f"From: Owner <{OWNER}>\r\nTo: {address}\r\nSubject: Re: role\r\nMIME-Version: 1.0\r\n"
        "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\n"
        f"{text}\r\n--b\r\nContent-Type: application/pdf\r\nContent-Disposition: attachment; "
        'filename="cv.pdf"\r\nContent-Transfer-Encoding: base64\r\n\r\nJVBERi0xLjQK\r\n--b--\r\n'
    ).encode()


def test_attachments_of_a_commands_only_reply_are_named_for_a_notice() -> None:
    thread, address = _one_message_thread()
    outcome, event = answer(thread, _with_attachment(address, "[STATUS: closed]"), owner_receipt(address))
    assert outcome == "annotated" and isinstance(event, ReplyRouted)
    assert event.unsent_attachments == ["cv.pdf"] and event.has_unsent_attachments
    outcome, event = answer(thread, _with_attachment(address, "[STATUS: closed]\nMy CV."), owner_receipt(address))
    assert outcome == "accepted" and isinstance(event, ReplyRouted)
    assert event.unsent_attachments == [] and not event.has_unsent_attachments
