"""The dispatcher, end to end: events emitted into an engine reach real receivers.

Receivers are HTTP servers in threads on 127.0.0.1 (`_dispatch_helpers.py`, and the
raw misbehaving ones of `receivers.py`); HTTPS uses certificates from a throwaway
`trustme` authority, given to the dispatcher as its CA file. Each test checks what the
receiver saw and what the engine recorded: the delivery's status and its attempt log.
Every wait is bounded; nothing connects anywhere but loopback.
"""

from __future__ import annotations

import itertools
import json
import os
import signal
import ssl
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

import protekt
from _dispatch_helpers import (
    Answer,
    ScriptedReceiver,
    attempts_made,
    finished_deliveries,
    wait_for,
)
from protekt import DeliveryStatus, EndpointStatus, Payload, Retry
from receivers import HangingUpReceiver, SilentReceiver

trustme = pytest.importorskip("trustme")

LOGIN = "user.login.succeeded"
LOOPBACK = ("127.0.0.0/8",)
SIGNATURE = "webhook-signature"

Subscriber = Callable[..., protekt.Endpoint]


# ---- fixtures ------------------------------------------------------------------------


@pytest.fixture
def engine(open_engine: Callable[..., protekt.Engine]) -> protekt.Engine:
    """An engine that may deliver over plain HTTP; closed at teardown."""
    return open_engine(allow_http=True)


@pytest.fixture
def receiver(serve: Callable[..., Any]) -> ScriptedReceiver:
    """A receiver answering 200 to everything."""
    started: ScriptedReceiver = serve(ScriptedReceiver())
    return started


@pytest.fixture
def subscribe(engine: protekt.Engine) -> Subscriber:
    """Registers an active endpoint for the login event at `url`, with `settings` as
    in `endpoints.create`."""

    def subscribe_(url: str, **settings: Any) -> protekt.Endpoint:
        created = engine.endpoints.create(url=url, events=[LOGIN], **settings)
        return engine.endpoints.save(created.id, skip_verification=True)

    return subscribe_


@pytest.fixture
def dispatch(engine: protekt.Engine) -> Callable[..., None]:
    """Starts `engine`'s dispatcher, reaching loopback; extra options as keywords."""

    def start(**options: Any) -> None:
        settings = {"allowed_networks": LOOPBACK, "stop_grace": 1, **options}
        assert engine.start_dispatcher(**settings)

    return start


def receiver_of(endpoint: protekt.Endpoint) -> protekt.Webhook:
    """What a receiver knowing only the endpoint's current secret verifies with."""
    assert endpoint.secret is not None
    return protekt.Webhook(endpoint.secret)


def only_attempt(engine: protekt.Engine, event: protekt.Event) -> protekt.Attempt:
    """The first attempt at the one delivery of `event`."""
    (delivery,) = engine.deliveries(event.id)
    return attempts_made(engine, delivery)[0]


def held_back(engine: protekt.Engine, event_id: str, endpoint_id: str) -> bool:
    """Whether the delivery was looked at and put back for later than 5 s from now."""
    delivery = engine.delivery(event_id, endpoint_id)
    due = delivery.next_attempt_at
    later = datetime.now(UTC) + timedelta(seconds=5)
    return delivery.status == DeliveryStatus.PENDING and due is not None and due > later


def seconds_between(attempts: list[protekt.Attempt]) -> list[float]:
    pairs = itertools.pairwise(attempts)
    return [(b.started_at - a.started_at).total_seconds() for a, b in pairs]


# ---- a delivery that succeeds --------------------------------------------------------


def test_a_delivery_reaches_the_receiver_and_its_signature_verifies(
    engine: protekt.Engine,
    receiver: ScriptedReceiver,
    subscribe: Subscriber,
    dispatch: Callable[..., None],
) -> None:
    endpoint = subscribe(receiver.url())
    dispatch()

    event = engine.emit(LOGIN, user={"id": "u_1"}, method="password")
    finished_deliveries(engine, event.id)

    (request,) = receiver.received
    payload = receiver_of(endpoint).verify(request.body, request.headers)
    assert payload["id"] == event.id
    assert payload["type"] == LOGIN
    assert payload["data"]["method"] == "password"


def test_the_body_is_the_envelope_the_engine_stored_for_the_endpoint(
    engine: protekt.Engine,
    receiver: ScriptedReceiver,
    subscribe: Subscriber,
    dispatch: Callable[..., None],
) -> None:
    subscribe(receiver.url())
    dispatch()

    event = engine.emit(LOGIN, user={"id": "u_1"})
    (delivery,) = finished_deliveries(engine, event.id)

    (request,) = receiver.received
    assert request.body == engine.delivery_body(delivery)
    assert json.loads(request.body) == engine.get_event(event.id)


