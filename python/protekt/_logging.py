"""The engine's log in Python's logging.

The C++ core writes one line per significant event (docs/logging.md). Its sink only
queues the line (``cpp/bindings/logging.cpp``), so engine threads never wait for the
GIL; a daemon thread started with the first engine takes the lines and logs them to
``logging.getLogger("protekt")``. The core queues only lines at or above the logger's
effective level, which the thread follows as it changes.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
from typing import Final

from protekt import _core

__all__ = ["LOGGER", "start"]

LOGGER: Final = logging.getLogger("protekt")

# How often the thread looks at the logger's level when no line comes.
_POLL_S: Final = 0.25
# How long interpreter exit waits for the last lines.
_STOP_WAIT_S: Final = 2.0


class _Forwarder:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None  # guarded by _lock

    def start(self) -> None:
        """Starts the thread if it does not run, and passes the logger's level on."""
        with self._lock:
            _core._log_set_level(LOGGER.getEffectiveLevel())
            if self._thread is not None and self._thread.is_alive():
                return
            _core._log_start(LOGGER.getEffectiveLevel())
            self._thread = threading.Thread(
                target=self._run, name="protekt-log", daemon=True
            )
            self._thread.start()

    def stop(self) -> None:
        """Logs what is queued and ends the thread."""
        with self._lock:
            thread, self._thread = self._thread, None
        _core._log_stop()
        if thread is not None:
            thread.join(_STOP_WAIT_S)

    def after_fork_in_child(self) -> None:
        """The parent's thread is not in the child: start anew if it ran."""
        _core._log_after_fork()
        with self._lock:
            was_running, self._thread = self._thread is not None, None
        if was_running:
            self.start()

    def _run(self) -> None:
        level = LOGGER.getEffectiveLevel()
        dropped = 0
        while (lines := _core._log_wait(_POLL_S)) is not None:
            for line_level, message in lines:
                LOGGER.log(line_level, "%s", message)
            if (now := LOGGER.getEffectiveLevel()) != level:
                level = now
                _core._log_set_level(level)
            if (lost := _core._log_dropped()) > dropped:
                LOGGER.warning("%d engine log lines were dropped", lost - dropped)
                dropped = lost


_forwarder = _Forwarder()
atexit.register(_forwarder.stop)
os.register_at_fork(after_in_child=_forwarder.after_fork_in_child)


def start() -> None:
    """Forwards the engine's log to ``logging.getLogger("protekt")`` from now on."""
    _forwarder.start()
