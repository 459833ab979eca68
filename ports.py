"""The ports: every outside thing the producers and consumers use, as Protocols, with
the errors they raise.

Two backends implement each one with one behaviour (``adapters/aws_*`` on boto3, AWS
or moto; ``adapters/local_*`` on the embedded SQLite engine and files), proven by one
abstract contract suite per port (``tests/contracts``). Nothing here imports an
adapter; :mod:`bootstrap` is the one place adapters are built.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Protocol

import msgspec

from events import DomainEvent, Envelope

if TYPE_CHECKING:
    from crm.settings import Settings


# --- errors ----------------------------------------------------------------------------


class StreamConflict(Exception):
    """Another writer appended to one of the streams first: decide again."""


class VersionConflict(Exception):
    """Another projector wrote this item first; read it again and catch up."""


class PublishError(RuntimeError):
    """Some entries could not be published after every retry; the caller must fail
    the invocation so it is retried (the events are already stored)."""


class BlobNotFound(KeyError):
    """No object under that key."""


class ParameterNotFound(KeyError):
    """No parameter of that name."""


class TableMissing(RuntimeError):
    """The table replay should fill does not exist: infra creates tables, the code never does."""


class SendError(Exception):
    """A send that did not clearly succeed. ``permanent``: no retry can fix it.
    ``in_doubt``: the mail may have been accepted (the answer was lost), so sending
    again may send it twice; only a person can decide."""

    def __init__(self, message: str, *, permanent: bool, code: str = "", in_doubt: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent
        self.code = code
        self.in_doubt = in_doubt


# --- values ----------------------------------------------------------------------------


class Commit(msgspec.Struct, frozen=True):
    envelopes: list[Envelope]
    duplicate: bool  # True: this dedupe key was already recorded; these are the stored events


class Plan(msgspec.Struct, frozen=True):
    """What one decision writes: events per stream, Message-ID → conversation mappings,
    marker items, streams that must be new, and streams pinned to a read version."""

    events: list[tuple[str, DomainEvent]]
    message_ids: dict[str, str] = msgspec.field(default_factory=dict)
    markers: dict[str, dict[str, Any]] = msgspec.field(default_factory=dict)
    first_in_stream: frozenset[str] = frozenset()
    expected_versions: dict[str, int] = msgspec.field(default_factory=dict)


class Decision(Plan, frozen=True):
    """What a producer or consumer decided: the :class:`Plan` it writes, and the outcome
    it reports (``accepted``, ``annotated``, ``rejected`` ...) with its reason."""

    outcome: str = "accepted"
    reason: str | None = None
    conversation_id: str | None = None
    quarantine_key: str | None = None  # the raw mail is copied there before the events are written


class ClaimTaken(msgspec.Struct, frozen=True):
    """What holds a key that another caller claimed first (:meth:`EventStore.claim`)."""

    recorded: bool  # a decision was committed under the key: the work is done
    outcome: str | None = None  # kept on the claim by a holder whose commit of it failed


class Sent(msgspec.Struct, frozen=True):
    ses_message_id: str


class SignedLink(msgspec.Struct, frozen=True):
    url: str
    expires_at: datetime  # the latest moment the link works (UTC)


class IndexQuery(msgspec.Struct, frozen=True):
    """One partition of a projection index, newest first.

    ``partition``: (attribute, value) the index is partitioned on; ``sort_key``: the
    index's sort attribute; ``sort``: an optional (op, value) on it, op ``>=`` or ``<=``;
    ``filters``: (attribute, op, value) applied after the key condition (op ``=``,
    ``>=``, ``<=``), as DynamoDB's FilterExpression (a page may come back short)."""

    index: str
    partition: tuple[str, Any]
    sort_key: str
    sort: tuple[str, Any] | None = None
    filters: tuple[tuple[str, str, Any], ...] = ()


class QueueSpec(msgspec.Struct, frozen=True):
    """A queue and its dead-letter queue (``None`` for a DLQ itself)."""

    name: str
    dlq: str | None = None
    max_receive_count: int = 5
    visibility_seconds: int = 60


# --- ports -----------------------------------------------------------------------------


class StoreReads(Protocol):
    """What a decision reads from the event store's items."""

    def last_version(self, stream_id: str) -> int: ...

    def get(self, pk: str, sk: int = 0) -> dict[str, Any] | None: ...

    def exists(self, pk: str, sk: int = 0) -> bool: ...

    def recorded(self, dedupe_key: str) -> bool:
        """Whether a decision was committed under ``dedupe_key`` (a claim of it is not)."""
        ...

    def get_many(self, keys: Sequence[tuple[str, int]]) -> dict[tuple[str, int], dict[str, Any]]:
        """The items of these keys that exist, in one request (``BatchGetItem``)."""
        ...

    def conversation_for(self, message_ids: list[str]) -> str | None: ...

    def contact_known(self, contact: str) -> bool: ...

    def address_suppressed(self, address: str) -> str | None: ...


