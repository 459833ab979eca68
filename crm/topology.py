"""The one description of the deployed shape: consumers, their queues and the
EventBridge patterns that feed them. The local stack provisions from it and
`crm infra export` writes it for OpenTofu, so the two cannot drift apart."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

ALL_OUR_EVENTS: dict[str, Any] = {"source": [{"prefix": "crm."}]}
RULES_CONSUMER = "rules"  # the consumer (and queue suffix) every hook rule feeds


@dataclass(frozen=True)
class Consumer:
    name: str  # queue suffix and function name
    handler: str  # module:function Lambda calls
    patterns: dict[str, dict[str, Any]]  # EventBridge rule name -> pattern
    timeout_seconds: int = 60
    side_effects: bool = True  # False: safe to receive archive replays
    batch_size: int = 10
    reserved_concurrency: int | None = None
    wraps_rule_name: bool = False  # target input carries the rule's name (rules queue)


def consumers(rule_patterns: dict[str, dict[str, Any]] | None = None) -> list[Consumer]:
    """Every queue-fed consumer. ``rule_patterns`` are the registered hook rules."""
    if rule_patterns is None:
        from consumers.rules.registry import default_registry

        rule_patterns = {r.name: r.pattern for r in default_registry().rules()}
    return [
        Consumer(
            "ack",
            "consumers.senders.ack.handler",
            {"crm-ack": {"source": ["crm.inbound", "crm.admin"], "detail-type": ["FirstContact"],
                         "detail": {"data": {"acknowledge": [True]}}}},
            reserved_concurrency=2,
        ),
        Consumer(
            "forward",
            "consumers.senders.forward.handler",
            {"crm-forward": {"source": ["crm.inbound", "crm.admin"], "detail-type": ["MessageReceived"]}},
            reserved_concurrency=2,
        ),
        Consumer(
            "reply",
            "consumers.senders.reply.handler",
            {"crm-reply": {"source": ["crm.reply"], "detail-type": ["ReplyRouted"],
                           "detail": {"data": {"send": [True]}}}},
            reserved_concurrency=2,
        ),
        Consumer(
            "projector",
            "consumers.projector.handler",
            {"crm-projector": ALL_OUR_EVENTS},
            side_effects=False,
        ),
        Consumer(
            "attachments",
            "consumers.attachments.handler",
            {"crm-attachments": {"source": ["crm.inbound", "crm.admin"], "detail-type": ["MessageReceived"],
                                 "detail": {"data": {"attachment_count": [{"numeric": [">", 0]}]}}}},
            timeout_seconds=120,
            batch_size=1,  # one mail may use most of the timeout (Settings.attachments_budget_seconds)
        ),
        Consumer(
            RULES_CONSUMER,
            "consumers.hooks.handler",
            {f"crm-rule-{name}": pattern for name, pattern in sorted(rule_patterns.items())},
            wraps_rule_name=True,
        ),
    ]


PRODUCERS = {
    "inbound": "producers.inbound.handler",
    "reply": "producers.reply.handler",
    "ses-feedback": "consumers.feedback.handler",
    "followups": "consumers.followups_schedule.handler",
}


def rule_input_template(rule_name: str) -> str:
    """Rules-queue targets wrap the event with the name of the rule that matched, so
    the hooks consumer runs exactly the rule EventBridge chose and matches nothing itself."""
    return '{"rule":' + json.dumps(rule_name) + ',"event":<aws.events.event.json>}'


def export(rule_patterns: dict[str, dict[str, Any]] | None = None, prefix: str = "crm-") -> dict[str, Any]:
    """The shape as plain data, for OpenTofu (``crm infra export``)."""
    return {
        "consumers": {
            c.name: {
                "queue": f"{prefix}{c.name}",
                "dlq": f"{prefix}{c.name}-dlq",
                "handler": c.handler,
                "timeout": c.timeout_seconds,
                "batch_size": c.batch_size,
                "side_effects": c.side_effects,
                "reserved_concurrency": c.reserved_concurrency,
                "rules": {
                    name: {
                        "pattern": json.dumps(p, sort_keys=True),
                        "input_template": rule_input_template(name.removeprefix("crm-rule-"))
                        if c.wraps_rule_name
                        else None,
                    }
                    for name, p in c.patterns.items()
                },
            }
            for c in consumers(rule_patterns)
        },
        "producers": PRODUCERS,
    }
