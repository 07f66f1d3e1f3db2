"""What the framework integrations share: their settings, the events they build, one
engine per process and data directory, and the check of received webhooks.

The settings are the same in every framework; only where they are read from differs
(``PROTEKT = {...}`` in Django, ``PROTEKT_*`` keys in Flask). docs/django.md and
docs/flask.md list them with their defaults.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Final, Literal
from urllib.parse import parse_qs

from protekt._config import AUTH_EVENTS
from protekt._engine import EmitHandle, Engine, Event
from protekt._exceptions import (
    InvalidTokenError,
    MalformedHeaderError,
    MalformedPayloadError,
    MissingHeaderError,
    NoMatchingSignatureError,
    TimestampOutOfToleranceError,
    ValidationError,
    WebhookVerificationError,
)
from protekt._signing import DEFAULT_TOLERANCE, AsymmetricWebhook, Webhook, header_value
from protekt._token import ApiToken

if TYPE_CHECKING:
    from protekt.enrichment import Enricher, ProxyHeader

__all__ = [
    "DISPATCH_MODES",
    "Emitter",
    "ReceiverCheck",
    "Settings",
    "UserFields",
    "close_engines",
    "engine_for",
    "rejection",
    "run_worker",
]

logger = logging.getLogger("protekt.contrib")

#: ``none``: web processes only emit, and ``protekt worker`` (or the framework's
#: worker command) delivers. ``thread``: the first process to emit also delivers,
#: from threads of its own, for development.
DISPATCH_MODES: Final = ("none", "thread")
Dispatch = Literal["none", "thread"]

# How one member of `user` is read from a user object: attribute names tried in
# order (a method among them is called), or a function of the user.
FieldReader = str | Sequence[str] | Callable[[Any], object]


# ---- settings ------------------------------------------------------------------------


@dataclass(frozen=True)
class UserFields:
    """How the ``user`` of an event (id, email, name) is read from a user object.

    Each member is an attribute name, a sequence of names tried in order until one
    gives a value that is neither None nor empty (methods are called without
    arguments), or a function of the user. The id is always sent as a string.
    """

    id: FieldReader = ("pk", "id")
    email: FieldReader = ("email",)
    name: FieldReader = ("get_full_name", "name")

    def read(self, user: Any) -> dict[str, str]:
        """The ``user`` metadata of an event: the members that have a value."""
        found: dict[str, str] = {}
        for member in ("id", "email", "name"):
            value = _read_field(user, getattr(self, member))
            if value is not None:
                found[member] = str(value)
        return found


def _read_field(user: Any, reader: FieldReader) -> object:
    if callable(reader):
        return reader(user)
    names = (reader,) if isinstance(reader, str) else reader
    for name in names:
        value = getattr(user, name, None)
        if callable(value):
            value = value()
        if value is not None and value != "":
            return value
    return None


@dataclass(frozen=True)
class Settings:
    """One integration's settings, checked. Build them with ``from_mapping``."""

    data_dir: str
    allow_http: bool = False
    allowed_networks: tuple[str, ...] = ()
    ca_file: str | None = None
    events: frozenset[str] = frozenset(AUTH_EVENTS)
    trusted_proxies: tuple[str, ...] = ()
    proxy_header: ProxyHeader = "x-forwarded-for"
    geoip_database: str | None = None
    user_fields: UserFields = field(default_factory=UserFields)
    dispatch: Dispatch = "none"
    emit_nowait: bool = False

    @classmethod
    def from_mapping(
        cls, values: Mapping[str, Any], *, name_of: Callable[[str], str] = str
    ) -> Settings:
        """Checks settings given by their lower-case names. ``name_of`` turns a name
        into the one the user wrote (``PROTEKT_DATA_DIR``), for error messages."""
        unknown = sorted(set(values) - set(SETTING_NAMES))
        if unknown:
            raise ValidationError(
                f"unknown protekt settings {[name_of(n) for n in unknown]}; "
                f"the settings are {[name_of(n) for n in SETTING_NAMES]}",
                field=name_of(unknown[0]),
            )
        if values.get("data_dir") is None:
            raise ValidationError(
                f"{name_of('data_dir')} is required: the directory the engine keeps "
                "its events and deliveries in",
                field=name_of("data_dir"),
            )
        checked = {
            name: SETTING_NAMES[name](value, name_of(name))
            for name, value in values.items()
        }
        return cls(**checked)


