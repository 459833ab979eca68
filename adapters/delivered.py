"""An event as EventBridge delivers it to a target: the whole envelope. boto3-free,
so the local bus imports it without loading the AWS SDK."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from events import Envelope

LOCAL_ACCOUNT = "123456789012"  # moto's account: what the local stack's ARNs carry


def delivered_event(envelope: Envelope, region: str, account: str = LOCAL_ACCOUNT) -> dict[str, Any]:
    """The event as EventBridge delivers it to a target (the whole envelope)."""
    return {
        "version": "0",
        "id": str(uuid.uuid5(uuid.NAMESPACE_URL, f"crm-event:{envelope.event_id}")),
        "detail-type": envelope.type,
        "source": envelope.source,
        "account": account,
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": region,
        "resources": [],
        "detail": envelope.detail(),
    }
