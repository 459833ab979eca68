"""The case table against moto's EventBridge: a cross-check of our matcher where moto
can express the case, and a record of where moto is not AWS.

A case runs when its pattern tests only fields a PutEvents entry sets (``source``,
``detail-type``, ``detail``, ``resources``, ``time``): moto stamps ``id``, ``account``,
``region`` and ``version`` itself. Where moto's answer differs from AWS's documented
one the case is an expected failure (strict: if moto changes, the test says so),
with the reason. This is why the local stack matches hook rules in-process.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from tests.eventbridge_cases import CASES, INVALID, MATCH, Case

PUTTABLE = {"source", "detail-type", "detail", "resources", "time"}

# moto 5.x's answers that differ from AWS's documentation, case by case
MOTO_DIFFERS = {
    "exact:true is not 1": "moto compares with Python equality: true == 1",
    "envelope:time prefix": "moto matches `time` as a Unix timestamp, not the ISO string EventBridge delivers",
    "prefix:time": "moto matches `time` as a Unix timestamp, not the ISO string EventBridge delivers",
    "arrays:array of objects": "moto does not descend into arrays of objects",
}
# the only invalid patterns moto refuses at PutRule; it accepts every other one, then
# matches, does not match, or raises at every PutEvents (TypeError for
# {"anything-but": {"prefix": 123}}: one such rule stopped all local mail)
MOTO_REFUSES = {
    "exact:value not an array",
    "exact:number not an array",
    "exact:null not an array",
    "exact:empty array",
    "$or:empty list",
    "$or:not a list",
}
MOTO_ACCEPTS_INVALID = "moto does not refuse this pattern at PutRule, as EventBridge does"


def _fields(pattern: dict[str, Any]) -> set[str]:
    keys: set[str] = set()
    for key, value in pattern.items():
        keys |= set().union(*(_fields(alt) for alt in value)) if key == "$or" else {key}
    return keys


def _params() -> list[Any]:
    params = []
    for case in CASES:
        marks: list[Any] = []
        if case.expected == INVALID and case.id not in MOTO_REFUSES:
            marks.append(pytest.mark.xfail(reason=MOTO_ACCEPTS_INVALID, strict=True))
        elif case.expected != INVALID and not _fields(case.pattern) <= PUTTABLE:
            marks.append(pytest.mark.skip(reason="PutEvents cannot set id, account, region or version"))
        elif case.id in MOTO_DIFFERS:
            marks.append(pytest.mark.xfail(reason=MOTO_DIFFERS[case.id], strict=True))
        params.append(pytest.param(case, id=case.id, marks=marks))
    return params


@pytest.fixture(scope="module")
def moto_bus() -> Iterator[tuple[Any, Any, str, str]]:
    import boto3
    from moto import mock_aws

    with pytest.MonkeyPatch.context() as env:
        for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            env.setenv(name, "testing")
        with mock_aws():
            events, sqs = boto3.client("events", "us-east-1"), boto3.client("sqs", "us-east-1")
            url = sqs.create_queue(QueueName="cases")["QueueUrl"]
            arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
            events.create_event_bus(Name="cases")
            yield events, sqs, url, arn


def _moto_outcome(case: Case, events: Any, sqs: Any, url: str, arn: str) -> str:
    try:
        events.put_rule(Name="case", EventBusName="cases", EventPattern=json.dumps(case.pattern))
    except events.exceptions.InvalidEventPatternException:
        return INVALID
    events.put_targets(Rule="case", EventBusName="cases", Targets=[{"Id": "q", "Arn": arn}])
    try:
        e = case.event
        events.put_events(
            Entries=[
                {
                    "Source": e["source"],
                    "DetailType": e["detail-type"],
                    "Detail": json.dumps(e["detail"]),
                    "Resources": e["resources"],
                    "Time": datetime.strptime(e["time"], "%Y-%m-%dT%H:%M:%SZ"),
                    "EventBusName": "cases",
                }
            ]
        )
        received = sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages") or []
        for message in received:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        return MATCH if received else "no match"
    except Exception as exc:  # moto evaluating a pattern it should have refused
        return f"raised {type(exc).__name__}"
    finally:
        events.remove_targets(Rule="case", EventBusName="cases", Ids=["q"])
        events.delete_rule(Name="case", EventBusName="cases")


@pytest.mark.parametrize("case", _params())
def test_moto_agrees_with_aws_documentation(case: Case, moto_bus: tuple[Any, Any, str, str]) -> None:
    assert _moto_outcome(case, *moto_bus) == case.expected
