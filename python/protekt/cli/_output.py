"""What the command line prints: aligned tables, JSON documents in the portal API's
shapes (docs/portal-api.md, "Objects"), times in UTC RFC 3339, and a progress bar."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Final, TextIO

import protekt

__all__ = [
    "Progress",
    "attempt_json",
    "delivery_json",
    "endpoint_json",
    "event_json",
    "print_json",
    "print_table",
    "rfc3339",
    "stats_json",
]

# Columns between the cells of a table.
COLUMN_GAP: Final = 2

# Cells of a progress bar drawn on a terminal.
BAR_WIDTH: Final = 30

# Seconds between the plain progress lines written when stderr is not a terminal.
PLAIN_PROGRESS_INTERVAL: Final = 5.0


def rfc3339(moment: datetime | None) -> str | None:
    """A time in UTC with milliseconds, as the portal's API writes it."""
    if moment is None:
        return None
    utc = moment.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def print_json(document: object, *, stream: TextIO | None = None) -> None:
    """One JSON document on stdout, for scripts."""
    out = stream or sys.stdout
    json.dump(document, out, indent=2)
    out.write("\n")


def print_table(
    headers: Sequence[str],
    rows: Iterable[Sequence[object]],
    *,
    stream: TextIO | None = None,
) -> None:
    """Left-aligned columns as wide as their widest cell; None prints as "-". The
    last column is not padded, so no line ends in spaces."""
    out = stream or sys.stdout
    cells = [[_cell(value) for value in row] for row in rows]
    widths = [len(h) for h in headers]
    for row in cells:
        for i, text in enumerate(row):
            widths[i] = max(widths[i], len(text))
    for row in [list(headers), *cells]:
        padded = [text.ljust(widths[i]) for i, text in enumerate(row[:-1])]
        out.write((" " * COLUMN_GAP).join([*padded, row[-1]]).rstrip() + "\n")


def print_fields(
    pairs: Sequence[tuple[str, object]], *, stream: TextIO | None = None
) -> None:
    """Name and value pairs, the values aligned in one column."""
    out = stream or sys.stdout
    width = max((len(name) for name, _ in pairs), default=0)
    for name, value in pairs:
        out.write(f"{name + ':':<{width + 1}} {_cell(value)}".rstrip() + "\n")


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, datetime):
        return rfc3339(value) or "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


# ---- JSON objects, as docs/portal-api.md names their fields --------------------------


def _seconds(value: float | timedelta) -> float:
    return value.total_seconds() if isinstance(value, timedelta) else float(value)


def auth_json(auth: protekt.SharedSecret | protekt.ApiToken) -> dict[str, Any]:
    if isinstance(auth, protekt.ApiToken):
        return {"type": "api_token", "header": auth.header}
    return {"type": "shared_secret"}


def endpoint_json(
    endpoint: protekt.Endpoint, *, show_secret: bool = False
) -> dict[str, Any]:
    """An endpoint; ``show_secret`` only right after create and rotate-secret."""
    check = endpoint.verification
    document: dict[str, Any] = {
        "id": endpoint.id,
        "url": endpoint.url,
        "status": endpoint.status.value,
        "auth": auth_json(endpoint.auth),
        "secret": endpoint.secret if show_secret else None,
        "token": _token(endpoint) if show_secret else None,
        "events": list(endpoint.events),
        "payload": {
            "format": endpoint.payload.format,
            "include": sorted(endpoint.payload.include),
        },
        "retry": {
            "max_attempts": endpoint.retry.max_attempts,
            "interval": _seconds(endpoint.retry.interval),
            "backoff": endpoint.retry.backoff,
            "max_interval": _seconds(endpoint.retry.max_interval),
            "jitter": endpoint.retry.jitter,
        },
        "dead_letter_queue": endpoint.dead_letter_queue,
        "failure_notification": endpoint.failure_notification or None,
        "timeout": endpoint.timeout,
        "description": endpoint.description,
        "created_at": rfc3339(endpoint.created_at),
        "updated_at": rfc3339(endpoint.updated_at),
        "verification": None
        if check is None
        else {
            "at": rfc3339(check.at),
            "status": check.status,
            "error": check.error,
            "duration": check.duration,
            "passed": check.passed,
        },
    }
    return document


