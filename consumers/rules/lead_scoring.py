"""Built-in rule: score every conversation that receives mail.

Signals and weights are configuration (``CRM_LEAD_WEIGHTS`` as JSON overrides any of
:data:`DEFAULT_WEIGHTS`); the reasons travel on ``LeadScored``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from consumers.rules.registry import RuleContext, rule
from events import Envelope, LeadScored, MessageReceived
from mail.freemail import is_freemail

DEFAULT_WEIGHTS: dict[str, int] = {
    "company_domain": 20,
    "title": 15,
    "opportunity_wording": 20,
    "linkedin": 10,
    "job_attachment": 10,
    "per_extra_message": 5,
    "thread_cap": 15,
    "answered_after_owner": 10,
    "fast_answer": 15,
    "fast_answer_hours": 48,
}
BANDS = (("hot", 60), ("warm", 30), ("cold", 0))
_WORDING = re.compile(
    r"\b(recruit\w*|opportunit\w+|role|position|hiring|job|interview\w*|offer|headhunt\w*|vacanc\w+|contract)\b",
    re.IGNORECASE,
)
_JOB_FILE = re.compile(r"(job|description|jd|role|position|spec)", re.IGNORECASE)


def band(score: int) -> str:
    return next(name for name, floor in BANDS if score >= floor)


def score_message(
    data: MessageReceived, conversation: Mapping[str, Any] | None, weights: Mapping[str, int]
) -> tuple[int, list[str]]:
    """Pure scoring: (score 0..100, reasons)."""
    w = {**DEFAULT_WEIGHTS, **weights}
    score, reasons = 0, []
    domain = (data.from_address or "").rpartition("@")[2]
    if data.company or (domain and not is_freemail(domain) and data.source_channel == "direct"):
        score += w["company_domain"]
        reasons.append(f"company {data.company or domain} (+{w['company_domain']})")
    if data.title:
        score += w["title"]
        reasons.append(f"title {data.title!r} (+{w['title']})")
    if _WORDING.search(f"{data.subject}\n{data.preview}"):
        score += w["opportunity_wording"]
        reasons.append(f"opportunity wording (+{w['opportunity_wording']})")
    if data.source_channel == "linkedin":
        score += w["linkedin"]
        reasons.append(f"LinkedIn (+{w['linkedin']})")
    earlier = [str(name) for name in (conversation or {}).get("attachments") or []]
    if any(_JOB_FILE.search(name) for name in [a.filename for a in data.attachments] + earlier):
        score += w["job_attachment"]
        reasons.append(f"job description attached (+{w['job_attachment']})")
    messages_in = int((conversation or {}).get("messages_in", 1) or 1)
    if messages_in > 1:
        extra = min(w["per_extra_message"] * (messages_in - 1), w["thread_cap"])
        score += extra
        reasons.append(f"{messages_in} messages in the thread (+{extra})")
    last_out = str((conversation or {}).get("last_outbound") or "")
    if last_out and data.received_at > last_out:
        hours = (_moment(data.received_at) - _moment(last_out)).total_seconds() / 3600
        if hours <= w["fast_answer_hours"]:
            score += w["fast_answer"]
            reasons.append(f"answered your reply within {hours:.0f} h (+{w['fast_answer']})")
        else:
            score += w["answered_after_owner"]
            reasons.append(f"answered your reply after {hours / 24:.0f} days (+{w['answered_after_owner']})")
    return min(score, 100), reasons


def _moment(timestamp: str) -> datetime:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00"))


@rule(
    "lead-scoring",
    pattern={
        "source": ["crm.inbound", "crm.admin"],
        "detail-type": ["MessageReceived"],
        "detail": {"data": {"from_owner": [False]}},
    },
)
def lead_scoring(event: Envelope, context: RuleContext) -> Iterable[LeadScored]:
    """Score the conversation from weighted signals; emit LeadScored with the reasons."""
    data = event.event
    assert isinstance(data, MessageReceived)
    score, reasons = score_message(data, context.conversation(data.conversation_id), context.setting("lead_weights") or {})
    return [LeadScored(conversation_id=data.conversation_id, score=score, band=band(score), reasons=reasons)]
