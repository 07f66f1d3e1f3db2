"""The embedded engine: endpoints, events and their deliveries in one directory."""

from __future__ import annotations

import asyncio
import atexit
import json
import os
import threading
import time
from collections.abc import Callable, Generator, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from types import TracebackType
from typing import Any, Final

from protekt import _core, _logging, _notebook, _stats
from protekt._config import (
    Payload,
    Retry,
    SharedSecret,
    SmtpRelay,
    auth_to_json,
    payload_to_json,
    seconds,
)
from protekt._dead_letters import DeadLetterQueue
from protekt._exceptions import EngineClosedError, NotFoundError, ValidationError
from protekt._stats import DeliveryPage, EndpointStats, EngineMetrics
from protekt._token import ApiToken

__all__ = [
    "Attempt",
    "Delivery",
    "DeliveryStatus",
    "EmitHandle",
    "Endpoint",
    "EndpointHealth",
    "EndpointStatus",
    "Endpoints",
    "Engine",
    "Event",
    "Verification",
]

DEFAULT_MAX_EVENT_BYTES: Final = 256 * 1024
DEFAULT_RETENTION: Final = timedelta(days=7)
DEFAULT_IDEMPOTENCY_WINDOW: Final = timedelta(hours=24)
DEFAULT_SECRET_GRACE: Final = timedelta(hours=24)
DEFAULT_SWEEP_INTERVAL: Final = timedelta(minutes=1)
DEFAULT_INITIAL_MAP_SIZE: Final = 64 << 20
DEFAULT_MAX_MAP_SIZE: Final = 1 << 40
DEFAULT_DISABLE_FAILING_AFTER: Final = timedelta(days=5)
DEFAULT_NOTIFICATION_INTERVAL: Final = timedelta(minutes=10)
# The dispatcher's limits: I/O threads, requests in flight per endpoint (each has a
# lane of its own), and deliveries held in memory at once.
MAX_THREADS: Final = 256
MAX_CONCURRENCY: Final = 1024
MAX_IN_FLIGHT: Final = 1_000_000

atexit.register(_core._stop_notifier)


class EndpointStatus(StrEnum):
    """Where an endpoint is in its life; only ``ACTIVE`` endpoints receive events."""

    CREATED = "created"
    VERIFIED = "verified"
    ACTIVE = "active"
    PAUSED = "paused"
    DISABLED = "disabled"


class DeliveryStatus(StrEnum):
    PENDING = "pending"
    IN_FLIGHT = "in_flight"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    DEAD_LETTERED = "dead_lettered"
    CANCELLED = "cancelled"


def _time(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)


def _verification(raw: dict[str, Any] | None) -> Verification | None:
    if not raw:
        return None
    return Verification(
        _time(raw["at_ms"]),
        raw["status"] or None,
        raw["error"],
        raw.get("duration_ms", 0) / 1000,
    )


@dataclass(frozen=True)
class Verification:
    """The last Verify endpoint: the endpoint is verified when it answered 200."""

    at: datetime
    status: int | None  # None when no response came
    error: str
    duration: float  # seconds

    @property
    def passed(self) -> bool:
        return self.status == 200


@dataclass(frozen=True)
class Endpoint:
    """An endpoint as stored. Change it through ``engine.endpoints``."""

    id: str
    url: str
    auth: SharedSecret | ApiToken
    events: tuple[str, ...]
    payload: Payload
    retry: Retry
    dead_letter_queue: bool
    failure_notification: str | None
    timeout: float
    status: EndpointStatus
    description: str
    created_at: datetime
    updated_at: datetime
    previous_secrets: tuple[str, ...] = ()
    verification: Verification | None = None
    ca_bundle: str = ""

    @property
    def secret(self) -> str | None:
        """The current signing secret, or None for an API-token endpoint."""
        return self.auth.secret if isinstance(self.auth, SharedSecret) else None

    @classmethod
    def _from_json(cls, text: str) -> Endpoint:
        raw = json.loads(text)
        auth_raw = raw["auth"]
        auth: SharedSecret | ApiToken
        previous: tuple[str, ...] = ()
        if auth_raw["type"] == "api_token":
            auth = ApiToken._from_header_value(auth_raw["header"], auth_raw["value"])
        else:
            secrets = [s["secret"] for s in auth_raw["secrets"]]
            auth = SharedSecret(secrets[0])
            previous = tuple(secrets[1:])
        retry = raw["retry"]
        return cls(
            id=raw["id"],
            url=raw["url"],
            auth=auth,
            events=tuple(raw["events"]),
            payload=Payload(
                raw["payload"]["format"], frozenset(raw["payload"]["include"])
            ),
            retry=Retry(
                max_attempts=retry["max_attempts"],
                interval=retry["interval"],
                backoff=retry["backoff"],
                max_interval=retry["max_interval"],
                jitter=retry["jitter"],
            ),
            dead_letter_queue=raw["dead_letter_queue"],
            failure_notification=raw["failure_notification"],
            timeout=raw["timeout_ms"] / 1000,
            status=EndpointStatus(raw["status"]),
            description=raw["description"],
            created_at=_time(raw["created_ms"]),
            updated_at=_time(raw["updated_ms"]),
            previous_secrets=previous,
            verification=_verification(raw.get("verification")),
            ca_bundle=raw.get("ca_bundle", ""),
        )

    def __repr__(self) -> str:
        return (
            f"Endpoint(id={self.id!r}, url={self.url!r}, status={self.status.value!r}, "
            f"events={list(self.events)!r})"
        )

    def _repr_html_(self) -> str:
        return _notebook.endpoint_html(self)


