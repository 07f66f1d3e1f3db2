"""Emitting events: what is stored, who gets a delivery, and what each body holds.

Every test runs against a real LMDB directory under pytest's tmp_path.
"""

from __future__ import annotations

import asyncio
import json
import math
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import pytest

import protekt
from conftest import EngineOpener
from protekt import (
    Delivery,
    DeliveryStatus,
    Endpoint,
    Engine,
    EngineClosedError,
    Event,
    NotFoundError,
    Payload,
    StorageError,
    ValidationError,
)

LOGIN = "user.login.succeeded"
FAILED_LOGIN = "user.login.failed"
REGISTERED = "user.registered"

# One login with every kind of metadata, and one member that is not metadata.
LOGIN_DATA: dict[str, Any] = {
    "user": {"id": "u_42", "email": "ada@example.com", "name": "Ada"},
    "ip": "203.0.113.7",
    "device": {"browser": "Firefox", "os": "Linux"},
    "user_agent": "Mozilla/5.0 (X11; Linux x86_64)",
    "location": {"country": "NL", "city": "Delft"},
    "reason": "password & 2FA + ünïcode ~ ok",
}

Subscriber = Callable[..., Endpoint]


# ---- fixtures ------------------------------------------------------------------------


@pytest.fixture
def subscribe(engine: Engine) -> Subscriber:
    """Creates an endpoint for `events` (logins by default) and activates it."""
    counter = iter(range(1_000))

    def make(
        events: tuple[str, ...] = (LOGIN,),
        payload: Payload | None = None,
    ) -> Endpoint:
        endpoint = engine.endpoints.create(
            url=f"https://receiver.example/{next(counter)}",
            events=list(events),
            payload=payload,
        )
        return engine.endpoints.save(endpoint.id, skip_verification=True)

    return make


def body_of(engine: Engine, event: Event, endpoint: Endpoint) -> bytes:
    """The body of the one delivery of `event` to `endpoint`."""
    (delivery,) = [
        d for d in engine.deliveries(event.id) if d.endpoint_id == endpoint.id
    ]
    return engine.delivery_body(delivery)


def delivery_to(engine: Engine, event: Event, endpoint: Endpoint) -> Delivery:
    (delivery,) = [
        d for d in engine.deliveries(event.id) if d.endpoint_id == endpoint.id
    ]
    return delivery


def data_sent(engine: Engine, event: Event, endpoint: Endpoint) -> dict[str, Any]:
    """The data member of the JSON `endpoint` receives for `event`."""
    data: dict[str, Any] = json.loads(body_of(engine, event, endpoint))["data"]
    return data


# ---- the event -----------------------------------------------------------------------


def test_an_emitted_event_describes_itself(engine: Engine) -> None:
    before = datetime.now(UTC)

    event = engine.emit(LOGIN, user={"id": "u_42"})

    assert event.id.startswith("evt_")
    assert event.type == LOGIN
    assert event.deliveries == 0
    assert event.duplicate is False
    assert event.timestamp.tzinfo is not None
    assert before - timedelta(seconds=1) <= event.timestamp <= datetime.now(UTC)


def test_an_emitted_event_is_stored_as_an_envelope(engine: Engine) -> None:
    event = engine.emit(LOGIN, **LOGIN_DATA)

    envelope = engine.get_event(event.id)

    assert envelope["id"] == event.id
    assert envelope["type"] == LOGIN
    assert datetime.fromisoformat(envelope["timestamp"]) == event.timestamp
    assert envelope["data"] == LOGIN_DATA


def test_an_emitted_event_outlives_its_engine(open_engine: EngineOpener) -> None:
    first = open_engine()
    event = first.emit(LOGIN, user={"id": "u_42"})
    first.close()

    assert open_engine().get_event(event.id)["data"] == {"user": {"id": "u_42"}}


@pytest.mark.parametrize("event_type", protekt.AUTH_EVENTS)
def test_every_authentication_event_can_be_emitted(
    engine: Engine, event_type: str
) -> None:
    assert engine.emit(event_type).type == event_type


def test_an_unknown_event_type_is_refused_with_the_known_ones(engine: Engine) -> None:
    with pytest.raises(ValidationError) as refused:
        engine.emit("user.logged_in")

    assert refused.value.field == "type"
    for name in protekt.AUTH_EVENTS:
        assert name in str(refused.value)


