"""The SES receipt notification, reduced to plain values the decisions use."""

from __future__ import annotations

from typing import Any

import msgspec

from events.catalogue import Verdicts

INBOX_PREFIX = "inbox/"
QUARANTINE_PREFIX = "quarantine/"


class Receipt(msgspec.Struct, frozen=True):
    ses_message_id: str
    timestamp: str
    envelope_sender: str | None
    recipients: list[str]
    verdicts: Verdicts
    bucket: str | None = None  # where SES's S3 action put the raw mail, if it said
    object_key: str | None = None
    headers: list[tuple[str, str]] = msgspec.field(default_factory=list)


def _status(receipt: dict[str, Any], name: str) -> str:
    value = receipt.get(name) or {}
    return str(value.get("status", "GRAY")).upper() if isinstance(value, dict) else "GRAY"


def receipts_of(event: dict[str, Any]) -> list[Receipt]:
    """Every record of an SES receipt event (Lambda, S3 or SNS action shapes)."""
    found = []
    for record in event.get("Records") or []:
        ses = record.get("ses") or {}
        mail, receipt = ses.get("mail") or {}, ses.get("receipt") or {}
        action = receipt.get("action") or {}
        message_id = str(mail.get("messageId") or "")
        if not message_id:
            raise ValueError("SES record without mail.messageId")
        found.append(
            Receipt(
                ses_message_id=message_id,
                timestamp=str(receipt.get("timestamp") or mail.get("timestamp") or ""),
                envelope_sender=mail.get("source"),
                recipients=[str(r).lower() for r in receipt.get("recipients") or mail.get("destination") or []],
                verdicts=Verdicts(
                    spam=_status(receipt, "spamVerdict"),
                    virus=_status(receipt, "virusVerdict"),
                    spf=_status(receipt, "spfVerdict"),
                    dkim=_status(receipt, "dkimVerdict"),
                    dmarc=_status(receipt, "dmarcVerdict"),
                    dmarc_policy=(str(receipt["dmarcPolicy"]).lower() if receipt.get("dmarcPolicy") else None),
                ),
                bucket=action.get("bucketName") if action.get("type") == "S3" else None,
                object_key=action.get("objectKey") if action.get("type") == "S3" else None,
                headers=[(str(h.get("name")), str(h.get("value"))) for h in mail.get("headers") or []],
            )
        )
    return found


def receipt_event(
    *,
    ses_message_id: str,
    recipients: list[str],
    envelope_sender: str | None,
    bucket: str,
    object_key: str,
    timestamp: str,
    verdict: str = "PASS",
    verdicts: Verdicts | None = None,
) -> dict[str, Any]:
    """An SES receipt event as SES sends it for an S3 action: what the local stack
    hands the producers, since moto does not simulate inbound mail. ``verdicts``
    gives each verdict (and the DMARC policy); else every one is ``verdict``."""
    chosen = verdicts or Verdicts(spam=verdict, virus=verdict, spf=verdict, dkim=verdict, dmarc=verdict)
    return {
        "Records": [
            {
                "eventSource": "aws:ses",
                "eventVersion": "1.0",
                "ses": {
                    "mail": {
                        "timestamp": timestamp,
                        "source": envelope_sender or "",
                        "messageId": ses_message_id,
                        "destination": recipients,
                        "headersTruncated": False,
                        "headers": [],
                        "commonHeaders": {},
                    },
                    "receipt": {
                        "timestamp": timestamp,
                        "processingTimeMillis": 1,
                        "recipients": recipients,
                        "spamVerdict": {"status": chosen.spam},
                        "virusVerdict": {"status": chosen.virus},
                        "spfVerdict": {"status": chosen.spf},
                        "dkimVerdict": {"status": chosen.dkim},
                        "dmarcVerdict": {"status": chosen.dmarc},
                        **({"dmarcPolicy": chosen.dmarc_policy.upper()} if chosen.dmarc_policy else {}),
                        "action": {"type": "S3", "bucketName": bucket, "objectKey": object_key},
                    },
                },
            }
        ]
    }
