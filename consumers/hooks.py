"""The rules consumer: runs the one rule EventBridge matched, records what it returns.

Each rule's EventBridge target wraps the event as ``{"rule": name, "event": ...}``
(on the local stack the bus does the same after matching in-process,
:mod:`adapters.rule_routing`), so this consumer never matches patterns itself. A failing rule fails only its own
message (partial batch failure): it retries with backoff, then goes to the DLQ,
while other rules and the mail flow go on.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import partial
from typing import Any

from bootstrap import lambda_handler, rules
from consumers.declaration import Consumer
from consumers.queue_batch import run_batch
from consumers.rules.registry import OutboundMail, Registry
from consumers.senders.sending import send_once
from events import DomainEvent, Envelope
from events.base import utc_text
from events.streams import conversation_stream
from mail.notice_builder import build_notice
from observability import logger_for, metrics_for
from ports import Outgoing, Plan, Services
from projections.pointer import current_table

# fed by one EventBridge rule per hook rule (Consumer.with_rules): its patterns are the registry's
CONSUMER = Consumer("rules", f"{__name__}.handler", DomainEvent, wraps_rule_name=True)
logger = logger_for("rules")
metrics = metrics_for("rules")

# stream -> the version this invocation's own last commit to it left: within one batch only
# (between invocations other writers move the streams on)
_heads: dict[str, int] = {}


@dataclass
class ServiceContext:
    """The read-only view a rule gets."""

    svc: Services
    now: str

    def conversation(self, conversation_id: str) -> Mapping[str, Any] | None:
        return self.svc.projections.table(current_table(self.svc)).get(conversation_id)

    def stream(self, stream_id: str) -> list[Envelope]:
        return self.svc.store.read(stream_id)

    def setting(self, name: str) -> Any:
        return getattr(self.svc.settings, name)


def outputs_of(result: Iterable[DomainEvent | OutboundMail] | None) -> tuple[list[DomainEvent], list[OutboundMail]]:
    events, mails = [], []
    for output in result or []:
        if isinstance(output, OutboundMail):
            mails.append(output)
        elif isinstance(output, DomainEvent):
            events.append(output)
        else:
            raise TypeError(f"a rule may return events and OutboundMail, not {type(output).__name__}")
    return events, mails


def notice_mail(svc: Services, mail: OutboundMail, message_id: str) -> bytes:
    s = svc.settings
    return build_notice(
        public_address=s.public_address,
        public_name=s.public_name,
        private_mailbox=s.private_mailbox,
        subject=mail.subject,
        text=mail.text,
        message_id=message_id,
    )


def run_rule(svc: Services, registry: Registry, rule_name: str, envelope: Envelope, now: str | None = None) -> None:
    rule = registry.get(rule_name)
    context = ServiceContext(svc, now or utc_text())
    events, mails = outputs_of(rule.function(envelope, context))
    conversation_id = getattr(envelope.event, "conversation_id", None)
    stream = conversation_stream(conversation_id) if conversation_id else f"rule#{rule_name}"
    if events:
        placed = [
            (conversation_stream(getattr(e, "conversation_id", None) or "") if getattr(e, "conversation_id", None) else stream, e)
            for e in events
        ]
        # the first attempt appends after the heads this batch's own commits left (the rules
        # of one event write one conversation, one after the other), with no read of the
        # stream; a writer in between makes it conflict, and the retry (unpinned) reads
        pins = {stream_id: _heads[stream_id] for stream_id, _e in placed if stream_id in _heads}

        def plan() -> Plan:
            pinned = Plan(events=placed, expected_versions=dict(pins))
            pins.clear()
            return pinned

        commit = svc.recorder.record(
            plan,
            dedupe_key=f"rule#{rule_name}#{envelope.event_id}",
            correlation_id=envelope.meta.correlation_id,
            causation_id=envelope.event_id,
        )
        if not commit.duplicate:
            for written in commit.envelopes:
                _heads[written.stream_id] = max(_heads.get(written.stream_id, 0), written.meta.version)
    for index, mail in enumerate(mails):
        message_id = f"<{mail.kind}.{rule_name}.{envelope.event_id}.{index}@{svc.settings.domain}>"
        # only the owner ever receives rule mail: a rule cannot write to correspondents
        send_once(
            svc,
            envelope,
            kind=f"{mail.kind}:{rule_name}:{index}",
            conversation_id=conversation_id or "",
            stream_id=stream,
            build=partial(_owner_mail, svc, mail, message_id),
        )


def _owner_mail(svc: Services, mail: OutboundMail, message_id: str) -> Outgoing:
    return Outgoing(
        mail.kind,
        svc.settings.public_address,
        [svc.settings.private_mailbox],
        notice_mail(svc, mail, message_id),
        mail.subject,
        message_id,
    )


def handle(svc: Services, envelope: Envelope, body: dict[str, Any]) -> None:
    rule_name = body.get("rule")
    if not rule_name:
        raise ValueError("rules queue message without the matched rule's name")
    run_rule(svc, rules(svc.settings.rules_module), str(rule_name), envelope)


def invoke(svc: Services, event: dict[str, Any], context: Any) -> dict[str, Any]:
    _heads.clear()
    return run_batch(svc, event, context, logger=logger, metrics=metrics, handle=handle, side_effects=CONSUMER.side_effects)


handler = lambda_handler(invoke, logger, metrics)
