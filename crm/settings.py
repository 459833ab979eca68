"""Configuration: one typed model read from ``crm.toml`` and ``CRM_*`` variables.

Environment variables win over the file, so a Lambda (no file) and a test (one
variable) configure the same model. A bad value is reported by name.

The sources are read by the model itself (keyword arguments, then ``CRM_*``
variables, then the file: pydantic-settings' order) rather than by pydantic-settings,
whose import is about 40 ms of every Lambda's first invocation (issue 19).
"""

from __future__ import annotations

import json
import os
import tomllib
import typing
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from mail.ack_builder import DEFAULT_ACK_HTML, DEFAULT_ACK_SUBJECT, DEFAULT_ACK_TEXT
from mail.addresses import OwnAddresses
from mail.limits import DEFAULT_LIMITS, MailLimits


class ConfigError(ValueError):
    """A configuration value is missing or wrong; the message names it."""


ENV_PREFIX = "CRM_"


def _file_values() -> dict[str, Any]:
    path = Path(os.environ.get("CRM_CONFIG", "crm.toml"))
    if not path.is_file():
        return {}
    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"bad configuration file {str(path)!r}: {exc}") from None


def _environment_values(fields: dict[str, Any]) -> dict[str, Any]:
    """``CRM_<FIELD>`` variables (any case); lists and tables are given as JSON."""
    found: dict[str, Any] = {}
    by_name = {k.upper(): v for k, v in os.environ.items() if k.upper().startswith(ENV_PREFIX)}
    for name, info in fields.items():
        raw = by_name.get(f"{ENV_PREFIX}{name.upper()}")
        if raw is None:
            continue
        if typing.get_origin(info.annotation) in (list, dict):
            try:
                found[name] = json.loads(raw)
            except ValueError:
                raise ValueError(f"{ENV_PREFIX}{name.upper()} is not JSON (a list or table is given as JSON)") from None
        else:
            found[name] = raw
    return found


