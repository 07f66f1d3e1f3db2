"""Endpoint routes: the guide's Webhook interface, step by step.

Create, Verify endpoint, Save webhook, Send test event, pause, resume, rotate the
secret, delete; the catalogue of what may be chosen; and each endpoint's stats and
activity for the charts. The routes are plain functions: FastAPI runs them in its
thread pool, so the engine's blocking calls (Verify endpoint waits for the
receiver) never hold up the event loop.
"""

from __future__ import annotations

from typing import Annotated, Final

from fastapi import APIRouter, Query, Response

from protekt._config import AUTH_EVENTS, Payload, Retry, seconds
from protekt._engine import Endpoint
from protekt._token import ApiToken
from protekt.portal._activity import (
    DEFAULT_BUCKETS,
    DEFAULT_HOURS,
    MAX_BUCKETS,
    MAX_HOURS,
    activity,
)
from protekt.portal._deliveries import detail_of
from protekt.portal._schemas import (
    Activity,
    Catalogue,
    Defaults,
    DeliveryDetail,
    EndpointIn,
    EndpointList,
    EndpointOut,
    EndpointPatch,
    RotateIn,
    StatsOut,
    create_settings,
    metadata_names,
    update_settings,
)
from protekt.portal._state import EngineDep

router = APIRouter(prefix="/api/v1", tags=["endpoints"])

# The engine's default timeout for a new endpoint, in seconds.
DEFAULT_TIMEOUT: Final = 15.0
# How long Send test event waits for the delivery to finish, by default and at most.
DEFAULT_TEST_WAIT: Final = 10.0
MAX_TEST_WAIT: Final = 60.0


@router.get("/catalogue", tags=["catalogue"])
def catalogue() -> Catalogue:
    """The events, the metadata and the defaults the Webhook interface offers."""
    retry = Retry()
    return Catalogue(
        events=list(AUTH_EVENTS),
        metadata=metadata_names(),
        defaults=Defaults(
            format=Payload().format,
            max_attempts=retry.max_attempts,
            interval=seconds(retry.interval, "interval"),
            timeout=DEFAULT_TIMEOUT,
        ),
    )


@router.get("/endpoints")
def list_endpoints(engine: EngineDep) -> EndpointList:
    return EndpointList(endpoints=[EndpointOut.of(e) for e in engine.endpoints.list()])


@router.post("/endpoints", status_code=201)
def create_endpoint(body: EndpointIn, engine: EngineDep) -> EndpointOut:
    """Registers an endpoint in status `created`; the answer is the only one that
    shows its secret (or API token)."""
    created = engine.endpoints.create(**create_settings(body))
    return EndpointOut.of(created, reveal=True)


@router.get("/endpoints/{endpoint_id}")
def get_endpoint(endpoint_id: str, engine: EngineDep) -> EndpointOut:
    return EndpointOut.of(engine.endpoints.get(endpoint_id))


@router.patch("/endpoints/{endpoint_id}")
def update_endpoint(
    endpoint_id: str, body: EndpointPatch, engine: EngineDep
) -> EndpointOut:
    """Changes the settings sent. A new URL sends the endpoint back to `created`; a
    new secret or token is shown in this answer only."""
    current = engine.endpoints.get(endpoint_id)
    changes = update_settings(body, current)
    if not changes:
        return EndpointOut.of(current)
    updated = engine.endpoints.update(endpoint_id, **changes)
    return EndpointOut.of(updated, reveal=_credential(updated) != _credential(current))


@router.delete("/endpoints/{endpoint_id}", status_code=204)
def delete_endpoint(endpoint_id: str, engine: EngineDep) -> Response:
    engine.endpoints.delete(endpoint_id)
    return Response(status_code=204)


@router.post("/endpoints/{endpoint_id}/verify")
def verify_endpoint(endpoint_id: str, engine: EngineDep) -> EndpointOut:
    """Verify endpoint: sends the signed challenge and waits for the answer (at
    most the endpoint's timeout). The outcome is in `verification`."""
    return EndpointOut.of(engine.endpoints.verify(endpoint_id))


@router.post("/endpoints/{endpoint_id}/save")
def save_endpoint(endpoint_id: str, engine: EngineDep) -> EndpointOut:
    """Save webhook: activates a verified endpoint (409 before a passed Verify)."""
    return EndpointOut.of(engine.endpoints.save(endpoint_id))


@router.post("/endpoints/{endpoint_id}/pause")
def pause_endpoint(endpoint_id: str, engine: EngineDep) -> EndpointOut:
    return EndpointOut.of(engine.endpoints.pause(endpoint_id))


@router.post("/endpoints/{endpoint_id}/resume")
def resume_endpoint(endpoint_id: str, engine: EngineDep) -> EndpointOut:
    return EndpointOut.of(engine.endpoints.resume(endpoint_id))


@router.post("/endpoints/{endpoint_id}/rotate-secret")
def rotate_secret(
    endpoint_id: str, engine: EngineDep, body: RotateIn | None = None
) -> EndpointOut:
    """Makes a new secret current; the old one still signs for `grace` seconds
    (the engine's default, 24 h, when left out). An API-token endpoint gets a new
    token instead, and the old one stops working at once."""
    current = engine.endpoints.get(endpoint_id)
    if isinstance(current.auth, ApiToken):
        fresh = ApiToken(header=current.auth.header, scheme=current.auth.scheme)
        return EndpointOut.of(
            engine.endpoints.update(endpoint_id, auth=fresh), reveal=True
        )
    grace = body.grace if body is not None else None
    rotated = engine.endpoints.rotate_secret(endpoint_id, grace=grace)
    return EndpointOut.of(rotated, reveal=True)


@router.post("/endpoints/{endpoint_id}/test")
def send_test_event(
    endpoint_id: str,
    engine: EngineDep,
    wait: Annotated[float, Query(ge=0, le=MAX_TEST_WAIT)] = DEFAULT_TEST_WAIT,
) -> DeliveryDetail:
    """Send test event: queues a signed `webhook.test` event for this active
    endpoint and waits up to `wait` seconds for its delivery to finish."""
    delivery = engine.endpoints.send_test_event(endpoint_id, wait=wait)
    return detail_of(engine, delivery)


@router.get("/endpoints/{endpoint_id}/stats")
def endpoint_stats(endpoint_id: str, engine: EngineDep) -> StatsOut:
    return StatsOut.of(engine.endpoints.stats(endpoint_id))


@router.get("/endpoints/{endpoint_id}/activity")
def endpoint_activity(
    endpoint_id: str,
    engine: EngineDep,
    hours: Annotated[int, Query(ge=1, le=MAX_HOURS)] = DEFAULT_HOURS,
    buckets: Annotated[int, Query(ge=1, le=MAX_BUCKETS)] = DEFAULT_BUCKETS,
) -> Activity:
    """Succeeded and failed deliveries per time bucket over the last `hours`."""
    return activity(engine, endpoint_id, hours=hours, buckets=buckets)


def _credential(endpoint: Endpoint) -> str | None:
    if isinstance(endpoint.auth, ApiToken):
        return endpoint.auth.token
    return endpoint.secret
