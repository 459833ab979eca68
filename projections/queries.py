"""Queries of the conversations projection: every filter is a GSI query, newest first.

The first filter present picks the index (status, company, contact, title, source,
min-score, follow-up, month); the others become filter expressions on it. Status and
score fan out over their partitions (status shards, score bands) and merge.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import msgspec

from ports import IndexQuery, ProjectionTable
from projections.conversations import FOLLOWUP_BUCKET
from projections.tables import CONVERSATION_INDEXES

BANDS = ("hot", "warm", "cold")
_SORT = {index.name: index.sort for index in CONVERSATION_INDEXES}
_PARTITION = {index.name: index.partition for index in CONVERSATION_INDEXES}


@dataclass(frozen=True)
class Filters:
    status: str | None = None
    company: str | None = None
    contact: str | None = None
    title: str | None = None
    source: str | None = None
    min_score: int | None = None
    followup_due: str | None = None
    month: str | None = None


def _norm(text: str) -> str:
    return " ".join(text.lower().split())


def plan(filters: Filters, shards: int) -> list[IndexQuery]:
    """One :class:`IndexQuery` per partition to read (empty: no filter, the whole table).

    The first filter present picks the index; the others become filters on it."""
    remaining: list[tuple[str, str, Any]] = []
    chosen: list[IndexQuery] = []

    def choose(index: str, values: list[Any], sort: tuple[str, Any] | None = None) -> None:
        if not chosen:
            chosen.extend(IndexQuery(index, (_PARTITION[index], value), _SORT[index], sort) for value in values)

    if filters.status:
        choose("by_status", [f"{filters.status}#{s}" for s in range(shards)])
    for index, attribute, value in (
        ("by_company", "company_key", filters.company and _norm(filters.company)),
        ("by_contact", "contact", filters.contact and filters.contact.lower()),
        ("by_title", "title_key", filters.title and _norm(filters.title)),
        ("by_source", "source", filters.source),
        ("by_month", "month", filters.month),
    ):
        if value:
            if chosen:
                remaining.append((attribute, "=", value))
            else:
                choose(index, [value])
    if filters.min_score is not None:
        if chosen:
            remaining.append(("lead_score", ">=", filters.min_score))
        else:
            choose("by_score", list(BANDS), (">=", filters.min_score))
    if filters.followup_due:
        if chosen:
            remaining.append(("followup_due", "<=", filters.followup_due))
        else:
            choose("by_followup", [FOLLOWUP_BUCKET], ("<=", filters.followup_due))
    return [msgspec.structs.replace(q, filters=tuple(remaining)) for q in chosen]


def query(
    table: ProjectionTable, filters: Filters, *, shards: int, limit: int = 50, next_token: dict[str, Any] | None = None
) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """A page of conversations, newest first, and the token of the next page."""
    partitions = plan(filters, shards)
    if not partitions:
        # no filter: the whole (small) table, which only a full listing needs
        everything = sorted(
            (i for i in table.scan() if "contact" in i), key=lambda i: str(i.get("last_activity", "")), reverse=True
        )
        offset = int((next_token or {}).get("offset", 0))
        more = offset + limit < len(everything)
        return everything[offset : offset + limit], ({"offset": offset + limit} if more else None)
    sort, partition = partitions[0].sort_key, partitions[0].partition[0]
    starts: dict[str, Any] = dict(next_token or {})
    fetched: dict[str, tuple[list[dict[str, Any]], bool]] = {}
    for position, partition_query in enumerate(partitions):
        key = str(position)
        if next_token is not None and starts.get(key) is None:
            fetched[key] = ([], True)  # finished on an earlier page
            continue
        found: list[dict[str, Any]] = []
        start = starts.get(key) or None  # {}: from the beginning
        while len(found) < limit:
            page_items, start = table.query(partition_query, limit=limit, start=start)
            found.extend(page_items)
            if not start:
                break
        fetched[key] = (found[:limit], start is None and len(found) <= limit)
    merged = sorted(
        ((item.get(sort), key, item) for key, (found, _done) in fetched.items() for item in found),
        key=lambda triple: (triple[0] is not None, triple[0]),
        reverse=True,
    )
    page = merged[:limit]
    token: dict[str, Any] = {}
    for key, (found, done) in fetched.items():
        taken = [item for _s, k, item in page if k == key]
        if done and len(taken) == len(found):
            token[key] = None
        elif taken:
            last = taken[-1]
            token[key] = {"id": last["id"], partition: last[partition], sort: last[sort]}
        else:
            token[key] = starts.get(key) or {}
    more = any(value is not None for value in token.values())
    return [item for _s, _k, item in page], (token if more else None)
