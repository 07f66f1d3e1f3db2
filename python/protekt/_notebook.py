"""What the engine and its records look like in a notebook: the HTML of their
``_repr_html_`` methods and the delivery log as a pandas DataFrame (docs/notebooks.md).

The HTML is self-contained: inline styles, no scripts, no external assets. Every value
shown is escaped, since URLs, descriptions and response bodies come from users and
receivers. Secrets and API tokens are never shown.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Final

from protekt._config import SharedSecret
from protekt._exceptions import ValidationError

if TYPE_CHECKING:
    from pandas import DataFrame as DataFrame  # type: ignore[import-untyped]

    from protekt._engine import Attempt, Delivery, DeliveryStatus, Endpoint, Engine
    from protekt._stats import EngineMetrics

__all__ = [
    "attempt_html",
    "deliveries_frame",
    "delivery_html",
    "endpoint_html",
    "engine_html",
]

#: Endpoints listed in an engine's HTML; the rest are counted.
MAX_ENDPOINT_ROWS: Final = 20

#: Characters of a response excerpt shown in an attempt's HTML.
MAX_EXCERPT_CHARS: Final = 200

#: Deliveries read from the log at a time while building a DataFrame.
FRAME_PAGE_SIZE: Final = 500

#: The columns of ``Engine.deliveries_frame``, in order.
FRAME_COLUMNS: Final = (
    "event_id",
    "event_type",
    "endpoint_id",
    "status",
    "attempts",
    "last_status",
    "created_at",
    "next_attempt_at",
    "completed_at",
)

# Status colours: green for good, blue and violet for on the way, amber for held,
# red for failures, grey for what is neither.
_GREEN, _BLUE, _VIOLET, _AMBER, _RED, _DARK_RED, _GREY = (
    "#1a7f37",
    "#0969da",
    "#8250df",
    "#9a6700",
    "#cf222e",
    "#82071e",
    "#57606a",
)
STATUS_COLOURS: Final = {
    "active": _GREEN,
    "succeeded": _GREEN,
    "verified": _BLUE,
    "pending": _BLUE,
    "in_flight": _VIOLET,
    "paused": _AMBER,
    "disabled": _RED,
    "failed": _RED,
    "dead_lettered": _DARK_RED,
    "created": _GREY,
    "cancelled": _GREY,
    "open": _GREEN,
    "closed": _GREY,
}

_TABLE = "border-collapse:collapse;font-size:0.85em;margin:0.3em 0"
_CELL = "padding:2px 10px 2px 0;border-bottom:1px solid #d0d7de;text-align:left"
_HEAD = f"{_CELL};font-weight:600"
_BADGE = "color:#fff;border-radius:3px;padding:0 5px;white-space:nowrap"


# ---- the four objects ----------------------------------------------------------------


def engine_html(engine: Engine) -> str:
    """The engine: its directory and state, counts, and its endpoints."""
    state = "closed" if engine.closed else "open"
    title = _title("protekt.Engine", f"<code>{_e(engine.path)}</code> {_badge(state)}")
    if engine.closed:
        return _root("engine", title)

    metrics = engine.metrics()
    summary = _fields(
        [
            ("dispatching", "yes" if engine.dispatching else "no"),
            ("events emitted", metrics.events_emitted),
            ("queue depth", metrics.queue_depth),
            ("dead letters", metrics.dead_letters),
        ]
    )
    return _root("engine", title + summary + _endpoint_list(engine, metrics))


def _endpoint_list(engine: Engine, metrics: EngineMetrics) -> str:
    endpoints = engine.endpoints.list()
    rows = []
    for endpoint in endpoints[:MAX_ENDPOINT_ROWS]:
        stats = metrics.endpoints.get(endpoint.id)
        rows.append(
            [
                _e(endpoint.id),
                _e(endpoint.url),
                _badge(endpoint.status.value),
                _e(", ".join(endpoint.events)),
                _e(stats.succeeded if stats else 0),
                _e(stats.failed + stats.dead_lettered if stats else 0),
            ]
        )
    if not rows:
        return "<div>no endpoints</div>"
    heads = ["endpoint", "url", "status", "events", "succeeded", "failed"]
    more = len(endpoints) - MAX_ENDPOINT_ROWS
    return _table(heads, rows) + (f"<div>and {more} more</div>" if more > 0 else "")


def endpoint_html(endpoint: Endpoint) -> str:
    """An endpoint's settings and its last Verify endpoint, without its secrets."""
    title = _title("protekt.Endpoint", f"<code>{_e(endpoint.id)}</code>")
    fields: list[tuple[str, object]] = [
        ("url", endpoint.url),
        ("status", _Html(_badge(endpoint.status.value))),
        ("events", ", ".join(endpoint.events)),
        ("authentication", _auth(endpoint)),
        ("payload", _payload(endpoint)),
        ("retry", _retry(endpoint)),
        ("dead-letter queue", "on" if endpoint.dead_letter_queue else "off"),
        ("failure notification", endpoint.failure_notification or "none"),
        ("timeout", f"{endpoint.timeout:g} s"),
        ("verification", _verification(endpoint)),
        ("created", _time(endpoint.created_at)),
        ("updated", _time(endpoint.updated_at)),
    ]
    if endpoint.description:
        fields.insert(0, ("description", endpoint.description))
    return _root("endpoint", title + _fields(fields))


