"""The shipped list of freemail domains (``freemail.txt``).

>>> is_freemail("Gmail.com"), is_freemail("acme.com")
(True, False)
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files


@cache
def freemail_domains() -> frozenset[str]:
    text = files("mail").joinpath("freemail.txt").read_text(encoding="utf-8")
    return frozenset(line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#"))


def is_freemail(domain: str) -> bool:
    return domain.strip().lower() in freemail_domains()
