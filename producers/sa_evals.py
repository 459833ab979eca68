"""Facts of a mail that SpamAssassin computes in Perl (``eval:`` tests, relay metadata),
computed here from the parsed mail so that imported rules reading them can run.

- :func:`relays`: SpamAssassin's ``X-Spam-Relays-*`` pseudo-headers. Each
  ``Received`` header is read as one relay ``[ ip=… rdns=… helo=… by=… ident=…
  envfrom= intl=… id=… auth=… msa=0 ]``; with no ``trusted_networks`` configured
  SpamAssassin trusts relays from private addresses (or authenticated ones) and
  stops trusting at the first public one; what it trusts is also internal. A
  mail-fetcher hop (``with POP3|IMAP``) inside the trusted part restarts the list.
  The formats read are the common ones (sendmail, Postfix, Exim, qmail, fetchmail);
  a header of another shape counts as unparseable, as it does in SpamAssassin.
- :func:`date_diff`: the ``Date`` header minus the nearest ``Received`` time
  (``check_for_shifted_date``).
- :func:`outlook_message_id_invalid`: an Outlook-style Message-ID whose time token
  matches neither the Date nor the Received time (``check_outlook_message_id``).

>>> r = relays(["from mail.example.com (mx.example.com [203.0.113.9]) by in.example.org (Postfix) id X123; "
...             "Tue, 3 Sep 2002 10:00:00 +0000"])
>>> r.untrusted
'[ ip=203.0.113.9 rdns=mx.example.com helo=mail.example.com by=in.example.org ident= envfrom= intl=0 id=X123 auth= msa=0 ]'
"""

from __future__ import annotations

import re
from email.utils import mktime_tz, parsedate_tz

import msgspec

_IP = r"(?:\d{1,3}\.){3}\d{1,3}|IPv6:[0-9a-fA-F:.]+|[0-9a-fA-F]{0,4}(?::[0-9a-fA-F]{0,4}){2,7}"
_PRIVATE = re.compile(
    r"^(?:10|127|169\.254|172\.(?:1[6-9]|2\d|3[01])|192\.168|"
    r"100\.(?:6[4-9]|[7-9]\d|1[01]\d|12[0-7]))\.|^(?:IPv6:)?(?:::1$|f[cd]|fe[89ab])",
    re.I,
)
_DATE_AT_END = re.compile(
    r"[\s;]+(?:(?:Mon|T(?:ue|hu)|Wed|Fri|S(?:at|un)), )?\d+ (?:J(?:an|u[nl])|Feb|Ma[ry]|"
    r"A(?:pr|ug)|Sep|Oct|Nov|Dec) \d+ \d+:\d+(?::\d+)? \S+.*$"
)
_ID = re.compile(r" id <?([^\s<>;]{3,})")
_HELO_EQ = re.compile(r"\bhelo=([-A-Za-z0-9.^+_&:=?!@%*$\\/]+)")
_HELO_WORD = re.compile(r"\b(?:HELO|EHLO) ([-A-Za-z0-9.^+_&:=?!@%*$\\/]+)")
_BY = re.compile(r" by (\S+?)(?:[^-A-Za-z0-9;.]|$)")
_AUTH = re.compile(r" with ((?:ES|L|UTF8S|UTF8L)MTPS?A|ASMTP|HTTP[SU]?)(?: |;|$)", re.I)
_ENVFROM = re.compile(r"(?:return-path:? |envelope-(?:sender|from)[ =])(\S+)\b", re.I)
# after "from ": the shapes of the common MTAs, most specific first
_SHAPES: tuple[tuple[re.Pattern[str], tuple[str, ...]], ...] = tuple(
    (re.compile(pattern), names)
    for pattern, names in (
        (rf"^(\S+) \(HELO (\S+)\) \((?:(\S+)@)?({_IP})\)", ("rdns", "helo", "ident", "ip")),  # qmail
        (rf"^(\S+) \((?:(\S+)@)?({_IP})\)", ("rdns", "ident", "ip")),  # qmail, no HELO
        (rf"^\[({_IP})\] \(helo=(\S+?)\)", ("ip", "helo")),  # Exim, no rDNS
        (rf"^(\S+) \(\[({_IP})\] helo=(\S+?)\)", ("rdns", "ip", "helo")),  # Exim
        (rf"^(\S+) \((?:(\S+)@)?([^\s\[\]()@]*) ?\[({_IP})\](?:[^)]*)\)", ("helo", "ident", "rdns", "ip")),
        (rf"^(\S+) \(\[({_IP})\]\)", ("helo", "ip")),  # sendmail, no rDNS
        (rf"^(\S+) \[({_IP})\]", ("helo", "ip")),
        (rf"^\[({_IP})\]", ("ip",)),
    )
)
_ANY_IP = re.compile(rf"[\[(]({_IP})[\])]")
_RCVD_DATE = re.compile(r"(\s.?\d+ \S\S\S \d+ \d+:\d+:\d+ \S+)")
_OUTLOOK_ID = re.compile(r"^<[0-9a-f]{4}([0-9a-f]{8})\$[0-9a-f]{8}\$[0-9a-f]{8}@")
IGNORED = "ignored"


class Relays(msgspec.Struct, frozen=True):
    trusted: str
    untrusted: str
    unparseable: int

    @property
    def all_trusted(self) -> bool:
        """SpamAssassin's ``ALL_TRUSTED``: relays seen, every one trusted, none unreadable."""
        return bool(self.trusted) and not self.untrusted and not self.unparseable