class EventStore(StoreReads, Protocol):
    """Append-only streams (``pk = stream id, sk = version``) and the items one decision
    writes with its events: the dedupe item (``pk = dedupe key, sk = 0``), Message-ID
    mappings (``msgid#<id>``) and markers (``suppress#<address>``, ...)."""

    def read(self, stream_id: str, after_version: int = 0) -> list[Envelope]: ...

    def snapshot(
        self,
        *,
        keys: Iterable[tuple[str, int]] = (),
        message_ids: Iterable[str] = (),
        contacts: Iterable[str] = (),
        addresses: Iterable[str] = (),
    ) -> StoreReads:
        """These items (and the Message-ID mappings, contact streams and suppressions
        of these) read in one request; the reader answers from them and asks the
        store for anything else."""
        ...

    def scan_items(self) -> Iterator[dict[str, Any]]:
        """Every item, events as their records (``pk``, ``sk``, ``type``, ...)."""
        ...

    def streams(self, prefix: str = "") -> list[str]: ...

    def all_events(self) -> list[Envelope]:
        """Every event, by time, then stream, then version."""
        ...

    def commit(
        self,
        plan: Plan,
        *,
        dedupe_key: str,
        correlation_id: str,
        causation_id: str | None = None,
        source: str | None = None,
    ) -> Commit:
        """Append the plan's events, its Message-ID mappings and markers and the dedupe
        item atomically (its ``first_in_stream`` streams must be new, its
        ``expected_versions`` pin a stream's next version). A dedupe key already
        committed returns the stored events (``duplicate=True``); a version taken by
        another writer raises :class:`StreamConflict`."""
        ...

    def put_raw_items(self, items: list[dict[str, Any]]) -> None:
        """Load items as :meth:`scan_items` gave them (import of an older state)."""
        ...

    def claim(self, key: str, token: str) -> ClaimTaken | None:
        """Hold ``key`` (``sk = 0``) before work with an effect outside (a send), in one
        conditional write: ``None`` when the caller now holds it under ``token``, else
        what is there: another holder's claim, or a decision committed under ``key``.
        A commit under a claimed key replaces the claim. On the local backend a claim
        whose holder process died is taken over (the outbox, keyed alike, then finds
        what it sent)."""
        ...

    def keep_outcome(self, key: str, token: str, outcome: str) -> None:
        """Put ``outcome`` on this holder's claim, for a holder whose commit of it failed:
        a redelivery then commits it instead of doing the work again."""
        ...

    def release(self, key: str, token: str) -> None:
        """Drop this holder's claim: the work did not happen and may be tried again.
        Anything else under ``key`` (another's claim, a committed decision) stays."""
        ...


class Bus(Protocol):
    def publish(self, envelopes: Sequence[Envelope]) -> None:
        """Deliver to every rule whose pattern matches; raises :class:`PublishError`."""
        ...


class Recorder(Protocol):
    def record(
        self,
        plan: Callable[[], Plan] | Plan,
        *,
        dedupe_key: str,
        correlation_id: str,
        causation_id: str | None = None,
        source: str | None = None,
    ) -> Commit: ...


class Queues(Protocol):
    """SQS's model: at-least-once, visibility timeout, receive count, redrive to a DLQ.

    A received message is a dict as SQS's ``ReceiveMessage`` gives it: ``MessageId``,
    ``ReceiptHandle``, ``Body``, ``Attributes`` (``ApproximateReceiveCount``,
    ``SentTimestamp``), ``MessageAttributes``."""

    def ensure(self, specs: Sequence[QueueSpec]) -> None:
        """Create what is missing (the local backend; AWS queues are infra's: a no-op check)."""
        ...

    def arn(self, name: str) -> str: ...

    def send(self, name: str, body: str, attributes: Mapping[str, str] | None = None) -> None: ...

    def receive(self, name: str, limit: int = 10, visibility: int = 30) -> list[dict[str, Any]]: ...

    def delete(self, name: str, receipt_handle: str) -> None: ...

    def set_visibility(self, name: str, receipt_handle: str, seconds: int) -> None: ...

    def delay(self, queue_arn: str, receipt_handle: str, seconds: int) -> None:
        """Backoff: the failed message becomes visible again after ``seconds``."""
        ...

    def park(self, queue_arn: str, body: str, attributes: Mapping[str, str]) -> str:
        """Put a message in the DLQ of ``queue_arn`` with attributes saying why; the DLQ's name."""
        ...

    def depth(self, name: str) -> tuple[int, int]:
        """(visible, in flight) messages."""
        ...

    def peek(self, name: str, limit: int = 100) -> list[dict[str, Any]]:
        """Messages of a queue (``message_id``, ``body``, ``receive_count``, ``attributes``), left in place."""
        ...

    def redrive(self, dlq: str, target: str, before: Callable[[str, dict[str, str]], None] | None = None) -> int:
        """Move every message of ``dlq`` to ``target``; ``before(body, attributes)`` may stop one by raising."""
        ...


