"""Django's auth signals, turned into protekt events.

| signal | event |
|---|---|
| ``user_logged_in`` | ``user.login.succeeded`` |
| ``user_login_failed`` | ``user.login.failed``, with the username tried |
| ``user_logged_out`` | ``user.session.ended`` |
| ``post_save`` of the user model, ``created`` | ``user.registered``, on commit |

``ProtektPasswordResetForm`` (forms.py) and ``mfa_completed`` (the package) emit the
other two. A failed sign-in names the username tried, never the password. A failure
to emit is logged and never fails the request.
"""

from __future__ import annotations

from typing import Any, Final

from django.contrib.auth import get_user_model  # type: ignore[import-untyped]
from django.contrib.auth.signals import (  # type: ignore[import-untyped]
    user_logged_in,
    user_logged_out,
    user_login_failed,
)
from django.db import transaction  # type: ignore[import-untyped]
from django.db.models.signals import post_save  # type: ignore[import-untyped]

from protekt.contrib.django._settings import emitter_wanting
from protekt.contrib.django.middleware import current_request

__all__ = ["attempted_username", "connect", "disconnect"]

# What Django's authenticate() puts in place of a credential it cleansed
# (django.contrib.auth._clean_credentials); never sent as a username.
CLEANSED: Final = "********************"

# Why a sign-in failed, as Django tells it: it does not say whether the user exists.
FAILED_REASON: Final = "invalid_credentials"


def _environ(request: Any) -> dict[str, Any] | None:
    return request.META if request is not None else None


def on_logged_in(sender: object, request: Any, user: Any, **kwargs: Any) -> None:
    emitter = emitter_wanting("user.login.succeeded")
    if emitter is not None:
        emitter.emit_from_signal(
            "user.login.succeeded", user=user, environ=_environ(request)
        )


def on_logged_out(
    sender: object, request: Any, user: Any = None, **kwargs: Any
) -> None:
    emitter = emitter_wanting("user.session.ended")
    if emitter is None or user is None:  # None: an anonymous visitor logged out
        return
    emitter.emit_from_signal(
        "user.session.ended", user=user, environ=_environ(request), reason="logout"
    )


def on_login_failed(
    sender: object, credentials: dict[str, Any], request: Any = None, **kwargs: Any
) -> None:
    emitter = emitter_wanting("user.login.failed")
    if emitter is None:
        return
    username = attempted_username(credentials)
    emitter.emit_from_signal(
        "user.login.failed",
        user_data={"username": username} if username else None,
        environ=_environ(request),
        reason=FAILED_REASON,
    )


def attempted_username(credentials: dict[str, Any]) -> str | None:
    """The username a failed sign-in tried, from the credentials Django passes on.

    Only the user model's USERNAME_FIELD (or ``username``) is read, and only when
    it is a string Django did not cleanse: the rest of the credentials, the password
    above all, never leaves this function.
    """
    field = getattr(get_user_model(), "USERNAME_FIELD", "username")
    for name in dict.fromkeys((field, "username")):
        value = credentials.get(name)
        if isinstance(value, str) and value and value != CLEANSED:
            return value
    return None


def on_user_saved(sender: object, instance: Any, created: bool, **kwargs: Any) -> None:
    if not created or kwargs.get("raw"):  # loaddata writes rows, not registrations
        return
    emitter = emitter_wanting("user.registered")
    if emitter is None:
        return

    # Read now what the event says, while the request is current; send it only if
    # the transaction that created the user commits.
    user = emitter.settings.user_fields.read(instance)
    request = current_request()
    environ = dict(request.META) if request is not None else None

    def emit() -> None:
        emitter.emit_from_signal("user.registered", user_data=user, environ=environ)

    transaction.on_commit(emit, using=kwargs.get("using"))


_UID: Final = "protekt.contrib.django"


def connect() -> None:
    """Connects every handler; connecting twice changes nothing."""
    user_logged_in.connect(on_logged_in, dispatch_uid=f"{_UID}.logged_in")
    user_logged_out.connect(on_logged_out, dispatch_uid=f"{_UID}.logged_out")
    user_login_failed.connect(on_login_failed, dispatch_uid=f"{_UID}.login_failed")
    post_save.connect(
        on_user_saved, sender=get_user_model(), dispatch_uid=f"{_UID}.registered"
    )


def disconnect() -> None:
    user_logged_in.disconnect(dispatch_uid=f"{_UID}.logged_in")
    user_logged_out.disconnect(dispatch_uid=f"{_UID}.logged_out")
    user_login_failed.disconnect(dispatch_uid=f"{_UID}.login_failed")
    post_save.disconnect(sender=get_user_model(), dispatch_uid=f"{_UID}.registered")
