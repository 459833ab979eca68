"""SES verdicts for mail the local stack delivers (``crm ingest``, ``crm serve``).

SES judges every mail it receives; the local stack has no SES, so the verdicts
come, in this order, from

1. the flags: ``--verdict NAME=STATUS`` (repeatable) and ``--dmarc-policy``;
2. the mail itself, as SES stored it: the topmost ``Authentication-Results`` header
   whose authserv-id is ``amazonses.com`` (SPF, DKIM, DMARC and the DMARC policy)
   and ``X-SES-Spam-Verdict`` / ``X-SES-Virus-Verdict``;
3. ``PASS``.

>>> flags = parse_flags(["spf=fail", "DMARC=FAIL"], "none")
>>> verdicts_of(b"Subject: hi\\r\\n\\r\\nbody", flags)
Verdicts(spam='PASS', virus='PASS', spf='FAIL', dkim='PASS', dmarc='FAIL', dmarc_policy='none')
>>> parse_flags(["spf=maybe"], None)
Traceback (most recent call last):
crm.errors.UsageError: --verdict spf=maybe: STATUS must be one of PASS, FAIL, GRAY, PROCESSING_FAILED
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email import message_from_bytes, policy

from crm.errors import UsageError
from events.catalogue import Verdicts
from mail.authresults import trusted_results

NAMES = ("spam", "virus", "spf", "dkim", "dmarc")
STATUSES = ("PASS", "FAIL", "GRAY", "PROCESSING_FAILED")
POLICIES = ("none", "quarantine", "reject")
SES_AUTHSERV_ID = "amazonses.com"
# RFC 8601 results → SES's statuses
_RESULTS = {
    "pass": "PASS",
    "fail": "FAIL",
    "softfail": "FAIL",
    "hardfail": "FAIL",
    "policy": "FAIL",
    "none": "GRAY",
    "neutral": "GRAY",
    "permerror": "GRAY",
    "temperror": "PROCESSING_FAILED",
}
_POLICY = re.compile(r"\bp\s*=\s*(none|quarantine|reject)\b", re.IGNORECASE)
_HEAD_LIMIT = 256 * 1024


@dataclass(frozen=True)
class VerdictFlags:
    """What the command line said; unset names come from the mail, then PASS."""

    statuses: dict[str, str] = field(default_factory=dict)
    dmarc_policy: str | None = None


def parse_flags(values: list[str], dmarc_policy: str | None) -> VerdictFlags:
    """The ``--verdict`` and ``--dmarc-policy`` values, or a UsageError naming the bad one."""
    statuses: dict[str, str] = {}
    for value in values:
        name, sep, status = value.partition("=")
        name, status = name.strip().lower(), status.strip().upper()
        if not sep or not name:
            raise UsageError(f"--verdict {value}: expected NAME=STATUS, e.g. --verdict dmarc=FAIL")
        if name not in NAMES:
            raise UsageError(f"--verdict {value}: NAME must be one of {', '.join(NAMES)}")
        if status not in STATUSES:
            raise UsageError(f"--verdict {value}: STATUS must be one of {', '.join(STATUSES)}")
        if name in statuses and statuses[name] != status:
            raise UsageError(f"--verdict {name} given twice ({statuses[name]} and {status})")
        statuses[name] = status
    chosen = dmarc_policy.strip().lower() if dmarc_policy is not None else None
    if chosen is not None and chosen not in POLICIES:
        raise UsageError(f"--dmarc-policy {dmarc_policy}: must be one of {', '.join(POLICIES)}")
    return VerdictFlags(statuses, chosen)


def from_mail(raw: bytes) -> tuple[dict[str, str], str | None]:
    """(statuses, DMARC policy) that SES wrote into the stored mail, as far as it did."""
    head = raw[:_HEAD_LIMIT].split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0]
    message = message_from_bytes(head + b"\r\n\r\n", policy=policy.compat32)
    found: dict[str, str] = {}
    for name in ("spam", "virus"):
        value = str(message.get(f"X-SES-{name.capitalize()}-Verdict") or "").strip().upper()
        if value in STATUSES:
            found[name] = value
    values = [str(v) for v in message.get_all("Authentication-Results") or []]
    results = trusted_results(values, SES_AUTHSERV_ID)
    dmarc_policy = None
    if results is not None:
        for method in ("spf", "dkim", "dmarc"):
            result = results.result(method)
            if result is not None:
                found[method] = _RESULTS.get(result, "GRAY")
        dmarc_item = next((i for i in results.raw.split(";") if i.strip().lower().startswith("dmarc")), "")
        match = _POLICY.search(dmarc_item)
        dmarc_policy = match.group(1).lower() if match else None
    return found, dmarc_policy


def verdicts_of(raw: bytes, flags: VerdictFlags | None = None) -> Verdicts:
    flags = flags or VerdictFlags()
    found, found_policy = from_mail(raw)
    statuses = {name: flags.statuses.get(name) or found.get(name) or "PASS" for name in NAMES}
    return Verdicts(**statuses, dmarc_policy=flags.dmarc_policy or found_policy)
