"""The composition root: the one place adapters are built.

``bootstrap(settings, backend=...)`` wires every port for one backend:

- ``"aws"``: boto3 against AWS (a deployed Lambda or ``crm --stack aws``) or against an
  in-process moto (``crm --stack moto``, the aws adapters' tests);
- ``"local"``: the embedded engine, one SQLite file plus ``mail/`` and ``outbox/`` in
  the state folder, with the bus matching every consumer's EventBridge pattern itself.

A Lambda builds its services once per container (:func:`for_lambda`); the CLI and the
tests call :func:`bootstrap` with their settings. Adapters are imported inside the
builders, so a handler's cold start loads only the backend it runs on.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from ports import QueueSpec, Services

if TYPE_CHECKING:
    from consumers.declaration import Consumer, Pattern
    from consumers.rules.registry import Registry
    from crm.settings import Settings

Backend = Literal["aws", "local"]
DATABASE = "crm.sqlite3"


def bootstrap(settings: Settings, *, backend: Backend = "aws", state: Path | None = None) -> Services:
    """Every port wired for ``backend``. ``state``: the local state folder (required for
    ``local``; with ``aws`` on moto, the folder whose ``outbox/`` keeps a copy of each mail)."""
    if backend == "local":
        if state is None:
            raise ValueError("the local backend needs a state folder")
        return _local(settings, state)
    if backend == "aws":
        return _aws(settings, state)
    raise ValueError(f"unknown backend {backend!r} (aws or local)")


@cache
def for_lambda() -> Services:
    """The container's services, built on the first invocation from the environment."""
    from crm.settings import load_settings

    return bootstrap(load_settings(), backend="aws")


def lambda_handler(
    invoke: Callable[[Services, dict[str, Any], Any], dict[str, Any]], logger: Any, metrics: Any
) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """The Lambda entry point of a handler module: its ``invoke(svc, event, context)``
    with the container's services, logging context and metrics flushed per invocation."""

    @metrics.log_metrics  # type: ignore[untyped-decorator]
    @logger.inject_lambda_context  # type: ignore[untyped-decorator]
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        return invoke(for_lambda(), event, context)

    entry: Callable[[dict[str, Any], Any], dict[str, Any]] = handler
    return entry


# --- the topology both backends need ----------------------------------------------------


# the modules of the built-in hook rules, written the way a user writes one
BUILTIN_RULE_MODULES = (
    "consumers.rules.lead_scoring",
    "consumers.rules.followups",
    "consumers.rules.reply_notices",
    "consumers.rules.reply_commands",
)


def rules(rules_module: str | None = None) -> Registry:
    """The hook rules: the built-in ones, plus the user's (``Settings.rules_module``),
    collected into a new registry (no registry lives in a module)."""
    from consumers.rules.registry import build_registry

    return build_registry(BUILTIN_RULE_MODULES, rules_module)


def rule_patterns(rules_module: str | None = None) -> dict[str, Pattern]:
    """Each hook rule's EventBridge pattern, by rule name: what the rules consumer's
    EventBridge rules (and the in-process matching) are made of."""
    return rules(rules_module).patterns()


def topology(settings: Settings) -> list[Consumer[Any]]:
    """Every queue-fed consumer, the rules consumer fed by ``settings``' hook rules."""
    from crm.topology import consumers

    return consumers(rule_patterns(settings.rules_module))


def queue_specs(settings: Settings, consumers: list[Consumer[Any]]) -> list[QueueSpec]:
    specs = []
    for consumer in consumers:
        name = settings.queue_name(consumer.name)
        specs.append(QueueSpec(f"{name}-dlq", None))
        specs.append(QueueSpec(name, f"{name}-dlq", settings.max_receive_count, consumer.timeout_seconds))
    return specs


def _routes(settings: Settings) -> Callable[[], list[Any]]:
    from adapters.local_bus import Route

    def routes() -> list[Route]:
        found = []
        for consumer in topology(settings):
            for rule_name, pattern in consumer.patterns.items():
                found.append(Route(settings.queue_name(consumer.name), pattern, consumer.rule_of(rule_name)))
        return found

    return cache(routes)


def _indexes() -> list[tuple[str, str, str]]:
    from projections.tables import CONVERSATION_INDEXES

    return [(i.name, i.partition, i.sort) for i in CONVERSATION_INDEXES]


def outside_events(settings: Settings) -> Any:
    """On moto with an AWS endpoint (``crm serve --aws-port``): events other programs put on
    the bus reach the hook rules too (:class:`adapters.rule_routing.OutsideEvents`)."""
    from adapters.rule_routing import OutsideEvents
    from consumers.hooks import CONSUMER as RULES

    return OutsideEvents(
        settings.bus_name,
        settings.region,
        settings.endpoint_url,
        queue=settings.queue_name("rules-outside"),
        rules_queue=settings.queue_name(RULES.name),
        patterns=lambda: rule_patterns(settings.rules_module),
    )


