"""Issue 19's goals, each beside the figure the run measured: met, not met, or not run."""

from __future__ import annotations

from typing import Any

from bench.report import table

COLD_START_RATIO = 1.3  # every handler's import and container build over ``import boto3``'s
DECISION_RATIO = 1.5  # the inbound decision over the bare ``email`` parse, median and p99
CALLS_PER_MAIL = 16.0  # AWS calls by the handlers per accepted mail
WRU_PER_MAIL = 20.0  # DynamoDB write request units per accepted mail
OUR_SHARE_OF_SES = 0.05  # everything but SES's fees, as a share of SES's fees


def _goal(name: str, target: str, figure: float | None, limit: float, shown: str) -> dict[str, Any]:
    status = "not run" if figure is None else "met" if figure <= limit else "not met"
    return {"goal": name, "target": target, "figure": figure, "shown": shown if figure is not None else "-", "status": status}


def evaluate(results: dict[str, Any]) -> list[dict[str, Any]]:
    goals = []
    cold = results.get("coldstart") or {}
    ratios = {m: row["ratio_to_boto3"] for m, row in (cold.get("modules") or {}).items() if "ratio_to_boto3" in row}
    worst = max(ratios, key=lambda m: ratios[m]) if ratios else None
    goals.append(
        _goal(
            "cold start, every handler",
            f"≤ {COLD_START_RATIO}× import boto3",
            ratios[worst] if worst else None,
            COLD_START_RATIO,
            f"{ratios[worst]:.2f}× (worst: {worst})" if worst else "",
        )
    )
    decision = results.get("decision") or {}
    median, p99 = decision.get("ratio_median"), decision.get("ratio_p99")
    both = max(median, p99) if median is not None and p99 is not None else None
    goals.append(
        _goal(
            "decision cost vs the bare parse",
            f"≤ {DECISION_RATIO}× median and p99",
            both,
            DECISION_RATIO,
            f"{median:.2f}× median, {p99:.2f}× p99" if both is not None else "",
        )
    )
    accepted = (results.get("calls") or {}).get("accepted") or {}
    mails = accepted.get("mails")
    calls = accepted.get("project_calls_total") if mails else None
    goals.append(
        _goal(
            "AWS calls per accepted mail",
            f"≤ {CALLS_PER_MAIL:g}",
            calls,
            CALLS_PER_MAIL,
            f"{calls:.1f}" if calls is not None else "",
        )
    )
    wru = (accepted.get("units") or {}).get("dynamodb_wru") if mails else None
    goals.append(
        _goal(
            "DynamoDB write units per accepted mail",
            f"≤ {WRU_PER_MAIL:g}",
            wru,
            WRU_PER_MAIL,
            f"{wru:.1f}" if wru is not None else "",
        )
    )
    ses, ours = accepted.get("usd_per_1000_mails_ses"), accepted.get("usd_per_1000_mails_ours")
    share = ours / ses if mails and ses and ours is not None else None
    goals.append(
        _goal(
            "our cost share of SES's fees",
            f"≤ {OUR_SHARE_OF_SES:.0%}",
            share,
            OUR_SHARE_OF_SES,
            f"{share:.1%} (${ours:.4f} vs SES ${ses:.4f} per 1,000)" if share is not None else "",
        )
    )
    return goals


def render(goals: list[dict[str, Any]]) -> str:
    rows = [[g["goal"], g["target"], g["shown"], g["status"]] for g in goals]
    return "Goals (issue 19)\n" + table(["goal", "target", "figure", "status"], rows)
