"""infra/ and the code agree: names, tables, GSIs, rule patterns, the Lambda environment.

``infra/topology.json`` is the bridge: ``crm.infra_export`` writes it from the code and
the HCL reads it with ``jsondecode(file(...))``. These tests check both halves: the
file is what the code would write now, and the HCL takes its values from the file
(or, for names, from variables whose defaults are the Settings defaults).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from crm import infra_export
from crm import topology as crm_topology
from crm.settings import LAMBDA_ENVIRONMENT, Settings, default, field_types
from projections import tables as code_tables

from .conftest import INFRA, blocks, dynamic, resources, tf_files, value

TF = Callable[[str], dict[str, list[Any]]]
REGENERATE = "infra/topology.json is stale: run `python -m crm.infra_export` and commit the result"


# --- the export file -----------------------------------------------------------------


def test_topology_json_is_what_the_code_writes_now() -> None:
    assert (INFRA / "topology.json").read_text(encoding="utf-8") == infra_export.render(), REGENERATE


def test_write_export_and_main(tmp_path: Path) -> None:
    written = tmp_path / "deep" / "topology.json"
    infra_export.write_export(written)
    assert written.read_text(encoding="utf-8") == infra_export.render()
    again = tmp_path / "again.json"
    infra_export.main([str(again)])
    assert again.read_text(encoding="utf-8") == written.read_text(encoding="utf-8")


def test_export_contains_the_topology_export_verbatim(topology: dict[str, Any]) -> None:
    exported = crm_topology.export()
    assert topology["consumers"] == json.loads(json.dumps(exported["consumers"]))
    assert topology["producers"] == exported["producers"]
    assert topology["lambda_environment"] == list(LAMBDA_ENVIRONMENT)


# --- tables and GSIs -------------------------------------------------------------------


def _keys(create_table: dict[str, Any]) -> tuple[str, str | None]:
    schema = {k["KeyType"]: k["AttributeName"] for k in create_table["KeySchema"]}
    return schema["HASH"], schema.get("RANGE")


def _types(create_table: dict[str, Any]) -> dict[str, str]:
    return {a["AttributeName"]: a["AttributeType"] for a in create_table["AttributeDefinitions"]}


@pytest.mark.parametrize(
    ("key", "definition", "setting"),
    [
        ("events", code_tables.events_table, "events_table"),
        ("conversations", code_tables.conversations_table, "conversations_table"),
    ],
)
def test_exported_tables_match_projections_tables(
    topology: dict[str, Any], default_settings: Settings, key: str, definition: Callable[[str], Any], setting: str
) -> None:
    name = getattr(default_settings, setting)
    code = definition(name)
    table = topology["tables"][key]
    assert table["name"] == name
    assert table["billing_mode"] == code["BillingMode"] == "PAY_PER_REQUEST"
    assert (table["hash_key"], table["range_key"]) == _keys(code)
    assert {a["name"]: a["type"] for a in table["attributes"]} == _types(code)
    code_indexes = [
        (g["IndexName"], *_keys(g), g["Projection"]["ProjectionType"]) for g in code.get("GlobalSecondaryIndexes", [])
    ]
    assert [(i["name"], i["partition"], i["sort"], i["projection"]) for i in table["indexes"]] == code_indexes


def test_the_eight_gsis(topology: dict[str, Any]) -> None:
    indexes = topology["tables"]["conversations"]["indexes"]
    expected = [(i.name, i.partition, "S", i.sort, i.sort_type) for i in code_tables.CONVERSATION_INDEXES]
    assert [(i["name"], i["partition"], i["partition_type"], i["sort"], i["sort_type"]) for i in indexes] == expected
    assert len(indexes) == 8
    assert topology["tables"]["events"]["attributes"] == [{"name": "pk", "type": "S"}, {"name": "sk", "type": "N"}]
    assert set(topology["tables"]) == {"events", "conversations"}  # a send's guard lives in the event store


def test_tables_module_takes_every_key_from_the_export(tf: TF) -> None:
    module = tf("modules/tables")
    local = {k: value(v) for k, v in blocks(module, "locals").items()}
    assert local["tables"] == "${jsondecode(file(var.topology_file)).tables}"
    tables = resources(module, "aws_dynamodb_table")
    assert set(tables) == {"events", "conversations"}
    for key, body in tables.items():
        assert local[key] == f"${{local.tables.{key}}}"
        assert value(body["billing_mode"]) == "PAY_PER_REQUEST"
        assert value(body["hash_key"]) == f"${{local.{key}.hash_key}}"
        assert value(body["range_key"]) == f"${{local.{key}.range_key}}"
        attribute = dynamic(body, "attribute")
        assert value(attribute["for_each"]) == f"${{local.{key}.attributes}}"
        assert value(value(attribute["content"])["name"]) == "${attribute.value.name}"
        assert value(value(attribute["content"])["type"]) == "${attribute.value.type}"
        assert value(value(body["point_in_time_recovery"])["enabled"]) is True
        assert value(value(body["server_side_encryption"])["enabled"]) is True
        assert value(body["deletion_protection_enabled"]) == "${var.deletion_protection}"

    gsi = dynamic(tables["conversations"], "global_secondary_index")
    assert value(gsi["for_each"]) == "${local.conversations.indexes}"
    content = value(gsi["content"])
    assert {k: value(v) for k, v in content.items() if not k.startswith("__")} == {
        "name": "${global_secondary_index.value.name}",
        "hash_key": "${global_secondary_index.value.partition}",
        "range_key": "${global_secondary_index.value.sort}",
        "projection_type": "${global_secondary_index.value.projection}",
    }


# --- names: queues, tables, bus, bucket ------------------------------------------------


def _example_defaults(tf: TF) -> dict[str, Any]:
    variables = blocks(tf("examples/complete"), "variable")
    return {name: value(body["default"]) for name, body in variables.items() if "default" in body}


def _render(template: str, **names: str) -> str:
    for name, replacement in names.items():
        template = template.replace("${" + name + "}", replacement)
    assert "${" not in template, f"cannot evaluate {template!r}"
    return template


def test_queue_names_are_the_settings_names(tf: TF, topology: dict[str, Any], default_settings: Settings) -> None:
    queue = blocks(tf("examples/complete"), "module")["queue"]
    assert value(queue["source"]) == "../../modules/queue"
    assert value(queue["for_each"]) == "${local.topology.consumers}"
    prefix = _example_defaults(tf)["queue_prefix"]
    for consumer, exported in topology["consumers"].items():
        name = _render(value(queue["name"]), **{"var.queue_prefix": prefix, "each.key": consumer})
        dlq = _render(value(queue["dlq_name"]), **{"var.queue_prefix": prefix, "each.key": consumer})
        assert name == default_settings.queue_name(consumer) == exported["queue"]
        assert dlq == default_settings.queue_name(consumer) + "-dlq" == exported["dlq"]


def test_every_consumer_of_the_code_has_a_queue(topology: dict[str, Any]) -> None:
    assert set(topology["consumers"]) == {c.name for c in crm_topology.consumers()}


def test_visibility_timeout_is_six_times_the_consumer_timeout(tf: TF) -> None:
    queue_locals = blocks(tf("modules/queue"), "locals")
    assert value(queue_locals["visibility_timeout"]) == "${6 * var.consumer_timeout_seconds}"
    queue = resources(tf("modules/queue"), "aws_sqs_queue")["this"]
    assert value(queue["visibility_timeout_seconds"]) == "${local.visibility_timeout}"
    modules = blocks(tf("examples/complete"), "module")
    # the queue and the function that drains it read the same timeout
    assert value(modules["queue"]["consumer_timeout_seconds"]) == "${each.value.timeout}"
    assert value(modules["consumer"]["timeout"]) == "${each.value.timeout}"


def test_example_defaults_are_the_settings_defaults(tf: TF) -> None:
    defaults = _example_defaults(tf)
    shared = {name for name in defaults if name in field_types() and default(name) is not None}
    must = {
        "bus_name", "events_table", "conversations_table", "bucket",
        "queue_prefix", "configuration_set", "patterns_parameter", "max_receive_count", "region",
    }  # fmt: skip
    assert must <= shared
    for name in sorted(shared):
        assert defaults[name] == default(name), f"variable {name!r}: {defaults[name]!r} != Settings default"


def test_module_calls_pass_the_named_variables(tf: TF) -> None:
    modules = blocks(tf("examples/complete"), "module")
    assert value(modules["bus"]["bus_name"]) == "${var.bus_name}"
    assert value(modules["tables"]["events_table_name"]) == "${var.events_table}"
    assert value(modules["tables"]["conversations_table_name"]) == "${var.conversations_table}"
    assert value(modules["storage"]["bucket_name"]) == "${var.bucket}"
    assert value(modules["mail"]["configuration_set_name"]) == "${var.configuration_set}"
    assert value(modules["params"]["spam_patterns_parameter_name"]) == "${var.patterns_parameter}"
    assert value(modules["params"]["token_key_parameter_name"]) == "${var.token_key_parameter}"
    for name in ("bus", "tables"):
        assert value(modules[name]["topology_file"]) == "${local.topology_file}"


# --- rule patterns ---------------------------------------------------------------------


def test_bus_rules_and_patterns_come_from_the_export(tf: TF) -> None:
    bus = tf("modules/bus")
    local = {k: value(v) for k, v in blocks(bus, "locals").items()}
    assert local["topology"] == "${jsondecode(file(var.topology_file))}"
    assert "in local.topology.consumers" in local["rules"]
    assert "rule.pattern" in local["rules"]
    assert "rule.input_template" in local["rules"]

    rule = resources(bus, "aws_cloudwatch_event_rule")["this"]
    assert value(rule["for_each"]) == "${local.rules}"
    assert value(rule["name"]) == "${each.key}"
    assert value(rule["event_pattern"]) == "${each.value.pattern}"

    target = resources(bus, "aws_cloudwatch_event_target")["this"]
    assert value(target["for_each"]) == "${local.rules}"
    assert value(target["arn"]) == "${var.queue_arns[each.value.consumer]}"
    transformer = dynamic(target, "input_transformer")
    assert "each.value.input_template" in value(transformer["for_each"])
    content = value(transformer["content"])
    assert value(content["input_template"]) == "${input_transformer.value}"
    assert value(content["input_paths"]) == {}
    assert "dead_letter_config" in target
    assert "retry_policy" in target


def test_no_pattern_is_retyped_in_hcl(topology: dict[str, Any]) -> None:
    """Only two rules exist in HCL: the bus module's (pattern from the export) and the
    example's default-bus producer triggers (the SES feedback pattern of AWS's own
    events, plus a schedule). No event type of ours is spelled in any .tf file."""
    event_types: set[str] = set()
    for consumer in topology["consumers"].values():
        for rule in consumer["rules"].values():
            event_types.update(json.loads(rule["pattern"]).get("detail-type", []))
    assert event_types
    rules: list[str] = []
    for path in tf_files():
        text = path.read_text(encoding="utf-8")
        assert "detail-type" not in text, f"{path}: a pattern is retyped; take it from topology.json"
        for event_type in event_types:
            assert f'"{event_type}"' not in text, f"{path}: {event_type} is retyped; take it from topology.json"
        for entry in resources(_tf_file(path), "aws_cloudwatch_event_rule"):
            rules.append(f"{path.relative_to(INFRA).parent}:{entry}")
    assert sorted(rules) == ["examples/complete:producer", "modules/bus:this"]


def _tf_file(path: Path) -> dict[str, list[Any]]:
    from .conftest import merged

    return merged(path)


def test_example_rules_use_the_bus_module_and_queue_arns_by_consumer(tf: TF) -> None:
    bus = blocks(tf("examples/complete"), "module")["bus"]
    assert value(bus["source"]) == "../../modules/bus"
    assert "".join(value(bus["queue_arns"]).split()) == "${{forname,qinmodule.queue:name=>q.arn}}"


# --- Lambda functions and their environment ----------------------------------------------


def test_every_lambda_environment_name_is_set(tf: TF) -> None:
    example = tf("examples/complete")
    environment = value(blocks(example, "locals")["lambda_environment"])
    missing = [name for name in LAMBDA_ENVIRONMENT if name not in environment]
    assert not missing, f"the example's functions lack {missing}"
    modules = blocks(example, "module")
    for name in ("producer", "consumer"):
        assert value(modules[name]["environment"]) == "${local.lambda_environment}"
    function_env = value(blocks(tf("modules/function"), "locals")["environment"])
    assert function_env.startswith("${merge(var.environment")
    assert "POWERTOOLS_SERVICE_NAME" in function_env
    assert "POWERTOOLS_METRICS_NAMESPACE" in function_env


def test_one_function_per_producer_and_consumer_with_its_grants(tf: TF, topology: dict[str, Any]) -> None:
    example = tf("examples/complete")
    modules = blocks(example, "module")
    assert value(modules["consumer"]["for_each"]) == "${local.topology.consumers}"
    assert value(modules["consumer"]["handler"]) == "${each.value.handler}"
    assert value(modules["producer"]["for_each"]) == "${local.topology.producers}"
    assert value(modules["producer"]["handler"]) == "${each.value}"
    assert "sqs_event_source" in modules["consumer"]
    assert "sqs_event_source" not in modules["producer"]
    local = blocks(example, "locals")
    assert set(value(local["consumer_access"])) == set(topology["consumers"])
    assert set(value(local["producer_access"])) == set(topology["producers"])
    grants = set(value(local["table_grants"]))
    for access in (*value(local["consumer_access"]).values(), *value(local["producer_access"]).values()):
        assert set(access["tables"]) <= grants


def test_function_policy_has_no_star_resource_but_where_aws_requires_it(tf: TF) -> None:
    policy = [d for entry in tf("modules/function")["data"] for d in entry.get("aws_iam_policy_document", {}).items()]
    document = next(body for name, body in policy if name == "this")
    static = document["statement"]
    assert not [value(s["sid"]) for s in static if "*" in value(s.get("resources", []))]
    # the rendered policies are checked whole in test_iam.py (only X-Ray has "*", only when Active)


def test_event_source_mapping_reports_partial_batch_failures(tf: TF) -> None:
    mapping = resources(tf("modules/function"), "aws_lambda_event_source_mapping")["sqs"]
    assert value(mapping["function_response_types"]) == "ReportBatchItemFailures" or value(
        mapping["function_response_types"]
    ) == ["ReportBatchItemFailures"]


# --- mail ---------------------------------------------------------------------------------


def test_mail_module_receipt_rules_and_mail_from(tf: TF) -> None:
    mail = tf("modules/mail")
    mail_from = resources(mail, "aws_sesv2_email_identity_mail_from_attributes")["domain"]
    assert value(mail_from["behavior_on_mx_failure"]) == "REJECT_MESSAGE"
    rules = resources(mail, "aws_ses_receipt_rule")
    assert set(rules) == {"public", "reply"}
    for body in rules.values():
        assert value(body["scan_enabled"]) is True
        assert value(body["tls_policy"]) == "Require"
        assert value(value(body["s3_action"])["position"]) == 1
        assert value(value(body["lambda_action"])["position"]) == 2
        assert value(value(body["lambda_action"])["invocation_type"]) == "Event"
    assert value(blocks(mail, "variable")["inbox_prefix"]["default"]) == "inbox/"


# --- what the CLI reads -------------------------------------------------------------------


def test_outputs_for_the_cli_are_named_like_settings(tf: TF) -> None:
    outputs = blocks(tf("examples/complete"), "output")
    for name in ("bus_name", "events_table", "conversations_table", "bucket",
                 "queue_prefix", "configuration_set", "patterns_parameter", "token_key_parameter",
                 "queue_urls", "dlq_urls", "region"):  # fmt: skip
        assert name in outputs, f"output {name!r} is missing"
    settings = value(outputs["settings"]["value"])
    assert set(settings) <= set(field_types())
    assert {n.removeprefix("CRM_").lower() for n in LAMBDA_ENVIRONMENT} <= set(settings)


def test_mail_limit_defaults_in_infra_are_the_code_defaults(tf: TF) -> None:
    """The example's ``mail_limits`` variable declares each limit with the default of
    ``mail.limits.MailLimits``, and sets each ``CRM_MAIL_MAX_*`` from it."""
    import dataclasses
    import re

    from mail.limits import DEFAULT_LIMITS

    variable = blocks(tf("examples/complete"), "variable")["mail_limits"]
    declared = {k: int(v) for k, v in re.findall(r"'(\w+)': '\$\{optional\(number,(\d+)\)\}'", str(variable["type"]))}
    assert declared == dataclasses.asdict(DEFAULT_LIMITS)
    environment = str(value(blocks(tf("examples/complete"), "locals")["lambda_environment"]))
    for name in declared:
        assert f"CRM_MAIL_MAX_{name.upper()}" in LAMBDA_ENVIRONMENT
        assert f"var.mail_limits.{name}" in environment
