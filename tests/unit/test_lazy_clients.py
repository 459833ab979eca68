"""A Lambda's first invocation makes only the boto3 clients its handler calls (issue 19).

The container wires every adapter; making a client costs ~40-90 ms (botocore loads the
service's model), so each is made on first use (``adapters.aws.LazyClient``). A client
made while wiring (as Powertools' SSM provider does to the client it is given) fails here.
"""

from __future__ import annotations

from typing import Any

import pytest

from adapters.aws import LazyClient, clear_clients, client
from bootstrap import bootstrap
from crm.settings import Settings


def _clients(svc: Any) -> dict[str, LazyClient]:
    found = {}
    for port in ("store", "bus", "queues", "blobs", "mailer", "parameters", "projections"):
        adapter = getattr(svc, port)
        for name, value in vars(adapter).items():
            if isinstance(value, LazyClient):
                found[f"{port}.{name}"] = value
    return found


@pytest.fixture
def services(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    clear_clients()
    yield bootstrap(Settings(), backend="aws")
    clear_clients()


def test_wiring_the_container_makes_no_client(services: Any) -> None:
    clients = _clients(services)
    assert {"store._db", "bus._events", "queues._sqs", "blobs._s3", "mailer._ses", "parameters._ssm"} <= set(clients)
    assert [name for name, c in clients.items() if c.made] == []


def test_a_client_is_made_once_on_first_use_and_shared(services: Any) -> None:
    s3 = _clients(services)["blobs._s3"]
    assert s3.meta.service_model.service_name == "s3" and s3.made
    assert client("s3", "us-east-1", None) is s3  # one client per service and place, whoever asks
    others = {name for name, c in _clients(services).items() if c.made}
    assert others == {"blobs._s3"}
