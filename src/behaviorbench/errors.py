"""The one exception users see: the CLI prints its message as a single line and exits non-zero.

`one_line` is the single place where other failures that users cause (a file that is a folder, a
byte that is not UTF-8, a pydantic validation error) become that one line.
"""

from __future__ import annotations

from pydantic import ValidationError


class BehaviorBenchError(Exception):
    """Bad input or a refused operation; the message names the file, line or field at fault."""


def field_error(error: ValidationError, default: str = "value") -> str:
    """`field: message` of a validation error's first problem (`default` names a whole-object error)."""
    first = error.errors()[0]
    field = ".".join(str(part) for part in first["loc"]) or default
    return f"{field}: {first['msg']}"


def one_line(error: BaseException) -> str | None:
    """The one-line message for an error a user's input caused, or None for a bug (keep the traceback)."""
    if isinstance(error, BehaviorBenchError):
        return str(error)
    if isinstance(error, UnicodeDecodeError):
        return f"byte {error.start}: not UTF-8 text ({error.reason})"
    if isinstance(error, OSError) and error.filename is not None:
        return f"{error.filename}: {error.strerror or error}"
    return None
