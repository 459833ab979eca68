"""Every AWS call each deployed function makes, from one end-to-end run of the aws
adapters on an in-process moto (``crm.moto_stack``: the calls are AWS's, so this is
moto's place, not the local backend's).

The run is the demo's: the example mails (05 to an unknown address of the domain,
07 as the owner's reply through the thread address of 01's forwarded copy), a
spam mail released from quarantine, a permanent bounce and a complaint through
the ses-feedback producer, the follow-up schedule a week later, and one
transient SES failure in every sender (their backoff path). Calls are recorded
from botocore, below every client the code and its libraries create
(``bench.calls`` counts the same way), each attributed to the handler that was
running: the function of ``infra/`` that runs that handler in AWS.

A call made outside any handler is the local harness's (the runner polling
queues, the stand-in for SES's S3 action) and is not a function's.
"""

from __future__ import annotations

import json
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import botocore.client

from events.base import utc_text

REPO = Path(__file__).resolve().parents[2]
HARNESS = "(local harness)"
TOKEN_KEY_PARAMETER = "/crm/token-key"


@dataclass(frozen=True)
class Call:
    function: str  # "producer-inbound", "consumer-ack", ... (as infra names them, without the prefix)
    service: str  # botocore service name: s3, dynamodb, sqs, ...
    operation: str  # API operation: GetObject, TransactWriteItems, ...
    params: dict[str, Any]
    failed: str | None = None  # error code when the call failed


class CallRecorder:
    def __init__(self, functions_by_handler: dict[str, str]) -> None:
        self.functions_by_handler = functions_by_handler
        self.calls: list[Call] = []
        self.invoked: set[str] = set()
        self._current = threading.local()
        self.throttle_sends = False  # the next SES send of each function fails with Throttling, once
        self._throttled: set[str] = set()

    @property
    def function(self) -> str:
        return getattr(self._current, "function", None) or HARNESS

    @contextmanager
    def installed(self) -> Iterator[CallRecorder]:
        original = botocore.client.BaseClient._make_api_call  # type: ignore[attr-defined]
        recorder = self

        def recorded(client: Any, operation: str, params: dict[str, Any]) -> Any:
            failed: str | None = None
            service = client.meta.service_model.service_name
            try:
                function = recorder.function
                if recorder.throttle_sends and service == "sesv2" and function not in recorder._throttled:
                    recorder._throttled.add(function)
                    raise botocore.exceptions.ClientError(
                        {
                            "Error": {"Code": "Throttling", "Message": "Maximum sending rate exceeded."},
                            "ResponseMetadata": {"HTTPStatusCode": 400},
                        },
                        operation,
                    )
                return original(client, operation, params)
            except botocore.exceptions.ClientError as exc:
                failed = str(exc.response.get("Error", {}).get("Code", "error"))
                raise
            except Exception as exc:  # e.g. ParamValidationError: the call never reached AWS
                failed = type(exc).__name__
                raise
            finally:
                recorder.calls.append(Call(recorder.function, service, operation, dict(params), failed))

        botocore.client.BaseClient._make_api_call = recorded  # type: ignore[attr-defined]
        try:
            yield self
        finally:
            botocore.client.BaseClient._make_api_call = original  # type: ignore[attr-defined]

    def as_eventbridge(self, route: Callable[..., Any]) -> Callable[..., Any]:
        """The local bus's in-process rule routing stands in for EventBridge's delivery to
        the rules queue: its calls are EventBridge's (the queue policy), not the function's."""

        def routed(*args: Any, **kwargs: Any) -> Any:
            previous = getattr(self._current, "function", None)
            self._current.function = None
            try:
                return route(*args, **kwargs)
            finally:
                self._current.function = previous

        return routed

    def wrap(
        self, handler_path: str, invoke: Callable[[Any, Any, Any], Any], cold_start: Callable[[], Any]
    ) -> Callable[[Any, Any, Any], Any]:
        """A module's ``invoke(svc, event, context)``, attributed to its function."""
        function = self.functions_by_handler[handler_path]

        def invoked(_svc: Any, event: Any, context: Any) -> Any:
            # every invocation is a cold start: no function rides on what another one
            # read and cached in this shared process (parameters, token keys), so each
            # gets services of its own; the boto3 clients hold no such state and stay
            # (building them is slow)
            svc = cold_start()
            previous = getattr(self._current, "function", None)
            self._current.function = function
            self.invoked.add(function)
            try:
                return invoke(svc, event, context)
            finally:
                self._current.function = previous

        return invoked


def functions_by_handler() -> dict[str, str]:
    """Handler path -> the function infra deploys it as (``producer-<name>`` / ``consumer-<name>``)."""
    topology = json.loads((REPO / "infra" / "topology.json").read_text(encoding="utf-8"))
    found = {handler: f"producer-{name}" for name, handler in topology["producers"].items()}
    found.update({c["handler"]: f"consumer-{name}" for name, c in topology["consumers"].items()})
    return found


def _ses_event(kind: str, settings: Any, recipient: str, ses_id: str) -> dict[str, Any]:
    """An SES sending event of our configuration set as EventBridge delivers it."""
    mail = {
        "messageId": ses_id,
        "source": settings.public_address,
        "destination": [recipient],
        "tags": {"ses:configuration-set": [settings.configuration_set]},
    }
    detail: dict[str, Any] = {"eventType": kind, "mail": mail}
    if kind == "Bounce":
        detail["bounce"] = {
            "bounceType": "Permanent",
            "bounceSubType": "General",
            "bouncedRecipients": [{"emailAddress": recipient, "diagnosticCode": "smtp; 550 5.1.1"}],
        }
    else:
        detail["complaint"] = {"complainedRecipients": [{"emailAddress": recipient}], "complaintFeedbackType": "abuse"}
    return {"version": "0", "source": "aws.ses", "detail-type": f"Email {kind}", "detail": detail}


