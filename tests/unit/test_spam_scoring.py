"""Scored pattern rules: sums, thresholds, sure hits, negation, headers, meta rules,
the required-literal prefilter, and the event a rejection records."""

from __future__ import annotations

import re
from typing import Any

import msgspec
import pcre2
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from events import SpamRejected
from events.base import Envelope
from events.codec import from_entry, to_entry
from mail.parsing import parse
from producers.decide import Inbound, decide
from producers.meta_rules import MetaError, compile_meta
from producers.patterns import DEFAULT_PATTERNS, DEFAULT_THRESHOLD, PatternDocumentError, compile_patterns, score_texts
from producers.prefilter import fold, required_literals
from producers.spam_texts import MailTexts
from tests.conftest import CORPUS, EXAMPLES, make_mail
from tests.unit.test_decide import POLICY, FakeKnowledge, receipt

RULES = [
    {"id": "a", "pattern": "alpha", "fields": ["body"], "score": 2.0},
    {"id": "b", "pattern": "beta", "fields": ["body"], "score": 2.5},
    {"id": "c", "pattern": "gamma", "fields": ["subject"], "score": 1.0},
    {"id": "ham", "pattern": "thanks", "fields": ["body"], "score": -1.5},
]


@given(st.sets(st.sampled_from(["alpha", "beta", "gamma", "thanks"])), st.floats(0.5, 8))
@settings(max_examples=100, deadline=None)
def test_the_total_is_the_sum_of_the_matched_rules_and_rejects_at_the_threshold(words: set[str], threshold: float) -> None:
    compiled = compile_patterns(RULES)
    body = " ".join(sorted(words - {"gamma"}))
    verdict = score_texts(compiled, {"subject": "gamma" if "gamma" in words else "", "body": body}, threshold=threshold)
    expected = {"alpha": 2.0, "beta": 2.5, "gamma": 1.0, "thanks": -1.5}
    assert verdict.total == pytest.approx(sum(expected[w] for w in words))
    assert {h.id for h in verdict.hits} == {r["id"] for r in RULES if r["pattern"] in words}
    assert verdict.spam == (verdict.total >= threshold)
    assert [h.score for h in verdict.hits] == sorted((h.score or 0 for h in verdict.hits), reverse=True)


def test_a_rule_without_score_is_a_sure_hit_whatever_the_others_say() -> None:
    compiled = compile_patterns([*RULES, {"id": "sure", "pattern": "casino", "fields": ["body"]}])
    verdict = score_texts(compiled, {"body": "thanks, casino"}, threshold=100)
    assert verdict.spam and verdict.sure is not None and verdict.sure.id == "sure"


def test_a_list_may_set_its_own_threshold_and_a_bad_one_is_an_error() -> None:
    compiled = compile_patterns({"threshold": 2.0, "patterns": RULES})
    assert score_texts(compiled, {"body": "alpha"}, threshold=5.0).spam
    for bad in ("high", True, float("inf")):
        with pytest.raises(PatternDocumentError, match="threshold"):
            compile_patterns({"threshold": bad, "patterns": RULES})
    assert compile_patterns({"threshold": None, "patterns": RULES}).threshold is None  # the setting applies


@pytest.mark.parametrize("score", ["3", [1], 1e9, -1e9])
def test_a_bad_score_skips_that_rule_only(score: Any) -> None:
    compiled = compile_patterns([{"id": "bad", "pattern": "x", "score": score}, *RULES])
    assert "bad" in dict(compiled.errors) and len(compiled.patterns) == len(RULES)


def test_header_fields_negation_and_if_unset() -> None:
    raw = make_mail(headers={"X-Mailer": "Bulk Blaster 3.1"})
    texts = MailTexts(parse(raw))
    compiled = compile_patterns(
        [
            {"id": "mailer", "pattern": "^Bulk", "fields": ["header:X-Mailer"], "score": 1},
            {"id": "no-agent", "pattern": ".", "fields": ["header:User-Agent"], "negate": True, "score": 1},
            {"id": "no-mailer", "pattern": ".", "fields": ["header:X-Mailer"], "negate": True, "score": 1},
            {"id": "unset", "pattern": "^none$", "fields": ["header:X-Missing"], "if_unset": "none", "score": 1},
            {"id": "from-addr", "pattern": r"@acmerobotics\.com$", "fields": ["header:From:addr"], "score": 1},
            {"id": "all", "pattern": r"^X-Mailer: Bulk", "flags": "m", "fields": ["header:ALL"], "score": 1},
            {"id": "exists", "pattern": "^", "fields": ["header:X-Absent"], "score": 1},
        ]
    )
    hits = {h.id for h in score_texts(compiled, texts, threshold=5).hits}
    assert hits == {"mailer", "no-agent", "unset", "from-addr", "all"}


