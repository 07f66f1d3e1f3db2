"""Small webhook receivers for tests of the delivery client, each on a loopback port.

`Receiver` is a real HTTP/1.1 server (plain, or TLS when given an `ssl.SSLContext`)
that records what it was sent and counts the connections it accepted. The raw
receivers below it misbehave on purpose, below HTTP: they never answer, hang up,
answer with garbage, or send a body without end. Every receiver runs in daemon
threads, is bounded in what it sends and how long it waits, and is stopped with
`close()`; the `receiver` fixtures in the tests do that at teardown.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import struct
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import NamedTuple, Self

# How long a receiver's own socket operations may block, so no thread outlives a test
# by much even when the client under test misbehaves.
IO_TIMEOUT_S = 5.0

# The most an endless body sends before it gives up on the client closing.
ENDLESS_BODY_CAP = 8 * 1024 * 1024


class Received(NamedTuple):
    """One request as the receiver saw it; header names in lower case."""

    method: str
    target: str
    headers: list[tuple[str, str]]
    body: bytes

    def header(self, name: str) -> list[str]:
        """Every value sent for `name`, in order."""
        return [value for key, value in self.headers if key == name.lower()]


class Reply(NamedTuple):
    """What a `Receiver` answers every request with."""

    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b'{"ok":true}'


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive unless a reply says otherwise
    timeout = IO_TIMEOUT_S
    server: Receiver

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length", "0"))
        body = self.rfile.read(length)
        headers = [(name.lower(), value) for name, value in self.headers.items()]
        self.server.record(Received(self.command, self.path, headers, body))

        reply = self.server.reply
        self.send_response(reply.status)
        for name, value in reply.headers:
            self.send_header(name, value)
        self.send_header("content-length", str(len(reply.body)))
        self.end_headers()
        self.wfile.write(reply.body)

        # Hanging up here, without having said "connection: close", is what a peer
        # whose idle timeout is shorter than the client's does.
        if self.server.hang_up_after_reply:
            self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:
        pass


class LoopbackServer(ThreadingHTTPServer):
    """An HTTP/1.1 server on 127.0.0.1 (or `host`) in a thread of its own, TLS when
    `tls` is given. Counts connections and keeps handler errors instead of printing
    them."""

    daemon_threads = True

    def __init__(
        self,
        handler: type[BaseHTTPRequestHandler],
        *,
        tls: ssl.SSLContext | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        if ":" in host:
            self.address_family = socket.AF_INET6
        super().__init__((host, 0), handler)
        self.tls = tls
        self.handler_errors: list[BaseException] = []
        self._lock = threading.Lock()
        self._connections = 0
        self._thread = threading.Thread(
            target=self.serve_forever, args=(0.05,), daemon=True
        )

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    @property
    def connections(self) -> int:
        with self._lock:
            return self._connections

    def start(self) -> Self:
        self._thread.start()
        return self

    def close(self) -> None:
        self.shutdown()
        self.server_close()
        self._thread.join(IO_TIMEOUT_S)

    # The TLS handshake is left to the handler's thread (it happens on the first
    # read), so a client that fails it cannot hold up the accepting thread.
    def get_request(self) -> tuple[socket.socket, object]:
        sock, address = self.socket.accept()
        if self.tls is not None:
            sock = self.tls.wrap_socket(
                sock, server_side=True, do_handshake_on_connect=False
            )
        return sock, address

    def process_request(self, request: object, client_address: object) -> None:
        with self._lock:
            self._connections += 1
        super().process_request(request, client_address)

    def handle_error(self, request: object, client_address: object) -> None:
        # Failed handshakes and hung-up clients are what several tests provoke; keep
        # them for inspection instead of printing tracebacks.
        error = sys.exc_info()[1]
        if error is not None:
            self.handler_errors.append(error)


class Receiver(LoopbackServer):
    """A receiver that sends `reply` to every request; `received` and `connections`
    say what came."""

    def __init__(
        self,
        *,
        reply: Reply | None = None,
        tls: ssl.SSLContext | None = None,
        hang_up_after_reply: bool = False,
        host: str = "127.0.0.1",
    ) -> None:
        super().__init__(_Handler, tls=tls, host=host)
        self.reply = reply or Reply()
        self.hang_up_after_reply = hang_up_after_reply
        self._received: list[Received] = []

    @property
    def received(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    def record(self, request: Received) -> None:
        with self._lock:
            self._received.append(request)


class RawReceiver:
    """Accepts TCP connections on 127.0.0.1 and runs `serve` on each in a thread.

    Subclasses say what happens on a connection; the base counts connections, keeps
    them until `close()`, and stops accepting then.
    """

    def __init__(self) -> None:
        self._listener = socket.create_server(("127.0.0.1", 0))
        self._listener.settimeout(0.05)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self._threads: list[threading.Thread] = []
        self._acceptor = threading.Thread(target=self._accept_loop, daemon=True)

    @property
    def port(self) -> int:
        return int(self._listener.getsockname()[1])

    @property
    def connections(self) -> int:
        with self._lock:
            return len(self._sockets)

    def start(self) -> RawReceiver:
        self._acceptor.start()
        return self

    def close(self) -> None:
        self._stop.set()
        self._acceptor.join(IO_TIMEOUT_S)
        with self._lock:
            threads, sockets = list(self._threads), list(self._sockets)
        for sock in sockets:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        for thread in threads:
            thread.join(IO_TIMEOUT_S)
        for sock in sockets:
            sock.close()
        self._listener.close()

    def serve(self, sock: socket.socket) -> None:
        raise NotImplementedError

    def _accept_loop(self) -> None:
        while not self._stop.is_set():
            try:
                sock, _ = self._listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            sock.settimeout(IO_TIMEOUT_S)
            thread = threading.Thread(target=self._serve_quietly, args=(sock,))
            thread.daemon = True
            with self._lock:
                self._sockets.append(sock)
                self._threads.append(thread)
            thread.start()

    def _serve_quietly(self, sock: socket.socket) -> None:
        # The client going away mid-way is expected; it ends the connection's story.
        with contextlib.suppress(OSError):
            self.serve(sock)

    @staticmethod
    def read_head(sock: socket.socket) -> bytes:
        """Reads until the end of a request's header block (or EOF, or 64 KiB)."""
        data = b""
        while b"\r\n\r\n" not in data and len(data) < 65536:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
        return data


