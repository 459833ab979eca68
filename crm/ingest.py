"""Mail into the local stack: files, mbox and Maildir, each as one SES delivery."""

from __future__ import annotations

import hashlib
import mailbox
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from crm.settings import Settings
from mail.limits import DEFAULT_LIMITS, MailLimits
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
    from mail.parsing import parse

    mail = parse(raw[:64 * 1024] if len(raw) > 64 * 1024 else raw, scan_bytes=1024, limits=limits)
    return (mail.header("return-path") or "").strip().strip("<>") or mail.from_address


def deliver(settings: Settings, delivery: Delivery, recipients: list[str]) -> dict[str, Any]:
    """Store the raw mail as SES's S3 action would, then invoke the right producer."""
    from adapters.wiring import services
    from crm.lambda_runtime import LocalContext, end_invocation
    from producers import inbound, reply

    ses_id = delivery_id(delivery.raw, recipients)
    key = f"{INBOX_PREFIX}{ses_id}"
    services().blobs.put(key, delivery.raw, "message/rfc822")
    now = datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    sender = envelope_sender(delivery.raw, settings.mail_limits)
    event = receipt_event(ses_message_id=ses_id, recipients=recipients, envelope_sender=sender,
                          bucket=settings.bucket, object_key=key, timestamp=now)
    to_reply = any(r.lower().endswith("@" + settings.reply_domain) for r in recipients)
    handler = reply.handler if to_reply else inbound.handler
    try:
        result: dict[str, Any] = handler(event, LocalContext("crm-reply" if to_reply else "crm-inbound"))["results"][0]
    finally:
        end_invocation()
    return result
