"""The delivery log and what it adds up to: per-endpoint statistics and the engine's
metrics (docs/storage.md, databases ``endpoint_log`` and ``counters``)."""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from protekt import _core
from protekt._exceptions import ValidationError

if TYPE_CHECKING:
    from protekt._engine import Attempt, Delivery, DeliveryStatus

__all__ = ["DeliveryPage", "EndpointStats", "EngineMetrics"]

# Upper bounds of the latency histogram's buckets, in seconds; the last is infinite.
LATENCY_BOUNDS: Final = (*(ms / 1000 for ms in _core.LATENCY_BOUNDS_MS), math.inf)

# Attempts the latency percentiles of EndpointStats are taken over.
PERCENTILE_WINDOW: Final = 1000


@dataclass(frozen=True)
class DeliveryPage:
    """Some deliveries, newest event first. ``next`` continues the listing (pass it
    as ``after``); None at its end. A page may be short and still have a next when
    few deliveries pass the filter."""

    deliveries: list[Delivery]
    next: str | None

    def __iter__(self) -> Iterator[Delivery]:
        return iter(self.deliveries)

    def __len__(self) -> int:
        return len(self.deliveries)


@dataclass(frozen=True)
class EndpointStats:
    """What an endpoint's deliveries came to since it was created.

    Counts only grow (a replayed dead letter that then succeeds counts in both
    ``dead_lettered`` and ``succeeded``). ``latency_p50`` and the other percentiles,
    in seconds, are over the newest answered attempts (up to 1000), None before the
    first answer. ``latency_buckets`` is the cumulative histogram of every answered
    attempt: pairs of an upper bound in seconds (the last one infinite) and how many
    took at most that long.
    """

    endpoint_id: str
    deliveries: int
    succeeded: int
    failed: int
    dead_lettered: int
    cancelled: int
    attempts: int
    failed_attempts: int
    retries: int
    latency_sum: float
    latency_buckets: tuple[tuple[float, int], ...]
    latency_p50: float | None = None
    latency_p90: float | None = None
    latency_p99: float | None = None
    last_error: str | None = None
    last_error_at: datetime | None = None

    @property
    def success_rate(self) -> float | None:
        """Succeeded among the deliveries that ended, or None before any did."""
        ended = self.succeeded + self.failed + self.dead_lettered
        return self.succeeded / ended if ended else None


@dataclass(frozen=True)
class EngineMetrics:
    """The whole engine at one moment: events emitted since the directory was
    made, deliveries waiting, dead letters, and each endpoint's counts (without
    percentiles or last errors, which cost a read per endpoint)."""

    events_emitted: int
    queue_depth: int
    dead_letters: int
    endpoints: dict[str, EndpointStats]


def delivery_log(
    native: _core.Engine,
    *,
    endpoint_id: str | None,
    event_type: str | None,
    status: DeliveryStatus | str | None,
    since: datetime | None,
    until: datetime | None,
    limit: int,
    after: str | None,
) -> DeliveryPage:
    from protekt._engine import Delivery

    if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
        raise ValidationError("limit must be a positive int", field="limit")
    if event_type is not None and not isinstance(event_type, str):
        raise ValidationError("event_type must be a str", field="event_type")
    try:
        start = bytes.fromhex(after) if after else b""
    except ValueError:
        raise ValidationError(
            "after must be the next of an earlier page", field="after"
        ) from None
    rows, following = native.delivery_log(
        endpoint_id,
        event_type or "",
        str(status) if status is not None else None,
        _ms(since, "since"),
        _ms(until, "until"),
        limit,
        start,
    )
    deliveries = [Delivery._from_tuple(row, type_) for row, type_ in rows]
    return DeliveryPage(deliveries, following.hex() if following else None)


def endpoint_stats(native: _core.Engine, endpoint_id: str) -> EndpointStats:
    from protekt._engine import Attempt, _time

    counts = _counts(endpoint_id, native.counters_of(endpoint_id))
    recent = [
        Attempt._from_tuple(row)
        for row in native.recent_attempts(endpoint_id, PERCENTILE_WINDOW)
    ]
    p50, p90, p99 = _percentiles(recent, (0.5, 0.9, 0.99))
    _, _, last_failure, status, error_class, error = native.health_of(endpoint_id)
    return EndpointStats(
        **counts,
        latency_p50=p50,
        latency_p90=p90,
        latency_p99=p99,
        last_error=_error_text(status, error_class, error) if last_failure else None,
        last_error_at=_time(last_failure) if last_failure else None,
    )


def engine_metrics(native: _core.Engine) -> EngineMetrics:
    endpoints = {
        endpoint_id: EndpointStats(**_counts(endpoint_id, row))
        for endpoint_id, row in native.counters().items()
    }
    return EngineMetrics(
        events_emitted=native.events_emitted(),
        queue_depth=native.pending_count(),
        dead_letters=native.dead_letter_count(None),
        endpoints=endpoints,
    )


def _counts(endpoint_id: str, row: _core.CountersRow) -> dict[str, Any]:
    (
        deliveries,
        succeeded,
        failed,
        dead_lettered,
        cancelled,
        attempts,
        failed_attempts,
        retries,
        latency_sum_ms,
        buckets,
    ) = row
    cumulative: list[tuple[float, int]] = []
    total = 0
    for bound, count in zip(LATENCY_BOUNDS, buckets, strict=True):
        total += count
        cumulative.append((bound, total))
    return {
        "endpoint_id": endpoint_id,
        "deliveries": deliveries,
        "succeeded": succeeded,
        "failed": failed,
        "dead_lettered": dead_lettered,
        "cancelled": cancelled,
        "attempts": attempts,
        "failed_attempts": failed_attempts,
        "retries": retries,
        "latency_sum": latency_sum_ms / 1000,
        "latency_buckets": tuple(cumulative),
    }


def _percentiles(
    attempts: list[Attempt], quantiles: tuple[float, ...]
) -> tuple[float | None, ...]:
    """Nearest-rank percentiles of the durations of attempts that got an answer."""
    durations = sorted(a.duration for a in attempts if a.status is not None)
    if not durations:
        return tuple(None for _ in quantiles)
    n = len(durations)
    return tuple(durations[max(math.ceil(q * n) - 1, 0)] for q in quantiles)


def _error_text(status: int, error_class: str, error: str) -> str:
    if error:
        return error
    return f"the endpoint answered {status}" if status else error_class


def _ms(moment: datetime | None, field: str) -> int:
    if moment is None:
        return 0
    if not isinstance(moment, datetime) or moment.tzinfo is None:
        raise ValidationError(f"{field} must be a timezone-aware datetime", field=field)
    return max(int(moment.timestamp() * 1000), 1)
