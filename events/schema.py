"""JSON Schema of every event, for `crm events schema` and for consumers in other languages."""

from __future__ import annotations

from typing import Any

import msgspec

from events.base import Meta
from events.catalogue import CATALOGUE


def _schema(cls: type[Any]) -> dict[str, Any]:
    """The class's own JSON Schema object, with the records it holds under ``$defs``
    (msgspec puts every struct, the class too, under ``$defs`` behind a ``$ref``)."""
    schema = msgspec.json.schema(cls)
    defs: dict[str, Any] = schema.pop("$defs", {})
    own: dict[str, Any] = defs.pop(cls.__name__)
    return {**own, "$defs": defs} if defs else own


def catalogue_schema() -> dict[str, Any]:
    return {
        "meta": _schema(Meta),
        "events": {
            name: {"schema_version": cls.schema_version, "source": cls.source, "data": _schema(cls)}
            for name, cls in sorted(CATALOGUE.items())
        },
    }
