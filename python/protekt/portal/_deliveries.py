"""Events and their deliveries: emit an event, read the delivery log (a page of it
with each delivery's attempts, if asked), look at one delivery with every attempt
made for it."""

from __future__ import annotations

from typing import Annotated, Final, Literal

from fastapi import APIRouter, Query

from protekt._engine import Delivery, DeliveryStatus, Engine
from protekt._exceptions import ValidationError
from protekt.portal._schemas import (
    DeliveryDetail,
    DeliveryDetailList,
    DeliveryList,
    DeliveryOut,
    EventIn,
    EventOut,
    parse_time,
)
from protekt.portal._state import EngineDep

router = APIRouter(prefix="/api/v1", tags=["deliveries"])

DEFAULT_PAGE: Final = 100
MAX_PAGE: Final = 500
# A page with each delivery's attempts reads up to 51 attempts per delivery, each
# with its response excerpt: the page is held smaller.
MAX_PAGE_WITH_ATTEMPTS: Final = 100


@router.post("/events", status_code=201, tags=["events"])
def emit_event(body: EventIn, engine: EngineDep) -> EventOut:
    """Emits an authentication event, as the application does, and answers once it
    and its deliveries are durable. `data` holds the event's members; `user`, `ip`,
    `device`, `user_agent` and `location` are metadata each endpoint chooses from.
    The same `idempotency_key` within 24 h answers the first event again."""
    if "idempotency_key" in body.data:
        raise ValidationError(
            "data.idempotency_key: send it beside data, not in it",
            field="data.idempotency_key",
        )
    event = engine.emit(body.type, idempotency_key=body.idempotency_key, **body.data)
    return EventOut.of(event)


@router.get("/deliveries")
def list_deliveries(
    engine: EngineDep,
    endpoint_id: str | None = None,
    event_type: str | None = None,
    status: DeliveryStatus | None = None,
    since: Annotated[str | None, Query(description="RFC 3339, inclusive")] = None,
    until: Annotated[str | None, Query(description="RFC 3339, exclusive")] = None,
    limit: Annotated[int, Query(ge=1, le=MAX_PAGE)] = DEFAULT_PAGE,
    after: Annotated[str | None, Query(description="`next` of a page")] = None,
    include: Annotated[
        Literal["attempts"] | None,
        Query(description="`attempts`: each delivery with its `attempt_log`"),
    ] = None,
) -> DeliveryList | DeliveryDetailList:
    """Deliveries, newest event first, filtered by endpoint, event type, status and
    the event's time. Pass an answer's `next` as `after` for the next page. With
    `include=attempts`, each delivery comes with its attempt log, as one delivery
    does, and `limit` is at most 100."""
    if include == "attempts" and limit > MAX_PAGE_WITH_ATTEMPTS:
        raise ValidationError(
            f"limit: at most {MAX_PAGE_WITH_ATTEMPTS} with include=attempts; "
            "ask for the rest with `next`",
            field="limit",
        )
    page = engine.delivery_log(
        endpoint_id=endpoint_id or None,
        event_type=event_type or None,
        status=status,
        since=parse_time(since, "since") if since else None,
        until=parse_time(until, "until") if until else None,
        limit=limit,
        after=after or None,
    )
    if include == "attempts":
        return DeliveryDetailList(
            deliveries=[detail_of(engine, d) for d in page.deliveries], next=page.next
        )
    return DeliveryList(
        deliveries=[DeliveryOut.of(d) for d in page.deliveries], next=page.next
    )


@router.get("/deliveries/{event_id}/{endpoint_id}")
def get_delivery(event_id: str, endpoint_id: str, engine: EngineDep) -> DeliveryDetail:
    """One delivery with its attempt log."""
    delivery = engine.delivery(event_id, endpoint_id)
    return detail_of(engine, delivery)


def detail_of(engine: Engine, delivery: Delivery) -> DeliveryDetail:
    return DeliveryDetail.with_attempts(delivery, engine.attempts(delivery))
