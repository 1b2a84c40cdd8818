"""Command-line interface. Each module registers its commands on `app`; heavy imports stay inside commands."""

from __future__ import annotations

import sys

from rich.console import Console

# Command modules register on `app` when imported.
from behaviorbench.cli import (
    chat,  # noqa: F401
    data,  # noqa: F401
    demo,  # noqa: F401
    evaluate,  # noqa: F401
    importing,  # noqa: F401
    report,  # noqa: F401
    review,  # noqa: F401
    serve,  # noqa: F401
    train,  # noqa: F401
)
from behaviorbench.cli.app import app
from behaviorbench.errors import BehaviorBenchError


def main() -> None:
    """Entry point: user errors become one line on stderr and exit code 2."""
    try:
        app()
    except BehaviorBenchError as error:
        Console(stderr=True, highlight=False).print(f"error: {error}", markup=False, soft_wrap=True)
        sys.exit(2)


__all__ = ["app", "main"]