def parse_received(line: str) -> dict[str, str] | str | None:
    """One ``Received`` header as a relay; :data:`IGNORED` for a hop that is no relay
    (local delivery, a mail fetcher), None when it is not read."""
    line = re.sub(r"\s+", " ", line).strip()
    if not re.match(r"^\(?from ", line, re.I) or " with local for " in line:
        return IGNORED
    bare = re.match(r"^from (\S+) by [^\s;]+ ?;", line, re.I)
    if bare and not re.fullmatch(r"\[[\d.]+\]", bare.group(1)):
        return IGNORED
    line = _DATE_AT_END.sub("", line).replace(")by ", ") by ")
    relay = {"ip": "", "rdns": "", "helo": "", "by": "", "ident": "", "envfrom": "", "id": "", "auth": ""}
    for key, pattern in (("id", _ID), ("helo", _HELO_EQ), ("by", _BY)):
        match = pattern.search(line)
        if match:
            relay[key] = match.group(1)
    if not relay["helo"]:
        match = _HELO_WORD.search(line)
        if match:
            relay["helo"] = match.group(1)
    auth = _AUTH.search(line) if " by " in line else None
    if auth:
        relay["auth"] = auth.group(1)
    rest = re.sub(r"^\(?from ", "", line, flags=re.I)
    envfrom = _ENVFROM.search(rest)
    if envfrom:
        relay["envfrom"] = envfrom.group(1)
    if re.search(r"with (?:POP3|IMAP)", rest):
        return "fetcher"
    for shape, names in _SHAPES:
        match = shape.match(rest)
        if match:
            for name, value in zip(names, match.groups(), strict=True):
                if value and not (name == "helo" and relay["helo"]):
                    relay[name] = value
            break
    else:
        match = _ANY_IP.search(rest.split(" by ", 1)[0])
        if not match:
            return None
        relay["ip"] = match.group(1)
    if relay["rdns"].lower() in ("unknown", "may", "forged"):
        relay["rdns"] = ""
    relay["rdns"] = relay["rdns"].rstrip(".")
    relay["ip"] = relay["ip"].removeprefix("IPv6:")
    return relay


def _as_string(relay: dict[str, str], internal: bool) -> str:
    return (
        f"[ ip={relay['ip']} rdns={relay['rdns']} helo={relay['helo']} by={relay['by']} ident={relay['ident']} "
        f"envfrom={relay['envfrom']} intl={int(internal)} id={relay['id']} auth={relay['auth']} msa=0 ]"
    )


def relays(received: list[str]) -> Relays:
    """The relays of a mail's ``Received`` headers (newest first), split at the trust boundary."""
    trusted: list[str] = []
    untrusted: list[str] = []
    unparseable = 0
    in_trusted = True
    for line in received:
        relay = parse_received(line)
        if relay == "fetcher":
            if in_trusted:
                trusted.clear()
            continue
        if relay is None:
            unparseable += 1
            continue
        if isinstance(relay, str):
            continue
        if in_trusted and not (_PRIVATE.match(relay["ip"]) or relay["auth"]):
            in_trusted = False
        (trusted if in_trusted else untrusted).append(_as_string(relay, in_trusted))
    return Relays(" ".join(trusted), " ".join(untrusted), unparseable)


def _time(text: str | None) -> float | None:
    if not text:
        return None
    parsed = parsedate_tz(text.strip())
    if parsed is None:
        return None
    try:
        return float(mktime_tz(parsed))
    except (OverflowError, ValueError):
        return None


def _received_times(received: list[str]) -> list[float]:
    """SpamAssassin's Received times: the local delivery and fetchmail hops left out."""
    lines = [line for line in received if line.strip()]
    if lines and (
        re.search(r"\bfrom (?:localhost\s|(?:\S+ ){1,2}\S*\b127\.0\.0\.1\b)", lines[0])
        or re.search(r"qmail \d+ invoked by uid \d+", lines[0])
    ):
        local = lines.pop(0)
        if not (lines and re.search(r"\bby localhost with \w+ \(fetchmail-[\d.]+", lines[0])):
            lines.insert(0, local)
        else:
            lines.pop(0)
    elif lines and re.search(r"\bby localhost with \w+ \(fetchmail-[\d.]+", lines[0]):
        lines.pop(0)
    times = []
    for line in lines:
        match = _RCVD_DATE.search(re.sub(r"\s+", " ", line))
        moment = _time(match.group(1)) if match else None
        if moment is not None:
            times.append(moment)
    return times


def date_diff(date: str | None, received: list[str]) -> float:
    """Seconds the Date header is ahead of the nearest Received time (0: unknown)."""
    moment = _time(date)
    times = _received_times(received)
    if moment is None or not times:
        return 0.0
    diffs = [moment - t for t in times]
    if len(diffs) > 1 and diffs[-1] == 0:
        diffs.pop()
    return min(diffs, key=abs)


def shifted_date(diff: float, low: str, high: str) -> bool:
    """``check_for_shifted_date(low, high)``: the shift is in [low, high) hours ('undef': open)."""
    return (low == "undef" or diff >= 3600 * float(low)) and (high == "undef" or diff < 3600 * float(high))


def outlook_message_id_invalid(message_id: str | None, date: str | None, received: list[str]) -> bool:
    match = _OUTLOOK_ID.match(message_id or "")
    if not match:
        return False
    token = int(match.group(1), 16)

    def expected(moment: float | None) -> int:
        return int((moment or 0) * 0.0023283064365387 + 27111902.8329849)

    if abs(token - expected(_time(date))) < 250:
        return False
    tail = _RCVD_DATE.findall(re.sub(r"\s+", " ", "\n".join(received)))
    return abs(token - expected(_time(tail[-1]) if tail else None)) >= 250
