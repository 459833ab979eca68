"""Who a mail is from, which conversation it belongs to, and what it is about.

Conversation ids are readable and deterministic: a slug of the person plus a short
hash of their key, so the same correspondent always lands in the same conversation
and two people never share one. Relay senders (LinkedIn and configured relay
domains, where one address stands for many people) are keyed by display name.

Heuristics (documented in the README):

- company: a "<title> at <Company>" phrase in the subject or signature, else the
  line under the title in the signature, else the sender's domain when it is not
  freemail and not a relay;
- title: a job title in the subject ("Staff Engineer role at …"), else the title
  line of the signature.

>>> identify("jane.doe@acmerobotics.com", "Jane Doe", relay_domains=["linkedin.com"]).conversation_id
'jane-doe-acmerobotics-f9c90784'
>>> identify("inmail-hit-reply@linkedin.com", "Priya Raman via LinkedIn", relay_domains=["linkedin.com"]).contact
'linkedin:priya raman'
>>> extract_title("Staff Platform Engineer role at Acme Robotics")
'Staff Platform Engineer'
"""

from __future__ import annotations

import hashlib
import re
import unicodedata

import msgspec

from mail.addresses import domain_of, local_part
from mail.freemail import is_freemail
from mail.subjects import strip_reply_prefix

MAX_ID = 47  # the thread token adds 17 characters and a local part holds 64

_ROLE_WORDS = (
    r"Engineer|Developer|Manager|Architect|Scientist|Designer|Lead|Director|Analyst|Consultant|Recruiter|"
    r"Sourcer|Partner|Founder|CTO|CEO|CFO|COO|VP|President|Head of [A-Z][\w&]*|Specialist|Administrator|SRE|"
    r"Programmer|Researcher|Product Owner|Coordinator"
)
_TITLE = re.compile(
    rf"\b((?:(?:Senior|Staff|Principal|Junior|Lead|Chief|Sr\.?|Jr\.?|[A-Z][A-Za-z+#/.-]*)\s+){{0,4}}(?:{_ROLE_WORDS}))\b"
)
_AT_COMPANY = re.compile(r"\bat\s+((?:[A-Z0-9][\w&.'-]*)(?:\s+[A-Z0-9][\w&.'-]*){0,3})")
_VIA = re.compile(r"\s+(via|through)\s+.*$", re.IGNORECASE)
_SLUG = re.compile(r"[^a-z0-9]+")
_SIGNATURE = re.compile(r"^--\s*$")
_REFERRAL = re.compile(r"\b(referred by|referral from|recommended (you|me) to)\b", re.IGNORECASE)


class Identity(msgspec.Struct, frozen=True):
    contact: str  # the correspondent's key: an address, or '<relay>:<name>'
    name: str | None
    conversation_id: str
    channel: str  # direct | linkedin | <relay label> | owner


def slug(text: str, limit: int = 20) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return _SLUG.sub("-", ascii_text).strip("-")[:limit].strip("-")


def _short_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:8]


def _relay_of(domain: str, relay_domains: list[str]) -> str | None:
    return next((r for r in relay_domains if domain == r or domain.endswith("." + r)), None)


def _domain_label(domain: str) -> str:
    labels = [label for label in domain.split(".") if label]
    if len(labels) >= 3 and len(labels[-2]) <= 3:  # acme.co.uk
        return labels[-3]
    return labels[-2] if len(labels) >= 2 else (labels[0] if labels else "unknown")


def identify(address: str | None, name: str | None, *, relay_domains: list[str], owner: str | None = None) -> Identity:
    address = (address or "").lower()
    domain = domain_of(address)
    clean_name = _VIA.sub("", name or "").strip().strip('"').strip() or None
    if owner and address == owner:
        return Identity(address, clean_name, f"owner-{_short_hash(address)}", "owner")
    relay = _relay_of(domain, relay_domains)
    if relay and clean_name:
        label = slug(_domain_label(relay), 12)
        key = f"{label}:{clean_name.lower()}"
        person = slug(clean_name, MAX_ID - len(label) - 10) or "someone"
        return Identity(key, clean_name, f"{person}-{label}-{_short_hash(key)}", "linkedin" if label == "linkedin" else label)
    label = slug(_domain_label(domain), 14) or "unknown"
    person = slug(clean_name or local_part(address) or "unknown", MAX_ID - len(label) - 10) or "unknown"
    channel = ("linkedin" if slug(_domain_label(relay)) == "linkedin" else slug(_domain_label(relay))) if relay else "direct"
    return Identity(address or f"unknown:{person}", clean_name, f"{person}-{label}-{_short_hash(address or person)}", channel)


def extract_title(text: str) -> str | None:
    match = _TITLE.search(strip_reply_prefix(text))
    return match.group(1).strip() if match else None


def signature_lines(text: str) -> list[str]:
    """The lines of the sign-off: after a '-- ' delimiter, else the last short lines."""
    lines = [line.strip() for line in text.splitlines()]
    lines = [line for line in lines if not line.startswith(">")]
    for index, line in enumerate(lines):
        if _SIGNATURE.match(line):
            return [line for line in lines[index + 1 :] if line][:6]
    tail = [line for line in lines if line][-6:]
    return [line for line in tail if len(line) < 70]


def extract_company(subject: str, text: str, address: str | None, relay_domains: list[str]) -> str | None:
    for source in (strip_reply_prefix(subject), *signature_lines(text)):
        match = _AT_COMPANY.search(source)
        if match and _TITLE.search(source[: match.start()] or "x"):
            return match.group(1).strip(" .,")
    signature = signature_lines(text)
    for index, line in enumerate(signature[:-1]):
        if _TITLE.fullmatch(line) and not any(ch in signature[index + 1] for ch in "@:/") and len(signature[index + 1]) < 50:
            return signature[index + 1]
    domain = domain_of(address)
    if domain and not is_freemail(domain) and not _relay_of(domain, relay_domains):
        return _domain_label(domain).capitalize()
    return None


def extract_role(subject: str, text: str) -> str | None:
    """The role a conversation is about: from the subject, else the signature's title."""
    title = extract_title(subject)
    if title:
        return title
    for line in signature_lines(text):
        title = extract_title(line)
        if title and len(line) < 60:
            return title
    return None


def channel_for(identity: Identity, text: str) -> str:
    if identity.channel == "direct" and _REFERRAL.search(text[:4000]):
        return "referral"
    return identity.channel
