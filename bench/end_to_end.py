"""AWS API calls and list-price cost per accepted mail, from an end-to-end local run.

The example mails (delivered as ``crm demo`` does: 05 to an unknown address of the
domain, 07 as the owner's reply to the thread address of 01's forwarded copy)
then generated ham, one at a time through ``crm.flows.ingest_one`` on the
in-process moto stack (the aws adapters, as a Lambda runs them), which runs the producer and drains every queue into its
consumer. Every call of every handler is counted (``bench.calls``) and attributed
to the mail being ingested.

What the local stack does not do through the API, but AWS bills, is modelled:
SES inbound (per mail and per 256 KB chunk), SES's S3 action writing the raw mail,
EventBridge's ``SendMessage`` into each target queue, and the Lambda event source
mapping's ``ReceiveMessage`` + ``DeleteMessageBatch`` per batch. The runner's own
polling (empty receives, queue depth checks) is listed as harness calls and not
priced: its AWS counterpart is the event source mapping's constant long polling,
which does not grow with mail. Lambda GB-seconds use the wall time each handler
took here (on moto, in process) and the memory ``infra/`` gives each function:
an estimate, since network latency to real services is not in it.
"""

from __future__ import annotations

import math
import tempfile
from pathlib import Path
from typing import Any

from bench import prices
from bench.calls import HARNESS, ApiCounter, Tally, merge, table_shapes
from bench.corpus import ROOT, Sample, generate

# units counted -> price key (bench.prices)
UNIT_PRICES = {
    "ses_inbound_mail": "ses_inbound_mail",
    "ses_inbound_chunk": "ses_inbound_chunk",
    "ses_outbound_mail": "ses_outbound_mail",
    "ses_outbound_data_gb": "ses_outbound_data",
    "eventbridge_put": "eventbridge_put",
    "eventbridge_archive_gb": "eventbridge_archive",
    "sqs_request": "sqs_request",
    "dynamodb_wru": "dynamodb_wru",
    "dynamodb_rru": "dynamodb_rru",
    "s3_put": "s3_put",
    "s3_get": "s3_get",
    "lambda_request": "lambda_request",
    "lambda_gb_second_arm64": "lambda_gb_second_arm64",
    "ssm_standard": "ssm_standard",
}
CHUNK_256K = 256 * 1024


def cost_of(units: dict[str, float]) -> dict[str, float]:
    """Dollars per price line for the given units."""
    return {key: units.get(unit, 0.0) * prices.per_unit(key) for unit, key in UNIT_PRICES.items()}


def _memory(function: str) -> int:
    return prices.LAMBDA_MEMORY_MB.get(function, prices.LAMBDA_DEFAULT_MEMORY_MB)


def _example_deliveries(settings: Any) -> list[tuple[Sample, list[str] | None]]:
    """Example mails with their recipients; ``None`` marks the owner's reply (resolved after 01)."""
    from crm.demo import OWNER_REPLY, UNKNOWN_RECIPIENT

    deliveries: list[tuple[Sample, list[str] | None]] = []
    for path in sorted((ROOT / "examples" / "mail").glob("*.eml")):
        sample = Sample(path.relative_to(ROOT).as_posix(), path.read_bytes(), "file")
        if path.name == UNKNOWN_RECIPIENT:
            deliveries.append((sample, [f"sales@{settings.domain}"]))
        elif path.name == OWNER_REPLY:
            deliveries.append((sample, None))
        else:
            deliveries.append((sample, [settings.public_address]))
    return deliveries


def _owner_reply(settings: Any, svc: Any, sample: Sample) -> tuple[Sample, list[str]]:
    from crm.demo import _forward_of

    thread, forward_id = _forward_of(svc, "Staff Platform Engineer")
    raw = sample.raw.replace(b"THREAD_ADDRESS", thread.encode()).replace(b"FORWARD_MESSAGE_ID", forward_id.encode())
    raw = raw.replace(b"owner@private.example.net", settings.private_mailbox.encode())
    return Sample(sample.name, raw, sample.kind), [thread]


