"""Sending raw mail through SES v2 (40 MB, configuration set, MAIL FROM domain)."""

from __future__ import annotations

import json
import re
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectTimeoutError,
    EndpointConnectionError,
    HTTPClientError,
    ProxyConnectionError,
)
from botocore.exceptions import ConnectionError as BotoConnectionError

from adapters.aws import error_code, send_client
from ports import Mailer, Outgoing, SendError, Sent

# SES error codes that no retry can fix: the send is failed for good.
PERMANENT = {
    "MessageRejected",
    "MailFromDomainNotVerifiedException",
    "AccountSuspendedException",
    "SendingPausedException",
    "BadRequestException",
    "NotFoundException",
    "InvalidParameterValue",
}
# SES refused the request without sending (its rate or quota): safe to send again later.
THROTTLING = {
    "Throttling",
    "ThrottlingException",
    "TooManyRequestsException",
    "LimitExceededException",
    "MaxSendingRateExceeded",
    "RequestLimitExceeded",
}
# The connection was never made, so the request never left: safe to send again later.
# Every other transport failure (read timeout, connection closed or reset, TLS) may
# come after SES received the request.
NOT_SENT = (ConnectTimeoutError, EndpointConnectionError, ProxyConnectionError)


def _tag(value: str) -> str:
    """SES tag values allow letters, digits, '_' and '-' only."""
    return re.sub(r"[^A-Za-z0-9_-]", "_", value)[:256]


def send_error(exc: BotoCoreError | ClientError) -> SendError:
    """What a failed SES send means: permanent, safe to retry, or in doubt.

    In doubt: any 5xx answer (SES may have accepted the mail before failing), a read
    timeout, a connection closed or reset once the request was written. Safe to retry:
    throttling, other 4xx refusals, a connection that was never established."""
    if isinstance(exc, ClientError):
        code = error_code(exc)
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        if code in THROTTLING or "Throttl" in code:
            return SendError(f"SES {code}: {exc}", permanent=False, code=code)
        if status >= 500:
            return SendError(
                f"SES {code or status} (HTTP {status}) after the request was sent: {exc}",
                permanent=False,
                code=code,
                in_doubt=True,
            )
        return SendError(f"SES {code}: {exc}", permanent=code in PERMANENT, code=code)
    name = type(exc).__name__
    if isinstance(exc, NOT_SENT) or not isinstance(exc, (HTTPClientError, BotoConnectionError)):
        # never connected, or failed in the SDK before the transport (credentials, ...)
        return SendError(f"SES not reached ({name}): {exc}", permanent=False, code=name)
    return SendError(f"SES answer lost ({name}) after the request was sent: {exc}", permanent=False, code=name, in_doubt=True)


class SesMailer:
    def __init__(self, region: str, endpoint_url: str | None = None, configuration_set: str | None = None) -> None:
        self._ses = send_client("sesv2", region, endpoint_url)
        self.configuration_set = configuration_set

    def send(self, mail: Outgoing, *, key: str | None = None) -> Sent:
        # ``key`` is not sent: SES has no idempotency token; the idempotency record guards the send
        tags = [{"Name": "kind", "Value": _tag(mail.kind)}]
        if mail.conversation_id:
            # SES's bounce and complaint events carry the tags: that is how they find the conversation
            tags.append({"Name": "conversation", "Value": _tag(mail.conversation_id)})
        kwargs: dict[str, Any] = {
            "FromEmailAddress": mail.sender,
            "Destination": {"ToAddresses": mail.recipients},
            "Content": {"Raw": {"Data": mail.raw}},
            "EmailTags": tags,
        }
        if self.configuration_set:
            kwargs["ConfigurationSetName"] = self.configuration_set
        try:
            response = self._ses.send_email(**kwargs)
        except (ClientError, BotoCoreError) as exc:
            raise send_error(exc) from exc
        return Sent(str(response["MessageId"]))


class OutboxMailer:
    """Sends through an inner mailer and keeps a copy of each mail as ``.eml`` in a
    folder, with an index line per mail: the local stack's outbox."""

    def __init__(self, inner: Mailer, folder: Path) -> None:
        self.inner = inner
        self.folder = folder

    def send(self, mail: Outgoing, *, key: str | None = None) -> Sent:
        sent = self.inner.send(mail, key=key)
        self.folder.mkdir(parents=True, exist_ok=True)
        index = len(list(self.folder.glob("*.eml"))) + 1
        path = self.folder / f"{index:05d}-{mail.kind}.eml"
        path.write_bytes(mail.raw)
        # the Message-ID is the mail's identity (one per cause): how the audit sees a mail sent twice
        message_id = str(BytesHeaderParser().parsebytes(mail.raw).get("Message-ID", "") or "").strip()
        with (self.folder / "index.jsonl").open("a", encoding="utf-8") as out:
            out.write(
                json.dumps(
                    {
                        "kind": mail.kind,
                        "to": mail.recipients,
                        "subject": mail.subject,
                        "file": str(path),
                        "ses_message_id": sent.ses_message_id,
                        "message_id": message_id,
                    }
                )
                + "\n"
            )
        return sent

    def entries(self) -> list[dict[str, Any]]:
        return read_outbox(self.folder)


def read_outbox(folder: Path) -> list[dict[str, Any]]:
    """The outbox's index: one entry per mail SES accepted, in sending order."""
    index = folder / "index.jsonl"
    if not index.exists():
        return []
    return [json.loads(line) for line in index.read_text(encoding="utf-8").splitlines() if line.strip()]
