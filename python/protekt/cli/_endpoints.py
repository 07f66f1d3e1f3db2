"""`protekt endpoints ...`: the guide's webhook set-up from the command line.

Create an endpoint, Verify endpoint, Save webhook, Send test event; and list, change,
pause, resume, rotate and delete them. The secret is printed by create and
rotate-secret only.
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

import protekt
from protekt.cli._common import (
    CommandFailed,
    ExitCode,
    command,
    confirm,
    dispatcher_options,
    group_of_commands,
    open_engine,
    seconds_value,
)
from protekt.cli._deliveries import not_delivered, print_delivery
from protekt.cli._output import (
    endpoint_json,
    print_fields,
    print_json,
    print_table,
    stats_json,
)

if TYPE_CHECKING:
    from protekt.cli._common import Commands

__all__ = ["register"]

# Seconds `endpoints test` waits for the test event by default, as the portal does.
DEFAULT_TEST_WAIT = 10.0


def register(commands: Commands) -> None:
    group = group_of_commands(commands, "endpoints", "webhook endpoints")

    listing = command(group, "list", "every endpoint")
    listing.set_defaults(func=run_list)

    get = command(group, "get", "one endpoint's settings (never its secret)")
    get.add_argument("id", metavar="ID")
    get.set_defaults(func=run_get)

    create = command(group, "create", "register an endpoint, in status created")
    create.add_argument("--url", required=True, help="where deliveries go (https)")
    create.add_argument(
        "--auth",
        choices=("secret", "token"),
        default="secret",
        help="a shared secret that signs each request (default), or an API token "
        "sent in a header",
    )
    create.add_argument("--secret", metavar="WHSEC", help="use this secret")
    create.add_argument("--token", metavar="T", help="use this API token")
    create.add_argument(
        "--token-header", metavar="H", help="the API token's header (Authorization)"
    )
    _settings_options(create, creating=True)
    create.set_defaults(func=run_create)

    update = command(group, "update", "change some settings of an endpoint")
    update.add_argument("id", metavar="ID")
    update.add_argument("--url", help="a new URL sends the endpoint back to created")
    _settings_options(update, creating=False)
    update.set_defaults(func=run_update)

    delete = command(group, "delete", "delete an endpoint")
    delete.add_argument("id", metavar="ID")
    delete.add_argument("--yes", action="store_true", help="do not ask")
    delete.set_defaults(func=run_delete)

    verify = command(group, "verify", "Verify endpoint: send the signed challenge")
    verify.add_argument("id", metavar="ID")
    verify.set_defaults(func=run_verify)

    save = command(group, "save", "Save webhook: activate a verified endpoint")
    save.add_argument("id", metavar="ID")
    save.add_argument(
        "--skip-verification",
        action="store_true",
        help="activate an endpoint that never passed Verify endpoint",
    )
    save.set_defaults(func=run_save)

    for name, what in (("pause", "stop"), ("resume", "restart")):
        parser = command(group, name, f"{what} deliveries to an endpoint")
        parser.add_argument("id", metavar="ID")
        parser.set_defaults(func=run_status_change, change=name)

    rotate = command(group, "rotate-secret", "make a new signing secret current")
    rotate.add_argument("id", metavar="ID")
    rotate.add_argument(
        "--grace",
        metavar="S",
        type=seconds_value,
        help="seconds the old secret still signs too (the engine's default: 24 h)",
    )
    rotate.set_defaults(func=run_rotate)

    test = command(group, "test", "Send test event, and wait for its delivery")
    test.add_argument("id", metavar="ID")
    test.add_argument(
        "--wait",
        metavar="S",
        type=seconds_value,
        default=DEFAULT_TEST_WAIT,
        help=f"seconds to wait for the delivery (default {DEFAULT_TEST_WAIT:g})",
    )
    test.set_defaults(func=run_test)

    stats = command(group, "stats", "an endpoint's counts, success rate and latency")
    stats.add_argument("id", metavar="ID")
    stats.set_defaults(func=run_stats)


def _settings_options(parser: argparse.ArgumentParser, *, creating: bool) -> None:
    """The settings create takes; update takes each of them as a change."""
    parser.add_argument(
        "--event",
        metavar="E",
        action="append",
        required=creating,
        help="an event to receive; repeatable, or comma-separated; 'all' for the "
        "six auth events",
    )
    parser.add_argument("--format", choices=("json", "form"), help="(json)")
    parser.add_argument(
        "--include",
        metavar="LIST",
        help="metadata to send, comma-separated: user,ip,device,location "
        "(default user)",
    )
    parser.add_argument(
        "--max-attempts", metavar="N", type=int, help="retries after the first (3)"
    )
    parser.add_argument(
        "--interval", metavar="S", type=seconds_value, help="seconds between (60)"
    )
    parser.add_argument("--backoff", choices=("fixed", "exponential"), help="(fixed)")
    parser.add_argument(
        "--dead-letter-queue",
        action="store_true" if creating else argparse.BooleanOptionalAction,
        default=False if creating else None,
        help="keep deliveries whose retries ran out, to replay",
    )
    parser.add_argument(
        "--notify",
        metavar="ADDR",
        help="an email address or https URL told about failures"
        + ("" if creating else "; '' for none"),
    )
    parser.add_argument(
        "--timeout", metavar="S", type=seconds_value, help="seconds per request (15)"
    )
    parser.add_argument("--description", metavar="TEXT")


# ---- reading ------------------------------------------------------------------------


def run_list(args: argparse.Namespace) -> int:
    with open_engine(args) as engine:
        endpoints = engine.endpoints.list()
    if args.json:
        print_json({"endpoints": [endpoint_json(e) for e in endpoints]})
        return ExitCode.OK
    rows = [
        (e.id, e.status.value, _auth_name(e), len(e.events), e.updated_at, e.url)
        for e in endpoints
    ]
    print_table(("ID", "STATUS", "AUTH", "EVENTS", "UPDATED", "URL"), rows)
    return ExitCode.OK


def run_get(args: argparse.Namespace) -> int:
    with open_engine(args) as engine:
        endpoint = engine.endpoints.get(args.id)
    _show(endpoint, args)
    return ExitCode.OK


def run_stats(args: argparse.Namespace) -> int:
    with open_engine(args) as engine:
        stats = engine.endpoints.stats(args.id)
    if args.json:
        print_json(stats_json(stats))
        return ExitCode.OK
    rate = stats.success_rate
    print_fields(
        [
            ("deliveries", stats.deliveries),
            ("succeeded", stats.succeeded),
            ("failed", stats.failed),
            ("dead-lettered", stats.dead_lettered),
            ("success rate", None if rate is None else f"{rate:.1%}"),
            ("latency p50", _ms(stats.latency_p50)),
            ("latency p90", _ms(stats.latency_p90)),
            ("latency p99", _ms(stats.latency_p99)),
            ("last error", stats.last_error),
            ("last error at", stats.last_error_at),
        ]
    )
    return ExitCode.OK


def _ms(value: float | None) -> str | None:
    return None if value is None else f"{value * 1000:.0f} ms"


def _auth_name(endpoint: protekt.Endpoint) -> str:
    if isinstance(endpoint.auth, protekt.ApiToken):
        return f"token ({endpoint.auth.header})"
    return "secret"


def _show(
    endpoint: protekt.Endpoint, args: argparse.Namespace, *, show_secret: bool = False
) -> None:
    if args.json:
        print_json(endpoint_json(endpoint, show_secret=show_secret))
        return
    check = endpoint.verification
    retry = endpoint.retry
    pairs: list[tuple[str, object]] = [
        ("id", endpoint.id),
        ("url", endpoint.url),
        ("status", endpoint.status.value),
        ("auth", _auth_name(endpoint)),
        ("events", ", ".join(endpoint.events)),
        ("format", endpoint.payload.format),
        ("include", ", ".join(sorted(endpoint.payload.include)) or None),
        ("retry", f"{retry.max_attempts} x {retry.interval} s, {retry.backoff}"),
        ("dead-letter queue", endpoint.dead_letter_queue),
        ("notify", endpoint.failure_notification or None),
        ("timeout", f"{endpoint.timeout:g} s"),
        ("description", endpoint.description or None),
        ("created", endpoint.created_at),
        ("updated", endpoint.updated_at),
        ("verified", None if check is None else _verdict(check)),
    ]
    print_fields(pairs)


def _verdict(check: protekt.Verification) -> str:
    if check.passed:
        return f"passed, answered 200 in {check.duration * 1000:.0f} ms"
    return f"failed: {check.error or f'answered {check.status}'}"


# ---- changing -----------------------------------------------------------------------


def run_create(args: argparse.Namespace) -> int:
    with open_engine(args) as engine:
        endpoint = engine.endpoints.create(
            url=args.url,
            events=_events(args.event),
            auth=_auth(args),
            **_settings(args),
        )
    _show(endpoint, args, show_secret=True)
    if not args.json:
        print()
        if isinstance(endpoint.auth, protekt.ApiToken):
            print(f"token:  {endpoint.auth.token}")
            print(f"header: {endpoint.auth.header}: {endpoint.auth.value}")
        else:
            print(f"secret: {endpoint.secret}")
        print("Give it to the receiver now: it is not shown again.")
        print(f"Next: protekt endpoints verify {endpoint.id}")
    return ExitCode.OK


def run_update(args: argparse.Namespace) -> int:
    with open_engine(args) as engine:
        current = engine.endpoints.get(args.id)
        changes = _settings(args, current=current)
        if args.url is not None:
            changes["url"] = args.url
        if args.event is not None:
            changes["events"] = _events(args.event)
        if not changes:
            raise CommandFailed("nothing to change: give a setting", ExitCode.USAGE)
        endpoint = engine.endpoints.update(args.id, **changes)
    _show(endpoint, args)
    return ExitCode.OK


def run_delete(args: argparse.Namespace) -> int:
    with open_engine(args) as engine:
        endpoint = engine.endpoints.get(args.id)
        confirm(f"delete endpoint {endpoint.id} ({endpoint.url})?", assume_yes=args.yes)
        engine.endpoints.delete(args.id)
    if args.json:
        print_json({"deleted": args.id})
    else:
        print(f"deleted {args.id}")
    return ExitCode.OK


def run_verify(args: argparse.Namespace) -> int:
    with open_engine(args) as engine:
        endpoint = engine.endpoints.verify(args.id)
    check = endpoint.verification
    if args.json:
        print_json(endpoint_json(endpoint))
    if check is None or not check.passed:
        raise CommandFailed(
            f"Verify endpoint {'got no answer' if check is None else _verdict(check)}"
        )
    if not args.json:
        print(f"{endpoint.id}  Verify endpoint {_verdict(check)}")
        print(f"Next: protekt endpoints save {endpoint.id}")
    return ExitCode.OK


def run_save(args: argparse.Namespace) -> int:
    with open_engine(args) as engine:
        endpoint = engine.endpoints.save(
            args.id, skip_verification=args.skip_verification
        )
    _status_line(endpoint, args)
    return ExitCode.OK


def run_status_change(args: argparse.Namespace) -> int:
    with open_engine(args) as engine:
        change = getattr(engine.endpoints, args.change)
        endpoint: protekt.Endpoint = change(args.id)
    _status_line(endpoint, args)
    return ExitCode.OK


def _status_line(endpoint: protekt.Endpoint, args: argparse.Namespace) -> None:
    if args.json:
        print_json(endpoint_json(endpoint))
    else:
        print(f"{endpoint.id}  {endpoint.status.value}")


def run_rotate(args: argparse.Namespace) -> int:
    with open_engine(args) as engine:
        endpoint = engine.endpoints.rotate_secret(args.id, grace=args.grace)
    if args.json:
        print_json(endpoint_json(endpoint, show_secret=True))
        return ExitCode.OK
    print(f"secret: {endpoint.secret}")
    old = len(endpoint.previous_secrets)
    print(
        f"Requests are signed with the {old} earlier secret(s) too until they expire."
    )
    return ExitCode.OK


def run_test(args: argparse.Namespace) -> int:
    with open_engine(args) as engine, _dispatching(engine, args):
        delivery = engine.endpoints.send_test_event(args.id, wait=args.wait)
        attempts = engine.attempts(delivery)
    print_delivery(delivery, attempts, as_json=args.json)
    if delivery.status is not protekt.DeliveryStatus.SUCCEEDED:
        raise not_delivered(delivery, "the test event")
    return ExitCode.OK


@contextlib.contextmanager
def _dispatching(engine: protekt.Engine, args: argparse.Namespace) -> Iterator[None]:
    """Dispatches from this process while the block runs, unless another process
    (`protekt worker` or `serve`) holds the directory's dispatcher lock and does."""
    started = engine.start_dispatcher(stop_grace=1, **dispatcher_options(args))
    try:
        yield
    finally:
        if started:
            engine.stop_dispatcher()


