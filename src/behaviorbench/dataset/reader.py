"""Read cases back from a dataset directory (through its manifest) or from a single JSONL file."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from behaviorbench.dataset.manifest import load_manifest
from behaviorbench.dataset.problems import parse_case
from behaviorbench.errors import BehaviorBenchError
from behaviorbench.inputs import text_lines
from behaviorbench.schema import SPLITS, Case


def iter_cases(path: Path, split: str | None = None) -> Iterator[Case]:
    """Cases in dataset order; a bad line stops the read with one line naming file, line and field."""
    path = Path(path)
    if path.is_dir():
        manifest = load_manifest(path)
        if split is not None and split not in manifest.splits:
            available = ", ".join(manifest.splits) or "none"
            problem = "holds no cases of split" if split in SPLITS else "unknown split"
            raise BehaviorBenchError(f"{path}: {problem} {split!r}; available: {available}")
        for entry in manifest.shards:
            if split is None or entry.split == split:
                shard = path / entry.path
                if not shard.is_file():
                    raise BehaviorBenchError(f"{shard}: listed in the manifest but missing")
                yield from read_jsonl(shard)
    elif path.is_file():
        if split is not None and split not in SPLITS:
            raise BehaviorBenchError(f"{path}: unknown split {split!r}; available: {', '.join(SPLITS)}")
        for case in read_jsonl(path):
            if split is None or case.split == split:
                yield case
    else:
        raise BehaviorBenchError(f"{path}: no such dataset directory or JSONL file")


def load_cases(path: Path, split: str | None = None) -> list[Case]:
    return list(iter_cases(path, split))


def find_case(path: Path, case_id: str) -> Case:
    """One case by id; lines that cannot hold it are skipped without parsing them."""
    seen = 0
    for shard in _files(Path(path)):
        for number, text in text_lines(shard):
            seen += 1
            if case_id not in text:
                continue
            case, problems = parse_case(text, str(shard), number)
            if case is None:
                raise BehaviorBenchError(str(problems[0]))
            if case.case_id == case_id:
                return case
    raise BehaviorBenchError(f"{path}: no case with id {case_id!r} among {seen} cases")


def _files(path: Path) -> list[Path]:
    if path.is_dir():
        return [path / entry.path for entry in load_manifest(path).shards]
    if path.is_file():
        return [path]
    raise BehaviorBenchError(f"{path}: no such dataset directory or JSONL file")


def read_jsonl(path: Path) -> Iterator[Case]:
    for number, text in text_lines(path):
        case, problems = parse_case(text, str(path), number)
        if case is None:
            more = f" (+{len(problems) - 1} more; see `behaviorbench validate`)" if len(problems) > 1 else ""
            raise BehaviorBenchError(f"{problems[0]}{more}")
        yield case
