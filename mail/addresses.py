"""Address handling.

>>> normalise(" Jane.Doe@Example.COM ")
'jane.doe@example.com'
>>> split_address('"Doe, Jane" <jane@x.org>')
('Doe, Jane', 'jane@x.org')
>>> is_noreply("no-reply@shop.example"), is_noreply("jane@x.org")
(True, False)
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from email.utils import getaddresses, parseaddr

import msgspec

from mail.noreply import noreply_marker

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\u0085]")


def printable(value: object) -> str:
    """Text with 8-bit bytes that were smuggled in as surrogates made visible, and no
    control characters: safe to hash, encode, store and show."""
    text = str(value).encode("utf-8", "surrogateescape").decode("utf-8", "replace")
    return _CONTROL.sub(" ", text)


def normalise(address: str | None) -> str:
    return (address or "").strip().strip("<>").strip().lower()


MAX_ADDRESS = 254  # RFC 5321's path limit: anything longer is not a deliverable address
_ANGLE_ADDRESS = re.compile(r"<\s*([^<>\s@]+@[^<>\s@]+)\s*>\s*$")


def split_address(value: str | None) -> tuple[str | None, str | None]:
    """(display name, address) of one header value; (None, None) when there is none.

    A trailing ``<addr-spec>`` wins over whatever the display name holds, so text an
    attacker puts in the name (even an encoded line break and another address) never
    decides who the mail is from.

    >>> split_address('=?utf-8?q?Eve=0D=0ABcc:_victim@evil.test?= <eve@attacker.test>')[1]
    'eve@attacker.test'
    """
    if not value:
        return None, None
    text = printable(value)
    angle = _ANGLE_ADDRESS.search(text)
    if angle:
        name, address = text[: angle.start()].strip().strip('"').strip(), normalise(angle.group(1))
    else:
        name, address = parseaddr(text)
        address = normalise(address)
    name = name.strip()[:200]
    if "@" not in address or len(address) > MAX_ADDRESS:
        return (name or None), None
    return (name or None), address


def all_addresses(values: list[str]) -> list[str]:
    found: dict[str, None] = {}  # ordered and linear: a list's ``in`` made 100,000 addresses quadratic
    for _name, address in getaddresses([printable(v) for v in values]):
        address = normalise(address)
        if "@" in address and len(address) <= MAX_ADDRESS:
            found.setdefault(address)
    return list(found)


def local_part(address: str) -> str:
    return address.rpartition("@")[0]


def domain_of(address: str | None) -> str:
    return (address or "").rpartition("@")[2].lower()


def is_noreply(address: str | None) -> bool:
    """RFC 3834 §2-style: addresses that exist to send, not to be answered (``noreply.txt``)."""
    if not address or "@" not in address:
        return True
    return noreply_marker(address) is not None


_DAEMON_LOCAL_PARTS = frozenset({"mailer-daemon", "postmaster"})


class OwnAddresses(msgspec.Struct, frozen=True):
    """The addresses that are this system's own: a reply sent to one of them is lost
    (the public address, an alias) or leaks (the private mailbox, a thread address)."""

    addresses: frozenset[str]
    domains: tuple[str, ...]  # every address on these domains (and below) is ours

    @classmethod
    def of(cls, addresses: Iterable[str], domains: Iterable[str]) -> OwnAddresses:
        return cls(
            frozenset(normalise(a) for a in addresses if a), tuple(d.strip(". ").lower() for d in domains if d and d.strip(". "))
        )

    def __contains__(self, address: object) -> bool:
        if not isinstance(address, str):
            return False
        value = normalise(address)
        domain = domain_of(value)
        return value in self.addresses or any(domain == d or domain.endswith("." + d) for d in self.domains)


def answer_address(reply_to: Iterable[str], from_address: str | None, own: OwnAddresses) -> str | None:
    """Where an answer to a mail goes: its first Reply-To, else its From, skipping our
    own addresses and mail daemons. None when no candidate is safe to write to.

    >>> own = OwnAddresses.of(["hello@example.com", "owner@private.net"], ["reply.example.com"])
    >>> answer_address(["x.tag@reply.example.com", "jane@acme.test"], "eve@evil.test", own)
    'jane@acme.test'
    >>> answer_address(["hello@example.com"], "MAILER-DAEMON@mx.example.org", own) is None
    True
    """
    for candidate in [*reply_to, *([from_address] if from_address else [])]:
        address = normalise(candidate)
        if "@" not in address or address in own or local_part(address).lower() in _DAEMON_LOCAL_PARTS:
            continue
        return address
    return None
