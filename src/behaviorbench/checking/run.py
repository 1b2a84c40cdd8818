"""Check a whole dataset directory or JSONL file, with a progress bar."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console
from rich.progress import Progress

from behaviorbench.checking.verdict import Report, check_case
from behaviorbench.dataset.reader import iter_cases
from behaviorbench.knowledge import load_knowledge_base


def check_path(path: Path, progress: bool = False) -> Report:
    """Every case in `path` checked; the report of them all (progress goes to stderr, so stdout
    holds only the findings and the summary)."""
    kb = load_knowledge_base()
    report = Report()
    with Progress(disable=not progress, transient=True, console=Console(stderr=True)) as bar:
        task = bar.add_task("checking", total=None)
        for case in iter_cases(path):
            report.add(check_case(kb, case))
            bar.advance(task)
    return report