def test_the_request_carries_the_standard_webhooks_headers_and_user_agent(
    engine: protekt.Engine,
    receiver: ScriptedReceiver,
    subscribe: Subscriber,
    dispatch: Callable[..., None],
) -> None:
    subscribe(receiver.url("/hooks/auth?tenant=7"))
    dispatch()

    before = int(time.time())
    event = engine.emit(LOGIN, user={"id": "u_1"})
    finished_deliveries(engine, event.id)

    (request,) = receiver.received
    assert request.method == "POST"
    assert request.target == "/hooks/auth?tenant=7"
    assert request.headers["webhook-id"] == event.id
    assert before <= int(request.headers["webhook-timestamp"]) <= time.time() + 1
    assert request.headers[SIGNATURE].startswith("v1,")
    assert " " not in request.headers[SIGNATURE]
    assert request.headers["content-type"] == "application/json"
    assert request.headers["user-agent"] == f"Protekt-Webhooks/{protekt.__version__}"


def test_a_delivered_event_has_one_attempt_with_status_200_and_succeeds(
    engine: protekt.Engine,
    receiver: ScriptedReceiver,
    subscribe: Subscriber,
    dispatch: Callable[..., None],
) -> None:
    subscribe(receiver.url())
    dispatch()

    event = engine.emit(LOGIN, user={"id": "u_1"})
    (delivery,) = finished_deliveries(engine, event.id)

    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert delivery.attempts == 1
    assert delivery.last_status == 200
    assert delivery.completed_at is not None
    (attempt,) = engine.attempts(delivery)
    assert (attempt.number, attempt.status, attempt.error_class) == (1, 200, "")
    assert attempt.response_excerpt == b'{"ok":true}'


def test_an_api_token_endpoint_gets_its_header_and_no_signature(
    engine: protekt.Engine,
    receiver: ScriptedReceiver,
    subscribe: Subscriber,
    dispatch: Callable[..., None],
) -> None:
    token = protekt.ApiToken(header="X-Hook-Token")
    subscribe(receiver.url(), auth=token)
    dispatch()

    event = engine.emit(LOGIN, user={"id": "u_1"})
    (delivery,) = finished_deliveries(engine, event.id)

    assert delivery.status == DeliveryStatus.SUCCEEDED
    (request,) = receiver.received
    assert request.headers["x-hook-token"] == token.value
    token.verify(request.headers)
    assert SIGNATURE not in request.headers


def test_a_form_endpoint_gets_a_form_body_that_verify_parses(
    engine: protekt.Engine,
    receiver: ScriptedReceiver,
    subscribe: Subscriber,
    dispatch: Callable[..., None],
) -> None:
    endpoint = subscribe(receiver.url(), payload=Payload("form"))
    dispatch()

    event = engine.emit(LOGIN, user={"id": "u_1"})
    finished_deliveries(engine, event.id)

    (request,) = receiver.received
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    (field,) = parse_qs(request.body.decode())["payload"]
    payload = receiver_of(endpoint).verify(request.body, request.headers)
    assert payload == json.loads(field)
    assert payload["id"] == event.id


def test_after_rotation_a_delivery_carries_two_signatures_either_secret_verifies(
    engine: protekt.Engine,
    receiver: ScriptedReceiver,
    subscribe: Subscriber,
    dispatch: Callable[..., None],
) -> None:
    old = subscribe(receiver.url())
    new = engine.endpoints.rotate_secret(old.id)
    dispatch()

    event = engine.emit(LOGIN, user={"id": "u_1"})
    finished_deliveries(engine, event.id)

    (request,) = receiver.received
    signatures = request.headers[SIGNATURE].split(" ")
    assert [s.split(",")[0] for s in signatures] == ["v1", "v1"]
    for endpoint in (old, new):
        assert receiver_of(endpoint).verify(request.body, request.headers)
    current = receiver_of(new)
    expected_first = current.sign(
        request.headers["webhook-id"],
        int(request.headers["webhook-timestamp"]),
        request.body,
    )
    assert signatures[0] == expected_first


