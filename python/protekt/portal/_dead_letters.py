"""The dead-letter queue: list, inspect, replay one, replay all, purge."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from protekt.portal._deliveries import DEFAULT_PAGE, MAX_PAGE
from protekt.portal._schemas import (
    AttemptOut,
    DeadLetterDetail,
    DeadLetterList,
    DeliveryOut,
    Purged,
    ReplayAllIn,
    Replayed,
)
from protekt.portal._state import EngineDep

router = APIRouter(prefix="/api/v1/dead-letters", tags=["dead letters"])


@router.get("")
def list_dead_letters(
    engine: EngineDep,
    endpoint_id: str | None = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
    after: Annotated[str | None, Query(description="`next` of a page")] = None,
) -> DeadLetterList:
    """Dead letters, one endpoint's or every endpoint's in turn, oldest first
    within an endpoint; `count` is how many there are in all."""
    endpoint_id = endpoint_id or None
    page = engine.dead_letters.list(endpoint_id, limit=limit, after=after or None)
    letters = [DeliveryOut.of(d) for d in page]
    return DeadLetterList(
        dead_letters=letters,
        next=page.next,
        count=engine.dead_letters.count(endpoint_id),
    )


@router.post("/replay")
def replay_all(engine: EngineDep, body: ReplayAllIn | None = None) -> Replayed:
    """Sends every dead letter again: one endpoint's, or all."""
    endpoint_id = body.endpoint_id if body is not None else None
    return Replayed(replayed=engine.dead_letters.replay_all(endpoint_id or None))


@router.delete("")
def purge(engine: EngineDep, endpoint_id: str | None = None) -> Purged:
    """Empties the queue: one endpoint's part, or all. Purged deliveries stay in
    the log as failed."""
    return Purged(purged=engine.dead_letters.purge(endpoint_id or None))


@router.get("/{event_id}/{endpoint_id}")
def get_dead_letter(
    event_id: str, endpoint_id: str, engine: EngineDep
) -> DeadLetterDetail:
    """One dead letter: the delivery, its attempt log and the exact body it sends."""
    letter = engine.dead_letters.get(event_id, endpoint_id)
    return DeadLetterDetail(
        **DeadLetterDetail.fields_of(letter.delivery),
        attempt_log=[AttemptOut.of(a) for a in letter.attempts],
        body=letter.body.decode("utf-8", "replace"),
    )


@router.post("/{event_id}/{endpoint_id}/replay")
def replay(event_id: str, endpoint_id: str, engine: EngineDep) -> DeliveryOut:
    """Sends one dead letter again, due at once with its retry budget anew."""
    delivery = engine.dead_letters.replay(event_id, endpoint_id)
    return DeliveryOut.of(delivery)
