"""The AWS side of a contract suite: the real adapters on an in-process moto."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from moto import mock_aws

from adapters.aws import clear_clients
from crm.settings import Settings


@contextmanager
def on_moto(monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    """moto for the duration, with its requests serialised (moto is not thread-safe;
    in AWS each request is atomic, which is what the race tests rely on)."""
    from crm.moto_stack import _serialise_moto_requests

    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    _serialise_moto_requests()
    with mock_aws():
        clear_clients()
        try:
            yield Settings()
        finally:
            clear_clients()
