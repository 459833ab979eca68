"""``python -m bench.rule_matching``: the in-process hook-rule matcher's cost.

The local bus matches every published event against every hook rule
(:mod:`adapters.rule_routing`), so its cost is events x rules x one match. This times
:func:`events.pattern_match.matches` and :func:`events.pattern_rules.validate_pattern`
over the case table's valid patterns (every operator) and the built-in rules, each
against the documentation's event and a MessageReceived-shaped one.
"""

from __future__ import annotations

import argparse
import time
from typing import Any

from bench.timing import summary

MESSAGE_RECEIVED: dict[str, Any] = {
    "version": "0",
    "id": "5f2c1c1e-0000-4000-8000-000000000001",
    "detail-type": "MessageReceived",
    "source": "crm.inbound",
    "account": "123456789012",
    "time": "2026-12-03T14:00:00Z",
    "region": "us-east-1",
    "resources": [],
    "detail": {
        "meta": {
            "event_id": "e1",
            "stream_id": "conversation#c1",
            "version": 1,
            "occurred_at": "2026-12-03T14:00:00Z",
            "schema_version": 2,
            "correlation_id": "m1",
            "causation_id": None,
        },
        "data": {
            "from_address": "jane.doe@acmerobotics.com",
            "from_name": "Jane Doe",
            "attachment_count": 2,
            "subject": "Staff Platform Engineer role",
            "conversation_id": "c1",
        },
    },
}


def run(repeat: int = 2000) -> dict[str, Any]:
    from bootstrap import rules as hook_rules
    from events.pattern_match import matches
    from events.pattern_rules import validate_pattern
    from tests.eventbridge_cases import BASE_EVENT, CASES, INVALID

    patterns = [c.pattern for c in CASES if c.expected != INVALID] + list(hook_rules().patterns().values())
    events = [BASE_EVENT, MESSAGE_RECEIVED]
    match_times, validate_times = [], []
    for pattern in patterns:
        t0 = time.perf_counter()
        for _ in range(repeat):
            validate_pattern(pattern)
        validate_times.append((time.perf_counter() - t0) / repeat * 1e6)
        for event in events:
            t0 = time.perf_counter()
            for _ in range(repeat):
                matches(pattern, event)
            match_times.append((time.perf_counter() - t0) / repeat * 1e6)
    return {
        "patterns": len(patterns),
        "events": len(events),
        "repeat": repeat,
        "match_us": summary(match_times),
        "validate_us": summary(validate_times),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.rule_matching", description=__doc__)
    parser.add_argument("--repeat", type=int, default=2000, help="timed calls per (pattern, event)")
    args = parser.parse_args(argv)
    result = run(args.repeat)
    match, validate = result["match_us"], result["validate_us"]
    print(f"{result['patterns']} patterns x {result['events']} events, {args.repeat} calls each")
    print(f"  matches():          median {match['median']:.2f} us, p99 {match['p99']:.2f} us, max {match['max']:.2f} us")
    print(f"  validate_pattern(): median {validate['median']:.2f} us, p99 {validate['p99']:.2f} us")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
