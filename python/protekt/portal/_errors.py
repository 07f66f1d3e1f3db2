"""The portal's errors, all in one JSON shape (docs/portal-api.md, "Errors").

    {"error": {"type": "...", "message": "...", "field": "..."}}

Every exception a route lets escape is turned into that shape here and nowhere else:
the package's own exceptions by class, FastAPI's request validation by the location
of the first problem, Starlette's HTTP errors by status. Nothing else reaches the
client; an unexpected exception is logged with its traceback and answered 500.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException

from protekt._exceptions import (
    EngineClosedError,
    NotFoundError,
    ProtektError,
    StorageError,
    ValidationError,
)

logger = logging.getLogger("protekt.portal")

# The error types of the contract, and those this module adds for the statuses the
# contract leaves to HTTP itself (405, 411, 413, 500).
_TYPE_OF_STATUS: Final[Mapping[int, str]] = {
    400: "invalid_request",
    401: "unauthenticated",
    403: "csrf",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    411: "invalid_request",
    413: "too_large",
    422: "validation",
    500: "internal",
    503: "storage",
}

# The engine refuses a step that the endpoint's status does not allow (Save before
# Verify, a test event to an endpoint that is not active) as a ValidationError on
# the field "status", which only those steps raise: the contract's 409.
_STATE_FIELD: Final = "status"


class ApiError(Exception):
    """An answer other than success, raised by the portal's own code."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        field: str | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.type = _TYPE_OF_STATUS.get(status, "error")
        self.message = message
        self.field = field
        self.headers = dict(headers or {})


def unauthenticated(message: str) -> ApiError:
    return ApiError(401, message, headers={"WWW-Authenticate": "Bearer"})


def error_response(error: ApiError) -> JSONResponse:
    """The one place the error JSON is built."""
    body: dict[str, Any] = {"type": error.type, "message": error.message}
    if error.field is not None:
        body["field"] = error.field
    return JSONResponse(
        {"error": body},
        status_code=error.status,
        headers={**error.headers, "Cache-Control": "no-store"},
    )


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(ProtektError, _protekt_error)
    app.add_exception_handler(RequestValidationError, _request_validation_error)
    app.add_exception_handler(HTTPException, _http_error)
    app.add_exception_handler(Exception, _unexpected_error)


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return error_response(exc)


async def _protekt_error(request: Request, exc: Exception) -> JSONResponse:
    return error_response(translate(exc, request.path_params))


def translate(exc: Exception, path_params: Mapping[str, Any]) -> ApiError:
    """The answer to one of the package's exceptions."""
    if isinstance(exc, ValidationError):
        # A malformed id in the path names nothing that exists: 404, as an unknown
        # one. The engine names the id it could not parse by its parameter's name.
        if exc.field is not None and exc.field in path_params:
            return ApiError(404, str(exc))
        if exc.field == _STATE_FIELD:
            return ApiError(409, str(exc))
        return ApiError(422, str(exc), field=exc.field or "")
    if isinstance(exc, NotFoundError):
        return ApiError(404, str(exc))
    if isinstance(exc, StorageError | EngineClosedError):
        logger.error("the engine could not serve a request: %s", exc)
        return ApiError(503, f"the engine could not read or write its data: {exc}")
    logger.error("the engine failed: %s: %s", type(exc).__name__, exc)
    return ApiError(500, "the engine failed; the server log has the details")


async def _request_validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    return error_response(request_problem(exc.errors()))


def request_problem(errors: Sequence[Any]) -> ApiError:
    """The answer to FastAPI's validation of a request: its first problem."""
    if not errors:
        return ApiError(400, "the request is not valid")
    first = errors[0]
    where, *path = first.get("loc", ())
    kind = first.get("type", "")
    if where == "body" and (not path or kind == "json_invalid"):
        return ApiError(
            400, "the body must be a JSON object, as docs/portal-api.md shows"
        )
    field = ".".join(str(part) for part in path)
    return ApiError(422, f"{field}: {_problem_text(kind, first)}", field=field)


def _problem_text(kind: str, error: Mapping[str, Any]) -> str:
    if kind == "extra_forbidden":
        return "is not a field of this request"
    if kind == "missing":
        return "is required"
    return str(error.get("msg", "is not valid"))


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    message = exc.detail if isinstance(exc.detail, str) else "the request failed"
    if exc.status_code == 404:
        message = f"nothing at {request.url.path}"
    return error_response(ApiError(exc.status_code, message, headers=exc.headers))


async def _unexpected_error(request: Request, exc: Exception) -> JSONResponse:
    logger.exception("%s %s failed", request.method, request.url.path)
    return error_response(
        ApiError(500, "the portal failed; the server log has the details")
    )
