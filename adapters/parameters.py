"""Configuration values in SSM, read through Powertools' parameters cache (TTL)."""

from __future__ import annotations

from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parameters.exceptions import GetParameterError
from botocore.exceptions import ClientError

from adapters.aws import client, error_code
from ports import ParameterNotFound


class ParameterStore:
    def __init__(self, region: str, endpoint_url: str | None = None) -> None:
        self._ssm = client("ssm", region, endpoint_url)
        self._made: parameters.SSMProvider | None = None

    @property
    def _provider(self) -> parameters.SSMProvider:
        # made on first use: the provider touches its client, which makes it (adapters.aws)
        if self._made is None:
            self._made = parameters.SSMProvider(boto3_client=self._ssm)
        return self._made

    def get(self, name: str, *, ttl_seconds: int = 300, decrypt: bool = False) -> str:
        try:
            value = self._provider.get(name, max_age=ttl_seconds, decrypt=decrypt, force_fetch=ttl_seconds == 0)
        except GetParameterError as exc:
            # Powertools wraps every failure; only SSM's own answer means "absent"
            cause = exc.__context__
            if isinstance(cause, ClientError) and error_code(cause) == "ParameterNotFound":
                raise ParameterNotFound(f"no parameter {name!r}") from exc
            raise
        return str(value)

    def put(self, name: str, value: str, *, secure: bool = False) -> None:
        self._ssm.put_parameter(Name=name, Value=value, Type="SecureString" if secure else "String", Overwrite=True)
        self._provider.clear_cache()  # type: ignore[no-untyped-call]
