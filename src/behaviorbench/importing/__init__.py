"""Bring your own data: hand-written conversations and annotated clinical notes as datasets.

`read_conversations` and `read_medec` return the cases, or every problem found (then no case);
`write_imported` writes them as a normal dataset, all or nothing. The format is documented in
docs/import-format.md.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from behaviorbench.dataset.problems import Problem
from behaviorbench.importing.convert import convert
from behaviorbench.importing.medec import notes_to_cases, read_notes, sample_notes
from behaviorbench.importing.output import check_out, write_imported
from behaviorbench.importing.sources import files_of, read_documents
from behaviorbench.schema import Case


def read_conversations(paths: Iterable[Path], split: str) -> tuple[list[Case], list[Problem]]:
    """Cases from YAML, JSON and JSONL files (or folders of them)."""
    documents, problems = [], []
    for file in files_of(paths):
        found, trouble = read_documents(file)
        documents.extend(found)
        problems.extend(trouble)
    cases, more = convert(documents, split)
    problems.extend(more)
    return ([] if problems else cases), problems


def read_medec(
    path: Path, split: str, sample: int | None = None, seed: int = 0
) -> tuple[list[Case], list[Problem]]:
    """Presentation dramas from a MEDEC CSV; with `sample`, of that many notes drawn at random."""
    notes, problems = read_notes(Path(path))
    if problems:
        return [], problems
    return notes_to_cases(sample_notes(notes, sample, seed) if sample is not None else notes, split), []


__all__ = ["check_out", "read_conversations", "read_medec", "write_imported"]