def test_a_secret_whose_grace_has_ended_no_longer_signs(
    engine: protekt.Engine,
    receiver: ScriptedReceiver,
    subscribe: Subscriber,
    dispatch: Callable[..., None],
) -> None:
    old = subscribe(receiver.url())
    new = engine.endpoints.rotate_secret(old.id, grace=0)
    dispatch()

    event = engine.emit(LOGIN, user={"id": "u_1"})
    finished_deliveries(engine, event.id)

    (request,) = receiver.received
    assert " " not in request.headers[SIGNATURE]
    assert receiver_of(new).verify(request.body, request.headers)
    with pytest.raises(protekt.NoMatchingSignatureError):
        receiver_of(old).verify(request.body, request.headers)


def test_an_old_secret_stops_signing_when_its_grace_ends_between_deliveries(
    engine: protekt.Engine,
    receiver: ScriptedReceiver,
    subscribe: Subscriber,
    dispatch: Callable[..., None],
) -> None:
    old = subscribe(receiver.url())
    new = engine.endpoints.rotate_secret(old.id, grace=1.5)
    dispatch()

    during = engine.emit(LOGIN, user={"id": "u_1"})
    finished_deliveries(engine, during.id)
    time.sleep(1.6)
    after = engine.emit(LOGIN, user={"id": "u_2"})
    finished_deliveries(engine, after.id)

    first, second = receiver.received
    assert receiver_of(old).verify(first.body, first.headers)
    assert receiver_of(new).verify(second.body, second.headers)
    with pytest.raises(protekt.NoMatchingSignatureError):
        receiver_of(old).verify(second.body, second.headers)


def test_an_https_endpoint_is_delivered_to_with_the_authority_in_the_ca_file(
    engine: protekt.Engine,
    serve: Callable[..., Any],
    tls_for: Callable[..., ssl.SSLContext],
    ca_file: Path,
    subscribe: Subscriber,
    dispatch: Callable[..., None],
) -> None:
    receiver = serve(ScriptedReceiver(tls=tls_for("localhost", "127.0.0.1")))
    endpoint = subscribe(receiver.url())
    dispatch(ca_file=ca_file)

    event = engine.emit(LOGIN, user={"id": "u_1"})
    (delivery,) = finished_deliveries(engine, event.id)

    assert endpoint.url.startswith("https://localhost:")
    assert delivery.status == DeliveryStatus.SUCCEEDED
    (request,) = receiver.received
    assert receiver_of(endpoint).verify(request.body, request.headers)


# ---- retries and the dead-letter queue -----------------------------------------------


def test_failed_attempts_are_retried_at_the_interval_until_one_succeeds(
    engine: protekt.Engine,
    serve: Callable[..., Any],
    subscribe: Subscriber,
    dispatch: Callable[..., None],
) -> None:
    receiver = serve(ScriptedReceiver(script=[Answer(500), Answer(500)]))
    subscribe(receiver.url(), retry=Retry(max_attempts=3, interval=1))
    dispatch()

    event = engine.emit(LOGIN, user={"id": "u_1"})
    (delivery,) = finished_deliveries(engine, event.id)

    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert delivery.attempts == 3
    attempts = engine.attempts(delivery)
    assert [a.status for a in attempts] == [500, 500, 200]
    assert [a.number for a in attempts] == [1, 2, 3]
    for gap in seconds_between(attempts):
        assert 0.9 <= gap <= 2.5
    assert len(receiver.received) == 3


@pytest.mark.parametrize(
    ("dead_letter_queue", "outcome"),
    [
        pytest.param(True, DeliveryStatus.DEAD_LETTERED, id="dead-letter-queue"),
        pytest.param(False, DeliveryStatus.FAILED, id="no-dead-letter-queue"),
    ],
)
def test_a_delivery_out_of_retries_ends_dead_lettered_or_failed(
    engine: protekt.Engine,
    serve: Callable[..., Any],
    subscribe: Subscriber,
    dispatch: Callable[..., None],
    dead_letter_queue: bool,
    outcome: DeliveryStatus,
) -> None:
    receiver = serve(ScriptedReceiver(default=Answer(500)))
    subscribe(
        receiver.url(),
        retry=Retry(max_attempts=1, interval=1),
        dead_letter_queue=dead_letter_queue,
    )
    dispatch()

    event = engine.emit(LOGIN, user={"id": "u_1"})
    (delivery,) = finished_deliveries(engine, event.id)

    assert delivery.status == outcome
    assert delivery.attempts == 2
    assert delivery.last_status == 500
    assert [a.status for a in engine.attempts(delivery)] == [500, 500]
    assert len(receiver.received) == 2


