"""A table of EventBridge pattern cases: (event, pattern, expected), expected being
``match``, ``no match`` or ``invalid`` (EventBridge refuses the pattern at PutRule).

Drawn from AWS's documentation of event patterns (the comparison-operator table,
content filtering, arrays, null and empty values, exists on leaf nodes, ``$or``) and
from what those pages state about operand types; the events are the documentation's
EC2 and S3 examples with the field under test changed. ``tests/unit/test_pattern_cases``
runs every case against :mod:`events.pattern_rules` + :mod:`events.pattern_match`;
``tests/integration/test_pattern_cases_moto`` runs the matching ones against moto's
EventBridge as a cross-check.
"""

from __future__ import annotations

from typing import Any

from tests.eventbridge_case_base import BASE_EVENT, INVALID, MATCH, NO_MATCH, Case, event
from tests.eventbridge_operator_cases import add_operator_cases

__all__ = ["BASE_EVENT", "CASES", "DOCUMENTED_OPERATORS", "INVALID", "MATCH", "NO_MATCH", "Case", "event"]


def _cases() -> list[Case]:
    c: list[Case] = []

    def add(operator: str, name: str, pattern: Any, ev: dict[str, Any], expected: str) -> None:
        c.append(Case(operator, name, pattern, ev, expected))

    # --- exact values ------------------------------------------------------------------
    add("exact", "source", {"source": ["aws.ec2"]}, event(), MATCH)
    add("exact", "one of several", {"detail": {"state": ["initializing", "terminated"]}}, event(), MATCH)
    add("exact", "other value", {"source": ["aws.s3"]}, event(), NO_MATCH)
    add("exact", "case-sensitive", {"source": ["AWS.EC2"]}, event(), NO_MATCH)
    add("exact", "all fields and", {"source": ["aws.ec2"], "detail": {"state": ["running"]}}, event(), NO_MATCH)
    add("exact", "field missing", {"detail": {"location": ["eu"]}}, event(), NO_MATCH)
    add("exact", "nested structure", {"detail": {"instance-id": ["i-1234567890abcdef0"]}}, event(), MATCH)
    add("exact", "wrong nesting", {"instance-id": ["i-1234567890abcdef0"]}, event(), NO_MATCH)
    add("exact", "number", {"detail": {"count": [5]}}, event({"count": 5}), MATCH)
    add("exact", "number equals float", {"detail": {"x-limit": [301.8]}}, event({"x-limit": 3.018e2}), MATCH)
    add("exact", "number is not string", {"detail": {"count": [5]}}, event({"count": "5"}), NO_MATCH)
    add("exact", "string is not number", {"detail": {"count": ["5"]}}, event({"count": 5}), NO_MATCH)
    add("exact", "true", {"detail": {"ok": [True]}}, event({"ok": True}), MATCH)
    add("exact", "true is not string", {"detail": {"ok": [True]}}, event({"ok": "true"}), NO_MATCH)
    add("exact", "false is not true", {"detail": {"ok": [True]}}, event({"ok": False}), NO_MATCH)
    add("exact", "true is not 1", {"detail": {"ok": [True]}}, event({"ok": 1}), NO_MATCH)
    add("exact", "big number (an account id)", {"detail": {"acct": [123456789012]}}, event({"acct": 123456789012}), MATCH)
    add("exact", "operator name outside $or is a field", {"detail": {"prefix": ["x"]}}, event({"prefix": "x"}), MATCH)
    add("exact", "value not an array", {"source": "aws.ec2"}, event(), INVALID)
    add("exact", "number not an array", {"detail": {"count": 5}}, event({"count": 5}), INVALID)
    add("exact", "null not an array", {"detail": {"count": None}}, event(), INVALID)
    add("exact", "empty array", {"source": []}, event(), INVALID)
    add("exact", "array inside array", {"source": [["aws.ec2"]]}, event(), INVALID)
    add("exact", "pattern is an array", [{"source": ["aws.ec2"]}], event(), INVALID)
    add("exact", "empty pattern", {}, event(), INVALID)
    add("exact", "empty nested object", {"detail": {}}, event(), INVALID)

    # --- the envelope's top-level fields ----------------------------------------------
    add("envelope", "id", {"id": ["6a7e8feb-b491-4cf7-a9f1-bf3703467718"]}, event(), MATCH)
    add("envelope", "other id", {"id": ["00000000-0000-0000-0000-000000000000"]}, event(), NO_MATCH)
    add("envelope", "account", {"account": ["111122223333"]}, event(), MATCH)
    add("envelope", "other account", {"account": ["444455556666"]}, event(), NO_MATCH)
    add("envelope", "region", {"region": ["us-west-1", "us-east-1"]}, event(), MATCH)
    add("envelope", "other region", {"region": ["eu-west-1"]}, event(), NO_MATCH)
    add("envelope", "version", {"version": ["0"]}, event(), MATCH)
    add("envelope", "version is a string", {"version": [0]}, event(), NO_MATCH)
    add("envelope", "time prefix", {"time": [{"prefix": "2017-12-22"}]}, event(), MATCH)
    add("envelope", "time other day", {"time": [{"prefix": "2017-10-02"}]}, event(), NO_MATCH)
    add("envelope", "detail-type", {"detail-type": ["EC2 Instance State-change Notification"]}, event(), MATCH)
    add(
        "envelope",
        "resources",
        {"resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"]},
        event(),
        MATCH,
    )
    add("envelope", "resources other", {"resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-0"]}, event(), NO_MATCH)

    # --- arrays (the documentation's "Arrays in event patterns") ------------------------
    arns = [
        "arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f",
        "arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f",
        "arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f",
    ]
    add(
        "arrays",
        "intersection non-empty",
        {"resources": arns},
        event(
            resources=[
                "arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:eb56d16b",
                "arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f",
            ]
        ),
        MATCH,
    )
    add(
        "arrays",
        "intersection empty",
        {"resources": arns},
        event(resources=["arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:eb56d16b"]),
        NO_MATCH,
    )
    add("arrays", "event array, one value", {"detail": {"tags": ["b"]}}, event({"tags": ["a", "b", "c"]}), MATCH)
    add("arrays", "event array, no value", {"detail": {"tags": ["z"]}}, event({"tags": ["a", "b", "c"]}), NO_MATCH)
    add(
        "arrays", "array of objects", {"detail": {"items": {"sku": ["B"]}}}, event({"items": [{"sku": "A"}, {"sku": "B"}]}), MATCH
    )
    add(
        "arrays",
        "array of objects, none",
        {"detail": {"items": {"sku": ["C"]}}},
        event({"items": [{"sku": "A"}, {"sku": "B"}]}),
        NO_MATCH,
    )
    add("arrays", "empty event array", {"detail": {"tags": ["a"]}}, event({"tags": []}), NO_MATCH)

    # --- null and empty values ---------------------------------------------------------
    add("null-empty", "null matches null", {"detail": {"responseElements": [None]}}, event({"responseElements": None}), MATCH)
    add("null-empty", "null is not missing", {"detail": {"responseElements": [None]}}, event(), NO_MATCH)
    add(
        "null-empty",
        "null is not empty string",
        {"detail": {"responseElements": [None]}},
        event({"responseElements": ""}),
        NO_MATCH,
    )
    add("null-empty", "empty string", {"detail": {"eventVersion": [""]}}, event({"eventVersion": ""}), MATCH)
    add("null-empty", "empty is not null", {"detail": {"eventVersion": [""]}}, event({"eventVersion": None}), NO_MATCH)
    add("null-empty", "null or value", {"detail": {"state": [None, "terminated"]}}, event(), MATCH)

    # --- prefix ------------------------------------------------------------------------
    add("prefix", "time", {"time": [{"prefix": "2017-12"}]}, event(), MATCH)
    add("prefix", "detail", {"detail": {"state": [{"prefix": "term"}]}}, event(), MATCH)
    add("prefix", "whole value", {"detail": {"state": [{"prefix": "terminated"}]}}, event(), MATCH)
    add("prefix", "not a prefix", {"detail": {"state": [{"prefix": "run"}]}}, event(), NO_MATCH)
    add("prefix", "case-sensitive", {"detail": {"state": [{"prefix": "TERM"}]}}, event(), NO_MATCH)
    add("prefix", "longer than value", {"detail": {"state": [{"prefix": "terminated-now"}]}}, event(), NO_MATCH)
    add("prefix", "numbers are not strings", {"detail": {"count": [{"prefix": "1"}]}}, event({"count": 12}), NO_MATCH)
    add("prefix", "in event array", {"detail": {"tags": [{"prefix": "pro"}]}}, event({"tags": ["dev", "prod"]}), MATCH)
    add("prefix", "number operand", {"detail": {"state": [{"prefix": 1}]}}, event(), INVALID)
    add("prefix", "list operand", {"detail": {"state": [{"prefix": ["term"]}]}}, event(), INVALID)
    add("prefix", "null operand", {"detail": {"state": [{"prefix": None}]}}, event(), INVALID)
    add("prefix", "unknown nested operator", {"detail": {"state": [{"prefix": {"suffix": "x"}}]}}, event(), INVALID)
    add("prefix", "two operators in one object", {"detail": {"state": [{"prefix": "a", "suffix": "b"}]}}, event(), INVALID)
    add(
        "prefix-ignore-case",
        "docs example",
        {"detail": {"service": [{"prefix": {"equals-ignore-case": "EventB"}}]}},
        event({"service": "eventbridge"}),
        MATCH,
    )
    add(
        "prefix-ignore-case",
        "upper event",
        {"detail": {"service": [{"prefix": {"equals-ignore-case": "eventb"}}]}},
        event({"service": "EVENTBRIDGE"}),
        MATCH,
    )
    add(
        "prefix-ignore-case",
        "not a prefix",
        {"detail": {"service": [{"prefix": {"equals-ignore-case": "sqs"}}]}},
        event({"service": "EventBridge"}),
        NO_MATCH,
    )
    add(
        "prefix-ignore-case",
        "number operand",
        {"detail": {"service": [{"prefix": {"equals-ignore-case": 5}}]}},
        event({"service": "5"}),
        INVALID,
    )

    # --- suffix ------------------------------------------------------------------------
    add("suffix", "file name", {"detail": {"FileName": [{"suffix": ".png"}]}}, event({"FileName": "image.png"}), MATCH)
    add("suffix", "other extension", {"detail": {"FileName": [{"suffix": ".png"}]}}, event({"FileName": "image.jpg"}), NO_MATCH)
    add("suffix", "case-sensitive", {"detail": {"FileName": [{"suffix": ".png"}]}}, event({"FileName": "image.PNG"}), NO_MATCH)
    add("suffix", "source", {"source": [{"suffix": "ec2"}]}, event(), MATCH)
    add("suffix", "number value", {"detail": {"count": [{"suffix": "2"}]}}, event({"count": 12}), NO_MATCH)
    add("suffix", "number operand", {"detail": {"FileName": [{"suffix": 5}]}}, event(), INVALID)
    add("suffix", "boolean operand", {"detail": {"FileName": [{"suffix": True}]}}, event(), INVALID)
    add(
        "suffix-ignore-case",
        "docs example",
        {"detail": {"FileName": [{"suffix": {"equals-ignore-case": ".png"}}]}},
        event({"FileName": "image.PNG"}),
        MATCH,
    )
    add(
        "suffix-ignore-case",
        "other",
        {"detail": {"FileName": [{"suffix": {"equals-ignore-case": ".png"}}]}},
        event({"FileName": "image.gif"}),
        NO_MATCH,
    )
    add(
        "suffix-ignore-case",
        "list operand",
        {"detail": {"FileName": [{"suffix": {"equals-ignore-case": [".png"]}}]}},
        event({"FileName": "a.png"}),
        INVALID,
    )

    # --- equals-ignore-case ------------------------------------------------------------
    add(
        "equals-ignore-case",
        "docs example",
        {"detail": {"name": [{"equals-ignore-case": "alice"}]}},
        event({"name": "ALICE"}),
        MATCH,
    )
    add("equals-ignore-case", "mixed case", {"source": [{"equals-ignore-case": "AWS.Ec2"}]}, event(), MATCH)
    add(
        "equals-ignore-case",
        "other value",
        {"detail": {"name": [{"equals-ignore-case": "alice"}]}},
        event({"name": "alicia"}),
        NO_MATCH,
    )
    add(
        "equals-ignore-case",
        "not a prefix",
        {"detail": {"name": [{"equals-ignore-case": "ali"}]}},
        event({"name": "Alice"}),
        NO_MATCH,
    )
    add("equals-ignore-case", "number value", {"detail": {"count": [{"equals-ignore-case": "5"}]}}, event({"count": 5}), NO_MATCH)
    add("equals-ignore-case", "number operand", {"detail": {"name": [{"equals-ignore-case": 5}]}}, event(), INVALID)
    add("equals-ignore-case", "list operand", {"detail": {"name": [{"equals-ignore-case": ["alice"]}]}}, event(), INVALID)

    # --- wildcard ----------------------------------------------------------------------
    add(
        "wildcard",
        "docs example",
        {"detail": {"EventBusArn": [{"wildcard": "arn:aws:events:us-east-1:*:event-bus/*"}]}},
        event({"EventBusArn": "arn:aws:events:us-east-1:123456789012:event-bus/crm"}),
        MATCH,
    )
    add(
        "wildcard",
        "other region",
        {"detail": {"EventBusArn": [{"wildcard": "arn:aws:events:us-east-1:*:event-bus/*"}]}},
        event({"EventBusArn": "arn:aws:events:eu-west-1:123456789012:event-bus/crm"}),
        NO_MATCH,
    )
    add("wildcard", "middle", {"source": [{"wildcard": "aws.*2"}]}, event(), MATCH)
    add("wildcard", "star matches empty", {"source": [{"wildcard": "aws.ec2*"}]}, event(), MATCH)
    add("wildcard", "whole value", {"source": [{"wildcard": "*.ec"}]}, event(), NO_MATCH)
    add("wildcard", "no star is exact", {"source": [{"wildcard": "aws.ec2"}]}, event(), MATCH)
    add("wildcard", "case-sensitive", {"source": [{"wildcard": "AWS.*"}]}, event(), NO_MATCH)
    add("wildcard", "escaped star", {"detail": {"name": [{"wildcard": "a\\*b"}]}}, event({"name": "a*b"}), MATCH)
    add("wildcard", "escaped star is literal", {"detail": {"name": [{"wildcard": "a\\*b"}]}}, event({"name": "axxb"}), NO_MATCH)
    add("wildcard", "number value", {"detail": {"count": [{"wildcard": "1*"}]}}, event({"count": 12}), NO_MATCH)
    add("wildcard", "consecutive stars", {"source": [{"wildcard": "aws.**"}]}, event(), INVALID)
    add("wildcard", "bad escape", {"source": [{"wildcard": "aws\\.ec2"}]}, event(), INVALID)
    add("wildcard", "number operand", {"source": [{"wildcard": 5}]}, event(), INVALID)
    add("wildcard", "list operand", {"source": [{"wildcard": ["aws.*"]}]}, event(), INVALID)

    add_operator_cases(add)
    return c


CASES: list[Case] = _cases()

# Operators AWS documents; each must have match, no-match and invalid cases.
DOCUMENTED_OPERATORS = (
    "exact",
    "prefix",
    "prefix-ignore-case",
    "suffix",
    "suffix-ignore-case",
    "equals-ignore-case",
    "wildcard",
    "anything-but",
    "anything-but-prefix",
    "anything-but-suffix",
    "anything-but-ignore-case",
    "anything-but-wildcard",
    "numeric",
    "exists",
    "cidr",
    "$or",
)
