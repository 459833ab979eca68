"""Who may reply through a thread address: the owner, provably, and nobody else.

A thread address turns the public domain into a sender for the owner's contacts, so
the mail must be the owner's beyond doubt:

- exactly one ``From`` header naming exactly one mailbox (no ``From: owner,
  attacker``, no group ``g: owner;``, no second ``From`` a client would hide), and it
  is the private mailbox;
- the envelope sender is the private mailbox too;
- SES authenticated it for the owner's domain: DMARC PASS, or (no DMARC verdict)
  SPF PASS — the envelope sender *is* the owner's address, so SPF is aligned — or
  DKIM PASS where every ``DKIM-Signature`` is aligned with the owner's domain (SES's
  verdict does not say which signature passed, so none may be a stranger's).
  DMARC FAIL rejects whatever SPF and DKIM say.

>>> from mail.parsing import parse
>>> from events.catalogue import Verdicts
>>> from producers.receipt import Receipt
>>> mail = parse(b"From: Owner <owner@private.net>, eve@evil.test\\n\\nhi")
>>> receipt = Receipt("s1", "t", "owner@private.net", [], Verdicts(dmarc="PASS"))
>>> authenticate(mail, receipt, "owner@private.net")
'From names 2 addresses (owner@private.net, eve@evil.test): a reply has exactly one author'
"""

from __future__ import annotations

import re

from mail.addresses import domain_of, normalise
from mail.domains import aligned
from mail.parsing import ParsedMail
from producers.receipt import Receipt

_DKIM_DOMAIN = re.compile(r"(?:^|;)\s*d\s*=\s*([^;\s]+)", re.IGNORECASE)


def _shown(values: tuple[str, ...] | list[str], limit: int = 3) -> str:
    return ", ".join(values[:limit]) + (f" and {len(values) - limit} more" if len(values) > limit else "")


def author_problem(mail: ParsedMail, private_mailbox: str) -> str | None:
    """Why the mail's author is not exactly the private mailbox, or None."""
    field = mail.from_field
    if field.headers != 1:
        return f"the mail has {field.headers} From headers: a reply has exactly one"
    if field.groups:
        return f"From uses group syntax ({_shown(field.groups)}): a reply names its author, not a group"
    if len(field.mailboxes) != 1:
        return f"From names {len(field.mailboxes)} addresses ({_shown(field.mailboxes)}): a reply has exactly one author"
    (author,) = field.mailboxes
    # Every reading must name the owner: the header registry's, and the raw value's as a
    # client shows it (a trailing <addr-spec> wins), so ``owner@x <eve@y>`` is not the owner.
    shown = [a for a in field.shown if a != private_mailbox]
    if author != private_mailbox or mail.from_address != private_mailbox or shown:
        return f"From {shown[0] if shown else mail.from_address or author} is not the owner's mailbox"
    # cosmetic defects (an unquoted ``J. Owner``) are real clients' habits; address ones are not
    broken = [d for d in field.defects if any(w in d.lower() for w in ("address", "addr-spec", "local part", "domain"))]
    if broken:
        return f"From does not parse cleanly ({broken[0]})"
    return None


def dkim_domains(mail: ParsedMail) -> list[str]:
    found = []
    for value in mail.headers.get("dkim-signature", []):
        match = _DKIM_DOMAIN.search(value.replace("\n", " "))
        found.append(match.group(1).strip().lower() if match else "")
    return found


def authentication_problem(mail: ParsedMail, receipt: Receipt, private_mailbox: str) -> str | None:
    """Why SES's verdicts do not prove the owner's domain sent this mail, or None."""
    v = receipt.verdicts
    owner_domain = domain_of(private_mailbox)
    if v.dmarc == "PASS":
        return None
    if v.dmarc == "FAIL":
        return f"DMARC FAIL for the owner's domain {owner_domain} (SPF {v.spf}, DKIM {v.dkim})"
    if v.spf == "PASS" and domain_of(normalise(receipt.envelope_sender)) == owner_domain:
        return None
    signers = dkim_domains(mail)
    if v.dkim == "PASS" and signers and all(aligned(d, owner_domain) for d in signers):
        return None
    if v.dkim == "PASS":
        strangers = [d or "(no d=)" for d in signers if not aligned(d, owner_domain)]
        return (
            f"not authenticated for {owner_domain}: DMARC {v.dmarc}, SPF {v.spf}, DKIM PASS but signed by "
            f"{_shown(strangers) or 'nobody'}, not aligned with {owner_domain}"
        )
    return f"not authenticated for {owner_domain}: DMARC {v.dmarc}, SPF {v.spf}, DKIM {v.dkim}"


def authenticate(mail: ParsedMail, receipt: Receipt, private_mailbox: str) -> str | None:
    """None when the mail is provably the owner's; else the reason it is not."""
    problem = author_problem(mail, private_mailbox)
    if problem:
        return problem
    if normalise(receipt.envelope_sender) != private_mailbox:
        return f"envelope sender {receipt.envelope_sender or '<>'} is not the owner's mailbox"
    return authentication_problem(mail, receipt, private_mailbox)