@pytest.mark.parametrize("status", [429, 503])
def test_retry_after_sets_the_next_attempt_instead_of_the_interval(
    engine: protekt.Engine,
    serve: Callable[..., Any],
    subscribe: Subscriber,
    dispatch: Callable[..., None],
    status: int,
) -> None:
    busy = Answer(status, headers=(("Retry-After", "1"),))
    receiver = serve(ScriptedReceiver(script=[busy]))
    subscribe(receiver.url(), retry=Retry(max_attempts=3, interval=60))
    dispatch()

    event = engine.emit(LOGIN, user={"id": "u_1"})
    (pending,) = engine.deliveries(event.id)
    first = attempts_made(engine, pending)[0]
    planned = engine.delivery(event.id, pending.endpoint_id)
    (delivery,) = finished_deliveries(engine, event.id)

    assert first.status == status
    assert planned.status == DeliveryStatus.PENDING
    assert planned.next_attempt_at is not None
    wait = planned.next_attempt_at - first.started_at
    assert timedelta(seconds=0.9) <= wait <= timedelta(seconds=2)
    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert [a.status for a in engine.attempts(delivery)] == [status, 200]
    assert 0.9 <= seconds_between(engine.attempts(delivery))[0] <= 2.5


def test_a_retry_after_of_zero_still_waits_a_second(
    engine: protekt.Engine,
    serve: Callable[..., Any],
    subscribe: Subscriber,
    dispatch: Callable[..., None],
) -> None:
    busy = Answer(503, headers=(("Retry-After", "0"),))
    receiver = serve(ScriptedReceiver(script=[busy]))
    subscribe(receiver.url(), retry=Retry(max_attempts=3, interval=60))
    dispatch()

    event = engine.emit(LOGIN, user={"id": "u_1"})
    (delivery,) = finished_deliveries(engine, event.id)

    assert delivery.status == DeliveryStatus.SUCCEEDED
    attempts = engine.attempts(delivery)
    assert [a.status for a in attempts] == [503, 200]
    assert 0.9 <= seconds_between(attempts)[0] <= 2.5


@pytest.mark.parametrize(
    "dead_letter_queue",
    [pytest.param(False, id="no-dead-letter-queue"), pytest.param(True, id="dlq")],
)
def test_410_fails_the_delivery_and_disables_the_endpoint_for_later_events(
    engine: protekt.Engine,
    serve: Callable[..., Any],
    subscribe: Subscriber,
    dispatch: Callable[..., None],
    dead_letter_queue: bool,
) -> None:
    receiver = serve(ScriptedReceiver(default=Answer(410)))
    endpoint = subscribe(
        receiver.url(),
        retry=Retry(max_attempts=3, interval=1),
        dead_letter_queue=dead_letter_queue,
    )
    dispatch()

    event = engine.emit(LOGIN, user={"id": "u_1"})
    (delivery,) = finished_deliveries(engine, event.id)
    wait_for(
        lambda: engine.endpoints.get(endpoint.id).status == EndpointStatus.DISABLED,
        what="the endpoint disabled",
    )
    later = engine.emit(LOGIN, user={"id": "u_2"})

    assert delivery.status == DeliveryStatus.FAILED
    assert delivery.attempts == 1
    assert [a.status for a in engine.attempts(delivery)] == [410]
    assert later.deliveries == 0
    assert engine.deliveries(later.id) == []
    assert len(receiver.received) == 1


def test_a_redirect_is_not_followed(
    engine: protekt.Engine,
    serve: Callable[..., Any],
    subscribe: Subscriber,
    dispatch: Callable[..., None],
) -> None:
    receiver: ScriptedReceiver = serve(ScriptedReceiver())
    moved = Answer(301, headers=(("Location", receiver.url("/moved")),))
    receiver.default = moved
    subscribe(receiver.url())
    dispatch()

    event = engine.emit(LOGIN, user={"id": "u_1"})
    attempt = only_attempt(engine, event)
    time.sleep(0.3)  # time enough for a followed redirect to arrive

    assert attempt.status == 301
    assert [r.target for r in receiver.received] == ["/hooks"]
    (delivery,) = engine.deliveries(event.id)
    assert delivery.status == DeliveryStatus.PENDING


# ---- failures below HTTP -------------------------------------------------------------


def test_a_receiver_slower_than_the_endpoint_timeout_is_a_timeout(
    engine: protekt.Engine,
    serve: Callable[..., Any],
    subscribe: Subscriber,
    dispatch: Callable[..., None],
) -> None:
    receiver = serve(ScriptedReceiver(default=Answer(delay=3)))
    subscribe(receiver.url(), timeout=1)
    dispatch()

    event = engine.emit(LOGIN, user={"id": "u_1"})
    attempt = only_attempt(engine, event)

    assert attempt.error_class == "timeout"
    assert attempt.status is None
    assert 0.9 <= attempt.duration <= 2.5