# --- the backends -----------------------------------------------------------------------


def _setup_fingerprint(settings: Settings) -> str:
    """What the local queues and seed depend on: the settings that name and size them and
    the code that lists the consumers (its bytes, read without importing the rules)."""
    import hashlib
    from importlib.util import find_spec

    spec = find_spec("crm.topology")
    code = Path(spec.origin).read_bytes() if spec is not None and spec.origin else b""
    parts = [
        settings.queue_name("-"),
        str(settings.max_receive_count),
        str(settings.rules_module),
        settings.patterns_parameter,
        hashlib.sha256(code).hexdigest(),
    ]
    return "|".join(parts)


def _local(settings: Settings, state: Path) -> Services:
    from adapters.local_blobs import FileBlobs
    from adapters.local_bus import LocalBus
    from adapters.local_engine import LocalEngine, is_busy, is_engine_error
    from adapters.local_mailer import LocalOutbox
    from adapters.local_parameters import LocalParameters
    from adapters.local_projection import LocalProjections
    from adapters.local_queues import LocalQueues
    from adapters.local_store import LocalEventStore
    from adapters.recorder import Recorder
    from ports import ParameterNotFound

    state.mkdir(parents=True, exist_ok=True)
    engine = LocalEngine(state / DATABASE)
    store = LocalEventStore(engine)
    queues = LocalQueues(engine, settings.region)
    bus = LocalBus(engine, queues, _routes(settings), settings.region)
    outbox = LocalOutbox(engine, state / "outbox")
    parameters = LocalParameters(engine)
    # queues and the seeded parameter are made when the file is new or the topology changed,
    # not on every command: a read command would otherwise pay the rules import and a write
    fingerprint = _setup_fingerprint(settings)
    if engine.setup_mark("topology") != fingerprint:
        queues.ensure(queue_specs(settings, topology(settings)))
        try:
            parameters.get(settings.patterns_parameter, ttl_seconds=0)
        except ParameterNotFound:
            from producers.spam_config import default_document

            # seeded once: a list an owner edited or imported is never reset
            parameters.put(settings.patterns_parameter, default_document())
        engine.mark_setup("topology", fingerprint)
    return Services(
        settings=settings,
        backend="local",
        in_process=True,
        store=store,
        bus=bus,
        # the decision's events and their deliveries commit together: a kill between loses nothing
        recorder=Recorder(store, bus, atomic=engine.write),
        queues=queues,
        blobs=FileBlobs(state / "mail"),
        mailer=outbox,
        outbox=outbox,
        parameters=parameters,
        projections=LocalProjections(engine, _indexes()),
        # a busy or failing engine (or disk) is the infrastructure's fault, never the mail's
        is_transient=is_busy,
        is_infrastructure_error=is_engine_error,
        close=engine.close,
    )


def _aws(settings: Settings, state: Path | None) -> Services:
    from adapters.aws import is_service_error, is_transient
    from adapters.blobs import BlobStore
    from adapters.bus import EventBus
    from adapters.event_store import EventStore
    from adapters.mailer import OutboxMailer, SesMailer
    from adapters.parameters import ParameterStore
    from adapters.projection_store import AwsProjections
    from adapters.queues import Queues
    from adapters.recorder import Recorder

    where = (settings.region, settings.endpoint_url)
    store = EventStore(settings.events_table, *where)
    bus: Any
    if settings.rule_matching == "in-process":
        from adapters.rule_routing import RuleRoutingBus
        from consumers.hooks import CONSUMER as RULES

        rules_module = settings.rules_module
        bus = RuleRoutingBus(
            settings.bus_name, *where, rules_queue=settings.queue_name(RULES.name), patterns=lambda: rule_patterns(rules_module)
        )
    else:
        bus = EventBus(settings.bus_name, *where)
    mailer: Any = SesMailer(*where, configuration_set=settings.configuration_set)
    outbox = None
    if state is not None:
        mailer = outbox = OutboxMailer(mailer, state / "outbox")
    return Services(
        settings=settings,
        backend="aws",
        store=store,
        bus=bus,
        recorder=Recorder(store, bus),
        queues=Queues(*where),
        blobs=BlobStore(settings.bucket, *where),
        mailer=mailer,
        outbox=outbox,
        parameters=ParameterStore(*where),
        projections=AwsProjections(*where),
        is_transient=is_transient,
        is_infrastructure_error=is_service_error,
    )
