"""Every call the web view makes into the CRM, behind one object.

The handlers in :mod:`crm.web.app` see only :class:`Backend`; :class:`CrmBackend`
implements it with the very functions the CLI commands call (``crm conversations``,
``crm spam``, ``crm dlq``, ``crm followups``, ``crm rules list --matches``,
``crm stats``), so an action in the browser records the same events as its command.
Swapping what is behind it (another composition root) means rewriting this module only.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from crm.settings import Settings
from projections.queries import Filters


def timeline_text(record: dict[str, Any]) -> str:
    """A timeline record in words, as `crm conversations show` prints it (pure formatting)."""
    from crm.views import timeline_text as text

    return text(record)


class Backend(Protocol):
    """What the web view reads and does. Errors: UsageError (bad input, 400) and
    FileNotFoundError (no such thing, 404) carry a message for the person."""

    @property
    def statuses(self) -> Sequence[str]: ...

    def conversations(self, filters: Filters, *, limit: int, next_token: str | None) -> dict[str, Any]: ...

    def status_counts(self) -> dict[str, int]: ...

    def conversation(self, conversation_id: str) -> dict[str, Any]: ...

    def raw_mail(self, ses_message_id: str, conversation_id: str | None = None) -> bytes: ...

    def mail(self, ses_message_id: str, conversation_id: str | None = None) -> dict[str, Any]: ...

    def set_status(self, conversation_id: str, status: str, note: str | None) -> dict[str, Any]: ...

    def followups_due(self, now: str | None = None) -> list[dict[str, Any]]: ...

    def run_followups(self, now: str | None = None) -> list[dict[str, Any]]: ...

    def quarantine(self) -> list[dict[str, Any]]: ...

    def release(self, ses_message_id: str) -> dict[str, Any]: ...

    def dlqs(self) -> list[dict[str, Any]]: ...

    def redrive(self, queue: str) -> int: ...

    def rules(self) -> list[dict[str, Any]]: ...

    def stats(self) -> dict[str, Any]: ...


class CrmBackend:
    """:class:`Backend` on a running stack (local or deployed), through the CLI's functions.

    The local flows are not thread-safe, so one call runs at a time (the server has
    several threads); ``on_change`` runs after each action (the local stack saves its
    state folder then, as ``crm serve`` does after each mail).
    """

    def __init__(self, settings: Settings, *, on_change: Callable[[], None] | None = None) -> None:
        self.settings = settings
        self.on_change = on_change
        self._lock = threading.RLock()

    @property
    def statuses(self) -> Sequence[str]:
        return tuple(self.settings.statuses)

    def _changed(self) -> None:
        if self.on_change is not None:
            self.on_change()

    # --- reads ----------------------------------------------------------------------------

    def conversations(self, filters: Filters, *, limit: int, next_token: str | None) -> dict[str, Any]:
        from crm.views import conversations_page

        with self._lock:
            return conversations_page(self.settings, filters, limit=limit, next_token=next_token)

    def status_counts(self) -> dict[str, int]:
        from crm.views import status_counts

        with self._lock:
            return status_counts(self.settings)

    def conversation(self, conversation_id: str) -> dict[str, Any]:
        from crm.views import conversation_story

        with self._lock:
            return conversation_story(self.settings, conversation_id)

    def raw_mail(self, ses_message_id: str, conversation_id: str | None = None) -> bytes:
        from crm.views import raw_mail

        with self._lock:
            return raw_mail(self.settings, ses_message_id, conversation_id)

    def mail(self, ses_message_id: str, conversation_id: str | None = None) -> dict[str, Any]:
        from crm.views import mail_parts

        return mail_parts(self.raw_mail(ses_message_id, conversation_id))

    def followups_due(self, now: str | None = None) -> list[dict[str, Any]]:
        from crm.views import followups_due

        with self._lock:
            return followups_due(self.settings, now)

    def quarantine(self) -> list[dict[str, Any]]:
        from adapters.wiring import services
        from crm.spam_admin import quarantined

        with self._lock:
            return quarantined(services())

    def dlqs(self) -> list[dict[str, Any]]:
        from crm.views import dlq_records

        with self._lock:
            return dlq_records(self.settings)

    def rules(self) -> list[dict[str, Any]]:
        from adapters.wiring import services
        from consumers.rules.registry import default_registry
        from crm.rules_admin import rule_records

        with self._lock:
            return rule_records(default_registry(self.settings.rules_module), services().store.all_events())

    def stats(self) -> dict[str, Any]:
        from crm.stats import mail_stats

        with self._lock:
            return mail_stats(self.settings)

    # --- actions (each is a CLI command too) ------------------------------------------------

    def set_status(self, conversation_id: str, status: str, note: str | None) -> dict[str, Any]:
        from crm.views import change_status

        with self._lock:
            result = change_status(self.settings, conversation_id, status, note)
            self._changed()
            return result

    def run_followups(self, now: str | None = None) -> list[dict[str, Any]]:
        from crm.views import run_followups

        with self._lock:
            fired = run_followups(self.settings, now)
            self._changed()
            return fired

    def release(self, ses_message_id: str) -> dict[str, Any]:
        from crm.spam_admin import release_and_continue

        with self._lock:
            result = release_and_continue(self.settings, ses_message_id)
            self._changed()
            return result

    def redrive(self, queue: str) -> int:
        from crm.views import redrive

        with self._lock:
            moved = redrive(self.settings, queue)
            self._changed()
            return moved