def run_flow() -> CallRecorder:
    """One end-to-end run; returns the recorder with every call."""
    import adapters.rule_routing
    import crm.runner
    import producers.inbound
    import producers.reply
    from bootstrap import bootstrap
    from crm.demo import OWNER_REPLY, UNKNOWN_RECIPIENT, _forward_of, examples_folder
    from crm.flows import drain_all, ingest_one
    from crm.ingest import Delivery
    from crm.lambda_runtime import LocalContext, load_invoke
    from crm.moto_stack import moto_stack
    from crm.settings import load_settings, replaced

    recorder = CallRecorder(functions_by_handler())
    # as deployed: the token key is a SecureString parameter, not a literal setting
    settings = replaced(load_settings(), token_key_parameter=TOKEN_KEY_PARAMETER)
    real_load = load_invoke
    real_producers = {
        "producers.inbound.handler": (producers.inbound, producers.inbound.invoke),
        "producers.reply.handler": (producers.reply, producers.reply.invoke),
    }
    with (
        tempfile.TemporaryDirectory(prefix="crm-iam-") as folder,
        moto_stack(settings, Path(folder) / "state", fresh=True, persist=False) as stack,
    ):
        svc, state = stack.svc, stack.state
        s = svc.settings
        from adapters.aws import client

        client("ssm", s.region).put_parameter(
            Name=TOKEN_KEY_PARAMETER, Value=settings.token_key, Type="SecureString", Overwrite=True
        )

        def cold_start() -> Any:
            fresh = bootstrap(s, backend="aws", state=state)
            fresh.in_process = svc.in_process
            return fresh

        def load(path: str) -> Any:
            return recorder.wrap(path, real_load(path), cold_start)

        setattr(crm.runner, "load_invoke", load)  # noqa: B010 - the runner looks it up at call time
        real_route = adapters.rule_routing.route
        setattr(adapters.rule_routing, "route", recorder.as_eventbridge(real_route))  # noqa: B010
        for path, (module, invoke) in real_producers.items():
            # crm.ingest.deliver looks the producers' invoke up at call time
            setattr(module, "invoke", recorder.wrap(path, invoke, cold_start))  # noqa: B010
        try:
            with recorder.installed():
                _deliver_examples(svc, examples_folder(), ingest_one, Delivery, _forward_of, OWNER_REPLY, UNKNOWN_RECIPIENT)
                _release_spam(svc, drain_all)
                _feedback(svc, load, LocalContext)
                _followups(svc, load, LocalContext)
                _transient_send_failures(svc, examples_folder(), ingest_one, Delivery, recorder)
        finally:
            setattr(crm.runner, "load_invoke", real_load)  # noqa: B010
            setattr(adapters.rule_routing, "route", real_route)  # noqa: B010
            for module, invoke in real_producers.values():
                setattr(module, "invoke", invoke)  # noqa: B010
    return recorder


def _deliver_examples(
    svc: Any, folder: Path, ingest_one: Any, delivery: Any, forward_of: Any, owner_reply: str, unknown: str
) -> None:
    s = svc.settings
    for path in sorted(folder.glob("*.eml")):
        raw, recipients = path.read_bytes(), [s.public_address]
        if path.name == unknown:
            recipients = [f"sales@{s.domain}"]
        if path.name == owner_reply:
            thread, forward_id = forward_of(svc, "Staff Platform Engineer")
            raw = raw.replace(b"THREAD_ADDRESS", thread.encode()).replace(b"FORWARD_MESSAGE_ID", forward_id.encode())
            raw = raw.replace(b"owner@private.example.net", s.private_mailbox.encode())
            recipients = [thread]
        result = ingest_one(svc, delivery(path.name, raw), recipients)
        assert result["outcome"] != "error", result


def _release_spam(svc: Any, drain_all: Any) -> None:
    """The CLI releases a quarantined mail (SpamReleased): the senders then read quarantine/."""
    from crm.spam_admin import release

    spam = [e for e in svc.store.all_events() if e.type == "SpamRejected"]
    assert spam, "the examples hold a spam mail"
    release(svc, spam[0].event.ses_message_id)  # type: ignore[attr-defined]
    drain_all(svc)


def _feedback(svc: Any, load: Any, context: Any) -> None:
    invoke = load("consumers.feedback.handler")
    for kind, n in (("Bounce", 1), ("Complaint", 2)):
        invoke(svc, _ses_event(kind, svc.settings, f"bounced{n}@example.org", f"0100-feedback-{n}"), context("crm-ses-feedback"))


def _followups(svc: Any, load: Any, context: Any) -> None:
    invoke = load("consumers.followups_schedule.handler")
    later = utc_text(datetime.now(UTC) + timedelta(days=30))
    invoke(svc, {"now": later}, context("crm-followups"))


def _transient_send_failures(svc: Any, folder: Path, ingest_one: Any, delivery: Any, recorder: CallRecorder) -> None:
    """One throttled SES send per sender: each consumer's backoff (GetQueueUrl + ChangeMessageVisibility)."""
    s = svc.settings
    raw = (folder / "01-recruiter-first-contact.eml").read_bytes()
    raw = raw.replace(b"jane", b"joan").replace(b"Jane", b"Joan").replace(b"Message-ID: <", b"Message-ID: <t")
    recorder.throttle_sends = True
    try:
        ingest_one(svc, delivery("transient", raw), [s.public_address])
    finally:
        recorder.throttle_sends = False
