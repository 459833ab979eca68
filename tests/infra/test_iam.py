"""IAM agreement: every AWS call each function makes is allowed by the policy infra gives it,
and every grant of that policy is used by some call.

The flow runs once (``flow_calls``: the example mails, a spam release, SES feedback,
the follow-up schedule, a throttled send per sender) with every call recorded per
function. Each call becomes the IAM requests AWS would authorize (action, resource
ARN, condition keys: ``ses:FromAddress``, ``kms:ViaService`` ...), plus the calls
Lambda itself makes with the function's role (its log stream, the SQS event
source mapping, the asynchronous DLQ). Each function's policy is rendered from
``infra/examples/complete`` and ``infra/modules/function`` (``hcl_eval``) and the
requests are evaluated by moto's IAM policy evaluator (``moto.iam.access_control``).

Grants no call uses fail the test unless they are in ``KNOWN_UNUSED`` with the
reason; removing any one action from ``modules/function/main.tf`` must make some
call denied (the mutation test), so the test has teeth.
"""

from __future__ import annotations

import json
import re
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest

from .conftest import EXAMPLE, MODULES
from .flow_calls import HARNESS, Call, run_flow
from .hcl_eval import ACCOUNT, REGION, render_example

moto_access = pytest.importorskip("moto.iam.access_control")
IAMPolicy = moto_access.IAMPolicy
PermissionResult = moto_access.PermissionResult

PREFIX = "crm-"  # var.function_prefix
KEY_ARN = f"arn:aws:kms:{REGION}:{ACCOUNT}:key/00000000-0000-4000-8000-000000000000"
TFVARS = {
    "public_address": "hello@example.com", "public_name": "Example", "reply_domain": "reply.example.com",
    "private_mailbox": "owner@private.example.net", "zone_id": "Z0123456789", "token_key": "k" * 32,
    "activate_receipt_rule_set": True,
}  # fmt: skip

CONSUMERS = ("ack", "attachments", "forward", "projector", "reply", "rules")
FUNCTIONS = (
    *(f"consumer-{c}" for c in CONSUMERS),
    "producer-inbound",
    "producer-reply",
    "producer-ses-feedback",
    "producer-followups",
)
EVENTS = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/crm-events"
STANDBY = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/crm-conversations-b"

KMS_THROUGH_S3_OR_SSM = {
    ("consumer-attachments", "kms:Decrypt"),
    ("consumer-attachments", "kms:GenerateDataKey"),
    ("consumer-forward", "kms:Decrypt"),
    ("consumer-reply", "kms:Decrypt"),
    ("producer-inbound", "kms:Decrypt"),
    ("producer-inbound", "kms:GenerateDataKey"),
    ("producer-reply", "kms:Decrypt"),
}

