"""Key schemas of every table and the 8 GSIs of the conversations projection.

This module is the definition; the local stack creates tables from it and a test
checks that ``infra/`` declares exactly the same keys and indexes.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Index:
    name: str
    partition: str
    sort: str
    sort_type: str = "S"  # S or N
    question: str = ""


# Every GSI projects ALL attributes: a conversation item is small (< 4 KB) and every
# listing prints the whole row, so a KEYS_ONLY index would cost a read per row.
CONVERSATION_INDEXES: tuple[Index, ...] = (
    Index("by_contact", "contact", "last_activity", question="everything with this person"),
    Index("by_company", "company_key", "last_activity", question="everything with this company"),
    # status is low-cardinality: the key is '<status>#<shard>' and a query fans out
    # over the shards, so one busy status never becomes a hot partition.
    Index("by_status", "status_shard", "last_activity", question="the inbox by status"),
    Index("by_title", "title_key", "last_activity", question="all conversations about one role"),
    Index("by_source", "source", "first_activity", question="LinkedIn vs direct vs referral"),
    Index("by_score", "score_band", "lead_score", "N", question="best leads first"),
    # sparse: only conversations with an open follow-up carry 'followup_bucket'
    Index("by_followup", "followup_bucket", "followup_due", question="what needs chasing"),
    Index("by_month", "month", "first_activity", question="the timeline"),
)


# The conversations projection has two tables, both declared in infra/: the live
# one (the projection pointer names it) and its standby, which `crm replay --into`
# rebuilds before switching the pointer. The code never creates a table in AWS.
STANDBY_SUFFIX = "-b"


def standby_table(name: str) -> str:
    """The standby of the conversations table ``name`` (and of the standby: ``name`` again)."""
    return name.removesuffix(STANDBY_SUFFIX) if name.endswith(STANDBY_SUFFIX) else f"{name}{STANDBY_SUFFIX}"


def conversations_tables(name: str) -> tuple[str, str]:
    """The pair of conversations tables the configured ``conversations_table`` belongs to."""
    primary = name.removesuffix(STANDBY_SUFFIX)
    return primary, f"{primary}{STANDBY_SUFFIX}"


def conversations_table(name: str) -> dict[str, Any]:
    """``CreateTable`` arguments for the conversations projection."""
    attributes = {"id": "S"}
    for index in CONVERSATION_INDEXES:
        attributes[index.partition] = "S"
        attributes[index.sort] = index.sort_type
    return {
        "TableName": name,
        "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [{"AttributeName": "id", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": k, "AttributeType": t} for k, t in sorted(attributes.items())],
        "GlobalSecondaryIndexes": [
            {
                "IndexName": index.name,
                "KeySchema": [
                    {"AttributeName": index.partition, "KeyType": "HASH"},
                    {"AttributeName": index.sort, "KeyType": "RANGE"},
                ],
                "Projection": {"ProjectionType": "ALL"},
            }
            for index in CONVERSATION_INDEXES
        ],
    }


def events_table(name: str) -> dict[str, Any]:
    """The event store: ``pk`` = stream id, ``sk`` = version; dedupe and lookup items
    live beside the streams under their own ``pk`` prefixes (``message#``, ``msgid#``)."""
    return {
        "TableName": name,
        "BillingMode": "PAY_PER_REQUEST",
        "KeySchema": [
            {"AttributeName": "pk", "KeyType": "HASH"},
            {"AttributeName": "sk", "KeyType": "RANGE"},
        ],
        "AttributeDefinitions": [
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
        ],
    }
