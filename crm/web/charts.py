"""Server-rendered SVG charts: the geometry here, the drawing in ``templates/charts.html``
(no script, no inline style: the Content-Security-Policy allows neither)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crm.stats import OUTCOMES

WIDTH, HEIGHT, MARGIN = 640, 220, 30
COLOURS = {"accepted": "#2e7d32", "auto-reply": "#9e9d24", "released": "#1565c0", "quarantined": "#c62828", "score": "#6a1b9a"}


@dataclass(frozen=True)
class Bar:
    x: float
    y: float
    width: float
    height: float
    colour: str
    label: str  # the tooltip: what the bar counts


@dataclass(frozen=True)
class Chart:
    bars: list[Bar]
    ticks: list[tuple[float, str]]  # (x, label) under the axis
    top: int  # the highest count: the y scale
    width: int = WIDTH
    height: int = HEIGHT
    margin: int = MARGIN

    @property
    def base(self) -> int:
        return self.height - self.margin


def _slots(count: int) -> float:
    return (WIDTH - 2 * MARGIN) / max(count, 1)


def weekly_chart(weeks: list[dict[str, Any]]) -> Chart:
    """Stacked bars: one per week, one segment per outcome.

    >>> c = weekly_chart([{"week": "2026-11-30", "accepted": 3, "auto-reply": 0, "released": 1, "quarantined": 2}])
    >>> [(b.label, round(b.height)) for b in c.bars], c.top  # 160 px of plot for the 6 mails
    ([('2026-11-30 accepted: 3', 80), ('2026-11-30 released: 1', 27), ('2026-11-30 quarantined: 2', 53)], 6)
    """
    top = max((sum(w[o] for o in OUTCOMES) for w in weeks), default=0) or 1
    slot, plot = _slots(len(weeks)), HEIGHT - 2 * MARGIN
    bars, ticks = [], []
    for index, week in enumerate(weeks):
        x, y = MARGIN + index * slot + slot * 0.1, float(HEIGHT - MARGIN)
        for outcome in OUTCOMES:
            if week[outcome]:
                height = plot * week[outcome] / top
                y -= height
                bars.append(Bar(x, y, slot * 0.8, height, COLOURS[outcome], f"{week['week']} {outcome}: {week[outcome]}"))
        ticks.append((x + slot * 0.4, week["week"][5:]))
    return Chart(bars, ticks, top)


def score_chart(buckets: list[dict[str, Any]]) -> Chart:
    """One bar per score bucket (0-9, 10-19, ... 100)."""
    top = max((b["count"] for b in buckets), default=0) or 1
    slot, plot = _slots(len(buckets)), HEIGHT - 2 * MARGIN
    bars, ticks = [], []
    for index, bucket in enumerate(buckets):
        x = MARGIN + index * slot + slot * 0.1
        height = plot * bucket["count"] / top
        bars.append(
            Bar(
                x,
                HEIGHT - MARGIN - height,
                slot * 0.8,
                height,
                COLOURS["score"],
                f"score {bucket['from']}-{bucket['to']}: {bucket['count']}",
            )
        )
        ticks.append((x + slot * 0.4, str(bucket["from"])))
    return Chart(bars, ticks, top)
