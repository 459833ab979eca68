"""Which table readers use: a pointer in SSM, so a rebuilt table can replace the live one.

Absent pointer: the configured ``conversations_table``.
"""

from __future__ import annotations

from typing import Any

POINTER_PARAMETER = "/crm/projections/conversations/table"


def current_table(svc: Any) -> str:
    try:
        return str(svc.parameters.get(POINTER_PARAMETER, ttl_seconds=60)) or svc.settings.conversations_table
    except Exception:
        return str(svc.settings.conversations_table)


def switch_to(svc: Any, table: str) -> None:
    svc.parameters.put(POINTER_PARAMETER, table)
