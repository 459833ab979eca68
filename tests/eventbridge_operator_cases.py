"""EventBridge pattern cases for the operators with the most to say: anything-but, numeric,
exists, cidr, ``$or``, and unknown operators and limits (see ``tests/eventbridge_cases``)."""

from __future__ import annotations

from tests.eventbridge_case_base import INVALID, MATCH, NO_MATCH, Add, event


def add_operator_cases(add: Add) -> None:
    # --- anything-but ------------------------------------------------------------------
    add("anything-but", "string", {"detail": {"state": [{"anything-but": "initializing"}]}}, event(), MATCH)
    add("anything-but", "string excluded", {"detail": {"state": [{"anything-but": "terminated"}]}}, event(), NO_MATCH)
    add("anything-but", "number", {"detail": {"x-limit": [{"anything-but": 123}]}}, event({"x-limit": 100}), MATCH)
    add("anything-but", "number excluded", {"detail": {"x-limit": [{"anything-but": 123}]}}, event({"x-limit": 123}), NO_MATCH)
    add("anything-but", "string list", {"detail": {"state": [{"anything-but": ["stopped", "overloaded"]}]}}, event(), MATCH)
    add(
        "anything-but",
        "string list excluded",
        {"detail": {"state": [{"anything-but": ["stopped", "terminated"]}]}},
        event(),
        NO_MATCH,
    )
    add(
        "anything-but",
        "number list",
        {"detail": {"x-limit": [{"anything-but": [100, 200, 300]}]}},
        event({"x-limit": 301.8}),
        MATCH,
    )
    add(
        "anything-but",
        "number list excluded",
        {"detail": {"x-limit": [{"anything-but": [100, 200, 300]}]}},
        event({"x-limit": 200}),
        NO_MATCH,
    )
    add("anything-but", "missing field", {"detail": {"location": [{"anything-but": "us-east"}]}}, event(), NO_MATCH)
    add(
        "anything-but",
        "number is not an excluded string",
        {"detail": {"x-limit": [{"anything-but": "100"}]}},
        event({"x-limit": 100}),
        MATCH,
    )
    add("anything-but", "case-sensitive", {"detail": {"state": [{"anything-but": "TERMINATED"}]}}, event(), MATCH)
    add("anything-but", "mixed list", {"detail": {"state": [{"anything-but": ["stopped", 100]}]}}, event(), INVALID)
    add("anything-but", "empty list", {"detail": {"state": [{"anything-but": []}]}}, event(), INVALID)
    add("anything-but", "boolean", {"detail": {"ok": [{"anything-but": True}]}}, event(), INVALID)
    add("anything-but", "null", {"detail": {"state": [{"anything-but": None}]}}, event(), INVALID)
    add("anything-but", "list of booleans", {"detail": {"ok": [{"anything-but": [True, False]}]}}, event(), INVALID)
    add("anything-but", "numeric inside", {"detail": {"x-limit": [{"anything-but": {"numeric": [">", 5]}}]}}, event(), INVALID)
    add("anything-but", "exists inside", {"detail": {"state": [{"anything-but": {"exists": True}}]}}, event(), INVALID)
    add(
        "anything-but",
        "two forms inside",
        {"detail": {"state": [{"anything-but": {"prefix": "a", "suffix": "b"}}]}},
        event(),
        INVALID,
    )
    add("anything-but", "empty object", {"detail": {"state": [{"anything-but": {}}]}}, event(), INVALID)
    add("anything-but-prefix", "docs example", {"detail": {"state": [{"anything-but": {"prefix": "init"}}]}}, event(), MATCH)
    add("anything-but-prefix", "has prefix", {"detail": {"state": [{"anything-but": {"prefix": "term"}}]}}, event(), NO_MATCH)
    add("anything-but-prefix", "region not in the US", {"region": [{"anything-but": {"prefix": "us-"}}]}, event(), NO_MATCH)
    add(
        "anything-but-prefix",
        "region elsewhere",
        {"region": [{"anything-but": {"prefix": "us-"}}]},
        event(region="eu-west-1"),
        MATCH,
    )
    add("anything-but-prefix", "number operand", {"source": [{"anything-but": {"prefix": 123}}]}, event(), INVALID)
    add("anything-but-prefix", "list", {"source": [{"anything-but": {"prefix": ["aws.", "crm."]}}]}, event(), NO_MATCH)
    add("anything-but-prefix", "list, none", {"source": [{"anything-but": {"prefix": ["gcp.", "crm."]}}]}, event(), MATCH)
    add(
        "anything-but-prefix",
        "empty string in a list",
        {"source": [{"anything-but": {"prefix": ["aws.", ""]}}]},
        event(),
        INVALID,
    )
    add("anything-but-prefix", "empty operand", {"source": [{"anything-but": {"prefix": ""}}]}, event(), INVALID)
    add(
        "anything-but-suffix",
        "docs example",
        {"detail": {"FileName": [{"anything-but": {"suffix": ".png"}}]}},
        event({"FileName": "notes.txt"}),
        MATCH,
    )
    add(
        "anything-but-suffix",
        "has suffix",
        {"detail": {"FileName": [{"anything-but": {"suffix": ".png"}}]}},
        event({"FileName": "image.png"}),
        NO_MATCH,
    )
    add(
        "anything-but-suffix",
        "number is not excluded",
        {"detail": {"size": [{"anything-but": {"suffix": "5"}}]}},
        event({"size": 15}),
        MATCH,
    )
    add(
        "anything-but-suffix",
        "list",
        {"detail": {"FileName": [{"anything-but": {"suffix": [".png", ".jpg"]}}]}},
        event({"FileName": "image.jpg"}),
        NO_MATCH,
    )
    add("anything-but-suffix", "empty operand", {"detail": {"FileName": [{"anything-but": {"suffix": ""}}]}}, event(), INVALID)
    add("anything-but-suffix", "number operand", {"detail": {"FileName": [{"anything-but": {"suffix": 5}}]}}, event(), INVALID)
    add(
        "anything-but-ignore-case",
        "docs example",
        {"detail": {"state": [{"anything-but": {"equals-ignore-case": "initializing"}}]}},
        event(),
        MATCH,
    )
    add(
        "anything-but-ignore-case",
        "other casing excluded",
        {"detail": {"state": [{"anything-but": {"equals-ignore-case": "TERMINATED"}}]}},
        event(),
        NO_MATCH,
    )
    add(
        "anything-but-ignore-case",
        "list",
        {"detail": {"state": [{"anything-but": {"equals-ignore-case": ["Stopped", "Overloaded"]}}]}},
        event(),
        MATCH,
    )
    add(
        "anything-but-ignore-case",
        "list excluded",
        {"detail": {"state": [{"anything-but": {"equals-ignore-case": ["Stopped", "Terminated"]}}]}},
        event(),
        NO_MATCH,
    )
    add(
        "anything-but-ignore-case",
        "number operand",
        {"detail": {"state": [{"anything-but": {"equals-ignore-case": 5}}]}},
        event(),
        INVALID,
    )
    add(
        "anything-but-ignore-case",
        "list with a number",
        {"detail": {"state": [{"anything-but": {"equals-ignore-case": ["a", 5]}}]}},
        event(),
        INVALID,
    )
    add(
        "anything-but-wildcard",
        "docs example",
        {"detail": {"FilePath": [{"anything-but": {"wildcard": "*/lib/*"}}]}},
        event({"FilePath": "/usr/bin/python"}),
        MATCH,
    )
    add(
        "anything-but-wildcard",
        "matches wildcard",
        {"detail": {"FilePath": [{"anything-but": {"wildcard": "*/lib/*"}}]}},
        event({"FilePath": "/usr/lib/python"}),
        NO_MATCH,
    )
    add(
        "anything-but-wildcard",
        "list",
        {"detail": {"FilePath": [{"anything-but": {"wildcard": ["*/lib/*", "*/bin/*"]}}]}},
        event({"FilePath": "/home/me/notes"}),
        MATCH,
    )
    add(
        "anything-but-wildcard",
        "list excluded",
        {"detail": {"FilePath": [{"anything-but": {"wildcard": ["*/lib/*", "*/bin/*"]}}]}},
        event({"FilePath": "/usr/bin/python"}),
        NO_MATCH,
    )
    add(
        "anything-but-wildcard",
        "consecutive stars",
        {"detail": {"FilePath": [{"anything-but": {"wildcard": "**/lib"}}]}},
        event(),
        INVALID,
    )
    add(
        "anything-but-wildcard", "number operand", {"detail": {"FilePath": [{"anything-but": {"wildcard": 5}}]}}, event(), INVALID
    )

    # --- numeric -----------------------------------------------------------------------
    counts = event({"c-count": 5, "d-count": 3, "x-limit": 301.8})
    add(
        "numeric",
        "docs example",
        {
            "detail": {
                "c-count": [{"numeric": [">", 0, "<=", 5]}],
                "d-count": [{"numeric": ["<", 10]}],
                "x-limit": [{"numeric": ["=", 3.018e2]}],
            }
        },
        counts,
        MATCH,
    )
    add("numeric", "upper bound exclusive", {"detail": {"c-count": [{"numeric": [">", 0, "<", 5]}]}}, counts, NO_MATCH)
    add("numeric", "lower bound inclusive", {"detail": {"c-count": [{"numeric": [">=", 5, "<", 6]}]}}, counts, MATCH)
    add("numeric", "greater", {"detail": {"d-count": [{"numeric": [">", 3]}]}}, counts, NO_MATCH)
    add("numeric", "greater or equal", {"detail": {"d-count": [{"numeric": [">=", 3]}]}}, counts, MATCH)
    add("numeric", "equal", {"detail": {"d-count": [{"numeric": ["=", 4]}]}}, counts, NO_MATCH)
    add("numeric", "negative", {"detail": {"t": [{"numeric": ["<", 0]}]}}, event({"t": -1.5}), MATCH)
    add("numeric", "string value", {"detail": {"c-count": [{"numeric": [">", 0]}]}}, event({"c-count": "5"}), NO_MATCH)
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
    add("exists", "not a leaf, false", {"detail": {"c-count": [{"exists": False}]}}, event({"c-count": {"c1": 100}}), MATCH)
    add("exists", "not a leaf, true", {"detail": {"c-count": [{"exists": True}]}}, event({"c-count": {"c1": 100}}), NO_MATCH)
    add("exists", "null is present", {"detail": {"state": [{"exists": True}]}}, event({"state": None}), MATCH)
    add("exists", "whole detail absent", {"detail": {"c-count": [{"exists": False}]}}, event(detail={}), MATCH)
    add("exists", "top-level", {"replay-name": [{"exists": False}]}, event(), MATCH)
    add("exists", "string operand", {"detail": {"state": [{"exists": "true"}]}}, event(), INVALID)
    add("exists", "number operand", {"detail": {"state": [{"exists": 1}]}}, event(), INVALID)
    add("exists", "null operand", {"detail": {"state": [{"exists": None}]}}, event(), INVALID)

    # --- cidr --------------------------------------------------------------------------
    add(
        "cidr",
        "docs example",
        {"detail": {"sourceIPAddress": [{"cidr": "10.0.0.0/24"}]}},
        event({"sourceIPAddress": "10.0.0.255"}),
        MATCH,
    )
    add(
        "cidr",
        "outside",
        {"detail": {"sourceIPAddress": [{"cidr": "10.0.0.0/24"}]}},
        event({"sourceIPAddress": "10.0.1.1"}),
        NO_MATCH,
    )
    add(
        "cidr", "wide", {"detail": {"sourceIPAddress": [{"cidr": "10.0.0.0/8"}]}}, event({"sourceIPAddress": "10.200.3.4"}), MATCH
    )
    add(
        "cidr",
        "ipv6",
        {"detail": {"sourceIPAddress": [{"cidr": "2001:db8::/32"}]}},
        event({"sourceIPAddress": "2001:db8::ff00:42:8329"}),
        MATCH,
    )
    add(
        "cidr",
        "ipv6 outside",
        {"detail": {"sourceIPAddress": [{"cidr": "2001:db8::/32"}]}},
        event({"sourceIPAddress": "2001:db9::1"}),
        NO_MATCH,
    )
    add(
        "cidr",
        "not an address",
        {"detail": {"sourceIPAddress": [{"cidr": "10.0.0.0/24"}]}},
        event({"sourceIPAddress": "example.com"}),
        NO_MATCH,
    )
    add(
        "cidr",
        "ipv4 value, ipv6 network",
        {"detail": {"sourceIPAddress": [{"cidr": "::/0"}]}},
        event({"sourceIPAddress": "10.0.0.1"}),
        NO_MATCH,
    )
    add("cidr", "not a network", {"detail": {"sourceIPAddress": [{"cidr": "10.0.0.0/33"}]}}, event(), INVALID)
    add("cidr", "no prefix length", {"detail": {"sourceIPAddress": [{"cidr": "10.0.0.1"}]}}, event(), INVALID)
    add("cidr", "garbage", {"detail": {"sourceIPAddress": [{"cidr": "ten/8"}]}}, event(), INVALID)
    add("cidr", "number operand", {"detail": {"sourceIPAddress": [{"cidr": 10}]}}, event(), INVALID)

    # --- $or ---------------------------------------------------------------------------
    add(
        "$or",
        "docs example",
        {
            "source": ["aws.ec2"],
            "$or": [{"detail": {"state": ["running"]}}, {"detail": {"instance-id": ["i-1234567890abcdef0"]}}],
        },
        event(),
        MATCH,
    )
    add("$or", "no alternative", {"$or": [{"detail": {"state": ["running"]}}, {"region": ["eu-west-1"]}]}, event(), NO_MATCH)
    add(
        "$or",
        "and outside fails",
        {"source": ["aws.s3"], "$or": [{"detail": {"state": ["terminated"]}}, {"region": ["us-west-1"]}]},
        event(),
        NO_MATCH,
    )
    add(
        "$or", "inside detail", {"detail": {"$or": [{"state": ["running"]}, {"instance-id": [{"prefix": "i-"}]}]}}, event(), MATCH
    )
    add(
        "$or",
        "nested",
        {
            "$or": [
                {"source": ["aws.s3"]},
                {"region": ["us-west-1"], "$or": [{"detail": {"state": ["x"]}}, {"account": ["111122223333"]}]},
            ]
        },
        event(),
        MATCH,
    )
    add(
        "$or",
        "operators inside",
        {"$or": [{"detail": {"c": [{"numeric": [">", 10]}]}}, {"detail": {"state": [{"anything-but": "running"}]}}]},
        event({"c": 1, "state": "x"}),
        MATCH,
    )
    add("$or", "one alternative", {"$or": [{"source": ["aws.ec2"]}]}, event(), INVALID)
    add("$or", "empty list", {"$or": []}, event(), INVALID)
    add("$or", "not a list", {"$or": "source"}, event(), INVALID)
    add("$or", "alternative not an object", {"$or": [{"source": ["aws.ec2"]}, "region"]}, event(), INVALID)
    add("$or", "empty alternative", {"$or": [{"source": ["aws.ec2"]}, {}]}, event(), INVALID)
    add("$or", "operator name as a field", {"$or": [{"source": ["aws.ec2"]}, {"detail": {"prefix": ["x"]}}]}, event(), INVALID)
    add("$or", "comparison as a field", {"$or": [{"source": ["aws.ec2"]}, {"<": ["x"]}]}, event(), INVALID)
    add("$or", "bad pattern inside", {"$or": [{"source": ["aws.ec2"]}, {"region": [{"prefix": 1}]}]}, event(), INVALID)

    # --- unknown operators and limits --------------------------------------------------
    add("structure", "unknown operator", {"source": [{"startswith": "aws."}]}, event(), INVALID)
    add("structure", "misspelled operator", {"source": [{"anything_but": "aws.s3"}]}, event(), INVALID)
    add("structure", "operator with no key", {"source": [{}]}, event(), INVALID)
    add("structure", "size limit", {"detail": {"note": ["x" * 2100]}}, event(), INVALID)
    add("structure", "under the size limit", {"detail": {"note": ["x" * 1900]}}, event({"note": "x" * 1900}), MATCH)
    add(
        "structure",
        "complexity limit",
        {f"k{i}": {"$or": [{f"a{j}": ["v"]} for j in range(11)]} for i in range(3)},
        event(),
        INVALID,
    )
