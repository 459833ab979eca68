"""Importing SpamAssassin rule files: small .cf snippets written here (nothing of
SpamAssassin's is in this project); one test reads the installed rules when present."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm.sa_files import default_paths, split_regex
from crm.sa_import import import_rules
from mail.parsing import parse
from producers.patterns import compile_patterns, score_texts
from producers.spam_texts import MailTexts
from tests.conftest import make_mail

SNIPPET = r"""
# a comment
body     CHEAP_PILLS   /\bcheap\s+pills\b/i
describe CHEAP_PILLS   Offers cheap pills
score    CHEAP_PILLS   2.5

rawbody  HTML_RED      m{<font color="?red}i
score    HTML_RED      0.8 0.7 0.6 0.5   # four score sets: the first applies (no net, no Bayes)

header   SUBJ_FREE     Subject =~ /^free\b/i
header   __NO_AGENT    User-Agent !~ /./
header   __HAS_MAILER  exists:X-Mailer
header   FROM_BIZ      From:addr =~ /\.biz$/
header   DATE_UNSET    Date =~ /^never$/ [if-unset: never]
uri      IP_LINK       /^https?:\/\/\d+\.\d+\.\d+\.\d+/
score    IP_LINK       1.5

meta     PILLS_AND_IP  CHEAP_PILLS && IP_LINK
score    PILLS_AND_IP  3
meta     MAILER_NO_UA  __HAS_MAILER && __NO_AGENT
score    MAILER_NO_UA  0.5
tflags   LIST_MAIL     nice
header   LIST_MAIL     exists:List-Id

body     T_TESTING     /testing rule/
body     ZERO_RULE     /never scored/
score    ZERO_RULE     0

body     EVAL_RULE     eval:check_for_something()
header   SUBJ_CAPS     eval:subject_is_all_caps()
score    SUBJ_CAPS     0.5
full     FULL_RULE     /whole message/
mimeheader MIME_RULE   Content-Type =~ /x/
header   RELAY_RULE    ALL-EXTERNAL =~ /x/
body     BAD_REGEX     /(unclosed/
body     CAPTURE_RULE  /%{CAPTURED}/
meta     META_ON_EVAL  EVAL_RULE && CHEAP_PILLS
meta     META_POSITIVE EVAL_RULE || CHEAP_PILLS
score    META_POSITIVE 1

ifplugin Mail::SpamAssassin::Plugin::Whatever
body     IN_PLUGIN     /plugin rule/
endif
if !plugin(Mail::SpamAssassin::Plugin::Whatever)
body     FALLBACK      /fallback rule/
else
body     NOT_FALLBACK  /not the fallback/
endif

replace_tag   V   (?:v|\\/)
replace_inter SP  [\s.]?
body     OBFU_VIAGRA   /<inter SP><V><I><A>gra/i
replace_tag   I   [i1l]
replace_tag   A   [a4@]
replace_rules OBFU_VIAGRA
lang fr describe CHEAP_PILLS  Pilules
"""


@pytest.fixture
def imported(tmp_path: Path) -> dict[str, dict[str, object]]:
    (tmp_path / "10_rules.cf").write_text(SNIPPET, encoding="utf-8")
    result = import_rules([tmp_path])
    return {str(p["id"]): p for p in result.patterns} | {"__skipped__": dict(result.skipped)}


def test_rules_convert_with_their_scores_descriptions_and_fields(imported: dict[str, dict[str, object]]) -> None:
    assert imported["CHEAP_PILLS"]["score"] == 2.5 and imported["CHEAP_PILLS"]["describe"] == "Offers cheap pills"
    assert imported["CHEAP_PILLS"]["fields"] == ["body"] and "i" in str(imported["CHEAP_PILLS"]["flags"])
    assert imported["HTML_RED"]["score"] == 0.8 and imported["HTML_RED"]["fields"] == ["rawbody"]
    assert imported["SUBJ_FREE"]["fields"] == ["header:Subject"] and imported["SUBJ_FREE"]["score"] == 1.0
    assert imported["__NO_AGENT"]["negate"] is True and imported["__NO_AGENT"]["score"] == 0.0
    assert imported["FROM_BIZ"]["fields"] == ["header:From:addr"]
    assert imported["DATE_UNSET"]["if_unset"] == "never"
    assert imported["LIST_MAIL"]["score"] == -1.0  # a nice rule without a score line
    assert imported["T_TESTING"]["score"] == 0.01
    assert imported["PILLS_AND_IP"]["meta"] == "CHEAP_PILLS && IP_LINK"
    assert imported["IN_PLUGIN"] and imported["NOT_FALLBACK"] and "FALLBACK" not in imported
    assert "gra" in str(imported["OBFU_VIAGRA"]["pattern"]) and "<V>" not in str(imported["OBFU_VIAGRA"]["pattern"])
    assert imported["META_POSITIVE"]["meta"] == "0 || CHEAP_PILLS"  # a skipped rule read as never matching


def test_what_cannot_convert_is_skipped_with_a_reason(imported: dict[str, dict[str, object]]) -> None:
    skipped = imported["__skipped__"]
    assert str(skipped["EVAL_RULE"]).startswith("eval")
    assert str(skipped["FULL_RULE"]).startswith("full") and str(skipped["MIME_RULE"]).startswith("mimeheader")
    assert "pseudo-header" in str(skipped["RELAY_RULE"]) and "capture" in str(skipped["CAPTURE_RULE"])
    assert str(skipped["BAD_REGEX"]).startswith("pcre2")
    assert "meta over skipped rules: EVAL_RULE" in str(skipped["META_ON_EVAL"])  # its ! or && could not hold
    assert str(skipped["ZERO_RULE"]).startswith("score 0")


def test_imported_rules_score_a_mail_as_spamassassin_would(imported: dict[str, dict[str, object]]) -> None:
    patterns = [v for k, v in imported.items() if k != "__skipped__"]
    compiled = compile_patterns(patterns)
    assert compiled.errors == []
    caps = score_texts(compiled, MailTexts(parse(make_mail(subject="BEST PRICES TODAY"))), threshold=5.0)
    assert "SUBJ_CAPS" in {h.id for h in caps.hits}  # an eval test computed here
    raw = make_mail(
        sender="Shop <deals@pills.biz>",
        subject="FREE offer",
        body="Cheap   pills at http://10.1.2.3/buy\n\nV.I.A.gra and v1agra",
        headers={"X-Mailer": "M"},
    )
    verdict = score_texts(compiled, MailTexts(parse(raw)), threshold=5.0)
    hits = {h.id: h.score for h in verdict.hits}
    assert {
        "CHEAP_PILLS",
        "IP_LINK",
        "PILLS_AND_IP",
        "SUBJ_FREE",
        "FROM_BIZ",
        "MAILER_NO_UA",
        "OBFU_VIAGRA",
        "META_POSITIVE",
    } <= set(hits)
    assert "SUBJ_CAPS" not in hits and "LIST_MAIL" not in hits and "DATE_UNSET" not in hits and verdict.spam


@given(
    st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\n"), max_size=30),
    st.sampled_from(["/", "m{", "m!", "m|", "m#"]),
    st.sampled_from(["", "i", "is", "imx"]),
)
@settings(max_examples=150, deadline=None)
def test_perl_regex_delimiters_split_back_into_pattern_and_flags(body: str, opening: str, flags: str) -> None:
    closing = {"m{": "}", "m!": "!", "m|": "|", "m#": "#", "/": "/"}[opening]
    # escape what would end the regex early, as a rule author must
    escaped = "".join(f"\\{c}" if c in {closing, opening[-1], "\\"} else c for c in body)
    pattern, got_flags, rest = split_regex(f"{opening}{escaped}{closing}{flags} [if-unset: x]")
    assert got_flags == flags and rest == "[if-unset: x]"
    expected = escaped.replace("\\/", "/") if opening == "/" else escaped
    assert pattern == expected


def test_a_missing_path_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="no SpamAssassin rule file"):
        import_rules([tmp_path / "nowhere"])


def test_the_installed_spamassassin_rules_import() -> None:
    paths = default_paths()
    if not paths:
        pytest.skip(
            "SpamAssassin is not installed (Debian: apt-get install spamassassin puts its rules in /usr/share/spamassassin)"
        )
    result = import_rules(paths)
    assert len(result.patterns) > 500, result.reasons()
    compiled = compile_patterns(result.patterns)
    assert compiled.errors == []  # every stored rule compiles and every meta finds its rules
    reasons = result.reasons()
    assert reasons["eval"] > 0 and sum(reasons.values()) == len(result.skipped)
