"""Every call the web view makes into the CRM, behind one object.

The handlers in :mod:`crm.web.app` see only :class:`Backend`; :class:`CrmBackend`
implements it with the very functions the CLI commands call (``crm conversations``,
``crm spam``, ``crm dlq``, ``crm followups``, ``crm rules list --matches``,
``crm stats``) on the :class:`ports.Services` the CLI's composition root builds
(``crm.cli.open_stack``: local, moto or aws), so an action in the browser records the
same events as its command.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from typing import Any, Protocol

from ports import Services
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
    """:class:`Backend` on an open stack's services (local, moto or deployed), through the CLI's functions.

    The flows are not thread-safe, so one call runs at a time (the server has several
    threads). Nothing is held between calls: on the local engine every read is an
    autocommit statement and every action commits before it returns, so a CLI command
    on the same state folder writes while the view is open.
    """

    def __init__(self, svc: Services) -> None:
        self.svc = svc
        self._lock = threading.RLock()

    @property
    def statuses(self) -> Sequence[str]:
        return tuple(self.svc.settings.statuses)

    # --- reads ----------------------------------------------------------------------------

    def conversations(self, filters: Filters, *, limit: int, next_token: str | None) -> dict[str, Any]:
        from crm.views import conversations_page

        with self._lock:
            return conversations_page(self.svc, filters, limit=limit, next_token=next_token)

    def status_counts(self) -> dict[str, int]:
        from crm.views import status_counts

        with self._lock:
            return status_counts(self.svc)

    def conversation(self, conversation_id: str) -> dict[str, Any]:
        from crm.views import conversation_story

        with self._lock:
            return conversation_story(self.svc, conversation_id)

    def raw_mail(self, ses_message_id: str, conversation_id: str | None = None) -> bytes:
        from crm.views import raw_mail

        with self._lock:
            return raw_mail(self.svc, ses_message_id, conversation_id)

    def mail(self, ses_message_id: str, conversation_id: str | None = None) -> dict[str, Any]:
        from crm.views import mail_parts

        return mail_parts(self.raw_mail(ses_message_id, conversation_id))

    def followups_due(self, now: str | None = None) -> list[dict[str, Any]]:
        from crm.views import followups_due

        with self._lock:
            return followups_due(self.svc, now)

    def quarantine(self) -> list[dict[str, Any]]:
        from crm.spam_admin import quarantined

        with self._lock:
            return quarantined(self.svc)

    def dlqs(self) -> list[dict[str, Any]]:
        from crm.views import dlq_records

        with self._lock:
            return dlq_records(self.svc)

    def rules(self) -> list[dict[str, Any]]:
        from bootstrap import rules as hook_rules
        from crm.rules_admin import rule_records

        with self._lock:
            return rule_records(hook_rules(self.svc.settings.rules_module), self.svc.store.all_events())

    def stats(self) -> dict[str, Any]:
        from crm.stats import mail_stats

        with self._lock:
            return mail_stats(self.svc)

    # --- actions (each is a CLI command too: the same function, the same events) -----------

    def set_status(self, conversation_id: str, status: str, note: str | None) -> dict[str, Any]:
        from crm.views import change_status

        with self._lock:
            return change_status(self.svc, conversation_id, status, note)

    def run_followups(self, now: str | None = None) -> list[dict[str, Any]]:
        from crm.views import run_followups

        with self._lock:
            return run_followups(self.svc, now)

    def release(self, ses_message_id: str) -> dict[str, Any]:
        from crm.spam_admin import release_and_settle

        with self._lock:
            return release_and_settle(self.svc, ses_message_id)

    def redrive(self, queue: str) -> int:
        from crm.views import redrive

        with self._lock:
            return redrive(self.svc, queue)
