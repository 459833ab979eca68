"""The aws backends of the contract suites run on an in-process moto."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from unittest import mock

from adapters.aws import clear_clients, client
from ports import QueueSpec

REGION = "us-east-1"
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": REGION}


@contextmanager
def mocked_aws() -> Iterator[None]:
    """A fresh moto for one test; boto3 clients made inside it (the cache is cleared around it)."""
    from moto import mock_aws  # here: a local test's subprocess imports this module without moto's cost

    with mock.patch.dict(os.environ, CREDENTIALS), mock_aws():
        clear_clients()
        try:
            yield
        finally:
            clear_clients()


def create_queues(specs: list[QueueSpec], sqs: Any | None = None) -> dict[str, str]:
    """The queues as infra creates them (DLQs first, a redrive policy on the others); name → ARN."""
    sqs = sqs or client("sqs", REGION)
    arns: dict[str, str] = {}

    def arn_of(url: str) -> str:
        return str(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"])

    for spec in specs:
        if spec.dlq is not None and spec.dlq not in arns:
            arns[spec.dlq] = arn_of(sqs.create_queue(QueueName=spec.dlq)["QueueUrl"])
    for spec in specs:
        if spec.name in arns:
            continue
        attributes = {"VisibilityTimeout": str(spec.visibility_seconds)}
        if spec.dlq is not None:
            attributes["RedrivePolicy"] = json.dumps(
                {"deadLetterTargetArn": arns[spec.dlq], "maxReceiveCount": spec.max_receive_count}
            )
        arns[spec.name] = arn_of(sqs.create_queue(QueueName=spec.name, Attributes=attributes)["QueueUrl"])
    return arns