@dataclass(frozen=True)
class Event:
    """An event the engine accepted; it is durable once you hold one."""

    id: str
    type: str
    timestamp: datetime
    deliveries: int
    duplicate: bool = False


@dataclass(frozen=True)
class Delivery:
    """One event on its way to one endpoint."""

    event_id: str
    endpoint_id: str
    status: DeliveryStatus
    attempts: int
    created_at: datetime
    next_attempt_at: datetime | None
    completed_at: datetime | None
    last_status: int | None
    shape: int
    event_type: str = ""  # "" once retention removed the event

    @classmethod
    def _from_tuple(cls, row: tuple[Any, ...], event_type: str = "") -> Delivery:
        event, endpoint, status, shape, attempts, created, due, completed, last = row
        return cls(
            event_id=event,
            endpoint_id=endpoint,
            status=DeliveryStatus(status),
            attempts=attempts,
            created_at=_time(created),
            next_attempt_at=_time(due) if due else None,
            completed_at=_time(completed) if completed else None,
            last_status=last or None,
            shape=shape,
            event_type=event_type,
        )

    def _repr_html_(self) -> str:
        return _notebook.delivery_html(self)


@dataclass(frozen=True)
class Attempt:
    """One request made for a delivery, as the attempt log keeps it."""

    number: int
    started_at: datetime
    duration: float  # seconds
    status: int | None  # HTTP status; None when no response came
    error_class: str  # "" for a response; timeout, tls, refused, ssrf, ...
    error: str
    response_excerpt: bytes  # the first 1 KiB of the response body

    @classmethod
    def _from_tuple(cls, row: tuple[int, int, int, int, str, str, bytes]) -> Attempt:
        number, started, duration, status, error_class, error, excerpt = row
        return cls(
            number,
            _time(started),
            duration / 1000,
            status or None,
            error_class,
            error,
            excerpt,
        )

    def _repr_html_(self) -> str:
        return _notebook.attempt_html(self)


@dataclass(frozen=True)
class EndpointHealth:
    """How an endpoint's deliveries fare, and the failure notification it has
    waiting (``notice``, as docs/notifications.md describes it; None if none)."""

    failing_since: datetime | None  # first failed attempt since the last success
    last_success: datetime | None
    last_failure: datetime | None
    notice: dict[str, Any] | None

    @property
    def failing(self) -> bool:
        return self.failing_since is not None


def _event(type_: str, outcome: tuple[str, int, bool, int]) -> Event:
    event_id, created_ms, duplicate, deliveries = outcome
    return Event(event_id, type_, _time(created_ms), deliveries, duplicate)


class EmitHandle:
    """An emitted event that is not durable yet.

    ``result()`` blocks until it is; ``await handle`` waits without blocking the
    event loop.
    """

    __slots__ = ("_ticket", "_type")

    def __init__(self, ticket: _core.Ticket, type_: str) -> None:
        self._ticket = ticket
        self._type = type_

    @property
    def id(self) -> str:
        """The id this emit assigned. With an idempotency key seen before, the
        stored event keeps its earlier id, which ``result().id`` gives."""
        return self._ticket.id

    def done(self) -> bool:
        return self._ticket.ready()

    def result(self, timeout: float | None = None) -> Event:
        """The durable event. Raises TimeoutError when ``timeout`` seconds pass first,
        and StorageError when it could not be stored."""
        outcome = self._ticket.wait(timeout)
        if outcome is None:
            raise TimeoutError(f"event {self.id} was not durable after {timeout} s")
        return _event(self._type, outcome)

    def __await__(self) -> Generator[Any, None, Event]:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()

        def wake() -> None:
            loop.call_soon_threadsafe(_resolve, future)

        self._ticket.on_ready(wake)
        yield from future.__await__()
        return self.result()


