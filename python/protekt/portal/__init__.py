"""The management portal: a REST API over an engine, the web interface and
``/metrics``, served by ``protekt serve`` (docs/portal.md, docs/portal-api.md)::

    import protekt
    from protekt.portal import create_app, ensure_admin_key

    engine = protekt.Engine("./protekt-data")
    key = ensure_admin_key("./protekt-data")  # the key on the first call, then None
    app = create_app(engine, data_dir="./protekt-data")  # serve with uvicorn

Needs the ``portal`` extras: ``pip install protekt[portal]``.
"""

from protekt.portal._app import create_app
from protekt.portal._auth import ensure_admin_key, reset_admin_key

__all__ = [
    "create_app",
    "ensure_admin_key",
    "reset_admin_key",
]
