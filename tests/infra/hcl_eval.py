"""A small HCL evaluator: enough of OpenTofu's language to render ``infra/`` as a plan would.

It parses the HCL syntax itself (``hcl_syntax``; bodies, blocks, attributes, expressions with
templates, for-expressions, conditionals, operators, function calls, ``...``
expansion) and evaluates a module lazily: variables (inputs, then defaults),
locals, resources and data sources with ``count`` / ``for_each``, child modules,
outputs. Values known only after apply are synthesised the way AWS forms them:
a resource's ``arn`` from its name (see ``ARNS``), ``id`` = name.
``aws_iam_policy_document`` renders its (dynamic) statements to the JSON AWS
receives, which is what the IAM test evaluates.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .hcl_syntax import Attribute, Body, parse
from .hcl_values import Env, HclError, Lazy, Thunk

__all__ = ["ACCOUNT", "PARTITION", "REGION", "Body", "HclError", "Module", "parse", "render_example"]

REGION = "us-east-1"
ACCOUNT = "123456789012"
PARTITION = "aws"


# --- modules --------------------------------------------------------------------------------

# resource type -> (ARN template, attribute holding the name); {r} region, {a} account
ARNS: dict[str, tuple[str, str]] = {
    "aws_dynamodb_table": ("arn:aws:dynamodb:{r}:{a}:table/{n}", "name"),
    "aws_sqs_queue": ("arn:aws:sqs:{r}:{a}:{n}", "name"),
    "aws_ssm_parameter": ("arn:aws:ssm:{r}:{a}:parameter{n}", "name"),
    "aws_s3_bucket": ("arn:aws:s3:::{n}", "bucket"),
    "aws_cloudwatch_event_bus": ("arn:aws:events:{r}:{a}:event-bus/{n}", "name"),
    "aws_cloudwatch_event_rule": ("arn:aws:events:{r}:{a}:rule/{n}", "name"),
    "aws_cloudwatch_event_archive": ("arn:aws:events:{r}:{a}:archive/{n}", "name"),
    "aws_sesv2_email_identity": ("arn:aws:ses:{r}:{a}:identity/{n}", "email_identity"),
    "aws_sesv2_configuration_set": ("arn:aws:ses:{r}:{a}:configuration-set/{n}", "configuration_set_name"),
    "aws_cloudwatch_log_group": ("arn:aws:logs:{r}:{a}:log-group:{n}", "name"),
    "aws_sns_topic": ("arn:aws:sns:{r}:{a}:{n}", "name"),
    "aws_lambda_function": ("arn:aws:lambda:{r}:{a}:function:{n}", "function_name"),
    "aws_iam_role": ("arn:aws:iam::{a}:role/{n}", "name"),
    "aws_kms_key": ("arn:aws:kms:{r}:{a}:key/00000000-0000-4000-8000-000000000000", "description"),
}


def _queue_url(name: str) -> str:
    return f"https://sqs.{REGION}.amazonaws.com/{ACCOUNT}/{name}"


def _statements(body: Body, env: Env) -> list[dict[str, Any]]:
    """Statements of an aws_iam_policy_document (static and dynamic), as AWS receives them."""
    out = []
    for kind, scope, block in _expand_blocks(body, "statement", env):
        del kind
        statement: dict[str, Any] = {}
        attrs = block.attributes
        if "sid" in attrs:
            statement["Sid"] = attrs["sid"].expr(scope)
        statement["Effect"] = attrs["effect"].expr(scope) if "effect" in attrs else "Allow"
        if "actions" in attrs:
            statement["Action"] = sorted(attrs["actions"].expr(scope))
        if "resources" in attrs:
            statement["Resource"] = sorted(attrs["resources"].expr(scope))
        conditions: dict[str, dict[str, list[str]]] = {}
        for _k, cscope, condition in _expand_blocks(block, "condition", scope):
            test = condition.attributes["test"].expr(cscope)
            variable = condition.attributes["variable"].expr(cscope)
            conditions.setdefault(test, {})[variable] = list(condition.attributes["values"].expr(cscope))
        if conditions:
            statement["Condition"] = conditions
        for principal in block.all("principals"):
            statement.setdefault("Principal", {})[principal.body.attributes["type"].expr(scope)] = principal.body.attributes[
                "identifiers"
            ].expr(scope)
        out.append(statement)
    return out


def _expand_blocks(body: Body, kind: str, env: Env) -> list[tuple[str, Env, Body]]:
    found: list[tuple[str, Env, Body]] = [(kind, env, b.body) for b in body.all(kind)]
    for dynamic in body.all("dynamic"):
        if dynamic.labels != [kind]:
            continue
        iterator = dynamic.body.attributes.get("iterator")
        name = kind if iterator is None else iterator.source
        collection = dynamic.body.attributes["for_each"].expr(env)
        pairs = collection.items() if isinstance(collection, dict) else enumerate(collection)
        content = dynamic.body.all("content")[0].body
        for k, v in pairs:
            found.append((kind, {**env, name: {"key": k, "value": v}}, content))
    return found


class Module:
    def __init__(self, directory: Path, inputs: dict[str, Any], overrides: dict[str, str] | None = None) -> None:
        """``overrides``: file name -> text to use instead of the file (mutation tests)."""
        self.directory = directory
        self.inputs = inputs
        text = {p.name: p.read_text(encoding="utf-8") for p in sorted(directory.glob("*.tf"))}
        for key, replacement in (overrides or {}).items():
            folder, _, file = key.partition("/")
            if folder == directory.name:
                text[file] = replacement
        self.body = Body()
        for name in sorted(text):
            try:
                parsed = parse(text[name])
            except HclError as exc:
                raise HclError(f"{directory / name}: {exc}") from None
            self.body.attributes.update(parsed.attributes)
            self.body.blocks.extend(parsed.blocks)
        self.overrides = overrides or {}
        self.variables = {b.labels[0]: b.body for b in self.body.all("variable")}
        self.locals: dict[str, Attribute] = {}
        for block in self.body.all("locals"):
            self.locals.update(block.body.attributes)
        self.resources = {(b.labels[0], b.labels[1]): b.body for b in self.body.all("resource")}
        self.data = {(b.labels[0], b.labels[1]): b.body for b in self.body.all("data")}
        self.modules = {b.labels[0]: b.body for b in self.body.all("module")}
        self.outputs = {b.labels[0]: b.body for b in self.body.all("output")}
        self.env: Env = {
            "var": Lazy(self._var),
            "local": Lazy(self._local),
            "module": Lazy(self._module),
            "data": Lazy(lambda t: Lazy(lambda n: self._data(t, n))),
            "path": {"module": str(directory), "root": str(directory)},
        }
        for rtype in {t for t, _ in self.resources}:
            self.env[rtype] = Lazy(lambda n, t=rtype: self._resource(t, n))

    def _var(self, name: str) -> Any:
        if name in self.inputs:
            given = self.inputs[name]
            return given() if isinstance(given, Thunk) else given
        if name not in self.variables:
            raise HclError(f"{self.directory}: no variable {name!r}")
        default = self.variables[name].attributes.get("default")
        if default is None:
            raise HclError(f"{self.directory}: variable {name!r} has no value")
        return default.expr({})

    def _local(self, name: str) -> Any:
        return self.locals[name].expr(self.env)

    def _instances(self, body: Body) -> dict[str, Env] | None:
        """None: a single instance; else key -> scope with each/count."""
        if "for_each" in body.attributes:
            collection = body.attributes["for_each"].expr(self.env)
            if isinstance(collection, list):
                collection = {str(v): v for v in collection}
            return {str(k): {**self.env, "each": {"key": k, "value": v}} for k, v in dict(collection.items()).items()}
        if "count" in body.attributes:
            n = int(body.attributes["count"].expr(self.env))
            return {str(i): {**self.env, "count": {"index": i}} for i in range(n)}
        return None

    def _resource(self, rtype: str, name: str) -> Any:
        body = self.resources[(rtype, name)]
        instances = self._instances(body)
        if instances is None:
            return self._resource_instance(rtype, body, self.env)
        built = {k: self._resource_instance(rtype, body, scope) for k, scope in instances.items()}
        return built if "for_each" in body.attributes else [built[str(i)] for i in range(len(built))]

    def _resource_instance(self, rtype: str, body: Body, scope: Env) -> Lazy:
        def attribute(attr: str) -> Any:
            arn = ARNS.get(rtype)
            if attr in body.attributes:
                return body.attributes[attr].expr(scope)
            if attr == "arn" and arn:
                return arn[0].format(r=REGION, a=ACCOUNT, n=body.attributes[arn[1]].expr(scope))
            if attr in ("id", "name", "url") and arn and arn[1] in body.attributes:
                value = body.attributes[arn[1]].expr(scope)
                return _queue_url(value) if rtype == "aws_sqs_queue" and attr in ("id", "url") else value
            if attr == "key_id":
                return "00000000-0000-4000-8000-000000000000"
            raise HclError(f"{rtype}: attribute {attr!r} is known only after apply")

        return Lazy(attribute)

    def _data(self, dtype: str, name: str) -> Any:
        if dtype == "aws_region":
            return {"name": REGION, "region": REGION, "id": REGION}
        if dtype == "aws_caller_identity":
            return {"account_id": ACCOUNT}
        if dtype == "aws_partition":
            return {"partition": PARTITION, "dns_suffix": "amazonaws.com"}
        if dtype == "aws_iam_policy_document":
            body = self.data[(dtype, name)]
            document = {"Version": "2012-10-17", "Statement": _statements(body, self.env)}
            return {"json": json.dumps(document), "document": document}
        raise HclError(f"data source {dtype} is not supported")

    def _module(self, name: str) -> Any:
        body = self.modules[name]
        source = (self.directory / body.attributes["source"].expr({})).resolve()
        instances = self._instances(body)

        def build(scope: Env, key: str) -> Lazy:
            # inputs are evaluated when the child reads them: modules refer to each
            # other's outputs both ways (mail <-> producer), as OpenTofu's graph allows
            inputs = {
                k: Thunk(v.expr, scope)
                for k, v in body.attributes.items()
                if k not in ("source", "for_each", "count", "depends_on", "providers", "version")
            }
            del key
            return Lazy(Module(source, inputs, self.overrides).output)

        if instances is None:
            return build(self.env, "")
        return {k: build(scope, k) for k, scope in instances.items()}

    def output(self, name: str) -> Any:
        return self.outputs[name].attributes["value"].expr(self.env)


def render_example(example: Path, tfvars: dict[str, Any], overrides: dict[str, str] | None = None) -> Module:
    """The root module ``example`` with ``tfvars``; ``overrides``: "<module dir name>/<file>" -> text."""
    return Module(example, tfvars, overrides)
