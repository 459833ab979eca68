"""Inbound decision cost per mail, against the bare ``email`` parse as the floor.

Per mail and repetition, in one pass:

* floor: ``email.message_from_bytes(raw, policy=policy.default)`` — what any
  Python mail handler pays at least (``mail.parsing.parse`` starts with it);
* parse: ``mail.parsing.parse(raw)`` (headers, MIME walk, decoding, HTML to text);
* decide: ``producers.decide.decide`` — the three spam stages (SES verdicts,
  recipients, PCRE2 patterns), identity (contact, conversation, company, title),
  loop protection, and building the typed events;
* events: each planned event wrapped in an ``Envelope`` and serialised to its
  event-store record and its PutEvents entry, as the commit and publish do.

Each mail's time is the median over the repetitions; median and p99 are then
taken over the corpus. The knowledge (event store) is an in-memory stand-in that
knows nobody, so every accepted mail also plans ``FirstContact`` (the costlier path).
"""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass
from email import message_from_bytes, policy
from typing import Any

from bench.corpus import PUBLIC_ADDRESS, Sample
from bench.timing import median, percentile, ratio


class NobodyKnown:
    """A decision's knowledge of a fresh stack: nothing known, the quota untouched."""

    def conversation_for(self, message_ids: list[str]) -> str | None:
        return None

    def contact_known(self, contact: str) -> bool:
        return False

    def address_suppressed(self, address: str) -> str | None:
        return None

    def last_version(self, stream_id: str) -> int:
        return 0


@dataclass
class _PerMail:
    name: str
    size: int
    floor: float
    parse: float
    decide: float
    events: float
    outcome: str

    @property
    def total(self) -> float:
        return self.parse + self.decide + self.events


def _medians(values: tuple[list[float], ...]) -> tuple[float, float, float, float]:
    floor, parse, decide, events = (median(v) for v in values)
    return floor, parse, decide, events


def _once(
    sample: Sample,
    index: int,
    policy_: Any,
    patterns: Any,
    knowledge: NobodyKnown,
    into: tuple[list[float], list[float], list[float], list[float]],
) -> str:
    """One timed repetition of one mail: appends (floor, parse, decide, events) to ``into``."""
    from events import Envelope, to_entry, to_record
    from events.catalogue import Verdicts
    from mail.parsing import parse
    from producers.decide import Inbound, decide
    from producers.receipt import Receipt

    verdicts = Verdicts(spam="PASS", virus="PASS", spf="PASS", dkim="PASS", dmarc="PASS")
    receipt = Receipt(
        ses_message_id=f"bench-{index:06d}",
        timestamp="2026-11-23T10:00:00.000Z",
        envelope_sender=None,
        recipients=[PUBLIC_ADDRESS],
        verdicts=verdicts,
        bucket="crm-mail",
        object_key=f"inbox/bench-{index:06d}",
    )
    t0 = time.perf_counter()
    message_from_bytes(sample.raw, policy=policy.default)
    t1 = time.perf_counter()
    mail = parse(sample.raw)
    t2 = time.perf_counter()
    decision = decide(
        Inbound(mail, receipt, "crm-mail", receipt.object_key or ""),
        policy=policy_,
        patterns=patterns,
        knowledge=knowledge,
    )
    t3 = time.perf_counter()
    for version, (stream_id, event) in enumerate(decision.events, start=1):
        envelope = Envelope.new(
            event,
            stream_id=stream_id,
            version=version,
            seed=f"message#inbound#{receipt.ses_message_id}",
            correlation_id=receipt.ses_message_id,
        )
        to_record(envelope)
        to_entry(envelope, "crm")
    t4 = time.perf_counter()
    for values, seconds in zip(into, (t1 - t0, t2 - t1, t3 - t2, t4 - t3), strict=True):
        values.append(seconds)
    return decision.outcome if decision.outcome == "accepted" else f"rejected ({decision.reason})"


def run(samples: list[Sample], repetitions: int) -> dict[str, Any]:
    from producers.decide import Policy
    from producers.patterns import DEFAULT_PATTERNS, compile_patterns

    patterns = compile_patterns(DEFAULT_PATTERNS)
    policy_ = Policy(
        accepted_addresses=frozenset([PUBLIC_ADDRESS]),
        private_mailbox="owner@private.example.net",
        relay_domains=["linkedin.com"],
        public_domain="example.com",
    )
    knowledge = NobodyKnown()
    errors: dict[int, dict[str, str]] = {}
    outcomes: dict[int, str] = {}
    timings: dict[int, tuple[list[float], list[float], list[float], list[float]]] = {
        index: ([], [], [], []) for index in range(len(samples))
    }
    gc.collect()
    # Round-robin: repetition r of every mail, then r + 1. A mail's repeats then find the
    # header cache (mail.bounded) as a warm Lambda would, holding other mails' values,
    # never its own from the run before.
    for _ in range(repetitions):
        for index, sample in enumerate(samples):
            if index in errors:
                continue
            try:
                outcomes[index] = _once(sample, index, policy_, patterns, knowledge, timings[index])
            except Exception as exc:
                errors[index] = {"mail": sample.name, "error": f"{type(exc).__name__}: {exc}"}
    results = [
        _PerMail(sample.name, len(sample.raw), *_medians(timings[index]), outcomes[index])
        for index, sample in enumerate(samples)
        if index not in errors
    ]
    counts: dict[str, int] = {}
    for outcome in (r.outcome for r in results):
        key = "accepted" if outcome == "accepted" else "rejected"
        counts[key] = counts.get(key, 0) + 1

    def dist(values: list[float]) -> dict[str, float]:
        return {"median_us": median(values) * 1e6, "p99_us": percentile(values, 99) * 1e6}

    totals = [r.total for r in results]
    floors = [r.floor for r in results]
    per_mail_ratios = [ratio(r.total, r.floor) for r in results]
    slowest = sorted(results, key=lambda r: r.total, reverse=True)[:5]
    return {
        "mails": len(results),
        "repetitions": repetitions,
        "outcomes": counts,
        "errors": list(errors.values()),
        "bytes_median": median([r.size for r in results]),
        "bytes_max": max((r.size for r in results), default=0),
        "decision": dist(totals),
        "floor": dist(floors),
        "components": {
            "parse": dist([r.parse for r in results]),
            "decide": dist([r.decide for r in results]),
            "events": dist([r.events for r in results]),
        },
        "ratio_median": ratio(median(totals), median(floors)),
        "ratio_p99": ratio(percentile(totals, 99), percentile(floors, 99)),
        "per_mail_ratio": {"median": median(per_mail_ratios), "p99": percentile(per_mail_ratios, 99)},
        "slowest": [
            {"mail": r.name, "bytes": r.size, "total_us": r.total * 1e6, "floor_us": r.floor * 1e6, "outcome": r.outcome}
            for r in slowest
        ],
    }