def test_a_connection_reset_is_a_reset(
    engine: protekt.Engine,
    serve: Callable[..., Any],
    subscribe: Subscriber,
    dispatch: Callable[..., None],
) -> None:
    receiver = serve(HangingUpReceiver(reset=True))
    subscribe(f"http://127.0.0.1:{receiver.port}/hooks")
    dispatch()

    event = engine.emit(LOGIN, user={"id": "u_1"})
    attempt = only_attempt(engine, event)

    assert attempt.error_class == "reset"
    assert attempt.status is None


def test_a_certificate_for_another_host_is_a_tls_hostname_mismatch(
    engine: protekt.Engine,
    serve: Callable[..., Any],
    tls_for: Callable[..., ssl.SSLContext],
    ca_file: Path,
    subscribe: Subscriber,
    dispatch: Callable[..., None],
) -> None:
    receiver = serve(ScriptedReceiver(tls=tls_for("receiver.example")))
    subscribe(receiver.url())
    dispatch(ca_file=ca_file)

    event = engine.emit(LOGIN, user={"id": "u_1"})
    attempt = only_attempt(engine, event)

    assert attempt.error_class == "tls"
    assert "hostname mismatch" in attempt.error
    assert receiver.received == []


def test_loopback_is_refused_as_ssrf_without_allowed_networks(
    engine: protekt.Engine,
    receiver: ScriptedReceiver,
    subscribe: Subscriber,
    dispatch: Callable[..., None],
) -> None:
    subscribe(receiver.url())
    dispatch(allowed_networks=())

    event = engine.emit(LOGIN, user={"id": "u_1"})
    attempt = only_attempt(engine, event)
    time.sleep(0.2)  # a connection, had one been made, would have arrived

    assert attempt.error_class == "ssrf"
    assert "127.0.0.1" in attempt.error
    assert receiver.connections == 0


# ---- many endpoints, many requests ---------------------------------------------------


def test_a_dead_endpoint_does_not_delay_a_healthy_one(
    engine: protekt.Engine,
    serve: Callable[..., Any],
    receiver: ScriptedReceiver,
    subscribe: Subscriber,
    dispatch: Callable[..., None],
) -> None:
    dead = serve(SilentReceiver())
    hanging = subscribe(f"http://127.0.0.1:{dead.port}/hooks", timeout=5)
    healthy = subscribe(receiver.url())
    dispatch()

    events = [engine.emit(LOGIN, user={"id": f"u_{n}"}) for n in range(3)]
    started = time.monotonic()
    wait_for(
        lambda: all(
            engine.delivery(e.id, healthy.id).status == DeliveryStatus.SUCCEEDED
            for e in events
        ),
        what="the healthy endpoint's deliveries",
        timeout=5,
    )
    elapsed = time.monotonic() - started

    assert elapsed < 1.5
    assert len(receiver.received) == 3
    stuck = [engine.delivery(e.id, hanging.id).status for e in events]
    assert stuck == [DeliveryStatus.IN_FLIGHT] * 3


def test_no_more_requests_than_the_concurrency_reach_one_endpoint_at_once(
    engine: protekt.Engine,
    serve: Callable[..., Any],
    subscribe: Subscriber,
    dispatch: Callable[..., None],
) -> None:
    receiver = serve(ScriptedReceiver(default=Answer(delay=0.3)))
    subscribe(receiver.url())
    events = [engine.emit(LOGIN, user={"id": f"u_{n}"}) for n in range(10)]
    dispatch(concurrency=2)

    outcomes = [finished_deliveries(engine, e.id)[0].status for e in events]

    assert outcomes == [DeliveryStatus.SUCCEEDED] * 10
    assert len(receiver.received) == 10
    assert receiver.peak == 2


def held(engine: protekt.Engine, events: list[protekt.Event]) -> int:
    """How many deliveries of `events` the dispatcher holds (leased)."""
    statuses = [d.status for e in events for d in engine.deliveries(e.id)]
    return statuses.count(DeliveryStatus.IN_FLIGHT)


def cpu_seconds_over(seconds: float) -> float:
    """CPU time this process (every thread) uses while the caller sleeps."""
    before = time.process_time()
    time.sleep(seconds)
    return time.process_time() - before


