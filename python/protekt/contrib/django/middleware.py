"""``ProtektMiddleware`` makes the current request known to events that Django sends
without one: ``user.registered`` (from ``post_save``) then carries the address and
device of the request that created the user. Without it, that event has none."""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import Any

__all__ = ["ProtektMiddleware", "current_request"]

_request: ContextVar[Any] = ContextVar("protekt_request", default=None)


def current_request() -> Any:
    """The request ``ProtektMiddleware`` is handling in this context, or None."""
    return _request.get()


class ProtektMiddleware:
    """Add ``"protekt.contrib.django.middleware.ProtektMiddleware"`` to
    ``MIDDLEWARE``, anywhere in the list."""

    def __init__(self, get_response: Callable[[Any], Any]) -> None:
        self.get_response = get_response

    def __call__(self, request: Any) -> Any:
        token = _request.set(request)
        try:
            return self.get_response(request)
        finally:
            _request.reset(token)
