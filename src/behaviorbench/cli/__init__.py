"""Command-line interface. Each module registers its commands on `app`; heavy imports stay inside commands."""

from __future__ import annotations

import sys

import typer
from rich.console import Console

# Command modules register on `app` when imported.
from behaviorbench.cli import (
    chat,  # noqa: F401
    check,  # noqa: F401
    data,  # noqa: F401
    demo,  # noqa: F401
    evaluate,  # noqa: F401
    export_model,  # noqa: F401
    importing,  # noqa: F401
    report,  # noqa: F401
    review,  # noqa: F401
    serve,  # noqa: F401
    train,  # noqa: F401
)
from behaviorbench.cli.app import app
from behaviorbench.errors import one_line


def main(args: list[str] | None = None) -> None:
    """Entry point: a usage error or a user's bad input becomes one line on stderr and exit code 2.

    Click runs outside its standalone mode so that its multi-line usage box is replaced by the
    same one line; anything `one_line` does not recognise is a bug and keeps its traceback.
    """
    try:
        code = app(args=args, standalone_mode=False)
    except typer.TyperException as error:
        _fail(error.format_message(), error.exit_code)
    except typer.Abort:
        _fail("aborted", 130)
    except Exception as error:
        message = one_line(error)
        if message is None:
            raise
        _fail(message, 2)
    sys.exit(code if isinstance(code, int) else 0)


def _fail(message: str, code: int) -> None:
    text = " ".join(message.split())  # one line, whatever the message holds
    Console(stderr=True, highlight=False).print(f"error: {text}", markup=False, soft_wrap=True)
    sys.exit(code)


__all__ = ["app", "main"]
