"""Domains as DMARC sees them: organizational domains and relaxed alignment (RFC 7489 §3.2).

The organizational domain comes from the Public Suffix List that the
``publicsuffixlist`` package ships (no network at run time), so ``mail.acme.co.uk``
and ``acme.co.uk`` align while ``a.github.io`` and ``b.github.io`` do not.

>>> organizational_domain("Mail.Acme.CO.UK.")
'acme.co.uk'
>>> aligned("bounces.acme.com", "acme.com"), aligned("acme.com", "acme.com.evil.test")
(True, False)
>>> aligned("a.github.io", "b.github.io"), aligned("", "")
(False, False)
"""

from __future__ import annotations

from functools import lru_cache

from publicsuffixlist import PublicSuffixList


@lru_cache(maxsize=1)
def _psl() -> PublicSuffixList:
    return PublicSuffixList()


def clean_domain(domain: str | None) -> str:
    return (domain or "").strip().strip(".").lower()


@lru_cache(maxsize=4096)
def organizational_domain(domain: str | None) -> str | None:
    """The registrable domain, or None when ``domain`` is empty, malformed or a public suffix."""
    name = clean_domain(domain)
    if not name or ".." in name or any(c.isspace() or c in "@<>" for c in name):
        return None
    found = _psl().privatesuffix(name)
    return str(found) if found else None


def aligned(a: str | None, b: str | None) -> bool:
    """Relaxed DMARC alignment: both domains have the same organizational domain."""
    first, second = organizational_domain(a), organizational_domain(b)
    return first is not None and first == second
