"""boto3 clients, configured once: region, optional endpoint (the local stack), retries.

Every client comes from one boto3 session (a session per client loads botocore's
endpoint rules and service list again: ~40 ms each) and is made on first use, so a
Lambda's cold start builds only the clients its handler calls (issue 19): the
container wires every adapter, and a projector never sends mail.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
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


# a boto3 session is not thread-safe while it makes a client (its clients are)
_MAKING = threading.Lock()


@cache
def _session() -> Any:
    return boto3.session.Session()  # Any: the service name is dynamic, stubs cannot type it


class LazyClient:
    """A boto3 client made on first attribute access, then used as is. (No ``__slots__``:
    a test patches a method on it, as on a client.)"""

    def __init__(self, make: Callable[[], Any]) -> None:
        self._make = make
        self._made: Any = None

    def __getattr__(self, name: str) -> Any:
        if self._made is None:
            with _MAKING:
                if self._made is None:
                    self._made = self._make()
        return getattr(self._made, name)

    @property
    def made(self) -> bool:
        return self._made is not None


def _lazy(service: str, region: str, endpoint_url: str | None, config: Config) -> Any:
    return LazyClient(lambda: _session().client(service, region_name=region, endpoint_url=endpoint_url, config=config))


@cache
def client(service: str, region: str, endpoint_url: str | None = None) -> Any:
    return _lazy(service, region, endpoint_url, _CONFIG)


@cache
def send_client(service: str, region: str, endpoint_url: str | None = None) -> Any:
    """A client that never retries by itself: for calls whose repetition is a new effect
    (SES SendEmail). Our code decides what a failure means (``adapters.mailer.send_error``)."""
    return _lazy(service, region, endpoint_url, _ONE_ATTEMPT)


def clear_clients() -> None:
    """Forget cached clients and the session's credentials (the local stack changes
    endpoint between runs; a test, the credentials)."""
    client.cache_clear()
    send_client.cache_clear()
    _session.cache_clear()


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
