"""boto3 clients, configured once: region, optional endpoint (the local stack), retries."""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError, ReadTimeoutError
from botocore.exceptions import ConnectionError as BotoConnectionError

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=30)
# For calls that are not idempotent on AWS's side (sending mail): one attempt only.
# botocore retries a timeout or a 5xx by sending the request again, and when the
# first request was accepted and only its answer was lost, that retry is a second mail.
_ONE_ATTEMPT = Config(retries={"mode": "standard", "total_max_attempts": 1}, connect_timeout=5, read_timeout=30)


@cache
def client(service: str, region: str, endpoint_url: str | None = None) -> Any:
    session: Any = boto3.session.Session()  # the service name is dynamic: stubs cannot type it
    return session.client(service, region_name=region, endpoint_url=endpoint_url, config=_CONFIG)


@cache
def send_client(service: str, region: str, endpoint_url: str | None = None) -> Any:
    """A client that never retries by itself: for calls whose repetition is a new effect
    (SES SendEmail). Our code decides what a failure means (``adapters.mailer.send_error``)."""
    session: Any = boto3.session.Session()
    return session.client(service, region_name=region, endpoint_url=endpoint_url, config=_ONE_ATTEMPT)


def clear_clients() -> None:
    """Forget cached clients (the local stack changes endpoint between runs)."""
    client.cache_clear()
    send_client.cache_clear()


# What code outside adapters/ catches when an AWS call is refused (it never imports botocore).
AwsError = ClientError

_TRANSIENT_CODES = {
    "TooManyRequestsException",
    "LimitExceededException",
    "ProvisionedThroughputExceededException",
    "RequestLimitExceeded",
    "TransactionConflictException",
    "InternalServerError",
}


def is_transient(exc: BaseException) -> bool:
    """An AWS failure worth retrying later: throttling, 5xx, timeouts, lost connections."""
    if isinstance(exc, (BotoConnectionError, ReadTimeoutError)):
        return True
    if isinstance(exc, ClientError):
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        code = exc.response.get("Error", {}).get("Code", "")
        return status >= 500 or status == 429 or "Throttl" in code or code in _TRANSIENT_CODES
    return False


def is_service_error(exc: BaseException) -> bool:
    """A failure of AWS rather than of the input: refused, throttled or unreachable."""
    return isinstance(exc, ClientError) or is_transient(exc)


def error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))
