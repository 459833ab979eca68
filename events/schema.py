"""JSON Schema of every event, for `crm events schema` and for consumers in other languages."""

from __future__ import annotations

from typing import Any

from events.base import Meta
from events.catalogue import CATALOGUE


def catalogue_schema() -> dict[str, Any]:
    return {
        "meta": Meta.model_json_schema(),
        "events": {
            name: {"schema_version": cls.schema_version, "source": cls.source, "data": cls.model_json_schema()}
            for name, cls in sorted(CATALOGUE.items())
        },
    }
