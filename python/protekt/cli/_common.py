"""What every command shares: exit codes, the global options, opening the engine,
and asking before something is destroyed."""

from __future__ import annotations

import argparse
import os
import sys
from datetime import datetime
from enum import IntEnum
from typing import TYPE_CHECKING, Any, Final

import protekt

__all__ = [
    "DEFAULT_DATA_DIR",
    "CommandFailed",
    "ExitCode",
    "confirm",
    "dispatcher_options",
    "open_engine",
    "positive_int",
    "seconds_value",
    "timestamp",
]

DEFAULT_DATA_DIR: Final = "./protekt-data"
DATA_DIR_ENV: Final = "PROTEKT_DATA_DIR"
NETWORKS_ENV: Final = "PROTEKT_ALLOWED_NETWORKS"


class ExitCode(IntEnum):
    """What `protekt` exits with; docs/cli.md lists the same."""

    OK = 0
    FAILED = 1  # a delivery, a verification or a test event did not succeed
    USAGE = 2  # argparse's own code for a wrong command line
    VALIDATION = 3  # protekt.ValidationError: a field was refused
    NOT_FOUND = 4  # no such endpoint, event, delivery or dead letter
    STORAGE = 5  # the data directory could not be read or written
    LOCKED = 6  # another process holds the directory's dispatcher lock
    MISSING_DEPENDENCY = 7  # an optional extra (portal, demo) is not installed


class CommandFailed(protekt.ProtektError):
    """A command could not do its work; main() prints the message and exits with
    ``code``."""

    def __init__(self, message: str, code: ExitCode = ExitCode.FAILED) -> None:
        super().__init__(message)
        self.code = code


def add_global_options(parser: argparse.ArgumentParser, *, defaults: bool) -> None:
    """The options every command takes, before or after its name. Only the top
    parser carries defaults, so an option given before the command is not reset by
    the command's own parser."""

    def default(value: Any) -> Any:
        return value if defaults else argparse.SUPPRESS

    group = parser.add_argument_group("global options")
    group.add_argument(
        "--data-dir",
        metavar="DIR",
        default=default(os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR),
        help=f"the engine's directory (env {DATA_DIR_ENV}; default {DEFAULT_DATA_DIR})",
    )
    group.add_argument(
        "--allow-http",
        action="store_true",
        default=default(False),
        help="allow plain-http endpoint URLs (development only)",
    )
    group.add_argument(
        "--allowed-network",
        metavar="CIDR",
        action="append",
        dest="allowed_networks",
        default=default(None),
        help="let deliveries reach this private or loopback network; repeatable "
        f"(env {NETWORKS_ENV}, comma-separated)",
    )
    group.add_argument(
        "--ca-file",
        metavar="PEM",
        default=default(None),
        help="trust these CA certificates for HTTPS instead of the system's",
    )
    group.add_argument(
        "--json",
        action="store_true",
        default=default(False),
        help="print one JSON document on stdout, for scripts",
    )


def allowed_networks(args: argparse.Namespace) -> list[str]:
    given: list[str] | None = args.allowed_networks
    if given is not None:
        return given
    from_env = os.environ.get(NETWORKS_ENV, "")
    return [n.strip() for n in from_env.split(",") if n.strip()]


def open_engine(args: argparse.Namespace) -> protekt.Engine:
    return protekt.Engine(
        args.data_dir,
        allow_http=args.allow_http,
        allowed_networks=allowed_networks(args),
        ca_file=args.ca_file,
    )


def dispatcher_options(args: argparse.Namespace) -> dict[str, Any]:
    """The global options, as Engine.start_dispatcher takes them."""
    return {"allowed_networks": allowed_networks(args), "ca_file": args.ca_file}


def confirm(question: str, *, assume_yes: bool) -> None:
    """Asks on the terminal before something is destroyed. Without a terminal the
    command needs --yes, so a script never hangs on a question."""
    if assume_yes:
        return
    if not sys.stdin.isatty():
        raise CommandFailed(
            f"{question.rstrip('?')}: refused without --yes (stdin is not a terminal)",
            ExitCode.USAGE,
        )
    answer = input(f"{question} [y/N] ").strip().lower()
    if answer not in ("y", "yes"):
        raise CommandFailed("cancelled, nothing changed", ExitCode.FAILED)


# ---- argparse value types ------------------------------------------------------------


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not positive")
    return value


def seconds_value(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a number of seconds"
        ) from None
    if value < 0 or value != value:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds")
    return value


def timestamp(text: str) -> datetime:
    """An RFC 3339 time with its offset: 2026-12-04T05:40:53Z."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        moment = None
    if moment is None or moment.tzinfo is None:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an RFC 3339 time with an offset, "
            "like 2026-12-04T05:40:53Z"
        )
    return moment


# ---- sub-commands --------------------------------------------------------------------

if TYPE_CHECKING:
    Commands = argparse._SubParsersAction[argparse.ArgumentParser]


def command(
    commands: Commands,
    name: str,
    description: str,
    *,
    aliases: tuple[str, ...] = (),
) -> argparse.ArgumentParser:
    """A sub-command that takes the global options after its name too."""
    parser: argparse.ArgumentParser = commands.add_parser(
        name,
        help=description,
        description=description,
        aliases=list(aliases),
        allow_abbrev=False,
    )
    add_global_options(parser, defaults=False)
    return parser


def group_of_commands(commands: Commands, name: str, description: str) -> Commands:
    """A command whose sub-commands do the work (``protekt endpoints list``)."""
    parser = commands.add_parser(
        name, help=description, description=description, allow_abbrev=False
    )
    inner: Commands = parser.add_subparsers(
        title="commands", metavar="COMMAND", required=True
    )
    return inner
