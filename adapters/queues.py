"""SQS operations outside the Lambda trigger: backoff, DLQ listing and redrive."""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from adapters.aws import client
from ports import QueueSpec


def url_of_arn(sqs: Any, arn: str) -> str:
    parts = arn.split(":")
    url: str = sqs.get_queue_url(QueueName=parts[5], QueueOwnerAWSAccountId=parts[4])["QueueUrl"]
    return url


class Queues:
    def __init__(self, region: str, endpoint_url: str | None = None) -> None:
        self._sqs = client("sqs", region, endpoint_url)
        # a queue's URL is fixed by its name, account and region (a queue deleted and
        # created again keeps it): one GetQueueUrl per queue per container
        self._urls: dict[str, str] = {}

    def ensure(self, specs: Sequence[QueueSpec]) -> None:
        """AWS queues are infra's: check each exists (raises QueueDoesNotExist), create nothing."""
        for spec in specs:
            self.url(spec.name)

    def delay(self, queue_arn: str, receipt_handle: str, seconds: int) -> None:
        """Backoff: the failed message becomes visible again after ``seconds``."""
        self._sqs.change_message_visibility(
            QueueUrl=url_of_arn(self._sqs, queue_arn),
            ReceiptHandle=receipt_handle,
            VisibilityTimeout=max(0, min(int(seconds), 43_200)),
        )

    def park(self, queue_arn: str, body: str, attributes: Mapping[str, str]) -> str:
        """Put a message in the dead-letter queue of ``queue_arn`` (the target of its
        redrive policy), with string attributes saying why; returns the DLQ's name."""
        source = url_of_arn(self._sqs, queue_arn)
        # a queue without the attribute answers with no "Attributes" at all
        policy = (
            self._sqs.get_queue_attributes(QueueUrl=source, AttributeNames=["RedrivePolicy"])
            .get("Attributes", {})
            .get("RedrivePolicy")
        )
        if not policy:
            raise ValueError(f"{queue_arn} has no dead-letter queue (no RedrivePolicy) to park a message in")
        dlq_arn = str(json.loads(policy)["deadLetterTargetArn"])
        self._sqs.send_message(QueueUrl=url_of_arn(self._sqs, dlq_arn), MessageBody=body, **_message_attributes(attributes))
        return dlq_arn.split(":")[5]

    def set_visibility(self, name: str, receipt_handle: str, seconds: int) -> None:
        self._sqs.change_message_visibility(
            QueueUrl=self.url(name), ReceiptHandle=receipt_handle, VisibilityTimeout=max(0, min(int(seconds), 43_200))
        )

    def url(self, name: str) -> str:
        if name not in self._urls:
            self._urls[name] = str(self._sqs.get_queue_url(QueueName=name)["QueueUrl"])
        return self._urls[name]

    def arn(self, name: str) -> str:
        arn: str = self._sqs.get_queue_attributes(QueueUrl=self.url(name), AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        return arn

    def depth(self, name: str) -> tuple[int, int]:
        """(visible, in flight) messages."""
        attributes = self._sqs.get_queue_attributes(
            QueueUrl=self.url(name),
            AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"],
        )["Attributes"]
        return int(attributes["ApproximateNumberOfMessages"]), int(attributes["ApproximateNumberOfMessagesNotVisible"])

    def peek(self, name: str, limit: int = 100) -> list[dict[str, Any]]:
        """Messages of a queue (e.g. a DLQ), each made visible again at once."""
        url, seen = self.url(name), set()
        messages: list[dict[str, Any]] = []
        while len(messages) < limit:
            response = self._sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, VisibilityTimeout=30, AttributeNames=["All"], MessageAttributeNames=["All"]
            )
            received = response.get("Messages") or []
            fresh = [m for m in received if m["MessageId"] not in seen]
            for message in received:
                self._sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0)
            if not fresh:
                break
            for message in fresh:
                seen.add(message["MessageId"])
                try:
                    body = json.loads(message["Body"])
                except ValueError:
                    body = message["Body"]
                messages.append(
                    {
                        "message_id": message["MessageId"],
                        "body": body,
                        "receive_count": int(message.get("Attributes", {}).get("ApproximateReceiveCount", 0)),
                        "attributes": string_attributes(message),
                    }
                )
        return messages

    def redrive(self, dlq: str, target: str, before: Callable[[str, dict[str, str]], None] | None = None) -> int:
        """Move every message of ``dlq`` back to ``target``; returns how many moved.
        ``before(body, attributes)`` runs before each move (and stops it by raising)."""
        source, destination, moved = self.url(dlq), self.url(target), 0
        while True:
            response = self._sqs.receive_message(
                QueueUrl=source, MaxNumberOfMessages=10, VisibilityTimeout=60, MessageAttributeNames=["All"]
            )
            messages = response.get("Messages") or []
            if not messages:
                return moved
            for message in messages:
                if before is not None:
                    before(message["Body"], string_attributes(message))
                # send before delete: a crash in between duplicates, and every consumer dedupes
                self._sqs.send_message(QueueUrl=destination, MessageBody=message["Body"])
                self._sqs.delete_message(QueueUrl=source, ReceiptHandle=message["ReceiptHandle"])
                moved += 1

    def receive(self, name: str, limit: int = 10, visibility: int = 30) -> list[dict[str, Any]]:
        response = self._sqs.receive_message(
            QueueUrl=self.url(name),
            MaxNumberOfMessages=limit,
            VisibilityTimeout=visibility,
            AttributeNames=["All"],
            MessageAttributeNames=["All"],
        )
        messages: list[dict[str, Any]] = response.get("Messages") or []
        return messages

    def send(self, name: str, body: str, attributes: Mapping[str, str] | None = None) -> None:
        self._sqs.send_message(QueueUrl=self.url(name), MessageBody=body, **_message_attributes(attributes or {}))

    def delete(self, name: str, receipt_handle: str) -> None:
        self._sqs.delete_message(QueueUrl=self.url(name), ReceiptHandle=receipt_handle)


def _message_attributes(attributes: Mapping[str, str]) -> dict[str, Any]:
    values = {name: {"DataType": "String", "StringValue": value} for name, value in attributes.items() if value}
    return {"MessageAttributes": values} if values else {}


def string_attributes(message: Mapping[str, Any]) -> dict[str, str]:
    """A received message's string attributes, as plain name → value."""
    return {
        name: str(value.get("StringValue", ""))
        for name, value in (message.get("MessageAttributes") or {}).items()
        if value.get("DataType", "").startswith("String")
    }
