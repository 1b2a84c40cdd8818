"""`behaviorbench demo`: the whole method end to end on the packaged SmolLM2, on two CPU cores."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from behaviorbench.cli.app import app


@app.command()
def demo(
    out: Annotated[Path, typer.Option("--out", help="Folder for the data, runs, models and report.")] = Path(
        "runs/demo"
    ),
    quick: Annotated[bool, typer.Option("--quick", help="A smaller plan that finishes in minutes.")] = False,
) -> None:
    """Build a benchmark, evaluate zero-shot and instructed SmolLM2, train SFT and BehaviorSFT, compare."""
    from behaviorbench.demo import FULL, QUICK, run_demo

    run_demo(out, QUICK if quick else FULL)
