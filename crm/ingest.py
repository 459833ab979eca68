"""Mail into the local stack: files, mbox and Maildir, each as one SES delivery."""

from __future__ import annotations

import hashlib
import mailbox
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crm.settings import Settings
from crm.verdicts import VerdictFlags, verdicts_of
from events.base import utc_text
from mail.limits import DEFAULT_LIMITS, MailLimits
from ports import Services
from producers.receipt import INBOX_PREFIX, receipt_event

_SKIP_NAMES = {"readme", "readme.md", "readme.txt", "license", ".ds_store"}


@dataclass(frozen=True)
class Delivery:
    source: str
    raw: bytes


def _is_mbox(path: Path) -> bool:
    with path.open("rb") as handle:
        return handle.read(5) == b"From "


def _is_maildir(path: Path) -> bool:
    return all((path / sub).is_dir() for sub in ("cur", "new", "tmp"))


def discover(path: Path) -> Iterator[Delivery]:
    """Every mail under ``path``: a .eml file, an mbox file, a Maildir or a folder of them."""
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file or folder")
    if path.is_file():
        if _is_mbox(path):
            box = mailbox.mbox(str(path), create=False)
            for index, key in enumerate(box.keys()):
                yield Delivery(f"{path}#{index + 1}", box.get_bytes(key))
        else:
            yield Delivery(str(path), path.read_bytes())
        return
    if _is_maildir(path):
        maildir = mailbox.Maildir(str(path), create=False)
        for key in sorted(maildir.keys()):
            yield Delivery(f"{path}/{key}", maildir.get_bytes(key))
        return
    for child in sorted(path.iterdir()):
        if child.name.startswith(".") or child.name.lower() in _SKIP_NAMES:
            continue
        yield from discover(child)


def delivery_id(raw: bytes, recipients: list[str]) -> str:
    """A stable SES-style message id: the same file to the same recipients is the same
    delivery, so ingesting a folder twice records each mail once."""
    digest = hashlib.sha256(raw + b"\0" + ",".join(sorted(recipients)).encode()).hexdigest()
    return f"local-{digest[:32]}"


def envelope_sender(raw: bytes, limits: MailLimits = DEFAULT_LIMITS) -> str | None:
    """The envelope sender as the final delivery recorded it (``Return-Path``), else ``From``.

    ``Return-Path: <>`` is the null sender of a bounce or a report (RFC 5321 §4.5.5):
    it stays null (``""``), never becomes the ``From``, so nothing answers it.

    >>> envelope_sender(b"Return-Path: <>\\r\\nFrom: MAILER-DAEMON@mx.example\\r\\n\\r\\nbounce")
    ''
    >>> envelope_sender(b"From: Jane <jane@acme.com>\\r\\n\\r\\nhi")
    'jane@acme.com'
    """
    from email.parser import BytesHeaderParser

    from mail.parsing import parse

    head = raw[: 64 * 1024]
    # the header block alone answers most mail (a final delivery adds Return-Path)
    return_path = BytesHeaderParser().parsebytes(head.split(b"\r\n\r\n", 1)[0].split(b"\n\n", 1)[0] + b"\n\n")["Return-Path"]
    if return_path is not None:
        return str(return_path).strip().strip("<>").strip()
    return parse(head, scan_bytes=1024, limits=limits).from_address


def split_recipients(settings: Settings, recipients: list[str]) -> tuple[list[str], list[str]]:
    """(public side, reply side): what each SES receipt rule would match. Anything not on
    the reply subdomain goes to the public rule, which rejects what it does not accept."""
    reply_side = [r for r in recipients if r.lower().endswith("@" + settings.reply_domain)]
    return [r for r in recipients if r not in reply_side], reply_side


def deliver(svc: Services, delivery: Delivery, recipients: list[str], flags: VerdictFlags | None = None) -> dict[str, Any]:
    """Store the raw mail as SES's S3 action would, then invoke each producer whose
    receipt rule matches, with its own recipients (as SES does: one message id, one
    invocation per rule). The result is the public side's, with the reply side's
    under ``"reply"`` when the mail went to both."""
    from crm.lambda_runtime import LocalContext, end_invocation
    from producers import inbound, reply

    settings = svc.settings
    ses_id = delivery_id(delivery.raw, recipients)
    key = f"{INBOX_PREFIX}{ses_id}"
    svc.blobs.put(key, delivery.raw, "message/rfc822")
    now = utc_text(timespec="milliseconds")
    sender, verdicts = envelope_sender(delivery.raw, settings.mail_limits), verdicts_of(delivery.raw, flags)
    public_side, reply_side = split_recipients(settings, recipients)
    results: list[dict[str, Any]] = []
    for side, invoke, name in ((public_side, inbound.invoke, "crm-inbound"), (reply_side, reply.invoke, "crm-reply")):
        if not side:
            continue
        event = receipt_event(
            ses_message_id=ses_id,
            recipients=side,
            envelope_sender=sender,
            bucket=settings.bucket,
            object_key=key,
            timestamp=now,
            verdicts=verdicts,
        )
        event["Records"][0]["ses"]["mail"]["destination"] = recipients
        try:
            results.append(invoke(svc, event, LocalContext(name))["results"][0])
        finally:
            end_invocation()
    result = results[0]
    if len(results) > 1:
        result = {**result, "reply": results[1]}
    return result
