"""``crm audit``'s leak check: nothing sent to a correspondent carries the private
mailbox, an address on the reply subdomain or a thread token.

Every mail in the outbox (the sent log: ``outbox/index.jsonl`` and its ``.eml``
files) that went to anyone but the owner alone — acknowledgements, replies, anything
— is read with ``mail.leaks`` exactly as the reply sender reads what it sends: every
header, part, attachment and attached mail, in every spelling. The thread tokens to
look for are learnt from the mails the owner received (the forwards' ``Reply-To``).

A deployed stack keeps no copy of what SES sent, so there the check says so and passes.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mail.leaks import Guard

if TYPE_CHECKING:
    from crm.audit import Check
    from crm.settings import Settings


@dataclass(frozen=True)
class SentMail:
    kind: str
    to: list[str]
    file: str
    raw: bytes | None  # None when the file is missing or unreadable


@dataclass(frozen=True)
class Outbox:
    """The sent mails and the secrets none of those to a correspondent may carry."""

    mails: list[SentMail]
    private_mailbox: str
    reply_domain: str
    public_addresses: list[str] = field(default_factory=list)


def read_sent(entries: Iterable[Mapping[str, Any]]) -> list[SentMail]:
    """The outbox index's entries (``adapters.mailer.read_outbox``) with each mail's bytes."""
    mails: list[SentMail] = []
    for record in entries:
        path = Path(str(record.get("file", "")))
        try:
            raw: bytes | None = path.read_bytes()
        except OSError:
            raw = None
        mails.append(SentMail(str(record.get("kind", "")), [str(t) for t in record.get("to", [])], str(path), raw))
    return mails


def outbox_of(settings: Settings, entries: Sequence[Mapping[str, Any]] | None) -> Outbox | None:
    """The local stack's outbox for the leak check; None where there is none (a deployed stack)."""
    if entries is None:
        return None
    return Outbox(read_sent(entries), settings.private_mailbox, settings.reply_domain, sorted(settings.accepted_addresses))


def to_correspondent(mail: SentMail, private_mailbox: str) -> bool:
    return any(address.strip().lower() != private_mailbox for address in mail.to)


def guard_for(outbox: Outbox) -> Guard:
    guard = Guard(outbox.private_mailbox, reply_domain=outbox.reply_domain, allowed=outbox.public_addresses)
    tokens: set[str] = set()
    for mail in outbox.mails:
        if mail.raw is not None and not to_correspondent(mail, outbox.private_mailbox):
            tokens |= guard.tokens_in(mail.raw)
    return guard.with_tokens(tokens)


def leaking(outbox: Outbox) -> Iterable[str]:
    """One line per mail to a correspondent that carries a secret (or could not be read)."""
    guard = guard_for(outbox)
    for mail in outbox.mails:
        if not to_correspondent(mail, outbox.private_mailbox):
            continue
        what = f"{mail.file} ({mail.kind} to {', '.join(mail.to)})"
        if mail.raw is None:
            yield f"{what}: the file is missing, so what was sent cannot be checked"
            continue
        findings = guard.findings(mail.raw)
        if findings:
            shown = "; ".join(f.describe() for f in findings[:3])
            yield f"{what}: {shown}" + (f"; … {len(findings) - 3} more" if len(findings) > 3 else "")


def check_leaks(outbox: Outbox | None) -> Check:
    """Nothing sent to a correspondent carries the private mailbox or a thread address/token."""
    from crm.audit import _report

    if outbox is None:
        return _report("leaks", [], "no outbox here (a deployed stack keeps no copy of what it sent): not checked")
    sent = [m for m in outbox.mails if to_correspondent(m, outbox.private_mailbox)]
    problems: Sequence[str] = list(leaking(outbox))
    return _report(
        "leaks",
        [
            ("mail(s) sent to a correspondent that carry the private mailbox or a thread address/token", list(problems)),
        ],
        f"{len(sent)} mail(s) sent to correspondents, none carries the private mailbox or a thread address/token",
    )