class Blobs(Protocol):
    def get(self, key: str, bucket: str | None = None) -> bytes: ...

    def put(
        self, key: str, data: bytes, content_type: str = "application/octet-stream", metadata: dict[str, str] | None = None
    ) -> str | None: ...

    def copy(self, source_key: str, target_key: str, source_bucket: str | None = None) -> None: ...

    def exists(self, key: str) -> bool: ...

    def keys(self, prefix: str) -> list[str]: ...

    def presigned_url(self, key: str, seconds: int = 7 * 24 * 3600) -> SignedLink: ...


class Outgoing(msgspec.Struct, frozen=True):
    """One mail to send: what the mailer needs, and what its outcome event records."""

    kind: str
    sender: str
    recipients: list[str]
    raw: bytes
    subject: str
    outbound_message_id: str
    conversation_id: str | None = None


class Mailer(Protocol):
    def send(self, mail: Outgoing, *, key: str | None = None) -> Sent:
        """Send ``mail.raw``; raises :class:`SendError`. ``key``: the send's identity; a mailer
        that can (the local outbox) sends once per key and answers a repeat with the first
        :class:`Sent`; SES has no such token and ignores it."""
        ...


class Outbox(Protocol):
    """What was sent, as the local backend keeps it (a deployed stack keeps no copy)."""

    def entries(self) -> list[dict[str, Any]]: ...


class Parameters(Protocol):
    def get(self, name: str, *, ttl_seconds: int = 300, decrypt: bool = False) -> str:
        """The value, through a cache of ``ttl_seconds``; raises :class:`ParameterNotFound`."""
        ...

    def put(self, name: str, value: str, *, secure: bool = False) -> None: ...


class ProjectionTable(Protocol):
    """One projection table: items by ``id`` with a ``version``, queried by index."""

    name: str

    def get(self, item_id: str) -> dict[str, Any] | None: ...

    def put(self, item: dict[str, Any], expected_version: int | None) -> None:
        """Write if the stored version is ``expected_version`` (None: absent); else :class:`VersionConflict`."""
        ...

    def query(
        self, query: IndexQuery, *, limit: int, start: dict[str, Any] | None = None
    ) -> tuple[list[dict[str, Any]], dict[str, Any] | None]:
        """A page of the partition, sort key descending, and the key to continue from."""
        ...

    def scan(self) -> list[dict[str, Any]]: ...

    def batch_put(self, items: list[dict[str, Any]]) -> int:
        """Unconditional bulk write; returns the calls made."""
        ...

    def empty(self) -> int:
        """Delete every item (the table itself stays); raises :class:`TableMissing`."""
        ...


class Projections(Protocol):
    def table(self, name: str) -> ProjectionTable: ...


class Clock(Protocol):
    def now(self) -> datetime: ...


class SystemClock:
    def now(self) -> datetime:
        return datetime.now(UTC)


class Services(msgspec.Struct, dict=True):
    """Everything a handler or a command uses, built by :func:`bootstrap.bootstrap`."""

    settings: Settings
    backend: str  # "aws" or "local"
    store: EventStore
    bus: Bus
    recorder: Recorder
    queues: Queues
    blobs: Blobs
    mailer: Mailer
    parameters: Parameters
    projections: Projections
    clock: Clock = msgspec.field(default_factory=SystemClock)
    outbox: Outbox | None = None
    # the consumers run in this process (the local backend, moto): a command that
    # writes events runs them itself until every queue is empty
    in_process: bool = False
    # what a failure means, as the backend knows it: worth retrying later (throttling,
    # a busy database), or a failure of the infrastructure rather than of the mail
    is_transient: Callable[[BaseException], bool] = lambda _exc: False
    is_infrastructure_error: Callable[[BaseException], bool] = lambda _exc: False
    close: Callable[[], None] = lambda: None

    def token_keys(self) -> list[bytes]:
        """The current thread-token key, then the previous one (accepted during rotation)."""
        if self.settings.token_key_parameter:
            current = self.parameters.get(self.settings.token_key_parameter, decrypt=True)
            keys = [k.strip() for k in current.split(",") if k.strip()]  # "new,old" while rotating
            return [k.encode() for k in keys]
        keys = [self.settings.token_key, *([self.settings.previous_token_key] if self.settings.previous_token_key else [])]
        return [k.encode() for k in keys]
