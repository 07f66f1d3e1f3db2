"""Protekt for Flask: the authentication events from Flask-Login's signals and from
a few helpers, and a decorator for views that receive webhooks.

::

    app.config["PROTEKT_DATA_DIR"] = "protekt-data"
    protekt_ext = Protekt(app)  # or Protekt() and protekt_ext.init_app(app)

With Flask-Login, ``login_user`` emits ``user.login.succeeded``, ``logout_user``
``user.session.ended`` and ``confirm_login`` ``user.login.succeeded`` with
``reauthenticated``. Failed sign-ins, new users, password reset requests and
completed second factors are emitted by ``login_failed``, ``registered``,
``password_reset_requested`` and ``mfa_completed``. ``flask protekt-worker`` (or
``protekt worker``) delivers. docs/flask.md has every setting.
"""

from __future__ import annotations

import functools
import importlib
import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import timedelta
from typing import Any, Final, TypeVar, cast

import click
from flask import Flask, current_app, g, has_request_context, jsonify, request
from flask.cli import with_appcontext

from protekt._engine import EmitHandle, Engine, Event
from protekt._exceptions import ValidationError, WebhookVerificationError
from protekt._signing import DEFAULT_TOLERANCE
from protekt._token import ApiToken
from protekt.contrib._common import (
    SETTING_NAMES,
    Emitter,
    ReceiverCheck,
    Settings,
    rejection,
    run_worker,
)

__all__ = ["Protekt", "read_config", "webhook_receiver"]

logger = logging.getLogger("protekt.contrib")

#: The key of ``app.extensions`` that holds an app's Emitter.
EXTENSION: Final = "protekt"
PREFIX: Final = "PROTEKT_"

# Why a sign-in failed, when the application does not say.
FAILED_REASON: Final = "invalid_credentials"

View = TypeVar("View", bound=Callable[..., Any])


def read_config(config: Mapping[str, Any]) -> Settings:
    """Checks the ``PROTEKT_*`` keys of a Flask config (``PROTEKT_DATA_DIR``, ...).
    Raises protekt.ValidationError."""
    values = {
        name: config[PREFIX + name.upper()]
        for name in SETTING_NAMES
        if PREFIX + name.upper() in config
    }
    return Settings.from_mapping(values, name_of=lambda name: PREFIX + name.upper())


class Protekt:
    """The Flask extension. One instance may serve several apps, each with its own
    config; the methods act for ``current_app``."""

    def __init__(self, app: Flask | None = None) -> None:
        if app is not None:
            self.init_app(app)

    def init_app(self, app: Flask) -> None:
        """Reads and checks the app's ``PROTEKT_*`` config, connects Flask-Login's
        signals when Flask-Login is installed, and adds ``flask protekt-worker``.
        The engine opens at the first event."""
        app.extensions[EXTENSION] = Emitter(read_config(app.config))
        _connect_flask_login()
        app.cli.add_command(worker_command)

    # ---- the engine ------------------------------------------------------------------

    @property
    def emitter(self) -> Emitter:
        return emitter_of(current_app)

    @property
    def engine(self) -> Engine:
        """The current app's engine, opened on first use: to create endpoints, read
        the delivery log, or emit events of your own."""
        return self.emitter.engine

    def emit(
        self, event_type: str, /, *, user: Any = None, **data: Any
    ) -> Event | EmitHandle | None:
        """Emits ``event_type`` about ``user``, enriched from the current request
        if there is one, unless ``PROTEKT_EVENTS`` leaves it out (then None)."""
        return self.emitter.emit(event_type, user=user, environ=_environ(), **data)

    # ---- the events Flask-Login has no signal for ------------------------------------

    def login_failed(
        self, username: str | None, *, reason: str = FAILED_REASON
    ) -> Event | EmitHandle | None:
        """Emits ``user.login.failed`` for a sign-in that ``username`` attempted.
        Pass the name typed, never the password."""
        return self.emitter.emit(
            "user.login.failed",
            user_data={"username": username} if username else None,
            environ=_environ(),
            reason=reason,
        )

    def registered(self, user: Any) -> Event | EmitHandle | None:
        """Emits ``user.registered``; call it once the new user is committed."""
        return self.emit("user.registered", user=user)

    def password_reset_requested(self, user: Any) -> Event | EmitHandle | None:
        """Emits ``user.password_reset.requested`` for the account a reset mail
        goes to."""
        return self.emit("user.password_reset.requested", user=user)

    def mfa_completed(
        self, user: Any, method: str = "totp"
    ) -> Event | EmitHandle | None:
        """Emits ``user.mfa.completed``: ``user`` passed their second factor,
        ``method`` names it (``"totp"``, ``"webauthn"``, ``"sms"``, ...)."""
        return self.emit("user.mfa.completed", user=user, method=method)


