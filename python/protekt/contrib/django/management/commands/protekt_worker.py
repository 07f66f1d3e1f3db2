"""``manage.py protekt_worker``: delivers the events that the web processes emit,
until SIGINT or SIGTERM. The same as ``protekt worker --data-dir ...`` with the
settings of ``settings.PROTEKT``."""

from __future__ import annotations

from typing import Any

from django.core.management.base import (  # type: ignore[import-untyped]
    BaseCommand,
    CommandError,
)

from protekt.contrib._common import run_worker
from protekt.contrib.django._settings import read_settings

__all__ = ["Command"]


class Command(BaseCommand):  # type: ignore[misc]
    help = (
        "Deliver protekt webhooks from this process until SIGINT or SIGTERM; web "
        "processes then only emit."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--concurrency",
            type=int,
            default=8,
            help="requests in flight per endpoint at most (default 8)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["concurrency"] < 1:
            raise CommandError("--concurrency must be at least 1")
        settings = read_settings()

        def say(message: str) -> None:
            self.stderr.write(f"protekt: {message}")

        if not run_worker(settings, concurrency=options["concurrency"], say=say):
            raise CommandError(
                f"another process holds the dispatcher lock of {settings.data_dir} "
                "and delivers"
            )
