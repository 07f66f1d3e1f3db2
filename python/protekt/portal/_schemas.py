"""The JSON of the portal's API and its translation to and from protekt's objects
(docs/portal-api.md, "Objects").

Request models are strict (a number is not a string, true is not 1) and refuse
unknown fields, so a misspelt setting is a 422 that names it rather than a silent
default. The engine checks the values themselves; its ValidationError names the
field the same way (``retry.max_attempts``).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer

from protekt._config import METADATA, Payload, Retry, SharedSecret, seconds
from protekt._engine import Attempt, Delivery, Endpoint, Event, Verification
from protekt._exceptions import ValidationError
from protekt._stats import EndpointStats
from protekt._token import ApiToken

# ---- times ---------------------------------------------------------------------------


def rfc3339(moment: datetime) -> str:
    """``2026-12-04T05:40:53.123Z``: UTC, milliseconds."""
    text = moment.astimezone(UTC).isoformat(timespec="milliseconds")
    return text.replace("+00:00", "Z")


def parse_time(text: str, field: str) -> datetime:
    """An RFC 3339 time from a query; refuses one without a UTC offset."""
    try:
        moment = datetime.fromisoformat(text.upper())  # RFC 3339 allows "t" and "z"
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise ValidationError(
            f"{field}: {text!r} is not an RFC 3339 time with an offset, like "
            "2026-12-04T05:40:53Z",
            field=field,
        )
    return moment


Time = Annotated[datetime, PlainSerializer(rfc3339, return_type=str)]


# ---- requests ------------------------------------------------------------------------


class _Request(BaseModel):
    # JSON as Python reads it allows NaN and Infinity; no setting does.
    model_config = ConfigDict(strict=True, extra="forbid", allow_inf_nan=False)


class AuthIn(_Request):
    type: Literal["shared_secret", "api_token"]
    secret: str | None = None
    header: str | None = None
    token: str | None = None


class PayloadIn(_Request):
    format: Literal["json", "form"] | None = None
    include: list[str] | None = None


class RetryIn(_Request):
    max_attempts: int | None = None
    interval: float | None = None
    backoff: Literal["fixed", "exponential"] | None = None
    max_interval: float | None = None
    jitter: bool | None = None


class EndpointPatch(_Request):
    """Any settings of an endpoint; only those sent change. In ``payload`` and
    ``retry``, members left out keep their values (defaults on create)."""

    url: str | None = None
    events: list[str] | None = None
    auth: AuthIn | None = None
    payload: PayloadIn | None = None
    retry: RetryIn | None = None
    dead_letter_queue: bool | None = None
    failure_notification: str | None = None
    timeout: float | None = None
    description: str | None = None


class EndpointIn(EndpointPatch):
    url: str
    events: list[str]


class RotateIn(_Request):
    grace: float | None = Field(default=None, description="seconds")


class EventIn(_Request):
    type: str
    data: dict[str, Any] = Field(default_factory=dict)
    idempotency_key: str | None = None


class SignIn(_Request):
    api_key: str


class ReplayAllIn(_Request):
    endpoint_id: str | None = None


# Settings that may be sent as null: the rest must be left out instead.
_NULLABLE = frozenset({"failure_notification"})


def create_settings(body: EndpointIn) -> dict[str, Any]:
    """Keyword arguments for ``engine.endpoints.create``."""
    return _settings(body, current=None)


def update_settings(body: EndpointPatch, current: Endpoint) -> dict[str, Any]:
    """Keyword arguments for ``engine.endpoints.update``: what the body changes."""
    return _settings(body, current=current)


def _settings(body: EndpointPatch, current: Endpoint | None) -> dict[str, Any]:
    sent = body.model_fields_set
    settings: dict[str, Any] = {}
    for name in sent:
        value = getattr(body, name)
        if value is None and name not in _NULLABLE:
            raise ValidationError(f"{name}: cannot be null", field=name)
    for name in sent & {"url", "events", "dead_letter_queue", "timeout", "description"}:
        settings[name] = getattr(body, name)
    if "failure_notification" in sent:
        settings["failure_notification"] = body.failure_notification
    if body.payload is not None:
        settings["payload"] = _payload(body.payload, current)
    if body.retry is not None:
        settings["retry"] = _retry(body.retry, current)
    if body.auth is not None:
        auth = _auth(body.auth, current)
        if auth is not None:
            settings["auth"] = auth
    return settings


def _payload(body: PayloadIn, current: Endpoint | None) -> Payload:
    base = current.payload if current is not None else Payload()
    include = base.include if body.include is None else frozenset(body.include)
    return Payload(format=body.format or base.format, include=include)


def _retry(body: RetryIn, current: Endpoint | None) -> Retry:
    base = current.retry if current is not None else Retry()
    changes = body.model_dump(exclude_none=True)
    return Retry(
        max_attempts=changes.get("max_attempts", base.max_attempts),
        interval=changes.get("interval", base.interval),
        backoff=changes.get("backoff", base.backoff),
        max_interval=changes.get("max_interval", base.max_interval),
        jitter=changes.get("jitter", base.jitter),
    )


def _auth(body: AuthIn, current: Endpoint | None) -> SharedSecret | ApiToken | None:
    """The authentication to store; None to keep the current one as it is (the same
    method again, with nothing new given)."""
    if body.type == "shared_secret":
        for name in ("header", "token"):
            if getattr(body, name) is not None:
                raise ValidationError(
                    f"auth.{name}: belongs to api_token, not shared_secret",
                    field=f"auth.{name}",
                )
        if body.secret is None and current is not None and current.secret is not None:
            return None
        return SharedSecret(body.secret)
    if body.secret is not None:
        raise ValidationError(
            "auth.secret: belongs to shared_secret, not api_token", field="auth.secret"
        )
    old = current.auth if current is not None else None
    token = body.token
    header = body.header
    if isinstance(old, ApiToken):
        token = token if token is not None else old.token
        header = header if header is not None else old.header
    try:
        return ApiToken(token=token, header=header or "Authorization")
    except ValidationError as exc:
        field = f"auth.{exc.field}" if exc.field else "auth"
        raise ValidationError(f"{field}: {exc}", field=field) from exc


# ---- answers -------------------------------------------------------------------------


class _Answer(BaseModel):
    model_config = ConfigDict(frozen=True)


class SharedSecretAuthOut(_Answer):
    type: Literal["shared_secret"] = "shared_secret"


class ApiTokenAuthOut(_Answer):
    type: Literal["api_token"] = "api_token"
    header: str


class PayloadOut(_Answer):
    format: str
    include: list[str]


class RetryOut(_Answer):
    max_attempts: int
    interval: float
    backoff: str
    max_interval: float
    jitter: bool


class VerificationOut(_Answer):
    at: Time
    status: int | None
    error: str
    duration: float
    passed: bool

    @classmethod
    def of(cls, verification: Verification) -> VerificationOut:
        return cls(
            at=verification.at,
            status=verification.status,
            error=verification.error,
            duration=verification.duration,
            passed=verification.passed,
        )


class EndpointOut(_Answer):
    id: str
    url: str
    status: str
    auth: SharedSecretAuthOut | ApiTokenAuthOut
    secret: str | None = Field(
        description="the signing secret: only in the answers that make a new one"
    )
    token: str | None = Field(
        description="the API token: only in the answers that make a new one"
    )
    events: list[str]
    payload: PayloadOut
    retry: RetryOut
    dead_letter_queue: bool
    failure_notification: str | None
    timeout: float
    description: str
    created_at: Time
    updated_at: Time
    verification: VerificationOut | None

    @classmethod
    def of(cls, endpoint: Endpoint, *, reveal: bool = False) -> EndpointOut:
        """The endpoint's JSON; with its secret or token only when ``reveal``."""
        auth: SharedSecretAuthOut | ApiTokenAuthOut
        token: str | None = None
        if isinstance(endpoint.auth, ApiToken):
            auth = ApiTokenAuthOut(header=endpoint.auth.header)
            token = endpoint.auth.token
        else:
            auth = SharedSecretAuthOut()
        retry = endpoint.retry
        return cls(
            id=endpoint.id,
            url=endpoint.url,
            status=endpoint.status.value,
            auth=auth,
            secret=endpoint.secret if reveal else None,
            token=token if reveal else None,
            events=list(endpoint.events),
            payload=PayloadOut(
                format=endpoint.payload.format,
                include=sorted(endpoint.payload.include),
            ),
            retry=RetryOut(
                max_attempts=retry.max_attempts,
                interval=seconds(retry.interval, "retry.interval"),
                backoff=retry.backoff,
                max_interval=seconds(retry.max_interval, "retry.max_interval"),
                jitter=retry.jitter,
            ),
            dead_letter_queue=endpoint.dead_letter_queue,
            failure_notification=endpoint.failure_notification or None,
            timeout=endpoint.timeout,
            description=endpoint.description,
            created_at=endpoint.created_at,
            updated_at=endpoint.updated_at,
            verification=(
                VerificationOut.of(endpoint.verification)
                if endpoint.verification is not None
                else None
            ),
        )