def test_body_is_the_subject_then_paragraphs_and_rawbody_keeps_html() -> None:
    raw = make_mail(subject="Hello there", body="one\n  two\n\nthree")
    texts = MailTexts(parse(raw))
    assert texts["body"] == "Hello there\none two\nthree"
    html = parse(b"Subject: s\r\nContent-Type: text/html\r\n\r\n<p>Visit <a href='http://x.test/a'>us</a></p>")
    html_texts = MailTexts(html)
    assert "<a href=" in (html_texts["rawbody"] or "")
    assert "http://x.test/a" in (html_texts["uri"] or "").splitlines()


# --- meta rules ---------------------------------------------------------------------

_NAMES = ["A", "B", "C"]
Tree = Any  # a name, ("!", tree) or (op, tree, tree)


def _trees() -> st.SearchStrategy[Tree]:
    return st.recursive(
        st.sampled_from(_NAMES),
        lambda inner: st.one_of(
            st.tuples(st.sampled_from(["&&", "||", "+", ">"]), inner, inner),
            st.tuples(st.just("!"), inner),
        ),
        max_leaves=8,
    )


def _render(tree: Tree) -> str:
    if isinstance(tree, str):
        return tree
    if tree[0] == "!":
        return f"!{_render(tree[1])}"
    return f"({_render(tree[1])} {tree[0]} {_render(tree[2])})"


def _value(tree: Tree, env: dict[str, float]) -> float:
    if isinstance(tree, str):
        return env[tree]
    if tree[0] == "!":
        return 0.0 if _value(tree[1], env) else 1.0
    a, b = _value(tree[1], env), _value(tree[2], env)
    return {"&&": float(bool(a) and bool(b)), "||": float(bool(a) or bool(b)), "+": a + b, ">": float(a > b)}[tree[0]]


@given(_trees(), st.tuples(st.booleans(), st.booleans(), st.booleans()))
@settings(max_examples=200, deadline=None)
def test_meta_expressions_mean_what_perl_means(tree: Tree, values: tuple[bool, bool, bool]) -> None:
    function, names = compile_meta(_render(tree))
    assert set(names) <= set(_NAMES)
    env = dict(zip(_NAMES, (float(v) for v in values), strict=True))
    assert function(env) == _value(tree, env)


def test_meta_rules_score_over_other_rules_and_count_comparisons() -> None:
    compiled = compile_patterns(
        [
            {"id": "__x", "pattern": "x", "fields": ["body"], "score": 0},
            {"id": "__y", "pattern": "y", "fields": ["body"], "score": 0},
            {"id": "two", "meta": "__x + __y > 1", "score": 3},
            {"id": "either", "meta": "(__x || __y) && !two", "score": 1},
            {"id": "deep", "meta": "two && either", "score": 1},
        ]
    )
    assert compiled.errors == []
    both = score_texts(compiled, {"body": "x y"}, threshold=5)
    assert [h.id for h in both.hits] == ["two"] and both.total == 3  # score-0 rules feed metas, never show
    one = score_texts(compiled, {"body": "x"}, threshold=5)
    assert [h.id for h in one.hits] == ["either"]


@pytest.mark.parametrize(
    "expression, problem",
    [
        ("A &&", "ends too early"),
        ("(A", "missing ')'"),
        ("A $ B", "unexpected"),
        ("", "non-empty"),
    ],
)
def test_a_meta_that_does_not_parse_names_the_problem(expression: str, problem: str) -> None:
    with pytest.raises(MetaError, match=re.escape(problem)):
        compile_meta(expression)


def test_metas_over_unknown_rules_or_in_a_cycle_are_reported_and_skipped() -> None:
    compiled = compile_patterns(
        [
            {"id": "a", "pattern": "a", "score": 1},
            {"id": "m1", "meta": "a && nowhere", "score": 1},
            {"id": "c1", "meta": "c2 || a", "score": 1},
            {"id": "c2", "meta": "c1", "score": 1},
        ]
    )
    problems = dict(compiled.errors)
    assert "nowhere" in problems["m1"] and "refers to itself" in problems["c1"]
    assert [m.id for m in compiled.metas] == []


# --- the prefilter never changes a verdict ------------------------------------------

_WORDS = ["viagra", "Casino", "free", "FREE", "offer", "prize", "spins", "bonus", "won", "x"]
_PATTERNS = [
    r"\bviagra\b",
    r"(?:cheap|free) (?:offer|spins)",
    r"casino\s+bonus",
    r"(?i)FREE\s*offer",
    r"pri[zs]e",
    r"(?:won|win)+\s+\w+",
    r"[Cc]asino|jackpot",
    r"(?<name>free)\s(?:spins)?",
    r"bonus(?=\s)",
    r"x{2,}",
    r"(?:a|b)c\d+",
    r"(?!casino)\w+ bonus",
    r"\x{17f}pins",
]


