"""Queries of the conversations projection: every filter is a GSI query, newest first.

The first filter present picks the index (status, company, contact, title, source,
min-score, follow-up, month); the others become filter expressions on it. Status and
score fan out over their partitions (status shards, score bands) and merge.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

from projections.conversations import FOLLOWUP_BUCKET
from projections.tables import CONVERSATION_INDEXES

BANDS = ("hot", "warm", "cold")
_SORT = {index.name: index.sort for index in CONVERSATION_INDEXES}
_PARTITION = {index.name: index.partition for index in CONVERSATION_INDEXES}


class Table(Protocol):
    def query(self, index: str, key_condition: str, values: dict[str, Any], *, limit: int,
              start: dict[str, Any] | None = None, filter_expression: str | None = None,
              names: dict[str, str] | None = None) -> tuple[list[dict[str, Any]], dict[str, Any] | None]: ...

    def scan(self) -> list[dict[str, Any]]: ...


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


def plan(filters: Filters, shards: int) -> tuple[str, list[tuple[str, dict[str, Any]]], list[tuple[str, Any]]]:
    """(index, [(key condition, values) per partition], [(attribute, value) post-filters])."""
    remaining: list[tuple[str, Any]] = []
    chosen: tuple[str, list[tuple[str, dict[str, Any]]]] | None = None

    def choose(index: str, partitions: list[tuple[str, dict[str, Any]]]) -> None:
        nonlocal chosen
        if chosen is None:
            chosen = (index, partitions)

    if filters.status:
        choose("by_status", [("status_shard = :p", {":p": f"{filters.status}#{s}"}) for s in range(shards)])
    for _name, index, attribute, value in (
        ("company", "by_company", "company_key", filters.company and _norm(filters.company)),
        ("contact", "by_contact", "contact", filters.contact and filters.contact.lower()),
        ("title", "by_title", "title_key", filters.title and _norm(filters.title)),
        ("source", "by_source", "source", filters.source),
        ("month", "by_month", "month", filters.month),
    ):
        if value:
            if chosen is None:
                choose(index, [(f"{attribute} = :p", {":p": value})])
            else:
                remaining.append((attribute, value))
    if filters.min_score is not None:
        condition = [("score_band = :p AND lead_score >= :s", {":p": band, ":s": filters.min_score})
                     for band in BANDS]
        if chosen is None:
            choose("by_score", condition)
        else:
            remaining.append(("lead_score>=", filters.min_score))
    if filters.followup_due:
        condition = [("followup_bucket = :p AND followup_due <= :s", {":p": FOLLOWUP_BUCKET, ":s": filters.followup_due})]
        if chosen is None:
            choose("by_followup", condition)
        else:
            remaining.append(("followup_due<=", filters.followup_due))
    if chosen is None:
        return "", [], remaining
    return chosen[0], chosen[1], remaining


def _filter_expression(remaining: list[tuple[str, Any]]) -> tuple[str | None, dict[str, Any], dict[str, str]]:
    parts, values, names = [], {}, {}
    for index, (attribute, value) in enumerate(remaining):
        op = "="
        if attribute.endswith(">="):
            attribute, op = attribute[:-2], ">="
        elif attribute.endswith("<="):
            attribute, op = attribute[:-2], "<="
        names[f"#f{index}"] = attribute
        values[f":f{index}"] = value
        parts.append(f"#f{index} {op} :f{index}")
    return (" AND ".join(parts) or None), values, names


def query(table: Table, filters: Filters, *, shards: int, limit: int = 50,
          next_token: dict[str, Any] | None = None) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
    """A page of conversations, newest first, and the token of the next page."""
    index, partitions, remaining = plan(filters, shards)
    if not index:
        # no filter: the whole (small) table, which only a full listing needs
        everything = sorted((i for i in table.scan() if "contact" in i),
                            key=lambda i: str(i.get("last_activity", "")), reverse=True)
        offset = int((next_token or {}).get("offset", 0))
        more = offset + limit < len(everything)
        return everything[offset : offset + limit], ({"offset": offset + limit} if more else None)
    expression, extra_values, names = _filter_expression(remaining)
    sort, partition = _SORT[index], _PARTITION[index]
    starts: dict[str, Any] = dict(next_token or {})
    fetched: dict[str, tuple[list[dict[str, Any]], bool]] = {}
    for position, (condition, values) in enumerate(partitions):
        key = str(position)
        if next_token is not None and starts.get(key) is None:
            fetched[key] = ([], True)  # finished on an earlier page
            continue
        found: list[dict[str, Any]] = []
        start = starts.get(key) or None  # {}: from the beginning
        while len(found) < limit:
            page_items, start = table.query(index, condition, {**values, **extra_values}, limit=limit, start=start,
                                            filter_expression=expression, names=names or None)
            found.extend(page_items)
            if not start:
                break
        fetched[key] = (found[:limit], start is None and len(found) <= limit)
    merged = sorted(((item.get(sort), key, item) for key, (found, _done) in fetched.items() for item in found),
                    key=lambda triple: (triple[0] is not None, triple[0]), reverse=True)
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
