"""boto3 clients, configured once: region, optional endpoint (the local stack), retries."""

from __future__ import annotations

from functools import cache
from typing import Any

import boto3
from botocore.config import Config

_CONFIG = Config(retries={"mode": "standard", "max_attempts": 5}, connect_timeout=5, read_timeout=30)


@cache
def client(service: str, region: str, endpoint_url: str | None = None) -> Any:
    session: Any = boto3.session.Session()  # the service name is dynamic: stubs cannot type it
    return session.client(service, region_name=region, endpoint_url=endpoint_url, config=_CONFIG)


def clear_clients() -> None:
    """Forget cached clients (the local stack changes endpoint between runs)."""
    client.cache_clear()


def error_code(exc: BaseException) -> str:
    response = getattr(exc, "response", None) or {}
    return str(response.get("Error", {}).get("Code", ""))