def test_a_slow_endpoint_holds_few_deliveries_and_its_backlog_costs_no_cpu(
    engine: protekt.Engine,
    serve: Callable[..., Any],
    subscribe: Subscriber,
    dispatch: Callable[..., None],
) -> None:
    silent = serve(SilentReceiver())
    subscribe(f"http://127.0.0.1:{silent.port}/hooks", timeout=10)
    events = [engine.emit(LOGIN, user={"id": f"u_{n}"}) for n in range(40)]
    dispatch(concurrency=1)
    wait_for(lambda: silent.connections == 1, what="the first request")

    # One request in flight and eight waiting for it; the rest stay in the store.
    wait_for(lambda: held(engine, events) == 9, what="the endpoint's first lease")
    assert cpu_seconds_over(1.0) < 0.1
    assert held(engine, events) == 9
    assert silent.connections == 1


def test_at_max_in_flight_the_dispatcher_waits_for_room_without_spinning(
    engine: protekt.Engine,
    serve: Callable[..., Any],
    subscribe: Subscriber,
    dispatch: Callable[..., None],
) -> None:
    silent = serve(SilentReceiver())
    for n in range(3):
        subscribe(f"http://127.0.0.1:{silent.port}/hooks/{n}", timeout=10)
    events = [engine.emit(LOGIN, user={"id": f"u_{n}"}) for n in range(10)]
    dispatch(concurrency=2, max_in_flight=4)

    wait_for(lambda: held(engine, events) == 4, what="a lease up to max_in_flight")
    assert cpu_seconds_over(1.0) < 0.1
    assert held(engine, events) == 4


def test_at_max_in_flight_endpoints_with_backlogs_are_served_in_turn(
    engine: protekt.Engine,
    serve: Callable[..., Any],
    subscribe: Subscriber,
    dispatch: Callable[..., None],
) -> None:
    receiver = serve(ScriptedReceiver(default=Answer(delay=0.01)))
    subscribe(receiver.url("/a"))  # created first: the lower id
    subscribe(receiver.url("/b"))
    events = [engine.emit(LOGIN, user={"id": f"u_{n}"}) for n in range(30)]
    dispatch(concurrency=1, max_in_flight=4)

    wait_for(lambda: len(receiver.received) == 60, what="every delivery", timeout=20)

    # /b is not left waiting until /a's backlog is gone.
    order = [r.target for r in receiver.received]
    tenth_a = [i for i, target in enumerate(order) if target == "/a"][9]
    assert order.index("/b") < tenth_a
    wait_for(lambda: held(engine, events) == 0, what="every outcome stored")


def engine_threads() -> dict[str, list[int]]:
    """This process's threads by name, the engine's among them."""
    threads: dict[str, list[int]] = {}
    for task in Path("/proc/self/task").iterdir():
        try:
            name = (task / "comm").read_text().strip()
        except FileNotFoundError:  # the thread ended meanwhile
            continue
        threads.setdefault(name, []).append(int(task.name))
    return threads


def test_dispatcher_threads_are_named_and_run_as_background_work(
    engine: protekt.Engine, dispatch: Callable[..., None]
) -> None:
    dispatch(threads=3)
    named = (
        "protekt-io-0",
        "protekt-io-1",
        "protekt-io-2",
        "protekt-lease",
        "protekt-outcome",
        "protekt-emit",
    )

    def all_named() -> dict[str, list[int]] | None:
        found = engine_threads()
        return found if set(named) <= set(found) else None

    # Each thread names itself as it starts, after setting its policy.
    threads = wait_for(all_named, what="the dispatcher's named threads")
    for name in named[:-1]:  # other open engines have emit threads too
        assert len(threads[name]) == 1, f"{name} in {sorted(threads)}"
    assert "protekt-io-3" not in threads
    # The dispatcher's threads are background work (SCHED_BATCH); the thread that
    # stores emits, which callers wait for, is not.
    for name in named[:-1]:
        assert os.sched_getscheduler(threads[name][0]) == os.SCHED_BATCH, name
    assert os.sched_getscheduler(threads["protekt-emit"][0]) == os.SCHED_OTHER

    engine.stop_dispatcher()
    left = engine_threads()
    assert not [name for name in left if name.startswith("protekt-io-")]
    assert "protekt-lease" not in left
    assert "protekt-outcome" not in left


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("concurrency", 0),
        ("concurrency", 1025),
        ("concurrency", True),
        ("max_in_flight", 0),
        ("threads", -1),
        ("threads", 2.5),
    ],
)
def test_dispatcher_limits_out_of_range_are_refused_by_name(
    engine: protekt.Engine, option: str, value: object
) -> None:
    with pytest.raises(protekt.ValidationError) as refused:
        engine.start_dispatcher(**{option: value})

    assert refused.value.field == option
    assert option in str(refused.value)
    assert not engine.dispatching


