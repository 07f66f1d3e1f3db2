"""The Django app: add ``"protekt.contrib.django"`` to ``INSTALLED_APPS``."""

from __future__ import annotations

from django.apps import AppConfig  # type: ignore[import-untyped]
from django.core.exceptions import ImproperlyConfigured  # type: ignore[import-untyped]

from protekt._exceptions import ValidationError

__all__ = ["ProtektConfig"]


class ProtektConfig(AppConfig):  # type: ignore[misc]
    """Checks ``settings.PROTEKT`` at start-up and connects the auth signals. The
    engine itself opens at the first event."""

    name = "protekt.contrib.django"
    label = "protekt"
    verbose_name = "Protekt webhooks"

    def ready(self) -> None:
        from protekt.contrib.django import _settings, signals

        try:
            _settings.read_settings()
        except ValidationError as exc:
            raise ImproperlyConfigured(str(exc)) from exc
        signals.connect()