def delivery_html(delivery: Delivery) -> str:
    """A delivery's state; ``engine.attempts(delivery)`` has its attempts."""
    event, endpoint = _e(delivery.event_id), _e(delivery.endpoint_id)
    title = _title(
        "protekt.Delivery", f"<code>{event}</code> to <code>{endpoint}</code>"
    )
    fields: list[tuple[str, object]] = [
        ("status", _Html(_badge(delivery.status.value))),
        ("attempts", delivery.attempts),
        ("last status", delivery.last_status or "none"),
        ("created", _time(delivery.created_at)),
        ("next attempt", _time(delivery.next_attempt_at)),
        ("completed", _time(delivery.completed_at)),
    ]
    if delivery.event_type:
        fields.insert(0, ("event type", delivery.event_type))
    return _root("delivery", title + _fields(fields))


def attempt_html(attempt: Attempt) -> str:
    """One attempt as a row under a heading, so that several read as one table."""
    if attempt.status is not None:
        colour = _GREEN if 200 <= attempt.status < 300 else _RED
        outcome = _badge(str(attempt.status), colour)
    else:
        outcome = _badge(attempt.error_class or "no answer", _RED)
    excerpt = attempt.response_excerpt.decode("utf-8", errors="replace")
    if len(excerpt) > MAX_EXCERPT_CHARS:
        excerpt = excerpt[:MAX_EXCERPT_CHARS] + "…"
    row = [
        _e(attempt.number),
        _e(_time(attempt.started_at)),
        _e(f"{attempt.duration * 1000:.1f} ms"),
        outcome,
        _e(attempt.error),
        f"<code>{_e(excerpt)}</code>",
    ]
    heads = ["attempt", "started", "took", "outcome", "error", "response"]
    return _root("attempt", _table(heads, [row]))


# ---- the delivery log as a DataFrame -------------------------------------------------


def deliveries_frame(
    engine: Engine,
    *,
    endpoint_id: str | None,
    event_type: str | None,
    status: DeliveryStatus | str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
) -> DataFrame:
    """The delivery log, newest event first, at most ``limit`` rows."""
    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise ValidationError("limit must be a positive int", field="limit")
    try:
        import pandas
    except ImportError as exc:
        raise ImportError(
            "Engine.deliveries_frame needs pandas: pip install pandas "
            "(or pip install protekt[notebook])"
        ) from exc

    deliveries = _read_log(engine, limit, endpoint_id, event_type, status, since, until)
    frame = pandas.DataFrame(
        [
            (
                d.event_id,
                d.event_type,
                d.endpoint_id,
                d.status.value,
                d.attempts,
                d.last_status,
                d.created_at,
                d.next_attempt_at,
                d.completed_at,
            )
            for d in deliveries
        ],
        columns=list(FRAME_COLUMNS),
    )
    frame["attempts"] = frame["attempts"].astype("int64")
    frame["last_status"] = frame["last_status"].astype("Int64")
    for column in ("created_at", "next_attempt_at", "completed_at"):
        frame[column] = pandas.to_datetime(frame[column], utc=True)
    return frame