# ---- settings from options ----------------------------------------------------------


def _events(given: list[str]) -> list[str]:
    events: list[str] = []
    for item in given:
        for name in item.split(","):
            name = name.strip()
            if name == "all":
                events.extend(protekt.AUTH_EVENTS)
            elif name:
                events.append(name)
    return list(dict.fromkeys(events))


def _auth(args: argparse.Namespace) -> protekt.SharedSecret | protekt.ApiToken:
    if args.auth == "token" or args.token is not None or args.token_header:
        if args.secret is not None:
            raise protekt.ValidationError(
                "an API-token endpoint has no secret", field="--secret"
            )
        header = args.token_header or "Authorization"
        return protekt.ApiToken(token=args.token, header=header)
    return protekt.SharedSecret(args.secret)


def _settings(
    args: argparse.Namespace, *, current: protekt.Endpoint | None = None
) -> dict[str, Any]:
    """The settings given as options; for an update, payload and retry are merged
    with the endpoint's current ones."""
    settings: dict[str, Any] = {}
    payload = current.payload if current else protekt.Payload()
    if args.format is not None or args.include is not None:
        include = payload.include
        if args.include is not None:
            include = frozenset(i.strip() for i in args.include.split(",") if i.strip())
        settings["payload"] = protekt.Payload(
            format=args.format or payload.format, include=include
        )
    retry = current.retry if current else protekt.Retry()
    retry_changes: dict[str, Any] = {
        "max_attempts": args.max_attempts,
        "interval": args.interval,
        "backoff": args.backoff,
    }
    retry_changes = {k: v for k, v in retry_changes.items() if v is not None}
    if retry_changes:
        settings["retry"] = protekt.Retry(
            max_attempts=retry_changes.get("max_attempts", retry.max_attempts),
            interval=retry_changes.get("interval", retry.interval),
            backoff=retry_changes.get("backoff", retry.backoff),
            max_interval=retry.max_interval,
            jitter=retry.jitter,
        )
    if args.dead_letter_queue is not None:
        settings["dead_letter_queue"] = args.dead_letter_queue
    if args.notify is not None:
        settings["failure_notification"] = args.notify or None
    if args.timeout is not None:
        settings["timeout"] = args.timeout
    if args.description is not None:
        settings["description"] = args.description
    return settings
