"""A state folder of the moto-era stack (events.jsonl, dlq.jsonl, parameters.json) opens
on the local backend with every event, the projection rebuilt, and is imported once."""

from __future__ import annotations

from pathlib import Path

import pytest

from crm.settings import Settings
from tests.conftest import deliver, make_mail


@pytest.mark.parametrize("mails", [1, 3])
def test_a_moto_state_folder_is_imported_once(tmp_path: Path, mails: int) -> None:
    from crm.local import local_stack
    from crm.moto_stack import moto_stack

    state = tmp_path / "state"
    with moto_stack(Settings(), state) as old:
        for index in range(mails):
            deliver(old, make_mail(sender=f"P {index} <p{index}@firm{index}.test>", subject=f"Role {index}"))
        before = sorted(e.event_id for e in old.svc.store.all_events())
        conversations = {i["id"] for i in old.svc.projections.table(old.settings.conversations_table).scan()}
    assert (state / "events.jsonl").exists()
    with local_stack(Settings(), state) as new:
        assert sorted(e.event_id for e in new.svc.store.all_events()) == before
        items = new.svc.projections.table(new.settings.conversations_table).scan()
        assert {i["id"] for i in items} == conversations and len(conversations) == mails
    assert not (state / "events.jsonl").exists() and (state / "events.jsonl.imported").exists()
    with local_stack(Settings(), state) as again:  # opened again: nothing imported twice
        assert sorted(e.event_id for e in again.svc.store.all_events()) == before