def _resolve(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


class Endpoints:
    """The endpoints of one engine: ``engine.endpoints``."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def create(
        self,
        *,
        url: str,
        events: Sequence[str],
        auth: SharedSecret | ApiToken | None = None,
        payload: Payload | None = None,
        retry: Retry | None = None,
        dead_letter_queue: bool = False,
        failure_notification: str | None = None,
        timeout: float | timedelta = 15,
        description: str = "",
        ca_bundle: str = "",
    ) -> Endpoint:
        """Registers an endpoint, in status ``created``: Verify endpoint, then Save
        webhook to activate it. Every field is checked before anything is stored.

        ``ca_bundle``: PEM certificates to trust for this endpoint's HTTPS instead of
        the engine's trust store (a private CA, a self-signed receiver)."""
        spec = _settings_json(
            url=url,
            events=events,
            auth=auth or SharedSecret(),
            payload=payload or Payload(),
            retry=retry or Retry(),
            dead_letter_queue=dead_letter_queue,
            failure_notification=failure_notification,
            timeout=timeout,
            description=description,
            ca_bundle=ca_bundle,
        )
        return self._call("create_endpoint", json.dumps(spec))

    def get(self, endpoint_id: str) -> Endpoint:
        text = self._native().get_endpoint(endpoint_id)
        if text is None:
            raise NotFoundError(f"no endpoint {endpoint_id}")
        return Endpoint._from_json(text)

    def list(self) -> list[Endpoint]:
        return [Endpoint._from_json(t) for t in self._native().list_endpoints()]

    def __iter__(self) -> Iterator[Endpoint]:
        return iter(self.list())

    def update(self, endpoint_id: str, **changes: Any) -> Endpoint:
        """Changes some settings, named as in ``create``; the whole result is checked
        before it is stored. A new URL sends the endpoint back to ``created``."""
        patch = _settings_json(**changes)
        return self._call("update_endpoint", endpoint_id, json.dumps(patch))

    def delete(self, endpoint_id: str) -> None:
        if not self._native().delete_endpoint(endpoint_id):
            raise NotFoundError(f"no endpoint {endpoint_id}")

    def save(self, endpoint_id: str, *, skip_verification: bool = False) -> Endpoint:
        """Save webhook: activates a verified endpoint. ``skip_verification`` activates
        one that never answered Verify endpoint, for receivers you run yourself."""
        return self._call("change_status", endpoint_id, "save", skip_verification)

    def verify(self, endpoint_id: str) -> Endpoint:
        """Verify endpoint: sends a signed ``webhook.verification`` event with a
        random ``challenge`` and waits for the answer (at most the endpoint's
        timeout). A ``200`` verifies the endpoint; the result, and what went wrong
        otherwise, is in ``Endpoint.verification``."""
        return self._call("verify_endpoint", endpoint_id)

    def send_test_event(self, endpoint_id: str, *, wait: float | None = 30) -> Delivery:
        """Send test event: queues a signed ``webhook.test`` event for this active
        endpoint and, unless ``wait`` is None, waits up to ``wait`` seconds for its
        delivery to finish (a dispatcher must be running). Returns the delivery; its
        attempts are in ``engine.attempts``."""
        native = self._native()
        outcome = native.send_test_event(endpoint_id).wait(None)
        assert outcome is not None
        event_id = outcome[0]
        deadline = time.monotonic() + (wait or 0)
        while True:
            delivery = self._engine.delivery(event_id, endpoint_id)
            finished = delivery.status not in (
                DeliveryStatus.PENDING,
                DeliveryStatus.IN_FLIGHT,
            )
            if finished or wait is None or time.monotonic() >= deadline:
                return delivery
            time.sleep(0.02)

    def health(self, endpoint_id: str) -> EndpointHealth:
        """Since when the endpoint fails, if it does, and its pending notice."""
        native = self._native()
        self.get(endpoint_id)
        failing, success, failure, *_ = native.health_of(endpoint_id)
        notice = native.notice_of(endpoint_id)
        return EndpointHealth(
            _time(failing) if failing else None,
            _time(success) if success else None,
            _time(failure) if failure else None,
            json.loads(notice) if notice is not None else None,
        )

    def stats(self, endpoint_id: str) -> EndpointStats:
        """Counts of deliveries and attempts, success rate, latency percentiles and
        histogram, and the last error. Raises NotFoundError for an unknown id."""
        self.get(endpoint_id)
        return _stats.endpoint_stats(self._native(), endpoint_id)

    def pause(self, endpoint_id: str) -> Endpoint:
        """Stops deliveries; events emitted meanwhile are not queued for it."""
        return self._call("change_status", endpoint_id, "pause", False)

    def resume(self, endpoint_id: str) -> Endpoint:
        return self._call("change_status", endpoint_id, "resume", False)

    def disable(self, endpoint_id: str) -> Endpoint:
        return self._call("change_status", endpoint_id, "disable", False)

    def rotate_secret(
        self,
        endpoint_id: str,
        secret: str | None = None,
        *,
        grace: float | timedelta | None = None,
    ) -> Endpoint:
        """Makes ``secret`` (or a new one) current. Deliveries are signed with the old
        secret too for ``grace`` (the engine's ``secret_grace``, 24 h by default), so
        receivers can switch without dropping a request."""
        grace_s = None if grace is None else seconds(grace, "grace")
        return self._call("rotate_secret", endpoint_id, secret or "", grace_s)

    def _native(self) -> _core.Engine:
        return self._engine._native_engine()

    def _call(self, method: str, *args: Any) -> Endpoint:
        text: str = getattr(self._native(), method)(*args)
        return Endpoint._from_json(text)


class Engine:
    """The webhook engine, embedded: one directory, no server.

    >>> import tempfile
    >>> with Engine(tempfile.mkdtemp()) as engine:
    ...     event = engine.emit("user.login.succeeded", user={"id": "u_1"})
    ...     event.type
    'user.login.succeeded'

    Endpoints are configured through ``engine.endpoints``. ``emit`` returns once the
    event and its deliveries are durable on disk. Several processes may open the same
    directory at once. Thread-safe; use it as a context manager or call ``close()``.

    Deliveries and Verify endpoint reach public addresses only, unless the network is
    in ``allowed_networks`` (for example ``["127.0.0.0/8"]`` in development): the SSRF
    guard. ``ca_file`` replaces the system's trust store for HTTPS endpoints.

    Failure notifications (docs/notifications.md) go to each endpoint's
    ``failure_notification``: an https URL gets a signed ``webhook.delivery.failed``
    event, an email address a message through the ``smtp`` relay. Failures within
    ``notification_interval`` of the last notification wait for the next one. An
    endpoint whose every attempt fails for ``disable_failing_after`` (5 days; None
    for never) is disabled, and told so the same way.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        allow_http: bool = False,
        max_event_bytes: int = DEFAULT_MAX_EVENT_BYTES,
        retention: float | timedelta = DEFAULT_RETENTION,
        idempotency_window: float | timedelta = DEFAULT_IDEMPOTENCY_WINDOW,
        secret_grace: float | timedelta = DEFAULT_SECRET_GRACE,
        sweep_interval: float | timedelta = DEFAULT_SWEEP_INTERVAL,
        initial_map_size: int = DEFAULT_INITIAL_MAP_SIZE,
        max_map_size: int = DEFAULT_MAX_MAP_SIZE,
        allowed_networks: Sequence[str] = (),
        ca_file: str | os.PathLike[str] | None = None,
        smtp: SmtpRelay | None = None,
        disable_failing_after: float | timedelta | None = DEFAULT_DISABLE_FAILING_AFTER,
        notification_interval: float | timedelta = DEFAULT_NOTIFICATION_INTERVAL,
    ) -> None:
        if smtp is not None and not isinstance(smtp, SmtpRelay):
            raise ValidationError("smtp must be a protekt.SmtpRelay", field="smtp")
        if not isinstance(max_event_bytes, int) or max_event_bytes <= 0:
            raise ValidationError(
                "max_event_bytes must be a positive int", field="max_event_bytes"
            )
        for name, size in (
            ("initial_map_size", initial_map_size),
            ("max_map_size", max_map_size),
        ):
            if not isinstance(size, int) or size < 1 << 16:
                raise ValidationError(f"{name} must be at least 64 KiB", field=name)
        durations = {
            "retention": seconds(retention, "retention"),
            "idempotency_window": seconds(idempotency_window, "idempotency_window"),
            "secret_grace": seconds(secret_grace, "secret_grace"),
            "sweep_interval": seconds(sweep_interval, "sweep_interval"),
            "disable_failing_after": seconds(
                disable_failing_after or 0, "disable_failing_after"
            ),
            "notification_interval": seconds(
                notification_interval, "notification_interval"
            ),
        }
        for name, value in durations.items():
            if value < 0:
                raise ValidationError(f"{name} cannot be negative", field=name)
        self._path = os.fspath(path)
        self._lock = threading.Lock()
        _logging.start()
        self._native: _core.Engine | None = _core.Engine(
            self._path,
            bool(allow_http),
            max_event_bytes,
            durations["retention"],
            durations["idempotency_window"],
            durations["secret_grace"],
            max(durations["sweep_interval"], 0.01),
            initial_map_size,
            max(max_map_size, initial_map_size),
            [str(n) for n in allowed_networks],
            os.fspath(ca_file) if ca_file is not None else "",
            json.dumps(
                {
                    "smtp": smtp.to_json() if smtp is not None else None,
                    "disable_after_s": durations["disable_failing_after"],
                    "interval_s": durations["notification_interval"],
                }
            ),
        )
        self.endpoints = Endpoints(self)
        self.dead_letters = DeadLetterQueue(self)

    @property
    def path(self) -> str:
        return self._path

    # ---- events -------------------------------------------------------------------

    def emit(
        self, type: str, /, *, idempotency_key: str | None = None, **data: Any
    ) -> Event:
        """Records an event and one delivery for every active endpoint subscribed to
        it, and returns once that is durable. The keyword arguments are the event's
        data; ``user``, ``ip``, ``device``, ``user_agent`` and ``location`` are
        metadata that reach only the endpoints that asked for them.

        The same ``idempotency_key`` within the idempotency window returns the first
        event again (``duplicate=True``) and creates no deliveries.
        """
        return self.emit_nowait(type, idempotency_key=idempotency_key, **data).result()

    def emit_nowait(
        self, type: str, /, *, idempotency_key: str | None = None, **data: Any
    ) -> EmitHandle:
        """As ``emit``, but returns at once with a handle to wait on or await."""
        if type.__class__ is not str and not isinstance(type, str):
            raise ValidationError("the event type must be a str", field="type")
        if idempotency_key is None:
            idempotency_key = ""
        elif not isinstance(idempotency_key, str):
            raise ValidationError(
                "idempotency_key must be a str", field="idempotency_key"
            )
        native = self._native
        if native is None:
            raise EngineClosedError("the engine is closed")
        return EmitHandle(native.emit(type, data, idempotency_key), type)

    def get_event(self, event_id: str) -> dict[str, Any]:
        """The stored envelope of an event: ``id``, ``type``, ``timestamp``,
        ``data``. Raises NotFoundError once retention removed it."""
        row = self._native_engine().get_event(event_id)
        if row is None:
            raise NotFoundError(f"no event {event_id}")
        envelope: dict[str, Any] = json.loads(row[3])
        return envelope

    def deliveries(self, event_id: str) -> list[Delivery]:
        """The deliveries of one event, one per endpoint it went to."""
        rows = self._native_engine().deliveries_of(event_id)
        event_type = self._event_type(event_id) if rows else ""
        return [Delivery._from_tuple(row, event_type) for row in rows]

    def delivery_log(
        self,
        *,
        endpoint_id: str | None = None,
        event_type: str | None = None,
        status: DeliveryStatus | str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
        after: str | None = None,
    ) -> DeliveryPage:
        """Deliveries, newest event first, of one endpoint or all, filtered by event
        type, status and the event's time (``since`` inclusive, ``until``
        exclusive). Each delivery carries its ``event_type``; ``engine.attempts``
        gives its attempts. Pass a page's ``next`` as ``after`` for the next page.

        >>> failed = engine.delivery_log(status="failed")  # doctest: +SKIP
        """
        if endpoint_id is not None:
            self.endpoints.get(endpoint_id)
        return _stats.delivery_log(
            self._native_engine(),
            endpoint_id=endpoint_id,
            event_type=event_type,
            status=status,
            since=since,
            until=until,
            limit=limit,
            after=after,
        )

    def metrics(self) -> EngineMetrics:
        """Events emitted, queue depth, dead letters and every endpoint's counts, for
        monitoring (the portal's ``/metrics``)."""
        return _stats.engine_metrics(self._native_engine())

    def deliveries_frame(
        self,
        *,
        endpoint_id: str | None = None,
        event_type: str | None = None,
        status: DeliveryStatus | str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 1000,
    ) -> _notebook.DataFrame:
        """The delivery log as a pandas DataFrame, newest event first, filtered as in
        ``delivery_log``: at most ``limit`` rows. Raises ImportError without pandas
        (``pip install pandas``)."""
        return _notebook.deliveries_frame(
            self,
            endpoint_id=endpoint_id,
            event_type=event_type,
            status=status,
            since=since,
            until=until,
            limit=limit,
        )

    def delivery_body(self, delivery: Delivery) -> bytes:
        """The exact body this delivery sends, shaped for its endpoint."""
        body = self._native_engine().body_of(delivery.event_id, delivery.shape)
        if body is None:
            raise NotFoundError(f"no body for event {delivery.event_id}")
        return body

    def due(self, *, limit: int = 100, now: datetime | None = None) -> list[Delivery]:
        """Pending deliveries due by ``now``, earliest first."""
        moment = now or datetime.now(UTC)
        rows = self._native_engine().due(int(moment.timestamp() * 1000), limit)
        return [Delivery._from_tuple(row) for row in rows]

    @property
    def queue_depth(self) -> int:
        """Deliveries waiting to be sent."""
        return self._native_engine().pending_count()

    def sweep(self) -> tuple[int, int]:
        """Removes finished events older than the retention period and idempotency
        keys older than their window now, instead of at the next interval. Returns
        the numbers of events and keys removed."""
        total_events = total_keys = 0
        while True:
            events, keys, more = self._native_engine().sweep()
            total_events += events
            total_keys += keys
            if not more:
                return total_events, total_keys

    # ---- the dispatcher lock -----------------------------------------------------

    def try_lock_dispatcher(self) -> bool:
        """Takes the directory's dispatcher lock if no process holds it. Only its
        holder runs the dispatcher; when the holder dies, the lock is free again."""
        return self._native_engine().try_lock_dispatcher()

    def unlock_dispatcher(self) -> None:
        """Stops this engine's dispatcher, if it runs, and releases the lock."""
        self._native_engine().unlock_dispatcher()

    # ---- delivery -----------------------------------------------------------------

    def start_dispatcher(
        self,
        *,
        threads: int = 0,
        concurrency: int = 8,
        allowed_networks: Sequence[str] = (),
        ca_file: str | os.PathLike[str] | None = None,
        connect_timeout: float | timedelta = 10,
        stop_grace: float | timedelta = 10,
        lease: float | timedelta = 300,
        max_in_flight: int = 1024,
    ) -> bool:
        """Starts sending due deliveries from this process, on ``threads`` I/O
        threads (one per core by default) with at most ``concurrency`` requests in
        flight per endpoint. Returns False, starting nothing, when another process
        runs the dispatcher for this directory.

        The dispatcher holds at most ``max_in_flight`` deliveries in memory at once,
        in flight or waiting for their endpoint; the rest wait in the store.

        Deliveries reach public addresses only, unless their network is in
        ``allowed_networks`` (for example ``["127.0.0.0/8"]`` in development).
        ``ca_file`` replaces the system's trust store for HTTPS. Each delivery taken
        is held for ``lease``; if this process dies, another dispatcher takes it
        again when the lease ends (delivery is at least once), so the lease must
        outlast the longest endpoint timeout.
        """
        _count(threads, "threads", least=0, most=MAX_THREADS)
        _count(concurrency, "concurrency", least=1, most=MAX_CONCURRENCY)
        _count(max_in_flight, "max_in_flight", least=1, most=MAX_IN_FLIGHT)
        return self._native_engine().start_dispatcher(
            threads,
            concurrency,
            [str(n) for n in allowed_networks],
            os.fspath(ca_file) if ca_file is not None else "",
            seconds(connect_timeout, "connect_timeout"),
            seconds(stop_grace, "stop_grace"),
            seconds(lease, "lease"),
            max_in_flight,
        )

    def stop_dispatcher(self) -> None:
        """Stops sending: requests in flight get ``stop_grace`` to finish, and what
        is left is due again at once, for this or another process."""
        self._native_engine().stop_dispatcher()

    @property
    def dispatching(self) -> bool:
        return self._native_engine().dispatching()

    def delivery(self, event_id: str, endpoint_id: str) -> Delivery:
        row = self._native_engine().find_delivery(event_id, endpoint_id)
        if row is None:
            raise NotFoundError(f"no delivery of {event_id} to {endpoint_id}")
        return Delivery._from_tuple(row, self._event_type(event_id))

    def _event_type(self, event_id: str) -> str:
        """The type of a stored event, read without parsing its envelope."""
        row = self._native_engine().get_event(event_id)
        return "" if row is None else str(row[1])

    def attempts(self, delivery: Delivery) -> list[Attempt]:
        """Every request made for a delivery, the first first."""
        rows = self._native_engine().attempts_of(
            delivery.event_id, delivery.endpoint_id
        )
        return [Attempt._from_tuple(row) for row in rows]

    # ---- lifecycle ----------------------------------------------------------------

    def close(self) -> None:
        """Waits for emitted events to be durable and releases the directory.
        Calling it again does nothing."""
        with self._lock:
            native, self._native = self._native, None
        if native is not None:
            native.close()

    @property
    def closed(self) -> bool:
        return self._native is None

    def __enter__(self) -> Engine:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"Engine({self._path!r}, {state})"

    def _repr_html_(self) -> str:
        return _notebook.engine_html(self)

    def _native_engine(self) -> _core.Engine:
        native = self._native
        if native is None:
            raise EngineClosedError("the engine is closed")
        return native


def _events(events: Sequence[str]) -> list[str]:
    if isinstance(events, str) or not all(isinstance(e, str) for e in events):
        raise ValidationError(
            "events must be a list of event names, like ['user.login.succeeded']",
            field="events",
        )
    return list(events)


def _retry(value: object) -> dict[str, Any]:
    if not isinstance(value, Retry):
        raise ValidationError("retry must be a protekt.Retry", field="retry")
    return value.to_json()


def _flag(value: object) -> bool:
    if not isinstance(value, bool):
        raise ValidationError(
            "dead_letter_queue must be True or False", field="dead_letter_queue"
        )
    return value


def _notification(target: object) -> str:
    if target is not None and not isinstance(target, str):
        raise ValidationError(
            "failure_notification must be an email address or an https URL",
            field="failure_notification",
        )
    return target or ""


def _text(name: str) -> Callable[[object], str]:
    def convert(value: object) -> str:
        if not isinstance(value, str):
            raise ValidationError(f"{name} must be a str", field=name)
        if not value.isascii():
            try:
                value.encode("utf-8")
            except UnicodeEncodeError:
                raise ValidationError(
                    f"{name} must be valid Unicode text (it holds a lone surrogate)",
                    field=name,
                ) from None
        return value

    return convert


def _timeout_ms(value: Any) -> int:
    return int(seconds(value, "timeout") * 1000)


# Each endpoint setting of the Python API: its key in the stored JSON, and how its
# value is checked and converted (docs/storage.md, "endpoints").
_SETTINGS: Final[dict[str, tuple[str, Callable[[Any], Any]]]] = {
    "url": ("url", _text("url")),
    "events": ("events", _events),
    "auth": ("auth", auth_to_json),
    "payload": ("payload", payload_to_json),
    "retry": ("retry", _retry),
    "dead_letter_queue": ("dead_letter_queue", _flag),
    "failure_notification": ("failure_notification", _notification),
    "timeout": ("timeout_ms", _timeout_ms),
    "ca_bundle": ("ca_bundle", _text("ca_bundle")),
    "description": ("description", _text("description")),
}


def _settings_json(**settings: Any) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for name, value in settings.items():
        if name not in _SETTINGS:
            raise ValidationError(
                f"{name} is not an endpoint setting; the settings are "
                f"{', '.join(_SETTINGS)}",
                field=name,
            )
        key, convert = _SETTINGS[name]
        result[key] = convert(value)
    return result


def _count(value: int, name: str, *, least: int, most: int) -> None:
    """Refuses a setting that is not a whole number from least to most."""
    if (
        not isinstance(value, int)
        or isinstance(value, bool)
        or not least <= value <= most
    ):
        raise ValidationError(
            f"{name} must be a whole number from {least} to {most}, not {value!r}",
            field=name,
        )