class EndpointList(_Answer):
    endpoints: list[EndpointOut]


class AttemptOut(_Answer):
    number: int
    started_at: Time
    duration: float
    status: int | None
    error_class: str
    error: str
    response_excerpt: str

    @classmethod
    def of(cls, attempt: Attempt) -> AttemptOut:
        return cls(
            number=attempt.number,
            started_at=attempt.started_at,
            duration=attempt.duration,
            status=attempt.status,
            error_class=attempt.error_class,
            error=attempt.error,
            response_excerpt=attempt.response_excerpt.decode("utf-8", "replace"),
        )


class DeliveryOut(_Answer):
    event_id: str
    endpoint_id: str
    event_type: str
    status: str
    attempts: int
    created_at: Time
    next_attempt_at: Time | None
    completed_at: Time | None
    last_status: int | None

    @classmethod
    def fields_of(cls, delivery: Delivery) -> dict[str, Any]:
        return {
            "event_id": delivery.event_id,
            "endpoint_id": delivery.endpoint_id,
            "event_type": delivery.event_type,
            "status": delivery.status.value,
            "attempts": delivery.attempts,
            "created_at": delivery.created_at,
            "next_attempt_at": delivery.next_attempt_at,
            "completed_at": delivery.completed_at,
            "last_status": delivery.last_status,
        }

    @classmethod
    def of(cls, delivery: Delivery) -> DeliveryOut:
        return cls(**cls.fields_of(delivery))


