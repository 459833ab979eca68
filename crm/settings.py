"""Configuration: one typed model read from ``crm.toml`` and ``CRM_*`` variables.

Environment variables win over the file, so a Lambda (no file) and a test (one
variable) configure the same model. A bad value is reported by name.

``load_settings`` reads the sources (keyword arguments, then ``CRM_*`` variables,
then the file: pydantic-settings' order) and checks every value. The model is a
``msgspec`` struct, not pydantic: every Lambda builds one on its first invocation, and
pydantic's import is about 70 ms of that cold start, pydantic-settings' 40 more (issue 19).
Built directly (``Settings(...)``, our own code and tests) it reads no source and
converts no type; its ``__post_init__`` normalises and checks the values either way.
"""

from __future__ import annotations

import json
import os
import typing
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec

from mail.ack_builder import DEFAULT_ACK_HTML, DEFAULT_ACK_SUBJECT, DEFAULT_ACK_TEXT
from mail.addresses import OwnAddresses
from mail.limits import DEFAULT_LIMITS, MailLimits
from producers.default_patterns import DEFAULT_THRESHOLD


class ConfigError(ValueError):
    """A configuration value is missing or wrong; the message names it."""


ENV_PREFIX = "CRM_"


def _file_values() -> dict[str, Any]:
    path = Path(os.environ.get("CRM_CONFIG", "crm.toml"))
    if not path.is_file():
        return {}
    import tomllib  # only where a file is given: a Lambda's settings come from its environment

    try:
        with path.open("rb") as f:
            return tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise ValueError(f"bad configuration file {str(path)!r}: {exc}") from None


def _environment_values(fields: dict[str, Any]) -> dict[str, Any]:
    """``CRM_<FIELD>`` variables (any case); lists and tables are given as JSON."""
    found: dict[str, Any] = {}
    by_name = {k.upper(): v for k, v in os.environ.items() if k.upper().startswith(ENV_PREFIX)}
    for name, annotation in fields.items():
        raw = by_name.get(f"{ENV_PREFIX}{name.upper()}")
        if raw is None:
            continue
        if typing.get_origin(annotation) in (list, dict):
            try:
                found[name] = json.loads(raw)
            except ValueError:
                raise ValueError(f"{ENV_PREFIX}{name.upper()} is not JSON (a list or table is given as JSON)") from None
        else:
            found[name] = raw
    return found


def _lowered(names: list[str]) -> list[str]:
    return [v.strip().lower() for v in names if v.strip()]


