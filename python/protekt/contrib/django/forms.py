"""The password reset form that emits ``user.password_reset.requested``.

Django sends no signal when a reset is asked for, so the event comes from the form::

    path("password-reset/", PasswordResetView.as_view(
        form_class=ProtektPasswordResetForm)),

The event is emitted for each account the reset mail goes to (active users with a
usable password, as Django chooses them); an unknown address emits nothing.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.forms import PasswordResetForm  # type: ignore[import-untyped]

from protekt.contrib.django._settings import emitter_wanting

__all__ = ["ProtektPasswordResetForm"]


class ProtektPasswordResetForm(PasswordResetForm):  # type: ignore[misc]
    """Django's PasswordResetForm, emitting one event per reset mail."""

    _protekt_request: Any = None

    def save(self, *args: Any, request: Any = None, **kwargs: Any) -> None:
        self._protekt_request = request
        try:
            super().save(*args, request=request, **kwargs)
        finally:
            self._protekt_request = None

    def send_mail(self, *args: Any, **kwargs: Any) -> None:
        context = args[2] if len(args) > 2 else kwargs["context"]
        request = self._protekt_request
        emitter = emitter_wanting("user.password_reset.requested")
        if emitter is not None:
            emitter.emit_from_signal(
                "user.password_reset.requested",
                user=context["user"],
                environ=request.META if request is not None else None,
            )
        super().send_mail(*args, **kwargs)
