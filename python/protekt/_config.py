"""Endpoint settings, as the product guide names them: typed, immutable values."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Final, Literal

from protekt._exceptions import ValidationError
from protekt._token import ApiToken

__all__ = [
    "AUTH_EVENTS",
    "ENGINE_EVENTS",
    "METADATA",
    "Payload",
    "Retry",
    "SharedSecret",
    "SmtpRelay",
]

#: The guide's six authentication events, as endpoints subscribe to them.
AUTH_EVENTS: Final = (
    "user.login.succeeded",
    "user.login.failed",
    "user.password_reset.requested",
    "user.mfa.completed",
    "user.registered",
    "user.session.ended",
)

#: Events the engine sends itself: Verify endpoint, Send test event, failures.
ENGINE_EVENTS: Final = (
    "webhook.verification",
    "webhook.test",
    "webhook.delivery.failed",
    "webhook.endpoint.disabled",
)

#: Metadata an endpoint may ask for. ``user``: id, email and name; ``ip``: the
#: request's address; ``device``: browser and operating system (and the raw user
#: agent); ``location``: where the address is.
METADATA: Final = frozenset({"user", "ip", "device", "location"})

PayloadFormat = Literal["json", "form"]
Backoff = Literal["fixed", "exponential"]


# The longest duration any setting takes: a hundred years, far inside what the core's
# 64-bit milliseconds hold.
MAX_SECONDS: Final = 100 * 365 * 24 * 3600


def _seconds(value: float | timedelta, name: str) -> float:
    if isinstance(value, timedelta):
        result = value.total_seconds()
    elif isinstance(value, int | float) and not isinstance(value, bool):
        result = float(value)
    else:
        raise ValidationError(
            f"{name} must be seconds (a number) or a timedelta, "
            f"not {type(value).__name__}",
            field=name,
        )
    if not math.isfinite(result):
        raise ValidationError(f"{name} must be a finite number of seconds", field=name)
    if abs(result) > MAX_SECONDS:
        raise ValidationError(
            f"{name} must be at most {MAX_SECONDS} seconds (100 years)", field=name
        )
    return result


@dataclass(frozen=True, repr=False)
class SharedSecret:
    """Authenticate deliveries with a Standard Webhooks signature.

    With no ``secret``, the engine generates one (``whsec_`` and 32 random bytes) when
    the endpoint is created; read it back from ``Endpoint.secret``.
    """

    secret: str | None = None

    def __repr__(self) -> str:
        shown = "None" if self.secret is None else "'whsec_…'"
        return f"SharedSecret(secret={shown})"


@dataclass(frozen=True)
class Payload:
    """What each request carries: ``json`` (the default) or ``form``
    (``application/x-www-form-urlencoded``, the JSON in a ``payload`` field), and
    which metadata the body includes. What is not included is not sent."""

    format: PayloadFormat = "json"
    include: frozenset[str] = field(default_factory=lambda: frozenset({"user"}))

    def __post_init__(self) -> None:
        if self.format not in ("json", "form"):
            raise ValidationError(
                f"payload.format must be 'json' or 'form', not {self.format!r}",
                field="payload.format",
            )
        include = frozenset(self.include)
        unknown = include - METADATA
        if unknown:
            raise ValidationError(
                f"payload.include has unknown metadata {sorted(unknown)}; "
                f"choose from {sorted(METADATA)}",
                field="payload.include",
            )
        object.__setattr__(self, "include", include)


@dataclass(frozen=True)
class Retry:
    """How failed deliveries are retried.

    ``max_attempts`` retries follow the first attempt (3: up to 4 requests).
    ``interval`` seconds pass between them; with ``backoff="exponential"`` the wait
    doubles each time up to ``max_interval``, with random jitter unless disabled.
    """

    max_attempts: int = 3
    interval: float | timedelta = 60
    backoff: Backoff = "fixed"
    max_interval: float | timedelta = 3600
    jitter: bool = True

    def __post_init__(self) -> None:
        if not isinstance(self.max_attempts, int) or isinstance(
            self.max_attempts, bool
        ):
            raise ValidationError(
                "retry.max_attempts must be an int", field="retry.max_attempts"
            )
        if self.backoff not in ("fixed", "exponential"):
            raise ValidationError(
                f"retry.backoff must be 'fixed' or 'exponential', not {self.backoff!r}",
                field="retry.backoff",
            )
        _seconds(self.interval, "retry.interval")
        _seconds(self.max_interval, "retry.max_interval")

    def to_json(self) -> dict[str, Any]:
        return {
            "max_attempts": self.max_attempts,
            "interval": int(_seconds(self.interval, "retry.interval")),
            "backoff": self.backoff,
            "max_interval": int(_seconds(self.max_interval, "retry.max_interval")),
            "jitter": self.jitter,
        }


SmtpSecurity = Literal["starttls", "tls", "none"]


@dataclass(frozen=True, repr=False)
class SmtpRelay:
    """The mail relay that failure notifications to email addresses go through.

    ``security``: ``"starttls"`` (the default, port 587) upgrades the connection and
    refuses to go on without TLS; ``"tls"`` is TLS from the start (port 465);
    ``"none"`` sends in the clear, for a relay on the same host. ``username`` and
    ``password`` are sent with SMTP AUTH, only over TLS unless ``security="none"``.
    ``ca_file`` replaces the system's trust store for the relay's certificate.
    """

    host: str
    port: int = 587
    security: SmtpSecurity = "starttls"
    username: str | None = None
    password: str | None = None
    sender: str = "protekt@localhost"
    ca_file: str | None = None
    timeout: float | timedelta = 30

    def __post_init__(self) -> None:
        if not isinstance(self.host, str) or not self.host:
            raise ValidationError("smtp.host must be a host name", field="smtp.host")
        if (
            not isinstance(self.port, int)
            or isinstance(self.port, bool)
            or not 0 < self.port < 65536
        ):
            raise ValidationError(
                "smtp.port must be a port number, 1 to 65535", field="smtp.port"
            )
        if self.security not in ("starttls", "tls", "none"):
            raise ValidationError(
                "smtp.security must be 'starttls', 'tls' or 'none', not "
                f"{self.security!r}",
                field="smtp.security",
            )
        if (self.username is None) != (self.password is None):
            raise ValidationError(
                "smtp.username and smtp.password go together", field="smtp.username"
            )
        if "@" not in self.sender or any(c in self.sender for c in "\r\n<>"):
            raise ValidationError(
                "smtp.sender must be an email address", field="smtp.sender"
            )
        if _seconds(self.timeout, "smtp.timeout") <= 0:
            raise ValidationError("smtp.timeout must be positive", field="smtp.timeout")

    def __repr__(self) -> str:
        user = f", username={self.username!r}" if self.username else ""
        return (
            f"SmtpRelay({self.host!r}, port={self.port}, "
            f"security={self.security!r}{user})"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "host": self.host,
            "port": self.port,
            "security": self.security,
            "username": self.username or "",
            "password": self.password or "",
            "sender": self.sender,
            "ca_file": self.ca_file or "",
            "timeout_s": _seconds(self.timeout, "smtp.timeout"),
        }


def auth_to_json(auth: SharedSecret | ApiToken) -> dict[str, Any]:
    if isinstance(auth, SharedSecret):
        secrets = [] if auth.secret is None else [{"secret": auth.secret}]
        return {"type": "shared_secret", "secrets": secrets}
    if isinstance(auth, ApiToken):
        return {"type": "api_token", "header": auth.header, "value": auth.value}
    raise ValidationError(
        f"auth must be protekt.SharedSecret or protekt.ApiToken, "
        f"not {type(auth).__name__}",
        field="auth",
    )


def payload_to_json(payload: Payload) -> dict[str, Any]:
    if not isinstance(payload, Payload):
        raise ValidationError("payload must be a protekt.Payload", field="payload")
    return {"format": payload.format, "include": sorted(payload.include)}


def seconds(value: float | timedelta, name: str) -> float:
    """Seconds from a number or a timedelta; refuses anything else by name."""
    return _seconds(value, name)
