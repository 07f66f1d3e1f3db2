"""A WSGI application served over HTTPS from a thread, for the framework tests."""

from __future__ import annotations

import ssl
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from werkzeug.serving import make_server

# How long closing waits for the serving thread.
STOP_WAIT_S = 5.0


@contextmanager
def serving_https(app: Any, context: ssl.SSLContext) -> Iterator[int]:
    """Serves `app` on 127.0.0.1 with the TLS `context` until the block ends, and
    gives the port."""
    server = make_server("127.0.0.1", 0, app, threaded=True, ssl_context=context)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield server.server_port
    finally:
        server.shutdown()
        server.server_close()
        thread.join(STOP_WAIT_S)
