"""Powertools Logger and Metrics, one pair per Lambda.

The deployed function's names win: infra sets POWERTOOLS_SERVICE_NAME (the
function, e.g. ``consumer-ack``) and POWERTOOLS_METRICS_NAMESPACE, and its alarms
and dashboards look there. Without them (tests, a bare import) each handler names
itself ``crm-<service>`` in the ``ConversationCRM`` namespace.

Logs go to stderr: in Lambda both streams reach CloudWatch, and a command run locally
keeps its standard output for the records it prints (``--json``).
"""

from __future__ import annotations

import os
import sys

from aws_lambda_powertools import Logger, Metrics

NAMESPACE = "ConversationCRM"


def service_name(service: str) -> str:
    return os.environ.get("POWERTOOLS_SERVICE_NAME") or f"crm-{service}"


def logger_for(service: str) -> Logger:
    return Logger(service=service_name(service), stream=sys.stderr)


def metrics_for(service: str) -> Metrics:
    return Metrics(namespace=os.environ.get("POWERTOOLS_METRICS_NAMESPACE") or NAMESPACE, service=service_name(service))
