"""`protekt emit` and `protekt deliveries list|show`: events in, deliveries out."""

from __future__ import annotations

import argparse
import json
from typing import TYPE_CHECKING, Any

import protekt
from protekt.cli._common import (
    CommandFailed,
    ExitCode,
    command,
    group_of_commands,
    open_engine,
    positive_int,
    timestamp,
)
from protekt.cli._output import (
    delivery_json,
    event_json,
    print_fields,
    print_json,
    print_table,
)

if TYPE_CHECKING:
    from protekt.cli._common import Commands

__all__ = ["print_delivery", "register"]

DEFAULT_LIMIT = 50


def register(commands: Commands) -> None:
    emit = command(
        commands,
        "emit",
        "record an event; it is queued for every active endpoint subscribed to it",
    )
    emit.add_argument("type", metavar="TYPE", help="e.g. user.login.succeeded")
    data = emit.add_mutually_exclusive_group()
    data.add_argument("--data", metavar="JSON", help="the event's data, a JSON object")
    data.add_argument(
        "--field",
        metavar="KEY=VALUE",
        action="append",
        default=[],
        help="one data field, a string; KEY:=JSON for any JSON value; a dotted KEY "
        "(user.id=u_1) makes nested objects; repeatable",
    )
    emit.add_argument("--idempotency-key", metavar="K")
    emit.set_defaults(func=run_emit)

    group = group_of_commands(commands, "deliveries", "the delivery log")
    listing = command(group, "list", "deliveries, newest event first")
    listing.add_argument("--endpoint", metavar="ID")
    listing.add_argument("--type", metavar="T", help="only events of this type")
    listing.add_argument("--status", choices=[s.value for s in protekt.DeliveryStatus])
    listing.add_argument("--since", metavar="RFC3339", type=timestamp)
    listing.add_argument("--until", metavar="RFC3339", type=timestamp)
    listing.add_argument(
        "--limit", metavar="N", type=positive_int, default=DEFAULT_LIMIT
    )
    listing.add_argument(
        "--after", metavar="NEXT", help="continue a listing where it stopped"
    )
    listing.set_defaults(func=run_list)

    show = command(group, "show", "one delivery and its attempt log")
    show.add_argument("event_id", metavar="EVENT_ID")
    show.add_argument("endpoint_id", metavar="ENDPOINT_ID")
    show.set_defaults(func=run_show)


# ---- emit ----------------------------------------------------------------------------


def run_emit(args: argparse.Namespace) -> int:
    data = _event_data(args.data, args.field)
    with open_engine(args) as engine:
        event = engine.emit(args.type, idempotency_key=args.idempotency_key, **data)
    if args.json:
        print_json(event_json(event))
        return ExitCode.OK
    plural = "delivery" if event.deliveries == 1 else "deliveries"
    again = " (seen before: the first event again, nothing new queued)"
    print(f"{event.id}  {event.deliveries} {plural}{again if event.duplicate else ''}")
    return ExitCode.OK


def _event_data(text: str | None, fields: list[str]) -> dict[str, Any]:
    if text is not None:
        try:
            data = json.loads(text)
        except ValueError as exc:
            raise protekt.ValidationError(f"not JSON: {exc}", field="--data") from None
        if not isinstance(data, dict):
            raise protekt.ValidationError("must be a JSON object", field="--data")
    else:
        data = {}
        for field in fields:
            _set_field(data, field)
    if "idempotency_key" in data:
        raise protekt.ValidationError(
            "idempotency_key is not event data; use --idempotency-key",
            field="idempotency_key",
        )
    return data


def _set_field(data: dict[str, Any], field: str) -> None:
    name, raw, value = _split_field(field)
    keys = name.split(".")
    target = data
    for key in keys[:-1]:
        child = target.setdefault(key, {})
        if not isinstance(child, dict):
            raise protekt.ValidationError(
                f"{key} is already a value, it cannot hold {name}", field="--field"
            )
        target = child
    if raw:
        try:
            target[keys[-1]] = json.loads(value)
        except ValueError as exc:
            raise protekt.ValidationError(
                f"{name}:= needs JSON: {exc}", field="--field"
            ) from None
    else:
        target[keys[-1]] = value


def _split_field(field: str) -> tuple[str, bool, str]:
    """KEY=VALUE or KEY:=JSON, as (key, is_json, value)."""
    name, sep, value = field.partition("=")
    raw = name.endswith(":")
    name = name.removesuffix(":")
    if not sep or not name or "" in name.split("."):
        raise protekt.ValidationError(
            f"{field!r} is not KEY=VALUE or KEY:=JSON", field="--field"
        )
    return name, raw, value


# ---- the delivery log ----------------------------------------------------------------


def run_list(args: argparse.Namespace) -> int:
    with open_engine(args) as engine:
        page = engine.delivery_log(
            endpoint_id=args.endpoint,
            event_type=args.type,
            status=args.status,
            since=args.since,
            until=args.until,
            limit=args.limit,
            after=args.after,
        )
    if args.json:
        print_json({"deliveries": [delivery_json(d) for d in page], "next": page.next})
        return ExitCode.OK
    print_deliveries(page.deliveries)
    if page.next is not None:
        print(f"more: --after {page.next}")
    return ExitCode.OK


def print_deliveries(deliveries: list[protekt.Delivery]) -> None:
    """A table of deliveries."""
    rows = [
        (
            d.event_id,
            d.endpoint_id,
            d.event_type or None,
            d.status.value,
            d.attempts,
            d.last_status,
            d.created_at,
        )
        for d in deliveries
    ]
    headers = ("EVENT", "ENDPOINT", "TYPE", "STATUS", "ATTEMPTS", "LAST", "CREATED")
    print_table(headers, rows)


def run_show(args: argparse.Namespace) -> int:
    with open_engine(args) as engine:
        delivery = engine.delivery(args.event_id, args.endpoint_id)
        attempts = engine.attempts(delivery)
    print_delivery(delivery, attempts, as_json=args.json)
    return ExitCode.OK


def print_delivery(
    delivery: protekt.Delivery,
    attempts: list[protekt.Attempt],
    *,
    as_json: bool,
) -> None:
    """One delivery with its attempt log, as JSON or as fields and a table."""
    if as_json:
        print_json(delivery_json(delivery, attempts=attempts))
        return
    print_fields(
        [
            ("event", delivery.event_id),
            ("endpoint", delivery.endpoint_id),
            ("type", delivery.event_type or None),
            ("status", delivery.status.value),
            ("attempts", delivery.attempts),
            ("created", delivery.created_at),
            ("next attempt", delivery.next_attempt_at),
            ("completed", delivery.completed_at),
        ]
    )
    if not attempts:
        return
    print()
    rows = [
        (
            a.number,
            a.started_at,
            f"{a.duration * 1000:.0f} ms",
            a.status,
            a.error_class or None,
            a.error or _excerpt(a.response_excerpt) or None,
        )
        for a in attempts
    ]
    print_table(("#", "STARTED", "TOOK", "STATUS", "ERROR", "DETAIL"), rows)


def _excerpt(body: bytes, width: int = 60) -> str:
    text = " ".join(body.decode("utf-8", "replace").split())
    return text if len(text) <= width else text[: width - 1] + "…"


def not_delivered(delivery: protekt.Delivery, what: str) -> CommandFailed:
    return CommandFailed(
        f"{what} was not delivered: {delivery.status.value} after "
        f"{delivery.attempts} attempt(s), last status {delivery.last_status or '-'}"
    )
