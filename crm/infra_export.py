"""Write ``infra/topology.json``: the deployed shape as plain data, for OpenTofu.

OpenTofu reads the file with ``jsondecode(file(...))``, so consumers, queues, rule
patterns, table keys, GSIs and the Lambda environment are defined once, in the code,
and never retyped in HCL. ``tests/infra/test_agreement.py`` fails when the file is
stale; regenerate it with ``python -m crm.infra_export`` (or ``crm infra export``).

The file holds:

* ``consumers`` / ``producers``: :func:`crm.topology.export` unchanged;
* ``tables``: the event store and the conversations projection of
  :mod:`projections.tables` (default names), each as ``hash_key``, ``range_key``,
  ``attributes`` and ``indexes``;
* ``lambda_environment``: :data:`crm.settings.LAMBDA_ENVIRONMENT`.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from crm import topology
from crm.errors import UsageError
from crm.settings import LAMBDA_ENVIRONMENT, default
from projections import tables

DEFAULT_PATH = Path("infra") / "topology.json"


def _default(field: str) -> Any:
    """A setting's declared default: the export must not depend on crm.toml or CRM_*."""
    return default(field)


def _table(create_table: dict[str, Any]) -> dict[str, Any]:
    """``CreateTable`` arguments reshaped for HCL ``dynamic`` blocks."""
    types = {a["AttributeName"]: a["AttributeType"] for a in create_table["AttributeDefinitions"]}
    keys = {k["KeyType"]: k["AttributeName"] for k in create_table["KeySchema"]}
    indexes = []
    for gsi in create_table.get("GlobalSecondaryIndexes", []):
        gsi_keys = {k["KeyType"]: k["AttributeName"] for k in gsi["KeySchema"]}
        indexes.append(
            {
                "name": gsi["IndexName"],
                "partition": gsi_keys["HASH"],
                "partition_type": types[gsi_keys["HASH"]],
                "sort": gsi_keys.get("RANGE"),
                "sort_type": types[gsi_keys["RANGE"]] if "RANGE" in gsi_keys else None,
                "projection": gsi["Projection"]["ProjectionType"],
            }
        )
    return {
        "name": create_table["TableName"],
        "billing_mode": create_table["BillingMode"],
        "hash_key": keys["HASH"],
        "range_key": keys.get("RANGE"),
        "attributes": [{"name": n, "type": t} for n, t in sorted(types.items())],
        "indexes": indexes,
    }


def check_patterns(consumers: list[topology.Consumer[Any]]) -> None:
    """Refuse to export a pattern EventBridge would refuse (``tofu apply`` would fail late)."""
    from events.pattern_rules import InvalidPattern, validate_pattern

    for consumer in consumers:
        for name, pattern in consumer.patterns.items():
            try:
                validate_pattern(pattern)
            except InvalidPattern as exc:
                raise UsageError(f"EventBridge rule {name!r}: {exc}") from None


def build_export(rule_patterns: dict[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """Everything OpenTofu needs from the code, as plain data; every pattern validated."""
    check_patterns(topology.consumers(rule_patterns))
    data = topology.export(rule_patterns, prefix=_default("queue_prefix"))
    data["tables"] = {
        "events": _table(tables.events_table(_default("events_table"))),
        "conversations": {
            **_table(tables.conversations_table(_default("conversations_table"))),
            "standby_suffix": tables.STANDBY_SUFFIX,
        },
    }
    data["lambda_environment"] = list(LAMBDA_ENVIRONMENT)
    return data


def render(rule_patterns: dict[str, dict[str, Any]] | None = None) -> str:
    """The exact text of ``infra/topology.json``."""
    return json.dumps(build_export(rule_patterns), indent=2, sort_keys=True) + "\n"


def write_export(path: Path, rule_patterns: dict[str, dict[str, Any]] | None = None) -> None:
    """Write the export to ``path`` (parents created)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(rule_patterns), encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m crm.infra_export", description="Write infra/topology.json for OpenTofu.")
    parser.add_argument("path", nargs="?", type=Path, default=DEFAULT_PATH, help=f"default: {DEFAULT_PATH}")
    parser.add_argument(
        "--rules-module",
        default=None,
        help="also export the rules of this module (CRM_RULES_MODULE), so each becomes an EventBridge rule",
    )
    args = parser.parse_args(argv)
    from bootstrap import rule_patterns

    write_export(args.path, rule_patterns(args.rules_module))
    print(f"wrote {args.path}")


if __name__ == "__main__":
    main()
