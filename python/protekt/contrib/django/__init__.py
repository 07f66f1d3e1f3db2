"""Protekt for Django: the six authentication events from Django's own signals,
and a decorator for views that receive webhooks.

Add ``"protekt.contrib.django"`` to ``INSTALLED_APPS`` and set::

    PROTEKT = {"DATA_DIR": BASE_DIR / "protekt-data"}

Sign-ins, failed sign-ins, sign-outs and new users are then emitted on their own;
``ProtektPasswordResetForm`` (``protekt.contrib.django.forms``) emits password reset
requests, and ``mfa_completed`` the end of a second factor. ``manage.py
protekt_worker`` (or ``protekt worker``) delivers. docs/django.md has every setting.
"""

from __future__ import annotations

from typing import Any

from protekt._engine import EmitHandle, Engine, Event
from protekt.contrib.django._settings import current_emitter, read_settings
from protekt.contrib.django.decorators import webhook_receiver

__all__ = [
    "emit",
    "get_engine",
    "mfa_completed",
    "password_reset_requested",
    "read_settings",
    "webhook_receiver",
]


def get_engine() -> Engine:
    """The engine of ``settings.PROTEKT``, opened on first use: to create endpoints,
    read the delivery log, or emit events of your own."""
    return current_emitter().engine


def emit(
    event_type: str, /, request: Any = None, *, user: Any = None, **data: Any
) -> Event | EmitHandle | None:
    """Emits ``event_type`` about ``user``, enriched from ``request``, unless
    ``EVENTS`` leaves it out (then None)."""
    environ = request.META if request is not None else None
    return current_emitter().emit(event_type, user=user, environ=environ, **data)


def mfa_completed(
    request: Any, user: Any, method: str = "totp"
) -> Event | EmitHandle | None:
    """Emits ``user.mfa.completed``: call it when ``user`` passed their second
    factor; ``method`` names it (``"totp"``, ``"webauthn"``, ``"sms"``, ...)."""
    return emit("user.mfa.completed", request, user=user, method=method)


def password_reset_requested(request: Any, user: Any) -> Event | EmitHandle | None:
    """Emits ``user.password_reset.requested``, for a reset flow of your own;
    ``ProtektPasswordResetForm`` does it for Django's."""
    return emit("user.password_reset.requested", request, user=user)
