"""The management portal served for real to a browser: the app of
`protekt.portal.create_app` under uvicorn, on a loopback port, in a thread.

`PortalServer` owns the listening socket (bound to port 0, so no two tests race for
a port), starts uvicorn on it and waits, bounded, until it serves; `close()` asks
uvicorn to stop and joins its thread, bounded too.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import uvicorn

# How long uvicorn may take to start serving, and to stop.
START_TIMEOUT_S = 10.0
STOP_TIMEOUT_S = 10.0
POLL_S = 0.02


class PortalServer:
    """Serves an ASGI `app` on http://127.0.0.1:<port> until `close()`."""

    def __init__(self, app: Any) -> None:
        self._socket = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._socket.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._socket.bind(("127.0.0.1", 0))
        self.port: int = self._socket.getsockname()[1]
        config = uvicorn.Config(
            app,
            log_level="warning",
            access_log=False,
            lifespan="on",
            ws="none",
            timeout_graceful_shutdown=2,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run,
            kwargs={"sockets": [self._socket]},
            name=f"portal-{self.port}",
            daemon=True,
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/"

    def start(self) -> PortalServer:
        self._thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the portal stopped while starting")
            if time.monotonic() > deadline:
                self.close()
                raise RuntimeError(
                    f"the portal did not start within {START_TIMEOUT_S} s"
                )
            time.sleep(POLL_S)
        return self

    def close(self) -> None:
        self._server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(STOP_TIMEOUT_S)
        self._socket.close()
        if self._thread.is_alive():
            raise RuntimeError(f"the portal did not stop within {STOP_TIMEOUT_S} s")