def _read_log(
    engine: Engine,
    limit: int,
    endpoint_id: str | None,
    event_type: str | None,
    status: DeliveryStatus | str | None,
    since: datetime | None,
    until: datetime | None,
) -> list[Delivery]:
    deliveries: list[Delivery] = []
    after: str | None = None
    while len(deliveries) < limit:
        page = engine.delivery_log(
            endpoint_id=endpoint_id,
            event_type=event_type,
            status=status,
            since=since,
            until=until,
            limit=min(limit - len(deliveries), FRAME_PAGE_SIZE),
            after=after,
        )
        deliveries.extend(page.deliveries)
        if page.next is None:
            break
        after = page.next
    return deliveries[:limit]


# ---- pieces --------------------------------------------------------------------------


class _Html(str):
    """Markup built here, to be placed as it is rather than escaped again."""

    __slots__ = ()


def _e(value: object) -> str:
    return html.escape(str(value), quote=True)


def _cell(value: object) -> str:
    return value if isinstance(value, _Html) else _e(value)


def _root(kind: str, body: str) -> str:
    return f'<div class="protekt-{kind}" style="font-family:inherit">{body}</div>'


def _title(name: str, detail: str) -> str:
    return f"<div><strong>{_e(name)}</strong> {detail}</div>"


def _badge(text: str, colour: str | None = None) -> str:
    background = colour or STATUS_COLOURS.get(text, _GREY)
    return f'<span style="{_BADGE};background:{background}">{_e(text)}</span>'


def _fields(fields: Iterable[tuple[str, object]]) -> str:
    rows = "".join(
        f'<tr><th style="{_HEAD}">{_e(name)}</th>'
        f'<td style="{_CELL}">{_cell(value)}</td></tr>'
        for name, value in fields
    )
    return f'<table style="{_TABLE}">{rows}</table>'


def _table(heads: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    """A table with a heading row; the cells of `rows` are markup already."""
    head = "".join(f'<th style="{_HEAD}">{_e(h)}</th>' for h in heads)
    body = "".join(
        "<tr>" + "".join(f'<td style="{_CELL}">{cell}</td>' for cell in row) + "</tr>"
        for row in rows
    )
    return f'<table style="{_TABLE}"><tr>{head}</tr>{body}</table>'


def _time(moment: datetime | None) -> str:
    if moment is None:
        return "none"
    return (
        moment.strftime("%Y-%m-%d %H:%M:%S.") + f"{moment.microsecond // 1000:03d} UTC"
    )


def _seconds(value: float | timedelta) -> str:
    total = value.total_seconds() if isinstance(value, timedelta) else value
    return f"{total:g} s"


def _auth(endpoint: Endpoint) -> str:
    if isinstance(endpoint.auth, SharedSecret):
        rotating = len(endpoint.previous_secrets)
        extra = f", {rotating} previous in their grace period" if rotating else ""
        return f"signature with a shared secret{extra}"
    return f"API token in the {endpoint.auth.header} header"


def _payload(endpoint: Endpoint) -> str:
    include = ", ".join(sorted(endpoint.payload.include)) or "no metadata"
    return f"{endpoint.payload.format}, with {include}"


def _retry(endpoint: Endpoint) -> str:
    retry = endpoint.retry
    if retry.max_attempts == 0:
        return "no retries"
    if retry.backoff == "fixed":
        return f"{retry.max_attempts} retries, every {_seconds(retry.interval)}"
    return (
        f"{retry.max_attempts} retries, from {_seconds(retry.interval)} doubling up to "
        f"{_seconds(retry.max_interval)}{', with jitter' if retry.jitter else ''}"
    )


def _verification(endpoint: Endpoint) -> str:
    check = endpoint.verification
    if check is None:
        return "never verified"
    if check.passed:
        return f"passed at {_time(check.at)}"
    answer = f"answered {check.status}" if check.status else check.error or "no answer"
    return f"failed at {_time(check.at)}: {answer}"
