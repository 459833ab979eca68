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
from email.utils import getaddresses, parseaddr

_NOREPLY = re.compile(r"^(no[-_.]?reply|do[-_.]?not[-_.]?reply|noreply|donotreply|bounces?|notifications?|"
                      r"mailer-daemon|postmaster|auto[-_.]?(reply|confirm)|daemon)([-+_.].*)?$", re.IGNORECASE)
_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029\u0085]")


def normalise(address: str | None) -> str:
    return (address or "").strip().strip("<>").strip().lower()


def split_address(value: str | None) -> tuple[str | None, str | None]:
    """(display name, address) of one header value; (None, None) when there is none."""
    if not value:
        return None, None
    name, address = parseaddr(_CONTROL.sub(" ", str(value)))
    address = normalise(address)
    if "@" not in address:
        return (name or None), None
    return (name.strip() or None), address


def all_addresses(values: list[str]) -> list[str]:
    found = []
    for _name, address in getaddresses([_CONTROL.sub(" ", str(v)) for v in values]):
        address = normalise(address)
        if "@" in address and address not in found:
            found.append(address)
    return found


def local_part(address: str) -> str:
    return address.rpartition("@")[0]


def domain_of(address: str | None) -> str:
    return (address or "").rpartition("@")[2].lower()


def is_noreply(address: str | None) -> bool:
    """RFC 3834 §2-style: addresses that exist to send, not to be answered."""
    if not address or "@" not in address:
        return True
    return bool(_NOREPLY.match(local_part(address)))
