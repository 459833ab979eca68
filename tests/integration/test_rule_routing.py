"""The local stack routes hook rules in-process: a rule EventBridge would refuse is
refused at registration and never stops mail; the rules see the whole envelope."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import bootstrap
from adapters.rule_routing import LOCAL_ACCOUNT
from consumers.rules import rule
from crm.cli import main
from events import Envelope, replace
from tests.conftest import EXAMPLES
from tests.eventbridge_cases import CASES, INVALID

INVALID_PATTERNS = [c.pattern for c in CASES if c.expected == INVALID and isinstance(c.pattern, dict)]

GOOD_RULE = """
@rule("envelope-alert", pattern={"account": ["ACCOUNT"], "region": ["us-east-1"], "version": ["0"],
                                 "id": [{"exists": True}], "time": [{"prefix": "20"}],
                                 "source": ["crm.inbound"], "detail-type": ["MessageReceived"],
                                 "detail": {"data": {"from_address": [{"wildcard": "*@acmerobotics.com"}]}}})
def envelope_alert(event, context):
    return [OutboundMail(kind="notice", subject="envelope matched", text=event.event.subject)]
""".replace("ACCOUNT", LOCAL_ACCOUNT)


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    monkeypatch.chdir(tmp_path)
    yield tmp_path
    for module in [m for m in sys.modules if m.startswith("crm_user_rules")]:
        del sys.modules[module]


def _rules_file(folder: Path) -> None:
    lines = ["from consumers.rules import OutboundMail, rule", ""]
    for i, pattern in enumerate(INVALID_PATTERNS):
        lines += [
            "",
            f"@rule('bad-{i}', pattern={pattern!r})",
            f"def bad_{i}(event, context):",
            "    return [OutboundMail(kind='notice', subject='bad rule ran', text='')]",
            "",
        ]
    lines.append(GOOD_RULE)
    lines += [
        "",
        "@rule('envelope-alert', pattern={'source': ['crm.inbound']})",  # the same name again
        "def duplicate(event, context):",
        "    return [OutboundMail(kind='notice', subject='dup', text='')]",
    ]
    folder.mkdir()
    (folder / "rules.py").write_text("\n".join(lines), encoding="utf-8")
    # a file that fails half-way: what it registered before failing stays, the rest goes on
    (folder / "z_broken.py").write_text(
        "from consumers.rules import OutboundMail, rule\n\n\n"
        "@rule('envelope-early', pattern={'detail-type': ['FirstContact']})\n"
        "def early(event, context):\n    return [OutboundMail(kind='notice', subject='early', text='')]\n\n\n"
        "raise RuntimeError('a typo in my rules file')\n",
        encoding="utf-8",
    )


def _json_lines(capsys: pytest.CaptureFixture[str]) -> list[dict[str, Any]]:
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_invalid_rules_are_refused_and_mail_and_the_other_rules_go_on(
    workdir: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert {"source": [{"anything-but": {"prefix": 123}}]} in INVALID_PATTERNS  # made moto raise on every PutEvents
    _rules_file(workdir / "my_rules")
    monkeypatch.setenv("CRM_RULES_MODULE", "my_rules")
    state = str(workdir / "state")
    assert main(["--state", state, "ingest", "--json", str(EXAMPLES / "01-recruiter-first-contact.eml")]) == 0
    result = _json_lines(capsys)[0]
    assert result["outcome"] == "accepted"
    assert {"AcknowledgementSent", "MessageForwarded", "LeadScored"} <= set(result["events"])
    assert main(["--state", state, "outbox", "--json"]) == 0
    sent = _json_lines(capsys)
    assert sorted(m["subject"] for m in sent if m["kind"] == "notice") == ["early", "envelope matched"]
    assert main(["--state", state, "rules", "list", "--json"]) == 0
    listed = _json_lines(capsys)
    refused = {r["name"]: r["refused"] for r in listed if "refused" in r}
    broken = str(Path("my_rules") / "z_broken.py")
    assert set(refused) == {f"bad-{i}" for i in range(len(INVALID_PATTERNS))} | {"envelope-alert (again)", broken}
    assert all(reason.startswith(f"rule '{name}': pattern at ") for name, reason in refused.items() if name.startswith("bad-"))
    assert "registered twice" in refused["envelope-alert (again)"]
    assert "RuntimeError: a typo in my rules file" in refused[broken]
    assert "envelope-alert" in {r["name"] for r in listed if "pattern" in r}
    assert main(["--state", state, "dlq", "list", "--json"]) == 0
    assert all(r["count"] == 0 for r in _json_lines(capsys))


def test_moto_carries_no_hook_rule_and_every_matching_rule_is_routed(moto_stack: Any) -> None:
    from adapters.aws import client
    from tests.conftest import deliver, make_mail, outbox

    stack = moto_stack
    names = [r["Name"] for r in client("events", stack.settings.region).list_rules(EventBusName=stack.settings.bus_name)["Rules"]]
    assert names and not [n for n in names if n.startswith("crm-rule-")]
    deliver(stack, make_mail())
    from tests.conftest import event_types

    # the built-in hook rules ran from the in-process routing
    assert "LeadScored" in event_types(stack)
    assert outbox(stack)


SEEN: list[str] = []


@rule("outside-seen", pattern={"detail": {"meta": {"event_id": [{"prefix": "outside-"}]}}})
def outside_seen(event: Envelope, context: Any) -> list[Any]:
    SEEN.append(event.event_id)
    return []


def test_events_put_on_the_bus_from_outside_reach_the_hook_rules_once(moto_stack: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Another program puts events through moto's AWS endpoint (``crm serve --aws-port``)."""
    from adapters.aws import client
    from bootstrap import outside_events as watch_outside_events
    from crm.flows import drain_all
    from events import to_entry
    from tests.conftest import deliver, make_mail

    stack = moto_stack
    outside = watch_outside_events(stack.settings)
    SEEN.clear()
    # the composition root collects this module's rule with the built-ins
    monkeypatch.setattr(bootstrap, "BUILTIN_RULE_MODULES", (*bootstrap.BUILTIN_RULE_MODULES, __name__))
    deliver(stack, make_mail())
    assert outside.forward() == 0  # the stack's own events were routed when published: not twice
    received = next(e for e in stack.svc.store.all_events() if e.type == "MessageReceived")
    for n in range(3):  # another program puts events on the bus through the AWS endpoint
        copy = replace(received, meta=replace(received.meta, event_id=f"outside-{n}"))
        client("events", stack.settings.region).put_events(Entries=[to_entry(copy, stack.settings.bus_name)])
    assert outside.forward() >= 3
    drain_all(stack.svc)
    assert sorted(SEEN) == ["outside-0", "outside-1", "outside-2"]
    assert outside.forward() == 0
