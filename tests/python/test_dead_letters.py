"""The dead-letter queue: list, inspect, replay one, replay all, purge.

Dead letters are made the real way: a receiver on 127.0.0.1 answers 500 until the
endpoint's retries run out. Replays go to the same receiver, which may have recovered.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

import protekt
from _dispatch_helpers import Answer, ScriptedReceiver, finished_deliveries, wait_for
from protekt import DeliveryStatus, Retry

LOGIN = "user.login.succeeded"
LOOPBACK = ("127.0.0.0/8",)


@pytest.fixture
def receiver() -> Iterator[ScriptedReceiver]:
    """Answers 500 until a test sets its default answer to something else."""
    server = ScriptedReceiver(default=Answer(500))
    server.start()
    yield server
    server.close()


@pytest.fixture
def engine(open_engine: Callable[..., protekt.Engine]) -> protekt.Engine:
    engine = open_engine(allow_http=True)
    assert engine.start_dispatcher(allowed_networks=LOOPBACK, stop_grace=1)
    return engine


def keeping(engine: protekt.Engine, url: str, **settings: Any) -> protekt.Endpoint:
    """An active endpoint with a dead-letter queue that gives up after one retry."""
    settings = {"retry": Retry(max_attempts=1, interval=1), **settings}
    created = engine.endpoints.create(
        url=url, events=[LOGIN], dead_letter_queue=True, **settings
    )
    return engine.endpoints.save(created.id, skip_verification=True)


def dead_letters_of(
    engine: protekt.Engine, count: int, **emitted: Any
) -> list[protekt.Event]:
    """Emits `count` login events and waits until each is finished."""
    events = [
        engine.emit(LOGIN, user={"id": f"u_{i}"}, **emitted) for i in range(count)
    ]
    for event in events:
        finished_deliveries(engine, event.id)
    return events


def test_a_delivery_out_of_retries_is_listed_counted_and_inspectable(
    engine: protekt.Engine, receiver: ScriptedReceiver
) -> None:
    endpoint = keeping(engine, receiver.url())
    (event,) = dead_letters_of(engine, 1)

    page = engine.dead_letters.list(endpoint.id)
    assert [(d.event_id, d.endpoint_id) for d in page] == [(event.id, endpoint.id)]
    assert page.next is None
    assert engine.dead_letters.count(endpoint.id) == 1
    assert len(engine.dead_letters) == 1

    letter = engine.dead_letters.get(event.id, endpoint.id)
    assert letter.delivery.status is DeliveryStatus.DEAD_LETTERED
    assert [a.status for a in letter.attempts] == [500, 500]
    assert letter.last_attempt is not None
    assert letter.last_attempt.number == 2
    assert letter.event["id"] == event.id
    assert letter.body == receiver.received[0].body


def test_every_way_of_reading_a_dead_letter_names_its_event_type(
    engine: protekt.Engine, receiver: ScriptedReceiver
) -> None:
    endpoint = keeping(engine, receiver.url())
    (event,) = dead_letters_of(engine, 1)

    (listed,) = engine.dead_letters.list(endpoint.id)
    (of_event,) = engine.deliveries(event.id)
    found = engine.delivery(event.id, endpoint.id)
    inspected = engine.dead_letters.get(event.id, endpoint.id).delivery

    for delivery in (listed, of_event, found, inspected):
        assert delivery.event_type == LOGIN


def test_a_replayed_dead_letter_is_delivered_and_its_attempt_log_goes_on(
    engine: protekt.Engine, receiver: ScriptedReceiver
) -> None:
    endpoint = keeping(engine, receiver.url())
    (event,) = dead_letters_of(engine, 1)
    receiver.default = Answer(200)

    replayed = engine.dead_letters.replay(event.id, endpoint.id)
    assert replayed.status in (DeliveryStatus.PENDING, DeliveryStatus.IN_FLIGHT)
    (delivery,) = finished_deliveries(engine, event.id)

    assert delivery.status is DeliveryStatus.SUCCEEDED
    assert [(a.number, a.status) for a in engine.attempts(delivery)] == [
        (1, 500),
        (2, 500),
        (3, 200),
    ]
    assert engine.dead_letters.count(endpoint.id) == 0
    # The same message, so the receiver can tell it is not a new event.
    ids = {r.headers["webhook-id"] for r in receiver.received}
    assert ids == {event.id}


def test_a_replay_has_its_retry_budget_anew(
    engine: protekt.Engine, receiver: ScriptedReceiver
) -> None:
    endpoint = keeping(engine, receiver.url())
    (event,) = dead_letters_of(engine, 1)

    engine.dead_letters.replay(event.id, endpoint.id)
    wait_for(
        lambda: (
            engine.dead_letters.count(endpoint.id) == 1 and len(receiver.received) == 4
        ),
        what="the replay dead-lettered again after its own retry",
    )
    delivery = engine.delivery(event.id, endpoint.id)
    assert delivery.status is DeliveryStatus.DEAD_LETTERED
    assert delivery.attempts == 4


def test_replay_all_sends_one_endpoints_letters_and_reports_progress(
    engine: protekt.Engine, receiver: ScriptedReceiver
) -> None:
    first = keeping(engine, receiver.url("/first"))
    second = keeping(engine, receiver.url("/second"))
    events = dead_letters_of(engine, 3)
    assert engine.dead_letters.count() == 6
    receiver.default = Answer(200)

    seen: list[tuple[int, int]] = []
    assert engine.dead_letters.replay_all(first.id, progress=lambda *p: seen.append(p))

    assert seen == [(3, 3)]
    for event in events:
        wait_for(
            lambda event=event: (
                engine.delivery(event.id, first.id).status is DeliveryStatus.SUCCEEDED
            ),
            what=f"{event.id} delivered to the first endpoint",
        )
        assert engine.delivery(event.id, second.id).status is (
            DeliveryStatus.DEAD_LETTERED
        )
    assert engine.dead_letters.count(first.id) == 0
    assert engine.dead_letters.count(second.id) == 3


def test_purge_empties_the_queue_and_leaves_the_deliveries_failed(
    engine: protekt.Engine, receiver: ScriptedReceiver
) -> None:
    endpoint = keeping(engine, receiver.url())
    events = dead_letters_of(engine, 2)

    assert engine.dead_letters.purge(endpoint.id) == 2

    assert engine.dead_letters.count() == 0
    assert list(engine.dead_letters) == []
    for event in events:
        delivery = engine.delivery(event.id, endpoint.id)
        assert delivery.status is DeliveryStatus.FAILED
        assert len(engine.attempts(delivery)) == 2
        with pytest.raises(protekt.NotFoundError, match="no dead letter"):
            engine.dead_letters.replay(event.id, endpoint.id)


def test_pages_list_every_letter_once_oldest_first(
    engine: protekt.Engine, receiver: ScriptedReceiver
) -> None:
    endpoint = keeping(engine, receiver.url())
    events = dead_letters_of(engine, 5)

    listed: list[protekt.Delivery] = []
    after = None
    for _ in range(5):
        page = engine.dead_letters.list(endpoint.id, limit=2, after=after)
        listed.extend(page)
        if page.next is None:
            break
        after = page.next

    assert sorted(d.event_id for d in listed) == sorted(e.id for e in events)
    finished = [d.completed_at for d in listed]
    assert finished == sorted(finished)
    assert [d.event_id for d in engine.dead_letters] == [d.event_id for d in listed]


def test_a_delivery_not_in_the_queue_cannot_be_replayed_or_inspected(
    engine: protekt.Engine, receiver: ScriptedReceiver
) -> None:
    receiver.default = Answer(200)
    endpoint = keeping(engine, receiver.url())
    (event,) = dead_letters_of(engine, 1)

    with pytest.raises(protekt.NotFoundError, match="no dead letter"):
        engine.dead_letters.replay(event.id, endpoint.id)
    with pytest.raises(protekt.NotFoundError, match="no dead letter"):
        engine.dead_letters.get(event.id, endpoint.id)
    with pytest.raises(protekt.NotFoundError, match="no endpoint"):
        engine.dead_letters.replay_all("ep_00000000000000000000000000")
    with pytest.raises(protekt.ValidationError, match="endpoint id"):
        engine.dead_letters.purge("not-an-id")
    with pytest.raises(protekt.ValidationError, match="after"):
        engine.dead_letters.list(after="zz")


def test_dead_letters_survive_a_restart(
    open_engine: Callable[..., protekt.Engine],
    engine: protekt.Engine,
    receiver: ScriptedReceiver,
) -> None:
    endpoint = keeping(engine, receiver.url())
    (event,) = dead_letters_of(engine, 1)
    engine.close()

    reopened = open_engine(allow_http=True)
    assert [d.event_id for d in reopened.dead_letters.list(endpoint.id)] == [event.id]


def test_retention_keeps_a_replayed_event_until_its_delivery_ends(
    open_engine: Callable[..., protekt.Engine], receiver: ScriptedReceiver
) -> None:
    engine = open_engine(allow_http=True, retention=0, sweep_interval=3600)
    assert engine.start_dispatcher(allowed_networks=LOOPBACK, stop_grace=1)
    endpoint = keeping(engine, receiver.url())
    (kept, swept) = dead_letters_of(engine, 2)
    engine.stop_dispatcher()

    engine.dead_letters.replay(kept.id, endpoint.id)
    engine.sweep()

    # The finished event went with its dead letter; the replayed one waits to be sent.
    with pytest.raises(protekt.NotFoundError):
        engine.get_event(swept.id)
    assert engine.dead_letters.count() == 0
    assert engine.delivery(kept.id, endpoint.id).status is DeliveryStatus.PENDING
    assert engine.get_event(kept.id)["id"] == kept.id

    receiver.default = Answer(200)
    assert engine.start_dispatcher(allowed_networks=LOOPBACK, stop_grace=1)
    (delivery,) = finished_deliveries(engine, kept.id)
    assert delivery.status is DeliveryStatus.SUCCEEDED
