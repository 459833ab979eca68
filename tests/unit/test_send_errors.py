"""What a failed SES send means: every failure that may come after SES received the
request is in doubt (never retried blindly); the rest are permanent or safe to retry."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    HTTPClientError,
    NoCredentialsError,
    ParamValidationError,
    ProxyConnectionError,
    ReadTimeoutError,
    ResponseStreamingError,
    SSLError,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from adapters.mailer import PERMANENT, THROTTLING, send_error

URL = "https://email.us-east-1.amazonaws.com/v2/email/outbound-emails"

# transport failures, by whether the request may already have reached SES
AFTER_SENDING: list[BotoCoreError] = [
    ReadTimeoutError(endpoint_url=URL),
    ConnectionClosedError(endpoint_url=URL),
    ResponseStreamingError(error="connection reset by peer"),
    HTTPClientError(error="connection reset by peer"),
    SSLError(endpoint_url=URL, error="EOF occurred in violation of protocol"),
]
NEVER_SENT: list[BotoCoreError] = [
    ConnectTimeoutError(endpoint_url=URL),
    EndpointConnectionError(endpoint_url=URL),
    ProxyConnectionError(proxy_url="http://proxy:3128", error="refused"),
    NoCredentialsError(),
    ParamValidationError(report="Missing required parameter"),
]

codes = st.one_of(
    st.sampled_from(
        sorted(PERMANENT | THROTTLING | {"InternalFailure", "ServiceUnavailable", "InternalServerError", "BadGateway", ""})
    ),
    st.from_regex(r"[A-Z][A-Za-z]{2,30}(Exception)?", fullmatch=True),
)


def client_error(code: str, status: int) -> ClientError:
    response: dict[str, Any] = {"Error": {"Code": code, "Message": "generated"}, "ResponseMetadata": {"HTTPStatusCode": status}}
    return ClientError(response, "SendEmail")  # type: ignore[arg-type]


@settings(max_examples=200, deadline=None)
@given(code=codes, status=st.integers(min_value=500, max_value=599))
def test_a_5xx_answer_is_in_doubt_unless_it_says_throttled(code: str, status: int) -> None:
    error = send_error(client_error(code, status))
    throttled = code in THROTTLING or "Throttl" in code
    assert error.in_doubt is not throttled
    assert not error.permanent  # in doubt or throttled: never given up on silently


@settings(max_examples=200, deadline=None)
@given(code=codes, status=st.integers(min_value=400, max_value=499))
def test_a_4xx_answer_was_refused_so_it_is_never_in_doubt(code: str, status: int) -> None:
    error = send_error(client_error(code, status))
    assert not error.in_doubt
    assert error.permanent is (code in PERMANENT and code not in THROTTLING and "Throttl" not in code)


@settings(max_examples=100, deadline=None)
@given(exc=st.sampled_from(AFTER_SENDING + NEVER_SENT))
def test_a_transport_failure_is_in_doubt_exactly_when_the_request_may_have_left(exc: BotoCoreError) -> None:
    error = send_error(exc)
    assert error.in_doubt is any(exc is e for e in AFTER_SENDING), type(exc).__name__
    assert not error.permanent
    assert type(exc).__name__ in str(error)  # the reason names what happened


def test_the_send_client_never_retries_by_itself() -> None:
    from adapters.aws import client, send_client

    ses = send_client("sesv2", "us-east-1")
    assert ses.meta.config.retries["total_max_attempts"] == 1
    assert ses is not client("sesv2", "us-east-1")  # the other clients keep their retries
