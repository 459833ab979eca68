"""The projection store's contract, proven on the embedded engine and on DynamoDB (moto):
versioned conditional writes, the 8 indexes of the conversations table (sort conditions,
filters, sparse membership, pagination), emptying, and tables kept apart."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.local_engine import LocalEngine
from adapters.local_projection import LocalProjections
from adapters.projection_store import AwsProjections
from ports import IndexQuery, Projections, ProjectionTable, TableMissing, VersionConflict
from projections.queries import BANDS, Filters, query
from projections.tables import CONVERSATION_INDEXES, Index, conversations_table
from tests.contracts.aws_support import on_moto

LIVE, STANDBY = "crm-conversations", "crm-conversations-b"
SHARDS = 2
_INDEX_TUPLES = [(i.name, i.partition, i.sort) for i in CONVERSATION_INDEXES]
_PARTITIONS = sorted({i.partition for i in CONVERSATION_INDEXES})
_STRING_SORTS = sorted({i.sort for i in CONVERSATION_INDEXES if i.sort_type == "S"})
_TIMES = ["2026-01", "2026-02", "2026-03", "2026-04"]  # few values: ties on the sort key happen


@st.composite
def items(draw: st.DrawFn) -> list[dict[str, Any]]:
    """Conversation-like items; any index attribute may be absent (sparse indexes)."""
    count = draw(st.integers(0, 14))
    made = []
    for n in range(count):
        item: dict[str, Any] = {"id": f"i{n:02d}", "version": 1, "subject": draw(st.text(max_size=5))}
        for attribute in _PARTITIONS:
            value = draw(st.sampled_from([None, "a", "a", "b"]))
            if value is not None:
                item[attribute] = value
        for attribute in _STRING_SORTS:
            value = draw(st.sampled_from([None, *_TIMES]))
            if value is not None:
                item[attribute] = value
        score = draw(st.one_of(st.none(), st.integers(0, 5)))
        if score is not None:
            item["lead_score"] = score
        made.append(item)
    return made


_FILTERS = st.lists(
    st.sampled_from(
        [
            ("source", "=", "a"),
            ("lead_score", ">=", 2),
            ("followup_due", "<=", "2026-02"),
            ("month", "=", "b"),
            ("last_activity", ">=", "2026-03"),
        ]
    ),
    max_size=2,
    unique=True,
)
_SORTS = st.one_of(st.none(), st.tuples(st.sampled_from([">=", "<="]), st.sampled_from(_TIMES)))


def _compare(value: Any, op: str, bound: Any) -> bool:
    if value is None or type(value) is not type(bound):
        return False
    return bool(value == bound if op == "=" else value >= bound if op == ">=" else value <= bound)


def model(stored: list[dict[str, Any]], q: IndexQuery) -> list[dict[str, Any]]:
    """What the index holds for ``q``: the partition's items with a sort key, newest first."""
    partition, value = q.partition
    found = [
        i
        for i in stored
        if i.get(partition) == value
        and q.sort_key in i
        and (q.sort is None or _compare(i[q.sort_key], *q.sort))
        and all(_compare(i.get(a), op, v) for a, op, v in q.filters)
    ]
    return sorted(found, key=lambda i: i[q.sort_key], reverse=True)


def page_through(table: ProjectionTable, q: IndexQuery, limit: int) -> list[dict[str, Any]]:
    got: list[dict[str, Any]] = []
    start: dict[str, Any] | None = None
    for _page in range(200):
        page, start = table.query(q, limit=limit, start=start)
        assert len(page) <= limit
        got.extend(page)
        if start is None:
            return got
    raise AssertionError("pagination did not end")


def same_answer(got: list[dict[str, Any]], expected: list[dict[str, Any]], sort_key: str) -> None:
    ids = [i["id"] for i in got]
    assert len(ids) == len(set(ids)), f"an item came twice: {ids}"
    assert set(ids) == {i["id"] for i in expected}
    assert [i[sort_key] for i in got] == [i[sort_key] for i in expected], "not newest first"


