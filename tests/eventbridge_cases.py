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

import copy
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
    add("exact", "big number (an account id)", {"detail": {"acct": [123456789012]}}, event({"acct": 123456789012}),
        MATCH)
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
    add("envelope", "resources", {"resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-1234567890abcdef0"]},
        event(), MATCH)
    add("envelope", "resources other", {"resources": ["arn:aws:ec2:us-west-1:123456789012:instance/i-0"]},
        event(), NO_MATCH)

    # --- arrays (the documentation's "Arrays in event patterns") ------------------------
    arns = ["arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f",
            "arn:aws:ec2:us-east-1:111122223333:instance/i-b188560f",
            "arn:aws:ec2:us-east-1:444455556666:instance/i-b188560f"]
    add("arrays", "intersection non-empty", {"resources": arns},
        event(resources=["arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:eb56d16b",
                         "arn:aws:ec2:us-east-1:123456789012:instance/i-b188560f"]), MATCH)
    add("arrays", "intersection empty", {"resources": arns},
        event(resources=["arn:aws:autoscaling:us-east-1:123456789012:autoScalingGroup:eb56d16b"]), NO_MATCH)
    add("arrays", "event array, one value", {"detail": {"tags": ["b"]}}, event({"tags": ["a", "b", "c"]}), MATCH)
    add("arrays", "event array, no value", {"detail": {"tags": ["z"]}}, event({"tags": ["a", "b", "c"]}), NO_MATCH)
    add("arrays", "array of objects", {"detail": {"items": {"sku": ["B"]}}},
        event({"items": [{"sku": "A"}, {"sku": "B"}]}), MATCH)
    add("arrays", "array of objects, none", {"detail": {"items": {"sku": ["C"]}}},
        event({"items": [{"sku": "A"}, {"sku": "B"}]}), NO_MATCH)
    add("arrays", "empty event array", {"detail": {"tags": ["a"]}}, event({"tags": []}), NO_MATCH)

    # --- null and empty values ---------------------------------------------------------
    add("null-empty", "null matches null", {"detail": {"responseElements": [None]}},
        event({"responseElements": None}), MATCH)
    add("null-empty", "null is not missing", {"detail": {"responseElements": [None]}}, event(), NO_MATCH)
    add("null-empty", "null is not empty string", {"detail": {"responseElements": [None]}},
        event({"responseElements": ""}), NO_MATCH)
    add("null-empty", "empty string", {"detail": {"eventVersion": [""]}}, event({"eventVersion": ""}), MATCH)
    add("null-empty", "empty is not null", {"detail": {"eventVersion": [""]}}, event({"eventVersion": None}),
        NO_MATCH)
    add("null-empty", "null or value", {"detail": {"state": [None, "terminated"]}}, event(), MATCH)

    # --- prefix ------------------------------------------------------------------------
    add("prefix", "time", {"time": [{"prefix": "2017-12"}]}, event(), MATCH)
    add("prefix", "detail", {"detail": {"state": [{"prefix": "term"}]}}, event(), MATCH)
    add("prefix", "whole value", {"detail": {"state": [{"prefix": "terminated"}]}}, event(), MATCH)
    add("prefix", "not a prefix", {"detail": {"state": [{"prefix": "run"}]}}, event(), NO_MATCH)
    add("prefix", "case-sensitive", {"detail": {"state": [{"prefix": "TERM"}]}}, event(), NO_MATCH)
    add("prefix", "longer than value", {"detail": {"state": [{"prefix": "terminated-now"}]}}, event(), NO_MATCH)
    add("prefix", "numbers are not strings", {"detail": {"count": [{"prefix": "1"}]}}, event({"count": 12}),
        NO_MATCH)
    add("prefix", "in event array", {"detail": {"tags": [{"prefix": "pro"}]}}, event({"tags": ["dev", "prod"]}),
        MATCH)
    add("prefix", "number operand", {"detail": {"state": [{"prefix": 1}]}}, event(), INVALID)
    add("prefix", "list operand", {"detail": {"state": [{"prefix": ["term"]}]}}, event(), INVALID)
    add("prefix", "null operand", {"detail": {"state": [{"prefix": None}]}}, event(), INVALID)
    add("prefix", "unknown nested operator", {"detail": {"state": [{"prefix": {"suffix": "x"}}]}}, event(), INVALID)
    add("prefix", "two operators in one object", {"detail": {"state": [{"prefix": "a", "suffix": "b"}]}},
        event(), INVALID)
    add("prefix-ignore-case", "docs example", {"detail": {"service": [{"prefix": {"equals-ignore-case": "EventB"}}]}},
        event({"service": "eventbridge"}), MATCH)
    add("prefix-ignore-case", "upper event", {"detail": {"service": [{"prefix": {"equals-ignore-case": "eventb"}}]}},
        event({"service": "EVENTBRIDGE"}), MATCH)
    add("prefix-ignore-case", "not a prefix", {"detail": {"service": [{"prefix": {"equals-ignore-case": "sqs"}}]}},
        event({"service": "EventBridge"}), NO_MATCH)
    add("prefix-ignore-case", "number operand", {"detail": {"service": [{"prefix": {"equals-ignore-case": 5}}]}},
        event({"service": "5"}), INVALID)

    # --- suffix ------------------------------------------------------------------------
    add("suffix", "file name", {"detail": {"FileName": [{"suffix": ".png"}]}}, event({"FileName": "image.png"}), MATCH)
    add("suffix", "other extension", {"detail": {"FileName": [{"suffix": ".png"}]}},
        event({"FileName": "image.jpg"}), NO_MATCH)
    add("suffix", "case-sensitive", {"detail": {"FileName": [{"suffix": ".png"}]}},
        event({"FileName": "image.PNG"}), NO_MATCH)
    add("suffix", "source", {"source": [{"suffix": "ec2"}]}, event(), MATCH)
    add("suffix", "number value", {"detail": {"count": [{"suffix": "2"}]}}, event({"count": 12}), NO_MATCH)
    add("suffix", "number operand", {"detail": {"FileName": [{"suffix": 5}]}}, event(), INVALID)
    add("suffix", "boolean operand", {"detail": {"FileName": [{"suffix": True}]}}, event(), INVALID)
    add("suffix-ignore-case", "docs example", {"detail": {"FileName": [{"suffix": {"equals-ignore-case": ".png"}}]}},
        event({"FileName": "image.PNG"}), MATCH)
    add("suffix-ignore-case", "other", {"detail": {"FileName": [{"suffix": {"equals-ignore-case": ".png"}}]}},
        event({"FileName": "image.gif"}), NO_MATCH)
    add("suffix-ignore-case", "list operand", {"detail": {"FileName": [{"suffix": {"equals-ignore-case": [".png"]}}]}},
        event({"FileName": "a.png"}), INVALID)

    # --- equals-ignore-case ------------------------------------------------------------
    add("equals-ignore-case", "docs example", {"detail": {"name": [{"equals-ignore-case": "alice"}]}},
        event({"name": "ALICE"}), MATCH)
    add("equals-ignore-case", "mixed case", {"source": [{"equals-ignore-case": "AWS.Ec2"}]}, event(), MATCH)
    add("equals-ignore-case", "other value", {"detail": {"name": [{"equals-ignore-case": "alice"}]}},
        event({"name": "alicia"}), NO_MATCH)
    add("equals-ignore-case", "not a prefix", {"detail": {"name": [{"equals-ignore-case": "ali"}]}},
        event({"name": "Alice"}), NO_MATCH)
    add("equals-ignore-case", "number value", {"detail": {"count": [{"equals-ignore-case": "5"}]}},
        event({"count": 5}), NO_MATCH)
    add("equals-ignore-case", "number operand", {"detail": {"name": [{"equals-ignore-case": 5}]}}, event(), INVALID)
    add("equals-ignore-case", "list operand", {"detail": {"name": [{"equals-ignore-case": ["alice"]}]}},
        event(), INVALID)

    # --- wildcard ----------------------------------------------------------------------
    add("wildcard", "docs example", {"detail": {"EventBusArn": [{"wildcard": "arn:aws:events:us-east-1:*:event-bus/*"}]}},
        event({"EventBusArn": "arn:aws:events:us-east-1:123456789012:event-bus/crm"}), MATCH)
    add("wildcard", "other region", {"detail": {"EventBusArn": [{"wildcard": "arn:aws:events:us-east-1:*:event-bus/*"}]}},
        event({"EventBusArn": "arn:aws:events:eu-west-1:123456789012:event-bus/crm"}), NO_MATCH)
    add("wildcard", "middle", {"source": [{"wildcard": "aws.*2"}]}, event(), MATCH)
    add("wildcard", "star matches empty", {"source": [{"wildcard": "aws.ec2*"}]}, event(), MATCH)
    add("wildcard", "whole value", {"source": [{"wildcard": "*.ec"}]}, event(), NO_MATCH)
    add("wildcard", "no star is exact", {"source": [{"wildcard": "aws.ec2"}]}, event(), MATCH)
    add("wildcard", "case-sensitive", {"source": [{"wildcard": "AWS.*"}]}, event(), NO_MATCH)
    add("wildcard", "escaped star", {"detail": {"name": [{"wildcard": "a\\*b"}]}}, event({"name": "a*b"}), MATCH)
    add("wildcard", "escaped star is literal", {"detail": {"name": [{"wildcard": "a\\*b"}]}},
        event({"name": "axxb"}), NO_MATCH)
    add("wildcard", "number value", {"detail": {"count": [{"wildcard": "1*"}]}}, event({"count": 12}), NO_MATCH)
    add("wildcard", "consecutive stars", {"source": [{"wildcard": "aws.**"}]}, event(), INVALID)
    add("wildcard", "bad escape", {"source": [{"wildcard": "aws\\.ec2"}]}, event(), INVALID)
    add("wildcard", "number operand", {"source": [{"wildcard": 5}]}, event(), INVALID)
    add("wildcard", "list operand", {"source": [{"wildcard": ["aws.*"]}]}, event(), INVALID)

    # --- anything-but ------------------------------------------------------------------
    add("anything-but", "string", {"detail": {"state": [{"anything-but": "initializing"}]}}, event(), MATCH)
    add("anything-but", "string excluded", {"detail": {"state": [{"anything-but": "terminated"}]}}, event(),
        NO_MATCH)
    add("anything-but", "number", {"detail": {"x-limit": [{"anything-but": 123}]}}, event({"x-limit": 100}), MATCH)
    add("anything-but", "number excluded", {"detail": {"x-limit": [{"anything-but": 123}]}},
        event({"x-limit": 123}), NO_MATCH)
    add("anything-but", "string list", {"detail": {"state": [{"anything-but": ["stopped", "overloaded"]}]}}, event(),
        MATCH)
    add("anything-but", "string list excluded", {"detail": {"state": [{"anything-but": ["stopped", "terminated"]}]}},
        event(), NO_MATCH)
    add("anything-but", "number list", {"detail": {"x-limit": [{"anything-but": [100, 200, 300]}]}},
        event({"x-limit": 301.8}), MATCH)
    add("anything-but", "number list excluded", {"detail": {"x-limit": [{"anything-but": [100, 200, 300]}]}},
        event({"x-limit": 200}), NO_MATCH)
    add("anything-but", "missing field", {"detail": {"location": [{"anything-but": "us-east"}]}}, event(), NO_MATCH)
    add("anything-but", "number is not an excluded string", {"detail": {"x-limit": [{"anything-but": "100"}]}},
        event({"x-limit": 100}), MATCH)
    add("anything-but", "case-sensitive", {"detail": {"state": [{"anything-but": "TERMINATED"}]}}, event(), MATCH)
    add("anything-but", "mixed list", {"detail": {"state": [{"anything-but": ["stopped", 100]}]}}, event(), INVALID)
    add("anything-but", "empty list", {"detail": {"state": [{"anything-but": []}]}}, event(), INVALID)
    add("anything-but", "boolean", {"detail": {"ok": [{"anything-but": True}]}}, event(), INVALID)
    add("anything-but", "null", {"detail": {"state": [{"anything-but": None}]}}, event(), INVALID)
    add("anything-but", "list of booleans", {"detail": {"ok": [{"anything-but": [True, False]}]}}, event(), INVALID)
    add("anything-but", "numeric inside", {"detail": {"x-limit": [{"anything-but": {"numeric": [">", 5]}}]}},
        event(), INVALID)
    add("anything-but", "exists inside", {"detail": {"state": [{"anything-but": {"exists": True}}]}}, event(),
        INVALID)
    add("anything-but", "two forms inside", {"detail": {"state": [{"anything-but": {"prefix": "a", "suffix": "b"}}]}},
        event(), INVALID)
    add("anything-but", "empty object", {"detail": {"state": [{"anything-but": {}}]}}, event(), INVALID)
    add("anything-but-prefix", "docs example", {"detail": {"state": [{"anything-but": {"prefix": "init"}}]}}, event(),
        MATCH)
    add("anything-but-prefix", "has prefix", {"detail": {"state": [{"anything-but": {"prefix": "term"}}]}}, event(),
        NO_MATCH)
    add("anything-but-prefix", "region not in the US", {"region": [{"anything-but": {"prefix": "us-"}}]}, event(),
        NO_MATCH)
    add("anything-but-prefix", "region elsewhere", {"region": [{"anything-but": {"prefix": "us-"}}]},
        event(region="eu-west-1"), MATCH)
    add("anything-but-prefix", "number operand", {"source": [{"anything-but": {"prefix": 123}}]}, event(), INVALID)
    add("anything-but-prefix", "list", {"source": [{"anything-but": {"prefix": ["aws.", "crm."]}}]}, event(),
        NO_MATCH)
    add("anything-but-prefix", "list, none", {"source": [{"anything-but": {"prefix": ["gcp.", "crm."]}}]}, event(),
        MATCH)
    add("anything-but-prefix", "empty string in a list", {"source": [{"anything-but": {"prefix": ["aws.", ""]}}]},
        event(), INVALID)
    add("anything-but-prefix", "empty operand", {"source": [{"anything-but": {"prefix": ""}}]}, event(), INVALID)
    add("anything-but-suffix", "docs example", {"detail": {"FileName": [{"anything-but": {"suffix": ".png"}}]}},
        event({"FileName": "notes.txt"}), MATCH)
    add("anything-but-suffix", "has suffix", {"detail": {"FileName": [{"anything-but": {"suffix": ".png"}}]}},
        event({"FileName": "image.png"}), NO_MATCH)
    add("anything-but-suffix", "number is not excluded", {"detail": {"size": [{"anything-but": {"suffix": "5"}}]}},
        event({"size": 15}), MATCH)
    add("anything-but-suffix", "list", {"detail": {"FileName": [{"anything-but": {"suffix": [".png", ".jpg"]}}]}},
        event({"FileName": "image.jpg"}), NO_MATCH)
    add("anything-but-suffix", "empty operand", {"detail": {"FileName": [{"anything-but": {"suffix": ""}}]}},
        event(), INVALID)
    add("anything-but-suffix", "number operand", {"detail": {"FileName": [{"anything-but": {"suffix": 5}}]}},
        event(), INVALID)
    add("anything-but-ignore-case", "docs example",
        {"detail": {"state": [{"anything-but": {"equals-ignore-case": "initializing"}}]}}, event(), MATCH)
    add("anything-but-ignore-case", "other casing excluded",
        {"detail": {"state": [{"anything-but": {"equals-ignore-case": "TERMINATED"}}]}}, event(), NO_MATCH)
    add("anything-but-ignore-case", "list",
        {"detail": {"state": [{"anything-but": {"equals-ignore-case": ["Stopped", "Overloaded"]}}]}}, event(), MATCH)
    add("anything-but-ignore-case", "list excluded",
        {"detail": {"state": [{"anything-but": {"equals-ignore-case": ["Stopped", "Terminated"]}}]}}, event(),
        NO_MATCH)
    add("anything-but-ignore-case", "number operand",
        {"detail": {"state": [{"anything-but": {"equals-ignore-case": 5}}]}}, event(), INVALID)
    add("anything-but-ignore-case", "list with a number",
        {"detail": {"state": [{"anything-but": {"equals-ignore-case": ["a", 5]}}]}}, event(), INVALID)
    add("anything-but-wildcard", "docs example", {"detail": {"FilePath": [{"anything-but": {"wildcard": "*/lib/*"}}]}},
        event({"FilePath": "/usr/bin/python"}), MATCH)
    add("anything-but-wildcard", "matches wildcard",
        {"detail": {"FilePath": [{"anything-but": {"wildcard": "*/lib/*"}}]}},
        event({"FilePath": "/usr/lib/python"}), NO_MATCH)
    add("anything-but-wildcard", "list",
        {"detail": {"FilePath": [{"anything-but": {"wildcard": ["*/lib/*", "*/bin/*"]}}]}},
        event({"FilePath": "/home/me/notes"}), MATCH)
    add("anything-but-wildcard", "list excluded",
        {"detail": {"FilePath": [{"anything-but": {"wildcard": ["*/lib/*", "*/bin/*"]}}]}},
        event({"FilePath": "/usr/bin/python"}), NO_MATCH)
    add("anything-but-wildcard", "consecutive stars",
        {"detail": {"FilePath": [{"anything-but": {"wildcard": "**/lib"}}]}}, event(), INVALID)
    add("anything-but-wildcard", "number operand",
        {"detail": {"FilePath": [{"anything-but": {"wildcard": 5}}]}}, event(), INVALID)

    # --- numeric -----------------------------------------------------------------------
    counts = event({"c-count": 5, "d-count": 3, "x-limit": 301.8})
    add("numeric", "docs example", {"detail": {"c-count": [{"numeric": [">", 0, "<=", 5]}],
                                               "d-count": [{"numeric": ["<", 10]}],
                                               "x-limit": [{"numeric": ["=", 3.018e2]}]}}, counts, MATCH)
    add("numeric", "upper bound exclusive", {"detail": {"c-count": [{"numeric": [">", 0, "<", 5]}]}}, counts, NO_MATCH)
    add("numeric", "lower bound inclusive", {"detail": {"c-count": [{"numeric": [">=", 5, "<", 6]}]}}, counts, MATCH)
    add("numeric", "greater", {"detail": {"d-count": [{"numeric": [">", 3]}]}}, counts, NO_MATCH)
    add("numeric", "greater or equal", {"detail": {"d-count": [{"numeric": [">=", 3]}]}}, counts, MATCH)
    add("numeric", "equal", {"detail": {"d-count": [{"numeric": ["=", 4]}]}}, counts, NO_MATCH)
    add("numeric", "negative", {"detail": {"t": [{"numeric": ["<", 0]}]}}, event({"t": -1.5}), MATCH)
    add("numeric", "string value", {"detail": {"c-count": [{"numeric": [">", 0]}]}}, event({"c-count": "5"}),
        NO_MATCH)
    add("numeric", "missing field", {"detail": {"e-count": [{"numeric": [">", 0]}]}}, counts, NO_MATCH)
    add("numeric", "in event array", {"detail": {"sizes": [{"numeric": [">", 10]}]}}, event({"sizes": [1, 20]}), MATCH)
    add("numeric", "string operand", {"detail": {"c-count": [{"numeric": [">", "0"]}]}}, counts, INVALID)
    add("numeric", "unknown comparison", {"detail": {"c-count": [{"numeric": ["!=", 0]}]}}, counts, INVALID)
    add("numeric", "range out of order", {"detail": {"c-count": [{"numeric": [">", 10, "<", 5]}]}}, counts, INVALID)
    add("numeric", "empty range", {"detail": {"c-count": [{"numeric": [">=", 5, "<=", 5]}]}}, counts, INVALID)
    add("numeric", "upper bound first", {"detail": {"c-count": [{"numeric": ["<", 10, ">", 0]}]}}, counts, INVALID)
    add("numeric", "two lower bounds", {"detail": {"c-count": [{"numeric": [">", 0, ">", 1]}]}}, counts, INVALID)
    add("numeric", "equal in a range", {"detail": {"c-count": [{"numeric": ["=", 5, "<", 10]}]}}, counts, INVALID)
    add("numeric", "odd length", {"detail": {"c-count": [{"numeric": [">", 0, "<"]}]}}, counts, INVALID)
    add("numeric", "empty", {"detail": {"c-count": [{"numeric": []}]}}, counts, INVALID)
    add("numeric", "not a list", {"detail": {"c-count": [{"numeric": 5}]}}, counts, INVALID)
    add("numeric", "boolean operand", {"detail": {"c-count": [{"numeric": [">", True]}]}}, counts, INVALID)
    add("numeric", "out of range", {"detail": {"c-count": [{"numeric": [">", 1.0e10]}]}}, counts, INVALID)

    # --- exists ------------------------------------------------------------------------
    add("exists", "present", {"detail": {"state": [{"exists": True}]}}, event(), MATCH)
    add("exists", "absent, true", {"detail": {"c-count": [{"exists": True}]}}, event(), NO_MATCH)
    add("exists", "absent, false", {"detail": {"c-count": [{"exists": False}]}}, event(), MATCH)
    add("exists", "present, false", {"detail": {"state": [{"exists": False}]}}, event(), NO_MATCH)
    add("exists", "not a leaf, false", {"detail": {"c-count": [{"exists": False}]}}, event({"c-count": {"c1": 100}}),
        MATCH)
    add("exists", "not a leaf, true", {"detail": {"c-count": [{"exists": True}]}}, event({"c-count": {"c1": 100}}),
        NO_MATCH)
    add("exists", "null is present", {"detail": {"state": [{"exists": True}]}}, event({"state": None}), MATCH)
    add("exists", "whole detail absent", {"detail": {"c-count": [{"exists": False}]}}, event(detail={}), MATCH)
    add("exists", "top-level", {"replay-name": [{"exists": False}]}, event(), MATCH)
    add("exists", "string operand", {"detail": {"state": [{"exists": "true"}]}}, event(), INVALID)
    add("exists", "number operand", {"detail": {"state": [{"exists": 1}]}}, event(), INVALID)
    add("exists", "null operand", {"detail": {"state": [{"exists": None}]}}, event(), INVALID)

    # --- cidr --------------------------------------------------------------------------
    add("cidr", "docs example", {"detail": {"sourceIPAddress": [{"cidr": "10.0.0.0/24"}]}},
        event({"sourceIPAddress": "10.0.0.255"}), MATCH)
    add("cidr", "outside", {"detail": {"sourceIPAddress": [{"cidr": "10.0.0.0/24"}]}},
        event({"sourceIPAddress": "10.0.1.1"}), NO_MATCH)
    add("cidr", "wide", {"detail": {"sourceIPAddress": [{"cidr": "10.0.0.0/8"}]}},
        event({"sourceIPAddress": "10.200.3.4"}), MATCH)
    add("cidr", "ipv6", {"detail": {"sourceIPAddress": [{"cidr": "2001:db8::/32"}]}},
        event({"sourceIPAddress": "2001:db8::ff00:42:8329"}), MATCH)
    add("cidr", "ipv6 outside", {"detail": {"sourceIPAddress": [{"cidr": "2001:db8::/32"}]}},
        event({"sourceIPAddress": "2001:db9::1"}), NO_MATCH)
    add("cidr", "not an address", {"detail": {"sourceIPAddress": [{"cidr": "10.0.0.0/24"}]}},
        event({"sourceIPAddress": "example.com"}), NO_MATCH)
    add("cidr", "ipv4 value, ipv6 network", {"detail": {"sourceIPAddress": [{"cidr": "::/0"}]}},
        event({"sourceIPAddress": "10.0.0.1"}), NO_MATCH)
    add("cidr", "not a network", {"detail": {"sourceIPAddress": [{"cidr": "10.0.0.0/33"}]}}, event(), INVALID)
    add("cidr", "no prefix length", {"detail": {"sourceIPAddress": [{"cidr": "10.0.0.1"}]}}, event(), INVALID)
    add("cidr", "garbage", {"detail": {"sourceIPAddress": [{"cidr": "ten/8"}]}}, event(), INVALID)
    add("cidr", "number operand", {"detail": {"sourceIPAddress": [{"cidr": 10}]}}, event(), INVALID)

    # --- $or ---------------------------------------------------------------------------
    add("$or", "docs example", {"source": ["aws.ec2"], "$or": [{"detail": {"state": ["running"]}},
                                                               {"detail": {"instance-id": ["i-1234567890abcdef0"]}}]},
        event(), MATCH)
    add("$or", "no alternative", {"$or": [{"detail": {"state": ["running"]}}, {"region": ["eu-west-1"]}]}, event(),
        NO_MATCH)
    add("$or", "and outside fails", {"source": ["aws.s3"], "$or": [{"detail": {"state": ["terminated"]}},
                                                                    {"region": ["us-west-1"]}]}, event(), NO_MATCH)
    add("$or", "inside detail", {"detail": {"$or": [{"state": ["running"]}, {"instance-id": [{"prefix": "i-"}]}]}},
        event(), MATCH)
    add("$or", "nested", {"$or": [{"source": ["aws.s3"]},
                                  {"region": ["us-west-1"], "$or": [{"detail": {"state": ["x"]}},
                                                                    {"account": ["111122223333"]}]}]}, event(), MATCH)
    add("$or", "operators inside", {"$or": [{"detail": {"c": [{"numeric": [">", 10]}]}},
                                            {"detail": {"state": [{"anything-but": "running"}]}}]}, event({"c": 1,
                                                                                                 "state": "x"}), MATCH)
    add("$or", "one alternative", {"$or": [{"source": ["aws.ec2"]}]}, event(), INVALID)
    add("$or", "empty list", {"$or": []}, event(), INVALID)
    add("$or", "not a list", {"$or": "source"}, event(), INVALID)
    add("$or", "alternative not an object", {"$or": [{"source": ["aws.ec2"]}, "region"]}, event(), INVALID)
    add("$or", "empty alternative", {"$or": [{"source": ["aws.ec2"]}, {}]}, event(), INVALID)
    add("$or", "operator name as a field", {"$or": [{"source": ["aws.ec2"]}, {"detail": {"prefix": ["x"]}}]},
        event(), INVALID)
    add("$or", "comparison as a field", {"$or": [{"source": ["aws.ec2"]}, {"<": ["x"]}]}, event(), INVALID)
    add("$or", "bad pattern inside", {"$or": [{"source": ["aws.ec2"]}, {"region": [{"prefix": 1}]}]}, event(),
        INVALID)

    # --- unknown operators and limits --------------------------------------------------
    add("structure", "unknown operator", {"source": [{"startswith": "aws."}]}, event(), INVALID)
    add("structure", "misspelled operator", {"source": [{"anything_but": "aws.s3"}]}, event(), INVALID)
    add("structure", "operator with no key", {"source": [{}]}, event(), INVALID)
    add("structure", "size limit", {"detail": {"note": ["x" * 2100]}}, event(), INVALID)
    add("structure", "under the size limit", {"detail": {"note": ["x" * 1900]}}, event({"note": "x" * 1900}), MATCH)
    add("structure", "complexity limit",
        {f"k{i}": {"$or": [{f"a{j}": ["v"]} for j in range(11)]} for i in range(3)}, event(), INVALID)
    return c


CASES: list[Case] = _cases()

# Operators AWS documents; each must have match, no-match and invalid cases.
DOCUMENTED_OPERATORS = (
    "exact", "prefix", "prefix-ignore-case", "suffix", "suffix-ignore-case", "equals-ignore-case", "wildcard",
    "anything-but", "anything-but-prefix", "anything-but-suffix", "anything-but-ignore-case",
    "anything-but-wildcard", "numeric", "exists", "cidr", "$or",
)
