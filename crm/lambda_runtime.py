"""What Lambda gives a handler: a context object and the SQS event shape."""

from __future__ import annotations

import hashlib
import importlib
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass
class LocalContext:
    function_name: str
    memory_limit_in_mb: int = 512
    function_version: str = "$LATEST"
    timeout_seconds: int = 60
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    _started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        return "local"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_seconds - (time.monotonic() - self._started)) * 1000))


def end_invocation() -> None:
    """Lambda flushes a handler's metrics after each invocation; locally metrics are
    disabled, and Powertools would otherwise keep them and print them every 100 values."""
    from aws_lambda_powertools.metrics import Metrics

    Metrics().clear_metrics()


def load_handler(path: str) -> Callable[[dict[str, Any], Any], Any]:
    """``package.module.function`` → the function."""
    module, _, name = path.rpartition(".")
    handler: Callable[[dict[str, Any], Any], Any] = getattr(importlib.import_module(module), name)
    return handler


def load_invoke(path: str) -> Callable[..., Any]:
    """``package.module.handler`` → that module's ``invoke(svc, event, context)``: the
    handler with the services passed in, as the local runner calls it."""
    module = path.rpartition(".")[0]
    invoke: Callable[..., Any] = importlib.import_module(module).invoke
    return invoke


def sqs_event(messages: list[dict[str, Any]], queue_arn: str, region: str) -> dict[str, Any]:
    """An SQS trigger event exactly as Lambda builds it from received messages."""
    return {
        "Records": [
            {
                "messageId": m["MessageId"],
                "receiptHandle": m["ReceiptHandle"],
                "body": m["Body"],
                "attributes": {
                    "ApproximateReceiveCount": m.get("Attributes", {}).get("ApproximateReceiveCount", "1"),
                    "SentTimestamp": m.get("Attributes", {}).get("SentTimestamp", "0"),
                    "SenderId": m.get("Attributes", {}).get("SenderId", "local"),
                    "ApproximateFirstReceiveTimestamp": m.get("Attributes", {}).get("ApproximateFirstReceiveTimestamp", "0"),
                },
                "messageAttributes": {},
                "md5OfBody": m.get("MD5OfBody") or hashlib.md5(m["Body"].encode()).hexdigest(),
                "eventSource": "aws:sqs",
                "eventSourceARN": queue_arn,
                "awsRegion": region,
            }
            for m in messages
        ]
    }