class ProjectionStoreContract(ABC):
    examples = 40

    @abstractmethod
    def backend(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AbstractContextManager[Projections]:
        """Projections where the live and the standby conversations tables exist."""

    @pytest.fixture
    def projections(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Projections]:
        with self.backend(tmp_path, monkeypatch) as projections:
            yield projections

    @pytest.fixture
    def table(self, projections: Projections) -> ProjectionTable:
        return projections.table(LIVE)

    # --- versioned writes ------------------------------------------------------------

    def test_a_put_lands_only_on_the_version_it_read(self, table: ProjectionTable) -> None:
        table.put({"id": "c1", "version": 1, "contact": "p@x"}, expected_version=None)
        with pytest.raises(VersionConflict):
            table.put({"id": "c1", "version": 1, "contact": "other"}, expected_version=None)  # not absent
        table.put({"id": "c1", "version": 2, "contact": "p@x", "tags": ["a", {"b": 1.5}]}, expected_version=1)
        with pytest.raises(VersionConflict):
            table.put({"id": "c1", "version": 3, "contact": "stale"}, expected_version=1)  # stale read
        with pytest.raises(VersionConflict):
            table.put({"id": "c2", "version": 2}, expected_version=1)  # absent, but a version was expected
        assert table.get("c1") == {"id": "c1", "version": 2, "contact": "p@x", "tags": ["a", {"b": 1.5}]}
        assert table.get("c2") is None and table.get("absent") is None

    def test_a_none_attribute_is_not_stored(self, table: ProjectionTable) -> None:
        table.put({"id": "c1", "version": 1, "contact": None, "followup_bucket": None}, expected_version=None)
        assert table.get("c1") == {"id": "c1", "version": 1}

    # --- the indexes ---------------------------------------------------------------------

    @pytest.mark.parametrize("index", CONVERSATION_INDEXES, ids=lambda i: i.name)
    def test_every_index_pages_newest_first_with_nothing_lost_or_doubled(self, table: ProjectionTable, index: Index) -> None:
        @settings(max_examples=self.examples, deadline=None, suppress_health_check=list(HealthCheck))
        @given(stored=items(), sort=_SORTS, filters=_FILTERS, limit=st.integers(1, 4))
        def check(
            stored: list[dict[str, Any]], sort: tuple[str, str] | None, filters: list[tuple[str, str, Any]], limit: int
        ) -> None:
            table.empty()
            table.batch_put(stored)
            bound = None if sort is None else (sort if index.sort_type == "S" else (sort[0], _TIMES.index(sort[1])))
            # a filter never names the index's own keys (DynamoDB refuses that, and queries.plan never does)
            kept = tuple(f for f in filters if f[0] not in (index.partition, index.sort))
            q = IndexQuery(index.name, (index.partition, "a"), index.sort, bound, kept)
            same_answer(page_through(table, q, limit), model(stored, q), index.sort)

        check()

    def test_an_item_without_the_index_attributes_is_not_in_the_index(self, table: ProjectionTable) -> None:
        table.batch_put(
            [
                {"id": "open", "version": 1, "followup_bucket": "open", "followup_due": "2026-01-02"},
                {"id": "no-due", "version": 1, "followup_bucket": "open"},
                {"id": "no-bucket", "version": 1, "followup_due": "2026-01-01"},
            ]
        )
        q = IndexQuery("by_followup", ("followup_bucket", "open"), "followup_due", ("<=", "2027"))
        assert [i["id"] for i in page_through(table, q, 10)] == ["open"]

    def test_a_short_page_still_says_where_to_continue(self, table: ProjectionTable) -> None:
        """The limit counts items read, before the filter (DynamoDB's rule): a page may be
        short, even empty, and the key still leads to the rest."""
        table.batch_put(
            [
                {"id": f"c{n}", "version": 1, "contact": "p", "last_activity": f"2026-0{n}", "source": "x" if n == 1 else "y"}
                for n in range(1, 6)
            ]
        )
        q = IndexQuery("by_contact", ("contact", "p"), "last_activity", filters=(("source", "=", "x"),))
        page, start = table.query(q, limit=2)
        assert page == [] and start is not None
        assert [i["id"] for i in page_through(table, q, 2)] == ["c1"]

    # --- whole tables ----------------------------------------------------------------------

    def test_empty_deletes_every_item_of_that_table_only(self, projections: Projections) -> None:
        live, standby = projections.table(LIVE), projections.table(STANDBY)
        live.batch_put([{"id": f"c{n}", "version": 1, "contact": "p", "last_activity": "t"} for n in range(30)])
        standby.put({"id": "c1", "version": 7, "contact": "q", "last_activity": "t"}, expected_version=None)
        assert live.empty() == 30
        assert live.scan() == [] and live.get("c1") is None
        assert live.query(IndexQuery("by_contact", ("contact", "p"), "last_activity"), limit=5) == ([], None)
        assert standby.scan() == [{"id": "c1", "version": 7, "contact": "q", "last_activity": "t"}]
        assert live.empty() == 0

    def test_two_tables_keep_their_own_items(self, projections: Projections) -> None:
        live, standby = projections.table(LIVE), projections.table(STANDBY)
        live.put({"id": "c1", "version": 1, "contact": "p", "last_activity": "1"}, expected_version=None)
        standby.put({"id": "c1", "version": 1, "contact": "p", "last_activity": "2"}, expected_version=None)
        standby.put({"id": "c1", "version": 2, "contact": "p", "last_activity": "3"}, expected_version=1)
        with pytest.raises(VersionConflict):
            live.put({"id": "c1", "version": 3, "contact": "p"}, expected_version=2)
        q = IndexQuery("by_contact", ("contact", "p"), "last_activity")
        assert [i["last_activity"] for i in live.query(q, limit=5)[0]] == ["1"]
        assert [i["last_activity"] for i in standby.query(q, limit=5)[0]] == ["3"]
        assert live.name == LIVE and standby.name == STANDBY

    def test_a_table_infra_did_not_create_cannot_be_emptied(self, projections: Projections) -> None:
        with pytest.raises(TableMissing, match="crm-nowhere"):
            projections.table("crm-nowhere").empty()

    # --- the conversation queries on top (projections.queries) -----------------------------

    def test_conversation_listings_fan_out_merge_and_page_by_token(self, table: ProjectionTable) -> None:
        @st.composite
        def conversations(draw: st.DrawFn) -> list[dict[str, Any]]:
            made = []
            for n in range(draw(st.integers(0, 16))):
                status = draw(st.sampled_from(["new", "replied"]))
                score = draw(st.integers(0, 9))
                made.append(
                    {
                        "id": f"c{n:02d}",
                        "version": 1,
                        "contact": draw(st.sampled_from(["p", "q"])),
                        "status": status,
                        "status_shard": f"{status}#{draw(st.integers(0, SHARDS - 1))}",
                        "last_activity": draw(st.sampled_from(_TIMES)),
                        "lead_score": score,
                        "score_band": BANDS[min(score // 3, 2)],
                    }
                )
            return made

        @settings(max_examples=self.examples, deadline=None, suppress_health_check=list(HealthCheck))
        @given(
            stored=conversations(),
            limit=st.integers(1, 5),
            contact=st.sampled_from([None, "p"]),
            min_score=st.sampled_from([None, 4]),
            by_status=st.booleans(),
        )
        def check(stored: list[dict[str, Any]], limit: int, contact: str | None, min_score: int | None, by_status: bool) -> None:
            table.empty()
            table.batch_put(stored)
            filters = Filters(status="new" if by_status else None, contact=contact, min_score=min_score)
            sort = "lead_score" if not by_status and not contact and min_score is not None else "last_activity"
            expected = sorted(
                (
                    i
                    for i in stored
                    if (not by_status or i["status"] == "new")
                    and (not contact or i["contact"] == contact)
                    and (min_score is None or i["lead_score"] >= min_score)
                ),
                key=lambda i: i[sort],
                reverse=True,
            )
            got: list[dict[str, Any]] = []
            token: dict[str, Any] | None = None
            for _page in range(100):
                page, token = query(table, filters, shards=SHARDS, limit=limit, next_token=token)
                assert len(page) <= limit
                got.extend(page)
                if token is None:
                    break
            if not (by_status or contact or min_score is not None):
                expected = sorted(stored, key=lambda i: i["last_activity"], reverse=True)
            same_answer(got, expected, sort)

        check()


class TestLocalProjectionStore(ProjectionStoreContract):
    examples = 60

    @contextmanager
    def backend(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Projections]:
        engine = LocalEngine(":memory:")
        try:
            yield LocalProjections(engine, _INDEX_TUPLES, tables=(LIVE, STANDBY))
        finally:
            engine.close()

    def test_each_index_query_is_one_index_range_scan(self) -> None:
        engine = LocalEngine(":memory:")
        table = LocalProjections(engine, _INDEX_TUPLES).table(LIVE)
        for index in CONVERSATION_INDEXES:
            bound: Any = 3 if index.sort_type == "N" else "2026"
            for q, start in (
                (IndexQuery(index.name, (index.partition, "a"), index.sort), None),
                (
                    IndexQuery(index.name, (index.partition, "a"), index.sort, (">=", bound)),
                    {"id": "c9", index.partition: "a", index.sort: bound},
                ),
            ):
                plan = " | ".join(table.explain(q, start))
                assert plan.startswith(f"SEARCH projection USING INDEX projection_{index.name} (tbl=? AND <expr>=?"), plan
                assert "TEMP B-TREE" not in plan, plan  # newest first straight from the index

    def test_a_file_backed_state_keeps_both_tables(self, tmp_path: Path) -> None:
        path = tmp_path / "state.db"
        engine = LocalEngine(path)
        projections = LocalProjections(engine, _INDEX_TUPLES)
        projections.table(LIVE).put({"id": "c1", "version": 1, "contact": "p", "last_activity": "1"}, None)
        projections.table(STANDBY).put({"id": "c1", "version": 4}, None)
        engine.close()
        reopened = LocalProjections(LocalEngine(path), _INDEX_TUPLES)
        q = IndexQuery("by_contact", ("contact", "p"), "last_activity")
        assert [i["id"] for i in reopened.table(LIVE).query(q, limit=5)[0]] == ["c1"]
        assert reopened.table(STANDBY).get("c1") == {"id": "c1", "version": 4}

    def test_a_query_names_a_declared_index(self) -> None:
        table = LocalProjections(LocalEngine(":memory:"), _INDEX_TUPLES).table(LIVE)
        with pytest.raises(ValueError, match="no index 'by_colour'"):
            table.query(IndexQuery("by_colour", ("colour", "red"), "last_activity"), limit=5)
        with pytest.raises(ValueError, match="index 'by_contact' is on"):
            table.query(IndexQuery("by_contact", ("company_key", "x"), "last_activity"), limit=5)


class TestAwsProjectionStore(ProjectionStoreContract):
    examples = 15  # moto is slow; the local suite explores more inputs through the same tests

    @contextmanager
    def backend(self, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Projections]:
        from adapters.aws import client

        with on_moto(monkeypatch) as crm_settings:
            ddb = client("dynamodb", crm_settings.region)
            for name in (LIVE, STANDBY):
                ddb.create_table(**conversations_table(name))
            yield AwsProjections(crm_settings.region)
