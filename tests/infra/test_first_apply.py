"""Defects a real account hits on the first apply (issue 15), each checked on the HCL.

The IAM grants are test_iam.py's, the provider range test_provider_schema.py's;
here: feedback routing, tracing, reserved concurrency, the active rule set, the
alarms, the bucket policy's SES source and the README's limits.
"""

from __future__ import annotations

import json
from typing import Any

from .conftest import EXAMPLE, INFRA, MODULES
from .hcl_eval import Module, parse
from .test_iam import TFVARS


def _resource(directory: str, rtype: str, name: str) -> Any:
    body = parse("".join(p.read_text(encoding="utf-8") for p in sorted((INFRA / directory).glob("*.tf"))))
    return next(b.body for b in body.all("resource") if b.labels == [rtype, name])


def _root() -> Module:
    return Module(EXAMPLE, TFVARS)


def test_feedback_routes_only_what_the_feedback_function_handles() -> None:
    mail = Module(MODULES / "mail", {})
    assert mail.env["var"]["feedback_event_types"] == ["BOUNCE", "COMPLAINT"]
    triggers = parse((EXAMPLE / "triggers.tf").read_text(encoding="utf-8"))
    local = next(b for b in triggers.all("locals")).body.attributes["ses_feedback_pattern"]
    pattern = json.loads(local.expr({"var": {"configuration_set": "crm"}}))
    assert pattern["detail"]["eventType"] == ["Bounce", "Complaint"]


def test_tracing_is_passthrough_unless_asked() -> None:
    function = Module(MODULES / "function", {})
    assert function.env["var"]["tracing_mode"] == "PassThrough"
    lambda_fn = _resource("modules/function", "aws_lambda_function", "this")
    tracing = lambda_fn.all("tracing_config")[0].body.attributes["mode"]
    assert tracing.source == "var.tracing_mode"
    assert _root().env["var"]["tracing_mode"] == "PassThrough"


def test_nothing_reserves_concurrency_by_default() -> None:
    root = _root()
    assert root.env["var"]["reserved_concurrency"] == {}
    for kind in ("producer", "consumer"):
        for name, module in root.env["module"][kind].items():
            del module
            body = next(b.body for b in root.body.all("module") if b.labels == [kind])
            scope = {**root.env, "each": {"key": name, "value": None}}
            assert body.attributes["reserved_concurrent_executions"].expr(scope) is None, f"{kind}-{name}"


def test_taking_over_the_active_rule_set_is_an_explicit_choice() -> None:
    variables = {b.labels[0]: b.body for b in parse((EXAMPLE / "variables.tf").read_text(encoding="utf-8")).all("variable")}
    assert "default" not in variables["activate_receipt_rule_set"].attributes, "the takeover must be chosen"
    active = _resource("modules/mail", "aws_ses_active_receipt_rule_set", "this")
    assert active.attributes["count"].source == "var.activate_rule_set ? 1 : 0"


def test_the_alarms_a_first_day_needs_exist() -> None:
    metrics = set()
    for path in INFRA.rglob("*.tf"):
        for block in parse(path.read_text(encoding="utf-8")).all("resource"):
            if block.labels[0] == "aws_cloudwatch_metric_alarm":
                metrics.add(block.body.attributes["metric_name"].source.strip('"'))
    assert {"Reputation.${each.key}", "Throttles", "ApproximateAgeOfOldestMessage", "Errors"} <= metrics, metrics
    reputation = _resource("modules/alarms", "aws_cloudwatch_metric_alarm", "ses_reputation")
    keys = reputation.attributes["for_each"].expr(
        {"var": {"bounce_rate_alarm_threshold": 0.04, "complaint_rate_alarm_threshold": 0.0008}}
    )
    assert set(keys) == {"BounceRate", "ComplaintRate"}


def test_ses_may_write_the_bucket_only_from_this_stacks_receipt_rules() -> None:
    root = _root()
    rules = root.env["module"]["mail"]["receipt_rule_arns"]
    assert len(rules) == 2 and all(":receipt-rule-set/crm:receipt-rule/crm-" in r for r in rules)
    storage = (MODULES / "storage" / "main.tf").read_text(encoding="utf-8")
    assert "receipt-rule-set/*" not in storage
    assert "values   = var.ses_receipt_rule_arns" in storage


def test_the_readme_states_quotas_and_the_one_stack_per_region_limits() -> None:
    readme = (INFRA / "README.md").read_text(encoding="utf-8")
    for words in (
        "One stack per region",
        "active",
        "MX",
        "TXT",
        "concurrency",
        "quota",
        "sandbox",
        "activate_receipt_rule_set",
        ">= 5.60, < 6.0",
    ):
        assert words in readme, f"infra/README.md does not say {words!r}"
