"""The one description of the deployed shape: consumers, their queues and the
EventBridge patterns that feed them. Each consumer is declared in its handler module
(:class:`consumers.declaration.Consumer`); this module only lists them. The local
stack provisions from it and `crm infra export` writes it for OpenTofu, so the two
cannot drift apart."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from consumers import attachments, hooks, projector
from consumers.declaration import Consumer, Pattern
from consumers.senders import ack, forward, reply

__all__ = ["PRODUCERS", "RULES_CONSUMER", "Consumer", "consumers", "export", "rule_input_template"]

RULES_CONSUMER = hooks.CONSUMER.name  # the consumer (and queue suffix) every hook rule feeds


def consumers(rule_patterns: Mapping[str, Pattern] | None = None) -> list[Consumer[Any]]:
    """Every queue-fed consumer. ``rule_patterns``: the registered hook rules by name
    (:func:`bootstrap.rule_patterns`; None: the built-in ones)."""
    if rule_patterns is None:
        from bootstrap import rule_patterns as registered

        rule_patterns = registered()
    return [
        ack.CONSUMER,
        forward.CONSUMER,
        reply.CONSUMER,
        projector.CONSUMER,
        attachments.CONSUMER,
        hooks.CONSUMER.with_rules(rule_patterns),
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


def export(rule_patterns: Mapping[str, Pattern] | None = None, prefix: str = "crm-") -> dict[str, Any]:
    """The shape as plain data, for OpenTofu (``crm infra export``)."""
    return {
        "consumers": {
            c.name: {
                "queue": f"{prefix}{c.name}",
                "dlq": f"{prefix}{c.name}-dlq",
                "handler": c.handler,
                "timeout": c.timeout_seconds,
                "batch_size": c.batch_size,
                "batching_window_seconds": c.batching_window_seconds,
                "side_effects": c.side_effects,
                "reserved_concurrency": c.reserved_concurrency,
                "rules": {
                    name: {
                        "pattern": json.dumps(p, sort_keys=True),
                        "input_template": None if (rule := c.rule_of(name)) is None else rule_input_template(rule),
                    }
                    for name, p in c.patterns.items()
                },
            }
            for c in consumers(rule_patterns)
        },
        "producers": PRODUCERS,
    }
