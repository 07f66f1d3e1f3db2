"""`protekt serve` (the portal and the dispatcher) and `protekt worker` (the
dispatcher alone). Both run until SIGINT or SIGTERM, then stop cleanly."""

from __future__ import annotations

import argparse
import importlib
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from types import FrameType
from typing import TYPE_CHECKING, Any, Final

from protekt.cli._common import (
    CommandFailed,
    ExitCode,
    command,
    dispatcher_options,
    open_engine,
    positive_int,
)

if TYPE_CHECKING:
    import protekt
    from protekt.cli._common import Commands

__all__ = ["register"]

DEFAULT_HOST: Final = "127.0.0.1"
DEFAULT_PORT: Final = 8400

# How long requests in flight get to finish when the portal stops, in seconds.
PORTAL_STOP_GRACE: Final = 5.0

# How long the portal may take to start before `serve` gives up, in seconds.
PORTAL_START_TIMEOUT: Final = 30.0

# The top-level modules of the portal extra (pyproject.toml, [portal]).
PORTAL_MODULES: Final = frozenset(
    {"fastapi", "starlette", "pydantic", "uvicorn", "prometheus_client"}
)


def register(commands: Commands) -> None:
    serve = command(commands, "serve", "run the management portal and the dispatcher")
    serve.add_argument("--host", default=DEFAULT_HOST, help=f"(default {DEFAULT_HOST})")
    serve.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"(default {DEFAULT_PORT})"
    )
    serve.add_argument(
        "--no-dispatcher",
        action="store_true",
        help="serve the portal only; a `protekt worker` delivers",
    )
    serve.add_argument(
        "--reset-admin-key",
        action="store_true",
        help="replace a lost admin API key; the old one and its sessions stop working",
    )
    _dispatcher_options(serve)
    serve.set_defaults(func=run_serve)

    worker = command(
        commands,
        "worker",
        "deliver from this process only (web workers then just emit)",
    )
    _dispatcher_options(worker)
    worker.set_defaults(func=run_worker)


def _dispatcher_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--concurrency",
        metavar="N",
        type=positive_int,
        default=8,
        help="requests in flight per endpoint at most (default 8)",
    )


# ---- worker --------------------------------------------------------------------------


def run_worker(args: argparse.Namespace) -> int:
    with StopSignals() as stop, open_engine(args) as engine:
        _start_dispatcher(engine, args, required=True)
        _info(f"dispatching for {args.data_dir}; stop with Ctrl-C or SIGTERM")
        try:
            stop.wait()
        finally:
            engine.stop_dispatcher()
    _info("stopped")
    return ExitCode.OK


def _start_dispatcher(
    engine: protekt.Engine, args: argparse.Namespace, *, required: bool
) -> bool:
    if engine.start_dispatcher(
        concurrency=args.concurrency, **dispatcher_options(args)
    ):
        return True
    message = (
        f"another process holds the dispatcher lock of {args.data_dir} and delivers"
    )
    if required:
        raise CommandFailed(message, ExitCode.LOCKED)
    _info(f"{message}; this one serves the portal only")
    return False


class StopSignals:
    """Catches SIGINT and SIGTERM for a long-running command, from its first step
    on, so that one arriving while it starts still stops it cleanly. The earlier
    handlers come back when the block ends."""

    def __init__(self) -> None:
        self._stop = threading.Event()
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> StopSignals:
        for sig in (signal.SIGINT, signal.SIGTERM):
            self._previous[sig] = signal.signal(sig, self._on_signal)
        return self

    def __exit__(self, *exc: object) -> None:
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        self._stop.set()

    @property
    def requested(self) -> bool:
        return self._stop.is_set()

    def wait(self, alive: Callable[[], bool] = lambda: True) -> None:
        """Blocks until a signal arrives or ``alive`` turns false."""
        while alive() and not self._stop.wait(0.5):
            pass


# ---- serve ---------------------------------------------------------------------------


def run_serve(args: argparse.Namespace) -> int:
    portal, uvicorn = _portal_modules()
    listener = _listen(args.host, args.port)
    with StopSignals() as stop, listener, open_engine(args) as engine:
        dispatching = not args.no_dispatcher and _start_dispatcher(
            engine, args, required=False
        )
        try:
            if args.reset_admin_key:
                _show_admin_key(portal.reset_admin_key(args.data_dir))
            else:
                _show_admin_key(portal.ensure_admin_key(args.data_dir))
            app = portal.create_app(engine, data_dir=args.data_dir)
            config = uvicorn.Config(
                app,
                log_level="info",
                timeout_graceful_shutdown=PORTAL_STOP_GRACE,
            )
            server = uvicorn.Server(config)
            ended_by_itself = _run_server(server, listener, args.host, stop)
        finally:
            if dispatching:
                engine.stop_dispatcher()
    if ended_by_itself:
        raise CommandFailed("the portal stopped on its own; see the log above")
    _info("stopped")
    return ExitCode.OK


def _portal_modules() -> tuple[Any, Any]:
    """protekt.portal and uvicorn, imported only here so every other command works
    without the portal extra."""
    try:
        portal = importlib.import_module("protekt.portal")
        uvicorn = importlib.import_module("uvicorn")
    except ModuleNotFoundError as exc:
        name = exc.name or ""
        if name.split(".")[0] in PORTAL_MODULES or name == "protekt.portal":
            raise CommandFailed(
                f"protekt serve needs the portal extra ({name} is missing): "
                "pip install protekt[portal]",
                ExitCode.MISSING_DEPENDENCY,
            ) from None
        raise
    return portal, uvicorn


def _listen(host: str, port: int) -> socket.socket:
    """The portal's listening socket, made here so that a busy port is one clear
    error and port 0 picks a free port."""
    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        return socket.create_server((host, port), family=family)
    except (OSError, OverflowError) as exc:
        raise CommandFailed(f"cannot listen on {host}:{port}: {exc}") from None


def _show_admin_key(key: str | None) -> None:
    if key is None:
        return
    _info(f"admin API key: {key}")
    _info(
        "it is shown only this once and stored as a hash; keep it now "
        "(scripts send it as 'Authorization: Bearer <key>')"
    )


def _run_server(
    server: Any, listener: socket.socket, host: str, stop: StopSignals
) -> bool:
    """Serves on ``listener`` from a thread, so that this thread keeps SIGINT and
    SIGTERM, until one arrives. Returns True when the server ended by itself."""
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [listener]}, name="protekt-portal"
    )
    thread.start()
    deadline = time.monotonic() + PORTAL_START_TIMEOUT
    while not (server.started or stop.requested) and thread.is_alive():
        if time.monotonic() > deadline:
            break
        time.sleep(0.05)
    if server.started or stop.requested:
        port = listener.getsockname()[1]
        shown = f"[{host}]" if ":" in host else host
        _info(f"portal at http://{shown}:{port}/; stop with Ctrl-C or SIGTERM")
        try:
            stop.wait(alive=thread.is_alive)
        finally:
            ended_by_itself = not thread.is_alive()
            server.should_exit = True
            thread.join(PORTAL_STOP_GRACE + 5)
    else:
        ended_by_itself = True
        server.should_exit = True
        thread.join(PORTAL_STOP_GRACE + 5)
    return ended_by_itself


def _info(message: str) -> None:
    print(f"protekt: {message}", file=sys.stderr, flush=True)