def emitter_of(app: Flask) -> Emitter:
    emitter = app.extensions.get(EXTENSION)
    if not isinstance(emitter, Emitter):
        raise ValidationError(
            f"protekt is not set up for the app {app.name!r}: call "
            "Protekt(app) or init_app(app)",
            field="app",
        )
    return emitter


def _environ() -> dict[str, Any] | None:
    return request.environ if has_request_context() else None


# ---- Flask-Login ---------------------------------------------------------------------

_connected = False


def _connect_flask_login() -> None:
    """Connects the handlers once per process; each acts only for apps that set up
    protekt, since Flask-Login's signals are shared by every app."""
    global _connected
    if _connected:
        return
    try:
        flask_login = importlib.import_module("flask_login")
    except ModuleNotFoundError:
        return
    flask_login.user_logged_in.connect(_on_logged_in, weak=False)
    flask_login.user_logged_out.connect(_on_logged_out, weak=False)
    flask_login.user_login_confirmed.connect(_on_login_confirmed, weak=False)
    _connected = True


def _signal_emit(app: object, event_type: str, user: Any, **data: Any) -> None:
    emitter = app.extensions.get(EXTENSION) if isinstance(app, Flask) else None
    if isinstance(emitter, Emitter) and user is not None:
        emitter.emit_from_signal(event_type, user=user, environ=_environ(), **data)


def _on_logged_in(app: object, user: Any = None, **extra: Any) -> None:
    _signal_emit(app, "user.login.succeeded", user)


def _on_logged_out(app: object, user: Any = None, **extra: Any) -> None:
    if getattr(user, "is_anonymous", False):
        return
    _signal_emit(app, "user.session.ended", user, reason="logout")


def _on_login_confirmed(app: object, **extra: Any) -> None:
    flask_login = importlib.import_module("flask_login")
    user = flask_login.current_user._get_current_object()
    _signal_emit(app, "user.login.succeeded", user, reauthenticated=True)


# ---- receiving -----------------------------------------------------------------------


def webhook_receiver(
    *,
    secret: str | bytes | None = None,
    secrets: Sequence[str | bytes] | None = None,
    token: ApiToken | None = None,
    public_key: str | None = None,
    tolerance: timedelta | int = DEFAULT_TOLERANCE,
) -> Callable[[View], View]:
    """Verifies each request before the view runs, with exactly one of a shared
    ``secret``, ``secrets`` (current first, then those still in rotation), an API
    ``token`` or an Ed25519 ``public_key``.

    A verified request reaches the view with its parsed payload in
    ``flask.g.protekt_event``; any other gets ``400`` and ``{"error": ...,
    "message": ...}`` naming the check that failed.

    >>> @app.post("/hooks")  # doctest: +SKIP
    ... @webhook_receiver(secret=os.environ["PROTEKT_WEBHOOK_SECRET"])
    ... def hooks():
    ...     handle(g.protekt_event)
    ...     return "", 204
    """
    check = ReceiverCheck(
        secret=secret,
        secrets=secrets,
        token=token,
        public_key=public_key,
        tolerance=tolerance,
    )

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def receive(*args: Any, **kwargs: Any) -> Any:
            try:
                headers = cast("Mapping[str, str]", request.headers)
                g.protekt_event = check.verify(request.get_data(), headers)
            except WebhookVerificationError as exc:
                answer = rejection(exc)
                logger.warning("refused a webhook: %s", answer["error"])
                return jsonify(answer), 400
            return current_app.ensure_sync(view)(*args, **kwargs)

        wrapped: View = receive  # type: ignore[assignment]
        return wrapped

    return decorate


# ---- the worker ----------------------------------------------------------------------


@click.command("protekt-worker")
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=8,
    show_default=True,
    help="Requests in flight per endpoint at most.",
)
@with_appcontext
def worker_command(concurrency: int) -> None:
    """Deliver protekt webhooks from this process until SIGINT or SIGTERM; web
    processes then only emit."""
    settings = emitter_of(current_app).settings

    def say(message: str) -> None:
        click.echo(f"protekt: {message}", err=True)

    if not run_worker(settings, concurrency=concurrency, say=say):
        raise click.ClickException(
            f"another process holds the dispatcher lock of {settings.data_dir} "
            "and delivers"
        )
