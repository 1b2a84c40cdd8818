"""Option callbacks typer's `min=`/`max=` cannot express: finite floats and device names."""

from __future__ import annotations

import math
import re

import typer

DEVICE = re.compile(r"^(cpu|mps|cuda(:\d+)?)$")


def finite(value: float | None) -> float | None:
    """A float option must be a number: `inf` and `nan` would silently decide every slot."""
    if value is not None and not math.isfinite(value):
        raise typer.BadParameter(f"{value} is not a finite number")
    return value


def positive(value: float | None) -> float | None:
    """A float option that must be a finite number above zero (a timeout, a learning rate, a step)."""
    if value is not None and not (math.isfinite(value) and value > 0):
        raise typer.BadParameter(f"{value} is not a positive number")
    return value


def device(value: str | None) -> str | None:
    if value is not None and not DEVICE.match(value):
        raise typer.BadParameter(f"{value!r} is not a device; use cpu, cuda, cuda:N or mps")
    return value