def _per_mail(tallies: list[Tally]) -> dict[str, Any]:
    """Average calls, units and dollars per mail over ``tallies``."""
    n = len(tallies)
    if not n:
        return {"mails": 0}
    merged = merge(tallies)
    project: dict[str, dict[str, float]] = {}
    modelled: dict[str, dict[str, float]] = {}
    harness: dict[str, dict[str, float]] = {}
    for function, by_service in merged["calls"].items():
        for service, operations in by_service.items():
            for operation, count in operations.items():
                target = harness if function == HARNESS else modelled if "(modelled)" in function else project
                target.setdefault(service, {})
                target[service][operation] = target[service].get(operation, 0.0) + count / n
    by_function: dict[str, dict[str, Any]] = {}
    for function, by_service in merged["calls"].items():
        if function != HARNESS and "(modelled)" not in function:
            by_function[function] = {
                "calls_per_mail": sum(sum(o.values()) for o in by_service.values()) / n,
                "calls": {f"{sv}.{op}": c / n for sv, ops in by_service.items() for op, c in sorted(ops.items())},
                "invocations_per_mail": merged["invocations"].get(function, 0) / n,
                "lambda_ms_per_mail": merged["lambda_ms"].get(function, 0) / n,
                "wru_per_mail": {t: u / n for t, u in sorted(merged["write_units"].get(function, {}).items())},
            }
    for function, count in merged["invocations"].items():
        by_function.setdefault(
            function,
            {
                "calls_per_mail": 0.0,
                "invocations_per_mail": count / n,
                "lambda_ms_per_mail": merged["lambda_ms"].get(function, 0) / n,
            },
        )
    units = {k: v / n for k, v in merged["units"].items()}
    dollars = cost_of(units)
    return {
        "mails": n,
        "project_calls": project,
        "project_calls_total": sum(sum(o.values()) for o in project.values()),
        "modelled_calls": modelled,
        "harness_calls": harness,
        "by_function": by_function,
        "units": units,
        "usd_per_1000_mails": {k: v * 1000 for k, v in dollars.items()},
        "usd_per_1000_mails_total": sum(dollars.values()) * 1000,
        # SES's own fees are this design's floor; everything else is the share our code decides
        "usd_per_1000_mails_ses": sum(v for k, v in dollars.items() if k.startswith("ses_")) * 1000,
        "usd_per_1000_mails_ours": sum(v for k, v in dollars.items() if not k.startswith("ses_")) * 1000,
        "unpriced_calls": {k: v / n for k, v in merged["unpriced"].items()},
        "failed_calls": {f: {k: v / n for k, v in by.items()} for f, by in merged["failed"].items() if f != HARNESS},
    }


