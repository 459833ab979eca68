"""Published AWS list prices used to turn counted API calls into dollars.

THE ONE PRICE TABLE OF THE BENCHMARKS. Region us-east-1, on-demand, no free tier,
no volume tiers beyond the first, in US dollars.

Taken on 2026-11-23 from the author's knowledge of the AWS pricing pages (the
figures were last confirmed against those pages in 2025), not fetched live.
THEY MUST BE CHECKED against https://aws.amazon.com/<service>/pricing/ before any
decision is based on them; change them here and every report follows.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

PRICES_TAKEN_ON = "2026-11-23"
PRICES_SOURCE = "AWS public pricing pages, us-east-1, from the author's knowledge (last confirmed 2025); not fetched"
PRICES_WARNING = "List prices must be checked before use: they change, and free tiers and volume discounts are ignored."


@dataclass(frozen=True)
class Price:
    key: str
    service: str
    unit: str
    usd: float
    note: str = ""


PRICES: tuple[Price, ...] = (
    Price("ses_inbound_mail", "SES", "per 1,000 mails received", 0.10),
    Price(
        "ses_inbound_chunk",
        "SES",
        "per 1,000 incoming mail chunks of 256 KB",
        0.09,
        "every started 256 KB of a received mail is a chunk",
    ),
    Price("ses_outbound_mail", "SES", "per 1,000 mails sent (each recipient counts)", 0.10),
    Price(
        "ses_outbound_data",
        "SES",
        "per GB of outbound attachments",
        0.12,
        "charged here on the whole raw message: an upper bound",
    ),
    Price(
        "eventbridge_put",
        "EventBridge",
        "per million custom events (PutEvents, 64 KB chunks)",
        1.00,
        "each started 64 KB of an entry is one event; delivery to SQS targets is not charged by EventBridge",
    ),
    Price(
        "eventbridge_archive",
        "EventBridge",
        "per GB of events archived (processing)",
        0.10,
        "plus storage, $0.023 per GB-month, not counted",
    ),
    Price(
        "sqs_request",
        "SQS",
        "per million requests (standard queue, 64 KB chunks)",
        0.40,
        "EventBridge's SendMessage to the target queue is billed to the queue owner",
    ),
    Price(
        "dynamodb_wru",
        "DynamoDB",
        "per million write request units (on-demand, Standard class)",
        0.625,
        "price after the November 2024 on-demand reduction",
    ),
    Price(
        "dynamodb_rru",
        "DynamoDB",
        "per million read request units (on-demand, Standard class)",
        0.125,
        "price after the November 2024 on-demand reduction",
    ),
    Price("s3_put", "S3", "per 1,000 PUT, COPY, POST, LIST requests (Standard)", 0.005),
    Price("s3_get", "S3", "per 1,000 GET, SELECT and all other requests (Standard)", 0.0004),
    Price("lambda_request", "Lambda", "per million requests", 0.20),
    Price("lambda_gb_second_arm64", "Lambda", "per GB-second, arm64 (infra default architecture)", 0.0000133334),
    Price("lambda_gb_second_x86", "Lambda", "per GB-second, x86_64", 0.0000166667),
    Price(
        "ssm_standard",
        "SSM",
        "per 10,000 GetParameter calls, standard throughput",
        0.0,
        "standard parameters at standard throughput are free; higher throughput is $0.05 per 10,000",
    ),
)
_BY_KEY = {p.key: p for p in PRICES}

# Lambda memory per function, from infra/examples/complete/functions.tf (producers:
# 1024 MB; consumers: the function module's default, 512 MB).
LAMBDA_MEMORY_MB = {"producers.inbound": 1024, "producers.reply": 1024}
LAMBDA_DEFAULT_MEMORY_MB = 512
LAMBDA_ARCHITECTURE = "arm64"


def price(key: str) -> float:
    return _BY_KEY[key].usd


def per_unit(key: str) -> float:
    """The price of one unit (one request, one mail, one GB...)."""
    p = _BY_KEY[key]
    if p.unit.startswith("per million"):
        return p.usd / 1_000_000
    if p.unit.startswith("per 10,000"):
        return p.usd / 10_000
    if p.unit.startswith("per 1,000"):
        return p.usd / 1_000
    return p.usd


def table() -> dict[str, Any]:
    return {
        "taken_on": PRICES_TAKEN_ON,
        "source": PRICES_SOURCE,
        "warning": PRICES_WARNING,
        "region": "us-east-1",
        "currency": "USD",
        "prices": [asdict(p) for p in PRICES],
        "lambda_memory_mb": {**LAMBDA_MEMORY_MB, "default": LAMBDA_DEFAULT_MEMORY_MB},
        "lambda_architecture": LAMBDA_ARCHITECTURE,
    }
