"""The pieces of the EventBridge pattern-case table (``tests/eventbridge_cases``): the expected
outcomes, the documentation's EC2 event and a case."""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

MATCH, NO_MATCH, INVALID = "match", "no match", "invalid"

BASE_EVENT: dict[str, Any] = {
    "version": "0",
    "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "111122223333",
    "time": "2017-12-22T18:43:48Z",
    "region": "us-west-1",
    "resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"],
    "detail": {"instance-id": "i-1234567890abcdef0", "state": "terminated"},
}


def event(detail: dict[str, Any] | None = None, **top: Any) -> dict[str, Any]:
    """The documentation's EC2 event, with ``detail`` replaced and top-level fields set
    (``detail_type`` for ``detail-type``)."""
    result = copy.deepcopy(BASE_EVENT)
    if detail is not None:
        result["detail"] = detail
    for key, value in top.items():
        result[key.replace("_", "-")] = value
    return result


@dataclass(frozen=True)
class Case:
    operator: str
    name: str
    pattern: Any
    event: dict[str, Any]
    expected: str

    @property
    def id(self) -> str:
        return f"{self.operator}:{self.name}"


# add(operator, name, pattern, event, expected)
Add = Callable[[str, str, Any, dict[str, Any], str], None]