def _path(value: object, name: str) -> str:
    if not isinstance(value, str | os.PathLike) or not os.fspath(value):
        raise ValidationError(f"{name} must be a path", field=name)
    return str(os.fspath(value))


def _optional_path(value: object, name: str) -> str | None:
    return None if value is None else _path(value, name)


def _flag(value: object, name: str) -> bool:
    if not isinstance(value, bool):
        raise ValidationError(f"{name} must be True or False", field=name)
    return value


def _strings(value: object, name: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ValidationError(f"{name} must be a list of strings", field=name)
    items = tuple(value)
    if not all(isinstance(item, str) for item in items):
        raise ValidationError(f"{name} must be a list of strings", field=name)
    return items


def _events(value: object, name: str) -> frozenset[str]:
    events = frozenset(_strings(value, name))
    unknown = sorted(events - set(AUTH_EVENTS))
    if unknown:
        raise ValidationError(
            f"{name} holds {unknown}, which are not authentication events; "
            f"choose from {list(AUTH_EVENTS)}",
            field=name,
        )
    return events


def _dispatch(value: object, name: str) -> Dispatch:
    if value == "none":
        return "none"
    if value == "thread":
        return "thread"
    raise ValidationError(
        f"{name} must be 'none' (a separate worker delivers) or 'thread' (this "
        f"process delivers, for development), not {value!r}",
        field=name,
    )


def _proxy_header(value: object, name: str) -> ProxyHeader:
    if value == "x-forwarded-for":
        return "x-forwarded-for"
    if value == "forwarded":
        return "forwarded"
    raise ValidationError(
        f"{name} must be 'x-forwarded-for' or 'forwarded' (RFC 7239), the header "
        f"the trusted proxies write, not {value!r}",
        field=name,
    )


def _user_fields(value: object, name: str) -> UserFields:
    if isinstance(value, UserFields):
        return value
    if not isinstance(value, Mapping):
        raise ValidationError(
            f"{name} must map id, email and name to attribute names or functions",
            field=name,
        )
    unknown = sorted(set(value) - {"id", "email", "name"})
    if unknown:
        raise ValidationError(
            f"{name} has {unknown}; only id, email and name are read", field=name
        )
    for member, reader in value.items():
        if not (callable(reader) or isinstance(reader, str)):
            _strings(reader, f"{name}[{member!r}]")
    return UserFields(**value)


# Every setting and how its value is checked.
SETTING_NAMES: Final[dict[str, Callable[[Any, str], Any]]] = {
    "data_dir": _path,
    "allow_http": _flag,
    "allowed_networks": _strings,
    "ca_file": _optional_path,
    "events": _events,
    "trusted_proxies": _strings,
    "proxy_header": _proxy_header,
    "geoip_database": _optional_path,
    "user_fields": _user_fields,
    "dispatch": _dispatch,
    "emit_nowait": _flag,
}


# ---- one engine per process and directory --------------------------------------------


@dataclass(frozen=True)
class _Opened:
    engine: Engine
    options: tuple[object, ...]


# Engines opened by this module, by process id and real path of their directory. The
# process id keeps a forked child (a gunicorn worker of a preloading master) from
# using its parent's engine: it opens its own. Guarded by _engines_lock.
_engines: dict[tuple[int, str], _Opened] = {}
_engines_lock = threading.Lock()


def engine_for(settings: Settings) -> Engine:
    """The engine of ``settings.data_dir`` in this process, opened on first use.

    With ``dispatch="thread"`` it also starts delivering, unless another process
    holds the directory's dispatcher lock. Every integration in the process that
    names the same directory shares the engine, so they must agree on its options.
    """
    key = (os.getpid(), os.path.realpath(settings.data_dir))
    options = (
        settings.allow_http,
        settings.allowed_networks,
        settings.ca_file,
        settings.dispatch,
    )
    with _engines_lock:
        opened = _engines.get(key)
        if opened is not None and not opened.engine.closed:
            if opened.options != options:
                raise ValidationError(
                    f"the engine of {settings.data_dir} is open in this process with "
                    "other allow_http, allowed_networks, ca_file or dispatch settings",
                    field="data_dir",
                )
            return opened.engine
        engine = Engine(
            settings.data_dir,
            allow_http=settings.allow_http,
            allowed_networks=settings.allowed_networks,
            ca_file=settings.ca_file,
        )
        _engines[key] = _Opened(engine, options)
    if settings.dispatch == "thread":
        _start_dispatcher(engine, settings)
    return engine


def _start_dispatcher(engine: Engine, settings: Settings) -> None:
    started = engine.start_dispatcher(
        allowed_networks=settings.allowed_networks, ca_file=settings.ca_file
    )
    if started:
        logger.info("delivering from this process for %s", settings.data_dir)
    else:
        logger.info(
            "another process holds the dispatcher lock of %s and delivers",
            settings.data_dir,
        )


def close_engines() -> None:
    """Stops the dispatchers and closes the engines this process opened through
    ``engine_for``; the next emit opens them again. Runs at interpreter exit."""
    pid = os.getpid()
    with _engines_lock:
        mine = [key for key in _engines if key[0] == pid]
        closing = [_engines.pop(key).engine for key in mine]
    for engine in closing:
        if engine.closed:
            continue
        if engine.dispatching:
            engine.stop_dispatcher()
        engine.close()


atexit.register(close_engines)


def run_worker(
    settings: Settings, *, concurrency: int, say: Callable[[str], None]
) -> bool:
    """Delivers for ``settings.data_dir`` from this process until SIGINT or SIGTERM:
    the framework's worker command. Returns False, delivering nothing, when another
    process holds the dispatcher lock. Runs in the main thread only."""
    from protekt.cli._serve import StopSignals

    with StopSignals() as stop:
        engine = engine_for(settings)
        started = engine.dispatching or engine.start_dispatcher(
            concurrency=concurrency,
            allowed_networks=settings.allowed_networks,
            ca_file=settings.ca_file,
        )
        if not started:
            return False
        say(f"dispatching for {settings.data_dir}; stop with Ctrl-C or SIGTERM")
        try:
            stop.wait()
        finally:
            close_engines()
    say("stopped")
    return True


# ---- emitting ------------------------------------------------------------------------


class Emitter:
    """Builds the events of one integration and emits them into its engine.

    ``settings.events`` filters what is emitted; the engine and the enricher are
    made on first use. Safe to share between threads.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._enricher: Enricher | None = None
        self._lock = threading.Lock()

    @property
    def engine(self) -> Engine:
        return engine_for(self.settings)

    @property
    def enricher(self) -> Enricher:
        with self._lock:
            if self._enricher is None:
                from protekt.enrichment import Enricher

                self._enricher = Enricher(
                    trusted_proxies=self.settings.trusted_proxies,
                    proxy_header=self.settings.proxy_header,
                    geoip_database=self.settings.geoip_database,
                )
            return self._enricher

    def wants(self, event_type: str) -> bool:
        return event_type in self.settings.events

    def emit(
        self,
        event_type: str,
        /,
        *,
        user: Any = None,
        user_data: Mapping[str, str] | None = None,
        environ: Mapping[str, Any] | None = None,
        **data: Any,
    ) -> Event | EmitHandle | None:
        """Emits ``event_type`` about ``user`` (read through ``user_fields``, or
        given as ``user_data``), with what the WSGI ``environ`` tells of the request
        (address, device, location) and ``data``. Returns None when the settings
        leave this event out, a handle with ``emit_nowait``, and the durable event
        otherwise."""
        if not self.wants(event_type):
            return None
        arguments: dict[str, Any] = {}
        if user is not None:
            arguments["user"] = self.settings.user_fields.read(user)
        elif user_data is not None:
            arguments["user"] = dict(user_data)
        if environ is not None:
            arguments.update(self.enricher.from_environ(environ))
        arguments.update(data)
        engine = self.engine
        if self.settings.emit_nowait:
            return engine.emit_nowait(event_type, **arguments)
        return engine.emit(event_type, **arguments)

    def emit_from_signal(self, event_type: str, /, **arguments: Any) -> None:
        """As ``emit``, for the framework's signals: a failure is logged, not
        raised, so that a full disk or a bad ``user_fields`` setting never turns a
        sign-in into an error page."""
        try:
            self.emit(event_type, **arguments)
        except Exception:
            logger.exception("could not emit %s", event_type)


# ---- receiving -----------------------------------------------------------------------

# What the 400 answer to a refused webhook names as the failed check.
REASONS: Final[tuple[tuple[type[WebhookVerificationError], str], ...]] = (
    (MissingHeaderError, "missing_header"),
    (MalformedHeaderError, "malformed_header"),
    (TimestampOutOfToleranceError, "timestamp_out_of_tolerance"),
    (NoMatchingSignatureError, "bad_signature"),
    (InvalidTokenError, "invalid_token"),
    (MalformedPayloadError, "malformed_payload"),
)


def rejection(error: WebhookVerificationError) -> dict[str, str]:
    """The JSON body of the 400 answer: ``error`` names the check that failed,
    ``message`` says how."""
    reason = next(
        (name for kind, name in REASONS if isinstance(error, kind)), "invalid_webhook"
    )
    return {"error": reason, "message": str(error)}


class ReceiverCheck:
    """What a receiver decorator checks: exactly one of a shared ``secret``, a list
    of ``secrets`` (the current one first, then those still in rotation), an API
    ``token``, or an Ed25519 ``public_key``."""

    def __init__(
        self,
        *,
        secret: str | bytes | None = None,
        secrets: Sequence[str | bytes] | None = None,
        token: ApiToken | None = None,
        public_key: str | None = None,
        tolerance: timedelta | int = DEFAULT_TOLERANCE,
    ) -> None:
        given = [
            name
            for name, value in (
                ("secret", secret),
                ("secrets", secrets),
                ("token", token),
                ("public_key", public_key),
            )
            if value is not None
        ]
        if len(given) != 1:
            raise ValidationError(
                "give exactly one of secret, secrets, token or public_key, "
                f"not {given or 'none'}",
                field="secret",
            )
        self._token: ApiToken | None = None
        self._scheme: Webhook | AsymmetricWebhook | None = None
        if token is not None:
            if not isinstance(token, ApiToken):
                raise ValidationError("token must be a protekt.ApiToken", field="token")
            self._token = token
        elif public_key is not None:
            self._scheme = AsymmetricWebhook(public_key, tolerance=tolerance)
        else:
            keys = [secret] if secret is not None else list(secrets or ())
            if not keys or isinstance(secrets, str | bytes):
                raise ValidationError(
                    "secrets must be a non-empty list of secrets", field="secrets"
                )
            self._scheme = Webhook(
                keys[0], previous_secrets=keys[1:], tolerance=tolerance
            )

    def verify(self, body: bytes, headers: Mapping[str, str]) -> Any:
        """The parsed payload of a received request. Raises a subclass of
        ``WebhookVerificationError`` that names what failed."""
        if self._scheme is not None:
            return self._scheme.verify(body, headers)
        assert self._token is not None
        self._token.verify(headers)
        return _parse(body, header_value(headers, "content-type") or "")


def _parse(body: bytes, content_type: str) -> Any:
    """A token-authenticated body, in either format of docs/wire-format.md."""
    try:
        if content_type.split(";")[0].strip() == "application/x-www-form-urlencoded":
            fields = parse_qs(body.decode(), strict_parsing=True)
            (body_text,) = fields["payload"]
            return json.loads(body_text)
        return json.loads(body)
    except (ValueError, KeyError) as exc:
        raise MalformedPayloadError(
            f"the token matched, but the body is not a protekt payload: {exc}"
        ) from exc
