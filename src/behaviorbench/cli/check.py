"""The safety-check command: hold every slot of a built dataset to what the knowledge base sees."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from behaviorbench.cli.app import app


@app.command()
def check(path: Annotated[Path, typer.Argument(help="Dataset directory or a JSONL file.")]) -> None:
    """Find every safety problem the knowledge base can see at every slot: one line per finding
    (case_id, slot, kind, detail), then a summary; exit 1 if a clean slot has a problem or a
    problem slot does not hold exactly its intended problem."""
    from behaviorbench.checking import KINDS, check_path

    report = check_path(path, progress=True)
    for finding in report.findings:
        typer.echo(finding.line())
    console = Console(highlight=False)
    kinds = Counter(finding.kind for finding in report.findings)
    table = Table(title=f"Safety check of {path}: {report.cases:,} cases")
    table.add_column("kind")
    table.add_column("problem slots matched", justify="right")
    table.add_column("findings", justify="right")
    order = [*KINDS, "missed", *sorted(k for k in kinds if k.startswith("extra:"))]
    for kind in order:
        if report.matched[kind] or kinds[kind]:
            table.add_row(kind, f"{report.matched[kind]:,}", f"{kinds[kind]:,}")
    table.add_row("all", f"{sum(report.matched.values()):,}", f"{len(report.findings):,}", style="bold")
    console.print(table)
    slots = report.slots
    console.print(
        f"slots: {slots['clean']:,} that must be clean, {slots['problem']:,} problem slots checked, "
        f"{slots['problem_unchecked']:,} problem slots outside the knowledge base (record consistency)"
    )
    if report.findings:
        raise typer.Exit(1)
