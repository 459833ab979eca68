"""Hostile mail: the slowest mail of each stage, against the median real mail.

Every mail of ``tests/hostile_corpus.py`` (nesting 10-10,000 deep, 10-10,000
parameters, 10-100,000 addresses, 100,000 headers and References, every codec name
Python knows, 1,000 and 3,000 attachments, a 40 MB mail, random mutations of real
mail) goes through each stage that handles a mail, timed once:

* decision: ``mail.parsing.parse`` and ``producers.decide.decide``;
* forward: ``mail.forward_builder.build_forward`` (the owner's copy);
* ack: ``mail.ack_builder.build_ack`` from the parsed subject and name;
* reply: ``mail.reply_builder.build_reply`` (as if the owner had sent that mail);
* extraction: ``consumers.attachments.extract_all`` (every attachment's text);
* projection: the conversation item folded from the decision's events.

The real mails (tests/corpus, examples, the shared fixtures) are timed the same
way, median of three runs each. The goals (issue 12): no mail under 1 MB costs more
than 50× the median real mail in any stage; no mail under 40 MB takes more than
2 s to decide.
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from typing import Any

from bench.decision import NobodyKnown
from bench.timing import median, ratio

STAGES = ("decision", "forward", "ack", "reply", "extraction", "projection")
RATIO_GOAL = 50.0
RATIO_BELOW = 1024 * 1024
DECISION_GOAL = 2.0
DECISION_BELOW = 40 * 1024 * 1024 + 1024 * 1024  # "40 MB" as the generator builds it, with its headers
_MAILBOX = "owner@private.example.net"
_COMPOSE: dict[str, Any] = {"public_address": "hello@example.com", "public_name": "Example", "private_mailbox": _MAILBOX}


def _stages() -> dict[str, Callable[[bytes, dict[str, Any]], Any]]:
    from consumers.attachments import extract_all
    from events import Envelope
    from mail import ack_builder, forward_builder, reply_builder
    from mail.parsing import parse
    from producers.decide import Inbound, Policy, decide
    from producers.patterns import DEFAULT_PATTERNS, compile_patterns
    from projections.conversations import fold

    policy = Policy(
        accepted_addresses=frozenset({"hello@example.com"}),
        private_mailbox=_MAILBOX,
        relay_domains=["linkedin.com"],
        public_domain="example.com",
    )
    patterns = compile_patterns(DEFAULT_PATTERNS)

    def decision(raw: bytes, state: dict[str, Any]) -> Any:
        mail = parse(raw)
        state["mail"] = mail
        state["decision"] = decide(
            Inbound(mail, state["receipt"], "b", "inbox/bench"), policy=policy, patterns=patterns, knowledge=NobodyKnown()
        )
        return state["decision"]

    def forward(raw: bytes, state: dict[str, Any]) -> Any:
        mail = state["mail"]
        return forward_builder.build_forward(
            raw,
            reply_to="t@reply.example.com",
            correspondent_name=mail.from_name,
            correspondent_address=mail.from_address,
            message_id="<fwd@example.com>",
            max_bytes=40 * 1024 * 1024,
            **_COMPOSE,
        )

    def ack(raw: bytes, state: dict[str, Any]) -> Any:
        mail = state["mail"]
        return ack_builder.build_ack(
            to=mail.from_address or "x@y.test",
            name=mail.from_name,
            subject=mail.subject,
            conversation_id="c1",
            in_reply_to=mail.message_id,
            references=[mail.message_id] if mail.message_id else [],
            message_id="<ack@example.com>",
            subject_template=ack_builder.DEFAULT_ACK_SUBJECT,
            text_template=ack_builder.DEFAULT_ACK_TEXT,
            html_template=ack_builder.DEFAULT_ACK_HTML,
            **{k: v for k, v in _COMPOSE.items() if k != "private_mailbox"},
        )

    def reply(raw: bytes, state: dict[str, Any]) -> Any:
        return reply_builder.build_reply(
            raw,
            to=["jane@x.test"],
            subject="Re: hi",
            in_reply_to=None,
            references=[],
            message_id="<reply@example.com>",
            strip=[],
            **_COMPOSE,
        )

    def extraction(raw: bytes, state: dict[str, Any]) -> Any:
        return extract_all(raw)

    def projection(raw: bytes, state: dict[str, Any]) -> Any:
        envelopes = [
            Envelope.new(event, stream_id=stream, version=i + 1, seed="bench", correlation_id="b")
            for i, (stream, event) in enumerate(state["decision"].events)
        ]
        return fold(envelopes)

    return {
        "decision": decision,
        "forward": forward,
        "ack": ack,
        "reply": reply,
        "extraction": extraction,
        "projection": projection,
    }


def _receipt() -> Any:
    """An authenticated delivery to the public address (the costlier, accepting path)."""
    from events.catalogue import Verdicts
    from producers.receipt import Receipt

    return Receipt(
        ses_message_id="bench-1",
        timestamp="2026-11-20T10:00:00Z",
        envelope_sender="jane@x.test",
        recipients=["hello@example.com"],
        verdicts=Verdicts(spam="PASS", virus="PASS", spf="PASS", dkim="PASS", dmarc="PASS"),
    )


def _time(stages: dict[str, Callable[[bytes, dict[str, Any]], Any]], raw: bytes, receipt: Any) -> dict[str, Any]:
    state: dict[str, Any] = {"receipt": receipt}
    seconds: dict[str, float] = {}
    errors: dict[str, str] = {}
    for name in STAGES:
        gc.collect()
        started = time.perf_counter()
        try:
            stages[name](raw, state)
        except Exception as exc:  # a traceback is a failed goal, not a failed bench
            errors[name] = f"{type(exc).__name__}: {exc}"[:200]
            if name == "decision":
                break
        seconds[name] = time.perf_counter() - started
    return {"seconds": seconds, "errors": errors}


def hostile_mails(quick: bool) -> list[tuple[str, bytes]]:
    from tests import hostile_corpus as hostile

    mails = list(hostile.sample(200_000 if quick else 10**9))
    names = hostile.codec_names()
    mails += [(f"charset-{n}", hostile.charset_mail(n)) for n in (names[::50] if quick else names)]
    mails += [(f"mutation-{i}", raw) for i, raw in enumerate(hostile.mutations(10 if quick else 200))]
    mails.append(("big-2mb" if quick else "big-40mb", hostile.big_mail(2 if quick else 40)))
    return mails


def run(quick: bool = False) -> dict[str, Any]:
    from tests import hostile_corpus as hostile

    stages = _stages()
    receipt = _receipt()
    real: dict[str, list[float]] = {s: [] for s in STAGES}
    for raw in hostile.real_mails():
        runs = [_time(stages, raw, receipt)["seconds"] for _ in range(1 if quick else 3)]
        for stage in STAGES:
            real[stage].append(median([r.get(stage, 0.0) for r in runs]))
    baseline = {s: median(v) for s, v in real.items()}
    rows: list[dict[str, Any]] = []
    for name, raw in hostile_mails(quick):
        timed = _time(stages, raw, receipt)
        rows.append({"name": name, "bytes": len(raw), **timed})
    worst: dict[str, Any] = {}
    for stage in STAGES:
        under = [r for r in rows if r["bytes"] < RATIO_BELOW and stage in r["seconds"]]
        slowest = max(under, key=lambda r: r["seconds"][stage], default=None)
        overall = max((r for r in rows if stage in r["seconds"]), key=lambda r: r["seconds"][stage], default=None)
        worst[stage] = {
            "median_real_seconds": baseline[stage],
            "slowest_under_1mb": slowest
            and {
                "name": slowest["name"],
                "bytes": slowest["bytes"],
                "seconds": slowest["seconds"][stage],
                "ratio": ratio(slowest["seconds"][stage], baseline[stage]),
            },
            "slowest": overall and {"name": overall["name"], "bytes": overall["bytes"], "seconds": overall["seconds"][stage]},
        }
    decisions = [r for r in rows if r["bytes"] < DECISION_BELOW and "decision" in r["seconds"]]
    slowest_decision = max(decisions, key=lambda r: r["seconds"]["decision"], default=None)
    return {
        "real_mails": len(real["decision"]),
        "hostile_mails": len(rows),
        "tracebacks": [{"name": r["name"], "errors": r["errors"]} for r in rows if r["errors"]],
        "stages": worst,
        "goals": {
            "ratio_under_1mb": {
                "goal": RATIO_GOAL,
                "met": all((w["slowest_under_1mb"] or {}).get("ratio", 0) <= RATIO_GOAL for w in worst.values()),
            },
            "decision_under_40mb": {
                "goal_seconds": DECISION_GOAL,
                "slowest": slowest_decision
                and {"name": slowest_decision["name"], "seconds": slowest_decision["seconds"]["decision"]},
                "met": slowest_decision is not None and slowest_decision["seconds"]["decision"] <= DECISION_GOAL,
            },
            "no_traceback": {"met": not any(r["errors"] for r in rows)},
        },
        "mails": rows,
    }


def render(r: dict[str, Any]) -> str:
    from bench.report import table

    rows = []
    for stage, w in r["stages"].items():
        under = w["slowest_under_1mb"] or {}
        overall = w["slowest"] or {}
        rows.append(
            [
                stage,
                w["median_real_seconds"] * 1000,
                under.get("name", "-"),
                under.get("seconds", 0) * 1000,
                under.get("ratio", 0),
                overall.get("name", "-"),
                overall.get("seconds", 0),
            ]
        )
    goals = r["goals"]
    decision = goals["decision_under_40mb"]
    lines = [
        f"Hostile mail: {r['hostile_mails']} generated mails against the median of {r['real_mails']} real mails",
        table(["stage", "real median ms", "slowest < 1 MB", "its ms", "× real", "slowest of all", "its s"], rows),
        f"  goal: every stage ≤ {goals['ratio_under_1mb']['goal']:g}× the real median under 1 MB: "
        f"{'met' if goals['ratio_under_1mb']['met'] else 'NOT met'}",
        f"  goal: decision ≤ {decision['goal_seconds']:g} s under 40 MB (slowest "
        f"{(decision['slowest'] or {}).get('name')}: {(decision['slowest'] or {}).get('seconds', 0):.2f} s): "
        f"{'met' if decision['met'] else 'NOT met'}",
        f"  goal: no traceback in any stage: {'met' if goals['no_traceback']['met'] else 'NOT met'}"
        + "".join(f"\n    {t['name']}: {t['errors']}" for t in r["tracebacks"][:10]),
    ]
    return "\n".join(lines)
