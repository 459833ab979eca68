"""The composition root: every adapter, built once per container from the settings."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from adapters.blobs import BlobStore
from adapters.bus import EventBus
from adapters.event_store import EventStore
from adapters.mailer import Mailer, OutboxMailer, SesMailer
from adapters.parameters import ParameterStore
from adapters.recorder import Recorder
from crm.settings import Settings, load_settings


@dataclass
class Services:
    settings: Settings

    @property
    def _where(self) -> tuple[str, str | None]:
        return self.settings.region, self.settings.endpoint_url

    @cached_property
    def store(self) -> EventStore:
        return EventStore(self.settings.events_table, *self._where)

    @cached_property
    def bus(self) -> EventBus:
        if self.settings.rule_matching == "in-process":
            from adapters.rule_routing import RuleRoutingBus
            from consumers.rules.registry import default_registry
            from crm.topology import RULES_CONSUMER

            rules_module = self.settings.rules_module
            return RuleRoutingBus(self.settings.bus_name, *self._where, rules_queue=self.settings.queue_name(
                RULES_CONSUMER), patterns=lambda: default_registry(rules_module).patterns())
        return EventBus(self.settings.bus_name, *self._where)

    @cached_property
    def recorder(self) -> Recorder:
        return Recorder(self.store, self.bus)

    @cached_property
    def blobs(self) -> BlobStore:
        return BlobStore(self.settings.bucket, *self._where)

    @cached_property
    def parameters(self) -> ParameterStore:
        return ParameterStore(*self._where)

    @cached_property
    def mailer(self) -> Mailer:
        mailer: Mailer = SesMailer(*self._where, configuration_set=self.settings.configuration_set)
        outbox = os.environ.get("CRM_OUTBOX_DIR")
        return OutboxMailer(mailer, Path(outbox)) if outbox else mailer

    def token_keys(self) -> list[bytes]:
        """The current thread-token key, then the previous one (accepted during rotation)."""
        if self.settings.token_key_parameter:
            current = self.parameters.get(self.settings.token_key_parameter, decrypt=True)
            keys = [k.strip() for k in current.split(",") if k.strip()]  # "new,old" while rotating
            return [k.encode() for k in keys]
        keys = [self.settings.token_key, *([self.settings.previous_token_key] if self.settings.previous_token_key else [])]
        return [k.encode() for k in keys]


_services: Services | None = None


def services() -> Services:
    """The container's services, built on first use (Lambda cold start)."""
    global _services
    if _services is None:
        _services = Services(load_settings())
    return _services


def reset() -> None:
    """Drop the cached services (tests and the local stack change settings)."""
    global _services
    _services = None
    from adapters.aws import clear_clients

    clear_clients()
