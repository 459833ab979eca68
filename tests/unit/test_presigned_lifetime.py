"""The forward's link to an oversize original states when it stops working, and that is true.

Regression for issue 15: the link was signed for 7 days with the Lambda role's
session credentials, which end it within hours (S3 refuses a URL whose session
token expired), while nothing told the owner.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qs, urlparse

import pytest
from botocore.credentials import RefreshableCredentials
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.aws import clear_clients
from adapters.blobs import TEMPORARY_CREDENTIALS_SECONDS, BlobStore
from mail.forward_builder import ATTACHMENTS_REMOVED, _Forward, _removed_note

WEEK = 7 * 24 * 3600


def _store(monkeypatch: pytest.MonkeyPatch, token: str | None) -> BlobStore:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "secret")
    if token:
        monkeypatch.setenv("AWS_SESSION_TOKEN", token)
    else:
        monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    clear_clients()
    return BlobStore("crm-mail", "us-east-1")


def _expires(url: str) -> int:
    """Seconds the URL is signed for (SigV4 X-Amz-Expires, or SigV2's absolute Expires)."""
    query = parse_qs(urlparse(url).query)
    if "X-Amz-Expires" in query:
        return int(query["X-Amz-Expires"][0])
    return round(int(query["Expires"][0]) - datetime.now(UTC).timestamp())


def test_session_credentials_cap_the_link_and_say_so(monkeypatch: pytest.MonkeyPatch) -> None:
    store = _store(monkeypatch, token="lambda-session-token")
    before = datetime.now(UTC)
    link = store.presigned_url("inbox/abc", WEEK)
    assert abs(_expires(link.url) - TEMPORARY_CREDENTIALS_SECONDS) <= 2
    assert before + timedelta(seconds=TEMPORARY_CREDENTIALS_SECONDS - 5) <= link.expires_at
    assert link.expires_at <= datetime.now(UTC) + timedelta(seconds=TEMPORARY_CREDENTIALS_SECONDS)
    clear_clients()


def test_long_term_keys_keep_the_requested_lifetime(monkeypatch: pytest.MonkeyPatch) -> None:
    store = _store(monkeypatch, token=None)
    assert abs(_expires(store.presigned_url("inbox/abc", WEEK).url) - WEEK) <= 2
    clear_clients()


@settings(max_examples=10, deadline=None)
@given(left=st.integers(min_value=1800, max_value=2 * WEEK), asked=st.integers(min_value=60, max_value=WEEK))
def test_refreshable_credentials_cap_the_link_at_their_expiry(left: int, asked: int) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        store = _store(monkeypatch, token="t")
        expiry = datetime.now(UTC) + timedelta(seconds=left)
        credentials = RefreshableCredentials("AKIA", "secret", "t", expiry, lambda: {}, "test")
        store._s3._request_signer._credentials = credentials
        link = store.presigned_url("inbox/abc", asked)
        assert _expires(link.url) <= min(asked, left) + 1
        assert link.expires_at <= expiry + timedelta(seconds=1)
        clear_clients()


def test_the_mail_states_until_when_the_link_works() -> None:
    fwd = _Forward(
        public_address="hello@example.com",
        public_name="Example",
        private_mailbox="me@example.net",
        reply_to="t@reply.example.com",
        correspondent_name=None,
        correspondent_address=None,
        message_id="<m@example.com>",
        max_bytes=10,
        raw_link="https://s3.example/x",
        raw_link_until="2026-12-03 16:00 UTC",
    )
    (note,) = _removed_note(fwd, [])
    assert note.startswith(ATTACHMENTS_REMOVED)
    assert "until 2026-12-03 16:00 UTC" in note and "https://s3.example/x" in note
