"""Clients and route tables for the tests of the portal's REST API.

The portal is exercised through Starlette's TestClient (requests go straight into the
app, no socket), over a real engine in pytest's tmp_path. `ROUTES` lists every route
of docs/portal-api.md that needs access, so access checks can be asked of each.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any, NamedTuple

from starlette.exceptions import StarletteDeprecationWarning

# Starlette asks for httpx2 and warns when its TestClient falls back to httpx,
# which the test extras install; the client works the same with either.
with warnings.catch_warnings():
    warnings.filterwarnings("ignore", category=StarletteDeprecationWarning)
    from fastapi.testclient import TestClient

__all__ = [
    "CHANGES",
    "EP",
    "EV",
    "ROUTES",
    "Route",
    "TestClient",
    "error_of",
    "send",
]

CHANGES = frozenset({"POST", "PATCH", "PUT", "DELETE"})

# Ids that are well formed and name nothing.
EP = "ep_" + "0" * 26
EV = "evt_" + "0" * 26


class Route(NamedTuple):
    method: str
    path: str  # the app's template, {names} in braces
    body: Mapping[str, Any] | None = None

    def url(self) -> str:
        return self.path.format(endpoint_id=EP, event_id=EV)

    @property
    def changes(self) -> bool:
        return self.method in CHANGES

    def id(self) -> str:
        return f"{self.method} {self.path}"


# Every route but the public ones (POST /api/v1/session, GET /, /static/...), with a
# body that would be valid, so only access decides the answer.
ROUTES = (
    Route("GET", "/api/v1/session"),
    Route("DELETE", "/api/v1/session"),
    Route("GET", "/api/v1/catalogue"),
    Route("GET", "/api/v1/endpoints"),
    Route(
        "POST",
        "/api/v1/endpoints",
        {"url": "https://hooks.example.com/h", "events": ["user.login.succeeded"]},
    ),
    Route("GET", "/api/v1/endpoints/{endpoint_id}"),
    Route("PATCH", "/api/v1/endpoints/{endpoint_id}", {"description": "x"}),
    Route("DELETE", "/api/v1/endpoints/{endpoint_id}"),
    Route("POST", "/api/v1/endpoints/{endpoint_id}/verify"),
    Route("POST", "/api/v1/endpoints/{endpoint_id}/save"),
    Route("POST", "/api/v1/endpoints/{endpoint_id}/pause"),
    Route("POST", "/api/v1/endpoints/{endpoint_id}/resume"),
    Route("POST", "/api/v1/endpoints/{endpoint_id}/rotate-secret", {}),
    Route("POST", "/api/v1/endpoints/{endpoint_id}/test"),
    Route("GET", "/api/v1/endpoints/{endpoint_id}/stats"),
    Route("GET", "/api/v1/endpoints/{endpoint_id}/activity"),
    Route("POST", "/api/v1/events", {"type": "user.login.succeeded", "data": {}}),
    Route("GET", "/api/v1/deliveries"),
    Route("GET", "/api/v1/deliveries/{event_id}/{endpoint_id}"),
    Route("GET", "/api/v1/dead-letters"),
    Route("GET", "/api/v1/dead-letters/{event_id}/{endpoint_id}"),
    Route("POST", "/api/v1/dead-letters/{event_id}/{endpoint_id}/replay"),
    Route("POST", "/api/v1/dead-letters/replay", {}),
    Route("DELETE", "/api/v1/dead-letters"),
    Route("GET", "/metrics"),
    Route("GET", "/openapi.json"),
    Route("GET", "/docs"),
    Route("GET", "/docs/oauth2-redirect"),
)


def send(client: TestClient, route: Route, **options: Any) -> Any:
    """Sends `route` with its body, if it has one."""
    if route.body is not None:
        options["json"] = dict(route.body)
    return client.request(route.method, route.url(), **options)


def error_of(response: Any, status: int) -> dict[str, Any]:
    """The error member of an error answer, once its status is checked."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/json"
    body = response.json()
    assert set(body) == {"error"}
    error: dict[str, Any] = body["error"]
    return error
