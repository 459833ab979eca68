"""EventBridge operations of the admin commands: archive replays restricted to chosen
rules. (Whether a pattern matches is answered in-process: events.pattern_match.)"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from adapters.aws import client


def start_archive_replay(
    region: str,
    endpoint_url: str | None,
    *,
    bus_name: str,
    archive_name: str,
    rule_names: list[str],
    start: datetime,
    end: datetime,
    name: str,
) -> dict[str, Any]:
    """Replay the archive to ``rule_names`` only (``FilterArns``)."""
    events = client("events", region, endpoint_url)
    bus_arn = events.describe_event_bus(Name=bus_name)["Arn"]
    archive_arn = events.describe_archive(ArchiveName=archive_name)["ArchiveArn"]
    rule_arns = [events.describe_rule(Name=rule, EventBusName=bus_name)["Arn"] for rule in rule_names]
    response = events.start_replay(
        ReplayName=name,
        EventSourceArn=archive_arn,
        EventStartTime=start,
        EventEndTime=end,
        Destination={"Arn": bus_arn, "FilterArns": rule_arns},
    )
    return {"replay": name, "state": response.get("State"), "rules": rule_arns}
