"""The `protekt` command line: the engine's endpoints, events, deliveries and
dead letters from a shell, and the long-running `serve` and `worker`.

    protekt endpoints create --url https://hooks.example.com/protekt --event all
    protekt emit user.login.succeeded --field user.id=u_1
    protekt dlq replay --all

Every command prints aligned tables, or one JSON document with ``--json``; docs/cli.md
describes each one and the exit codes.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

import protekt
from protekt.cli import _deliveries, _demo, _dlq, _endpoints, _serve
from protekt.cli._common import CommandFailed, ExitCode, add_global_options

__all__ = ["ExitCode", "build_parser", "main"]

EPILOG = """\
exit codes:
  0  success
  1  the operation failed (a delivery or verification failed, the test event
     was not delivered)
  2  usage error
  3  validation error: a field was refused
  4  not found: no such endpoint, event, delivery or dead letter
  5  storage error: the data directory could not be read or written
  6  another process holds the dispatcher lock of the data directory
  7  an optional dependency is missing (pip install protekt[portal])

docs/cli.md describes every command."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="protekt",
        description="Protekt webhook engine: endpoints, events, deliveries, the "
        "dead-letter queue, the portal and the dispatcher.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        allow_abbrev=False,
    )
    parser.add_argument(
        "--version", action="version", version=f"protekt {protekt.__version__}"
    )
    add_global_options(parser, defaults=True)
    commands = parser.add_subparsers(title="commands", metavar="COMMAND", required=True)
    _serve.register(commands)
    _demo.register(commands)
    _endpoints.register(commands)
    _deliveries.register(commands)
    _dlq.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Runs one command and returns its exit code (``ExitCode``)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help, --version, or a usage error
        return exc.code if isinstance(exc.code, int) else ExitCode.USAGE
    try:
        code: int = args.func(args)
    except SystemExit as exc:  # parser.error() inside a command
        return exc.code if isinstance(exc.code, int) else ExitCode.USAGE
    except CommandFailed as exc:
        return _fail(str(exc), exc.code)
    except protekt.ValidationError as exc:
        return _fail(_invalid(exc), ExitCode.VALIDATION)
    except protekt.NotFoundError as exc:
        return _fail(str(exc), ExitCode.NOT_FOUND)
    except protekt.StorageError as exc:
        return _fail(str(exc), ExitCode.STORAGE)
    except protekt.ProtektError as exc:
        return _fail(str(exc), ExitCode.FAILED)
    except KeyboardInterrupt:
        return _fail("interrupted", 130)
    return code


def _invalid(exc: protekt.ValidationError) -> str:
    """The refused field and why, once: the core's messages start with the field."""
    message = str(exc)
    if exc.field and not message.startswith(f"{exc.field}:"):
        return f"{exc.field}: {message}"
    return message


def _fail(message: str, code: int) -> int:
    print(f"protekt: {message}", file=sys.stderr)
    return code