@pytest.mark.parametrize("event_type", protekt.ENGINE_EVENTS)
def test_events_the_engine_sends_itself_cannot_be_emitted(
    engine: Engine, subscribe: Subscriber, event_type: str
) -> None:
    subscribe(events=(event_type,))

    with pytest.raises(ValidationError) as refused:
        engine.emit(event_type)

    assert refused.value.field == "type"
    assert engine.queue_depth == 0


def test_an_unknown_event_id_is_not_found(engine: Engine) -> None:
    with pytest.raises(NotFoundError):
        engine.get_event("evt_" + "0" * 26)


@pytest.mark.parametrize("malformed", ["evt_123", "ep_" + "0" * 26, ""])
def test_a_malformed_event_id_is_refused_as_invalid(
    engine: Engine, malformed: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        engine.get_event(malformed)

    assert refused.value.field == "event_id"


# ---- who gets a delivery -------------------------------------------------------------


def test_each_active_subscribed_endpoint_gets_one_pending_delivery(
    engine: Engine, subscribe: Subscriber
) -> None:
    first, second = subscribe(), subscribe(events=(LOGIN, FAILED_LOGIN))

    event = engine.emit(LOGIN, user={"id": "u_42"})

    deliveries = engine.deliveries(event.id)
    assert event.deliveries == 2
    assert {d.endpoint_id for d in deliveries} == {first.id, second.id}
    for delivery in deliveries:
        assert delivery.event_id == event.id
        assert delivery.status is DeliveryStatus.PENDING
        assert delivery.attempts == 0
        assert delivery.next_attempt_at == delivery.created_at
        assert delivery.completed_at is None
        assert delivery.last_status is None


def test_endpoints_not_subscribed_to_the_type_get_nothing(
    engine: Engine, subscribe: Subscriber
) -> None:
    subscribe(events=(FAILED_LOGIN,))

    event = engine.emit(LOGIN)

    assert event.deliveries == 0
    assert engine.deliveries(event.id) == []


def test_an_endpoint_not_yet_saved_gets_nothing(engine: Engine) -> None:
    engine.endpoints.create(url="https://receiver.example/", events=[LOGIN])

    event = engine.emit(LOGIN)

    assert event.deliveries == 0
    assert engine.deliveries(event.id) == []


def test_a_paused_endpoint_misses_events_until_resumed(
    engine: Engine, subscribe: Subscriber
) -> None:
    endpoint = subscribe()
    engine.endpoints.pause(endpoint.id)

    missed = engine.emit(LOGIN)
    engine.endpoints.resume(endpoint.id)
    received = engine.emit(LOGIN)

    assert engine.deliveries(missed.id) == []
    assert [d.endpoint_id for d in engine.deliveries(received.id)] == [endpoint.id]


@pytest.mark.parametrize("change", ["disable", "delete"])
def test_a_disabled_or_deleted_endpoint_gets_nothing_new(
    engine: Engine, subscribe: Subscriber, change: str
) -> None:
    endpoint = subscribe()
    getattr(engine.endpoints, change)(endpoint.id)

    assert engine.emit(LOGIN).deliveries == 0


def test_the_queue_holds_every_new_delivery(
    engine: Engine, subscribe: Subscriber
) -> None:
    subscribe(), subscribe()

    events = [engine.emit(LOGIN) for _ in range(3)]

    assert engine.queue_depth == 6
    due = engine.due(limit=100)
    assert {d.event_id for d in due} == {e.id for e in events}
    assert len(due) == 6
    assert engine.due(limit=4) == due[:4]
    assert engine.due(now=datetime.now(UTC) - timedelta(hours=1)) == []


# ---- the body each endpoint receives -------------------------------------------------


@pytest.mark.parametrize(
    ("include", "expected"),
    [
        pytest.param({"user"}, {"user", "reason"}, id="user"),
        pytest.param({"user", "ip"}, {"user", "ip", "reason"}, id="user-ip"),
        pytest.param(
            {"device"}, {"device", "user_agent", "reason"}, id="device-and-agent"
        ),
        pytest.param({"location"}, {"location", "reason"}, id="location"),
        pytest.param(set(), {"reason"}, id="nothing"),
        pytest.param(
            {"user", "ip", "device", "location"}, set(LOGIN_DATA), id="everything"
        ),
    ],
)
def test_a_body_holds_only_the_metadata_its_endpoint_asked_for(
    engine: Engine, subscribe: Subscriber, include: set[str], expected: set[str]
) -> None:
    endpoint = subscribe(payload=Payload("json", frozenset(include)))

    event = engine.emit(LOGIN, **LOGIN_DATA)

    data = data_sent(engine, event, endpoint)
    assert set(data) == expected
    assert data == {key: LOGIN_DATA[key] for key in expected}


def test_a_body_carries_the_events_id_type_and_timestamp(
    engine: Engine, subscribe: Subscriber
) -> None:
    endpoint = subscribe()

    event = engine.emit(LOGIN, **LOGIN_DATA)

    envelope = json.loads(body_of(engine, event, endpoint))
    stored = engine.get_event(event.id)
    assert set(envelope) == {"id", "type", "timestamp", "data"}
    assert envelope["id"] == event.id
    assert envelope["type"] == LOGIN
    assert envelope["timestamp"] == stored["timestamp"]


def test_an_endpoint_asking_for_everything_gets_the_stored_envelope(
    engine: Engine, subscribe: Subscriber
) -> None:
    endpoint = subscribe(payload=Payload("json", frozenset({"user", "ip", "device"})))

    event = engine.emit(LOGIN, user={"id": "u_42"}, ip="203.0.113.7", reason="ok")

    assert json.loads(body_of(engine, event, endpoint)) == engine.get_event(event.id)


@pytest.mark.parametrize(
    "include",
    [
        pytest.param(frozenset({"user"}), id="user"),
        pytest.param(frozenset({"user", "ip", "device", "location"}), id="everything"),
    ],
)
def test_a_form_body_is_the_json_body_in_a_payload_field(
    engine: Engine, subscribe: Subscriber, include: frozenset[str]
) -> None:
    as_json = subscribe(payload=Payload("json", include))
    as_form = subscribe(payload=Payload("form", include))

    event = engine.emit(LOGIN, **LOGIN_DATA)

    form = body_of(engine, event, as_form)
    fields = parse_qs(form.decode("ascii"), keep_blank_values=True, strict_parsing=True)
    assert form.startswith(b"payload=")
    assert list(fields) == ["payload"]
    assert len(fields["payload"]) == 1
    assert json.loads(fields["payload"][0]) == json.loads(
        body_of(engine, event, as_json)
    )


def test_endpoints_with_the_same_shape_share_one_stored_body(
    engine: Engine, subscribe: Subscriber
) -> None:
    first = subscribe(payload=Payload("json", frozenset({"user"})))
    second = subscribe(payload=Payload("json", frozenset({"user"})))
    form = subscribe(payload=Payload("form", frozenset({"user"})))
    with_ip = subscribe(payload=Payload("json", frozenset({"user", "ip"})))

    event = engine.emit(LOGIN, user={"id": "u_42"}, ip="203.0.113.7")

    shapes = {e.id: delivery_to(engine, event, e).shape for e in (first, second)}
    assert len(set(shapes.values())) == 1
    assert delivery_to(engine, event, form).shape not in shapes.values()
    assert delivery_to(engine, event, with_ip).shape not in shapes.values()
    assert body_of(engine, event, first) == body_of(engine, event, second)


def test_metadata_asked_for_but_absent_does_not_make_a_new_shape(
    engine: Engine, subscribe: Subscriber
) -> None:
    plain = subscribe(payload=Payload("json", frozenset({"user"})))
    curious = subscribe(payload=Payload("json", frozenset({"user", "location"})))

    event = engine.emit(LOGIN, user={"id": "u_42"}, reason="ok")

    assert delivery_to(engine, event, plain).shape == (
        delivery_to(engine, event, curious).shape
    )


def test_a_body_outlives_its_engine(open_engine: EngineOpener) -> None:
    first = open_engine()
    endpoint = first.endpoints.create(
        url="https://receiver.example/",
        events=[LOGIN],
        payload=Payload("form", frozenset({"ip"})),
    )
    first.endpoints.save(endpoint.id, skip_verification=True)
    event = first.emit(LOGIN, **LOGIN_DATA)
    sent = body_of(first, event, endpoint)
    first.close()

    assert body_of(open_engine(), event, endpoint) == sent


# ---- what data may hold --------------------------------------------------------------


def test_json_values_are_stored_as_given(engine: Engine) -> None:
    data = {
        "text": 'snow ☃ and "quotes"\n',
        "count": 7,
        "huge": 2**80,
        "ratio": 0.25,
        "flags": [True, False, None],
        "nested": {"a": {"b": [1, {"c": "d"}]}},
    }

    event = engine.emit(REGISTERED, **data)

    assert engine.get_event(event.id)["data"] == data


def test_tuples_are_stored_as_lists(engine: Engine) -> None:
    event = engine.emit(REGISTERED, pair=(1, "two"))

    assert engine.get_event(event.id)["data"] == {"pair": [1, "two"]}


def test_datetimes_dates_and_uuids_are_stored_as_text(engine: Engine) -> None:
    at = datetime(2024, 5, 6, 7, 8, 9, 123000, tzinfo=UTC)
    session = uuid.UUID("12345678-1234-5678-1234-567812345678")

    event = engine.emit(REGISTERED, at=at, day=date(2024, 5, 6), session=session)

    assert engine.get_event(event.id)["data"] == {
        "at": at.isoformat(),
        "day": "2024-05-06",
        "session": str(session),
    }


@pytest.mark.parametrize(
    ("data", "path"),
    [
        pytest.param({"x": {"y": object()}}, "data.x.y", id="object-in-a-dict"),
        pytest.param({"items": [1, {1, 2}]}, "data.items[1]", id="set-in-a-list"),
        pytest.param({"blob": b"bytes"}, "data.blob", id="bytes"),
        pytest.param({"score": math.nan}, "data.score", id="nan"),
        pytest.param({"scores": [1.0, math.inf]}, "data.scores[1]", id="infinity"),
        pytest.param({"x": {1: "one"}}, "data.x", id="int-key"),
        pytest.param({"x": {("a",): "tuple"}}, "data.x", id="tuple-key"),
        pytest.param({"text": "\ud800"}, "data.text", id="lone-surrogate"),
    ],
)
def test_a_value_json_cannot_hold_is_refused_by_its_path(
    engine: Engine, subscribe: Subscriber, data: dict[str, Any], path: str
) -> None:
    subscribe()

    with pytest.raises(ValidationError) as refused:
        engine.emit(LOGIN, **data)

    assert refused.value.field == path
    assert str(refused.value).startswith(path)
    assert engine.queue_depth == 0


@pytest.mark.parametrize(
    "data",
    [
        pytest.param({"x": {"\ud800": 1}}, id="nested-key"),
        pytest.param({"x": [{"\ud800": 1}]}, id="key-in-a-list"),
        pytest.param({"\ud800": 1}, id="top-level-key"),
    ],
)
def test_a_key_that_is_not_valid_unicode_is_refused_as_invalid(
    engine: Engine, data: dict[str, Any]
) -> None:
    with pytest.raises(ValidationError) as refused:
        engine.emit(REGISTERED, **data)

    assert refused.value.field is not None
    assert refused.value.field.startswith("data")


def test_data_nested_too_deep_is_refused(engine: Engine) -> None:
    deep: Any = "bottom"
    for _ in range(100):
        deep = [deep]

    with pytest.raises(ValidationError, match="deeper"):
        engine.emit(REGISTERED, deep=deep)


def test_data_over_the_size_limit_is_refused(open_engine: EngineOpener) -> None:
    engine = open_engine(max_event_bytes=1024)

    with pytest.raises(ValidationError, match="1024") as refused:
        engine.emit(REGISTERED, blob="x" * 2000)

    assert refused.value.field == "data"


def test_data_under_the_size_limit_is_accepted(open_engine: EngineOpener) -> None:
    engine = open_engine(max_event_bytes=1024)

    event = engine.emit(REGISTERED, blob="x" * 900)

    assert engine.get_event(event.id)["data"]["blob"] == "x" * 900


def test_the_default_size_limit_is_256_kib(engine: Engine) -> None:
    engine.emit(REGISTERED, blob="x" * 250_000)

    with pytest.raises(ValidationError):
        engine.emit(REGISTERED, blob="x" * 270_000)


# ---- idempotency ---------------------------------------------------------------------


def test_a_repeated_key_returns_the_first_event(
    engine: Engine, subscribe: Subscriber
) -> None:
    subscribe()
    first = engine.emit(LOGIN, idempotency_key="login-1", attempt=1)

    again = engine.emit(LOGIN, idempotency_key="login-1", attempt=2)

    assert again.id == first.id
    assert again.timestamp == first.timestamp
    assert again.duplicate is True
    assert first.duplicate is False
    assert engine.get_event(first.id)["data"] == {"attempt": 1}


def test_a_repeated_key_creates_no_deliveries(
    engine: Engine, subscribe: Subscriber
) -> None:
    subscribe()
    first = engine.emit(LOGIN, idempotency_key="login-1")

    again = engine.emit(LOGIN, idempotency_key="login-1")

    assert again.deliveries == 0
    assert len(engine.deliveries(first.id)) == 1
    assert engine.queue_depth == 1


def test_different_keys_make_different_events(engine: Engine) -> None:
    events = [engine.emit(LOGIN, idempotency_key=f"login-{n}") for n in range(5)]

    assert len({e.id for e in events}) == 5
    assert not any(e.duplicate for e in events)


def test_events_without_a_key_are_never_duplicates(engine: Engine) -> None:
    events = [engine.emit(LOGIN, user={"id": "u_42"}) for _ in range(3)]

    assert len({e.id for e in events}) == 3


def test_a_key_is_remembered_across_engines(open_engine: EngineOpener) -> None:
    first = open_engine()
    event = first.emit(LOGIN, idempotency_key="login-1")
    first.close()

    again = open_engine().emit(LOGIN, idempotency_key="login-1")

    assert again.id == event.id
    assert again.duplicate is True


def test_a_key_repeated_in_one_batch_is_a_duplicate(engine: Engine) -> None:
    handles = [engine.emit_nowait(LOGIN, idempotency_key="same") for _ in range(20)]

    events = [h.result(timeout=5) for h in handles]

    assert {e.id for e in events} == {events[0].id}
    assert [e.duplicate for e in events] == [False] + [True] * 19


def test_a_zero_window_makes_keys_never_repeat(open_engine: EngineOpener) -> None:
    engine = open_engine(idempotency_window=0)

    first = engine.emit(LOGIN, idempotency_key="login-1")
    second = engine.emit(LOGIN, idempotency_key="login-1")

    assert second.id != first.id
    assert second.duplicate is False


def test_a_handle_for_a_repeated_key_resolves_to_the_first_event(
    engine: Engine,
) -> None:
    first = engine.emit(LOGIN, idempotency_key="login-1")

    handle = engine.emit_nowait(LOGIN, idempotency_key="login-1")

    assert handle.result(timeout=5).id == first.id
    assert handle.id != first.id  # the id this emit assigned, never stored


@pytest.mark.parametrize(
    ("key", "field"),
    [
        pytest.param("k" * 256, "idempotency_key", id="over-255-bytes"),
        pytest.param(42, "idempotency_key", id="an-int"),
    ],
)
def test_a_bad_idempotency_key_is_refused(engine: Engine, key: Any, field: str) -> None:
    with pytest.raises(ValidationError) as refused:
        engine.emit(LOGIN, idempotency_key=key)

    assert refused.value.field == field


# ---- emit_nowait ---------------------------------------------------------------------


def test_a_handle_gives_the_durable_event(engine: Engine) -> None:
    handle = engine.emit_nowait(LOGIN, user={"id": "u_42"})

    event = handle.result(timeout=5)

    assert handle.done()
    assert event.id == handle.id
    assert event.type == LOGIN
    assert engine.get_event(event.id)["data"] == {"user": {"id": "u_42"}}


def test_a_handle_gives_the_same_event_every_time(engine: Engine) -> None:
    handle = engine.emit_nowait(LOGIN)

    assert handle.result(timeout=5) == handle.result() == handle.result(timeout=0)


def test_a_handle_is_done_soon(engine: Engine) -> None:
    handle = engine.emit_nowait(LOGIN)
    deadline = time.monotonic() + 5

    while not handle.done() and time.monotonic() < deadline:
        time.sleep(0.001)

    assert handle.done()


def test_emit_nowait_refuses_bad_data_at_once(engine: Engine) -> None:
    with pytest.raises(ValidationError):
        engine.emit_nowait(LOGIN, when=object())


def test_many_handles_are_all_durable(engine: Engine, subscribe: Subscriber) -> None:
    subscribe()

    handles = [engine.emit_nowait(LOGIN, n=n) for n in range(500)]
    events = [h.result(timeout=10) for h in handles]

    assert [e.id for e in events] == [h.id for h in handles]
    assert engine.queue_depth == 500
    assert engine.get_event(events[-1].id)["data"] == {"n": 499}


def test_handles_can_be_awaited_together(engine: Engine) -> None:
    async def emit_all() -> list[Event]:
        handles = [engine.emit_nowait(LOGIN, n=n) for n in range(100)]
        events = await asyncio.wait_for(asyncio.gather(*handles), timeout=10)
        assert [e.id for e in events] == [h.id for h in handles]
        return list(events)

    events = asyncio.run(emit_all())

    assert len({e.id for e in events}) == 100
    assert engine.get_event(events[0].id)["data"] == {"n": 0}


def test_a_handle_already_done_can_be_awaited(engine: Engine) -> None:
    handle = engine.emit_nowait(LOGIN)
    event = handle.result(timeout=5)

    async def wait() -> Event:
        return await asyncio.wait_for(handle, timeout=5)

    assert asyncio.run(wait()) == event


def test_emits_from_many_threads_are_all_durable_and_ordered_per_thread(
    engine: Engine,
) -> None:
    def emit_many(thread: int) -> list[Event]:
        return [engine.emit(LOGIN, thread=thread, n=n) for n in range(300)]

    with ThreadPoolExecutor(max_workers=8) as pool:
        per_thread = list(pool.map(emit_many, range(8)))

    every_id = [e.id for events in per_thread for e in events]
    assert len(set(every_id)) == 8 * 300
    for thread, events in enumerate(per_thread):
        ids = [e.id for e in events]
        assert ids == sorted(ids)
        assert [e.timestamp for e in events] == sorted(e.timestamp for e in events)
        assert engine.get_event(ids[0])["data"] == {"thread": thread, "n": 0}
        assert engine.get_event(ids[-1])["data"] == {"thread": thread, "n": 299}
    for event_id in every_id:
        engine.get_event(event_id)


# ---- retention -----------------------------------------------------------------------


def test_sweep_keeps_events_inside_the_retention_period(engine: Engine) -> None:
    event = engine.emit(LOGIN)

    assert engine.sweep() == (0, 0)
    assert engine.get_event(event.id)["id"] == event.id


def test_sweep_removes_finished_events_past_retention(
    open_engine: EngineOpener,
) -> None:
    engine = open_engine(retention=0)
    events = [engine.emit(LOGIN) for _ in range(3)]
    time.sleep(0.01)  # retention counts whole milliseconds

    assert engine.sweep() == (3, 0)
    for event in events:
        with pytest.raises(NotFoundError):
            engine.get_event(event.id)
    assert engine.sweep() == (0, 0)


def test_sweep_counts_the_idempotency_keys_it_forgets(
    open_engine: EngineOpener,
) -> None:
    engine = open_engine(retention=0, idempotency_window=0)
    engine.emit(LOGIN, idempotency_key="a")
    engine.emit(LOGIN, idempotency_key="b")
    engine.emit(LOGIN)
    time.sleep(0.01)

    assert engine.sweep() == (3, 2)


def test_sweep_keeps_events_with_deliveries_still_pending(
    open_engine: EngineOpener,
) -> None:
    engine = open_engine(retention=0)
    endpoint = engine.endpoints.create(url="https://receiver.example/", events=[LOGIN])
    engine.endpoints.save(endpoint.id, skip_verification=True)
    pending = engine.emit(LOGIN)
    finished = engine.emit(REGISTERED)
    time.sleep(0.01)

    assert engine.sweep() == (1, 0)
    assert engine.get_event(pending.id)["id"] == pending.id
    assert len(engine.deliveries(pending.id)) == 1
    with pytest.raises(NotFoundError):
        engine.get_event(finished.id)


# ---- the map -------------------------------------------------------------------------


def test_the_map_grows_by_itself(open_engine: EngineOpener, directory: Path) -> None:
    engine = open_engine(initial_map_size=1 << 16)
    blob = "x" * (50 << 10)

    events = [engine.emit(REGISTERED, n=n, blob=blob) for n in range(100)]

    assert (directory / "data.mdb").stat().st_size > 5 << 20
    for n, event in enumerate(events):
        assert engine.get_event(event.id)["data"] == {"n": n, "blob": blob}


def emit_until_refused(
    engine: Engine, blob: str, tries: int = 100
) -> tuple[list[Event], StorageError | None]:
    """Emits events holding `blob` until storage refuses one (or `tries` pass)."""
    stored: list[Event] = []
    for n in range(tries):
        try:
            stored.append(engine.emit(REGISTERED, n=n, blob=blob))
        except StorageError as error:
            return stored, error
    return stored, None


def test_a_full_map_fails_the_emit_and_keeps_what_was_stored(
    open_engine: EngineOpener,
) -> None:
    engine = open_engine(initial_map_size=1 << 16, max_map_size=1 << 20)

    stored, error = emit_until_refused(engine, blob="x" * (50 << 10))

    assert error is not None
    assert "max_map_size" in str(error)
    assert stored
    for n, event in enumerate(stored):
        assert engine.get_event(event.id)["data"]["n"] == n
    assert engine.get_event(engine.emit(REGISTERED, n=-1).id)["data"] == {"n": -1}


# ---- engine options and lifecycle ----------------------------------------------------


@pytest.mark.parametrize(
    ("options", "field"),
    [
        pytest.param({"max_event_bytes": 0}, "max_event_bytes", id="no-event-bytes"),
        pytest.param({"initial_map_size": 4096}, "initial_map_size", id="tiny-map"),
        pytest.param({"max_map_size": 4096}, "max_map_size", id="tiny-max-map"),
        pytest.param({"retention": -1}, "retention", id="negative-retention"),
        pytest.param(
            {"idempotency_window": "1h"}, "idempotency_window", id="window-a-str"
        ),
        pytest.param(
            {"secret_grace": timedelta(seconds=-1)}, "secret_grace", id="grace"
        ),
    ],
)
def test_bad_engine_options_are_refused_by_name(
    directory: Path, options: dict[str, Any], field: str
) -> None:
    with pytest.raises(ValidationError) as refused:
        Engine(directory, **options)

    assert refused.value.field == field


@pytest.mark.parametrize("inside", [False, True], ids=["the-file", "below-it"])
def test_a_data_directory_that_is_a_file_is_refused(
    tmp_path: Path, inside: bool
) -> None:
    path = tmp_path / "not-a-directory"
    path.write_text("")

    with pytest.raises(StorageError) as refused:
        Engine(path / "data" if inside else path)

    assert str(path) in str(refused.value)


def test_close_waits_for_emitted_events(open_engine: EngineOpener) -> None:
    first = open_engine()
    handles = [first.emit_nowait(LOGIN, n=n) for n in range(200)]
    first.close()

    engine = open_engine()
    for n, handle in enumerate(handles):
        assert engine.get_event(handle.id)["data"] == {"n": n}


def test_close_twice_is_harmless(engine: Engine) -> None:
    engine.close()
    engine.close()

    assert engine.closed


@pytest.mark.parametrize(
    "call",
    [
        pytest.param(lambda e: e.emit(LOGIN), id="emit"),
        pytest.param(lambda e: e.emit_nowait(LOGIN), id="emit_nowait"),
        pytest.param(lambda e: e.get_event("evt_" + "0" * 26), id="get_event"),
        pytest.param(lambda e: e.queue_depth, id="queue_depth"),
        pytest.param(lambda e: e.sweep(), id="sweep"),
        pytest.param(lambda e: e.endpoints.list(), id="endpoints.list"),
        pytest.param(lambda e: e.try_lock_dispatcher(), id="try_lock_dispatcher"),
    ],
)
def test_a_closed_engine_refuses_every_call(
    engine: Engine, call: Callable[[Engine], object]
) -> None:
    engine.close()

    with pytest.raises(EngineClosedError):
        call(engine)


def test_the_context_manager_closes_the_engine(directory: Path) -> None:
    with Engine(directory) as engine:
        assert not engine.closed

    assert engine.closed
