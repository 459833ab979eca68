"""Sending raw mail through SES v2 (40 MB, configuration set, MAIL FROM domain)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from botocore.exceptions import ClientError

from adapters.aws import client, error_code

# SES error codes that no retry can fix: the send is failed for good.
PERMANENT = {"MessageRejected", "MailFromDomainNotVerifiedException", "AccountSuspendedException",
             "SendingPausedException", "BadRequestException", "NotFoundException", "InvalidParameterValue"}


def _tag(value: str) -> str:
    """SES tag values allow letters, digits, '_' and '-' only."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", value)[:256]


class SendError(Exception):
    def __init__(self, message: str, *, permanent: bool, code: str = "") -> None:
        super().__init__(message)
        self.permanent = permanent
        self.code = code


@dataclass(frozen=True)
class Sent:
    ses_message_id: str


class Mailer(Protocol):
    def send(self, *, kind: str, sender: str, recipients: list[str], raw: bytes, subject: str,
             conversation_id: str | None = None) -> Sent: ...


class SesMailer:
    def __init__(self, region: str, endpoint_url: str | None = None, configuration_set: str | None = None) -> None:
        self._ses = client("sesv2", region, endpoint_url)
        self.configuration_set = configuration_set

    def send(self, *, kind: str, sender: str, recipients: list[str], raw: bytes, subject: str,
             conversation_id: str | None = None) -> Sent:
        tags = [{"Name": "kind", "Value": _tag(kind)}]
        if conversation_id:
            # SES's bounce and complaint events carry the tags: that is how they find the conversation
            tags.append({"Name": "conversation", "Value": _tag(conversation_id)})
        kwargs: dict[str, Any] = {
            "FromEmailAddress": sender,
            "Destination": {"ToAddresses": recipients},
            "Content": {"Raw": {"Data": raw}},
            "EmailTags": tags,
        }
        if self.configuration_set:
            kwargs["ConfigurationSetName"] = self.configuration_set
        try:
            response = self._ses.send_email(**kwargs)
        except ClientError as exc:
            code = error_code(exc)
            raise SendError(f"SES {code}: {exc}", permanent=code in PERMANENT, code=code) from exc
        return Sent(str(response["MessageId"]))


class OutboxMailer:
    """Sends through an inner mailer and keeps a copy of each mail as ``.eml`` in a
    folder, with an index line per mail: the local stack's outbox."""

    def __init__(self, inner: Mailer, folder: Path) -> None:
        self.inner = inner
        self.folder = folder

    def send(self, *, kind: str, sender: str, recipients: list[str], raw: bytes, subject: str,
             conversation_id: str | None = None) -> Sent:
        sent = self.inner.send(kind=kind, sender=sender, recipients=recipients, raw=raw, subject=subject,
                               conversation_id=conversation_id)
        self.folder.mkdir(parents=True, exist_ok=True)
        index = len(list(self.folder.glob("*.eml"))) + 1
        path = self.folder / f"{index:05d}-{kind}.eml"
        path.write_bytes(raw)
        with (self.folder / "index.jsonl").open("a", encoding="utf-8") as out:
            out.write(json.dumps({"kind": kind, "to": recipients, "subject": subject, "file": str(path),
                                  "ses_message_id": sent.ses_message_id}) + "\n")
        return sent
