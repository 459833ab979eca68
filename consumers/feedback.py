"""SES delivery feedback: the configuration set publishes bounces and complaints to
EventBridge; a hard bounce or a complaint becomes ``DeliveryBounced`` on the contact
and a suppression marker, so that address is never acknowledged again."""

from __future__ import annotations

from typing import Any

from bootstrap import lambda_handler
from events import DeliveryBounced
from events.streams import contact_stream, conversation_stream
from mail.addresses import normalise
from observability import logger_for, metrics_for
from ports import Plan, Services

logger = logger_for("ses-feedback")
metrics = metrics_for("ses-feedback")


def feedback_of(detail: dict[str, Any]) -> list[tuple[str, str, str]]:
    """(address, feedback, detail) for each address SES says must not be mailed again."""
    kind = str(detail.get("eventType") or detail.get("notificationType") or "")
    found = []
    if kind == "Bounce":
        bounce = detail.get("bounce") or {}
        if bounce.get("bounceType") == "Permanent":
            for recipient in bounce.get("bouncedRecipients") or []:
                found.append(
                    (
                        normalise(recipient.get("emailAddress")),
                        "bounce",
                        str(recipient.get("diagnosticCode") or bounce.get("bounceSubType") or "")[:500],
                    )
                )
    elif kind == "Complaint":
        complaint = detail.get("complaint") or {}
        for recipient in complaint.get("complainedRecipients") or []:
            found.append(
                (normalise(recipient.get("emailAddress")), "complaint", str(complaint.get("complaintFeedbackType") or "")[:500])
            )
    return [f for f in found if "@" in f[0]]


def record_feedback(svc: Services, detail: dict[str, Any]) -> int:
    mail = detail.get("mail") or {}
    ses_id = str(mail.get("messageId") or "")
    tagged = (mail.get("tags") or {}).get("conversation") or []
    conversation_id = str(tagged[0]) if tagged else None
    count = 0
    for address, feedback, text in feedback_of(detail):
        event = DeliveryBounced(
            address=address, feedback=feedback, detail=text, ses_message_id=ses_id or None, conversation_id=conversation_id
        )
        stream = conversation_stream(conversation_id) if conversation_id else contact_stream(address)
        svc.recorder.record(
            Plan(
                events=[(stream, event)],
                markers={f"suppress#{address}": {"reason": "hard-bounced" if feedback == "bounce" else "complained"}},
            ),
            dedupe_key=f"feedback#{ses_id}#{address}#{feedback}",
            correlation_id=ses_id or address,
        )
        count += 1
    return count


def invoke(svc: Services, event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {"suppressed": record_feedback(svc, event.get("detail") or {})}


handler = lambda_handler(invoke, logger, metrics)