@given(
    st.sampled_from(_PATTERNS),
    st.sampled_from(["", "i"]),
    st.lists(st.sampled_from([*_WORDS, " ", "\u017f", "\u212a", "é"]), max_size=12),
)
@settings(max_examples=200, deadline=None)
def test_a_regex_matches_only_texts_holding_one_of_its_required_literals(pattern: str, flags: str, parts: list[str]) -> None:
    text = " ".join(parts)
    literals = required_literals(pattern, flags)
    regex = pcre2.compile(pattern, pcre2.IGNORECASE if flags else 0)
    if regex.search(text) is not None and literals is not None:
        assert any(literal in fold(text) for literal in literals), (pattern, literals, text)


def test_required_literals_are_found_for_keyword_rules() -> None:
    assert required_literals(r"\b(?:viagra|cialis)\b", "i") == {"viagra", "cialis"}
    assert required_literals(r"[Vv]iagra", "") == {"viagra"}
    assert required_literals(r"a.b", "") is None  # nothing of 3 characters is required
    assert required_literals(r"[[:alpha:]]casino", "") is None  # POSIX classes: no prefilter


# --- the decision and its event ------------------------------------------------------


def test_a_rejected_mail_records_total_threshold_and_every_matched_rule() -> None:
    compiled = compile_patterns(
        [{"id": f"r{n}", "pattern": "spammy", "fields": ["body"], "score": 0.1, "describe": f"rule {n}"} for n in range(80)]
    )
    policy = msgspec.structs.replace(POLICY, spam_threshold=5.0)
    decision = decide(
        Inbound(parse(make_mail(body="very spammy")), receipt(), "b", "inbox/ses-1"),
        policy=policy,
        patterns=compiled,
        knowledge=FakeKnowledge(),
    )
    event = decision.events[0][1]
    assert isinstance(event, SpamRejected) and event.stage == "patterns"
    assert event.score == pytest.approx(8.0) and event.threshold == 5.0 and event.rules_total == 80
    assert len(event.rules) == SpamRejected.MAX_RULES and event.rules[0].describe.startswith("rule")
    assert "score 8 ≥ threshold 5" in event.reason
    envelope = Envelope.new(event, stream_id="quarantine#ses-1", version=1, seed="ses-1", correlation_id="ses-1")
    assert to_entry(envelope, "crm")  # fits EventBridge whatever the rule count
    assert from_entry(to_entry(envelope, "crm")).event == event


def test_below_the_threshold_the_mail_is_accepted() -> None:
    compiled = compile_patterns([{"id": "r", "pattern": "spammy", "fields": ["body"], "score": 4.9}])
    decision = decide(
        Inbound(parse(make_mail(body="spammy")), receipt(), "b", "inbox/ses-1"),
        policy=POLICY,
        patterns=compiled,
        knowledge=FakeKnowledge(),
    )
    assert decision.outcome == "accepted"


def test_a_schema_1_rejection_still_loads_with_its_pattern_as_a_sure_hit() -> None:
    event = SpamRejected(
        ses_message_id="s",
        stage="patterns",
        reason="old",
        pattern_id="prize",
        bucket="b",
        raw_key="inbox/s",
        quarantine_key="quarantine/s",
        received_at="2026-01-01T00:00:00Z",
    )
    entry = to_entry(Envelope.new(event, stream_id="quarantine#s", version=1, seed="s", correlation_id="s"), "crm")
    import json

    detail = json.loads(entry["Detail"])
    detail["meta"]["schema_version"] = 1
    for field in ("score", "threshold", "rules", "rules_total"):
        detail["data"].pop(field)
    loaded = from_entry({**entry, "Detail": json.dumps(detail)}).event
    assert isinstance(loaded, SpamRejected)
    assert [(r.id, r.score) for r in loaded.rules] == [("prize", None)] and loaded.rules_total == 1


def test_shipped_defaults_reject_the_sample_spam_and_accept_the_sample_ham() -> None:
    compiled = compile_patterns(DEFAULT_PATTERNS)
    assert compiled.errors == []
    for path in [*sorted(CORPUS.joinpath("ham-spam").glob("*.eml")), *sorted(EXAMPLES.glob("*.eml"))]:
        verdict = score_texts(compiled, MailTexts(parse(path.read_bytes())), threshold=DEFAULT_THRESHOLD)
        assert verdict.spam == ("spam" in path.name), (path.name, verdict.total, [h.id for h in verdict.hits])
    # a single word never rejects: the "prize" keyword alone rejected 26 hams of the corpus before scores
    for ham in (
        "You won the award, congratulations!",
        "Claim your prize at the front desk",
        "Free lunch at the office",
        "Senior role, salary $180,000 - $210,000",
        "Click here to apply",
    ):
        assert not score_texts(compiled, {"subject": ham, "body": ham}, threshold=DEFAULT_THRESHOLD).spam, ham
