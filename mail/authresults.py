"""``Authentication-Results`` headers (RFC 8601), read as far as the decisions need.

SES writes one with authserv-id ``amazonses.com`` on top of every mail it stores.
Only that one (the topmost with the id we trust) counts: anyone can put an
``Authentication-Results`` header in the mail they send.

>>> r = parse_results("amazonses.com; spf=pass (spfCheck: ok) client-ip=192.0.2.1; "
...                   "envelope-from=jane@acme.org; dkim=pass header.i=@acme.org; dmarc=none header.from=acme.org;")
>>> r.authserv_id, r.result("spf"), r.result("dkim"), r.result("dmarc"), r.result("arc")
('amazonses.com', 'pass', 'pass', 'none', None)
>>> r.property("spf", "envelope-from"), r.property("dkim", "header.i")
('jane@acme.org', '@acme.org')
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

METHODS = frozenset(
    {
        "spf",
        "dkim",
        "dmarc",
        "arc",
        "iprev",
        "auth",
        "smime",
        "dkim-atps",
        "vbr",
        "rrvs",
        "domainkeys",
        "sender-id",
        "x-dkim",
        "bimi",
    }
)
_COMMENT = re.compile(r"\((?:[^()\\]|\\.)*\)")
_PAIR = re.compile(r'([A-Za-z0-9._-]+)\s*=\s*("(?:[^"\\]|\\.)*"|[^\s;]+)')


@dataclass(frozen=True)
class MethodResult:
    method: str
    result: str
    properties: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class AuthResults:
    authserv_id: str
    methods: list[MethodResult]
    raw: str = ""  # the header value, comments and all (some servers say p=reject only in a comment)

    def first(self, method: str) -> MethodResult | None:
        return next((m for m in self.methods if m.method == method), None)

    def result(self, method: str) -> str | None:
        found = self.first(method)
        return found.result if found else None

    def property(self, method: str, name: str) -> str | None:
        found = self.first(method)
        return found.properties.get(name) if found else None


def _strip_comments(value: str) -> str:
    previous = None
    while previous != value:  # nested comments, innermost first
        previous, value = value, _COMMENT.sub(" ", value)
    return value


def parse_results(value: str) -> AuthResults | None:
    """One header value; None when it has no authserv-id."""
    items = [i.strip() for i in _strip_comments(" ".join(value.split())).split(";")]
    if not items or not items[0]:
        return None
    authserv_id = items[0].split()[0].lower()
    methods: list[MethodResult] = []
    for item in items[1:]:
        pairs = [(k.lower(), v.strip('"')) for k, v in _PAIR.findall(item)]
        if not pairs:
            continue
        name, result = pairs[0]
        method = name.split("/")[0]
        if method in METHODS:
            methods.append(MethodResult(method, result.lower(), dict(pairs[1:])))
        elif methods:  # SES writes envelope-from=, helo= … as items of their own, after spf
            methods[-1].properties.update(pairs)
    return AuthResults(authserv_id, methods, value)


def trusted_results(values: list[str], authserv_id: str) -> AuthResults | None:
    """The topmost header written by ``authserv_id`` (the receiving server's own)."""
    for value in values:
        parsed = parse_results(value)
        if parsed is not None and parsed.authserv_id == authserv_id.lower():
            return parsed
    return None
