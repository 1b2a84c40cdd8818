"""Check a dataset completely: every line, every shard against the manifest, every cross-reference.

Nothing stops at the first problem; each is one `file:line: field: message` line.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from behaviorbench.dataset.counts import DatasetCounts
from behaviorbench.dataset.manifest import Manifest, load_manifest, manifest_path
from behaviorbench.dataset.problems import Problem, parse_case
from behaviorbench.dataset.progress import case_progress
from behaviorbench.dataset.shards import file_sha256
from behaviorbench.errors import BehaviorBenchError
from behaviorbench.inputs import NotUTF8, decode, read_text
from behaviorbench.schema import Case


@dataclass
class _Scan:
    """What the line-by-line pass learns, for the cross-case checks at the end."""

    problems: list[Problem] = field(default_factory=list)
    counts: DatasetCounts = field(default_factory=DatasetCounts)
    case_at: dict[str, str] = field(default_factory=dict)
    task_at: dict[str, str] = field(default_factory=dict)
    controls: list[tuple[str, int, str, str]] = field(default_factory=list)
    """(file, line, field, task id it claims to control) for every control slot."""
    unreadable_lines: int = 0
    on_line: Callable[[], None] = lambda: None

    def read(self, path: Path, label: str, expected_split: str | None = None) -> int:
        """Check every line of one JSONL file; return how many lines it has."""
        lines = 0
        with open(path, "rb") as handle:
            offset = 0
            for lines, raw in enumerate(handle, start=1):
                try:
                    text = decode(raw, label, lines, offset)
                except NotUTF8 as error:
                    self.problems.append(Problem(label, lines, "encoding", error.reason))
                    self.unreadable_lines += 1
                    continue
                finally:
                    offset += len(raw)
                case, problems = parse_case(text, label, lines)
                self.on_line()
                self.problems.extend(problems)
                if case is None:
                    self.unreadable_lines += 1
                else:
                    self._check_case(case, label, lines, expected_split)
        return lines

    def _check_case(self, case: Case, label: str, line: int, expected_split: str | None) -> None:
        here = f"{label}:{line}"
        self.counts.add(case)
        if expected_split is not None and case.split != expected_split:
            self.problems.append(
                Problem(label, line, "split", f"{case.split!r} in a shard of split {expected_split!r}")
            )
        if case.case_id in self.case_at:
            message = f"duplicate case id {case.case_id!r}, first at {self.case_at[case.case_id]}"
            self.problems.append(Problem(label, line, "case_id", message))
        else:
            self.case_at[case.case_id] = here
        for position, slot in enumerate(case.slots):
            if slot.task_id is not None:
                if slot.task_id in self.task_at:
                    message = f"duplicate task id {slot.task_id!r}, first at {self.task_at[slot.task_id]}"
                    self.problems.append(Problem(label, line, f"slots.{position}.task_id", message))
                else:
                    self.task_at[slot.task_id] = here
            if slot.control_of is not None:
                self.controls.append((label, line, f"slots.{position}.control_of", slot.control_of))

    def check_controls(self) -> None:
        for label, line, name, task_id in self.controls:
            if task_id not in self.task_at:
                message = f"control of task {task_id!r}, which no case defines"
                self.problems.append(Problem(label, line, name, message))


def validate_dataset(path: Path, progress: bool = False) -> list[Problem]:
    """Every problem of a dataset directory (manifest and shards) or of a single JSONL file."""
    path = Path(path)
    with case_progress(progress) as bar:
        task = bar.add_task("validating", total=None)
        return _validate(
            path, _Scan(on_line=lambda: bar.advance(task)), lambda total: bar.update(task, total=total)
        )


def _validate(path: Path, scan: _Scan, set_total: Callable[[int], None]) -> list[Problem]:
    if path.is_file():
        scan.read(path, str(path))
        scan.check_controls()
        return scan.problems
    if not path.is_dir():
        raise BehaviorBenchError(f"{path}: no such dataset directory or JSONL file")
    manifest_file = manifest_path(path)
    try:
        manifest = load_manifest(path)
    except BehaviorBenchError as error:
        return [Problem(str(manifest_file), 1, "manifest", str(error).removeprefix(f"{manifest_file}: "))]
    locate = _Locator(read_text(manifest_file), str(manifest_file))
    set_total(manifest.cases)
    complete = True
    for number, entry in enumerate(manifest.shards):
        shard = path / entry.path
        field = f"shards.{number}"
        if not shard.is_file():
            scan.problems.append(locate(f"{field}.path", f"listed shard {entry.path} is missing", entry.path))
            complete = False
            continue
        lines = scan.read(shard, str(shard), entry.split)
        if lines != entry.cases:
            message = f"{entry.path} holds {lines} lines, manifest says {entry.cases}"
            scan.problems.append(locate(f"{field}.cases", message, entry.path, '"cases":'))
        actual = file_sha256(shard)
        if actual != entry.sha256:
            message = f"{entry.path} hashes to {actual[:16]}..., manifest says {entry.sha256[:16]}..."
            scan.problems.append(locate(f"{field}.sha256", message, entry.path, '"sha256":'))
    listed = {entry.path for entry in manifest.shards}
    for shard in sorted(path.glob("*/shard-*.jsonl")):
        if shard.relative_to(path).as_posix() not in listed:
            scan.problems.append(Problem(str(shard), 1, "shard", "not listed in the manifest, so never read"))
    if complete:  # with a shard missing, dangling controls and wrong counts would only echo it
        scan.check_controls()
        scan.problems.extend(_scored_task_problems(manifest, scan, locate))
    if complete and scan.unreadable_lines == 0:
        scan.problems.extend(_count_problems(manifest, scan.counts, locate))
    return scan.problems


class _Locator:
    """Finds the manifest line a problem is about by searching for its keys in order."""

    def __init__(self, text: str, label: str):
        self.lines = text.splitlines()
        self.label = label

    def __call__(self, field: str, message: str, *needles: str) -> Problem:
        line = 0
        for needle in needles:
            for number in range(line, len(self.lines)):
                if needle in self.lines[number]:
                    line = number
                    break
        return Problem(self.label, line + 1, field, message)


def _scored_task_problems(manifest: Manifest, scan: _Scan, locate: _Locator) -> list[Problem]:
    """A scored task must be a designated slot of this dataset, or it would silently score nothing."""
    unknown = [task for task in manifest.scored_tasks or [] if task not in scan.task_at]
    if not unknown:
        return []
    more = f" (+{len(unknown) - 1} more)" if len(unknown) > 1 else ""
    message = f"task {unknown[0]!r} is no designated slot of this dataset{more}"
    return [locate("scored_tasks", message, '"scored_tasks":')]


def _count_problems(manifest: Manifest, actual: DatasetCounts, locate: _Locator) -> list[Problem]:
    problems = []
    if manifest.cases != actual.cases:
        message = f"manifest says {manifest.cases}, shards hold {actual.cases}"
        problems.append(locate("cases", message, '"cases":'))
    claimed, found = _flatten(manifest.counts.model_dump()), _flatten(actual.model_dump())
    for key in [*claimed, *(key for key in found if key not in claimed)]:
        if claimed.get(key, 0) != found.get(key, 0):
            message = f"manifest says {claimed.get(key, 0)}, shards hold {found.get(key, 0)}"
            needles = ['"counts":', *(f'"{part}":' for part in key.split("."))]
            problems.append(locate(f"counts.{key}", message, *needles))
    return problems


def _flatten(tree: dict, prefix: str = "") -> dict[str, int]:
    flat = {}
    for key, value in tree.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(_flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat
