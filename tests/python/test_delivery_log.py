"""The delivery log (filters, pages), each endpoint's statistics and the engine's
metrics, from deliveries made the real way to receivers on 127.0.0.1."""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

import protekt
from _dispatch_helpers import Answer, ScriptedReceiver, finished_deliveries
from protekt import DeliveryStatus, Retry

LOGIN = "user.login.succeeded"
FAILED_LOGIN = "user.login.failed"
LOOPBACK = ("127.0.0.0/8",)


@pytest.fixture
def engine(open_engine: Callable[..., protekt.Engine]) -> protekt.Engine:
    return open_engine(allow_http=True, retention=0)


def active(engine: protekt.Engine, url: str, **settings: Any) -> protekt.Endpoint:
    settings = {"events": [LOGIN, FAILED_LOGIN], **settings}
    created = engine.endpoints.create(url=url, **settings)
    return engine.endpoints.save(created.id, skip_verification=True)


def dispatch(engine: protekt.Engine) -> None:
    assert engine.start_dispatcher(allowed_networks=LOOPBACK, stop_grace=1)


def delivered(engine: protekt.Engine, events: list[protekt.Event]) -> None:
    for event in events:
        finished_deliveries(engine, event.id)


# ---- the log ---------------------------------------------------------------------


def test_the_log_lists_every_delivery_newest_first_with_its_event_type(
    engine: protekt.Engine,
) -> None:
    first = active(engine, "http://127.0.0.1:9/first")
    second = active(engine, "http://127.0.0.1:9/second")
    older = engine.emit(LOGIN, user={"id": "u_1"})
    newer = engine.emit(FAILED_LOGIN, user={"id": "u_2"})

    page = engine.delivery_log()

    assert [(d.event_id, d.event_type) for d in page] == [
        (newer.id, FAILED_LOGIN),
        (newer.id, FAILED_LOGIN),
        (older.id, LOGIN),
        (older.id, LOGIN),
    ]
    assert {d.endpoint_id for d in page} == {first.id, second.id}
    assert page.next is None


def test_the_log_of_one_endpoint_holds_only_its_deliveries(
    engine: protekt.Engine,
) -> None:
    mine = active(engine, "http://127.0.0.1:9/mine")
    other = active(engine, "http://127.0.0.1:9/other", events=[LOGIN])
    events = [engine.emit(LOGIN, user={"id": f"u_{i}"}) for i in range(3)]

    page = engine.delivery_log(endpoint_id=mine.id)

    assert [d.event_id for d in page] == [e.id for e in reversed(events)]
    assert {d.endpoint_id for d in page} == {mine.id}
    assert len(engine.delivery_log(endpoint_id=other.id)) == 3


def test_pages_of_the_log_list_every_delivery_once(engine: protekt.Engine) -> None:
    endpoint = active(engine, "http://127.0.0.1:9/hooks")
    events = [engine.emit(LOGIN, user={"id": f"u_{i}"}) for i in range(7)]

    for endpoint_id in (endpoint.id, None):
        seen: list[str] = []
        after: str | None = None
        for _ in range(10):
            page = engine.delivery_log(endpoint_id=endpoint_id, limit=3, after=after)
            seen += [d.event_id for d in page]
            after = page.next
            if after is None:
                break
        assert seen == [e.id for e in reversed(events)]


def test_the_log_filters_by_event_type_and_status(
    engine: protekt.Engine, serve: Callable[..., ScriptedReceiver]
) -> None:
    receiver = serve(ScriptedReceiver(default=Answer(200)))
    endpoint = active(engine, receiver.url())
    login = engine.emit(LOGIN, user={"id": "u_1"})
    failed = engine.emit(FAILED_LOGIN, user={"id": "u_2"})
    dispatch(engine)
    delivered(engine, [login, failed])
    engine.stop_dispatcher()
    waiting = engine.emit(LOGIN, user={"id": "u_3"})

    by_type = engine.delivery_log(endpoint_id=endpoint.id, event_type=FAILED_LOGIN)
    assert [d.event_id for d in by_type] == [failed.id]
    succeeded = engine.delivery_log(status=DeliveryStatus.SUCCEEDED)
    assert [d.event_id for d in succeeded] == [failed.id, login.id]
    pending = engine.delivery_log(status="pending", event_type=LOGIN)
    assert [d.event_id for d in pending] == [waiting.id]


def test_the_log_filters_by_the_events_time(engine: protekt.Engine) -> None:
    active(engine, "http://127.0.0.1:9/hooks")
    before = engine.emit(LOGIN, user={"id": "u_1"})
    time.sleep(0.01)
    middle_start = datetime.now(UTC)
    middle = engine.emit(LOGIN, user={"id": "u_2"})
    time.sleep(0.01)
    middle_end = datetime.now(UTC)
    after = engine.emit(LOGIN, user={"id": "u_3"})

    assert [d.event_id for d in engine.delivery_log(since=middle_start)] == [
        after.id,
        middle.id,
    ]
    assert [d.event_id for d in engine.delivery_log(until=middle_start)] == [before.id]
    window = engine.delivery_log(since=middle_start, until=middle_end)
    assert [d.event_id for d in window] == [middle.id]


def test_the_log_refuses_bad_filters_naming_each(engine: protekt.Engine) -> None:
    endpoint = active(engine, "http://127.0.0.1:9/hooks")
    with pytest.raises(protekt.ValidationError, match="status") as raised:
        engine.delivery_log(status="lost")
    assert raised.value.field == "status"
    with pytest.raises(protekt.ValidationError, match="timezone-aware"):
        engine.delivery_log(since=datetime(2026, 1, 1))
    with pytest.raises(protekt.ValidationError, match="limit"):
        engine.delivery_log(endpoint_id=endpoint.id, limit=0)
    with pytest.raises(protekt.ValidationError, match="after"):
        engine.delivery_log(after="not hex")
    with pytest.raises(protekt.NotFoundError):
        engine.delivery_log(endpoint_id="ep_01M8ZQJD50M282KPBH4DMX5HHR")


def test_swept_events_leave_the_log(
    engine: protekt.Engine, serve: Callable[..., ScriptedReceiver]
) -> None:
    receiver = serve(ScriptedReceiver(default=Answer(200)))
    endpoint = active(engine, receiver.url())
    event = engine.emit(LOGIN, user={"id": "u_1"})
    dispatch(engine)
    delivered(engine, [event])
    assert [d.event_id for d in engine.delivery_log(endpoint_id=endpoint.id)] == [
        event.id
    ]
    time.sleep(0.01)  # retention is 0 here, and it counts whole milliseconds

    assert engine.sweep() == (1, 0)

    assert len(engine.delivery_log(endpoint_id=endpoint.id)) == 0
    assert len(engine.delivery_log()) == 0


# ---- statistics ------------------------------------------------------------------


def test_stats_count_successes_failures_retries_and_latency(
    engine: protekt.Engine, serve: Callable[..., ScriptedReceiver]
) -> None:
    healthy = serve(ScriptedReceiver(default=Answer(200, delay=0.03)))
    broken = serve(ScriptedReceiver(default=Answer(500)))
    good = active(engine, healthy.url())
    bad = active(
        engine,
        broken.url(),
        retry=Retry(max_attempts=1, interval=1),
        dead_letter_queue=True,
    )
    dispatch(engine)
    events = [engine.emit(LOGIN, user={"id": f"u_{i}"}) for i in range(4)]
    delivered(engine, events)

    stats = engine.endpoints.stats(good.id)
    assert (stats.deliveries, stats.succeeded, stats.failed) == (4, 4, 0)
    assert (stats.attempts, stats.failed_attempts, stats.retries) == (4, 0, 0)
    assert stats.success_rate == 1.0
    assert stats.latency_p50 is not None
    assert stats.latency_p90 is not None
    assert stats.latency_p99 is not None
    assert 0.025 <= stats.latency_p50 <= stats.latency_p90 <= stats.latency_p99 < 5
    assert stats.latency_sum >= 4 * 0.025
    bounds = [bound for bound, _ in stats.latency_buckets]
    assert bounds == sorted(bounds)
    assert math.isinf(bounds[-1])
    assert stats.latency_buckets[-1][1] == 4  # cumulative: the last holds all
    assert dict(stats.latency_buckets)[0.025] == 0  # none answered that fast
    assert stats.last_error is None
    assert stats.last_error_at is None

    failing = engine.endpoints.stats(bad.id)
    assert (failing.deliveries, failing.dead_lettered, failing.succeeded) == (4, 4, 0)
    assert (failing.attempts, failing.failed_attempts, failing.retries) == (8, 8, 4)
    assert failing.success_rate == 0.0
    assert failing.last_error == "the endpoint answered 500"
    assert failing.last_error_at is not None
    assert datetime.now(UTC) - failing.last_error_at < timedelta(minutes=1)


