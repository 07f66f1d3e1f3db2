"""``/metrics``: the engine's counts in the Prometheus text format.

A collector reads ``engine.metrics()`` at each scrape, so the numbers are those of
the data directory, shared by every process that opens it, not of this process.
Each app has a registry of its own; nothing goes into prometheus_client's global
one. Per-endpoint families carry the label ``endpoint_id``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Final

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
)
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from protekt._engine import Engine
from protekt._stats import EndpointStats, EngineMetrics

__all__ = ["EngineCollector", "registry_for", "router"]

LABEL: Final = "endpoint_id"

# Per-endpoint counters: the family's name (without _total), its help, and the
# EndpointStats count it reports.
_COUNTERS: Final = (
    ("protekt_deliveries", "Deliveries created.", "deliveries"),
    ("protekt_deliveries_delivered", "Deliveries that succeeded.", "succeeded"),
    ("protekt_deliveries_failed", "Deliveries that failed for good.", "failed"),
    (
        "protekt_deliveries_dead_lettered",
        "Deliveries moved to the dead-letter queue.",
        "dead_lettered",
    ),
    ("protekt_delivery_attempts", "Requests made to deliver.", "attempts"),
    ("protekt_delivery_retries", "Requests that retried a failed one.", "retries"),
)

router = APIRouter(tags=["metrics"])


class EngineCollector(Collector):
    """Reports one engine's metrics at every collection."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def describe(self) -> Iterable[Metric]:
        # The families without samples: registering must not read the engine.
        return self._families(None)

    def collect(self) -> Iterable[Metric]:
        return self._families(self._engine.metrics())

    @staticmethod
    def _families(metrics: EngineMetrics | None) -> list[Metric]:
        emitted = CounterMetricFamily(
            "protekt_events_emitted",
            "Events emitted since the data directory was made.",
        )
        depth = GaugeMetricFamily(
            "protekt_queue_depth", "Deliveries waiting to be sent."
        )
        dead = GaugeMetricFamily(
            "protekt_dead_letters", "Deliveries in the dead-letter queue now."
        )
        counters = [
            CounterMetricFamily(name, help_text, labels=[LABEL])
            for name, help_text, _ in _COUNTERS
        ]
        latency = HistogramMetricFamily(
            "protekt_delivery_latency_seconds",
            "How long the requests that got an answer took.",
            labels=[LABEL],
        )
        if metrics is not None:
            emitted.add_metric([], metrics.events_emitted)
            depth.add_metric([], metrics.queue_depth)
            dead.add_metric([], metrics.dead_letters)
            for endpoint_id, stats in sorted(metrics.endpoints.items()):
                for family, (_, _, count) in zip(counters, _COUNTERS, strict=True):
                    family.add_metric([endpoint_id], getattr(stats, count))
                latency.add_metric(
                    [endpoint_id], _buckets(stats), sum_value=stats.latency_sum
                )
        return [emitted, depth, dead, *counters, latency]


def _buckets(stats: EndpointStats) -> list[tuple[str, float]]:
    """The cumulative histogram, its last bound infinite, as Prometheus writes it."""
    return [(_bound(bound), count) for bound, count in stats.latency_buckets]


def _bound(bound: float) -> str:
    return "+Inf" if math.isinf(bound) else repr(float(bound))


def registry_for(engine: Engine) -> CollectorRegistry:
    registry = CollectorRegistry()
    registry.register(EngineCollector(engine))
    return registry


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {CONTENT_TYPE_LATEST: {}}}},
)
def metrics(request: Request) -> Response:
    """The engine's metrics for Prometheus (with the admin key or a session)."""
    registry: CollectorRegistry = request.app.state.metrics
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