def test_two_endpoints_at_one_origin_both_get_every_event(
    engine: protekt.Engine,
    receiver: ScriptedReceiver,
    subscribe: Subscriber,
    dispatch: Callable[..., None],
) -> None:
    subscribe(receiver.url("/first"))
    subscribe(receiver.url("/second"))
    dispatch(concurrency=4)

    events = [engine.emit(LOGIN, user={"id": f"u_{n}"}) for n in range(20)]
    outcomes = [d.status for e in events for d in finished_deliveries(engine, e.id)]

    assert outcomes == [DeliveryStatus.SUCCEEDED] * 40
    targets = sorted(r.target for r in receiver.received)
    assert targets == ["/first"] * 20 + ["/second"] * 20


def test_a_delivery_to_an_endpoint_created_just_before_is_never_cancelled(
    engine: protekt.Engine,
    receiver: ScriptedReceiver,
    subscribe: Subscriber,
    dispatch: Callable[..., None],
) -> None:
    dispatch()

    # Each event goes to the one endpoint created just before it.
    events = []
    for n in range(300):
        endpoint = subscribe(receiver.url(f"/{n}"))
        events.append(engine.emit(LOGIN, user={"id": f"u_{n}"}))
        engine.endpoints.update(endpoint.id, events=["user.registered"])
    outcomes = [d.status for e in events for d in finished_deliveries(engine, e.id)]

    assert outcomes == [DeliveryStatus.SUCCEEDED] * 300


# ---- stopping, pausing, and other processes ------------------------------------------


def test_deliveries_emitted_while_stopped_are_sent_when_the_dispatcher_restarts(
    engine: protekt.Engine,
    receiver: ScriptedReceiver,
    subscribe: Subscriber,
    dispatch: Callable[..., None],
) -> None:
    subscribe(receiver.url())
    dispatch()
    first = engine.emit(LOGIN, user={"id": "u_1"})
    finished_deliveries(engine, first.id)
    engine.stop_dispatcher()

    second = engine.emit(LOGIN, user={"id": "u_2"})
    time.sleep(0.5)
    (held,) = engine.deliveries(second.id)
    assert not engine.dispatching
    assert held.status == DeliveryStatus.PENDING
    assert len(receiver.received) == 1

    dispatch()
    (delivery,) = finished_deliveries(engine, second.id)
    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert [r.headers["webhook-id"] for r in receiver.received] == [
        first.id,
        second.id,
    ]


def test_a_request_cut_short_by_stop_is_sent_again_after_restart(
    engine: protekt.Engine,
    serve: Callable[..., Any],
    subscribe: Subscriber,
    dispatch: Callable[..., None],
) -> None:
    receiver = serve(ScriptedReceiver(script=[Answer(delay=3)]))
    subscribe(receiver.url())
    dispatch(stop_grace=0.2)
    event = engine.emit(LOGIN, user={"id": "u_1"})
    wait_for(lambda: receiver.in_flight, what="the request in flight")

    engine.stop_dispatcher()
    (released,) = engine.deliveries(event.id)
    assert released.status == DeliveryStatus.PENDING
    assert released.attempts == 0

    dispatch()
    (delivery,) = finished_deliveries(engine, event.id)
    assert delivery.status == DeliveryStatus.SUCCEEDED
    assert [r.headers["webhook-id"] for r in receiver.received] == [event.id] * 2


@pytest.mark.parametrize("gone", ["delete", "disable"])
def test_a_delivery_to_a_deleted_or_disabled_endpoint_is_cancelled(
    engine: protekt.Engine,
    receiver: ScriptedReceiver,
    subscribe: Subscriber,
    dispatch: Callable[..., None],
    gone: str,
) -> None:
    endpoint = subscribe(receiver.url())
    event = engine.emit(LOGIN, user={"id": "u_1"})
    getattr(engine.endpoints, gone)(endpoint.id)
    dispatch()

    (delivery,) = finished_deliveries(engine, event.id)

    assert delivery.status == DeliveryStatus.CANCELLED
    assert engine.attempts(delivery) == []
    assert receiver.received == []


