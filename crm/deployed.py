"""The CLI against a deployed stack: resource names from `tofu output -json` or the
environment, credentials and region from the usual AWS settings."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from crm.errors import UsageError
from crm.settings import Settings, field_types, replaced

if TYPE_CHECKING:
    from crm.local import Stack

# `tofu output` name → setting
OUTPUTS = {
    "bus_name": "bus_name",
    "events_table": "events_table",
    "conversations_table": "conversations_table",
    "bucket": "bucket",
    "queue_prefix": "queue_prefix",
    "patterns_parameter": "patterns_parameter",
    "token_key_parameter": "token_key_parameter",
    "region": "region",
    "public_address": "public_address",
    "reply_domain": "reply_domain",
    "private_mailbox": "private_mailbox",
    "configuration_set": "configuration_set",
}


def outputs_of(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError:
        return {}
    except ValueError as exc:
        raise UsageError(f"{path} is not the JSON of `tofu output -json`: {exc}") from None
    return {k: (v.get("value") if isinstance(v, dict) and "value" in v else v) for k, v in data.items()}


@contextmanager
def deployed_stack(settings: Settings, stack_file: str) -> Iterator[Stack]:
    """The deployed stack named by ``tofu output -json``, through the aws adapters."""
    from bootstrap import bootstrap
    from crm.local import Stack

    values = outputs_of(Path(stack_file))
    update = {setting: values[name] for name, setting in OUTPUTS.items() if values.get(name) is not None}
    if isinstance(values.get("settings"), dict):  # the example's one output naming every setting
        update.update({k: v for k, v in values["settings"].items() if k in field_types() and v is not None})
    yield Stack(bootstrap(replaced(settings, **update), backend="aws"))


def archive_replay(settings: Settings, start: str | None, end: str | None) -> dict[str, Any]:
    """Replay the bus archive into the projection rules only (FilterArns): senders never
    see replayed events, and they also ignore any event carrying ``replay-name``."""
    from datetime import datetime

    from adapters.eventbridge_admin import start_archive_replay
    from bootstrap import topology

    if not start or not end:
        raise UsageError("--archive needs --from TIME and --to TIME (ISO 8601)")
    try:
        window = [datetime.fromisoformat(t.replace("Z", "+00:00")) for t in (start, end)]
    except ValueError as exc:
        raise UsageError(f"--from/--to: {exc}") from None
    rules = [name for c in topology(settings) if c.replay_safe for name in c.patterns]
    return start_archive_replay(
        settings.region,
        settings.endpoint_url,
        bus_name=settings.bus_name,
        archive_name=settings.bus_name,
        rule_names=rules,
        start=window[0],
        end=window[1],
        name=f"crm-replay-{datetime.now().strftime('%Y%m%d%H%M%S')}",
    )