class Settings(msgspec.Struct, kw_only=True):
    # identity of the public address and the owner
    public_address: str = "hello@example.com"
    public_name: str = "Example"
    aliases: list[str] = []
    reply_domain: str = "reply.example.com"
    private_mailbox: str = "owner@private.example.net"
    relay_domains: list[str] = msgspec.field(default_factory=lambda: ["linkedin.com"])

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
    bucket: str = "crm-mail"
    queue_prefix: str = "crm-"
    configuration_set: str = "crm"
    mail_from_domain: str | None = None

    # spam stage 3
    patterns_parameter: str = "/crm/spam-patterns"
    patterns_ttl_seconds: Annotated[int, msgspec.Meta(ge=0)] = 300
    scan_kb: Annotated[int, msgspec.Meta(ge=1, le=4096)] = 64
    match_limit: Annotated[int, msgspec.Meta(ge=1000)] = 1_000_000
    # the pattern stage rejects at this total score (a pattern list may set its own)
    spam_threshold: Annotated[float, msgspec.Meta(gt=0, le=1000)] = DEFAULT_THRESHOLD

    # senders
    max_receive_count: Annotated[int, msgspec.Meta(ge=1)] = 5
    backoff_base_seconds: Annotated[float, msgspec.Meta(ge=0)] = 2.0
    backoff_cap_seconds: Annotated[float, msgspec.Meta(ge=0)] = 900.0
    ses_max_bytes: int = 40 * 1024 * 1024
    ack_subject: str = DEFAULT_ACK_SUBJECT
    ack_text: str = DEFAULT_ACK_TEXT
    ack_html: str = DEFAULT_ACK_HTML
    ack_templates_parameter: str | None = None  # SSM JSON {subject, text, html}; null keeps the setting
    # acknowledgements allowed per hour; a burst over it is recorded, not sent
    ack_cap_per_hour: Annotated[int, msgspec.Meta(ge=0)] = 100

    # bounds on every parse of a mail (mail.limits.MailLimits; README "Limits on hostile mail")
    mail_max_headers: Annotated[int, msgspec.Meta(ge=1)] = DEFAULT_LIMITS.headers
    mail_max_header_line: Annotated[int, msgspec.Meta(ge=78)] = DEFAULT_LIMITS.header_line
    mail_max_header_bytes: Annotated[int, msgspec.Meta(ge=1024)] = DEFAULT_LIMITS.header_bytes
    mail_max_addresses: Annotated[int, msgspec.Meta(ge=1)] = DEFAULT_LIMITS.addresses
    mail_max_references: Annotated[int, msgspec.Meta(ge=1)] = DEFAULT_LIMITS.references
    mail_max_depth: Annotated[int, msgspec.Meta(ge=1, le=100)] = DEFAULT_LIMITS.depth  # the parser recurses per level
    mail_max_parts: Annotated[int, msgspec.Meta(ge=1)] = DEFAULT_LIMITS.parts
    mail_max_params: Annotated[int, msgspec.Meta(ge=1)] = DEFAULT_LIMITS.params
    mail_max_comment_depth: Annotated[int, msgspec.Meta(ge=1, le=100)] = DEFAULT_LIMITS.comment_depth
    attachments_budget_seconds: Annotated[float, msgspec.Meta(gt=0)] = 80.0  # per mail; the extractor's Lambda times out at 120

    # projection and hooks
    statuses: list[str] = msgspec.field(
        default_factory=lambda: ["new", "awaiting_reply", "replied", "closed", "interviewing", "offer", "rejected", "archived"]
    )
    status_shards: Annotated[int, msgspec.Meta(ge=1, le=64)] = 4
    followup_days: Annotated[float, msgspec.Meta(gt=0)] = 5
    nudge_hours: Annotated[float, msgspec.Meta(gt=0)] = 48
    rules_module: str | None = None
    # hook rules matched by EventBridge rules (AWS), or in-process by the bus with
    # EventBridge's semantics (the local stack sets this: moto's matching is not AWS's)
    rule_matching: Literal["eventbridge", "in-process"] = "eventbridge"
    lead_weights: dict[str, int] = msgspec.field(default_factory=dict)

    def __post_init__(self) -> None:
        problems: list[str] = []
        for name in ("public_address", "private_mailbox"):
            value = getattr(self, name).strip().lower()
            if value.count("@") != 1 or not all(value.split("@")):
                problems.append(f"{name}: {value!r} is not an e-mail address")
            setattr(self, name, value)
        self.aliases = _lowered(self.aliases)
        self.relay_domains = _lowered(self.relay_domains)
        self.reply_domain = self.reply_domain.strip().lower().strip(".")
        if "." not in self.reply_domain or "@" in self.reply_domain:
            problems.append(f"reply_domain: {self.reply_domain!r} is not a domain")
        if not problems and self.private_mailbox in self.accepted_addresses:
            problems.append("private_mailbox must differ from the public address and its aliases (mail loop)")
        if not problems and self.reply_domain == self.domain:
            problems.append("reply_domain must be a subdomain distinct from the public domain")
        if problems:
            raise ValueError("; ".join(problems))

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
        from_file = _file_values()
    except (OSError, ValueError) as exc:  # a crm.toml that does not parse
        raise ConfigError(f"bad configuration file {config!r}: {exc}") from None
    try:
        values = {**from_file, **_environment_values(field_types()), **overrides}
    except ValueError as exc:  # a list or table variable that is not JSON
        raise ConfigError(f"bad configuration: {exc}") from None
    try:
        return msgspec.convert(values, Settings, strict=False)
    except msgspec.ValidationError as exc:
        # msgspec stops at the first bad value: each value on its own names every one;
        # with none, what failed is __post_init__'s checks, which name their fields
        problems = []
        for name, annotation in field_types().items():
            if name in values:
                try:
                    msgspec.convert(values[name], annotation, strict=False)
                except msgspec.ValidationError as bad:
                    problems.append(f"{name}: {bad}")
        raise ConfigError(f"bad configuration: {'; '.join(problems) or exc}") from None


@cache
def field_types() -> dict[str, Any]:
    """Each setting's name and type (constraints included)."""
    return typing.get_type_hints(Settings, include_extras=True)


def default(name: str) -> Any:
    """A setting's default value."""
    field = next(f for f in msgspec.structs.fields(Settings) if f.name == name)
    return field.default_factory() if field.default is msgspec.NODEFAULT else field.default


def replaced(settings: Settings, **changes: Any) -> Settings:
    """A copy with some values changed (checked again by ``__post_init__``)."""
    return msgspec.structs.replace(settings, **changes)


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
