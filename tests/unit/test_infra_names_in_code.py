"""The code leaves to infra what infra decides (issue 15 regressions).

- Objects the functions write carry no encryption argument, so the bucket's SSE-KMS
  default (the stack's key) applies instead of SSE-S3.
- Metrics land in the namespace and under the service name infra sets.
"""

from __future__ import annotations

from typing import Any

import boto3
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from moto import mock_aws

from adapters.aws import clear_clients
from adapters.blobs import BlobStore
from observability import NAMESPACE, logger_for, metrics_for

REGION = "us-east-1"


@pytest.fixture
def recorded(monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        clear_clients()
        boto3.client("s3", region_name=REGION).create_bucket(Bucket="mail")
        store = BlobStore("mail", REGION)
        calls: list[tuple[str, dict[str, Any]]] = []
        store._s3.meta.events.register(
            "provide-client-params.s3.*", lambda params, model, **_: calls.append((model.name, dict(params)))
        )
        yield store, calls
        clear_clients()


def test_writes_leave_encryption_to_the_bucket_default(recorded: Any) -> None:
    store, calls = recorded
    store.put("attachments/a/cv.pdf", b"%PDF-1.4", "application/pdf")
    store.put("extracted/a/cv.txt", b"text")
    store.copy("attachments/a/cv.pdf", "quarantine/a")
    writes = [(name, params) for name, params in calls if name in {"PutObject", "CopyObject"}]
    assert len(writes) == 3
    for name, params in writes:
        for argument in ("ServerSideEncryption", "SSEKMSKeyId", "SSECustomerAlgorithm"):
            assert argument not in params, f"{name} sets {argument}: it would override the bucket's SSE-KMS default"


names = st.from_regex(r"[a-z][a-z0-9-]{0,30}", fullmatch=True)


@settings(max_examples=20, deadline=None)
@given(namespace=names, function=names, service=names)
def test_metrics_and_logs_use_the_names_infra_sets(namespace: str, function: str, service: str) -> None:
    with pytest.MonkeyPatch.context() as env:
        env.setenv("POWERTOOLS_METRICS_NAMESPACE", namespace)
        env.setenv("POWERTOOLS_SERVICE_NAME", function)
        metrics = metrics_for(service)
        assert metrics.namespace == namespace
        assert metrics.service == function
        assert logger_for(service).service == function


def test_without_infra_names_each_handler_names_itself(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("POWERTOOLS_METRICS_NAMESPACE", raising=False)
    monkeypatch.delenv("POWERTOOLS_SERVICE_NAME", raising=False)
    metrics = metrics_for("ack")
    assert (metrics.namespace, metrics.service) == (NAMESPACE, "crm-ack")
