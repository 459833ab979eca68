"""The importer's computed SpamAssassin facts (relays, ALL_TRUSTED, shifted dates,
Outlook Message-IDs, HTML-only, FreeMail, ``if`` blocks, network tests read as 0 in
metas, the exact pseudo-headers ``MESSAGEID``/``ALL``), over generated ``.cf`` snippets
and mails; and the Aho-Corasick prefilter's promise: with or without it, the stage gives
the same verdict and the same matched rules (generated rules and texts, and
SpamAssassin's installed rules where present)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from crm.sa_files import SA_VERSION, default_paths, eval_compare
from crm.sa_import import import_rules
from mail.parsing import parse
from producers import sa_evals
from producers.patterns import CompiledPatterns, compile_patterns, score_texts
from producers.spam_texts import MailTexts

BASE = datetime(2002, 9, 3, 10, 0, 0, tzinfo=UTC)
octet = st.integers(0, 255)
public_ip = st.tuples(st.integers(11, 99), octet, octet, st.integers(1, 254)).map(lambda t: ".".join(map(str, t)))
private_ip = st.one_of(
    st.tuples(octet, octet, st.integers(1, 254)).map(lambda t: f"10.{t[0]}.{t[1]}.{t[2]}"),
    st.tuples(octet, st.integers(1, 254)).map(lambda t: f"192.168.{t[0]}.{t[1]}"),
)
label = st.from_regex(r"[a-z][a-z0-9]{1,8}", fullmatch=True)
host = st.tuples(label, label).map(lambda t: f"{t[0]}.{t[1]}.example")
queue_id = st.from_regex(r"[A-Z0-9]{6,12}", fullmatch=True)


def rules_from(tmp_path: Path, text: str) -> CompiledPatterns:
    path = tmp_path / "local.cf"
    path.write_text(text, encoding="utf-8")
    result = import_rules([path])
    return compile_patterns(result.patterns)


def hits(compiled: CompiledPatterns, raw: bytes, *, prefilter: bool = True) -> set[str]:
    verdict = score_texts(compiled, MailTexts(parse(raw)), threshold=5.0, prefilter=prefilter)
    return {h.id for h in verdict.hits}


def mail(
    *,
    received: list[str] | None = None,
    date: datetime = BASE,
    message_id: str = "<a1@b.example>",
    html_only: bool = False,
    sender: str = "Jane <jane@acme.example>",
    extra: dict[str, str] | None = None,
    body: str = "Hello there,\n\nsee you.\n",
) -> bytes:
    message = EmailMessage()
    for line in received or []:
        message["Received"] = line
    message["From"] = sender
    message["To"] = "hello@example.com"
    message["Subject"] = "A question"
    message["Date"] = format_datetime(date)
    message["Message-ID"] = message_id
    for name, value in (extra or {}).items():
        message[name] = value
    if html_only:
        message.set_content(f"<html><body><p>{body}</p></body></html>", subtype="html")
    else:
        message.set_content(body)
    return message.as_bytes()


def postfix_hop(helo: str, rdns: str, ip: str, by: str, qid: str, when: datetime = BASE) -> str:
    return f"from {helo} ({rdns} [{ip}]) by {by} (Postfix) with ESMTP id {qid}; {format_datetime(when)}"


RELAY_RULES = r"""
header RELAY_UNTRUSTED_IP  X-Spam-Relays-Untrusted =~ /^\[ ip=(?:1[1-9]|[2-9]\d)\./
score  RELAY_UNTRUSTED_IP  1
header RELAY_TRUSTED_ANY   X-Spam-Relays-Trusted =~ /\[ ip=/
score  RELAY_TRUSTED_ANY   1
header ALL_TRUSTED         eval:check_all_trusted()
score  ALL_TRUSTED         -1
"""


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(host, host, st.booleans(), queue_id), min_size=1, max_size=4), st.data())
def test_relays_split_at_the_first_public_address(
    tmp_path: Path, hops: list[tuple[str, str, bool, str]], data: st.DataObject
) -> None:
    """Newest first: the trusted part is the run of private relays; from the first
    public one on, every relay is untrusted; ALL_TRUSTED holds iff no relay is public."""
    compiled = rules_from(tmp_path, RELAY_RULES)
    received, ips = [], []
    for helo, by, private, qid in hops:
        ip = data.draw(private_ip if private else public_ip)
        ips.append((ip, private))
        received.append(postfix_hop(helo, helo, ip, by, qid))
    relays = sa_evals.relays(received)
    first_public = next((i for i, (_ip, private) in enumerate(ips) if not private), len(ips))
    assert relays.trusted.count("[ ip=") == first_public
    assert relays.untrusted.count("[ ip=") == len(ips) - first_public
    for ip, _private in ips[first_public:]:
        assert f"ip={ip} " in relays.untrusted
    assert relays.unparseable == 0
    found = hits(compiled, mail(received=received))
    assert ("ALL_TRUSTED" in found) == (first_public == len(ips))
    assert ("RELAY_TRUSTED_ANY" in found) == (first_public > 0)
    assert ("RELAY_UNTRUSTED_IP" in found) == (first_public < len(ips))


@settings(max_examples=30, deadline=None)
@given(helo=host, rdns=host, ip=public_ip, by=host, qid=queue_id)
def test_a_relay_records_what_its_received_header_says(helo: str, rdns: str, ip: str, by: str, qid: str) -> None:
    relay = sa_evals.parse_received(postfix_hop(helo, rdns, ip, by, qid))
    assert isinstance(relay, dict)
    assert (relay["ip"], relay["rdns"], relay["helo"], relay["by"], relay["id"]) == (ip, rdns, helo, by, qid)


def test_a_mail_without_relays_is_not_all_trusted_nor_is_an_unreadable_hop() -> None:
    assert not sa_evals.relays([]).all_trusted
    assert not sa_evals.relays(["from mail.example (garbled by nothing readable"]).all_trusted


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(shift_minutes=st.integers(-48 * 60, 48 * 60))
def test_shifted_date_fires_in_its_window_only(tmp_path: Path, shift_minutes: int) -> None:
    compiled = rules_from(
        tmp_path,
        """
header DATE_IN_FUTURE_06_12 eval:check_for_shifted_date('6', '12')
score  DATE_IN_FUTURE_06_12 1
header DATE_IN_PAST_24_48   eval:check_for_shifted_date('-48', '-24')
score  DATE_IN_PAST_24_48   1
header DATE_FAR_FUTURE      eval:check_for_shifted_date('24', 'undef')
score  DATE_FAR_FUTURE      1
""",
    )
    received = [postfix_hop("a.example", "a.example", "203.0.113.9", "mx.example", "ABC123")]
    found = hits(compiled, mail(received=received, date=BASE + timedelta(minutes=shift_minutes)))
    hours = shift_minutes / 60
    assert ("DATE_IN_FUTURE_06_12" in found) == (6 <= hours < 12)
    assert ("DATE_IN_PAST_24_48" in found) == (-48 <= hours < -24)
    assert ("DATE_FAR_FUTURE" in found) == (hours >= 24)


def _outlook_id(moment: datetime, offset: int) -> str:
    token = int(moment.timestamp() * 0.0023283064365387 + 27111902.8329849) + offset
    return f"<0000{token:08x}$0a1b2c3d$4e5f6a7b@host.example>"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(offset=st.integers(-5000, 5000), days=st.integers(0, 3000))
def test_an_outlook_message_id_is_invalid_iff_its_time_token_is_far_from_the_date(tmp_path: Path, offset: int, days: int) -> None:
    compiled = rules_from(tmp_path, "header OUTLOOK_ID eval:check_outlook_message_id()\nscore OUTLOOK_ID 1\n")
    moment = BASE + timedelta(days=days)
    received = [postfix_hop("a.example", "a.example", "203.0.113.9", "mx.example", "ABC123", moment)]
    found = hits(compiled, mail(received=received, date=moment, message_id=_outlook_id(moment, offset)))
    assert ("OUTLOOK_ID" in found) == (abs(offset) >= 250)
    # a Message-ID not in Outlook's shape never fires the test
    assert "OUTLOOK_ID" not in hits(compiled, mail(received=received, date=moment, message_id="<x@y.example>"))


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(html=st.booleans(), body=st.text(st.characters(min_codepoint=97, max_codepoint=122), min_size=1, max_size=40))
def test_mime_html_only_fires_for_an_html_only_mail(tmp_path: Path, html: bool, body: str) -> None:
    compiled = rules_from(tmp_path, "body MIME_HTML_ONLY eval:check_for_mime_html_only()\nscore MIME_HTML_ONLY 1\n")
    assert ("MIME_HTML_ONLY" in hits(compiled, mail(html_only=html, body=body))) == html


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    user=label,
    domain=st.sampled_from(
        ["freemail.example", "post.example", "mail.wild.example", "other.example", "sub.freemail.example", "wild.example"]
    ),
)
def test_freemail_from_matches_the_listed_domains_and_one_label_wildcards(tmp_path: Path, user: str, domain: str) -> None:
    compiled = rules_from(
        tmp_path,
        """
freemail_domains freemail.example post.example *.wild.example
header FREEMAIL_FROM      eval:check_freemail_from()
score  FREEMAIL_FROM      1
header FREEMAIL_FROM_USER eval:check_freemail_from('^j')
score  FREEMAIL_FROM_USER 1
""",
    )
    listed = domain in ("freemail.example", "post.example", "mail.wild.example")
    found = hits(compiled, mail(sender=f"Someone <{user}@{domain}>"))
    assert ("FREEMAIL_FROM" in found) == listed
    assert ("FREEMAIL_FROM_USER" in found) == (listed and user.startswith("j"))


def test_freemail_without_domains_is_skipped_with_a_reason(tmp_path: Path) -> None:
    path = tmp_path / "x.cf"
    path.write_text("header FREEMAIL_FROM eval:check_freemail_from()\nscore FREEMAIL_FROM 1\n", encoding="utf-8")
    result = import_rules([path])
    assert dict(result.skipped)["FREEMAIL_FROM"].startswith("eval: FreeMail test")


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    version=st.floats(2.0, 6.0).map(lambda v: round(v, 3)),
    operator=st.sampled_from([">=", "<", "==", "!="]),
    negate_plugin=st.booleans(),
)
def test_if_blocks_read_the_version_as_4_0_and_every_plugin_as_loaded(
    tmp_path: Path, version: float, operator: str, negate_plugin: bool
) -> None:
    plugin = "!plugin(Mail::SpamAssassin::Plugin::Foo)" if negate_plugin else "plugin(Mail::SpamAssassin::Plugin::Foo)"
    path = tmp_path / "x.cf"
    path.write_text(
        f"""
if (version {operator} {version})
body IN_VERSION /\\bversioned\\b/
score IN_VERSION 1
else
body IN_ELSE /\\bversioned\\b/
score IN_ELSE 1
endif
if {plugin}
body IN_PLUGIN /\\bplugged\\b/
score IN_PLUGIN 1
endif
ifplugin Mail::SpamAssassin::Plugin::Bar
body IN_IFPLUGIN /\\bplugged\\b/
score IN_IFPLUGIN 1
endif
""",
        encoding="utf-8",
    )
    names = {p["id"] for p in import_rules([path]).patterns}
    holds = eval_compare(SA_VERSION, operator, version)
    assert ("IN_VERSION" in names) == holds
    assert ("IN_ELSE" in names) == (not holds)
    assert ("IN_PLUGIN" in names) == (not negate_plugin)
    assert "IN_IFPLUGIN" in names


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(local=st.booleans(), operator=st.sampled_from(["||", "&&"]), negated=st.booleans())
def test_a_network_test_reads_0_in_a_meta(tmp_path: Path, local: bool, operator: str, negated: bool) -> None:
    """A skipped network test (``tflags net``) never runs here, as in SpamAssassin's
    local mode: a meta over it keeps working with the test read as 0, even a meta
    that is not monotone (``!NET``)."""
    net = "!RCVD_IN_SOMEBL" if negated else "RCVD_IN_SOMEBL"
    compiled = rules_from(
        tmp_path,
        f"""
header RCVD_IN_SOMEBL eval:check_rbl('somebl', 'bl.example.')
tflags RCVD_IN_SOMEBL net
score  RCVD_IN_SOMEBL 1
body   __LOCAL /\\blocalword\\b/
meta   COMBINED ({net} {operator} __LOCAL)
score  COMBINED 2
""",
    )
    assert "COMBINED" in {m.id for m in compiled.metas}
    found = hits(compiled, mail(body="a localword here\n" if local else "nothing\n"))
    net_value = negated  # the net test reads 0: negated it reads 1
    expected = (net_value or local) if operator == "||" else (net_value and local)
    assert ("COMBINED" in found) == expected


def test_messageid_and_all_are_pseudo_headers_in_capitals_only(tmp_path: Path) -> None:
    compiled = rules_from(
        tmp_path,
        r"""
header MSGID_CAPS   MESSAGEID =~ /\@spammy\.example>/
score  MSGID_CAPS   1
header MSGID_MIXED  MessageID =~ /\@spammy\.example>/
score  MSGID_MIXED  1
header ALL_XFOO     ALL =~ /^X-Foo: bar$/m
score  ALL_XFOO     1
header TOCC_LOWER   tocc =~ /hello\@example\.com/
score  TOCC_LOWER   1
""",
    )
    raw = mail(message_id="<1@spammy.example>", extra={"X-Foo": "bar"})
    assert hits(compiled, raw) == {"MSGID_CAPS", "ALL_XFOO", "TOCC_LOWER"}
    assert hits(compiled, mail(extra={"X-Foo": "baz"})) == {"TOCC_LOWER"}
    # X-Message-Id is part of MESSAGEID too
    assert "MSGID_CAPS" in hits(compiled, mail(extra={"X-Message-Id": "<2@spammy.example>"}))


# --- the prefilter: same verdict, same rules, with or without it ---------------------------------

WORDS = [
    "free",
    "money",
    "cheap",
    "pills",
    "click",
    "here",
    "viagra",
    "offer",
    "unsubscribe",
    "winner",
    "résumé",
    "CASH",
    "Fr\u0130e",
    "role",
    "hiring",
    "ß",
    "straße",
    "ﬁ",
]
texts = st.lists(st.one_of(st.sampled_from(WORDS), st.text(max_size=8)), max_size=30).map(" ".join)
literal = st.sampled_from(["free", "money", "cheap pills", "click here", "viagra", "winner", "straße", "hiring"])
regex = st.one_of(
    literal.map(lambda w: rf"\b{w}\b"),
    st.tuples(literal, literal).map(lambda t: rf"{t[0]}.{{0,20}}{t[1]}"),
    st.tuples(literal, literal).map(lambda t: rf"(?:{t[0]}|{t[1]})"),
    literal.map(lambda w: rf"^{w}"),
    literal.map(lambda w: rf"{w}[!.]+"),
    st.just(r"\d{3,}"),
    st.just(r"[A-Z]{5,}"),
)
rule = st.fixed_dictionaries(
    {
        "pattern": regex,
        "flags": st.sampled_from(["", "i", "im", "is"]),
        "fields": st.lists(st.sampled_from(["subject", "body", "from"]), min_size=1, max_size=2, unique=True),
        "score": st.sampled_from([0.5, 1.0, 2.5, -1.0]),
        "negate": st.booleans(),
    }
)


def _same(compiled: CompiledPatterns, fields: dict[str, str | None]) -> None:
    with_filter = score_texts(compiled, fields, threshold=3.0)
    without = score_texts(compiled, fields, threshold=3.0, prefilter=False)
    assert with_filter == without


@settings(max_examples=200, deadline=None)
@given(entries=st.lists(rule, min_size=1, max_size=12), subject=texts, body=texts, sender=texts)
def test_the_prefilter_changes_no_verdict_on_generated_rules(
    entries: list[dict[str, Any]], subject: str, body: str, sender: str
) -> None:
    document: list[Any] = [{"id": f"R{i}", **e} for i, e in enumerate(entries)]
    document.append({"id": "M", "meta": "R0 && !R1" if len(entries) > 1 else "R0", "score": 1.5})
    compiled = compile_patterns(document)
    assume(not compiled.errors)
    _same(compiled, {"subject": subject, "body": f"{subject}\n{body}", "from": sender})


@pytest.fixture(scope="module")
def installed() -> tuple[CompiledPatterns, list[str]]:
    paths = default_paths()
    if not paths:
        pytest.skip("SpamAssassin's rules are not installed (Debian: apt-get install spamassassin)")
    compiled = compile_patterns(import_rules(paths).patterns)
    words = sorted({w for p in compiled.patterns for w in (p.literals or ()) if 2 < len(w) < 30})
    return compiled, words


def test_the_installed_rules_use_the_computed_facts(installed: tuple[CompiledPatterns, list[str]]) -> None:
    compiled, words = installed
    fields = compiled.fields
    assert {"derived:all_trusted", "derived:mime_html_only"} <= fields
    assert any(f.startswith("derived:shifted_date(") for f in fields)
    assert any(f.startswith("header:X-Spam-Relays-") for f in fields)
    assert words  # the prefilter has literals to look for


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.data())
def test_the_prefilter_changes_no_verdict_on_the_installed_rules(
    installed: tuple[CompiledPatterns, list[str]], data: st.DataObject
) -> None:
    compiled, words = installed
    pieces = st.lists(st.one_of(st.sampled_from(words), st.sampled_from(WORDS), st.text(max_size=6)), max_size=40)
    # a header value cannot hold a line break (str.splitlines counts \x1c-\x1e, \x85, \u2028 too)
    subject = " ".join(" ".join(data.draw(pieces)).splitlines())[:200]
    body = "\n\n".join(" ".join(data.draw(pieces)) for _ in range(data.draw(st.integers(1, 4))))
    sender = data.draw(st.sampled_from(["Jane <jane@acme.example>", "WINNER <x@freemail.example>", "bob@10.0.0.1"]))
    received = [postfix_hop("a.example", "a.example", data.draw(public_ip), "mx.example", "ABC123")]
    raw = mail(
        received=received,
        sender=sender,
        body=body,
        html_only=data.draw(st.booleans()),
        extra={"Subject-Line": subject} if data.draw(st.booleans()) else None,
    )
    texts_ = MailTexts(parse(raw))
    with_filter = score_texts(compiled, texts_, threshold=5.0)
    without = score_texts(compiled, MailTexts(parse(raw)), threshold=5.0, prefilter=False)
    assert with_filter == without