def run(ham: int, *, seed: int = 20261123) -> dict[str, Any]:
    import adapters.rule_routing
    import crm.lambda_runtime
    import crm.runner
    from crm.flows import ingest_one
    from crm.ingest import Delivery
    from crm.moto_stack import moto_stack
    from crm.settings import load_settings

    settings = load_settings()
    tallies: list[Tally] = []
    errors: list[dict[str, str]] = []
    # the aws adapters on an in-process moto: what the Lambdas call is what AWS bills
    with (
        tempfile.TemporaryDirectory(prefix="crm-bench-") as folder,
        moto_stack(settings, Path(folder) / "state", fresh=True, persist=False) as stack,
    ):
        svc, s = stack.svc, stack.settings
        import producers.inbound
        import producers.reply
        from bootstrap import topology

        counter = ApiCounter(table_shapes(s.region), memory_mb=_memory)
        for consumer in topology(s):  # import every handler now: the run measures warm containers
            crm.lambda_runtime.load_invoke(consumer.handler)
        real_load = crm.lambda_runtime.load_invoke  # what crm.runner imported, patched there below
        real_inbound, real_reply = producers.inbound.invoke, producers.reply.invoke

        def load(path: str) -> Any:
            invoke = real_load(path)
            module = path.rpartition(".")[0]
            return lambda svc_, event, context: counter.invoke(module, lambda e, c: invoke(svc_, e, c), event, context)

        def wrap(name: str, invoke: Any) -> Any:
            return lambda svc_, event, context: counter.invoke(name, lambda e, c: invoke(svc_, e, c), event, context)

        real_route = adapters.rule_routing.route

        def route(*args: Any, **kwargs: Any) -> int:
            # on AWS, EventBridge's rules put these into the hooks queue, not our code;
            # their SendMessage is priced where the queue is received (bench.calls._harness)
            with counter.outside_handlers():
                return real_route(*args, **kwargs)

        setattr(adapters.rule_routing, "route", route)  # noqa: B010 - RuleRoutingBus looks it up at call time
        setattr(crm.runner, "load_invoke", load)  # noqa: B010 - the runner looks it up at call time
        setattr(producers.inbound, "invoke", wrap("producers.inbound", real_inbound))  # noqa: B010 - deliver does too
        setattr(producers.reply, "invoke", wrap("producers.reply", real_reply))  # noqa: B010
        try:
            plan: list[tuple[Sample, list[str] | None]] = _example_deliveries(s)
            plan += [(sample, [s.public_address]) for sample in generate(ham, seed=seed, recipient=s.public_address)]
            with counter.installed():
                for sample, recipients in plan:
                    if recipients is None:
                        try:
                            sample, recipients = _owner_reply(s, svc, sample)
                        except LookupError as exc:
                            errors.append({"mail": sample.name, "error": f"owner reply skipped: {exc}"})
                            continue
                    tally = Tally(sample.name, size=len(sample.raw))
                    tally.units["ses_inbound_mail"] += 1
                    tally.units["ses_inbound_chunk"] += max(1, math.ceil(len(sample.raw) / CHUNK_256K))
                    with counter.measuring(tally):
                        result = ingest_one(svc, Delivery(sample.name, sample.raw), recipients)
                    tally.outcome = str(result["outcome"])
                    if tally.outcome == "error":
                        errors.append({"mail": sample.name, "error": str(result.get("reason"))})
                    tallies.append(tally)
        finally:
            setattr(crm.runner, "load_invoke", real_load)  # noqa: B010
            setattr(adapters.rule_routing, "route", real_route)  # noqa: B010
            setattr(producers.inbound, "invoke", real_inbound)  # noqa: B010
            setattr(producers.reply, "invoke", real_reply)  # noqa: B010
        dlq_depth = _dlq_depth(svc)
    accepted = [t for t in tallies if t.outcome == "accepted"]
    rejected = [t for t in tallies if t.outcome == "rejected"]
    generated = [t for t in tallies if t.name.startswith("generated/")]
    return {
        "mails": len(tallies),
        "examples": len(tallies) - len(generated),
        "generated_ham": len(generated),
        "generated_ham_accepted": sum(t.outcome == "accepted" for t in generated),
        "outcomes": {o: sum(t.outcome == o for t in tallies) for o in sorted({t.outcome for t in tallies})},
        "errors": errors,
        "messages_left_in_dlqs": dlq_depth,
        "accepted": _per_mail(accepted),
        "rejected": _per_mail(rejected),
        "per_mail": [
            {
                "mail": t.name,
                "bytes": t.size,
                "outcome": t.outcome,
                "project_calls": sum(n for (f, _s, _o), n in t.calls.items() if f != HARNESS and "(modelled)" not in f),
                "usd": sum(cost_of(dict(t.units)).values()),
            }
            for t in tallies
        ],
    }


def _dlq_depth(svc: Any) -> dict[str, int]:
    from bootstrap import topology

    settings, queues = svc.settings, svc.queues
    depths = {}
    for consumer in topology(settings):
        name = settings.queue_name(consumer.name) + "-dlq"
        try:
            depths[name] = sum(queues.depth(name))
        except Exception:
            continue
    return {k: v for k, v in depths.items() if v}