def test_a_paused_endpoint_holds_its_delivery_without_attempting_it(
    engine: protekt.Engine,
    receiver: ScriptedReceiver,
    subscribe: Subscriber,
    dispatch: Callable[..., None],
) -> None:
    endpoint = subscribe(receiver.url())
    event = engine.emit(LOGIN, user={"id": "u_1"})
    engine.endpoints.pause(endpoint.id)
    dispatch()

    time.sleep(1.5)

    (delivery,) = engine.deliveries(event.id)
    assert delivery.status == DeliveryStatus.PENDING
    assert delivery.attempts == 0
    assert engine.attempts(delivery) == []
    assert receiver.received == []


def test_a_resumed_endpoint_gets_its_held_delivery_promptly(
    engine: protekt.Engine,
    receiver: ScriptedReceiver,
    subscribe: Subscriber,
    dispatch: Callable[..., None],
) -> None:
    endpoint = subscribe(receiver.url())
    event = engine.emit(LOGIN, user={"id": "u_1"})
    engine.endpoints.pause(endpoint.id)
    dispatch()
    wait_for(lambda: held_back(engine, event.id, endpoint.id), what="delivery held")

    engine.endpoints.resume(endpoint.id)

    (delivery,) = finished_deliveries(engine, event.id, timeout=5)
    assert delivery.status == DeliveryStatus.SUCCEEDED


# argv: directory. Prints what start_dispatcher() answered.
STARTER = """
import sys
import protekt

with protekt.Engine(sys.argv[1], allow_http=True) as engine:
    print(engine.start_dispatcher(allowed_networks=["127.0.0.0/8"]), flush=True)
"""

# argv: directory. Runs a dispatcher, says "dispatching", and waits to be killed.
DISPATCHER = """
import sys, time
import protekt

engine = protekt.Engine(sys.argv[1], allow_http=True)
assert engine.start_dispatcher(
    allowed_networks=["127.0.0.0/8"], concurrency=8, lease=4
)
print("dispatching", flush=True)
time.sleep(30)
"""


def run_child(script: str, directory: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-c", script, str(directory)],
        stdout=subprocess.PIPE,
        text=True,
    )


def test_a_second_process_cannot_start_a_dispatcher_while_one_runs(
    engine: protekt.Engine,
    directory: Path,
    dispatch: Callable[..., None],
) -> None:
    dispatch()

    child = run_child(STARTER, directory)
    out, _ = child.communicate(timeout=30)

    assert child.returncode == 0
    assert out.strip() == "False"
    assert engine.dispatching


@dataclass
class KilledMidDelivery:
    """A dispatcher process SIGKILLed while its requests were at the receiver."""

    engine: protekt.Engine
    receiver: ScriptedReceiver
    events: list[protekt.Event]


@pytest.fixture
def killed_mid_delivery(
    engine: protekt.Engine,
    directory: Path,
    serve: Callable[..., Any],
    subscribe: Subscriber,
) -> Iterator[KilledMidDelivery]:
    """Six events whose requests a child's dispatcher sent to a slow receiver, then
    died of SIGKILL before any answer came. The receiver answers at once afterwards."""
    receiver = serve(ScriptedReceiver(default=Answer(delay=3)))
    subscribe(receiver.url())
    events = [engine.emit(LOGIN, user={"id": f"u_{n}"}) for n in range(6)]

    with run_child(DISPATCHER, directory) as child:
        try:
            assert child.stdout is not None
            assert child.stdout.readline().strip() == "dispatching"
            wait_for(lambda: receiver.in_flight == 6, what="six requests in flight")
            child.send_signal(signal.SIGKILL)
            child.wait(timeout=10)
            receiver.default = Answer()
            yield KilledMidDelivery(engine, receiver, events)
        finally:
            if child.poll() is None:
                child.kill()


def test_a_dispatcher_killed_mid_delivery_loses_no_delivery(
    killed_mid_delivery: KilledMidDelivery,
) -> None:
    engine = killed_mid_delivery.engine

    for event in killed_mid_delivery.events:
        (delivery,) = engine.deliveries(event.id)
        assert delivery.status in (
            DeliveryStatus.IN_FLIGHT,
            DeliveryStatus.PENDING,
            DeliveryStatus.SUCCEEDED,
        )
    assert engine.try_lock_dispatcher()
    assert engine.start_dispatcher(allowed_networks=LOOPBACK, stop_grace=1)


def test_deliveries_of_a_killed_dispatcher_are_made_after_restart(
    killed_mid_delivery: KilledMidDelivery,
) -> None:
    engine = killed_mid_delivery.engine
    assert engine.start_dispatcher(allowed_networks=LOOPBACK, stop_grace=1)

    for event in killed_mid_delivery.events:
        (delivery,) = finished_deliveries(engine, event.id, timeout=10)
        assert delivery.status == DeliveryStatus.SUCCEEDED
