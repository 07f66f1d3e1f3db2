"""`protekt dlq list|replay|purge`: the dead-letter queue."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

import protekt
from protekt.cli._common import (
    ExitCode,
    command,
    confirm,
    group_of_commands,
    open_engine,
    positive_int,
)
from protekt.cli._deliveries import print_deliveries, print_delivery
from protekt.cli._output import Progress, delivery_json, print_json

if TYPE_CHECKING:
    from protekt.cli._common import Commands

__all__ = ["register"]

DEFAULT_LIMIT = 50


def register(commands: Commands) -> None:
    group = group_of_commands(
        commands, "dlq", "the dead-letter queue: deliveries whose retries ran out"
    )

    listing = command(group, "list", "dead letters, oldest first per endpoint")
    listing.add_argument("--endpoint", metavar="ID")
    listing.add_argument(
        "--limit", metavar="N", type=positive_int, default=DEFAULT_LIMIT
    )
    listing.add_argument("--after", metavar="NEXT", help="continue a listing")
    listing.set_defaults(func=run_list)

    replay = command(
        group,
        "replay",
        "send dead letters again, with their retry budget anew: one "
        "(EVENT_ID ENDPOINT_ID), or --all",
    )
    replay.add_argument("event_id", metavar="EVENT_ID", nargs="?")
    replay.add_argument("endpoint_id", metavar="ENDPOINT_ID", nargs="?")
    replay.add_argument(
        "--all", action="store_true", help="every dead letter (of --endpoint)"
    )
    replay.add_argument("--endpoint", metavar="ID", help="with --all: only this one's")
    replay.set_defaults(func=run_replay, parser=replay)

    purge = command(group, "purge", "delete dead letters; they cannot be replayed")
    purge.add_argument("--endpoint", metavar="ID", help="only this endpoint's")
    purge.add_argument("--yes", action="store_true", help="do not ask")
    purge.set_defaults(func=run_purge)


def run_list(args: argparse.Namespace) -> int:
    with open_engine(args) as engine:
        if args.endpoint is not None:
            engine.endpoints.get(args.endpoint)
        page = engine.dead_letters.list(
            args.endpoint, limit=args.limit, after=args.after
        )
        count = engine.dead_letters.count(args.endpoint)
    if args.json:
        letters = [delivery_json(d) for d in page]
        print_json({"dead_letters": letters, "next": page.next, "count": count})
        return ExitCode.OK
    print_deliveries(page.letters)
    shown = len(page)
    print(f"{shown} of {count} dead letter{'' if count == 1 else 's'}")
    if page.next is not None:
        print(f"more: --after {page.next}")
    return ExitCode.OK


def run_replay(args: argparse.Namespace) -> int:
    parser: argparse.ArgumentParser = args.parser
    one = args.event_id is not None
    if args.all == one or (one and args.endpoint_id is None):
        parser.error("give EVENT_ID ENDPOINT_ID, or --all")
    if one and args.endpoint is not None:
        parser.error("--endpoint goes with --all")
    with open_engine(args) as engine:
        if one:
            return _replay_one(engine, args)
        if args.endpoint is not None:
            engine.endpoints.get(args.endpoint)
        with Progress("replaying") as progress:
            replayed = engine.dead_letters.replay_all(
                args.endpoint, progress=progress.update
            )
    if args.json:
        print_json({"replayed": replayed})
    else:
        print(f"replayed {replayed} dead letter{'' if replayed == 1 else 's'}")
    return ExitCode.OK


def _replay_one(engine: protekt.Engine, args: argparse.Namespace) -> int:
    delivery = engine.dead_letters.replay(args.event_id, args.endpoint_id)
    print_delivery(delivery, engine.attempts(delivery), as_json=args.json)
    return ExitCode.OK


def run_purge(args: argparse.Namespace) -> int:
    with open_engine(args) as engine:
        where = "every endpoint"
        if args.endpoint is not None:
            where = engine.endpoints.get(args.endpoint).id
        count = engine.dead_letters.count(args.endpoint)
        if count:
            confirm(
                f"purge {count} dead letter{'' if count == 1 else 's'} of {where}?",
                assume_yes=args.yes,
            )
        with Progress("purging") as progress:
            purged = engine.dead_letters.purge(args.endpoint, progress=progress.update)
    if args.json:
        print_json({"purged": purged})
    else:
        print(f"purged {purged} dead letter{'' if purged == 1 else 's'}")
    return ExitCode.OK
