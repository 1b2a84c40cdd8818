"""Read import files into documents that remember where each field was written.

A problem is reported as `file:line: field: message`. For JSONL the line is the record's line; for
YAML and JSON it is the line of the field inside the document, found by walking the parsed node
tree along the field's path, so a message points at what to edit.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from behaviorbench.dataset.problems import Problem
from behaviorbench.errors import BehaviorBenchError

SUFFIXES = (".yaml", ".yml", ".json", ".jsonl")

Loc = Sequence[str | int]


@dataclass
class Document:
    """One case as written: its data, its file and a way to find the line of any field."""

    file: str
    data: object
    line: int = 1
    """The document's first line (a JSONL record's line)."""
    node: yaml.Node | None = field(default=None, repr=False)
    """The YAML node tree, when the file gives one; then fields have their own lines."""

    def line_of(self, loc: Loc) -> int:
        """The line where the field at `loc` is written (its nearest written parent if missing)."""
        node, line = self.node, self.line
        for part in loc:
            if isinstance(node, yaml.MappingNode):
                entry = next((pair for pair in node.value if pair[0].value == str(part)), None)
                if entry is None:
                    break
                line, node = entry[0].start_mark.line + 1, entry[1]
            elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and part < len(node.value):
                node = node.value[part]
                line = node.start_mark.line + 1
            else:
                break
        return line

    def problem(self, loc: Loc, message: str) -> Problem:
        return Problem(self.file, self.line_of(loc), ".".join(str(part) for part in loc) or "case", message)


def files_of(paths: Iterable[Path]) -> list[Path]:
    """The import files named, folders expanded to their YAML, JSON and JSONL files in name order."""
    found = []
    for path in paths:
        path = Path(path)
        if path.is_dir():
            inside = sorted(
                p
                for p in path.rglob("*")
                if p.suffix in SUFFIXES and p.is_file() and not p.name.startswith(".")
            )
            if not inside:
                raise BehaviorBenchError(f"{path}: holds no {', '.join(SUFFIXES)} file to import")
            found.extend(inside)
        elif path.is_file():
            if path.suffix not in SUFFIXES:
                raise BehaviorBenchError(f"{path}: expected a {', '.join(SUFFIXES)} file or a folder of them")
            found.append(path)
        else:
            raise BehaviorBenchError(f"{path}: no such file or folder")
    return found


def read_documents(path: Path) -> tuple[list[Document], list[Problem]]:
    """Every case document of one file, or the problems that kept it from parsing."""
    label = str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as error:
        return [], [Problem(label, 1, "file", f"not UTF-8 text ({error.reason} at byte {error.start})")]
    if path.suffix == ".jsonl":
        return _jsonl(text, label)
    if path.suffix == ".json":
        return _json(text, label)
    return _yaml(text, label)


def _jsonl(text: str, label: str) -> tuple[list[Document], list[Problem]]:
    documents, problems = [], []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            documents.append(Document(label, json.loads(line), number))
        except json.JSONDecodeError as error:
            problems.append(Problem(label, number, "json", f"bad JSON: {error.msg} at column {error.colno}"))
    return documents, problems


def _json(text: str, label: str) -> tuple[list[Document], list[Problem]]:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        return [], [Problem(label, error.lineno, "json", f"bad JSON: {error.msg} at column {error.colno}")]
    try:  # JSON is YAML: its node tree gives each field's line
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError:
        node = None
    return [Document(label, data, 1, node)], []


def _yaml(text: str, label: str) -> tuple[list[Document], list[Problem]]:
    try:
        nodes = list(yaml.compose_all(text, Loader=yaml.SafeLoader))
        datas = list(yaml.safe_load_all(text))
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark else 1
        return [], [Problem(label, line, "yaml", f"bad YAML: {error.problem or error.context}")]
    except yaml.YAMLError as error:
        return [], [Problem(label, 1, "yaml", f"bad YAML: {error}")]
    documents = [
        Document(label, data, node.start_mark.line + 1, node)
        for data, node in zip(datas, nodes, strict=True)
        if node is not None
    ]
    if not documents:
        return [], [Problem(label, 1, "yaml", "empty file: no case in it")]
    return documents, []
