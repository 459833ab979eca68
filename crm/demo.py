"""`crm demo`: the sample mails of ``examples/mail`` through the whole flow.

Mail 05 is delivered to an address of the domain that is not the public one; mail
07 is the owner's reply, addressed to the thread address found in the forwarded
copy of Jane's mail, exactly as a mail client's "reply" would.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from email import message_from_bytes, policy
from email.utils import parseaddr
from importlib.resources import files
from pathlib import Path
from typing import Any

from crm.flows import attach_events, drain_all, ingest_one
from crm.ingest import Delivery
from crm.local import Stack
from crm.views import conversation_line, outbox_records, public_item
from events.base import utc_text
from ports import Services

UNKNOWN_RECIPIENT = "05-unknown-recipient.eml"
OWNER_REPLY = "07-owner-reply.eml"


def examples_folder() -> Path:
    here = Path(__file__).resolve().parent.parent / "examples" / "mail"
    if here.is_dir():
        return here
    return Path(str(files("crm"))).parent / "examples" / "mail"


def _forward_of(svc: Services, subject_part: str) -> tuple[str, str]:
    """(Reply-To, Message-ID) of the forwarded copy whose subject contains ``subject_part``."""
    for record in outbox_records(svc):
        if record["kind"] == "forward" and subject_part in record["subject"]:
            message = message_from_bytes(Path(record["file"]).read_bytes(), policy=policy.default)
            return parseaddr(str(message["Reply-To"]))[1], str(message["Message-ID"])
    raise LookupError(f"no forwarded copy with {subject_part!r} in its subject")


def run_demo(stack: Stack, *, as_json: bool = False) -> list[dict[str, Any]]:
    from consumers.followups_schedule import run_due

    svc, settings, state = stack.svc, stack.settings, stack.state

    folder = examples_folder()
    results = []
    for path in sorted(folder.glob("*.eml")):
        raw = path.read_bytes()
        recipients = [settings.public_address]
        if path.name == UNKNOWN_RECIPIENT:
            recipients = [f"sales@{settings.domain}"]
        if path.name == OWNER_REPLY:
            thread, forward_id = _forward_of(svc, "Staff Platform Engineer")
            raw = raw.replace(b"THREAD_ADDRESS", thread.encode()).replace(b"FORWARD_MESSAGE_ID", forward_id.encode())
            raw = raw.replace(b"owner@private.example.net", settings.private_mailbox.encode())
            recipients = [thread]
        result = ingest_one(svc, Delivery(str(path.relative_to(folder.parent.parent)), raw), recipients)
        results.append(result)
        if not as_json:
            print(f"{path.name:<34} {result['outcome']:<9} {result.get('reason') or ''}")
    drain_all(svc)
    # a week later: the follow-up schedule fires (in AWS an EventBridge schedule does this)
    week_later = utc_text(datetime.now(UTC) + timedelta(days=7))
    fired = run_due(svc, week_later)
    drain_all(svc)
    attach_events(svc, results)
    from crm.views import table

    conversations = sorted(
        (public_item(i) for i in table(svc).scan() if "contact" in i), key=lambda i: str(i.get("first_activity"))
    )
    if as_json:
        print(
            json.dumps(
                {"mails": results, "conversations": conversations, "outbox": outbox_records(svc), "followups_fired": fired},
                sort_keys=True,
                default=str,
            )
        )
        return results
    print("\nWhat happened to each mail:")
    for result in results:
        print(f"  {Path(result['source']).name}: {result['outcome']} → {', '.join(result['events']) or '-'}")
    print(f"\nA week later, {len(fired)} follow-up(s) fell due:")
    for due in fired:
        print(f"  {due['kind']} for {due['conversation_id']} (due {due['due_at']})")
    print("\nConversations:")
    for item in conversations:
        print("  " + conversation_line(item))
    print("\nOutbox:")
    for record in outbox_records(svc):
        print(f"  {record['kind']:<8} to {', '.join(record['to'])}: {record['subject']}")
    print(f"\nState folder: {state}  (try: crm --state {state} conversations, crm --state {state} events)")
    return results
