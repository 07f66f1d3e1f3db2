"""The dead-letter queue: deliveries whose retries ran out at an endpoint that keeps
them, to inspect, replay or purge."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from protekt._exceptions import NotFoundError, ValidationError

if TYPE_CHECKING:
    from protekt import _core
    from protekt._engine import Attempt, Delivery, Engine

__all__ = ["DeadLetter", "DeadLetterPage", "DeadLetterQueue"]

# Dead letters replayed or purged per transaction by replay_all and purge.
_BATCH = 1000


@dataclass(frozen=True)
class DeadLetterPage:
    """Some dead letters, oldest first within an endpoint. ``next`` continues the
    listing (pass it as ``after``); None at its end."""

    letters: list[Delivery]
    next: str | None

    def __iter__(self) -> Iterator[Delivery]:
        return iter(self.letters)

    def __len__(self) -> int:
        return len(self.letters)


@dataclass(frozen=True)
class DeadLetter:
    """One dead letter in full: the delivery, every attempt made, the event and the
    exact body it sends."""

    delivery: Delivery
    attempts: list[Attempt]
    event: dict[str, Any]
    body: bytes

    @property
    def last_attempt(self) -> Attempt | None:
        return self.attempts[-1] if self.attempts else None


class DeadLetterQueue:
    """``engine.dead_letters``: list, inspect, replay one, replay all, purge.

    A replayed delivery is due at once with its retry budget anew; its attempt log
    goes on where it stopped. Purged dead letters stay in the log as failed and can
    no longer be replayed.
    """

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def list(
        self,
        endpoint_id: str | None = None,
        *,
        limit: int = 100,
        after: str | None = None,
    ) -> DeadLetterPage:
        """A page of dead letters: one endpoint's, or every endpoint's in turn."""
        from protekt._engine import Delivery

        if not isinstance(limit, int) or isinstance(limit, bool) or limit < 1:
            raise ValidationError("limit must be a positive int", field="limit")
        try:
            start = bytes.fromhex(after) if after else b""
        except ValueError:
            raise ValidationError(
                "after must be the next of an earlier page", field="after"
            ) from None
        rows, following = self._native().dead_letters(endpoint_id, limit, start)
        letters = [
            Delivery._from_tuple(row, self._engine._event_type(row[0])) for row in rows
        ]
        return DeadLetterPage(letters, following.hex() if following else None)

    def __iter__(self) -> Iterator[Delivery]:
        """Every dead letter, page by page."""
        after: str | None = None
        while True:
            page = self.list(limit=_BATCH, after=after)
            yield from page.letters
            if page.next is None:
                return
            after = page.next

    def count(self, endpoint_id: str | None = None) -> int:
        """Dead letters of one endpoint, or of all."""
        count: int = self._native().dead_letter_count(endpoint_id)
        return count

    def __len__(self) -> int:
        return self.count()

    def get(self, event_id: str, endpoint_id: str) -> DeadLetter:
        """Inspect one dead letter. Raises NotFoundError when that delivery is not in
        the dead-letter queue."""
        from protekt._engine import DeliveryStatus

        try:
            delivery = self._engine.delivery(event_id, endpoint_id)
        except NotFoundError:
            delivery = None
        if delivery is None or delivery.status is not DeliveryStatus.DEAD_LETTERED:
            raise NotFoundError(
                f"no dead letter for event {event_id} at endpoint {endpoint_id}"
            )
        body = self._engine.delivery_body(delivery)
        return DeadLetter(
            delivery,
            self._engine.attempts(delivery),
            self._engine.get_event(event_id),
            body,
        )

    def replay(self, event_id: str, endpoint_id: str) -> Delivery:
        """Sends one dead letter again. Raises NotFoundError when that delivery is
        not in the dead-letter queue."""
        self._native().replay(event_id, endpoint_id)
        return self._engine.delivery(event_id, endpoint_id)

    def replay_all(
        self,
        endpoint_id: str | None = None,
        *,
        progress: Callable[[int, int], object] | None = None,
    ) -> int:
        """Sends every dead letter again (one endpoint's, or all) and returns how
        many. ``progress(done, total)`` is called after each batch."""
        return self._in_batches("replay_all", endpoint_id, progress)

    def purge(
        self,
        endpoint_id: str | None = None,
        *,
        progress: Callable[[int, int], object] | None = None,
    ) -> int:
        """Empties the queue (one endpoint's part, or all) and returns how many
        dead letters went."""
        return self._in_batches("purge_dead_letters", endpoint_id, progress)

    def _in_batches(
        self,
        method: str,
        endpoint_id: str | None,
        progress: Callable[[int, int], object] | None,
    ) -> int:
        native = self._native()
        total = self.count(endpoint_id)
        done = 0
        # Bounded: every batch takes at least one letter out, and letters that
        # arrive meanwhile may add at most one round per batch seen at the start.
        for _ in range(total // _BATCH + 2):
            moved: int = getattr(native, method)(endpoint_id, _BATCH)
            done += moved
            if progress is not None:
                progress(done, max(total, done))
            if moved < _BATCH:
                break
        return done

    def _native(self) -> _core.Engine:
        return self._engine._native_engine()
