"""Who earns an acknowledgement: only an authenticated sender, answered at an
address of their own domain, never one of ours. Pure.

An acknowledgement is mail we send to an address the inbound mail names. Sent to
any address, it turns the public address into a backscatter cannon: forge
``From: victim`` (or ``Reply-To: victim``) and we mail the victim, DKIM-signed by
our domain. So the acknowledgement goes out only when

1. the mail has exactly one ``From`` address, and it is not one of ours (mail
   "from" our public address is either a forgery or our own mail come back);
2. that ``From`` is authenticated (:mod:`producers.authentication`: DMARC PASS, or
   an SPF/DKIM PASS aligned with its domain);
3. the address answered (``Reply-To`` if any, else ``From``) is that ``From``, or in
   the same organizational domain, and is not one of ours.

Anything else: the mail is accepted and forwarded as usual; the decision records
why no acknowledgement went out.
"""

from __future__ import annotations

import re

from events.catalogue import Verdicts
from mail.addresses import OwnAddresses, all_addresses, domain_of, normalise
from mail.domains import aligned
from mail.parsing import ParsedMail
from producers.authentication import dkim_domains, unauthenticated

_ENCODED_WORD = re.compile(r"=\?[^?\s]+\?[bBqQ]\?[^?\s]*\?=")
_QUOTED = re.compile(r'"(?:[^"\\]|\\.)*"')
_COMMENT = re.compile(r"\((?:[^()\\]|\\.)*\)")


def from_addresses(values: list[str]) -> list[str]:
    """The addresses of ``From`` header values. Display names (encoded words, quoted
    strings, comments) are dropped first: what a name says is never an address.

    >>> from_addresses(['=?utf-8?q?Eve=0D=0ABcc:_v@evil.test?= <eve@attacker.test>'])
    ['eve@attacker.test']
    >>> from_addresses(['"Doe, Jane (x@y.org)" <jane@acme.com>']), from_addresses(['g: a@x.org, b@y.org;'])
    (['jane@acme.com'], ['a@x.org', 'b@y.org'])
    """
    cleaned = []
    for value in values:
        text = _ENCODED_WORD.sub(" ", value)
        text = _QUOTED.sub(" ", text)
        previous = None
        while previous != text:
            previous, text = text, _COMMENT.sub(" ", text)
        cleaned.append(text)
    return all_addresses(cleaned)


def ack_refusal(
    mail: ParsedMail, *, verdicts: Verdicts, envelope_sender: str | None, ack_to: str | None, own: OwnAddresses
) -> str | None:
    """None when ``ack_to`` may be acknowledged, else why not (recorded on the decision)."""
    senders = from_addresses(mail.headers.get("from", []))
    if len(mail.headers.get("from", [])) != 1 or len(senders) != 1 or senders[0] != mail.from_address:
        return f"not exactly one From address ({', '.join(senders) or 'none'})"
    sender = senders[0]
    if sender in own:
        return f"From is our own address {sender} (forged, or our own mail come back)"
    if not ack_to:
        return "no address to answer"
    if ack_to in own:
        return f"acknowledgement would go to our own address {ack_to}"
    why = unauthenticated(verdicts, from_address=sender, envelope_sender=envelope_sender, dkim_domains=dkim_domains(mail))
    if why:
        return f"sender not authenticated: {why}"
    if normalise(ack_to) != sender and not aligned(domain_of(ack_to), domain_of(sender)):
        return f"Reply-To {ack_to} is outside the authenticated From domain {domain_of(sender)}"
    return None
