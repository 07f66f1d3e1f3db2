"""Integrations of protekt with web frameworks.

``protekt.contrib.django`` is a Django app and ``protekt.contrib.flask`` a Flask
extension. Both emit the six authentication events from the framework's own signals,
read the same settings (``docs/django.md``, ``docs/flask.md``) and give a view
decorator that verifies received webhooks. What they share is in ``_common``.
"""

from protekt.contrib._common import (
    DISPATCH_MODES,
    Settings,
    UserFields,
    close_engines,
    engine_for,
)

__all__ = [
    "DISPATCH_MODES",
    "Settings",
    "UserFields",
    "close_engines",
    "engine_for",
]