# (function, action, resource) -> why the grant stays although the flow does not use it
KNOWN_UNUSED: dict[tuple[str, str, str], str] = {
    **{(f"consumer-{c}", "sqs:GetQueueUrl", f"arn:aws:sqs:{REGION}:{ACCOUNT}:crm-{c}"):
       "the backoff after a transient failure; the flow injects one into the SES senders only"
       for c in ("attachments", "projector", "reply")},
    **{(f, a, KEY_ARN): "the stack key also encrypts the tables; the flow models KMS for S3 and SSM only"
       for f in FUNCTIONS for a in ("kms:Decrypt", "kms:GenerateDataKey") if (f, a) not in KMS_THROUGH_S3_OR_SSM},
    **{(f, a, STANDBY + suffix): "the standby conversations table: used once `crm replay --into` switches to it"
       for f, a, suffix in (("consumer-projector", "dynamodb:GetItem", ""), ("consumer-projector", "dynamodb:PutItem", ""),
                            ("consumer-rules", "dynamodb:GetItem", ""),
                            ("producer-followups", "dynamodb:Query", "/index/by_followup"))},
    **{(f"consumer-{c}", "dynamodb:UpdateItem", EVENTS): "a send keeps SES's answer on its claim when the outcome's "
       "commit fails (the flow fails none; tests/integration/test_senders.py does)"
       for c in ("ack", "forward", "reply", "rules")},
    ("consumer-reply", "dynamodb:DeleteItem", EVENTS): "a send drops its claim when nothing went out (the flow "
        "throttles the other senders, not the reply)",
    **{(f"consumer-{c}", "dynamodb:BatchGetItem", EVENTS): "a send whose claim another invocation holds reads whether "
       "its outcome is recorded or in doubt (the flow redelivers no send in progress); the ack reads its suppressions "
       "so, always" for c in ("forward", "reply", "rules")},
    ("consumer-ack", "ssm:GetParameter", f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter/crm/ack-templates"):
        "read when CRM_ACK_TEMPLATES_PARAMETER is set, as infra sets it (the local flow leaves it unset)",
    **{(f"consumer-{c}", a, f"arn:aws:sqs:{REGION}:{ACCOUNT}:crm-{c}-dlq"):
       "a sender parks a send whose SES answer was lost on its own DLQ (the flow loses no answer; "
       "tests/integration/test_lost_response.py does)"
       for c in ("ack", "forward", "reply", "rules") for a in ("sqs:SendMessage", "sqs:GetQueueUrl")},
    **{(f, "dynamodb:GetItem", f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/crm-events"):
       "the event store reads a commit's dedupe item only when the commit is refused (a retried delivery "
       "or a conflict); these functions read nothing else there and the flow retries none of their commits"
       for f in ("consumer-attachments", "producer-followups", "producer-ses-feedback")},
    **{(f, "dynamodb:GetItem", f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/crm-events"):
       "reads one at a time only off the usual path: a refused commit's dedupe item, a retried decision "
       "after a conflict, a References chain past the first 20 Message-IDs, a send's approval after a doubt; "
       "the flow reads all together (BatchGetItem)"
       for f in ("consumer-ack", "consumer-forward", "consumer-rules", "producer-inbound")},
    ("consumer-projector", "dynamodb:Query", f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/crm-events"):
        "the projector reads a stream only when the events its batch delivered leave a gap after the item's "
        "version (a lost or reordered delivery); the flow delivers every batch whole and in order",
    ("producer-inbound", "s3:GetObject", "arn:aws:s3:::crm-mail/config/spam-patterns/*"):
        "spam patterns too large for SSM live in the bucket (`crm spam patterns import`; the flow keeps the defaults)",
}  # fmt: skip


# --- calls -> IAM requests ---------------------------------------------------------------------


def _queue_arn(params: dict[str, Any]) -> str:
    name = params.get("QueueName") or str(params["QueueUrl"]).rstrip("/").rsplit("/", 1)[1]
    return f"arn:aws:sqs:{REGION}:{ACCOUNT}:{name}"


def _table(name: str, index: str | None = None) -> str:
    arn = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{name}"
    return f"{arn}/index/{index}" if index else arn


def _kms(action: str, service: str) -> tuple[str, str, dict[str, str]]:
    return action, KEY_ARN, {"kms:ViaService": f"{service}.{REGION}.amazonaws.com"}


Request = tuple[str, str, dict[str, str]]  # action, resource, condition values


def requests_of(call: Call) -> list[Request]:
    p, op = call.params, call.operation
    if call.service == "dynamodb":
        if op == "TransactWriteItems":
            kinds = {"Put": "PutItem", "Update": "UpdateItem", "Delete": "DeleteItem", "ConditionCheck": "ConditionCheckItem"}
            return [(f"dynamodb:{kinds[k]}", _table(v["TableName"]), {}) for item in p["TransactItems"] for k, v in item.items()]
        if op == "TransactGetItems":
            return [("dynamodb:GetItem", _table(i["Get"]["TableName"]), {}) for i in p["TransactItems"]]
        if op in ("BatchWriteItem", "BatchGetItem"):
            return [(f"dynamodb:{op}", _table(t), {}) for t in p["RequestItems"]]
        return [(f"dynamodb:{op}", _table(p["TableName"], p.get("IndexName")), {})]
    if call.service == "s3":
        obj = f"arn:aws:s3:::{p.get('Bucket')}/{p.get('Key')}"
        if op in ("GetObject", "HeadObject"):
            return [("s3:GetObject", obj, {}), _kms("kms:Decrypt", "s3")]
        if op == "PutObject":
            return [("s3:PutObject", obj, {}), _kms("kms:GenerateDataKey", "s3")]
        if op == "CopyObject":
            source = p["CopySource"]
            source = source if isinstance(source, str) else f"{source['Bucket']}/{source['Key']}"
            return [
                ("s3:GetObject", f"arn:aws:s3:::{source}", {}),
                ("s3:PutObject", obj, {}),
                _kms("kms:Decrypt", "s3"),
                _kms("kms:GenerateDataKey", "s3"),
            ]
        if op in ("ListObjectsV2", "ListObjects"):
            return [("s3:ListBucket", f"arn:aws:s3:::{p['Bucket']}", {})]
        return [(f"s3:{op}", obj, {})]
    if call.service == "sqs":
        return [(f"sqs:{op.replace('Batch', '')}", _queue_arn(p), {})]
    if call.service == "events" and op == "PutEvents":
        buses = {e.get("EventBusName") or "default" for e in p["Entries"]}
        return [
            ("events:PutEvents", b if b.startswith("arn:") else f"arn:aws:events:{REGION}:{ACCOUNT}:event-bus/{b}", {})
            for b in sorted(buses)
        ]
    if call.service == "ssm":
        names = p.get("Names") or [p.get("Name")]
        found: list[Request] = [(f"ssm:{op}", f"arn:aws:ssm:{REGION}:{ACCOUNT}:parameter{n}", {}) for n in names]
        return found + ([_kms("kms:Decrypt", "ssm")] if p.get("WithDecryption") else [])
    if call.service in ("sesv2", "ses") and op in ("SendEmail", "SendRawEmail"):
        sender = str(p.get("FromEmailAddress") or p.get("Source"))
        context = {"ses:FromAddress": sender}
        found = [(f"ses:{op}", f"arn:aws:ses:{REGION}:{ACCOUNT}:identity/{sender.rpartition('@')[2]}", context)]
        if p.get("ConfigurationSetName"):
            found.append((f"ses:{op}", f"arn:aws:ses:{REGION}:{ACCOUNT}:configuration-set/{p['ConfigurationSetName']}", context))
        return found
    return [(f"{call.service}:{op}", "*", {})]


def platform_requests(function: str) -> list[Request]:
    """What Lambda does with the function's role around the code."""
    log_group = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/aws/lambda/{PREFIX}{function}"
    found: list[Request] = [
        ("logs:CreateLogStream", f"{log_group}:log-stream:2026/12/03/[$LATEST]abc", {}),
        ("logs:PutLogEvents", f"{log_group}:log-stream:2026/12/03/[$LATEST]abc", {}),
    ]
    kind, _, name = function.partition("-")
    if kind == "consumer":  # the SQS event source mapping
        queue = f"arn:aws:sqs:{REGION}:{ACCOUNT}:{PREFIX}{name}"
        found += [
            (f"sqs:{a}", queue, {}) for a in ("ReceiveMessage", "DeleteMessage", "ChangeMessageVisibility", "GetQueueAttributes")
        ]
    else:  # SES and EventBridge invoke producers asynchronously: failures go to the async DLQ
        found.append(("sqs:SendMessage", f"arn:aws:sqs:{REGION}:{ACCOUNT}:{PREFIX}async-dlq", {}))
    return found


# --- fixtures ------------------------------------------------------------------------------------


def render_policies(overrides: dict[str, str] | None = None) -> dict[str, dict[str, Any]]:
    """function ("producer-inbound", ...) -> its rendered policy document."""
    root = render_example(EXAMPLE, TFVARS, overrides)
    return {
        f"{kind}-{name}": json.loads(module["policy_json"])
        for kind in ("producer", "consumer")
        for name, module in root.env["module"][kind].items()
    }


@pytest.fixture(scope="module")
def flow() -> dict[str, Any]:
    recorder = run_flow()
    unique: dict[str, dict[str, tuple[Request, str]]] = defaultdict(dict)  # one of each distinct request
    for call in recorder.calls:
        if call.function == HARNESS:
            continue
        for request in requests_of(call):
            unique[call.function].setdefault(json.dumps(request), (request, f"{call.service}.{call.operation}"))
    for function in recorder.invoked:
        for request in platform_requests(function):
            unique[function].setdefault(json.dumps(request), (request, "(Lambda)"))
    requests = {f: list(by.values()) for f, by in unique.items()}
    return {"calls": recorder.calls, "requests": requests, "invoked": recorder.invoked}


@pytest.fixture(scope="module")
def policies() -> dict[str, dict[str, Any]]:
    return render_policies()


def denied(requests: dict[str, list[tuple[Request, str]]], policies: dict[str, dict[str, Any]]) -> list[str]:
    found = []
    for function, entries in sorted(requests.items()):
        policy = IAMPolicy(json.dumps(policies[function]))
        for (action, resource, context), call in entries:
            result = policy.is_action_permitted(action, resource, incoming_condition_values=context or None)
            if result != PermissionResult.PERMITTED:
                found.append(f"{function}: {action} on {resource} {context or ''} ({call})")
    return sorted(set(found))


def _grants(policy: dict[str, Any]) -> list[tuple[str, str]]:
    return [
        (action, resource)
        for s in policy["Statement"]
        if s["Effect"] == "Allow"
        for action in s["Action"]
        for resource in s["Resource"]
    ]


def _covers(pattern: str, value: str) -> bool:
    return re.fullmatch(re.escape(pattern).replace(r"\*", ".*").replace(r"\?", "."), value) is not None


# --- tests ----------------------------------------------------------------------------------------


def check_the_flow_reaches_every_function_and_every_call_succeeds(
    flow: dict[str, Any], policies: dict[str, dict[str, Any]]
) -> None:
    assert flow["invoked"] == set(policies), "the flow must run every deployed function"
    failures = [
        f"{c.function}: {c.service}.{c.operation}: {c.failed}"
        for c in flow["calls"]
        if c.failed and c.function != HARNESS and c.failed != "Throttling"
    ]  # Throttling: injected
    assert not failures, "calls failed (on AWS too):\n" + "\n".join(failures)
    backoff = {c.function for c in flow["calls"] if c.operation == "ChangeMessageVisibility" and c.function != HARNESS}
    assert backoff >= {"consumer-ack", "consumer-forward"}, "the senders' backoff did not run"


def check_every_call_is_allowed_by_the_functions_policy(flow: dict[str, Any], policies: dict[str, dict[str, Any]]) -> None:
    problems = denied(flow["requests"], policies)
    assert not problems, "AWS would deny:\n" + "\n".join(problems)


def check_every_grant_is_used_or_known_unused(flow: dict[str, Any], policies: dict[str, dict[str, Any]]) -> None:
    unused = []
    for function, policy in sorted(policies.items()):
        used = flow["requests"].get(function, [])
        for action, resource in _grants(policy):
            if not any(a == action and _covers(resource, r) for (a, r, _c), _call in used):
                unused.append((function, action, resource))
    stale = sorted(set(KNOWN_UNUSED) - set(unused))
    new = [f"{f}: {a} on {r}" for f, a, r in unused if (f, a, r) not in KNOWN_UNUSED]
    assert not new, "grants no call uses (remove them, or add to KNOWN_UNUSED with the reason):\n" + "\n".join(new)
    assert not stale, f"KNOWN_UNUSED entries now used or gone (drop them): {stale}"


def test_only_xray_has_resource_star_and_sends_are_conditioned(policies: dict[str, dict[str, Any]]) -> None:
    for function, policy in policies.items():
        for statement in policy["Statement"]:
            if "*" in statement["Resource"]:
                assert statement["Sid"] == "XRayTracing", f"{function}: {statement}"
            if any(a.startswith("ses:") for a in statement["Action"]):
                condition = statement["Condition"]
                assert condition["StringEquals"]["ses:FromAddress"] == [TFVARS["public_address"]]
    # the rules consumer runs the owner's code: it may mail the owner only (so may forward)
    for function in ("consumer-rules", "consumer-forward"):
        send = next(s for s in policies[function]["Statement"] if s["Sid"] == "SendMail")
        assert send["Condition"]["ForAllValues:StringEquals"]["ses:Recipients"] == [TFVARS["private_mailbox"]]


def _actions_in(text: str) -> list[str]:
    return sorted(set(re.findall(r'"((?:logs|xray|dynamodb|s3|sqs|events|ssm|ses|kms):[A-Za-z]+)"', text)))


def _without(text: str, action: str) -> str:
    quoted = f'"{action}"'
    text = re.sub(rf"{re.escape(quoted)}\s*,\s*", "", text)
    text = re.sub(rf",\s*{re.escape(quoted)}", "", text)
    return text.replace(quoted, "")


def check_removing_any_needed_action_from_the_function_module_denies_a_call(flow: dict[str, Any]) -> None:
    main = (MODULES / "function" / "main.tf").read_text(encoding="utf-8")
    needed = {a for entries in flow["requests"].values() for (a, _r, _c), _call in entries}
    actions = [a for a in _actions_in(main) if a in needed]
    assert len(actions) >= 12, actions
    survivors = []
    for action in actions:
        mutated = _without(main, action)
        assert mutated != main
        if not denied(flow["requests"], render_policies({"function/main.tf": mutated})):
            survivors.append(action)
    assert not survivors, f"removing these actions denies nothing: {survivors}"


def test_iam_agreement(flow: dict[str, Any], policies: dict[str, dict[str, Any]]) -> None:
    """One test over the one flow run (pytest-xdist would run a module fixture once per worker)."""
    check_the_flow_reaches_every_function_and_every_call_succeeds(flow, policies)
    check_every_call_is_allowed_by_the_functions_policy(flow, policies)
    check_every_grant_is_used_or_known_unused(flow, policies)
    check_removing_any_needed_action_from_the_function_module_denies_a_call(flow)


def test_the_policies_render_from_the_hcl_not_a_copy() -> None:
    # a grant added in the HCL shows in the rendered policy: the renderer reads infra/
    main = (MODULES / "function" / "main.tf").read_text(encoding="utf-8")
    mutated = main.replace('"events:PutEvents"', '"events:PutEvents", "events:PutRule"')
    assert mutated != main
    rendered = render_policies({"function/main.tf": mutated})
    assert any("events:PutRule" in s["Action"] for s in rendered["producer-inbound"]["Statement"])
    assert Path(EXAMPLE / "functions.tf").is_file()
