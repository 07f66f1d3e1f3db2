"""The portal's app: the REST API, the web interface's files and ``/metrics``.

The layers a request passes, outermost first: security headers on every answer;
the access gate (AccessMiddleware), which answers 401 or 403 before any routing or
body parsing; the body limit; FastAPI's routing, with the error handlers of
``_errors`` turning every exception into the contract's error JSON.
"""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Final

from fastapi import Depends, FastAPI
from fastapi.responses import FileResponse
from fastapi.security import HTTPBearer
from fastapi.staticfiles import StaticFiles
from starlette.datastructures import Headers, MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from protekt._config import seconds
from protekt._core import __version__
from protekt._engine import Engine
from protekt._exceptions import ValidationError
from protekt.portal import _dead_letters, _deliveries, _endpoints, _metrics, _session
from protekt.portal._auth import (
    DEFAULT_SESSION_LIFETIME,
    AccessMiddleware,
    AdminKeys,
    Gate,
    Sessions,
)
from protekt.portal._errors import ApiError, error_response, install_error_handlers
from protekt.portal._state import Portal

__all__ = ["create_app"]

STATIC_DIR: Final = Path(__file__).parent / "static"
INDEX: Final = "index.html"
# The largest request body read; an event's data is at most 256 KiB by default.
MAX_BODY_BYTES: Final = 1 << 20

# Declares the admin key in the OpenAPI description (the "Authorize" button of
# /docs); the checking itself is the gate's.
_bearer = HTTPBearer(auto_error=False, description="the portal's admin API key")

_SECURITY_HEADERS: Final = (
    ("X-Content-Type-Options", "nosniff"),
    ("X-Frame-Options", "DENY"),
    ("Referrer-Policy", "no-referrer"),
)


def create_app(
    engine: Engine,
    *,
    data_dir: str | os.PathLike[str],
    static_dir: str | os.PathLike[str] | None = None,
    secure_cookies: bool = False,
    session_lifetime: float | timedelta = DEFAULT_SESSION_LIFETIME,
) -> FastAPI:
    """The portal for ``engine``, as an ASGI app to serve with uvicorn.

    ``data_dir`` holds ``portal.json``, where ``ensure_admin_key`` stored the admin
    key's digest; until it does, every request but signing in is refused.
    ``static_dir`` holds the web interface (the package's ``static`` folder by
    default); ``secure_cookies`` marks the session cookie Secure, for a portal
    served over HTTPS. Sessions end after ``session_lifetime`` (12 h).
    """
    if not isinstance(engine, Engine):
        raise ValidationError("engine must be a protekt.Engine", field="engine")
    lifetime = timedelta(seconds=seconds(session_lifetime, "session_lifetime"))
    if lifetime <= timedelta(0):
        raise ValidationError(
            "session_lifetime must be positive", field="session_lifetime"
        )
    gate = Gate(AdminKeys(data_dir), Sessions(lifetime))

    app = FastAPI(
        title="Protekt portal",
        version=__version__,
        summary="Endpoints, deliveries, dead letters and metrics of a Protekt engine.",
        redoc_url=None,
    )
    app.state.portal = Portal(engine, gate, bool(secure_cookies))
    app.state.metrics = _metrics.registry_for(engine)
    install_error_handlers(app)

    app.include_router(_session.router)
    for module in (_endpoints, _deliveries, _dead_letters, _metrics):
        app.include_router(module.router, dependencies=[Depends(_bearer)])
    _serve_static(app, Path(static_dir) if static_dir is not None else STATIC_DIR)

    app.add_middleware(BodyLimit, limit=MAX_BODY_BYTES)
    app.add_middleware(AccessMiddleware, gate=gate, public=is_public)
    app.add_middleware(SecurityHeaders)
    return app


def is_public(method: str, path: str) -> bool:
    """What may be asked without access: the web interface, and signing in."""
    if path == "/api/v1/session":
        return method == "POST"
    return path == "/" or path.startswith("/static/")


def _serve_static(app: FastAPI, directory: Path) -> None:
    @app.get("/", include_in_schema=False)
    def index() -> FileResponse:
        page = directory / INDEX
        if not page.is_file():
            raise ApiError(404, f"the web interface is not installed ({page})")
        return FileResponse(page, headers={"Cache-Control": "no-cache"})

    # StaticFiles fails on every request if its folder is missing; without one,
    # /static/... is simply not found.
    if directory.is_dir():
        app.mount("/static", StaticFiles(directory=directory), name="static")


class SecurityHeaders:
    """Adds headers that keep browsers from sniffing types, framing the portal or
    sending its addresses elsewhere; API answers are never cached."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        api = str(scope["path"]).startswith("/api/")

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in _SECURITY_HEADERS:
                    headers.setdefault(name, value)
                if api:
                    headers["Cache-Control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)


class BodyLimit:
    """Refuses a request body larger than ``limit`` bytes (413) from its
    Content-Length, and one of unknown length (411), before any of it is read."""

    def __init__(self, app: ASGIApp, *, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            headers = Headers(scope=scope)
            length = headers.get("content-length")
            error: ApiError | None = None
            if length is None and "transfer-encoding" in headers:
                error = ApiError(411, "send the body with a Content-Length")
            elif length is not None and (
                not length.isdigit() or int(length) > self.limit
            ):
                error = ApiError(
                    413, f"the body is larger than {self.limit} bytes, the limit"
                )
            if error is not None:
                await error_response(error)(scope, receive, send)
                return
        await self.app(scope, receive, send)
