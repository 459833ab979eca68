"""Is a mail's ``From`` authenticated? DMARC's answer, from what SES tells us.

SES gives verdicts (SPF, DKIM, DMARC) but not which domains they were for, so
alignment with the ``From`` domain (RFC 7489 §3.1, relaxed) is established from
what the mail itself shows:

- DMARC ``PASS`` is authentication: it already means an aligned SPF or DKIM pass.
- DMARC ``FAIL`` is not, whatever SPF and DKIM say: they passed for another domain.
- Otherwise (the domain publishes no DMARC record: ``GRAY``, or the check failed):
  - SPF ``PASS`` counts when the envelope sender (``MAIL FROM``, which SPF checked)
    aligns with the ``From`` domain;
  - DKIM ``PASS`` counts when the mail carries DKIM signatures and *every* ``d=``
    aligns with the ``From`` domain, so whichever signature passed is an aligned
    one (a passing signature of the attacker's own domain next to a forged one of
    the victim's does not count).

>>> from events.catalogue import Verdicts
>>> unauthenticated(Verdicts(dmarc="PASS"), from_address="a@acme.org", envelope_sender=None, dkim_domains=[])
>>> unauthenticated(Verdicts(spf="PASS", dkim="PASS", dmarc="FAIL"), from_address="a@acme.org",
...                 envelope_sender="a@acme.org", dkim_domains=["acme.org"])
'DMARC FAIL for acme.org (SPF PASS, DKIM PASS)'
>>> unauthenticated(Verdicts(spf="PASS"), from_address="a@acme.org", envelope_sender="b@mail.acme.org",
...                 dkim_domains=[])
"""

from __future__ import annotations

import re

from events.catalogue import Verdicts
from mail.addresses import domain_of, normalise
from mail.domains import aligned, organizational_domain
from mail.parsing import ParsedMail

_DKIM_DOMAIN = re.compile(r"(?:^|;)\s*d\s*=\s*([^\s;]+)", re.IGNORECASE)


def dkim_domains(mail: ParsedMail) -> list[str]:
    """The ``d=`` of every DKIM-Signature header (an unreadable one as the empty string)."""
    found = []
    for value in mail.headers.get("dkim-signature", []):
        match = _DKIM_DOMAIN.search(" ".join(value.split()))
        found.append(match.group(1).strip().lower() if match else "")
    return found


def unauthenticated(
    verdicts: Verdicts, *, from_address: str | None, envelope_sender: str | None, dkim_domains: list[str]
) -> str | None:
    """None when ``from_address`` is authenticated, else why not."""
    domain = domain_of(from_address)
    if not from_address or organizational_domain(domain) is None:
        return f"From {from_address or '(none)'} has no domain to authenticate"
    if verdicts.dmarc == "PASS":
        return None
    summary = f"SPF {verdicts.spf}, DKIM {verdicts.dkim}"
    if verdicts.dmarc == "FAIL":
        return f"DMARC FAIL for {domain} ({summary})"
    envelope_domain = domain_of(normalise(envelope_sender)) if envelope_sender and "@" in envelope_sender else ""
    if verdicts.spf == "PASS" and aligned(envelope_domain, domain):
        return None
    if verdicts.dkim == "PASS" and dkim_domains and all(aligned(d, domain) for d in dkim_domains):
        return None
    return (
        f"no DMARC PASS and no SPF/DKIM PASS aligned with {domain} (DMARC {verdicts.dmarc}, {summary}; "
        f"envelope sender domain {envelope_domain or '(none)'}, DKIM d= {', '.join(dkim_domains) or '(none)'})"
    )
