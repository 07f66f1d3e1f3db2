"""The ``PROTEKT = {...}`` dict of Django's settings, read into one Emitter."""

from __future__ import annotations

import logging
import threading
from typing import Any

from django.conf import settings  # type: ignore[import-untyped]

from protekt._exceptions import ValidationError
from protekt.contrib._common import Emitter, Settings

__all__ = ["current_emitter", "emitter_wanting", "read_settings"]

logger = logging.getLogger("protekt.contrib")

SETTING: str = "PROTEKT"

# The emitter of the PROTEKT dict last read, and that dict, by identity: a new dict
# (override_settings, a test's assignment) makes a new emitter. Guarded by _lock.
_cached: tuple[object, Emitter] | None = None
_lock = threading.Lock()


def _name_of(name: str) -> str:
    return f"{SETTING}['{name.upper()}']"


def read_settings() -> Settings:
    """Checks ``settings.PROTEKT``, whose keys are the setting names in upper case
    (lower case is accepted too). Raises protekt.ValidationError."""
    raw = _raw()
    return Settings.from_mapping(
        {str(key).lower(): value for key, value in raw.items()}, name_of=_name_of
    )


def current_emitter() -> Emitter:
    """The emitter for the current ``settings.PROTEKT``."""
    global _cached
    raw = _raw()
    with _lock:
        if _cached is not None and _cached[0] is raw:
            return _cached[1]
    emitter = Emitter(read_settings())
    with _lock:
        _cached = (raw, emitter)
    return emitter


def emitter_wanting(event_type: str) -> Emitter | None:
    """The current emitter if the settings are valid and emit ``event_type``; for
    signal handlers, which log a broken setting rather than fail the request."""
    try:
        emitter = current_emitter()
    except ValidationError:
        logger.exception("could not emit %s", event_type)
        return None
    return emitter if emitter.wants(event_type) else None


def _raw() -> dict[str, Any]:
    raw = getattr(settings, SETTING, None)
    if not isinstance(raw, dict):
        raise ValidationError(
            f"settings.{SETTING} must be a dict, like "
            f"{SETTING} = {{'DATA_DIR': BASE_DIR / 'protekt-data'}}",
            field=SETTING,
        )
    return raw