class Settings(BaseModel):
    model_config = ConfigDict(extra="ignore", validate_default=True)

    # identity of the public address and the owner
    public_address: str = "hello@example.com"
    public_name: str = "Example"
    aliases: list[str] = []
    reply_domain: str = "reply.example.com"
    private_mailbox: str = "owner@private.example.net"
    relay_domains: list[str] = ["linkedin.com"]

    # secrets: a literal key for the local stack, or the SSM SecureString holding it
    token_key: str = "local-development-key-change-me"
    previous_token_key: str | None = None
    token_key_parameter: str | None = None

    # AWS resources (names must agree with infra/, a test checks)
    region: str = "us-east-1"
    endpoint_url: str | None = None
    bus_name: str = "crm"
    events_table: str = "crm-events"
    conversations_table: str = "crm-conversations"
    idempotency_table: str = "crm-idempotency"
    bucket: str = "crm-mail"
    queue_prefix: str = "crm-"
    configuration_set: str = "crm"
    mail_from_domain: str | None = None

    # spam stage 3
    patterns_parameter: str = "/crm/spam-patterns"
    patterns_ttl_seconds: int = Field(300, ge=0)
    scan_kb: int = Field(64, ge=1, le=4096)
    match_limit: int = Field(1_000_000, ge=1000)
    # the pattern stage rejects at this total score (a pattern list may set its own)
    spam_threshold: float = Field(5.0, gt=0, le=1000)

    # senders
    max_receive_count: int = Field(5, ge=1)
    backoff_base_seconds: float = Field(2.0, ge=0)
    backoff_cap_seconds: float = Field(900.0, ge=0)
    ses_max_bytes: int = 40 * 1024 * 1024
    ack_subject: str = DEFAULT_ACK_SUBJECT
    ack_text: str = DEFAULT_ACK_TEXT
    ack_html: str = DEFAULT_ACK_HTML
    ack_templates_parameter: str | None = None  # SSM JSON {subject, text, html}; null keeps the setting
    ack_cap_per_hour: int = Field(100, ge=0)  # acknowledgements allowed per hour; a burst over it is recorded, not sent

    # bounds on every parse of a mail (mail.limits.MailLimits; README "Limits on hostile mail")
    mail_max_headers: int = Field(DEFAULT_LIMITS.headers, ge=1)
    mail_max_header_line: int = Field(DEFAULT_LIMITS.header_line, ge=78)
    mail_max_header_bytes: int = Field(DEFAULT_LIMITS.header_bytes, ge=1024)
    mail_max_addresses: int = Field(DEFAULT_LIMITS.addresses, ge=1)
    mail_max_references: int = Field(DEFAULT_LIMITS.references, ge=1)
    mail_max_depth: int = Field(DEFAULT_LIMITS.depth, ge=1, le=100)  # the parser recurses per level
    mail_max_parts: int = Field(DEFAULT_LIMITS.parts, ge=1)
    mail_max_params: int = Field(DEFAULT_LIMITS.params, ge=1)
    mail_max_comment_depth: int = Field(DEFAULT_LIMITS.comment_depth, ge=1, le=100)
    attachments_budget_seconds: float = Field(80.0, gt=0)  # per mail; the extractor's Lambda times out at 120

    # projection and hooks
    statuses: list[str] = ["new", "awaiting_reply", "replied", "closed", "interviewing", "offer", "rejected", "archived"]
    status_shards: int = Field(4, ge=1, le=64)
    followup_days: float = Field(5, gt=0)
    nudge_hours: float = Field(48, gt=0)
    rules_module: str | None = None
    # hook rules matched by EventBridge rules (AWS), or in-process by the bus with
    # EventBridge's semantics (the local stack sets this: moto's matching is not AWS's)
    rule_matching: Literal["eventbridge", "in-process"] = "eventbridge"
    lead_weights: dict[str, int] = {}

    @model_validator(mode="before")
    @classmethod
    def _sources(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        return {**_file_values(), **_environment_values(dict(cls.model_fields)), **data}

    @field_validator("public_address", "private_mailbox")
    @classmethod
    def _address(cls, value: str) -> str:
        value = value.strip().lower()
        if value.count("@") != 1 or not all(value.split("@")):
            raise ValueError(f"{value!r} is not an e-mail address")
        return value

    @field_validator("aliases", "relay_domains")
    @classmethod
    def _lower(cls, value: list[str]) -> list[str]:
        return [v.strip().lower() for v in value if v.strip()]

    @field_validator("reply_domain")
    @classmethod
    def _domain(cls, value: str) -> str:
        value = value.strip().lower().strip(".")
        if "." not in value or "@" in value:
            raise ValueError(f"{value!r} is not a domain")
        return value

    @model_validator(mode="after")
    def _coherent(self) -> Settings:
        if self.private_mailbox in self.accepted_addresses:
            raise ValueError("private_mailbox must differ from the public address and its aliases (mail loop)")
        if self.reply_domain == self.domain:
            raise ValueError("reply_domain must be a subdomain distinct from the public domain")
        return self

    @property
    def domain(self) -> str:
        return self.public_address.split("@", 1)[1]

    @property
    def accepted_addresses(self) -> frozenset[str]:
        return frozenset([self.public_address, *self.aliases])

    @property
    def mail_limits(self) -> MailLimits:
        return MailLimits(
            headers=self.mail_max_headers,
            header_line=self.mail_max_header_line,
            header_bytes=self.mail_max_header_bytes,
            addresses=self.mail_max_addresses,
            references=self.mail_max_references,
            depth=self.mail_max_depth,
            parts=self.mail_max_parts,
            params=self.mail_max_params,
            comment_depth=self.mail_max_comment_depth,
        )

    @property
    def own_addresses(self) -> OwnAddresses:
        """Every address of ours: no reply is ever sent to one (it would be lost or leak)."""
        return OwnAddresses.of([*self.accepted_addresses, self.private_mailbox], [self.reply_domain])

    def queue_name(self, consumer: str) -> str:
        return f"{self.queue_prefix}{consumer}"


def load_settings(**overrides: Any) -> Settings:
    """Settings from the file and environment, or a ConfigError naming each bad value."""
    config = os.environ.get("CRM_CONFIG", "crm.toml")
    if "CRM_CONFIG" in os.environ and not Path(config).is_file():
        raise ConfigError(f"CRM_CONFIG points to {config!r}, which is not a file")
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(str(p) for p in err['loc']) or 'settings'}: {err['msg']}" for err in exc.errors())
        raise ConfigError(f"bad configuration: {problems}") from None
    except (OSError, ValueError) as exc:  # a crm.toml that does not parse
        raise ConfigError(f"bad configuration file {config!r}: {exc}") from None


# Settings a deployed Lambda reads from its environment (infra/ sets each; a test
# checks). Local-only knobs (endpoint_url, token_key literal) are not among them.
LAMBDA_ENVIRONMENT: tuple[str, ...] = (
    "CRM_REGION",
    "CRM_PUBLIC_ADDRESS",
    "CRM_PUBLIC_NAME",
    "CRM_ALIASES",
    "CRM_REPLY_DOMAIN",
    "CRM_PRIVATE_MAILBOX",
    "CRM_RELAY_DOMAINS",
    "CRM_TOKEN_KEY_PARAMETER",
    "CRM_BUS_NAME",
    "CRM_EVENTS_TABLE",
    "CRM_CONVERSATIONS_TABLE",
    "CRM_IDEMPOTENCY_TABLE",
    "CRM_BUCKET",
    "CRM_QUEUE_PREFIX",
    "CRM_CONFIGURATION_SET",
    "CRM_MAIL_FROM_DOMAIN",
    "CRM_PATTERNS_PARAMETER",
    "CRM_SPAM_THRESHOLD",
    "CRM_ACK_TEMPLATES_PARAMETER",
    "CRM_MAX_RECEIVE_COUNT",
    "CRM_MAIL_MAX_HEADERS",
    "CRM_MAIL_MAX_HEADER_LINE",
    "CRM_MAIL_MAX_HEADER_BYTES",
    "CRM_MAIL_MAX_ADDRESSES",
    "CRM_MAIL_MAX_REFERENCES",
    "CRM_MAIL_MAX_DEPTH",
    "CRM_MAIL_MAX_PARTS",
    "CRM_MAIL_MAX_PARAMS",
    "CRM_MAIL_MAX_COMMENT_DEPTH",
    "CRM_ACK_CAP_PER_HOUR",
)
