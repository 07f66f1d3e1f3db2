"""A scripted webhook receiver and bounded waits, for the tests of the dispatcher.

`ScriptedReceiver` is a real HTTP/1.1 server on 127.0.0.1 (plain, or TLS with a given
`ssl.SSLContext`). It answers requests from a script of `Answer`s, one per request in
the order they arrive, and falls back to its default answer when the script runs out.
An answer may wait before it is sent, to play a slow receiver. The receiver records
every request, counts connections, and keeps the highest number of requests it held
at once. Everything runs in daemon threads and stops with `close()`.
"""

from __future__ import annotations

import ssl
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from http.server import BaseHTTPRequestHandler
from typing import NamedTuple, TypeVar

import protekt
from receivers import LoopbackServer

T = TypeVar("T")

# How long a receiver's socket operations may block, so no thread outlives a test by
# much whatever the client under test does.
IO_TIMEOUT_S = 5.0

# The longest any wait in these tests polls for.
WAIT_S = 15.0
POLL_S = 0.02

FINISHED = frozenset(
    {
        protekt.DeliveryStatus.SUCCEEDED,
        protekt.DeliveryStatus.FAILED,
        protekt.DeliveryStatus.DEAD_LETTERED,
        protekt.DeliveryStatus.CANCELLED,
    }
)


class Answer(NamedTuple):
    """What a `ScriptedReceiver` answers one request with, after `delay` seconds."""

    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b'{"ok":true}'
    delay: float = 0.0


class Request(NamedTuple):
    """One request as the receiver saw it; header names in lower case."""

    method: str
    target: str
    headers: dict[str, str]
    body: bytes
    arrived: float  # time.monotonic() when its body was read


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = IO_TIMEOUT_S
    server: ScriptedReceiver

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", "0"))
        body = self.rfile.read(length)
        headers = {name.lower(): value for name, value in self.headers.items()}
        request = Request(self.command, self.path, headers, body, time.monotonic())
        answer = self.server.begin(request)
        try:
            self.server.stopping.wait(answer.delay)
            self.send_response(answer.status)
            for name, value in answer.headers:
                self.send_header(name, value)
            self.send_header("content-length", str(len(answer.body)))
            self.end_headers()
            self.wfile.write(answer.body)
        finally:
            self.server.end()

    def log_message(self, format: str, *args: object) -> None:
        pass


class ScriptedReceiver(LoopbackServer):
    """A receiver on 127.0.0.1, TLS when `tls` is given, that answers the n-th
    request with `script[n]`, or with `default` past its end."""

    def __init__(
        self,
        *,
        script: Iterable[Answer] = (),
        default: Answer | None = None,
        tls: ssl.SSLContext | None = None,
    ) -> None:
        super().__init__(_Handler, tls=tls)
        self.default = default or Answer()
        self.stopping = threading.Event()
        self._script = deque(script)
        self._received: list[Request] = []
        self._in_flight = 0
        self._peak = 0

    def url(self, path: str = "/hooks") -> str:
        scheme = "https" if self.tls else "http"
        host = "localhost" if self.tls else "127.0.0.1"
        return f"{scheme}://{host}:{self.port}{path}"

    @property
    def received(self) -> list[Request]:
        with self._lock:
            return list(self._received)

    @property
    def in_flight(self) -> int:
        """Requests read and not answered yet."""
        with self._lock:
            return self._in_flight

    @property
    def peak(self) -> int:
        """The most requests this receiver held unanswered at once."""
        with self._lock:
            return self._peak

    def begin(self, request: Request) -> Answer:
        with self._lock:
            self._received.append(request)
            self._in_flight += 1
            self._peak = max(self._peak, self._in_flight)
            return self._script.popleft() if self._script else self.default

    def end(self) -> None:
        with self._lock:
            self._in_flight -= 1

    def close(self) -> None:
        self.stopping.set()
        super().close()


# ---- bounded waits -------------------------------------------------------------------


def wait_for(condition: Callable[[], T], *, what: str, timeout: float = WAIT_S) -> T:
    """Polls `condition` until it returns something true, and returns that.

    Fails the test, naming `what` was awaited, when `timeout` seconds pass first.
    """
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not within {timeout} s")
        time.sleep(POLL_S)


def finished_deliveries(
    engine: protekt.Engine, event_id: str, *, timeout: float = WAIT_S
) -> list[protekt.Delivery]:
    """The deliveries of an event, once every one of them is finished."""

    def all_finished() -> list[protekt.Delivery]:
        deliveries = engine.deliveries(event_id)
        done = deliveries and all(d.status in FINISHED for d in deliveries)
        return deliveries if done else []

    return wait_for(
        all_finished, what=f"every delivery of {event_id} finished", timeout=timeout
    )


def attempts_made(
    engine: protekt.Engine,
    delivery: protekt.Delivery,
    count: int = 1,
    *,
    timeout: float = WAIT_S,
) -> list[protekt.Attempt]:
    """The attempt log of a delivery, once it holds at least `count` attempts."""

    def logged() -> list[protekt.Attempt]:
        attempts = engine.attempts(delivery)
        return attempts if len(attempts) >= count else []

    return wait_for(
        logged, what=f"{count} attempts at {delivery.event_id}", timeout=timeout
    )