class DeliveryDetail(DeliveryOut):
    attempt_log: list[AttemptOut]

    @classmethod
    def with_attempts(
        cls, delivery: Delivery, attempts: list[Attempt]
    ) -> DeliveryDetail:
        return cls(
            **cls.fields_of(delivery),
            attempt_log=[AttemptOut.of(a) for a in attempts],
        )


class DeadLetterDetail(DeliveryDetail):
    body: str = Field(description="the exact body it sends, as text")


class DeliveryList(_Answer):
    deliveries: list[DeliveryOut]
    next: str | None


class DeliveryDetailList(_Answer):
    """A page of the delivery log asked for with ``include=attempts``."""

    deliveries: list[DeliveryDetail]
    next: str | None


class DeadLetterList(_Answer):
    dead_letters: list[DeliveryOut]
    next: str | None
    count: int


class Replayed(_Answer):
    replayed: int


class Purged(_Answer):
    purged: int


class Latency(_Answer):
    p50: float | None
    p90: float | None
    p99: float | None


class StatsOut(_Answer):
    deliveries: int
    succeeded: int
    failed: int
    dead_lettered: int
    success_rate: float | None
    latency: Latency
    last_error: str | None

    @classmethod
    def of(cls, stats: EndpointStats) -> StatsOut:
        return cls(
            deliveries=stats.deliveries,
            succeeded=stats.succeeded,
            failed=stats.failed,
            dead_lettered=stats.dead_lettered,
            success_rate=stats.success_rate,
            latency=Latency(
                p50=stats.latency_p50, p90=stats.latency_p90, p99=stats.latency_p99
            ),
            last_error=stats.last_error,
        )


class Bucket(_Answer):
    start: Time
    succeeded: int
    failed: int


class Activity(_Answer):
    buckets: list[Bucket]
    truncated: bool = Field(
        description="true when the window held more deliveries than were counted"
    )


class EventOut(_Answer):
    id: str
    type: str
    timestamp: Time
    deliveries: int
    duplicate: bool

    @classmethod
    def of(cls, event: Event) -> EventOut:
        return cls(
            id=event.id,
            type=event.type,
            timestamp=event.timestamp,
            deliveries=event.deliveries,
            duplicate=event.duplicate,
        )


class Defaults(_Answer):
    format: str
    max_attempts: int
    interval: float
    timeout: float


class Catalogue(_Answer):
    events: list[str]
    metadata: list[str]
    defaults: Defaults


class SessionOut(_Answer):
    csrf_token: str | None = Field(
        description="for the X-CSRF-Token header; null for the admin key"
    )
    expires_at: Time | None


def metadata_names() -> list[str]:
    return sorted(METADATA)
