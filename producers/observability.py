"""Powertools Logger and Metrics, one pair per Lambda."""

from __future__ import annotations

from aws_lambda_powertools import Logger, Metrics

NAMESPACE = "ConversationCRM"


def logger_for(service: str) -> Logger:
    return Logger(service=f"crm-{service}")


def metrics_for(service: str) -> Metrics:
    return Metrics(namespace=NAMESPACE, service=f"crm-{service}")