def _token(endpoint: protekt.Endpoint) -> str | None:
    auth = endpoint.auth
    return auth.token if isinstance(auth, protekt.ApiToken) else None


def delivery_json(
    delivery: protekt.Delivery,
    *,
    attempts: Sequence[protekt.Attempt] | None = None,
) -> dict[str, Any]:
    """A delivery; with its ``attempt_log`` when ``attempts`` are given."""
    document: dict[str, Any] = {
        "event_id": delivery.event_id,
        "endpoint_id": delivery.endpoint_id,
        "event_type": delivery.event_type,
        "status": delivery.status.value,
        "attempts": delivery.attempts,
        "created_at": rfc3339(delivery.created_at),
        "next_attempt_at": rfc3339(delivery.next_attempt_at),
        "completed_at": rfc3339(delivery.completed_at),
        "last_status": delivery.last_status,
    }
    if attempts is not None:
        document["attempt_log"] = [attempt_json(a) for a in attempts]
    return document


def attempt_json(attempt: protekt.Attempt) -> dict[str, Any]:
    return {
        "number": attempt.number,
        "started_at": rfc3339(attempt.started_at),
        "duration": attempt.duration,
        "status": attempt.status,
        "error_class": attempt.error_class,
        "error": attempt.error,
        "response_excerpt": attempt.response_excerpt.decode("utf-8", "replace"),
    }


def event_json(event: protekt.Event) -> dict[str, Any]:
    return {
        "id": event.id,
        "type": event.type,
        "timestamp": rfc3339(event.timestamp),
        "deliveries": event.deliveries,
        "duplicate": event.duplicate,
    }


def stats_json(stats: protekt.EndpointStats) -> dict[str, Any]:
    return {
        "deliveries": stats.deliveries,
        "succeeded": stats.succeeded,
        "failed": stats.failed,
        "dead_lettered": stats.dead_lettered,
        "success_rate": stats.success_rate,
        "latency": {
            "p50": stats.latency_p50,
            "p90": stats.latency_p90,
            "p99": stats.latency_p99,
        },
        "last_error": stats.last_error,
    }


# ---- progress ------------------------------------------------------------------------


class Progress:
    """Reports long work on stderr: a bar redrawn in place on a terminal, otherwise a
    plain line every few seconds. Never writes to stdout, so --json stays one
    document.

    >>> with Progress("replaying") as progress:  # doctest: +SKIP
    ...     engine.dead_letters.replay_all(progress=progress.update)
    """

    def __init__(
        self,
        label: str,
        *,
        stream: TextIO | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._label = label
        self._stream = stream or sys.stderr
        self._tty = _is_terminal(self._stream)
        self._clock = clock
        self._last_line = clock()
        self._drawn = False

    def update(self, done: int, total: int) -> None:
        if self._tty:
            self._draw(done, total)
        elif self._clock() - self._last_line >= PLAIN_PROGRESS_INTERVAL:
            self._last_line = self._clock()
            self._stream.write(f"{self._label}: {done} of {total}\n")
            self._stream.flush()

    def _draw(self, done: int, total: int) -> None:
        fraction = done / total if total else 1.0
        filled = round(fraction * BAR_WIDTH)
        bar = "#" * filled + "." * (BAR_WIDTH - filled)
        self._stream.write(f"\r{self._label} [{bar}] {done}/{total} {fraction:4.0%}")
        self._stream.flush()
        self._drawn = True

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._drawn:
            self._stream.write("\n")
            self._stream.flush()


def _is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False
