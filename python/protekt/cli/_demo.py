"""`protekt demo`: runs examples/demo.py, the six auth events delivered to a local
HTTPS receiver. The demo ships with the repository, not with the package, so this
finds it in the checkout the package runs from or the current directory is in."""

from __future__ import annotations

import argparse
import importlib.util
import subprocess
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Final

from protekt.cli._common import CommandFailed, ExitCode, command

if TYPE_CHECKING:
    from protekt.cli._common import Commands

__all__ = ["find_demo", "register"]

DEMO: Final = Path("examples") / "demo.py"


def register(commands: Commands) -> None:
    demo = command(
        commands,
        "demo",
        "run the demo from a checkout: the six auth events delivered to a local "
        "HTTPS receiver (its own temporary directory; the global options do not "
        "apply)",
    )
    demo.set_defaults(func=run_demo)


def run_demo(args: argparse.Namespace) -> int:
    script = find_demo()
    if script is None:
        raise CommandFailed(
            "the demo ships with the repository, not the package: in a clone, run "
            "`bash examples/demo.sh` or `protekt demo` from its directory"
        )
    if importlib.util.find_spec("trustme") is None:
        raise CommandFailed(
            "the demo needs the demo extra (trustme is missing): "
            "pip install protekt[demo]",
            ExitCode.MISSING_DEPENDENCY,
        )
    result = subprocess.run([sys.executable, str(script)], check=False)
    return ExitCode.OK if result.returncode == 0 else ExitCode.FAILED


def find_demo() -> Path | None:
    """examples/demo.py of the checkout this package runs from, or of the first
    checkout at or above the current directory."""
    here = Path(__file__).resolve().parents  # python/protekt/cli/ in a checkout
    roots = [here[2].parent] if len(here) > 3 else []
    for root in (*roots, Path.cwd(), *Path.cwd().parents):
        script = root / DEMO
        if script.is_file() and (root / "pyproject.toml").is_file():
            return script
    return None
