"""Create the whole topology on an AWS endpoint: what the local stack runs on.

In AWS, ``infra/`` creates the same resources; names, keys, patterns and queue
settings come from the same definitions (``crm.topology``, ``projections.tables``).
"""

from __future__ import annotations

import contextlib
import json
from typing import Any

from adapters.aws import client
from adapters.projection_store import TABLE_WAIT
from crm.settings import Settings
from crm.topology import Consumer, consumers, rule_input_template
from ports import TableMissing
from projections.tables import (
    conversations_table,
    conversations_tables,
    events_table,
)

__all__ = ["TABLE_WAIT", "TableMissing", "create_consumer", "provision"]


def provision(
    settings: Settings, rule_patterns: dict[str, dict[str, Any]] | None = None, visibility_timeout: int = 30
) -> dict[str, str]:
    region, endpoint = settings.region, settings.endpoint_url
    s3 = client("s3", region, endpoint)
    ddb = client("dynamodb", region, endpoint)
    sqs = client("sqs", region, endpoint)
    events = client("events", region, endpoint)
    ssm = client("ssm", region, endpoint)
    ses = client("ses", region, endpoint)
    sesv2 = client("sesv2", region, endpoint)

    s3.create_bucket(Bucket=settings.bucket)
    # both conversations tables, as infra/modules/tables declares them (live + standby)
    for definition in (
        events_table(settings.events_table),
        *(conversations_table(name) for name in conversations_tables(settings.conversations_table)),
    ):
        ddb.create_table(**definition)

    bus_arn = events.create_event_bus(Name=settings.bus_name)["EventBusArn"]
    # named like the bus, as infra/modules/bus names it
    events.create_archive(ArchiveName=settings.bus_name, EventSourceArn=bus_arn, RetentionDays=0)
    for consumer in consumers(rule_patterns):
        create_consumer(settings, consumer, sqs, events, visibility_timeout)

    from producers.spam_config import default_document

    # seeded once: a list an owner edited or imported is never reset by a (re)start
    with contextlib.suppress(ssm.exceptions.ParameterAlreadyExists):
        ssm.put_parameter(Name=settings.patterns_parameter, Value=default_document(), Type="String", Overwrite=False)
    from projections.pointer import POINTER_PARAMETER

    ssm.put_parameter(Name=POINTER_PARAMETER, Value=settings.conversations_table, Type="String", Overwrite=True)
    ses.verify_domain_identity(Domain=settings.domain)
    ses.verify_email_identity(EmailAddress=settings.public_address)
    sesv2.create_configuration_set(ConfigurationSetName=settings.configuration_set)
    return {"bus_arn": bus_arn}


def create_consumer(settings: Settings, consumer: Consumer[Any], sqs: Any, events: Any, visibility_timeout: int) -> None:
    dlq_url = sqs.create_queue(
        QueueName=settings.queue_name(consumer.name) + "-dlq", Attributes={"MessageRetentionPeriod": "1209600"}
    )["QueueUrl"]
    dlq_arn = sqs.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    url = sqs.create_queue(
        QueueName=settings.queue_name(consumer.name),
        Attributes={
            "VisibilityTimeout": str(visibility_timeout),
            "RedrivePolicy": json.dumps({"deadLetterTargetArn": dlq_arn, "maxReceiveCount": settings.max_receive_count}),
        },
    )["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    if consumer.wraps_rule_name and settings.rule_matching == "in-process":
        return  # the bus routes hook rules itself (adapters.rule_routing): no EventBridge rule
    for rule_name, pattern in consumer.patterns.items():
        events.put_rule(Name=rule_name, EventBusName=settings.bus_name, EventPattern=json.dumps(pattern), State="ENABLED")
        target: dict[str, Any] = {"Id": consumer.name, "Arn": arn}
        rule = consumer.rule_of(rule_name)
        if rule is not None:
            target["InputTransformer"] = {"InputPathsMap": {}, "InputTemplate": rule_input_template(rule)}
        events.put_targets(Rule=rule_name, EventBusName=settings.bus_name, Targets=[target])