class SilentReceiver(RawReceiver):
    """Accepts, reads the request, and never answers; the connection stays open."""

    def serve(self, sock: socket.socket) -> None:
        self.read_head(sock)
        self._stop.wait(IO_TIMEOUT_S)


class AnswersOnceReceiver(RawReceiver):
    """Answers a connection's first request with 200 after `delay_s`, keeping the
    connection open, and never answers another."""

    def __init__(self, *, delay_s: float) -> None:
        super().__init__()
        self.delay_s = delay_s

    def serve(self, sock: socket.socket) -> None:
        self.read_head(sock)
        if self._stop.wait(self.delay_s):
            return
        sock.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")
        self._stop.wait(IO_TIMEOUT_S)


class HangingUpReceiver(RawReceiver):
    """Reads the request, then hangs up without answering: FIN, or RST if `reset`."""

    def __init__(self, *, reset: bool) -> None:
        super().__init__()
        self.reset = reset

    def serve(self, sock: socket.socket) -> None:
        self.read_head(sock)
        if self.reset:
            # A zero linger time turns close() into an RST.
            sock.setsockopt(
                socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0)
            )
            sock.close()
        else:
            sock.shutdown(socket.SHUT_RDWR)


class GarbageReceiver(RawReceiver):
    """Answers every request with bytes that are not HTTP, then hangs up."""

    def serve(self, sock: socket.socket) -> None:
        self.read_head(sock)
        sock.sendall(b"SSH-2.0-OpenSSH_9.6\r\nthis is not http\r\n\r\n")
        sock.shutdown(socket.SHUT_RDWR)


class EndlessBodyReceiver(RawReceiver):
    """Answers 200 with a body that does not end: chunked, or content-length 100 MiB.

    Sends the byte pattern `PATTERN` repeated, until the client closes the connection
    or `ENDLESS_BODY_CAP` bytes are out. `sent` is how many body bytes went out.
    """

    PATTERN = bytes(range(256))

    def __init__(self, *, chunked: bool) -> None:
        super().__init__()
        self.chunked = chunked
        self.sent = 0

    def serve(self, sock: socket.socket) -> None:
        self.read_head(sock)
        if self.chunked:
            sock.sendall(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n")
        else:
            length = 100 * 1024 * 1024
            sock.sendall(b"HTTP/1.1 200 OK\r\ncontent-length: %d\r\n\r\n" % length)

        block = self.PATTERN * 64  # 16 KiB
        while self.sent < ENDLESS_BODY_CAP and not self._stop.is_set():
            if self.chunked:
                sock.sendall(b"%x\r\n%s\r\n" % (len(block), block))
            else:
                sock.sendall(block)
            self.sent += len(block)
