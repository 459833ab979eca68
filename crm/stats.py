"""`crm stats`: mails per week by outcome, the lead score histogram, conversations per status.

The weekly counts come from the event log (one decision per mail: accepted,
auto-reply, released or quarantined), the scores from the conversations projection.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from typing import Any

from events import Envelope, MessageReceived, SpamRejected
from ports import Services

OUTCOMES = ("accepted", "auto-reply", "released", "quarantined")
SCORE_BUCKET = 10  # the histogram's bar width, in score points


def outcome_of(envelope: Envelope) -> str | None:
    """What became of the mail an event records, or None for an event that records no mail."""
    event = envelope.event
    if isinstance(event, SpamRejected):
        return "quarantined"
    if isinstance(event, MessageReceived):
        if event.released:
            return "released"
        return "auto-reply" if event.auto_reply_reason else "accepted"
    return None


def week_of(moment: str) -> str:
    """The Monday (ISO week start) of an ISO 8601 time.

    >>> week_of("2026-12-03T17:33:29Z"), week_of("2026-11-30")
    ('2026-11-30', '2026-11-30')
    """
    day = datetime.fromisoformat(moment.replace("Z", "+00:00")).date() if "T" in moment else date.fromisoformat(moment)
    return (day - timedelta(days=day.weekday())).isoformat()


def weekly_outcomes(envelopes: list[Envelope]) -> list[dict[str, Any]]:
    """[{"week": Monday, "accepted": n, ...}] for every week from the first mail to the last (empty weeks too)."""
    weeks: dict[str, Counter[str]] = defaultdict(Counter)
    for envelope in envelopes:
        outcome = outcome_of(envelope)
        if outcome:
            when = getattr(envelope.event, "received_at", None) or envelope.meta.occurred_at
            weeks[week_of(str(when))][outcome] += 1
    if not weeks:
        return []
    first, last = date.fromisoformat(min(weeks)), date.fromisoformat(max(weeks))
    rows = []
    while first <= last:
        counts = weeks.get(first.isoformat(), Counter())
        rows.append({"week": first.isoformat(), **{o: counts[o] for o in OUTCOMES}})
        first += timedelta(days=7)
    return rows


def score_histogram(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """[{"from": 0, "to": 9, "count": n}, ...] over 0-100, for the conversations that have a score."""
    counts = Counter(min(int(i["lead_score"]), 100) // SCORE_BUCKET for i in items if "lead_score" in i)
    return [
        {"from": b * SCORE_BUCKET, "to": min(b * SCORE_BUCKET + SCORE_BUCKET - 1, 100), "count": counts[b]}
        for b in range(100 // SCORE_BUCKET + 1)
    ]


def mail_stats(svc: Services) -> dict[str, Any]:
    from crm.views import status_counts, table

    items = [i for i in table(svc).scan() if "contact" in i]
    return {"weeks": weekly_outcomes(svc.store.all_events()), "scores": score_histogram(items), "statuses": status_counts(svc)}


def stats_lines(stats: dict[str, Any]) -> list[str]:
    lines = ["mails per week (" + ", ".join(OUTCOMES) + "):"]
    lines += [f"  {w['week']}  " + "  ".join(f"{w[o]:>3}" for o in OUTCOMES) for w in stats["weeks"]]
    lines.append("lead scores:")
    lines += [f"  {b['from']:>3}-{b['to']:<3} {b['count']:>3} {'#' * b['count']}" for b in stats["scores"]]
    lines.append("conversations per status:")
    lines += [f"  {status:<15} {count}" for status, count in stats["statuses"].items()]
    return lines
