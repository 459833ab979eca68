"""`crm replay --into` fills the standby table infra manages; it never creates or deletes a table.

Regression for issue 15: replay deleted and re-created the target from code (no
CMK, no PITR, no deletion protection, outside OpenTofu), with a 30 s delete wait
too short for a table with 8 GSIs.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from moto import mock_aws

from adapters.aws import clear_clients
from adapters.projection_store import AwsProjections
from crm.provision import TABLE_WAIT, TableMissing
from projections.replay import check_target
from projections.tables import conversations_table, conversations_tables, standby_table

REGION = "us-east-1"


@settings(max_examples=100)
@given(st.from_regex(r"[a-z][a-z0-9-]{2,40}", fullmatch=True), st.from_regex(r"[a-z][a-z0-9-]{2,20}", fullmatch=True))
def test_only_the_standby_of_the_managed_pair_is_accepted(configured: str, other: str) -> None:
    live, standby = conversations_tables(configured)
    assert standby_table(live) == standby and standby_table(standby) == live
    check_target(standby, live, configured)
    check_target(live, standby, configured)  # after a switch, the old live table is the standby
    with pytest.raises(ValueError, match="live table"):
        check_target(live, live, configured)
    if other not in (live, standby):
        with pytest.raises(ValueError, match="not a conversations table infra manages"):
            check_target(other, live, configured)


class _Settings:
    region = REGION
    endpoint_url = None


@pytest.fixture
def ddb(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        clear_clients()
        yield boto3.client("dynamodb", region_name=REGION)
        clear_clients()


def test_the_target_is_emptied_in_place_never_deleted_or_created(ddb: Any) -> None:
    ddb.create_table(**conversations_table("crm-conversations-b"))
    definition = conversations_table("crm-conversations-b")
    keys = [k["AttributeName"] for k in definition["KeySchema"]]
    for n in range(60):
        ddb.put_item(TableName="crm-conversations-b", Item={k: {"S": f"{k}-{n}"} for k in keys} | {"x": {"S": "y"}})
    from adapters.aws import client

    operations: list[str] = []
    client("dynamodb", REGION).meta.events.register(
        "provide-client-params.dynamodb.*", lambda params, model, **_: operations.append(model.name)
    )
    assert AwsProjections(REGION).table("crm-conversations-b").empty() == 60
    assert ddb.scan(TableName="crm-conversations-b")["Count"] == 0
    assert not {"CreateTable", "DeleteTable", "UpdateTable"} & set(operations), operations
    assert TABLE_WAIT["Delay"] * TABLE_WAIT["MaxAttempts"] >= 600, "8 GSIs can take minutes to become ACTIVE"


def test_a_missing_table_is_named_not_created(ddb: Any) -> None:
    with pytest.raises(TableMissing, match=r"crm-conversations-b.*infra/modules/tables"):
        AwsProjections(REGION).table("crm-conversations-b").empty()
    assert "crm-conversations-b" not in ddb.list_tables()["TableNames"]


# --- the same promise through the projection port (what replay calls) ------------------


def _aws_projections() -> Any:
    from bootstrap import bootstrap
    from crm.settings import Settings

    return bootstrap(Settings(), backend="aws").projections


def test_the_aws_port_empties_the_target_in_place_and_names_a_missing_one(ddb: Any) -> None:
    from ports import TableMissing as PortTableMissing

    ddb.create_table(**conversations_table("crm-conversations-b"))
    for n in range(30):
        ddb.put_item(TableName="crm-conversations-b", Item={"id": {"S": f"c{n}"}, "version": {"N": "1"}})
    from adapters.aws import client

    operations: list[str] = []
    client("dynamodb", REGION).meta.events.register(
        "provide-client-params.dynamodb.*", lambda params, model, **_: operations.append(model.name)
    )
    projections = _aws_projections()
    assert projections.table("crm-conversations-b").empty() == 30
    assert ddb.scan(TableName="crm-conversations-b")["Count"] == 0
    assert not {"CreateTable", "DeleteTable", "UpdateTable"} & set(operations), operations
    # the error the CLI names (ports.TableMissing), not a botocore one
    with pytest.raises(PortTableMissing, match="crm-conversations-c"):
        projections.table("crm-conversations-c").empty()
    assert "crm-conversations-c" not in ddb.list_tables()["TableNames"]


def test_the_local_port_empties_the_target_and_keeps_it(tmp_path: Any) -> None:
    from bootstrap import bootstrap
    from crm.settings import Settings

    svc = bootstrap(Settings(), backend="local", state=tmp_path / "state")
    try:
        table = svc.projections.table("crm-conversations-b")
        table.batch_put([{"id": f"c{n}", "version": 1, "contact": f"p{n}@x.example"} for n in range(30)])
        assert len(table.scan()) == 30
        assert table.empty() == 30
        assert table.scan() == []
        table.put({"id": "after", "version": 1}, expected_version=None)  # still there, still writable
        assert table.get("after") == {"id": "after", "version": 1}
    finally:
        svc.close()