def test_an_unreachable_endpoint_has_an_error_but_no_latency(
    engine: protekt.Engine,
) -> None:
    endpoint = active(engine, "http://127.0.0.1:9/closed", retry=Retry(max_attempts=0))
    dispatch(engine)
    delivered(engine, [engine.emit(LOGIN, user={"id": "u_1"})])

    stats = engine.endpoints.stats(endpoint.id)

    assert (stats.failed, stats.attempts, stats.failed_attempts) == (1, 1, 1)
    assert stats.latency_p50 is None
    assert stats.latency_buckets[-1][1] == 0
    assert stats.last_error is not None
    assert "refused" in stats.last_error


def test_a_replayed_dead_letter_that_succeeds_counts_as_both(
    engine: protekt.Engine, serve: Callable[..., ScriptedReceiver]
) -> None:
    receiver = serve(ScriptedReceiver(default=Answer(500)))
    endpoint = active(
        engine, receiver.url(), retry=Retry(max_attempts=0), dead_letter_queue=True
    )
    dispatch(engine)
    event = engine.emit(LOGIN, user={"id": "u_1"})
    delivered(engine, [event])
    receiver.default = Answer(200)

    engine.dead_letters.replay(event.id, endpoint.id)
    delivered(engine, [event])

    stats = engine.endpoints.stats(endpoint.id)
    assert (stats.deliveries, stats.dead_lettered, stats.succeeded) == (1, 1, 1)
    assert (stats.attempts, stats.retries) == (2, 1)


def test_stats_of_an_unknown_endpoint_are_not_found(engine: protekt.Engine) -> None:
    with pytest.raises(protekt.NotFoundError):
        engine.endpoints.stats("ep_01M8ZQJD50M282KPBH4DMX5HHR")


# ---- metrics ---------------------------------------------------------------------


def test_metrics_count_events_queue_dead_letters_and_each_endpoint(
    engine: protekt.Engine, serve: Callable[..., ScriptedReceiver]
) -> None:
    receiver = serve(ScriptedReceiver(default=Answer(500)))
    endpoint = active(
        engine, receiver.url(), retry=Retry(max_attempts=0), dead_letter_queue=True
    )
    idle = active(engine, "http://127.0.0.1:9/idle", events=[FAILED_LOGIN])
    first = engine.emit(LOGIN, user={"id": "u_1"}, idempotency_key="k1")
    engine.emit(LOGIN, user={"id": "u_1"}, idempotency_key="k1")  # a repeat
    engine.emit("user.registered", user={"id": "u_2"})  # nobody subscribed

    before = engine.metrics()
    assert (before.events_emitted, before.queue_depth, before.dead_letters) == (2, 1, 0)

    dispatch(engine)
    delivered(engine, [first, engine.emit(LOGIN, user={"id": "u_3"})])

    after = engine.metrics()
    assert (after.events_emitted, after.queue_depth, after.dead_letters) == (3, 0, 2)
    counted = after.endpoints[endpoint.id]
    assert (counted.deliveries, counted.dead_lettered, counted.attempts) == (2, 2, 2)
    assert idle.id not in after.endpoints  # it has counted nothing yet


def test_counts_survive_a_reopen(
    open_engine: Callable[..., protekt.Engine],
) -> None:
    first = open_engine()
    endpoint = active(first, "https://hooks.example.com/protekt")
    for i in range(3):
        first.emit(LOGIN, user={"id": f"u_{i}"})
    first.close()

    reopened = open_engine()

    assert reopened.metrics().events_emitted == 3
    assert reopened.endpoints.stats(endpoint.id).deliveries == 3
    assert len(reopened.delivery_log(endpoint_id=endpoint.id)) == 3


def test_a_deleted_endpoint_leaves_the_metrics(engine: protekt.Engine) -> None:
    endpoint = active(engine, "https://hooks.example.com/protekt")
    engine.emit(LOGIN, user={"id": "u_1"})
    assert endpoint.id in engine.metrics().endpoints

    engine.endpoints.delete(endpoint.id)

    assert endpoint.id not in engine.metrics().endpoints
