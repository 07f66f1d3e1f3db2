"""An endpoint's recent deliveries, counted per time bucket for the portal's chart.

The delivery log is read page by page, newest first, for events of the window, and
each finished delivery is counted at its completion time (its creation time when it
has none): succeeded, or failed (failed and dead-lettered alike). The work is
bounded: at most MAX_SCANNED deliveries are read, and the answer says when the
window held more.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Final

from protekt._engine import Delivery, DeliveryStatus, Engine
from protekt.portal._schemas import Activity, Bucket

DEFAULT_HOURS: Final = 24
DEFAULT_BUCKETS: Final = 24
MAX_HOURS: Final = 24 * 31
MAX_BUCKETS: Final = 240
# The most deliveries one answer reads, and how many it reads at a time.
MAX_SCANNED: Final = 10_000
PAGE: Final = 1000

_FAILED: Final = frozenset({DeliveryStatus.FAILED, DeliveryStatus.DEAD_LETTERED})


def activity(
    engine: Engine,
    endpoint_id: str,
    *,
    hours: int,
    buckets: int,
    now: datetime | None = None,
) -> Activity:
    width = timedelta(hours=hours) / buckets
    end = _aligned_end(now or datetime.now(UTC), width)
    start = end - width * buckets
    succeeded = [0] * buckets
    failed = [0] * buckets

    truncated = False
    after: str | None = None
    for _ in range(MAX_SCANNED // PAGE):
        page = engine.delivery_log(
            endpoint_id=endpoint_id, since=start, limit=PAGE, after=after
        )
        for delivery in page:
            index = _bucket(delivery, start, width, buckets)
            if index is None:
                continue
            if delivery.status is DeliveryStatus.SUCCEEDED:
                succeeded[index] += 1
            elif delivery.status in _FAILED:
                failed[index] += 1
        after = page.next
        if after is None:
            break
    else:
        truncated = after is not None

    return Activity(
        buckets=[
            Bucket(start=start + width * i, succeeded=succeeded[i], failed=failed[i])
            for i in range(buckets)
        ],
        truncated=truncated,
    )


def _aligned_end(now: datetime, width: timedelta) -> datetime:
    """The end of the bucket ``now`` falls in, buckets counted from the Unix epoch:
    the same buckets from one refresh to the next."""
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    elapsed = now - epoch
    return epoch + (elapsed // width + 1) * width


def _bucket(
    delivery: Delivery, start: datetime, width: timedelta, count: int
) -> int | None:
    moment = delivery.completed_at or delivery.created_at
    index = (moment - start) // width
    return index if 0 <= index < count else None
