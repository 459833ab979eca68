"""SES verdicts on the local stack: flags, then the mail's amazonses.com Authentication-Results, then PASS."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from crm.cli import main
from crm.errors import UsageError
from crm.verdicts import NAMES, POLICIES, STATUSES, VerdictFlags, parse_flags, verdicts_of

PLAIN = b"From: jane@acme.com\r\nSubject: hi\r\n\r\nbody\r\n"


@settings(max_examples=100, deadline=None)
@given(
    chosen=st.dictionaries(st.sampled_from(NAMES), st.sampled_from(STATUSES)),
    policy=st.none() | st.sampled_from(POLICIES),
    upper=st.booleans(),
)
def test_flags_set_exactly_the_verdicts_they_name(chosen: dict[str, str], policy: str | None, upper: bool) -> None:
    values = [f"{n.upper() if upper else n}={s if upper else s.lower()}" for n, s in chosen.items()]
    verdicts = verdicts_of(PLAIN, parse_flags(values, policy.upper() if policy and upper else policy))
    for name in NAMES:
        assert getattr(verdicts, name) == chosen.get(name, "PASS")
    assert verdicts.dmarc_policy == policy


@pytest.mark.parametrize(
    ("value", "names"),
    [
        ("dmarc", "NAME=STATUS"),
        ("=PASS", "NAME=STATUS"),
        ("arc=PASS", "NAME must be one of"),
        ("spf=OK", "STATUS must be one of"),
        ("spf=", "STATUS must be one of"),
    ],
)
def test_a_bad_verdict_flag_is_named(value: str, names: str) -> None:
    with pytest.raises(UsageError, match=names) as caught:
        parse_flags([value], None)
    assert value in str(caught.value)


def test_conflicting_flags_and_bad_policy_are_errors() -> None:
    with pytest.raises(UsageError, match="given twice"):
        parse_flags(["spf=PASS", "spf=FAIL"], None)
    with pytest.raises(UsageError, match="--dmarc-policy"):
        parse_flags([], "strict")


def test_the_command_line_refuses_a_bad_verdict_before_touching_any_mail(
    capsys: pytest.CaptureFixture[str], tmp_path: object
) -> None:
    assert main(["ingest", "--verdict", "spf=MAYBE", "/nonexistent.eml"]) == 2
    assert "STATUS must be one of" in capsys.readouterr().err


AR = (
    "Authentication-Results: amazonses.com;\r\n spf=fail (spfCheck: domain of acme.com does not designate 192.0.2.9"
    " as permitted sender) client-ip=192.0.2.9; envelope-from=jane@acme.com;\r\n dkim=temperror header.i=@acme.com;"
    "\r\n dmarc=fail (p=reject sp=reject pct=100) header.from=acme.com;\r\n"
)


def test_the_amazonses_authentication_results_give_the_verdicts() -> None:
    raw = (AR + "X-SES-Spam-Verdict: FAIL\r\nX-SES-Virus-Verdict: GRAY\r\n").encode() + PLAIN
    verdicts = verdicts_of(raw)
    assert (verdicts.spam, verdicts.virus, verdicts.spf, verdicts.dkim, verdicts.dmarc) == (
        "FAIL",
        "GRAY",
        "FAIL",
        "PROCESSING_FAILED",
        "FAIL",
    )
    assert verdicts.dmarc_policy == "reject"
    flagged = verdicts_of(raw, parse_flags(["dmarc=PASS"], "none"))  # flags win
    assert flagged.dmarc == "PASS" and flagged.dmarc_policy == "none" and flagged.spf == "FAIL"


def test_only_the_topmost_amazonses_header_counts() -> None:
    forged_below = b"Authentication-Results: amazonses.com; spf=pass; dkim=pass; dmarc=pass\r\n"
    other_server = b"Authentication-Results: mx.evil.org; spf=pass; dkim=pass; dmarc=pass\r\n"
    verdicts = verdicts_of(other_server + AR.encode() + forged_below + PLAIN)
    assert (verdicts.spf, verdicts.dmarc) == ("FAIL", "FAIL")
    assert verdicts_of(other_server + PLAIN, VerdictFlags()).dmarc == "PASS"  # no amazonses.com header: PASS
